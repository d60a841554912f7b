//! Rows to record batches in a table's declared schema.
//!
//! Sources describe a row as a plain `serde` struct whose field names are the column names.
//! The encoder fills the declared Arrow schema from those rows; a field the schema lacks,
//! or a null in a non-nullable column, is an error naming the table, so a struct and its
//! schema file cannot drift apart silently.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::json::reader::{Decoder, ReaderBuilder};
use serde::Serialize;

use crate::{Catalog, LakeError};

/// The columns every row of every table carries.
#[derive(Debug, Clone, Serialize)]
pub struct CommonColumns {
    pub run_id: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub snapshot_at: i64,
    pub account_id: String,
    pub region: String,
}

#[derive(Serialize)]
struct WithCommon<'a, T> {
    #[serde(flatten)]
    common: &'a CommonColumns,
    #[serde(flatten)]
    row: &'a T,
}

/// Encodes `serde` rows into record batches of one table.
///
/// The JSON decoder behind it is built for each call, sized to that call's rows: a kept
/// decoder holds buffers for a whole batch (about a megabyte for a wide table), and a
/// source writing to thousands of account and region partitions keeps an encoder for
/// each, so kept buffers would grow with the number of partitions.
pub struct RowEncoder {
    table: String,
    schema: SchemaRef,
}

impl std::fmt::Debug for RowEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowEncoder")
            .field("table", &self.table)
            .finish()
    }
}

impl RowEncoder {
    pub fn new(catalog: &Catalog, table: &str) -> Result<Self, LakeError> {
        let schema = catalog.arrow_schema(table)?;
        let encoder = Self {
            table: table.to_owned(),
            schema,
        };
        // Build a decoder once here so a schema it cannot take fails at construction.
        encoder.decoder(1)?;
        Ok(encoder)
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decoder(&self, rows: usize) -> Result<Decoder, LakeError> {
        ReaderBuilder::new(self.schema.clone())
            .with_strict_mode(true)
            .with_batch_size(rows.max(1))
            .build_decoder()
            .map_err(|source| LakeError::Arrow {
                table: self.table.clone(),
                source,
            })
    }

    /// Encode rows that lack the common columns, adding them from `common`.
    pub fn encode_with<T: Serialize>(
        &mut self,
        common: &CommonColumns,
        rows: &[T],
    ) -> Result<RecordBatch, LakeError> {
        let wrapped: Vec<WithCommon<'_, T>> =
            rows.iter().map(|row| WithCommon { common, row }).collect();
        self.encode(&wrapped)
    }

    /// Encode rows that hold every column themselves.
    pub fn encode<T: Serialize>(&mut self, rows: &[T]) -> Result<RecordBatch, LakeError> {
        let encode_err = |source| LakeError::Encode {
            table: self.table.clone(),
            source,
        };
        if rows.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        }
        let mut decoder = self.decoder(rows.len())?;
        decoder.serialize(rows).map_err(encode_err)?;
        let batch = decoder.flush().map_err(|source| LakeError::Encode {
            table: self.table.clone(),
            source,
        })?;
        Ok(batch.unwrap_or_else(|| RecordBatch::new_empty(self.schema.clone())))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampMillisecondType;

    use super::*;

    #[derive(Serialize)]
    struct KeyRow {
        user_name: String,
        user_arn: String,
        access_key_id: String,
        status: String,
        create_date: Option<i64>,
    }

    fn common() -> CommonColumns {
        CommonColumns {
            run_id: "r1".into(),
            snapshot_at: 1_764_806_400_000,
            account_id: "012345678901".into(),
            region: "global".into(),
        }
    }

    #[test]
    fn rows_fill_the_declared_schema() {
        let catalog = Catalog::load().expect("schemas");
        let mut encoder = RowEncoder::new(&catalog, "iam_access_keys").expect("table");
        let rows = [KeyRow {
            user_name: "alice".into(),
            user_arn: "arn:aws:iam::012345678901:user/alice".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            status: "Active".into(),
            create_date: Some(1_700_000_000_123),
        }];
        let batch = encoder.encode_with(&common(), &rows).expect("encodes");
        assert_eq!(
            batch.schema(),
            catalog.arrow_schema("iam_access_keys").expect("schema")
        );
        assert_eq!(batch.num_rows(), 1);
        let account = batch
            .column_by_name("account_id")
            .expect("column")
            .as_string::<i32>();
        assert_eq!(account.value(0), "012345678901");
        let created = batch
            .column_by_name("create_date")
            .expect("column")
            .as_primitive::<TimestampMillisecondType>();
        assert_eq!(created.value(0), 1_700_000_000_123);
        let last_used = batch.column_by_name("last_used_at").expect("column");
        assert!(last_used.is_null(0), "absent fields become typed nulls");
    }

    #[test]
    fn a_field_the_schema_lacks_is_an_error_naming_the_table() {
        #[derive(Serialize)]
        struct Extra {
            not_a_column: BTreeMap<String, String>,
        }
        let catalog = Catalog::load().expect("schemas");
        let mut encoder = RowEncoder::new(&catalog, "iam_access_keys").expect("table");
        let err = encoder
            .encode_with(
                &common(),
                &[Extra {
                    not_a_column: BTreeMap::new(),
                }],
            )
            .expect_err("strict");
        assert!(err.to_string().contains("iam_access_keys"), "{err}");
    }
}
