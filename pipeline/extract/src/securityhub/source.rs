//! Reading Security Hub through the AWS SDK: findings (full or incremental), enabled
//! standards and their controls.
//!
//! **Incremental pulls.** The watermark of an account and region is the newest
//! `updated_at` of the previous committed snapshot of `securityhub_findings`. The next run
//! asks only for findings updated since the watermark less an overlap, filters the answer
//! again on this side (the filter must hold even where a server ignores it), and merges:
//! every finding of the previous snapshot whose id did not come back is carried over, the
//! ones that came back are replaced, and archived ones are dropped. A full pull asks for
//! the active findings only, so both give the same snapshot.
//!
//! Memory: the ids of the findings pulled in one run are held (tens of bytes each), one
//! page of the API and one row group of the previous snapshot at a time.
//!
//! Limitation: a finding whose product stamps it with an `UpdatedAt` older than the
//! watermark less the overlap is not seen by an incremental pull, because the server
//! filters on that field; run `lakewarden run --full` now and then to catch such findings.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMillisecondType;
use async_trait::async_trait;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, DateFilter, StandardsStatus, StringFilter, StringFilterComparison,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::Value;

use super::asff::{FindingRow, finding_row};
use crate::{
    CoverageStatus, ExtractError, Scope, Source, SourceContext, SourceOutput, TokenGuard,
    api_error, millis,
};

pub(crate) const SOURCE: &str = "securityhub";

pub const FINDINGS: &str = "securityhub_findings";
pub const STANDARDS: &str = "securityhub_standards";
pub const CONTROLS: &str = "securityhub_controls";

const ALL_TABLES: &[&str] = &[FINDINGS, STANDARDS, CONTROLS];
const FINDINGS_ONLY: &[&str] = &[FINDINGS];

/// Every Security Hub API action the source calls: the read-only policy in `deploy/` must
/// allow each, and a test checks that it does.
pub const ACTIONS: &[&str] = &[
    "securityhub:DescribeStandardsControls",
    "securityhub:GetEnabledStandards",
    "securityhub:GetFindings",
];

/// Security Hub's published throttling quotas per account and region: `GetFindings` 3
/// requests a second with a burst of 6; every other operation 10 with a burst of 30.
const RATES: &[(&str, crate::Rate)] = &[
    ("securityhub:GetFindings", crate::Rate::new(3.0, 6.0)),
    (
        "securityhub:GetEnabledStandards",
        crate::Rate::new(10.0, 30.0),
    ),
    (
        "securityhub:DescribeStandardsControls",
        crate::Rate::new(10.0, 30.0),
    ),
];

/// The largest page `GetFindings`, `GetEnabledStandards` and `DescribeStandardsControls`
/// return.
const PAGE_SIZE: i32 = 100;

/// Settings of the Security Hub source.
#[derive(Debug, Clone)]
pub struct SecurityHubOptions {
    /// How far before the watermark an incremental pull starts, for findings whose
    /// `UpdatedAt` becomes visible late.
    pub overlap: Duration,
    /// Ignore the watermark and pull every active finding.
    pub full: bool,
    /// Also read enabled standards and their controls.
    pub standards: bool,
}

impl Default for SecurityHubOptions {
    fn default() -> Self {
        Self {
            overlap: Duration::from_secs(3600),
            full: false,
            standards: true,
        }
    }
}

/// The Security Hub source.
#[derive(Debug, Clone, Default)]
pub struct SecurityHubSource {
    options: SecurityHubOptions,
}

impl SecurityHubSource {
    pub fn new(options: SecurityHubOptions) -> Self {
        Self { options }
    }
}

#[async_trait]
impl Source for SecurityHubSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn scope(&self) -> Scope {
        Scope::Regional
    }

    fn tables(&self) -> &'static [&'static str] {
        if self.options.standards {
            ALL_TABLES
        } else {
            FINDINGS_ONLY
        }
    }

    fn rates(&self) -> &'static [(&'static str, crate::Rate)] {
        RATES
    }

    async fn extract(
        &self,
        ctx: &SourceContext,
        out: &mut SourceOutput,
    ) -> Result<(), ExtractError> {
        let client = Client::new(&ctx.sdk);
        let enabled = findings(&client, ctx, out, &self.options).await?;
        if !self.options.standards {
            return Ok(());
        }
        if enabled {
            standards_and_controls(&client, ctx, out).await?;
        } else {
            out.coverage(
                "GetEnabledStandards",
                CoverageStatus::NotEnabled,
                Some("Security Hub is not enabled in this account and region".to_owned()),
                0,
                &[STANDARDS, CONTROLS],
            );
        }
        Ok(())
    }
}

/// Keeps the body of the last successful response of the operation it is attached to, so
/// findings are stored as the JSON Security Hub sent rather than rebuilt from SDK types.
#[derive(Debug, Clone, Default)]
struct ResponseBody(Arc<Mutex<Option<Vec<u8>>>>);

impl ResponseBody {
    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Intercept for ResponseBody {
    fn name(&self) -> &'static str {
        "LakewardenResponseBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The orchestrator has read a non-streaming body into memory by this point.
        if context.output_or_error().is_ok()
            && let Some(bytes) = context.response().body().bytes()
        {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// What a pull asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pull {
    /// Every active finding.
    Full,
    /// Findings updated in `[since, until]`, archived ones included, milliseconds UTC.
    Since { since: i64, until: i64 },
}

impl Pull {
    fn filters(self) -> AwsSecurityFindingFilters {
        match self {
            Self::Full => AwsSecurityFindingFilters::builder()
                .record_state(
                    StringFilter::builder()
                        .value("ACTIVE")
                        .comparison(StringFilterComparison::Equals)
                        .build(),
                )
                .build(),
            Self::Since { since, until } => AwsSecurityFindingFilters::builder()
                .updated_at(
                    DateFilter::builder()
                        .start(iso(since))
                        .end(iso(until))
                        .build(),
                )
                .build(),
        }
    }

    /// The same filter on this side: whether a finding the server returned belongs.
    fn admits(self, row: &FindingRow) -> bool {
        match self {
            Self::Full => row.record_state.as_deref().unwrap_or("ACTIVE") == "ACTIVE",
            Self::Since { since, until } => row
                .updated_at
                .is_some_and(|at| (since..=until).contains(&at)),
        }
    }
}

/// An instant as the ISO 8601 text Security Hub's date filters take.
fn iso(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The newest `updated_at` of the previous committed snapshot, with that snapshot.
async fn watermark(
    ctx: &SourceContext,
    lake: &lakewarden_lake::Lake,
) -> Result<Option<(lakewarden_lake::CommittedSnapshot, i64)>, lakewarden_lake::LakeError> {
    let Some(snapshot) =
        lakewarden_lake::latest_snapshot(lake, FINDINGS, &ctx.account_id, &ctx.region).await?
    else {
        return Ok(None);
    };
    let mut batches =
        lakewarden_lake::read_snapshot(lake, FINDINGS, &snapshot, Some(&["updated_at"])).await?;
    let mut newest: Option<i64> = None;
    while let Some(batch) = batches.try_next().await? {
        let column = batch.column(0).as_primitive::<TimestampMillisecondType>();
        if let Some(max) = arrow::compute::max(column) {
            newest = Some(newest.map_or(max, |n| n.max(max)));
        }
    }
    Ok(newest.map(|n| (snapshot, n)))
}

/// Read the findings table. Returns whether Security Hub is enabled; an API failure is
/// recorded on the output and fails the table only.
pub(crate) async fn findings(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    options: &SecurityHubOptions,
) -> Result<bool, ExtractError> {
    const API: &str = "GetFindings";
    let previous = if options.full {
        None
    } else {
        let lake = out.lake().clone();
        match watermark(ctx, &lake).await {
            Ok(previous) => previous,
            Err(error) => {
                tracing::warn!(source = SOURCE, table = FINDINGS, %error, "Could not read the previous snapshot; pulling every finding");
                None
            }
        }
    };
    let overlap = i64::try_from(options.overlap.as_millis()).unwrap_or(i64::MAX);
    // The end leaves a day for findings stamped by clocks ahead of this one.
    let until = ctx.run.snapshot_millis() + 86_400_000;
    let pull = match &previous {
        Some((_, newest)) => Pull::Since {
            since: newest.saturating_sub(overlap),
            until,
        },
        None => Pull::Full,
    };

    let mut calls = 0;
    let mut seen = HashSet::new();
    match pull_findings(client, ctx, out, pull, &mut seen, &mut calls).await {
        Ok(written) => {
            tracing::info!(
                source = SOURCE,
                table = FINDINGS,
                incremental = previous.is_some(),
                pulled = seen.len(),
                written,
                pages = calls,
                "Findings pulled"
            );
        }
        Err(error) if error.coverage_status() == CoverageStatus::NotEnabled => {
            tracing::info!(source = SOURCE, %error, "Security Hub is not enabled here");
            out.coverage(
                API,
                CoverageStatus::NotEnabled,
                Some(error.to_string()),
                calls,
                &[FINDINGS],
            );
            return Ok(false);
        }
        Err(error) => {
            out.record_failure(API, &error, calls, &[FINDINGS]);
            return Ok(true);
        }
    }

    if let Some((snapshot, _)) = &previous
        && let Err(error) = carry_over(out, snapshot, &seen).await
    {
        tracing::warn!(source = SOURCE, table = FINDINGS, %error, "Could not merge the previous snapshot");
        out.fail_table(FINDINGS, error.to_string());
        out.coverage(
            API,
            CoverageStatus::Error,
            Some(error.to_string()),
            calls,
            &[FINDINGS],
        );
        return Ok(true);
    }
    out.coverage(API, CoverageStatus::Ok, None, calls, &[FINDINGS]);
    Ok(true)
}

/// Page through `GetFindings` to the end, writing every admitted active finding and
/// adding every admitted id to `seen`. Returns the rows written.
async fn pull_findings(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    pull: Pull,
    seen: &mut HashSet<String>,
    calls: &mut u32,
) -> Result<u64, ExtractError> {
    const API: &str = "GetFindings";
    let mut guard = TokenGuard::new(API);
    let mut token: Option<String> = None;
    let mut written = 0;
    loop {
        *calls += 1;
        ctx.acquire("securityhub:GetFindings").await;
        let body = ResponseBody::default();
        let page = client
            .get_findings()
            .filters(pull.filters())
            .max_results(PAGE_SIZE)
            .set_next_token(token.clone())
            .customize()
            .interceptor(body.clone())
            .send()
            .await
            .map_err(|e| api_error(SOURCE, API, ctx, &e))?;
        let findings = page_findings(ctx, body.take(), page.findings().len())?;
        tracing::debug!(
            page = guard.pages() + 1,
            findings = findings.len(),
            "Read a page of findings"
        );

        let mut rows = Vec::with_capacity(findings.len());
        for value in &findings {
            let row = match finding_row(value) {
                Ok(row) => row,
                Err(message) => {
                    let id = value.get("Id").and_then(Value::as_str).unwrap_or("?");
                    out.row_error(FINDINGS, id, message);
                    continue;
                }
            };
            if !pull.admits(&row) || !seen.insert(row.finding_id.clone()) {
                continue;
            }
            if !row.is_archived() {
                rows.push(row);
            }
        }
        written += rows.len() as u64;
        out.rows(FINDINGS, &rows).await?;

        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => return Ok(written),
        }
    }
}

/// The findings of one `GetFindings` response body, checked against what the SDK read.
fn page_findings(
    ctx: &SourceContext,
    body: Option<Vec<u8>>,
    expected: usize,
) -> Result<Vec<Value>, ExtractError> {
    let invalid = |message: String| ExtractError::Invalid {
        source_name: SOURCE,
        account_id: ctx.account_id.clone(),
        message: format!("GetFindings in region {}: {message}", ctx.region),
    };
    let body = body.ok_or_else(|| invalid("the response body was not kept".to_owned()))?;
    let mut document: Value = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("the response is not JSON: {e}")))?;
    let findings = match document.get_mut("Findings").map(Value::take) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("Findings is not an array".to_owned())),
    };
    if findings.len() != expected {
        return Err(invalid(format!(
            "the body holds {} findings where the SDK read {expected}",
            findings.len()
        )));
    }
    Ok(findings)
}

/// Write the previous snapshot's findings whose ids were not pulled again.
async fn carry_over(
    out: &mut SourceOutput,
    snapshot: &lakewarden_lake::CommittedSnapshot,
    seen: &HashSet<String>,
) -> Result<(), ExtractError> {
    let lake = out.lake().clone();
    let mut batches =
        lakewarden_lake::read_snapshot(&lake, FINDINGS, snapshot, Some(&["finding_id", "finding"]))
            .await?;
    let mut carried = 0_u64;
    while let Some(batch) = batches.try_next().await? {
        let ids = batch.column(0).as_string::<i32>();
        let documents = batch.column(1).as_string::<i32>();
        let mut rows = Vec::new();
        for i in 0..batch.num_rows() {
            if ids.is_null(i) || seen.contains(ids.value(i)) {
                continue;
            }
            let value: Value =
                serde_json::from_str(documents.value(i)).map_err(|e| ExtractError::Invalid {
                    source_name: SOURCE,
                    account_id: out.account_id().to_owned(),
                    message: format!(
                        "the previous snapshot {} holds finding {} whose JSON does not parse: {e}",
                        snapshot.run_id,
                        ids.value(i)
                    ),
                })?;
            match finding_row(&value) {
                Ok(row) => rows.push(row),
                Err(message) => out.row_error(FINDINGS, ids.value(i), message),
            }
        }
        carried += rows.len() as u64;
        out.rows(FINDINGS, &rows).await?;
    }
    tracing::info!(source = SOURCE, table = FINDINGS, carried, previous_run = %snapshot.run_id, "Carried over unchanged findings");
    Ok(())
}

/// One row of `securityhub_standards`, less the common columns.
#[derive(Debug, Clone, Serialize)]
struct StandardRow {
    standards_subscription_arn: String,
    standards_arn: String,
    standards_status: String,
    status_reason: Option<String>,
}

/// One row of `securityhub_controls`, less the common columns.
#[derive(Debug, Clone, Serialize)]
struct ControlRow {
    standards_subscription_arn: String,
    standards_control_arn: String,
    control_id: String,
    control_status: String,
    severity_rating: Option<String>,
    title: Option<String>,
    description: Option<String>,
    disabled_reason: Option<String>,
    control_status_updated_at: Option<i64>,
    remediation_url: Option<String>,
    related_requirements: Vec<String>,
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

/// Read the enabled standards, then the controls of each that is ready.
pub(crate) async fn standards_and_controls(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
) -> Result<(), ExtractError> {
    let mut calls = 0;
    let subscriptions = match enabled_standards(client, ctx, out, &mut calls).await {
        Ok(subscriptions) => {
            out.coverage(
                "GetEnabledStandards",
                CoverageStatus::Ok,
                None,
                calls,
                &[STANDARDS],
            );
            subscriptions
        }
        Err(error) => {
            out.record_failure("GetEnabledStandards", &error, calls, &[STANDARDS, CONTROLS]);
            return Ok(());
        }
    };

    let mut calls = 0;
    for arn in &subscriptions {
        if let Err(error) = standard_controls(client, ctx, out, arn, &mut calls).await {
            // Without one standard's controls the table is not complete.
            out.record_failure("DescribeStandardsControls", &error, calls, &[CONTROLS]);
            return Ok(());
        }
    }
    out.coverage(
        "DescribeStandardsControls",
        CoverageStatus::Ok,
        None,
        calls,
        &[CONTROLS],
    );
    Ok(())
}

/// Page through `GetEnabledStandards`; returns the subscriptions whose controls can be
/// described (status `READY` or `INCOMPLETE`; others are being set up or torn down).
async fn enabled_standards(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    calls: &mut u32,
) -> Result<Vec<String>, ExtractError> {
    const API: &str = "GetEnabledStandards";
    let mut guard = TokenGuard::new(API);
    let mut token: Option<String> = None;
    let mut describable = Vec::new();
    loop {
        *calls += 1;
        ctx.acquire("securityhub:GetEnabledStandards").await;
        let page = client
            .get_enabled_standards()
            .max_results(PAGE_SIZE)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| api_error(SOURCE, API, ctx, &e))?;
        let mut rows = Vec::new();
        for subscription in page.standards_subscriptions() {
            let status = subscription.standards_status();
            let arn = text(subscription.standards_subscription_arn());
            if matches!(
                status,
                Some(StandardsStatus::Ready | StandardsStatus::Incomplete)
            ) {
                describable.push(arn.clone());
            }
            rows.push(StandardRow {
                standards_subscription_arn: arn,
                standards_arn: text(subscription.standards_arn()),
                standards_status: text(status.map(StandardsStatus::as_str)),
                status_reason: subscription
                    .standards_status_reason()
                    .and_then(|r| r.status_reason_code())
                    .map(|c| c.as_str().to_owned()),
            });
        }
        out.rows(STANDARDS, &rows).await?;
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => return Ok(describable),
        }
    }
}

/// Page through `DescribeStandardsControls` for one standard subscription.
async fn standard_controls(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    subscription_arn: &str,
    calls: &mut u32,
) -> Result<(), ExtractError> {
    const API: &str = "DescribeStandardsControls";
    let mut guard = TokenGuard::new(API);
    let mut token: Option<String> = None;
    loop {
        *calls += 1;
        ctx.acquire("securityhub:DescribeStandardsControls").await;
        let page = client
            .describe_standards_controls()
            .standards_subscription_arn(subscription_arn)
            .max_results(PAGE_SIZE)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| api_error(SOURCE, API, ctx, &e))?;
        let rows: Vec<ControlRow> = page
            .controls()
            .iter()
            .map(|control| ControlRow {
                standards_subscription_arn: subscription_arn.to_owned(),
                standards_control_arn: text(control.standards_control_arn()),
                control_id: text(control.control_id()),
                control_status: text(control.control_status().map(|s| s.as_str())),
                severity_rating: control.severity_rating().map(|s| s.as_str().to_owned()),
                title: control.title().map(str::to_owned),
                description: control.description().map(str::to_owned),
                disabled_reason: control.disabled_reason().map(str::to_owned),
                control_status_updated_at: millis(control.control_status_updated_at()),
                remediation_url: control.remediation_url().map(str::to_owned),
                related_requirements: control.related_requirements().to_vec(),
            })
            .collect();
        out.rows(CONTROLS, &rows).await?;
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => return Ok(()),
        }
    }
}
