//! Reading committed snapshots back: what incremental sources merge their new data into.
//!
//! [`latest_snapshot`] finds the newest `lake_runs` row with status `ok` for one table,
//! account and region; [`read_snapshot`] streams the record batches of its files in the
//! table's declared schema, one row group at a time, so memory stays bounded by the
//! writer's row-group size whatever the snapshot holds.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, new_null_array};
use arrow::datatypes::{Schema, SchemaRef};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use crate::{Lake, LakeError};

/// One committed, complete snapshot of a table for one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedSnapshot {
    pub run_id: String,
    /// When that run started, in milliseconds since the epoch (UTC).
    pub snapshot_at: i64,
    /// Its data files, relative to the store root.
    pub files: Vec<String>,
    pub rows: i64,
}

/// The newest snapshot with status `ok` of `table` for an account and region, or `None`
/// when no committed run wrote one: the one committed last, as the views pick it.
pub async fn latest_snapshot(
    lake: &Lake,
    table: &str,
    account_id: &str,
    region: &str,
) -> Result<Option<CommittedSnapshot>, LakeError> {
    let history = crate::commit_history(lake).await?;
    Ok(crate::latest_snapshots(&history, table, None)
        .into_iter()
        .find(|s| s.account_id == account_id && s.region == region)
        .map(|s| CommittedSnapshot {
            run_id: s.run_id.clone(),
            snapshot_at: s.snapshot_at,
            files: s.files.clone(),
            rows: s.rows,
        }))
}

/// Stream a snapshot's rows in `table`'s declared schema, file by file. `columns` keeps
/// only the named columns (in declared order), which reads only those from each file.
/// A column the file predates comes back as nulls; a column whose type differs is an error.
pub async fn read_snapshot(
    lake: &Lake,
    table: &str,
    snapshot: &CommittedSnapshot,
    columns: Option<&[&str]>,
) -> Result<BoxStream<'static, Result<RecordBatch, LakeError>>, LakeError> {
    let declared = lake.catalog().arrow_schema(table)?;
    let target: SchemaRef = match columns {
        None => declared,
        Some(names) => {
            for name in names {
                declared
                    .field_with_name(name)
                    .map_err(|_| LakeError::SchemaMismatch {
                        table: table.to_owned(),
                        message: format!("no declared column {name}"),
                    })?;
            }
            let fields: Vec<_> = declared
                .fields()
                .iter()
                .filter(|f| names.contains(&f.name().as_str()))
                .cloned()
                .collect();
            Arc::new(Schema::new(fields))
        }
    };
    let store = lake.store().clone();
    let table = table.to_owned();
    let files: Vec<Path> = snapshot
        .files
        .iter()
        .map(|f| Path::from(f.as_str()))
        .collect();
    let stream = futures::stream::iter(files.into_iter().map(Ok))
        .and_then(move |file| {
            let store = store.clone();
            let table = table.clone();
            let target = target.clone();
            async move { read_file(store, file, &table, Some(target)).await }
        })
        .try_flatten();
    Ok(stream.boxed())
}

/// The batches of one Parquet file; with `target`, projected and conformed to it.
async fn read_file(
    store: Arc<dyn ObjectStore>,
    file: Path,
    table: &str,
    target: Option<SchemaRef>,
) -> Result<BoxStream<'static, Result<RecordBatch, LakeError>>, LakeError> {
    let parquet_err = {
        let file = file.clone();
        move |source| LakeError::Parquet {
            path: file.clone(),
            source,
        }
    };
    let meta = store.head(&file).await.map_err(|source| LakeError::Store {
        location: file.to_string(),
        source,
    })?;
    let reader = StoreFile {
        store,
        path: file.clone(),
        size: meta.size,
    };
    let mut builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(parquet_err.clone())?;
    if let Some(target) = &target {
        let wanted: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| target.field_with_name(f.name()).is_ok())
            .map(|(i, _)| i)
            .collect();
        let mask =
            parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
        builder = builder.with_projection(mask);
    }
    let stream = builder.build().map_err(parquet_err.clone())?;
    let table = table.to_owned();
    Ok(stream
        .map(move |batch| {
            let batch = batch.map_err(parquet_err.clone())?;
            match &target {
                Some(target) => conform(&table, &file, batch, target),
                None => Ok(batch),
            }
        })
        .boxed())
}

/// One Parquet file of an object store, read by byte ranges: the footer first, then only
/// the column chunks of the row groups being decoded.
struct StoreFile {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn store_to_parquet(error: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(error))
}

impl AsyncFileReader for StoreFile {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(store_to_parquet)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_and_finish(&mut *self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// A batch with exactly `target`'s columns, in its order.
fn conform(
    table: &str,
    file: &Path,
    batch: RecordBatch,
    target: &SchemaRef,
) -> Result<RecordBatch, LakeError> {
    let mismatch = |message: String| LakeError::SchemaMismatch {
        table: table.to_owned(),
        message: format!("file {file}: {message}"),
    };
    let mut columns = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        match batch.column_by_name(field.name()) {
            Some(array) if array.data_type() == field.data_type() => columns.push(array.clone()),
            Some(array) => {
                return Err(mismatch(format!(
                    "column {} is {} where {} is declared",
                    field.name(),
                    array.data_type(),
                    field.data_type()
                )));
            }
            None if field.is_nullable() => {
                columns.push(new_null_array(field.data_type(), batch.num_rows()));
            }
            None => return Err(mismatch(format!("no column {}", field.name()))),
        }
    }
    RecordBatch::try_new(target.clone(), columns).map_err(|e| mismatch(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow::array::{AsArray, Int32Array, StringArray};
    use chrono::{TimeZone, Utc};
    use object_store::memory::InMemory;
    use serde::Serialize;

    use arrow::datatypes::Int32Type;

    use super::*;
    use crate::{CommitRow, CommonColumns, RowEncoder, RunInfo, TableStatus, TableWriter};

    #[derive(Serialize)]
    struct Summary {
        users: i32,
        summary: BTreeMap<String, i64>,
    }

    fn lake() -> Lake {
        Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake")
    }

    /// Write and commit one run of `iam_account_summary` with `values` for an account.
    async fn commit(
        lake: &Lake,
        started: i64,
        account: &str,
        values: &[i32],
        status: TableStatus,
    ) -> RunInfo {
        let run = RunInfo::start(Utc.timestamp_millis_opt(started).single().expect("time"));
        let common = CommonColumns {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            account_id: account.to_owned(),
            region: "global".to_owned(),
        };
        let rows: Vec<Summary> = values
            .iter()
            .map(|v| Summary {
                users: *v,
                summary: BTreeMap::new(),
            })
            .collect();
        let mut encoder = RowEncoder::new(lake.catalog(), "iam_account_summary").expect("t");
        let mut writer =
            TableWriter::new(lake, "iam_account_summary", account, &run).expect("writer");
        writer
            .write(encoder.encode_with(&common, &rows).expect("batch"))
            .await
            .expect("write");
        let output = writer.finish().await.expect("finish");
        let row = CommitRow {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            committed_at: started + 1000,
            table_name: "iam_account_summary".into(),
            account_id: account.into(),
            region: "global".into(),
            status,
            files: output.files,
            rows: rows.len() as i64,
            bytes: output.bytes as i64,
            error: None,
            shard: "1/1".into(),
            lakewarden_version: "test".into(),
            run_summary: "{}".into(),
        };
        crate::commit_run(lake, &run, &[row]).await.expect("commit");
        run
    }

    async fn values(lake: &Lake, snapshot: &CommittedSnapshot) -> Vec<i32> {
        let batches: Vec<RecordBatch> =
            read_snapshot(lake, "iam_account_summary", snapshot, Some(&["users"]))
                .await
                .expect("stream")
                .try_collect()
                .await
                .expect("batches");
        batches
            .iter()
            .flat_map(|b| {
                assert_eq!(b.num_columns(), 1);
                b.column(0).as_primitive::<Int32Type>().values().to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn the_latest_ok_snapshot_is_found_and_read_in_the_declared_schema() {
        let lake = lake();
        let account = "012345678901";
        assert_eq!(
            latest_snapshot(&lake, "iam_account_summary", account, "global")
                .await
                .expect("no commits yet"),
            None
        );
        let day = 1_764_806_400_000;
        let first = commit(&lake, day, account, &[1, 2], TableStatus::Ok).await;
        // A later failed snapshot and another account's snapshot must both be passed over.
        commit(&lake, day + 86_400_000, account, &[], TableStatus::Failed).await;
        commit(
            &lake,
            day + 2 * 86_400_000,
            "999999999999",
            &[9],
            TableStatus::Ok,
        )
        .await;

        let found = latest_snapshot(&lake, "iam_account_summary", account, "global")
            .await
            .expect("read")
            .expect("a snapshot");
        assert_eq!(found.run_id, first.run_id);
        assert_eq!(found.snapshot_at, day);
        assert_eq!(found.rows, 2);
        assert_eq!(values(&lake, &found).await, [1, 2]);

        let second = commit(&lake, day + 3 * 86_400_000, account, &[3], TableStatus::Ok).await;
        let found = latest_snapshot(&lake, "iam_account_summary", account, "global")
            .await
            .expect("read")
            .expect("a snapshot");
        assert_eq!(found.run_id, second.run_id);
        assert_eq!(values(&lake, &found).await, [3]);

        let all: Vec<RecordBatch> = read_snapshot(&lake, "iam_account_summary", &found, None)
            .await
            .expect("stream")
            .try_collect()
            .await
            .expect("batches");
        assert_eq!(
            all[0].schema(),
            lake.catalog()
                .arrow_schema("iam_account_summary")
                .expect("schema")
        );
        assert_eq!(
            latest_snapshot(&lake, "iam_account_summary", account, "us-east-1")
                .await
                .expect("read"),
            None,
            "the region is part of the key"
        );
    }

    #[test]
    fn conform_fills_missing_nullable_columns_and_refuses_other_types() {
        let target = Arc::new(Schema::new(vec![
            arrow::datatypes::Field::new("a", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("b", arrow::datatypes::DataType::Int32, true),
        ]));
        let only_a = RecordBatch::try_from_iter([(
            "a",
            Arc::new(StringArray::from(vec!["x", "y"])) as Arc<dyn Array>,
        )])
        .expect("batch");
        let file = Path::from("t/f.parquet");
        let filled = conform("t", &file, only_a, &target).expect("conformed");
        assert_eq!(filled.schema(), target);
        assert_eq!(filled.column(1).null_count(), 2);

        let wrong = RecordBatch::try_from_iter([(
            "a",
            Arc::new(Int32Array::from(vec![1])) as Arc<dyn Array>,
        )])
        .expect("batch");
        let err = conform("t", &file, wrong, &target).expect_err("type differs");
        assert!(err.to_string().contains("file t/f.parquet"), "{err}");
    }
}
