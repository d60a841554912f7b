//! One run: extract every enabled source for the account, write the coverage and error
//! tables, commit, and report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use lakewarden_extract::{
    CoverageStatus, ExtractError, GLOBAL_REGION, Importer, InputFiles, PartitionedOutput, Rate,
    RateLimits, Scope, Source, SourceContext, SourceOutput, SourceResult, TableResult,
};
use lakewarden_lake::{
    CommitRow, CommonColumns, Lake, RowEncoder, RunInfo, TableStatus, TableWriter, commit_run,
};
use serde::Serialize;
use tracing::Instrument;

use crate::config::{Config, RegionsSpec};
use crate::scope::{
    AccountTarget, Shard, account_regions, account_sdk, in_region, resolve_accounts, verify_account,
};
use futures::StreamExt;

/// How a run ended, as the scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every table of every account and region was committed.
    Complete,
    /// Committed, but some account, region, API or table failed and is recorded.
    Partial,
    /// Nothing was committed.
    Failed,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Complete => 0,
            Self::Partial => 2,
            Self::Failed => 1,
        }
    }
}

/// Options of one run that are not configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Wait this long after the data files are written and before the commit, so that
    /// crash-safety tests can kill the process there.
    pub pause_before_commit: Option<Duration>,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
    /// The slice of the accounts to read.
    pub shard: Shard,
    /// Cancelled on SIGTERM/SIGINT or a lost lease: no new unit of work starts, and the
    /// source in flight is abandoned uncommitted.
    pub cancel: tokio_util::sync::CancellationToken,
}

/// Per-source totals of one run: the summary logged at the end and kept in the commit.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SourceSummary {
    pub accounts: usize,
    pub regions: usize,
    pub rows: u64,
    pub files: usize,
    pub bytes: u64,
    pub tables_failed: usize,
    pub throttles: usize,
    pub api_errors: usize,
    pub row_errors: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub snapshot_at: String,
    pub outcome: &'static str,
    pub sources: BTreeMap<String, SourceSummary>,
    pub commit: Option<String>,
    /// What the jobs did over the committed run; not part of the commit record, which is
    /// written before they run.
    #[serde(skip)]
    pub jobs: Option<Result<crate::jobs::JobsSummary, String>>,
}

/// The sources this binary knows, in the order they run.
pub fn sources(config: &Config) -> Vec<Arc<dyn Source>> {
    let mut sources: Vec<Arc<dyn Source>> = Vec::new();
    if config.sources.iam.enabled {
        sources.push(Arc::new(lakewarden_extract::iam::IamSource::new(
            config.sources.iam.options(),
        )));
    }
    if config.sources.config.enabled {
        sources.push(Arc::new(lakewarden_extract::config::ConfigSource::new(
            config.sources.config.options(),
        )));
    }
    if config.sources.securityhub.enabled {
        sources.push(Arc::new(
            lakewarden_extract::securityhub::SecurityHubSource::new(
                config.sources.securityhub.options(),
            ),
        ));
    }
    if config.sources.registry.ecr {
        sources.push(Arc::new(config.sources.registry.ecr_source()));
    }
    if !config.sources.registry.oci.is_empty() {
        sources.push(Arc::new(config.sources.registry.oci_source()));
    }
    sources
}

/// Every AWS API action the binary may call, across all sources: the read-only policy
/// shipped in `deploy/iam/` must allow exactly these.
pub fn api_actions() -> Vec<&'static str> {
    let mut actions = vec![
        "account:ListRegions",
        "organizations:ListAccounts",
        "sts:AssumeRole",
        "sts:GetCallerIdentity",
    ];
    actions.extend_from_slice(lakewarden_extract::iam::ACTIONS);
    actions.extend_from_slice(lakewarden_extract::config::ACTIONS);
    actions.extend_from_slice(lakewarden_extract::securityhub::ACTIONS);
    actions.extend_from_slice(lakewarden_extract::registry::ACTIONS);
    actions.sort_unstable();
    actions
}

/// The run's rate limits: each source's published rates, overridden by the config.
pub fn rate_limits(config: &Config, sources: &[Arc<dyn Source>]) -> RateLimits {
    let mut rates = BTreeMap::new();
    for source in sources {
        for (api, rate) in source.rates() {
            rates.insert((*api).to_owned(), *rate);
        }
    }
    for (api, rate) in &config.limits.apis {
        rates.insert(api.clone(), Rate::new(rate.per_second, rate.burst));
    }
    let default = Rate::new(
        config.limits.default_per_second,
        config.limits.default_burst,
    );
    RateLimits::new(rates, default)
}

/// The SDK configuration the config asks for: default credential chain, region, retries.
pub async fn sdk_config(config: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(config.aws.max_attempts));
    if let Some(profile) = &config.aws.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &config.aws.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return sdk
            .into_builder()
            .region(Region::from_static("us-east-1"))
            .build();
    }
    sdk
}

/// The account the credentials belong to.
pub async fn caller_account(sdk: &SdkConfig) -> anyhow::Result<String> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(aws_smithy_types::error::display::DisplayErrorContext(e).to_string())
        })
        .context("STS GetCallerIdentity: the credentials are not usable")?;
    identity
        .account()
        .map(str::to_owned)
        .context("STS GetCallerIdentity returned no account id")
}

/// Do one run. An error means nothing was committed.
pub async fn run(config: &Config, lake: &Lake, options: &RunOptions) -> anyhow::Result<RunSummary> {
    let run = RunInfo::start(chrono::Utc::now()).with_shard(options.shard.to_string());
    let span =
        tracing::info_span!("run", run_id = %run.run_id, lake = %lake.url(), shard = %run.shard);
    async {
        let mut summary = run_inner(config, lake, options, run).await?;
        // The jobs run while the run still holds the lake's lease, over what it committed.
        let jobs = crate::jobs::run_jobs(lake, &config.jobs, &summary.run_id)
            .await
            .map_err(|e| format!("{e:#}"));
        if !jobs.as_ref().is_ok_and(|j| j.failed_jobs.is_empty()) {
            summary.outcome = "partial";
        }
        summary.jobs = Some(jobs);
        Ok(summary)
    }
    .instrument(span)
    .await
}

async fn run_inner(
    config: &Config,
    lake: &Lake,
    options: &RunOptions,
    run: RunInfo,
) -> anyhow::Result<RunSummary> {
    tracing::info!(snapshot_at = %run.snapshot_at, "Run started");
    lake.ensure_schema_files()
        .await
        .context("writing the tables' schema files into the lake")?;
    let sdk = sdk_config(config).await;
    let caller = caller_account(&sdk).await?;
    let sources = sources(config);
    anyhow::ensure!(!sources.is_empty(), "no source is enabled in the config");
    let limits = Arc::new(rate_limits(config, &sources));

    let targets: Vec<AccountTarget> = resolve_accounts(&config.scope, &sdk, &caller)
        .await?
        .into_iter()
        .filter(|t| options.shard.contains(t.account_id()))
        .collect();
    anyhow::ensure!(
        !targets.is_empty(),
        "shard {} holds no account",
        options.shard
    );
    tracing::info!(accounts = targets.len(), caller_account = %caller, "Accounts resolved");

    // Credentials and regions per account, a bounded number at a time. An account that
    // cannot be reached fails its tables and is recorded; the others go on.
    let concurrency = config.scope.concurrency;
    let prepared: Vec<(AccountTarget, Result<ReachedAccount, ExtractError>)> =
        futures::stream::iter(targets)
            .map(|target| reach_account(target, &sdk, config))
            .buffer_unordered(concurrency)
            .collect()
            .await;

    let mut results = Vec::new();
    let mut units = Vec::new();
    for (target, prepared) in prepared {
        match prepared {
            Ok((account_sdk, regions)) => {
                for source in &sources {
                    let places = match source.scope() {
                        // Read once per run, below.
                        Scope::Once => Vec::new(),
                        Scope::Global => vec![(GLOBAL_REGION.to_owned(), account_sdk.clone())],
                        Scope::Regional => regions
                            .iter()
                            .map(|r| (r.clone(), in_region(&account_sdk, r)))
                            .collect(),
                    };
                    for (region, sdk) in places {
                        units.push(Unit {
                            source: source.clone(),
                            ctx: SourceContext {
                                run: run.clone(),
                                account_id: target.account_id().to_owned(),
                                region,
                                sdk,
                                limits: limits.clone(),
                            },
                        });
                    }
                }
            }
            Err(error) => {
                tracing::error!(account_id = %target.account_id(), via = %target.via(), %error,
                    "Account not reachable; its tables keep their previous snapshot");
                results.extend(
                    unreachable_account(
                        lake,
                        &run,
                        &target,
                        &sources,
                        &config.scope.regions,
                        &error,
                    )
                    .await,
                );
            }
        }
    }

    // Sources no account owns run once, in the caller's partition, by the one shard the
    // caller's account id falls into, whether or not that account is in the list.
    if options.shard.contains(&caller) {
        for source in sources.iter().filter(|s| s.scope() == Scope::Once) {
            units.push(Unit {
                source: source.clone(),
                ctx: SourceContext {
                    run: run.clone(),
                    account_id: caller.clone(),
                    region: GLOBAL_REGION.to_owned(),
                    sdk: sdk.clone(),
                    limits: limits.clone(),
                },
            });
        }
    }

    let progress = progress_bar(options.progress, units.len() as u64);
    // A signal (or a lost lease) stops the extraction where it is: units in flight are
    // dropped, their files never committed, and no new unit starts.
    if options.cancel.is_cancelled() {
        return Err(crate::supervise::Interrupted.into());
    }
    let extraction = futures::stream::iter(units)
        .map(|unit: Unit| extract_unit(lake, unit, progress.clone()))
        .buffer_unordered(concurrency)
        .collect::<Vec<SourceResult>>();
    let extracted = tokio::select! {
        results = extraction => results,
        _ = options.cancel.cancelled() => return Err(crate::supervise::Interrupted.into()),
    };
    results.extend(extracted);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if options.cancel.is_cancelled() {
        return Err(crate::supervise::Interrupted.into());
    }

    if options.cancel.is_cancelled() {
        return Err(crate::supervise::Interrupted.into());
    }

    commit_results(lake, &run, &results, options.pause_before_commit).await
}

/// Write the bookkeeping tables for what the sources produced, then the commit record.
/// Shared by `run` and `import`. An error means nothing was committed.
pub async fn commit_results(
    lake: &Lake,
    run: &RunInfo,
    results: &[SourceResult],
    pause_before_commit: Option<Duration>,
) -> anyhow::Result<RunSummary> {
    let mut rows = commit_rows(run, results);
    rows.extend(bookkeeping_tables(lake, run, results).await);

    if let Some(pause) = pause_before_commit {
        tracing::info!(
            pause_ms = pause.as_millis() as u64,
            "Pausing before the commit"
        );
        tokio::time::sleep(pause).await;
    }

    let mut summary = summarise(run, results);
    let failed_tables = rows
        .iter()
        .filter(|r| r.status == TableStatus::Failed)
        .count();
    let degraded = results
        .iter()
        .flat_map(|r| &r.coverage)
        // A service not turned on (a region without an AWS Config recorder) was read and
        // found off: that is the account's state, not a failure of the run.
        .any(|c| !matches!(c.status, CoverageStatus::Ok | CoverageStatus::NotEnabled));
    let any_data = results
        .iter()
        .flat_map(|r| &r.tables)
        .any(|t| matches!(t, TableResult::Written(_)));
    if !any_data {
        anyhow::bail!("no table could be written; nothing was committed");
    }
    summary.outcome = if failed_tables > 0 || degraded {
        "partial"
    } else {
        "complete"
    };
    let summary_json = serde_json::to_string(&summary).unwrap_or_default();
    let committed_at = chrono::Utc::now().timestamp_millis();
    for row in &mut rows {
        row.committed_at = committed_at;
        row.run_summary.clone_from(&summary_json);
    }
    let commit = commit_run(lake, run, &rows)
        .await
        .context("writing the commit record")?;
    tracing::info!(commit = %commit, tables = rows.len(), failed_tables, "Run committed");
    summary.commit = Some(commit);
    Ok(summary)
}

/// Import every file at `location` (a local file or folder, or an S3 object or prefix) as
/// one committed run. A file that cannot be read is an error naming it, logged and
/// counted; the other files still import. Returns the summary and the rejected files.
pub async fn import(
    lake: &Lake,
    importer: &dyn Importer,
    location: &str,
) -> anyhow::Result<(RunSummary, Vec<String>)> {
    let run = RunInfo::start(chrono::Utc::now());
    let span =
        tracing::info_span!("import", run_id = %run.run_id, source = importer.name(), location);
    async {
        lake.ensure_schema_files()
            .await
            .context("writing the tables' schema files into the lake")?;
        let inputs = InputFiles::list(location).await?;
        let mut out = PartitionedOutput::new(lake, importer.name(), &run);
        let mut rejected = Vec::new();
        for file in inputs.files() {
            let name = inputs.display_name(file);
            match importer.import_file(&inputs.file(file), &mut out).await {
                Ok(()) => tracing::info!(file = %name, "File imported"),
                Err(error) => {
                    tracing::error!(file = %name, %error, "File rejected; the other files go on");
                    let message = error.to_string();
                    rejected.push(if message.contains(&name) {
                        message
                    } else {
                        format!("{name}: {message}")
                    });
                }
            }
        }
        let results = out.finish(importer.tables()).await;
        anyhow::ensure!(
            !results.is_empty(),
            "no file at {location} could be imported; nothing was committed"
        );
        let mut summary = commit_results(lake, &run, &results, None).await?;
        if !rejected.is_empty() {
            summary.outcome = "partial";
        }
        Ok((summary, rejected))
    }
    .instrument(span)
    .await
}

/// An account's credentials and the regions to read in it.
type ReachedAccount = (SdkConfig, Vec<String>);

/// The results of an account that could not be reached: every table of every source
/// failed, with the reason as a coverage row.
async fn unreachable_account(
    lake: &Lake,
    run: &RunInfo,
    target: &AccountTarget,
    sources: &[Arc<dyn Source>],
    regions: &RegionsSpec,
    error: &ExtractError,
) -> Vec<SourceResult> {
    let mut results = Vec::new();
    for source in sources {
        let places = match (source.scope(), regions) {
            (Scope::Once, _) => continue,
            (Scope::Regional, RegionsSpec::List(list)) => list.clone(),
            _ => vec![GLOBAL_REGION.to_owned()],
        };
        for region in places {
            let mut out =
                SourceOutput::for_partition(lake, source.name(), run, target.account_id(), &region);
            out.coverage(
                "AssumeRole",
                error.coverage_status(),
                Some(error.to_string()),
                1,
                source.tables(),
            );
            results.push(out.finish(source.tables(), Some(error)).await);
        }
    }
    results
}

/// One unit of a run: a source for one account and region.
struct Unit {
    source: Arc<dyn Source>,
    ctx: SourceContext,
}

/// Extract one unit under its span.
async fn extract_unit(
    lake: &Lake,
    unit: Unit,
    progress: Option<indicatif::ProgressBar>,
) -> SourceResult {
    let Unit { source, ctx } = unit;
    let span = tracing::info_span!(
        "source",
        source = source.name(),
        account_id = %ctx.account_id,
        region = %ctx.region
    );
    let result = extract_one(lake, source.as_ref(), &ctx)
        .instrument(span)
        .await;
    if let Some(bar) = &progress {
        bar.set_message(format!(
            "{} {} {}",
            source.name(),
            ctx.account_id,
            ctx.region
        ));
        bar.inc(1);
    }
    result
}

/// Credentials and regions of one account, or why it cannot be reached.
async fn reach_account(
    target: AccountTarget,
    sdk: &SdkConfig,
    config: &Config,
) -> (AccountTarget, Result<ReachedAccount, ExtractError>) {
    let account_sdk = account_sdk(&target, sdk, &config.scope).await;
    let result = async {
        verify_account(&target, &account_sdk).await?;
        let regions =
            account_regions(&config.scope.regions, &account_sdk, target.account_id()).await?;
        Ok((account_sdk, regions))
    }
    .await;
    (target, result)
}

async fn extract_one(lake: &Lake, source: &dyn Source, ctx: &SourceContext) -> SourceResult {
    let mut out = SourceOutput::new(lake, source.name(), ctx);
    let result = source.extract(ctx, &mut out).await;
    if let Err(error) = &result {
        tracing::error!(%error, "Source failed; its tables keep their previous snapshot");
        out.coverage(
            "source",
            error.coverage_status(),
            Some(error.to_string()),
            0,
            source.tables(),
        );
    }
    let result = out.finish(source.tables(), result.as_ref().err()).await;
    for table in &result.tables {
        match table {
            TableResult::Written(output) => {
                tracing::info!(table = %output.table, rows = output.rows, files = output.files.len(), bytes = output.bytes, "Table written");
            }
            TableResult::Failed { table, error } => {
                tracing::warn!(table = %table, %error, "Table not collected in this run");
            }
        }
    }
    result
}

fn progress_bar(enabled: bool, units: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(units);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    Some(bar)
}

fn commit_rows(run: &RunInfo, results: &[SourceResult]) -> Vec<CommitRow> {
    let mut rows = Vec::new();
    for result in results {
        for table in &result.tables {
            let row = |name: &str| CommitRow::new(run, name, &result.account_id, &result.region);
            rows.push(match table {
                TableResult::Written(output) => row(&output.table).written(output),
                TableResult::Failed { table, error } => row(table).failed(error.clone()),
            });
        }
    }
    rows
}

/// Write `lake_coverage` and `lake_errors` for every account and region the run touched.
async fn bookkeeping_tables(
    lake: &Lake,
    run: &RunInfo,
    results: &[SourceResult],
) -> Vec<CommitRow> {
    let mut by_place: BTreeMap<(String, String), Vec<&SourceResult>> = BTreeMap::new();
    for result in results {
        by_place
            .entry((result.account_id.clone(), result.region.clone()))
            .or_default()
            .push(result);
    }
    let mut rows = Vec::new();
    for ((account_id, region), place) in by_place {
        let common = CommonColumns {
            run_id: run.run_id.clone(),
            snapshot_at: run.snapshot_millis(),
            account_id: account_id.clone(),
            region: region.clone(),
        };
        let coverage: Vec<_> = place.iter().flat_map(|r| r.coverage.iter()).collect();
        let errors: Vec<_> = place.iter().flat_map(|r| r.errors.iter()).collect();
        let written = [
            write_small_table(lake, run, "lake_coverage", &common, &coverage).await,
            write_small_table(lake, run, "lake_errors", &common, &errors).await,
        ];
        let fake = SourceResult {
            source: "lake",
            account_id,
            region,
            tables: written.into_iter().collect(),
            coverage: Vec::new(),
            errors: Vec::new(),
        };
        rows.extend(commit_rows(run, std::slice::from_ref(&fake)));
    }
    rows
}

async fn write_small_table<T: Serialize>(
    lake: &Lake,
    run: &RunInfo,
    table: &str,
    common: &CommonColumns,
    rows: &[T],
) -> TableResult {
    let result: Result<_, ExtractError> = async {
        let mut encoder = RowEncoder::new(lake.catalog(), table)?;
        let batch = encoder.encode_with(common, rows)?;
        let mut writer = TableWriter::new(lake, table, &common.account_id, run)?;
        writer.write(batch).await?;
        Ok(writer.finish().await?)
    }
    .await;
    match result {
        Ok(output) => TableResult::Written(output),
        Err(error) => {
            tracing::error!(table, %error, "Could not write a bookkeeping table");
            TableResult::Failed {
                table: table.to_owned(),
                error: error.to_string(),
            }
        }
    }
}

fn summarise(run: &RunInfo, results: &[SourceResult]) -> RunSummary {
    let mut sources: BTreeMap<String, SourceSummary> = BTreeMap::new();
    let mut places: BTreeMap<
        String,
        (
            std::collections::BTreeSet<String>,
            std::collections::BTreeSet<String>,
        ),
    > = BTreeMap::new();
    for result in results {
        let entry = sources.entry(result.source.to_owned()).or_default();
        let (accounts, regions) = places.entry(result.source.to_owned()).or_default();
        accounts.insert(result.account_id.clone());
        regions.insert(result.region.clone());
        for table in &result.tables {
            match table {
                TableResult::Written(output) => {
                    entry.rows += output.rows;
                    entry.files += output.files.len();
                    entry.bytes += output.bytes;
                }
                TableResult::Failed { .. } => entry.tables_failed += 1,
            }
        }
        for coverage in &result.coverage {
            match coverage.status {
                CoverageStatus::Ok | CoverageStatus::NotEnabled => {}
                CoverageStatus::Throttled => entry.throttles += 1,
                _ => entry.api_errors += 1,
            }
        }
        entry.row_errors += result.errors.len();
    }
    for (name, (accounts, regions)) in places {
        if let Some(entry) = sources.get_mut(&name) {
            entry.accounts = accounts.len();
            entry.regions = regions.len();
        }
    }
    RunSummary {
        run_id: run.run_id.clone(),
        snapshot_at: run.snapshot_at.to_rfc3339(),
        outcome: "failed",
        sources,
        commit: None,
        jobs: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn readonly_policy_allows_exactly_the_actions_the_sources_call() {
        let policy: serde_json::Value =
            serde_json::from_str(include_str!("../../../deploy/iam/lakewarden-readonly.json"))
                .expect("the shipped policy is JSON");
        let mut allowed: Vec<&str> = policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| s["Action"].as_array().expect("action list"))
            .map(|a| a.as_str().expect("action"))
            .collect();
        allowed.sort_unstable();
        assert_eq!(allowed, super::api_actions());
    }
}
