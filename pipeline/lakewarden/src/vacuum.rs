//! `lakewarden vacuum`: remove what no reader will ever use again. The main type is
//! [`VacuumPlan`]: first a plan, printed, then (with `--apply`) its removal.
//!
//! Two kinds of files go:
//!
//! - **Uncommitted** data files: under a table's `dt=` partitions, named by no commit
//!   record, and last modified longer ago than the safety window (24 h by default), so
//!   the files a live run is writing stay.
//! - **Expired** runs: a run's commit object and every file it names, once each of its
//!   commit rows is expired. A row (a table, account and region of one run) expires when
//!   its snapshot is older than the retention and a newer committed `ok` snapshot of the
//!   same table, account and region exists, or when it is a `failed` row older than the
//!   retention. The newest good snapshot of every table, account and region is therefore
//!   kept however old, and the views never lose a table. Commit objects are removed whole,
//!   never rewritten: a reader that holds a commit object sees it complete or not at all.
//!   The commit object goes first and its data files after, so a crash in between leaves
//!   only uncommitted files, which the next vacuum removes.
//!
//! Never touched: the `dt=1970-01-01` schema files, the lease, and any object outside the
//! lake's layout. Takeover markers of the lease (`_lakewarden/takeover/`) older than the
//! safety window are removed.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use lakewarden_lake::Lake;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// What a vacuum considers, besides the lake.
#[derive(Debug, Clone)]
pub struct VacuumOptions {
    /// Snapshots younger than this are kept.
    pub retain: chrono::Duration,
    /// Uncommitted files and takeover markers younger than this are kept.
    pub safety_window: chrono::Duration,
    pub now: DateTime<Utc>,
}

/// Why an object is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The commit object of an expired run.
    ExpiredCommit,
    /// A data file of an expired run.
    Expired,
    /// A data file no commit names, older than the safety window.
    Uncommitted,
    /// A lease takeover marker older than the safety window.
    StaleMarker,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExpiredCommit => "expired-commit",
            Self::Expired => "expired",
            Self::Uncommitted => "uncommitted",
            Self::StaleMarker => "stale-marker",
        }
    }
}

/// One object to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub path: String,
    pub bytes: u64,
    pub reason: Reason,
}

/// Everything one vacuum would remove, in the order it removes it.
#[derive(Debug, Default)]
pub struct VacuumPlan {
    pub removals: Vec<Removal>,
    /// Runs whose commit is kept.
    pub kept_runs: BTreeSet<String>,
    /// Runs that expire.
    pub expired_runs: BTreeSet<String>,
    /// Commit objects that could not be read: their runs' files are all kept.
    pub unreadable_commits: Vec<String>,
}

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct VacuumReport {
    pub removed: usize,
    pub bytes: u64,
    /// Objects that could not be removed, with the error.
    pub failed: Vec<(String, String)>,
}

/// Errors of the vacuum as a whole (a single object that fails is reported, not raised).
#[derive(Debug)]
pub struct VacuumError(String);

impl std::fmt::Display for VacuumError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VacuumError {}

/// One row of a commit object, the part vacuum needs.
#[derive(Debug, Clone)]
struct CommitEntry {
    run_id: String,
    snapshot_at: i64,
    key: (String, String, String),
    ok: bool,
    files: Vec<String>,
}

/// Look at every object of the lake and decide what goes.
pub async fn plan(lake: &Lake, options: &VacuumOptions) -> Result<VacuumPlan, VacuumError> {
    let root = lake.layout().root().clone();
    let prefix = (!root.as_ref().is_empty()).then_some(&root);
    let objects: Vec<ObjectMeta> = lake
        .store()
        .list(prefix)
        .try_collect()
        .await
        .map_err(|e| VacuumError(format!("listing the lake {}: {e}", lake.url())))?;

    let mut commits = Vec::new();
    let mut data = Vec::new();
    let mut markers = Vec::new();
    for object in objects {
        match classify(&root, &object.location) {
            Kind::Commit => commits.push(object),
            Kind::Data => data.push(object),
            Kind::Marker => markers.push(object),
            Kind::Other => {}
        }
    }

    let mut plan = VacuumPlan::default();
    let mut runs: BTreeMap<String, (ObjectMeta, Vec<CommitEntry>)> = BTreeMap::new();
    let mut protected_runs = BTreeSet::new();
    for commit in commits {
        let run_id = file_stem(&commit.location);
        match read_commit(lake, &commit.location).await {
            Ok(entries) => {
                runs.insert(run_id, (commit, entries));
            }
            Err(error) => {
                tracing::error!(commit = %commit.location, %error, "Commit object unreadable; its run's files are kept");
                plan.unreadable_commits.push(commit.location.to_string());
                protected_runs.insert(run_id);
            }
        }
    }

    let cutoff = (options.now - options.retain).timestamp_millis();
    let mut newest_ok: BTreeMap<&(String, String, String), i64> = BTreeMap::new();
    for (_, entries) in runs.values() {
        for entry in entries.iter().filter(|e| e.ok) {
            let newest = newest_ok.entry(&entry.key).or_insert(entry.snapshot_at);
            *newest = (*newest).max(entry.snapshot_at);
        }
    }
    let expired_entry = |e: &CommitEntry| {
        e.snapshot_at < cutoff
            && (!e.ok || newest_ok.get(&e.key).is_some_and(|&n| n > e.snapshot_at))
    };

    let sizes: BTreeMap<String, u64> = data
        .iter()
        .map(|o| (o.location.to_string(), o.size))
        .collect();
    let mut committed_files = BTreeSet::new();
    for (run_id, (commit, entries)) in &runs {
        let files = entries.iter().flat_map(|e| e.files.iter().cloned());
        if !entries.is_empty() && entries.iter().all(expired_entry) {
            plan.expired_runs.insert(run_id.clone());
            plan.removals.push(Removal {
                path: commit.location.to_string(),
                bytes: commit.size,
                reason: Reason::ExpiredCommit,
            });
            let files: BTreeSet<String> = files.collect();
            for file in files {
                if let Some(&bytes) = sizes.get(&file) {
                    plan.removals.push(Removal {
                        path: file.clone(),
                        bytes,
                        reason: Reason::Expired,
                    });
                }
                committed_files.insert(file);
            }
        } else {
            plan.kept_runs.insert(run_id.clone());
            committed_files.extend(files);
        }
    }

    let window = (options.now - options.safety_window).timestamp_millis();
    for object in &data {
        let path = object.location.to_string();
        let run_id = data_file_run(&object.location);
        if committed_files.contains(&path)
            || run_id.is_some_and(|r| protected_runs.contains(&r))
            || object.last_modified.timestamp_millis() >= window
        {
            continue;
        }
        plan.removals.push(Removal {
            path,
            bytes: object.size,
            reason: Reason::Uncommitted,
        });
    }
    for marker in markers {
        if marker.last_modified.timestamp_millis() < window {
            plan.removals.push(Removal {
                path: marker.location.to_string(),
                bytes: marker.size,
                reason: Reason::StaleMarker,
            });
        }
    }
    // A file can be named by several commits of one run (its extract and its jobs);
    // list each once.
    let mut seen = BTreeSet::new();
    plan.removals.retain(|r| seen.insert(r.path.clone()));
    Ok(plan)
}

/// Remove what the plan names, in its order. An object that cannot be removed is
/// reported and the others still go.
pub async fn apply(lake: &Lake, plan: &VacuumPlan) -> VacuumReport {
    let mut report = VacuumReport::default();
    for removal in &plan.removals {
        let path = Path::from(removal.path.as_str());
        match lake.store().delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                report.removed += 1;
                report.bytes += removal.bytes;
            }
            Err(error) => {
                tracing::error!(path = %removal.path, %error, "Could not remove; the others go on");
                report
                    .failed
                    .push((removal.path.clone(), error.to_string()));
            }
        }
    }
    report
}

enum Kind {
    Commit,
    Data,
    Marker,
    Other,
}

fn classify(root: &Path, location: &Path) -> Kind {
    let parts: Vec<_> = match location.prefix_match(root) {
        Some(parts) => parts.map(|p| p.as_ref().to_owned()).collect(),
        None => return Kind::Other,
    };
    let names: Vec<&str> = parts.iter().map(String::as_str).collect();
    match names.as_slice() {
        // The unsharded lease's markers, and each shard lease's in a folder of its own.
        ["_lakewarden", "takeover", _] | ["_lakewarden", "takeover", _, _] => Kind::Marker,
        [_, "dt=1970-01-01", ..] => Kind::Other,
        ["lake_runs", dt, file] if dt.starts_with("dt=") && file.ends_with(".parquet") => {
            Kind::Commit
        }
        [table, dt, rest @ ..]
            if !table.starts_with('_')
                && dt.starts_with("dt=")
                && matches!(rest, [file] | [_, file] if file.ends_with(".parquet"))
                && (rest.len() == 1 || rest[0].starts_with("account_id=")) =>
        {
            Kind::Data
        }
        _ => Kind::Other,
    }
}

fn file_stem(location: &Path) -> String {
    let name = location.filename().unwrap_or_default();
    name.strip_suffix(".parquet").unwrap_or(name).to_owned()
}

/// The run a data file belongs to: its name is `<run_id>-<n>.parquet`.
fn data_file_run(location: &Path) -> Option<String> {
    let stem = file_stem(location);
    // `<run_id>-<n>` for extracted data, `<run_id>.jobs-<id>-<n>` for the jobs' outputs.
    let run = stem.rsplit_once('-').map(|(run, _)| run)?;
    Some(
        run.split_once(".jobs-")
            .map_or(run, |(run, _)| run)
            .to_owned(),
    )
}

async fn read_commit(lake: &Lake, location: &Path) -> Result<Vec<CommitEntry>, String> {
    let bytes = lake
        .store()
        .get(location)
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        entries.extend(commit_entries(&batch)?);
    }
    Ok(entries)
}

fn commit_entries(batch: &RecordBatch) -> Result<Vec<CommitEntry>, String> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| format!("no column {name}"))
    };
    let text = |name: &str| -> Result<Vec<String>, String> {
        let array = arrow::compute::cast(&column(name)?, &DataType::Utf8)
            .map_err(|e| format!("column {name}: {e}"))?;
        let array = array.as_string::<i32>();
        Ok((0..array.len())
            .map(|i| {
                if array.is_valid(i) {
                    array.value(i).to_owned()
                } else {
                    String::new()
                }
            })
            .collect())
    };
    let run_ids = text("run_id")?;
    let tables = text("table_name")?;
    let accounts = text("account_id")?;
    let regions = text("region")?;
    let statuses = text("status")?;
    let snapshots = arrow::compute::cast(&column("snapshot_at")?, &DataType::Int64)
        .map_err(|e| format!("column snapshot_at: {e}"))?;
    let snapshots = snapshots.as_primitive::<Int64Type>();
    let files = column("files")?;
    let files = files
        .as_list_opt::<i32>()
        .ok_or_else(|| "column files is not a list".to_owned())?;

    let mut entries = Vec::new();
    for i in 0..batch.num_rows() {
        let names = files.value(i);
        let names = names.as_string::<i32>();
        entries.push(CommitEntry {
            run_id: run_ids[i].clone(),
            snapshot_at: snapshots.value(i),
            key: (tables[i].clone(), accounts[i].clone(), regions[i].clone()),
            ok: statuses[i] == "ok",
            files: (0..names.len())
                .filter(|&j| names.is_valid(j))
                .map(|j| names.value(j).to_owned())
                .collect(),
        });
    }
    entries.retain(|e| !e.run_id.is_empty());
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lakewarden_lake::{CommitRow, RunInfo, TableStatus, commit_run};
    use object_store::memory::InMemory;

    use super::*;

    const ACCOUNT: &str = "012345678901";

    /// A committed run of `tables` (name, ok) `days_ago`, each with one data file.
    async fn committed(
        lake: &Lake,
        days_ago: i64,
        tables: &[(&str, bool)],
    ) -> (String, Vec<String>) {
        let run = RunInfo::start(Utc::now() - chrono::Duration::days(days_ago));
        let mut rows = Vec::new();
        let mut files = Vec::new();
        for (table, ok) in tables {
            let mut row_files = Vec::new();
            if *ok {
                let path = lake
                    .layout()
                    .data_file(table, &run.dt, ACCOUNT, &run.run_id, 0);
                lake.store().put(&path, "data".into()).await.expect("put");
                row_files.push(path.to_string());
            }
            files.extend(row_files.iter().cloned());
            rows.push(CommitRow {
                run_id: run.run_id.clone(),
                snapshot_at: run.snapshot_millis(),
                committed_at: run.snapshot_millis(),
                table_name: (*table).to_owned(),
                account_id: ACCOUNT.to_owned(),
                region: "global".to_owned(),
                status: if *ok {
                    TableStatus::Ok
                } else {
                    TableStatus::Failed
                },
                files: row_files,
                rows: 1,
                bytes: 4,
                error: None,
                shard: "1/1".to_owned(),
                lakewarden_version: "test".to_owned(),
                run_summary: "{}".to_owned(),
            });
        }
        let commit = commit_run(lake, &run, &rows).await.expect("commit");
        files.insert(0, commit);
        (run.run_id, files)
    }

    #[tokio::test]
    async fn the_newest_good_snapshot_of_every_table_is_kept_however_old() {
        let lake =
            Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake");
        lake.ensure_schema_files().await.expect("schema files");
        let options = VacuumOptions {
            retain: chrono::Duration::days(3),
            safety_window: chrono::Duration::hours(1),
            now: Utc::now(),
        };
        let (r1, r1_files) =
            committed(&lake, 10, &[("iam_users", true), ("iam_roles", true)]).await;
        let (r2, r2_files) =
            committed(&lake, 5, &[("iam_users", true), ("iam_roles", false)]).await;
        // A fresh file of a run still writing: younger than the safety window.
        let live = lake
            .layout()
            .data_file("iam_users", "2026-12-04", ACCOUNT, "live", 0);
        lake.store().put(&live, "data".into()).await.expect("put");

        // R1 still holds the only good iam_roles snapshot, so nothing expires yet.
        let first = plan(&lake, &options).await.expect("plan");
        assert!(first.removals.is_empty(), "{:?}", first.removals);
        assert_eq!(first.kept_runs, BTreeSet::from([r1.clone(), r2.clone()]));

        let (r3, _) = committed(&lake, 1, &[("iam_users", true), ("iam_roles", true)]).await;
        let second = plan(&lake, &options).await.expect("plan");
        assert_eq!(
            second.expired_runs,
            BTreeSet::from([r1.clone(), r2.clone()])
        );
        assert_eq!(second.kept_runs, BTreeSet::from([r3]));
        let removed: Vec<(String, Reason)> = second
            .removals
            .iter()
            .map(|r| (r.path.clone(), r.reason))
            .collect();
        let mut expected = Vec::new();
        for files in [&r1_files, &r2_files] {
            expected.push((files[0].clone(), Reason::ExpiredCommit));
            let mut data: Vec<_> = files[1..].to_vec();
            data.sort();
            expected.extend(data.into_iter().map(|f| (f, Reason::Expired)));
        }
        assert_eq!(removed, expected);

        let report = apply(&lake, &second).await;
        assert_eq!(report.removed, expected.len());
        assert!(report.failed.is_empty());
        let third = plan(&lake, &options).await.expect("plan");
        assert!(third.removals.is_empty(), "{:?}", third.removals);
        lake.store().head(&live).await.expect("the live file stays");
    }

    #[test]
    fn objects_are_classified_by_the_layout() {
        let root = Path::from("lake");
        let kind = |p: &str| match classify(&root, &Path::from(p)) {
            Kind::Commit => "commit",
            Kind::Data => "data",
            Kind::Marker => "marker",
            Kind::Other => "other",
        };
        assert_eq!(kind("lake/lake_runs/dt=2026-12-04/r1.parquet"), "commit");
        assert_eq!(
            kind("lake/lake_runs/dt=1970-01-01/schema-0.parquet"),
            "other"
        );
        assert_eq!(
            kind("lake/iam_users/dt=2026-12-04/account_id=012345678901/r1-0.parquet"),
            "data"
        );
        assert_eq!(
            kind("lake/iam_users/dt=1970-01-01/account_id=000000000000/schema-0.parquet"),
            "other"
        );
        assert_eq!(kind("lake/_lakewarden/lease.json"), "other");
        assert_eq!(kind("lake/_lakewarden/takeover/abc"), "marker");
        assert_eq!(
            kind("lake/_lakewarden/takeover/lease-shard-1-of-2/abc"),
            "marker"
        );
        assert_eq!(kind("lake/notes/readme.txt"), "other");
        assert_eq!(
            kind("lake/iam_users/dt=2026-12-04/other=1/r1-0.parquet"),
            "other"
        );
        assert_eq!(
            kind("elsewhere/iam_users/dt=2026-12-04/r1-0.parquet"),
            "other"
        );
        assert_eq!(
            data_file_run(&Path::from("a/b/20261204T160000Z-abcd1234-3.parquet")).as_deref(),
            Some("20261204T160000Z-abcd1234")
        );
    }
}
