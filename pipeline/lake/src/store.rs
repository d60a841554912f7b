//! Opening a lake: a local folder or an S3 prefix, behind one `object_store` handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::{Catalog, LakeError, Layout, WriterOptions};

/// (run id, table, account id).
type FileKey = (String, String, String);

/// An opened lake: where it is, its store, its layout and its declared tables.
#[derive(Debug, Clone)]
pub struct Lake {
    url: String,
    store: Arc<dyn ObjectStore>,
    layout: Layout,
    catalog: Arc<Catalog>,
    options: WriterOptions,
    /// Next file number per (run, table, account): regions of one account write into the
    /// same partition concurrently and must not pick the same name.
    file_numbers: Arc<Mutex<HashMap<FileKey, usize>>>,
}

impl Lake {
    /// A lake over an existing store, with `root` as its prefix inside it.
    pub fn new(
        url: impl Into<String>,
        store: Arc<dyn ObjectStore>,
        root: Path,
    ) -> Result<Self, LakeError> {
        Ok(Self {
            url: url.into(),
            store,
            layout: Layout::new(root),
            catalog: Arc::new(Catalog::load()?),
            options: WriterOptions::default(),
            file_numbers: Arc::default(),
        })
    }

    pub fn with_writer_options(mut self, options: WriterOptions) -> Self {
        self.options = options;
        self
    }

    /// Where the lake is, as configured (`./lake`, `s3://bucket/prefix`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn writer_options(&self) -> WriterOptions {
        self.options
    }

    /// Reserve the next data file number of a run's partition of a table.
    pub fn next_file_number(&self, run_id: &str, table: &str, account_id: &str) -> usize {
        let mut numbers = self.file_numbers.lock().unwrap_or_else(|e| e.into_inner());
        let next = numbers
            .entry((run_id.to_owned(), table.to_owned(), account_id.to_owned()))
            .or_insert(0);
        *next += 1;
        *next - 1
    }

    /// Make sure every declared table has its schema file: an empty Parquet file under
    /// `dt=1970-01-01/` (and `account_id=000000000000/`), belonging to no run. Engines such as
    /// DuckDB bind a view to a table's files when the view is created and refuse a
    /// pattern that matches nothing; with this file the shipped views work for every
    /// table before any source has written it. No commit names it, so no view shows it.
    pub async fn ensure_schema_files(&self) -> Result<usize, LakeError> {
        let mut written = 0;
        for table in self.catalog.tables() {
            let path = self
                .layout
                .schema_file(&table.name, table.has_account_partition());
            match self.store.head(&path).await {
                Ok(_) => continue,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => {
                    return Err(LakeError::Store {
                        location: path.to_string(),
                        source,
                    });
                }
            }
            let schema = self.catalog.arrow_schema(&table.name)?;
            let bytes =
                crate::commit::parquet_bytes(&path, &arrow::array::RecordBatch::new_empty(schema))?;
            self.store
                .put(&path, bytes.into())
                .await
                .map_err(|source| LakeError::Store {
                    location: path.to_string(),
                    source,
                })?;
            written += 1;
        }
        Ok(written)
    }

    /// Write and remove a small object, to prove before any data moves that the lake is
    /// writable with the credentials at hand.
    pub async fn probe_write(&self) -> Result<(), LakeError> {
        let path = self
            .layout
            .root()
            .clone()
            .join("_lakewarden_check")
            .clone()
            .join(format!("{}.txt", uuid::Uuid::new_v4()));
        let store_err = |source| LakeError::Store {
            location: format!("{}/{}", self.url, path),
            source,
        };
        self.store
            .put(&path, "lakewarden write check\n".into())
            .await
            .map_err(store_err)?;
        self.store.delete(&path).await.map_err(store_err)?;
        Ok(())
    }
}

/// Open a lake from a URL: `s3://bucket/prefix`, `file:///abs/path`, or a plain local path
/// (created when missing). S3 settings come from the environment as the AWS tools read
/// them (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, credentials, web identity).
pub fn open_lake(url: &str) -> Result<Lake, LakeError> {
    let location_err = |message: String| LakeError::Location {
        url: url.to_owned(),
        message,
    };
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(location_err("no bucket name".to_owned()));
        }
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|source| LakeError::Store {
                location: url.to_owned(),
                source,
            })?;
        return Lake::new(
            url,
            Arc::new(store),
            Path::from(prefix.trim_end_matches('/')),
        );
    }
    if let Some((scheme, _)) = url.split_once("://")
        && scheme != "file"
    {
        return Err(location_err(format!(
            "scheme {scheme}:// is not supported; use s3:// or a local path"
        )));
    }
    let local = url.strip_prefix("file://").unwrap_or(url);
    std::fs::create_dir_all(local)
        .map_err(|e| location_err(format!("cannot create the folder: {e}")))?;
    let store = LocalFileSystem::new_with_prefix(local).map_err(|source| LakeError::Store {
        location: url.to_owned(),
        source,
    })?;
    Lake::new(url, Arc::new(store), Path::default())
}
