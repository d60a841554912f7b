//! Derived tables of the Lakewarden lake, computed with Polars over committed snapshots.
//!
//! A job reads the committed snapshot of its input tables as of one run (see
//! [`Snapshot`]) and writes its output tables through the lake writer; the binary commits
//! them with a commit object of their own, so a rerun over the same run replaces them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use lakewarden_lake::{
    CommonColumns, Lake, LakeError, RowEncoder, RunInfo, TableOutput, TableWriter,
};
use serde::Serialize;

pub mod changes;
mod checks;
pub mod compliance;
mod config_items;
pub mod custom;
mod frame;
mod posture;
pub mod risk;
mod snapshot;
#[cfg(test)]
mod testing;

pub use checks::{Outcome, Status};
pub use frame::Frame;
pub use snapshot::Snapshot;

/// What the jobs read of `securityhub_findings`: every column but the raw JSON `finding`
/// and a few no job uses, so the findings are read once (one cached frame) and the
/// largest column is never decoded. Custom controls read the whole table.
pub(crate) const FINDING_COLUMNS: &[&str] = &[
    "run_id",
    "account_id",
    "region",
    "finding_id",
    "product_name",
    "generator_id",
    "title",
    "severity_label",
    "workflow_status",
    "record_state",
    "compliance_status",
    "security_control_id",
    "associated_standards",
    "resources",
];

/// What a job is given: the lake, the extract run whose snapshot it describes, and the
/// `[jobs]` section of the config. Its output rows carry that run's id and snapshot time.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub lake: Lake,
    pub run: RunInfo,
    pub options: std::sync::Arc<JobsOptions>,
    /// The accounts the run covered. A job writes snapshots for these alone: jobs over a
    /// run that read some accounts (an import of one account's files, a shard) must not
    /// replace the snapshots of the others with rows computed from older data.
    pub accounts: std::collections::BTreeSet<String>,
}

/// The `[jobs]` section of the config: what the jobs read besides the lake. Every field
/// has a default, and an unknown field is an error.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsOptions {
    /// A folder of custom controls: `*.sql` files, each one query run in Polars' SQL
    /// context over the committed snapshot that returns the columns of
    /// [`custom::COLUMNS`]. Their rows join `compliance_results` (framework `custom`). A
    /// relative path is taken from the working directory. None: no custom controls.
    pub custom_controls: Option<std::path::PathBuf>,
    /// Changes to the risk job's default model (`controls/risk.toml`): factor weights,
    /// privilege-escalation sets, sensitivity tags, toxic rules, organisation accounts.
    pub risk: risk::RiskOptions,
}

/// What went wrong in a job, naming the job and table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    #[error("run {run_id} has no commit in the lake")]
    RunNotCommitted { run_id: String },
    #[error("control catalogue {file}: {message}")]
    Catalogue { file: &'static str, message: String },
    #[error("job {job}, table {table}: {source}")]
    Polars {
        job: &'static str,
        table: String,
        #[source]
        source: Box<polars::error::PolarsError>,
    },
    #[error("custom control {file}: {message}")]
    CustomControl { file: String, message: String },
    #[error("job {job}: {source}")]
    Lake {
        job: &'static str,
        #[source]
        source: Box<LakeError>,
    },
}

/// One output file set of a job: a table's snapshot for one account and region.
#[derive(Debug, Clone)]
pub struct JobOutput {
    pub table: String,
    pub account_id: String,
    pub region: String,
    pub output: TableOutput,
}

/// A derived table computation.
#[async_trait]
pub trait Job: Send + Sync {
    fn name(&self) -> &'static str;

    /// Tables the job writes.
    fn outputs(&self) -> &'static [&'static str];

    /// Compute and write the outputs for one committed run; the caller commits them.
    async fn run(
        &self,
        ctx: &JobContext,
        snapshot: &mut Snapshot,
    ) -> Result<Vec<JobOutput>, JobError>;
}

/// The compliance job: `compliance_results` and `compliance_summary`.
#[derive(Debug, Default)]
pub struct ComplianceJob;

#[async_trait]
impl Job for ComplianceJob {
    fn name(&self) -> &'static str {
        "compliance"
    }

    fn outputs(&self) -> &'static [&'static str] {
        &[compliance::RESULTS, compliance::SUMMARY]
    }

    async fn run(
        &self,
        ctx: &JobContext,
        snapshot: &mut Snapshot,
    ) -> Result<Vec<JobOutput>, JobError> {
        let mut results = compliance::evaluate(snapshot).await?;
        if let Some(dir) = &ctx.options.custom_controls {
            // Each failed file is logged and scored UNKNOWN; the job itself goes on.
            let failed = custom::evaluate(dir, snapshot, &mut results).await;
            if !failed.is_empty() {
                tracing::warn!(failed = failed.len(), dir = %dir.display(), "Custom controls failed");
            }
        }
        // One summary per account, over every region's results.
        let mut by_account: BTreeMap<String, Vec<compliance::ResultRow>> = BTreeMap::new();
        for ((account, _region), rows) in &results {
            by_account
                .entry(account.clone())
                .or_default()
                .extend(rows.iter().cloned());
        }
        let summaries: BTreeMap<(String, String), Vec<compliance::SummaryRow>> = by_account
            .into_iter()
            .map(|(account, rows)| ((account, "global".to_owned()), compliance::summarise(&rows)))
            .collect();
        let frame = compliance::results_frame(&results).map_err(|source| JobError::Polars {
            job: "compliance",
            table: compliance::RESULTS.to_owned(),
            source: Box::new(source),
        })?;
        let mut outputs = write_rows(ctx, self.name(), compliance::RESULTS, &results).await?;
        snapshot.hand_over(frame);
        outputs.extend(write_rows(ctx, self.name(), compliance::SUMMARY, &summaries).await?);
        Ok(outputs)
    }
}

/// The risk job: `risk_resources`, `risk_identities` and `risk_images`.
#[derive(Debug, Default)]
pub struct RiskJob;

#[async_trait]
impl Job for RiskJob {
    fn name(&self) -> &'static str {
        "risk"
    }

    fn outputs(&self) -> &'static [&'static str] {
        &[risk::RESOURCES, risk::IDENTITIES, risk::IMAGES]
    }

    async fn run(
        &self,
        ctx: &JobContext,
        snapshot: &mut Snapshot,
    ) -> Result<Vec<JobOutput>, JobError> {
        let model = risk::RiskModel::resolve(&ctx.options.risk)?;
        let rows = risk::evaluate(snapshot, &model).await?;
        let mut outputs = write_rows(ctx, self.name(), risk::RESOURCES, &rows.resources).await?;
        outputs.extend(write_rows(ctx, self.name(), risk::IDENTITIES, &rows.identities).await?);
        outputs.extend(write_rows(ctx, self.name(), risk::IMAGES, &rows.images).await?);
        Ok(outputs)
    }
}

/// The changes job: `changes_resources`, `changes_findings` and `changes_controls`,
/// this run's snapshot against the one before it. It runs after the compliance job,
/// whose results it compares.
#[derive(Debug, Default)]
pub struct ChangesJob;

#[async_trait]
impl Job for ChangesJob {
    fn name(&self) -> &'static str {
        "changes"
    }

    fn outputs(&self) -> &'static [&'static str] {
        &[changes::RESOURCES, changes::FINDINGS, changes::CONTROLS]
    }

    async fn run(
        &self,
        ctx: &JobContext,
        snapshot: &mut Snapshot,
    ) -> Result<Vec<JobOutput>, JobError> {
        let resources = changes::resources(snapshot).await?;
        let findings = changes::findings(snapshot).await?;
        let mut outputs = write_rows(ctx, self.name(), changes::RESOURCES, &resources).await?;
        outputs.extend(write_rows(ctx, self.name(), changes::FINDINGS, &findings).await?);
        match changes::controls(snapshot).await? {
            Some(controls) => {
                outputs.extend(write_rows(ctx, self.name(), changes::CONTROLS, &controls).await?);
            }
            None => tracing::warn!(
                table = changes::CONTROLS,
                "No compliance results were computed in this jobs run; control changes are not written"
            ),
        }
        Ok(outputs)
    }
}

/// Every job, in the order they run.
pub fn jobs() -> Vec<Box<dyn Job>> {
    vec![
        Box::new(ComplianceJob),
        Box::new(RiskJob),
        Box::new(ChangesJob),
    ]
}

/// Write a job's rows, one snapshot per account and region.
pub async fn write_rows<T: Serialize>(
    ctx: &JobContext,
    job: &'static str,
    table: &str,
    groups: &BTreeMap<(String, String), Vec<T>>,
) -> Result<Vec<JobOutput>, JobError> {
    let lake_err = |source| JobError::Lake {
        job,
        source: Box::new(source),
    };
    let mut encoder = RowEncoder::new(ctx.lake.catalog(), table).map_err(lake_err)?;
    let mut outputs = Vec::new();
    for ((account_id, region), rows) in groups {
        if !ctx.accounts.contains(account_id) {
            tracing::debug!(
                job,
                table,
                account_id,
                "Not written: the run did not cover the account"
            );
            continue;
        }
        let common = CommonColumns {
            run_id: ctx.run.run_id.clone(),
            snapshot_at: ctx.run.snapshot_millis(),
            account_id: account_id.clone(),
            region: region.clone(),
        };
        let batch = encoder.encode_with(&common, rows).map_err(lake_err)?;
        let mut writer =
            TableWriter::new(&ctx.lake, table, account_id, &ctx.run).map_err(lake_err)?;
        writer.write(batch).await.map_err(lake_err)?;
        let output = writer.finish().await.map_err(lake_err)?;
        outputs.push(JobOutput {
            table: table.to_owned(),
            account_id: account_id.clone(),
            region: region.clone(),
            output,
        });
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use lakewarden_lake::Lake;
    use object_store::memory::InMemory;
    use object_store::path::Path;

    use super::*;

    #[test]
    fn jobs_options_name_the_custom_controls_folder_and_refuse_unknown_fields() {
        let options: JobsOptions =
            toml::from_str("custom_controls = \"controls/custom-examples\"\n").expect("parses");
        assert_eq!(
            options.custom_controls,
            Some(PathBuf::from("controls/custom-examples"))
        );
        let default: JobsOptions = toml::from_str("").expect("empty section");
        assert_eq!(default.custom_controls, None);
        let error =
            toml::from_str::<JobsOptions>("custom_control = \"x\"\n").expect_err("unknown field");
        assert!(error.to_string().contains("custom_control"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn jobs_over_a_run_write_no_snapshot_for_accounts_it_did_not_cover() {
        let lake =
            Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake");
        let ctx = JobContext {
            lake,
            run: RunInfo::start(chrono::Utc::now()),
            options: Arc::default(),
            accounts: ["012345678901".to_owned()].into(),
        };
        let row = |control: &str| compliance::SummaryRow {
            framework: "aws-securityhub".into(),
            framework_version: String::new(),
            control_id: Some(control.into()),
            passed: 1,
            failed: 0,
            unknown: 0,
            not_applicable: 0,
            score: Some(100.0),
        };
        let groups = BTreeMap::from([
            (("012345678901".into(), "global".into()), vec![row("IAM.1")]),
            (("111111111111".into(), "global".into()), vec![row("IAM.2")]),
        ]);
        let outputs = write_rows(&ctx, "test", compliance::SUMMARY, &groups)
            .await
            .expect("written");
        let written: Vec<&str> = outputs.iter().map(|o| o.account_id.as_str()).collect();
        assert_eq!(written, ["012345678901"]);
    }
}
