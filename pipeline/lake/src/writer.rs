//! Streams one table's record batches for one account into zstd Parquet files.
//!
//! Batches are buffered only up to one row group, sorted by the table's sort key, and
//! written out, so memory stays bounded however many pages a source yields. A file is
//! closed and the next one opened once it holds `file_rows` rows. Files become visible to
//! readers that honour the commit only when the run's `lake_runs` object is written.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::{Lake, LakeError, RunInfo, TableSchema};

/// Bytes an open file buffers before it becomes a multipart upload, and the part size:
/// the smallest part S3 accepts, and a smaller one for stores without that rule.
const S3_UPLOAD_BUFFER: usize = 5 * 1024 * 1024;
const LOCAL_UPLOAD_BUFFER: usize = 1024 * 1024;

/// Sizes of what the writer produces.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Rows per row group: the unit of buffering, sorting and scanning.
    pub row_group_rows: usize,
    /// Rows after which a file is closed and the next one begun.
    pub file_rows: usize,
    /// zstd compression level, 1 to 22.
    pub zstd_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            row_group_rows: 64 * 1024,
            file_rows: 1024 * 1024,
            zstd_level: 3,
        }
    }
}

/// What a finished table writer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOutput {
    pub table: String,
    pub account_id: String,
    /// Paths of the files, relative to the store root.
    pub files: Vec<String>,
    pub rows: u64,
    pub bytes: u64,
}

struct OpenFile {
    path: Path,
    writer: AsyncArrowWriter<BufWriter>,
    rows: usize,
}

/// Writes one snapshot of one table for one account.
pub struct TableWriter {
    store: Arc<dyn ObjectStore>,
    table: TableSchema,
    schema: SchemaRef,
    account_id: String,
    run: RunInfo,
    lake: Lake,
    options: WriterOptions,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    open: Option<OpenFile>,
    written: Vec<Path>,
    rows: u64,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.table.name)
            .field("account_id", &self.account_id)
            .field("rows", &self.rows)
            .finish()
    }
}

impl TableWriter {
    pub fn new(
        lake: &Lake,
        table: &str,
        account_id: &str,
        run: &RunInfo,
    ) -> Result<Self, LakeError> {
        let declared = lake.catalog().table(table)?.clone();
        let schema = lake.catalog().arrow_schema(table)?;
        Ok(Self {
            store: lake.store().clone(),
            table: declared,
            schema,
            account_id: account_id.to_owned(),
            run: run.clone(),
            lake: lake.clone(),
            options: lake.writer_options(),
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            open: None,
            written: Vec::new(),
            rows: 0,
        })
    }

    pub fn table(&self) -> &str {
        &self.table.name
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Add a batch; it must have exactly the declared schema.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), LakeError> {
        if batch.schema() != self.schema {
            return Err(LakeError::SchemaMismatch {
                table: self.table.name.clone(),
                message: describe_mismatch(&self.schema, &batch.schema()),
            });
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        self.pending_rows += batch.num_rows();
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
        while self.pending_rows >= self.options.row_group_rows {
            self.flush_row_group(self.options.row_group_rows).await?;
        }
        Ok(())
    }

    /// Memory held by the rows buffered for the next row group, in bytes.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Write the buffered rows out now as a (smaller) row group, freeing their memory. A
    /// caller holding many writers at once bounds their total this way.
    pub async fn flush_pending(&mut self) -> Result<(), LakeError> {
        if self.pending_rows > 0 {
            self.flush_row_group(self.pending_rows).await?;
        }
        Ok(())
    }

    /// Whether a file is open, holding an upload buffer.
    pub fn has_open_file(&self) -> bool {
        self.open.is_some()
    }

    /// Write the buffered rows and close the open file now, freeing its buffers; later
    /// rows begin a new file. A caller holding many writers at once bounds the number of
    /// open files this way, at the price of more, smaller files.
    pub async fn close_open_file(&mut self) -> Result<(), LakeError> {
        self.flush_pending().await?;
        self.close_file().await
    }

    /// Write what is buffered, close the last file and report what was written. A table
    /// with no rows still gets one file with its schema and no rows, so readers can tell
    /// "looked and found none" from "not collected".
    pub async fn finish(mut self) -> Result<TableOutput, LakeError> {
        if self.pending_rows > 0 {
            self.flush_row_group(self.pending_rows).await?;
        }
        if self.open.is_none() && self.written.is_empty() {
            self.open_file()?;
        }
        self.close_file().await?;

        let mut bytes = 0;
        let mut files = Vec::with_capacity(self.written.len());
        for path in &self.written {
            let meta = self
                .store
                .head(path)
                .await
                .map_err(|source| LakeError::Store {
                    location: path.to_string(),
                    source,
                })?;
            bytes += meta.size;
            files.push(path.to_string());
        }
        Ok(TableOutput {
            table: self.table.name.clone(),
            account_id: self.account_id.clone(),
            files,
            rows: self.rows,
            bytes,
        })
    }

    /// Give up on this snapshot: stop the open upload and remove the files already closed.
    /// Nothing of it was committed, so removal is only tidiness; `vacuum` would do it too.
    pub async fn abort(mut self) {
        // Dropping an open writer abandons its upload: the object never appears. An
        // upload already split into parts on S3 is left for the bucket's lifecycle rule.
        drop(self.open.take());
        for path in &self.written {
            if let Err(error) = self.store.delete(path).await {
                tracing::warn!(path = %path, %error, "Could not remove a file of an aborted snapshot");
            }
        }
    }

    async fn flush_row_group(&mut self, rows: usize) -> Result<(), LakeError> {
        let arrow_err = |table: &str| {
            let table = table.to_owned();
            move |source| LakeError::Arrow { table, source }
        };
        let all =
            concat_batches(&self.schema, &self.pending).map_err(arrow_err(&self.table.name))?;
        let group = all.slice(0, rows);
        let rest = all.slice(rows, all.num_rows() - rows);
        self.pending_bytes = rest.get_array_memory_size();
        self.pending = if rest.num_rows() > 0 {
            vec![rest]
        } else {
            self.pending_bytes = 0;
            Vec::new()
        };
        self.pending_rows -= rows;

        let group = self.sorted(group)?;
        if self.open.is_none() {
            self.open_file()?;
        }
        let open = self.open.as_mut().expect("a file was just opened");
        let path = open.path.clone();
        let parquet_err = |source| LakeError::Parquet {
            path: path.clone(),
            source,
        };
        open.writer.write(&group).await.map_err(parquet_err)?;
        open.writer.flush().await.map_err(parquet_err)?;
        open.rows += group.num_rows();
        if open.rows >= self.options.file_rows {
            self.close_file().await?;
        }
        Ok(())
    }

    fn sorted(&self, batch: RecordBatch) -> Result<RecordBatch, LakeError> {
        let columns: Vec<SortColumn> = self
            .table
            .sort_key
            .iter()
            .filter_map(|name| batch.column_by_name(name))
            .filter(|array| !matches!(array.data_type(), DataType::List(_) | DataType::Map(..)))
            .map(|array| SortColumn {
                values: array.clone(),
                options: None,
            })
            .collect();
        if columns.is_empty() || batch.num_rows() < 2 {
            return Ok(batch);
        }
        let table = &self.table.name;
        let arrow_err = |source| LakeError::Arrow {
            table: table.clone(),
            source,
        };
        let indices = lexsort_to_indices(&columns, None).map_err(arrow_err)?;
        take_record_batch(&batch, &indices).map_err(arrow_err)
    }

    fn open_file(&mut self) -> Result<(), LakeError> {
        let n = self
            .lake
            .next_file_number(&self.run.run_id, &self.table.name, &self.account_id);
        let path = self.lake.layout().data_file(
            &self.table.name,
            &self.run.dt,
            &self.account_id,
            &self.run.run_id,
            n,
        );
        let zstd =
            ZstdLevel::try_new(self.options.zstd_level).map_err(|source| LakeError::Parquet {
                path: path.clone(),
                source,
            })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .set_max_row_group_row_count(Some(self.options.row_group_rows))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(concat!("lakewarden ", env!("CARGO_PKG_VERSION")).to_owned())
            .build();
        // Every open file holds this much before its upload starts, and an import spread
        // over many accounts and regions holds one open file per partition: S3 needs
        // parts of 5 MiB, a local folder takes any size.
        let buffer = upload_buffer(&self.lake);
        let sink = BufWriter::with_capacity(self.store.clone(), path.clone(), buffer)
            .with_max_concurrency(2);
        let writer = AsyncArrowWriter::try_new(sink, self.schema.clone(), Some(props)).map_err(
            |source| LakeError::Parquet {
                path: path.clone(),
                source,
            },
        )?;
        self.open = Some(OpenFile {
            path,
            writer,
            rows: 0,
        });
        Ok(())
    }

    async fn close_file(&mut self) -> Result<(), LakeError> {
        if let Some(open) = self.open.take() {
            let path = open.path.clone();
            open.writer
                .close()
                .await
                .map_err(|source| LakeError::Parquet {
                    path: path.clone(),
                    source,
                })?;
            self.written.push(path);
        }
        Ok(())
    }
}

/// Bytes one open file of `lake` buffers, at most, before its upload starts.
pub fn upload_buffer(lake: &Lake) -> usize {
    if lake.url().starts_with("s3://") {
        S3_UPLOAD_BUFFER
    } else {
        LOCAL_UPLOAD_BUFFER
    }
}

fn describe_mismatch(declared: &SchemaRef, got: &SchemaRef) -> String {
    for (i, field) in declared.fields().iter().enumerate() {
        match got.fields().get(i) {
            None => return format!("column {} is missing", field.name()),
            Some(other) if other != field => {
                return format!(
                    "column {} is {:?} (nullable {}), declared {:?} (nullable {})",
                    field.name(),
                    other.data_type(),
                    other.is_nullable(),
                    field.data_type(),
                    field.is_nullable()
                );
            }
            Some(_) => {}
        }
    }
    format!(
        "{} columns where {} are declared",
        got.fields().len(),
        declared.fields().len()
    )
}
