//! The commit: one `lake_runs` object per run, written after every data file.
//!
//! The object holds one row per table, account and region the run wrote (files, rows, bytes,
//! status). A single `put` makes it appear whole or not at all, on local disk and on S3
//! alike, so the shipped views, which read only files named by committed rows, never see
//! half a run; and a run that died before this point left nothing they read.

use arrow::array::RecordBatch;
use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::{Lake, LakeError, RowEncoder, format_dt};

/// Identity of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// Sortable by start time: `YYYYMMDDTHHMMSSZ-<8 hex>`.
    pub run_id: String,
    pub snapshot_at: DateTime<Utc>,
    /// The `dt` partition of everything the run writes: the UTC date it started.
    pub dt: String,
    /// The slice of the accounts this run reads, `i/n`; `1/1` when not sharded.
    pub shard: String,
}

impl RunInfo {
    pub fn start(snapshot_at: DateTime<Utc>) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        Self {
            run_id: format!("{}-{}", snapshot_at.format("%Y%m%dT%H%M%SZ"), &suffix[..8]),
            snapshot_at,
            dt: format_dt(snapshot_at),
            shard: "1/1".to_owned(),
        }
    }

    pub fn with_shard(mut self, shard: impl Into<String>) -> Self {
        self.shard = shard.into();
        self
    }

    pub fn snapshot_millis(&self) -> i64 {
        self.snapshot_at.timestamp_millis()
    }
}

/// Whether a table's snapshot for an account is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// Complete: the snapshot holds everything the source returned.
    Ok,
    /// Not written: the views keep showing the previous snapshot of this table and account.
    Failed,
}

/// One row of `lake_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct CommitRow {
    pub run_id: String,
    pub snapshot_at: i64,
    pub committed_at: i64,
    pub table_name: String,
    pub account_id: String,
    pub region: String,
    pub status: TableStatus,
    pub files: Vec<String>,
    pub rows: i64,
    pub bytes: i64,
    pub error: Option<String>,
    pub shard: String,
    pub lakewarden_version: String,
    pub run_summary: String,
}

impl CommitRow {
    /// The row of a usable snapshot of `table` for one account and region of `run`, with
    /// no files yet. `committed_at` and `run_summary` are for the committer to fill.
    pub fn new(run: &RunInfo, table: &str, account_id: &str, region: &str) -> Self {
        Self {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            committed_at: 0,
            table_name: table.to_owned(),
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            status: TableStatus::Ok,
            files: Vec::new(),
            rows: 0,
            bytes: 0,
            error: None,
            shard: run.shard.clone(),
            lakewarden_version: env!("CARGO_PKG_VERSION").to_owned(),
            run_summary: String::new(),
        }
    }

    /// The files, rows and bytes a writer produced.
    pub fn written(mut self, output: &crate::TableOutput) -> Self {
        self.files.clone_from(&output.files);
        self.rows = i64::try_from(output.rows).unwrap_or(i64::MAX);
        self.bytes = i64::try_from(output.bytes).unwrap_or(i64::MAX);
        self
    }

    /// A snapshot that could not be collected: nothing of it is read, and the previous
    /// snapshot stays current.
    pub fn failed(mut self, error: impl Into<String>) -> Self {
        self.status = TableStatus::Failed;
        self.error = Some(error.into());
        self.files.clear();
        self
    }
}

/// Write the commit object of a run. Returns its path.
pub async fn commit_run(
    lake: &Lake,
    run: &RunInfo,
    rows: &[CommitRow],
) -> Result<String, LakeError> {
    commit_as(lake, run, &run.run_id, rows).await
}

/// Write a commit object under its own name in the run's `dt` partition: the jobs of a
/// run commit their outputs apart from the extract, and a rerun adds a newer commit.
pub async fn commit_as(
    lake: &Lake,
    run: &RunInfo,
    name: &str,
    rows: &[CommitRow],
) -> Result<String, LakeError> {
    let path = lake.layout().commit_file(&run.dt, name);
    let mut encoder = RowEncoder::new(lake.catalog(), "lake_runs")?;
    let batch: RecordBatch = encoder.encode(rows)?;

    let buffer = parquet_bytes(&path, &batch)?;
    lake.store()
        .put(&path, buffer.into())
        .await
        .map_err(|source| LakeError::Store {
            location: path.to_string(),
            source,
        })?;
    Ok(path.to_string())
}

/// A small batch as the bytes of one zstd Parquet file, for objects written in one `put`.
pub(crate) fn parquet_bytes(
    path: &object_store::path::Path,
    batch: &RecordBatch,
) -> Result<Vec<u8>, LakeError> {
    let parquet_err = |source| LakeError::Parquet {
        path: path.clone(),
        source,
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buffer = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut buffer, batch.schema(), Some(props)).map_err(parquet_err)?;
    writer.write(batch).map_err(parquet_err)?;
    writer.close().map_err(parquet_err)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::path::Path;

    use super::*;
    use crate::{CommonColumns, TableWriter};

    #[derive(Serialize)]
    struct KeyRow {
        user_name: String,
        user_arn: String,
        access_key_id: String,
        status: String,
    }

    #[tokio::test]
    async fn a_run_writes_data_then_one_commit_object() {
        let lake =
            Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake");
        let run = RunInfo::start(Utc::now());
        let common = CommonColumns {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            account_id: "012345678901".into(),
            region: "global".into(),
        };
        let mut encoder = RowEncoder::new(lake.catalog(), "iam_access_keys").expect("table");
        let rows: Vec<KeyRow> = (0..5)
            .map(|i| KeyRow {
                user_name: format!("user{}", 4 - i),
                user_arn: format!("arn:aws:iam::012345678901:user/user{}", 4 - i),
                access_key_id: format!("AKIA{i}"),
                status: "Active".into(),
            })
            .collect();
        let mut writer =
            TableWriter::new(&lake, "iam_access_keys", "012345678901", &run).expect("writer");
        writer
            .write(encoder.encode_with(&common, &rows).expect("batch"))
            .await
            .expect("write");
        let output = writer.finish().await.expect("finish");
        assert_eq!(output.rows, 5);
        assert_eq!(output.files.len(), 1);
        assert!(output.bytes > 0);
        assert!(output.files[0].starts_with(&format!(
            "lake/iam_access_keys/dt={}/account_id=012345678901/{}-0.parquet",
            run.dt, run.run_id
        )));

        let row = CommitRow {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            committed_at: Utc::now().timestamp_millis(),
            table_name: "iam_access_keys".into(),
            account_id: "012345678901".into(),
            region: "global".into(),
            status: TableStatus::Ok,
            files: output.files.clone(),
            rows: 5,
            bytes: output.bytes as i64,
            error: None,
            shard: "1/1".into(),
            lakewarden_version: "test".into(),
            run_summary: "{}".into(),
        };
        let path = commit_run(&lake, &run, &[row]).await.expect("commit");
        assert_eq!(
            path,
            format!("lake/lake_runs/dt={}/{}.parquet", run.dt, run.run_id)
        );
        lake.store()
            .head(&Path::from(path))
            .await
            .expect("commit object exists");
    }
}
