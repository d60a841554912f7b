//! Reading the commit history back: which snapshot of each table, account and region is
//! committed, and as of which run.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampMillisecondType};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{Lake, LakeError};

/// One committed row of `lake_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitEntry {
    pub run_id: String,
    pub table: String,
    pub account_id: String,
    pub region: String,
    pub snapshot_at: i64,
    pub committed_at: i64,
    pub ok: bool,
    pub rows: i64,
    pub files: Vec<String>,
    /// The shard of the run, `i/n`.
    pub shard: String,
}

/// Every row of every commit object of the lake, oldest snapshot first and, within one
/// snapshot, oldest commit first: the last usable row of a table is its current snapshot.
pub async fn commit_history(lake: &Lake) -> Result<Vec<CommitEntry>, LakeError> {
    let prefix = lake.layout().table_prefix("lake_runs");
    let objects: Vec<_> = lake
        .store()
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|source| LakeError::Store {
            location: prefix.to_string(),
            source,
        })?;
    let mut rows = Vec::new();
    for object in objects {
        if object.location.as_ref().contains("/dt=1970-01-01/") {
            continue;
        }
        let bytes = read_object(lake, &object.location).await?;
        rows.extend(decode_commit(&object.location, bytes)?);
    }
    rows.sort_by(|a, b| {
        (a.snapshot_at, a.committed_at, &a.run_id).cmp(&(b.snapshot_at, b.committed_at, &b.run_id))
    });
    Ok(rows)
}

/// For one table, the newest usable snapshot of each account and region among commits
/// made no later than `as_of` (milliseconds; `None` for the newest of all).
pub fn latest_snapshots<'a>(
    history: &'a [CommitEntry],
    table: &str,
    as_of: Option<i64>,
) -> Vec<&'a CommitEntry> {
    let mut latest: std::collections::BTreeMap<(&str, &str), &CommitEntry> =
        std::collections::BTreeMap::new();
    for row in history {
        if row.table != table || !row.ok || as_of.is_some_and(|t| row.committed_at > t) {
            continue;
        }
        latest.insert((row.account_id.as_str(), row.region.as_str()), row);
    }
    latest.into_values().collect()
}

/// The bytes of one object of the lake.
pub async fn read_object(lake: &Lake, path: &Path) -> Result<Bytes, LakeError> {
    let store_err = |source| LakeError::Store {
        location: path.to_string(),
        source,
    };
    lake.store()
        .get(path)
        .await
        .map_err(store_err)?
        .bytes()
        .await
        .map_err(store_err)
}

/// Record batches of one Parquet object.
pub async fn read_batches(lake: &Lake, path: &Path) -> Result<Vec<RecordBatch>, LakeError> {
    let bytes = read_object(lake, path).await?;
    let parquet_err = |source| LakeError::Parquet {
        path: path.clone(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(parquet_err)?
        .build()
        .map_err(parquet_err)?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| LakeError::Arrow {
            table: path.to_string(),
            source,
        })
}

fn decode_commit(path: &Path, bytes: Bytes) -> Result<Vec<CommitEntry>, LakeError> {
    let parquet_err = |source| LakeError::Parquet {
        path: path.clone(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(parquet_err)?
        .build()
        .map_err(parquet_err)?;
    let bad = |message: &str| LakeError::Schema {
        file: path.to_string(),
        message: message.to_owned(),
    };
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|source| LakeError::Arrow {
            table: "lake_runs".to_owned(),
            source,
        })?;
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| bad(&format!("commit record lacks text column {name}")))
        };
        let millis = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .ok_or_else(|| bad(&format!("commit record lacks timestamp column {name}")))
        };
        let (run_id, table, account, region, status, shard) = (
            text("run_id")?,
            text("table_name")?,
            text("account_id")?,
            text("region")?,
            text("status")?,
            text("shard")?,
        );
        let (snapshot_at, committed_at) = (millis("snapshot_at")?, millis("committed_at")?);
        let rows = batch
            .column_by_name("rows")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| bad("commit record lacks rows"))?;
        let files = batch
            .column_by_name("files")
            .and_then(|c| c.as_list_opt::<i32>())
            .ok_or_else(|| bad("commit record lacks files"))?;
        for i in 0..batch.num_rows() {
            let listed = files.value(i);
            let listed = listed.as_string::<i32>();
            out.push(CommitEntry {
                run_id: run_id.value(i).to_owned(),
                table: table.value(i).to_owned(),
                account_id: account.value(i).to_owned(),
                region: region.value(i).to_owned(),
                snapshot_at: snapshot_at.value(i),
                committed_at: committed_at.value(i),
                ok: status.value(i) == "ok",
                rows: rows.value(i),
                shard: shard.value(i).to_owned(),
                files: (0..listed.len())
                    .filter(|j| !listed.is_null(*j))
                    .map(|j| listed.value(j).to_owned())
                    .collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, Utc};
    use object_store::memory::InMemory;

    use super::*;
    use crate::{CommitRow, RunInfo, TableStatus, commit_run};

    fn row(run: &RunInfo, account: &str, status: TableStatus, committed_at: i64) -> CommitRow {
        CommitRow {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            committed_at,
            table_name: "iam_users".into(),
            account_id: account.into(),
            region: "global".into(),
            status,
            files: vec![format!("f-{}-{account}", run.run_id)],
            rows: 1,
            bytes: 1,
            error: None,
            shard: "1/1".into(),
            lakewarden_version: "test".into(),
            run_summary: "{}".into(),
        }
    }

    #[tokio::test]
    async fn latest_snapshot_skips_failed_and_later_commits() {
        let lake =
            Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake");
        let t0 = Utc::now() - Duration::hours(3);
        let first = RunInfo::start(t0);
        let second = RunInfo::start(t0 + Duration::hours(1));
        let third = RunInfo::start(t0 + Duration::hours(2));
        let ms = |r: &RunInfo| r.snapshot_millis() + 1000;
        commit_run(
            &lake,
            &first,
            &[
                row(&first, "111111111111", TableStatus::Ok, ms(&first)),
                row(&first, "012345678901", TableStatus::Ok, ms(&first)),
            ],
        )
        .await
        .expect("commit");
        commit_run(
            &lake,
            &second,
            &[
                row(&second, "111111111111", TableStatus::Ok, ms(&second)),
                row(&second, "012345678901", TableStatus::Failed, ms(&second)),
            ],
        )
        .await
        .expect("commit");
        commit_run(
            &lake,
            &third,
            &[row(&third, "111111111111", TableStatus::Ok, ms(&third))],
        )
        .await
        .expect("commit");

        let history = commit_history(&lake).await.expect("history");
        assert_eq!(history.len(), 5);
        let latest = latest_snapshots(&history, "iam_users", Some(ms(&second)));
        let picked: Vec<(&str, &str)> = latest
            .iter()
            .map(|s| (s.account_id.as_str(), s.run_id.as_str()))
            .collect();
        assert_eq!(
            picked,
            [
                ("012345678901", first.run_id.as_str()),
                ("111111111111", second.run_id.as_str())
            ],
            "a failed snapshot keeps the previous one; a later commit is not seen"
        );
        assert_eq!(
            latest_snapshots(&history, "iam_users", None)[1].run_id,
            third.run_id
        );
        assert!(latest_snapshots(&history, "iam_roles", None).is_empty());
    }
}
