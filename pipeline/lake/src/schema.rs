//! One table's declared schema, as read from its file in `schemas/`, and its Arrow form.
//!
//! Types are written in a small grammar that every engine we target can represent:
//! `string`, `bool`, `int32`, `int64`, `float64`, `timestamp` (milliseconds, UTC),
//! `list<T>`, `map<string,T>` and `struct<name:T,...>`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;

use crate::LakeError;

/// The name of the item field of every list, as the Parquet format spells it.
const LIST_ITEM: &str = "element";

/// A table as declared in `schemas/<table>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// Table name, equal to the file name without `.toml`.
    pub name: String,
    /// What one row of the table is.
    pub description: String,
    /// Columns rows are sorted by within each row group, most significant first.
    pub sort_key: Vec<String>,
    /// Hive partition keys, outermost first; they appear in paths, not all in the files.
    pub partitions: Vec<PartitionSpec>,
    /// Columns of every Parquet file of the table, in file order.
    pub columns: Vec<ColumnSpec>,
}

/// A Hive partition key of a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub description: String,
}

/// One column of a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub nullable: bool,
    pub description: String,
}

impl TableSchema {
    /// Parse and validate a schema file's text; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, LakeError> {
        let schema: TableSchema = toml::from_str(text).map_err(|source| LakeError::SchemaToml {
            file: file.to_owned(),
            source,
        })?;
        schema.validate(file)?;
        Ok(schema)
    }

    fn validate(&self, file: &str) -> Result<(), LakeError> {
        let fail = |message: String| LakeError::Schema {
            file: file.to_owned(),
            message,
        };
        let mut seen = std::collections::HashSet::new();
        for column in &self.columns {
            if !is_snake_case(&column.name) {
                return Err(fail(format!("column {} is not snake_case", column.name)));
            }
            if !seen.insert(column.name.as_str()) {
                return Err(fail(format!("column {} is declared twice", column.name)));
            }
            if column.description.trim().is_empty() {
                return Err(fail(format!("column {} has no description", column.name)));
            }
            parse_type(&column.type_name)
                .map_err(|message| fail(format!("column {}: {message}", column.name)))?;
        }
        for key in &self.sort_key {
            if !seen.contains(key.as_str()) {
                return Err(fail(format!("sort key {key} is not a column")));
            }
        }
        for partition in &self.partitions {
            if partition.type_name != "string" {
                return Err(fail(format!(
                    "partition {} must be a string so every engine keeps leading zeros",
                    partition.name
                )));
            }
        }
        Ok(())
    }

    /// The Arrow schema every file of this table has, exactly.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                // Types were checked when the schema was read.
                let data_type = parse_type(&c.type_name).unwrap_or(DataType::Null);
                Field::new(&c.name, data_type, c.nullable)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Whether the table is partitioned by account.
    pub fn has_account_partition(&self) -> bool {
        self.partitions.iter().any(|p| p.name == "account_id")
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

fn is_snake_case(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Parse a type of the schema grammar into its Arrow data type.
pub fn parse_type(text: &str) -> Result<DataType, String> {
    let mut parser = TypeParser { text, pos: 0 };
    let data_type = parser.parse()?;
    parser.skip_spaces();
    if parser.pos != text.len() {
        return Err(format!("unexpected text after type in {text:?}"));
    }
    Ok(data_type)
}

struct TypeParser<'a> {
    text: &'a str,
    pos: usize,
}

impl TypeParser<'_> {
    fn skip_spaces(&mut self) {
        while self.text[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> &str {
        self.skip_spaces();
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn expect(&mut self, token: char) -> Result<(), String> {
        self.skip_spaces();
        if self.text[self.pos..].starts_with(token) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "expected {token:?} at offset {} of {:?}",
                self.pos, self.text
            ))
        }
    }

    fn peek(&mut self, token: char) -> bool {
        self.skip_spaces();
        self.text[self.pos..].starts_with(token)
    }

    fn parse(&mut self) -> Result<DataType, String> {
        let word = self.word().to_owned();
        match word.as_str() {
            "string" => Ok(DataType::Utf8),
            "bool" => Ok(DataType::Boolean),
            "int32" => Ok(DataType::Int32),
            "int64" => Ok(DataType::Int64),
            "float64" => Ok(DataType::Float64),
            "timestamp" => Ok(DataType::Timestamp(
                TimeUnit::Millisecond,
                Some("UTC".into()),
            )),
            "list" => {
                self.expect('<')?;
                let item = self.parse()?;
                self.expect('>')?;
                Ok(DataType::List(Arc::new(Field::new(LIST_ITEM, item, true))))
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse()?;
                if key != DataType::Utf8 {
                    return Err(format!("map keys must be strings in {:?}", self.text));
                }
                self.expect(',')?;
                let value = self.parse()?;
                self.expect('>')?;
                let entries = Field::new(
                    "key_value",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", DataType::Utf8, false),
                        Field::new("value", value, true),
                    ])),
                    false,
                );
                Ok(DataType::Map(Arc::new(entries), false))
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                loop {
                    let name = self.word().to_owned();
                    if !is_snake_case(&name) {
                        return Err(format!("struct field {name:?} is not snake_case"));
                    }
                    self.expect(':')?;
                    let field_type = self.parse()?;
                    fields.push(Field::new(name, field_type, true));
                    if self.peek(',') {
                        self.expect(',')?;
                    } else {
                        break;
                    }
                }
                self.expect('>')?;
                if fields.is_empty() {
                    return Err("a struct needs at least one field".to_owned());
                }
                Ok(DataType::Struct(Fields::from(fields)))
            }
            "" => Err(format!(
                "expected a type at offset {} of {:?}",
                self.pos, self.text
            )),
            other => Err(format!("unknown type {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_types_parse() {
        let t = parse_type("list<struct<operator:string,key:string,values:list<string>>>")
            .expect("valid type");
        let DataType::List(item) = t else {
            panic!("not a list: {t:?}")
        };
        let DataType::Struct(fields) = item.data_type() else {
            panic!("not a struct")
        };
        let names: Vec<_> = fields.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["operator", "key", "values"]);
        assert!(matches!(fields[2].data_type(), DataType::List(_)));
    }

    #[test]
    fn timestamps_are_utc_milliseconds() {
        assert_eq!(
            parse_type("timestamp").expect("valid"),
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
    }

    #[test]
    fn bad_types_are_rejected_with_a_reason() {
        assert!(
            parse_type("map<int64,string>")
                .unwrap_err()
                .contains("map keys")
        );
        assert!(parse_type("struct<>").is_err());
        assert!(parse_type("varchar").unwrap_err().contains("unknown type"));
        assert!(parse_type("list<string").is_err());
        assert!(parse_type("string extra").is_err());
    }
}
