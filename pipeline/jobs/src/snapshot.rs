//! The committed snapshot a job reads: for each input table, the newest usable snapshot of
//! every account and region as of one committed run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use lakewarden_lake::{CommitEntry, Lake, commit_history, latest_snapshots, read_object};
use object_store::path::Path;
use polars::prelude::*;

use crate::{Frame, JobError};

/// What the jobs of one run see.
#[derive(Debug)]
pub struct Snapshot {
    lake: Lake,
    history: Vec<CommitEntry>,
    /// The run whose state the jobs describe.
    pub run_id: String,
    pub snapshot_at: i64,
    /// The shard of the run: the jobs' outputs belong to the same slice of accounts.
    pub shard: String,
    as_of: i64,
    /// Accounts the run covered (it has a commit row for them, usable or not).
    pub accounts: BTreeSet<String>,
    frames: BTreeMap<&'static str, Option<Frame>>,
}

impl Snapshot {
    /// The state of the lake as of a committed run.
    pub async fn as_of_run(lake: &Lake, run_id: &str) -> Result<Self, JobError> {
        let history = commit_history(lake)
            .await
            .map_err(|source| JobError::Lake {
                job: "snapshot",
                source: Box::new(source),
            })?;
        let own: Vec<&CommitEntry> = history.iter().filter(|r| r.run_id == run_id).collect();
        let Some(first) = own.first() else {
            return Err(JobError::RunNotCommitted {
                run_id: run_id.to_owned(),
            });
        };
        let snapshot_at = first.snapshot_at;
        let shard = first.shard.clone();
        let as_of = own
            .iter()
            .map(|r| r.committed_at)
            .max()
            .unwrap_or(first.committed_at);
        let accounts = own
            .iter()
            .filter(|r| r.table.starts_with("iam_") || !r.table.starts_with("lake_"))
            .map(|r| r.account_id.clone())
            .collect();
        Ok(Self {
            lake: lake.clone(),
            run_id: run_id.to_owned(),
            snapshot_at,
            shard,
            as_of,
            accounts,
            history,
            frames: BTreeMap::new(),
        })
    }

    /// Whether the table's snapshot for the account is usable as of this run.
    pub fn covered(&self, table: &str, account_id: &str) -> bool {
        latest_snapshots(&self.history, table, Some(self.as_of))
            .iter()
            .any(|s| s.account_id == account_id)
    }

    /// The table across every account that has a usable snapshot; `None` when none has.
    pub async fn frame(&mut self, table: &'static str) -> Result<Option<Frame>, JobError> {
        if let Some(frame) = self.frames.get(table) {
            return Ok(frame.clone());
        }
        let snapshots = latest_snapshots(&self.history, table, Some(self.as_of));
        let mut frames = Vec::new();
        for snapshot in snapshots {
            for file in &snapshot.files {
                let bytes = read_object(&self.lake, &Path::from(file.as_str()))
                    .await
                    .map_err(|source| JobError::Lake {
                        job: "snapshot",
                        source: Box::new(source),
                    })?;
                let df = ParquetReader::new(Cursor::new(bytes.to_vec()))
                    .finish()
                    .map_err(|source| JobError::Polars {
                        job: "snapshot",
                        table: table.to_owned(),
                        source: Box::new(source),
                    })?;
                frames.push(df.lazy());
            }
        }
        let frame = if frames.is_empty() {
            None
        } else {
            let df = concat(frames, UnionArgs::default())
                .and_then(|lf| lf.collect())
                .map_err(|source| JobError::Polars {
                    job: "snapshot",
                    table: table.to_owned(),
                    source: Box::new(source),
                })?;
            Some(Frame { table, df })
        };
        self.frames.insert(table, frame.clone());
        Ok(frame)
    }
}
