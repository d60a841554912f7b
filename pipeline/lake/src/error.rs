//! Errors of the lake crate, each naming the table, file or schema it concerns.

use object_store::path::Path;

/// What can go wrong while reading schemas, writing Parquet or committing a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LakeError {
    #[error("schema file {file}: {message}")]
    Schema { file: String, message: String },

    #[error("schema file {file} is not valid TOML: {source}")]
    SchemaToml {
        file: String,
        #[source]
        source: toml::de::Error,
    },

    #[error("no declared schema for table {0}")]
    UnknownTable(String),

    #[error("table {table}: a batch does not match the declared schema: {message}")]
    SchemaMismatch { table: String, message: String },

    #[error("table {table}: rows do not fit the declared schema: {source}")]
    Encode {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("table {table}: {source}")]
    Arrow {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("writing Parquet file {path}: {source}")]
    Parquet {
        path: Path,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("object store at {location}: {source}")]
    Store {
        location: String,
        #[source]
        source: object_store::Error,
    },

    #[error("lake location {url}: {message}")]
    Location { url: String, message: String },
}
