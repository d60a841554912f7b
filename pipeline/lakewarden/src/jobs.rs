//! Running the jobs over a committed run and committing their outputs.

use anyhow::Context;
use lakewarden_jobs::{JobContext, JobsOptions, Snapshot, jobs};
use lakewarden_lake::{CommitRow, Lake, RunInfo, commit_as, format_dt};
use tracing::Instrument;

/// What the jobs of one run produced.
#[derive(Debug, Clone, Default)]
pub struct JobsSummary {
    pub run_id: String,
    pub tables: usize,
    pub rows: u64,
    pub failed_jobs: Vec<String>,
    pub commit: Option<String>,
}

/// Run every job over the committed snapshot of `run_id` and commit the outputs under a
/// commit object of their own. Rerunning over the same run gives the same rows and a
/// newer commit, which the views then show.
pub async fn run_jobs(
    lake: &Lake,
    options: &JobsOptions,
    run_id: &str,
) -> anyhow::Result<JobsSummary> {
    let span = tracing::info_span!("jobs", run_id);
    async {
        let mut snapshot = Snapshot::as_of_run(lake, run_id)
            .await
            .with_context(|| format!("reading the committed snapshot of run {run_id}"))?;
        let snapshot_at = chrono::DateTime::from_timestamp_millis(snapshot.snapshot_at)
            .context("the run's snapshot time is out of range")?;
        let run = RunInfo {
            run_id: run_id.to_owned(),
            snapshot_at,
            dt: format_dt(snapshot_at),
            shard: snapshot.shard.clone(),
        };
        // Limitation: a rerun writes the same file names as the run's first jobs commit
        // and so replaces those files (atomically, and with the same rows while the code
        // is the same), because the views pick a snapshot by run id, and two file sets
        // under one run id would both be read.
        let ctx = JobContext {
            lake: lake.clone(),
            run: run.clone(),
            options: std::sync::Arc::new(options.clone()),
            accounts: snapshot.accounts.clone(),
        };
        let mut summary = JobsSummary {
            run_id: run_id.to_owned(),
            ..Default::default()
        };
        let mut rows = Vec::new();
        let committed_at = chrono::Utc::now().timestamp_millis();
        let row = |table: &str, account: &str, region: &str| CommitRow {
            committed_at,
            run_summary: "{}".to_owned(),
            ..CommitRow::new(&run, table, account, region)
        };
        for job in jobs() {
            let span = tracing::info_span!("job", job = job.name());
            let started = std::time::Instant::now();
            let result = job.run(&ctx, &mut snapshot).instrument(span).await;
            let rows_out: u64 = result.iter().flatten().map(|out| out.output.rows).sum();
            // One line per job with its wall time: `make bench` reads these.
            tracing::info!(
                job = job.name(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                rows = rows_out,
                ok = result.is_ok(),
                "Job finished"
            );
            match result {
                Ok(outputs) => {
                    for out in outputs {
                        tracing::info!(job = job.name(), table = %out.table, account_id = %out.account_id, rows = out.output.rows, "Job table written");
                        summary.tables += 1;
                        summary.rows += out.output.rows;
                        rows.push(row(&out.table, &out.account_id, &out.region).written(&out.output));
                    }
                }
                Err(error) => {
                    tracing::error!(job = job.name(), %error, "Job failed; its tables keep their previous snapshot");
                    summary.failed_jobs.push(format!("{}: {error}", job.name()));
                    for table in job.outputs() {
                        for account in &snapshot.accounts {
                            rows.push(row(table, account, "global").failed(error.to_string()));
                        }
                    }
                }
            }
        }
        anyhow::ensure!(!rows.is_empty(), "the jobs wrote nothing for run {run_id}");
        let name = format!("{run_id}.jobs-{}", uuid_suffix());
        let commit = commit_as(lake, &run, &name, &rows)
            .await
            .context("writing the jobs' commit record")?;
        tracing::info!(commit = %commit, tables = summary.tables, "Jobs committed");
        summary.commit = Some(commit);
        Ok(summary)
    }
    .instrument(span)
    .await
}

fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:08x}", (nanos as u64) ^ u64::from(std::process::id()))
}
