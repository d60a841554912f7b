//! The set of declared tables, embedded from `schemas/` at build time (see `build.rs`) so
//! the binary needs no files beside it.

use std::collections::BTreeMap;

use arrow::datatypes::SchemaRef;

use crate::{LakeError, TableSchema};

include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

/// All declared tables with their Arrow schemas.
#[derive(Debug, Clone)]
pub struct Catalog {
    tables: BTreeMap<String, (TableSchema, SchemaRef)>,
}

impl Catalog {
    /// Read and validate every embedded schema file.
    pub fn load() -> Result<Self, LakeError> {
        let mut tables = BTreeMap::new();
        for (name, text) in SCHEMA_FILES {
            let file = format!("schemas/{name}.toml");
            let schema = TableSchema::from_toml(&file, text)?;
            if schema.name != *name {
                return Err(LakeError::Schema {
                    file,
                    message: format!(
                        "declares table {} but the file is named {name}",
                        schema.name
                    ),
                });
            }
            let arrow = schema.arrow_schema();
            tables.insert(schema.name.clone(), (schema, arrow));
        }
        Ok(Self { tables })
    }

    pub fn table(&self, name: &str) -> Result<&TableSchema, LakeError> {
        self.tables
            .get(name)
            .map(|(schema, _)| schema)
            .ok_or_else(|| LakeError::UnknownTable(name.to_owned()))
    }

    pub fn arrow_schema(&self, name: &str) -> Result<SchemaRef, LakeError> {
        self.tables
            .get(name)
            .map(|(_, arrow)| arrow.clone())
            .ok_or_else(|| LakeError::UnknownTable(name.to_owned()))
    }

    pub fn tables(&self) -> impl Iterator<Item = &TableSchema> {
        self.tables.values().map(|(schema, _)| schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_embedded_and_valid() {
        let catalog = Catalog::load().expect("schemas are valid");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("schemas/ exists")
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".toml")
                    .map(String::from)
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = catalog.tables().map(|t| t.name.clone()).collect();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn every_row_carries_the_common_columns() {
        let catalog = Catalog::load().expect("schemas are valid");
        for table in catalog.tables().filter(|t| t.name != "lake_runs") {
            let names: Vec<&str> = table
                .columns
                .iter()
                .take(4)
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(
                names,
                ["run_id", "snapshot_at", "account_id", "region"],
                "table {}",
                table.name
            );
            assert!(table.has_account_partition(), "table {}", table.name);
        }
    }
}
