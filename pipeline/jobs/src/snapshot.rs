//! The committed snapshot a job reads: for each input table, the newest usable snapshot of
//! every account and region as of one committed run, the snapshot before it (for the
//! changes job), and the frames earlier jobs of the same jobs run handed over.

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
    /// Frames of some columns of a table, by table and columns.
    projected: BTreeMap<(&'static str, &'static [&'static str]), Option<Frame>>,
    handed: BTreeMap<&'static str, Frame>,
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
        // As of the run's own data, not of the jobs' commits over it: jobs rerun after a
        // later run committed would otherwise read that run's snapshots as this run's.
        let outputs: BTreeSet<&str> = crate::jobs()
            .iter()
            .flat_map(|job| job.outputs().iter().copied())
            .collect();
        let as_of = own
            .iter()
            .filter(|r| !outputs.contains(r.table.as_str()))
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
            projected: BTreeMap::new(),
            handed: BTreeMap::new(),
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
        let frame = self.read(table, &snapshots).await?;
        self.frames.insert(table, frame.clone());
        Ok(frame)
    }

    /// Like [`frame`](Self::frame), with only `columns` read from the files. A job that
    /// needs a few columns of a table with a large one (the raw JSON `finding` of
    /// `securityhub_findings`) reads these, so the large column is never decoded.
    pub async fn columns(
        &mut self,
        table: &'static str,
        columns: &'static [&'static str],
    ) -> Result<Option<Frame>, JobError> {
        if let Some(frame) = self.projected.get(&(table, columns)) {
            return Ok(frame.clone());
        }
        let snapshots = latest_snapshots(&self.history, table, Some(self.as_of));
        let frame = self.read_columns(table, &snapshots, Some(columns)).await?;
        self.projected.insert((table, columns), frame.clone());
        Ok(frame)
    }

    /// Accounts and regions whose current snapshot of `table` this run wrote, as
    /// (account, region). A table the run did not write keeps an older run's snapshot,
    /// whose changes that older run's jobs already reported.
    pub fn written_by_run(&self, table: &str) -> BTreeSet<(String, String)> {
        latest_snapshots(&self.history, table, Some(self.as_of))
            .into_iter()
            .filter(|s| s.run_id == self.run_id)
            .map(|s| (s.account_id.clone(), s.region.clone()))
            .collect()
    }

    /// For each account and region, the newest usable snapshot of `table` from a run that
    /// started before this one (and committed no later than this run's snapshot is read
    /// as of): what this run is compared with. Empty for the first snapshot.
    pub fn previous_snapshots(&self, table: &str) -> Vec<CommitEntry> {
        let older: Vec<CommitEntry> = self
            .history
            .iter()
            .filter(|r| r.snapshot_at < self.snapshot_at)
            .cloned()
            .collect();
        latest_snapshots(&older, table, Some(self.as_of))
            .into_iter()
            .cloned()
            .collect()
    }

    /// The rows of these committed snapshots of `table`, as one frame; `None` when they
    /// have no files.
    pub async fn read(
        &self,
        table: &'static str,
        snapshots: &[impl std::borrow::Borrow<CommitEntry>],
    ) -> Result<Option<Frame>, JobError> {
        self.read_columns(table, snapshots, None).await
    }

    /// The rows of these committed snapshots of `table`, only `columns` of them when
    /// given, as one frame; `None` when they have no files.
    pub async fn read_columns(
        &self,
        table: &'static str,
        snapshots: &[impl std::borrow::Borrow<CommitEntry>],
        columns: Option<&[&str]>,
    ) -> Result<Option<Frame>, JobError> {
        let polars_err = |source| JobError::Polars {
            job: "snapshot",
            table: table.to_owned(),
            source: Box::new(source),
        };
        let mut frames = Vec::new();
        for snapshot in snapshots {
            for file in &snapshot.borrow().files {
                let bytes = read_object(&self.lake, &Path::from(file.as_str()))
                    .await
                    .map_err(|source| JobError::Lake {
                        job: "snapshot",
                        source: Box::new(source),
                    })?;
                let df = ParquetReader::new(Cursor::new(bytes))
                    .with_columns(columns.map(|c| c.iter().map(|c| (*c).to_owned()).collect()))
                    .finish()
                    .map_err(polars_err)?;
                frames.push(df.lazy());
            }
        }
        if frames.is_empty() {
            return Ok(None);
        }
        // One chunk per column, not one per file: the jobs take each account's rows by
        // position, which is slow across the thousand chunks of a wide organisation.
        let mut df = concat(frames, UnionArgs::default())
            .and_then(|lf| lf.collect())
            .map_err(polars_err)?;
        df.rechunk_mut_par();
        Ok(Some(Frame { table, df }))
    }

    /// Hand a table an earlier job computed to the jobs after it. The jobs of one run are
    /// committed together once every job has finished, so a later job cannot read an
    /// earlier job's output back from the lake (it would find the previous run's), and
    /// computing it again would do the work twice and could disagree with what is
    /// written. The frame handed over is exactly what the earlier job writes.
    pub fn hand_over(&mut self, frame: Frame) {
        self.handed.insert(frame.table, frame);
    }

    /// A table an earlier job of this jobs run handed over; `None` when that job did not
    /// run or failed.
    pub fn handed(&self, table: &str) -> Option<&Frame> {
        self.handed.get(table)
    }
}
