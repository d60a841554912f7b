//! Derived tables of the Lakewarden lake, computed over committed snapshots.
//!
//! A job reads the committed snapshot of its input tables for one run (and the previous
//! one, for changes) and writes its output tables through the same lake writer, to be
//! committed like any extracted table. This crate holds the seam every job implements;
//! the binary registers jobs explicitly and runs them after the extract commit.
//!
//! Limitation: no job is implemented yet, so a run commits extracted tables only.

use async_trait::async_trait;
use lakewarden_lake::{Lake, LakeError, RunInfo, TableOutput};

/// What a job is given: the lake and the committed run to read.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub lake: Lake,
    /// The committed run whose snapshot the job reads; its outputs carry this run too.
    pub run: RunInfo,
}

/// What went wrong in a job, naming the job and table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    #[error("job {job}: input table {table} has no committed snapshot for run {run_id}")]
    MissingInput {
        job: &'static str,
        table: String,
        run_id: String,
    },
    #[error("job {job}: {source}")]
    Lake {
        job: &'static str,
        #[source]
        source: LakeError,
    },
}

/// A derived table computation.
#[async_trait]
pub trait Job: Send + Sync {
    fn name(&self) -> &'static str;

    /// Tables the job reads.
    fn inputs(&self) -> &'static [&'static str];

    /// Tables the job writes.
    fn outputs(&self) -> &'static [&'static str];

    /// Compute the outputs for one committed run; the caller commits what is returned.
    async fn run(&self, ctx: &JobContext) -> Result<Vec<TableOutput>, JobError>;
}
