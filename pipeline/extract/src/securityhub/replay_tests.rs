//! Replay tests of the Security Hub source: the real SDK client, answered from recorded
//! restJson1 responses.
//!
//! The emulator (moto) ignores `GetFindings` filters and has no standards or controls, so
//! paging 100 at a time, throttling, Security Hub being off, the incremental filter and the
//! standards are shown here with [`StaticReplayClient`], which hands out the responses in
//! order and keeps the requests. The bodies are under `tests/fixtures/securityhub/replay/`;
//! its `ATTRIBUTION.md` says where they come from.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMillisecondType;
use aws_sdk_securityhub::Client;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use chrono::TimeZone;
use lakewarden_lake::{CommitRow, Lake, RunInfo, TableStatus, commit_run};
use serde_json::{Value, json};

use super::source::{
    CONTROLS, FINDINGS, STANDARDS, SecurityHubOptions, findings, standards_and_controls,
};
use crate::testing::{coverage, memory_lake, recorded, result_batches, rows, table_result};
use crate::{CoverageStatus, SourceContext, SourceOutput, SourceResult, TableResult};

const ACCOUNT_ID: &str = "012345678901";
const REGION: &str = "us-east-1";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/securityhub/replay/",
            $name
        ))
    };
}

const AWSCLI_FINDINGS: &str = fixture!("get-findings-awscli.json");
const STANDARDS_PAGE: &str = fixture!("get-enabled-standards.json");
const FSBP_CONTROLS_1: &str = fixture!("describe-standards-controls-fsbp-1.json");
const FSBP_CONTROLS_2: &str = fixture!("describe-standards-controls-fsbp-2.json");
const PCI_CONTROLS: &str = fixture!("describe-standards-controls-pci.json");
const TOO_MANY_REQUESTS: &str = fixture!("too-many-requests.json");
const INVALID_ACCESS: &str = fixture!("invalid-access.json");

fn answer(status: u16, body: &str, error: Option<&str>) -> ReplayEvent {
    recorded(status, "application/json", error, body)
}

fn ok(body: &str) -> ReplayEvent {
    answer(200, body, None)
}

fn throttled() -> ReplayEvent {
    answer(429, TOO_MANY_REQUESTS, Some("TooManyRequestsException"))
}

/// A client whose only connection is the replay client: standard retries, three attempts,
/// backoff cut to a millisecond.
fn client(replay: &StaticReplayClient) -> Client {
    Client::new(&crate::testing::replay_sdk_config(replay, 3))
}

/// A context for a run that started at `started` (milliseconds UTC).
fn context(started: i64) -> SourceContext {
    SourceContext {
        run: RunInfo::start(
            chrono::Utc
                .timestamp_millis_opt(started)
                .single()
                .expect("a time"),
        ),
        account_id: ACCOUNT_ID.to_owned(),
        region: REGION.to_owned(),
        sdk: aws_types::SdkConfig::builder().build(),
        limits: Arc::new(crate::RateLimits::new(
            Default::default(),
            crate::Rate::new(0.0, 0.0),
        )),
    }
}

/// The recorded AWS CLI finding, made into finding `id` of the test account. The CLI's
/// example prints `Severity.Original` as a number where the API sends a string (and the
/// SDK insists on one), so it is turned back into the string the service returns.
fn finding(id: &str, updated_at: &str, state: &str, title: &str) -> Value {
    let document: Value = serde_json::from_str(AWSCLI_FINDINGS).expect("fixture is JSON");
    let mut finding = document["Findings"][0].clone();
    finding["Severity"]["Original"] = json!("0");
    finding["FindingProviderFields"]["Severity"]["Original"] = json!("0");
    finding["Id"] = json!(id);
    finding["AwsAccountId"] = json!(ACCOUNT_ID);
    finding["UpdatedAt"] = json!(updated_at);
    finding["RecordState"] = json!(state);
    finding["Title"] = json!(title);
    finding
}

fn page(findings: &[Value], token: Option<&str>) -> String {
    let mut body = json!({ "Findings": findings });
    if let Some(token) = token {
        body["NextToken"] = json!(token);
    }
    body.to_string()
}

fn numbered(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|n| finding(&format!("f-{n:03}"), "2024-05-01T10:00:00Z", "ACTIVE", "t"))
        .collect()
}

fn body_json(request: &HttpRequest) -> Value {
    let bytes = request.body().bytes().expect("the body is in memory");
    serde_json::from_slice(bytes).expect("a JSON request body")
}

fn paths(replay: &StaticReplayClient) -> Vec<String> {
    replay
        .actual_requests()
        .map(|r| {
            let uri = r.uri();
            uri.split_once(".amazonaws.com")
                .map_or(uri, |(_, path)| path)
                .to_owned()
        })
        .collect()
}

/// Finding id → (title, updated_at) of a findings table.
async fn findings_by_id(
    lake: &Lake,
    result: &SourceResult,
) -> BTreeMap<String, (String, Option<i64>)> {
    let mut out = BTreeMap::new();
    for batch in result_batches(lake, result, FINDINGS).await {
        let ids = batch
            .column_by_name("finding_id")
            .expect("column")
            .as_string::<i32>();
        let titles = batch
            .column_by_name("title")
            .expect("column")
            .as_string::<i32>();
        let updated = batch
            .column_by_name("updated_at")
            .expect("column")
            .as_primitive::<TimestampMillisecondType>();
        for i in 0..batch.num_rows() {
            let at = (!updated.is_null(i)).then(|| updated.value(i));
            out.insert(ids.value(i).to_owned(), (titles.value(i).to_owned(), at));
        }
    }
    out
}

/// Commit a findings result as its run, so the next run finds it as the previous snapshot.
async fn commit(lake: &Lake, ctx: &SourceContext, result: &SourceResult) {
    let TableResult::Written(output) = table_result(result, FINDINGS) else {
        panic!("findings failed");
    };
    let row = CommitRow {
        run_id: ctx.run.run_id.clone(),
        snapshot_at: ctx.run.snapshot_millis(),
        committed_at: ctx.run.snapshot_millis() + 1,
        table_name: FINDINGS.to_owned(),
        account_id: ACCOUNT_ID.to_owned(),
        region: REGION.to_owned(),
        status: TableStatus::Ok,
        files: output.files.clone(),
        rows: output.rows as i64,
        bytes: output.bytes as i64,
        error: None,
        shard: "1/1".to_owned(),
        lakewarden_version: "test".to_owned(),
        run_summary: "{}".to_owned(),
    };
    commit_run(lake, &ctx.run, &[row]).await.expect("committed");
}

const DAY_ONE: i64 = 1_714_557_600_000; // 2024-05-01T10:00:00Z

#[tokio::test]
async fn findings_page_to_the_end_100_a_page_through_throttling() {
    let lake = memory_lake();
    let ctx = context(DAY_ONE);
    let mut out = SourceOutput::new(&lake, "securityhub", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(&page(&numbered(0..100), Some("page-2"))),
        throttled(),
        throttled(),
        ok(&page(&numbered(100..101), None)),
    ]);

    let enabled = findings(
        &client(&replay),
        &ctx,
        &mut out,
        &SecurityHubOptions::default(),
    )
    .await
    .expect("the pull goes on");
    assert!(enabled);
    let result = out.finish(&[FINDINGS], None).await;

    assert_eq!(rows(&result, FINDINGS), 101);
    let sent: Vec<Value> = replay.actual_requests().map(body_json).collect();
    assert_eq!(
        sent.len(),
        4,
        "one page, two throttled attempts, the last page"
    );
    for request in &sent {
        assert_eq!(request["MaxResults"], json!(100));
        assert_eq!(
            request["Filters"],
            json!({"RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}),
            "a full pull asks for active findings"
        );
    }
    assert_eq!(sent[0].get("NextToken"), None);
    for retried in &sent[1..] {
        assert_eq!(retried["NextToken"], json!("page-2"));
    }
    assert_eq!(paths(&replay), ["/findings"; 4]);

    let covered = coverage(&result, "GetFindings");
    assert_eq!(covered.status, CoverageStatus::Ok);
    assert_eq!(
        covered.calls,
        Some(2),
        "calls count pages, not retried attempts"
    );
    let found = findings_by_id(&lake, &result).await;
    assert_eq!(found.len(), 101);
    assert_eq!(found.get("f-100"), Some(&("t".to_owned(), Some(DAY_ONE))));
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_fails_the_table() {
    let lake = memory_lake();
    let ctx = context(DAY_ONE);
    let mut out = SourceOutput::new(&lake, "securityhub", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(&page(&numbered(0..100), Some("page-2"))),
        throttled(),
        throttled(),
        throttled(),
    ]);

    findings(
        &client(&replay),
        &ctx,
        &mut out,
        &SecurityHubOptions::default(),
    )
    .await
    .expect("a failed API fails its table, not the source");
    let result = out.finish(&[FINDINGS], None).await;

    match table_result(&result, FINDINGS) {
        TableResult::Failed { error, .. } => {
            assert!(error.contains("TooManyRequestsException"), "{error}");
            assert!(
                error.contains(ACCOUNT_ID) && error.contains(REGION),
                "{error}"
            );
        }
        TableResult::Written(output) => panic!("written with {} rows", output.rows),
    }
    let covered = coverage(&result, "GetFindings");
    assert_eq!(covered.status, CoverageStatus::Throttled);
    assert_eq!(covered.calls, Some(2));
    assert_eq!(replay.actual_requests().count(), 4);
}

#[tokio::test]
async fn security_hub_not_enabled_is_coverage_not_a_failure() {
    let lake = memory_lake();
    let ctx = context(DAY_ONE);
    let mut out = SourceOutput::new(&lake, "securityhub", &ctx);
    let replay = StaticReplayClient::new(vec![answer(
        401,
        INVALID_ACCESS,
        Some("InvalidAccessException"),
    )]);

    let enabled = findings(
        &client(&replay),
        &ctx,
        &mut out,
        &SecurityHubOptions::default(),
    )
    .await
    .expect("not enabled is no error");
    assert!(!enabled);
    let result = out.finish(&[FINDINGS], None).await;

    assert_eq!(rows(&result, FINDINGS), 0);
    let covered = coverage(&result, "GetFindings");
    assert_eq!(covered.status, CoverageStatus::NotEnabled);
    assert_eq!(covered.calls, Some(1));
    assert!(
        covered
            .message
            .as_deref()
            .is_some_and(|m| m.contains("not subscribed")),
        "{covered:?}"
    );
}

#[tokio::test]
async fn an_incremental_pull_sends_the_filter_and_stays_exact_when_the_server_ignores_it() {
    let lake = memory_lake();
    let options = SecurityHubOptions::default();

    // Run one: a full pull of four active findings.
    let first = context(DAY_ONE);
    let mut out = SourceOutput::new(&lake, "securityhub", &first);
    let replay = StaticReplayClient::new(vec![ok(&page(
        &[
            finding("a", "2024-05-01T08:00:00Z", "ACTIVE", "a1"),
            finding("b", "2024-05-01T09:00:00Z", "ACTIVE", "b1"),
            finding("c", "2024-05-01T09:30:00.250Z", "ACTIVE", "c1"),
            finding("e", "2024-05-01T08:45:00Z", "ACTIVE", "e1"),
            finding(
                "old",
                "2024-04-01T00:00:00Z",
                "ARCHIVED",
                "archived long ago",
            ),
        ],
        None,
    ))]);
    findings(&client(&replay), &first, &mut out, &options)
        .await
        .expect("run one");
    let result = out.finish(&[FINDINGS], None).await;
    assert_eq!(
        rows(&result, FINDINGS),
        4,
        "the archived finding is left out"
    );
    commit(&lake, &first, &result).await;

    // Run two, a day later. The server ignores the filter and returns everything it holds:
    // `a` unchanged, `b` retitled, `c` archived, `d` new, the long-archived one, and `e`
    // changed without a new `UpdatedAt` (as a late write looks): inside the overlap.
    let second = context(DAY_ONE + 86_400_000);
    let mut out = SourceOutput::new(&lake, "securityhub", &second);
    let replay = StaticReplayClient::new(vec![ok(&page(
        &[
            finding("a", "2024-05-01T08:00:00Z", "ACTIVE", "a-stale-copy"),
            finding("b", "2024-05-02T09:00:00Z", "ACTIVE", "b2"),
            finding("c", "2024-05-02T09:00:00Z", "ARCHIVED", "c2"),
            finding("d", "2024-05-02T09:30:00Z", "ACTIVE", "d1"),
            finding("e", "2024-05-01T08:45:00Z", "ACTIVE", "e-late"),
            finding(
                "old",
                "2024-04-01T00:00:00Z",
                "ARCHIVED",
                "archived long ago",
            ),
        ],
        None,
    ))]);
    findings(&client(&replay), &second, &mut out, &options)
        .await
        .expect("run two");
    let result = out.finish(&[FINDINGS], None).await;

    let sent: Vec<Value> = replay.actual_requests().map(body_json).collect();
    assert_eq!(sent.len(), 1);
    // The watermark is c's 09:30:00.250; less the default hour of overlap.
    assert_eq!(
        sent[0]["Filters"],
        json!({"UpdatedAt": [{
            "Start": "2024-05-01T08:30:00.250Z",
            "End": "2024-05-03T10:00:00.000Z"
        }]})
    );
    // `a` is outside the window, so its stale copy is not taken: the previous row stays.
    let expected: BTreeMap<String, (String, Option<i64>)> = [
        ("a", "a1", DAY_ONE - 2 * 3_600_000),
        ("b", "b2", DAY_ONE + 86_400_000 - 3_600_000),
        ("d", "d1", DAY_ONE + 86_400_000 - 1_800_000),
        ("e", "e-late", DAY_ONE - 4_500_000),
    ]
    .into_iter()
    .map(|(id, title, at)| (id.to_owned(), (title.to_owned(), Some(at))))
    .collect();
    assert_eq!(findings_by_id(&lake, &result).await, expected);
    assert_eq!(coverage(&result, "GetFindings").status, CoverageStatus::Ok);

    // `--full` ignores the watermark.
    let third = context(DAY_ONE + 2 * 86_400_000);
    let mut out = SourceOutput::new(&lake, "securityhub", &third);
    let replay = StaticReplayClient::new(vec![ok(&page(&numbered(0..2), None))]);
    let full = SecurityHubOptions {
        full: true,
        ..SecurityHubOptions::default()
    };
    findings(&client(&replay), &third, &mut out, &full)
        .await
        .expect("run three");
    let result = out.finish(&[FINDINGS], None).await;
    let sent: Vec<Value> = replay.actual_requests().map(body_json).collect();
    assert_eq!(
        sent[0]["Filters"],
        json!({"RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]})
    );
    assert_eq!(rows(&result, FINDINGS), 2);
}

#[tokio::test]
async fn standards_and_the_controls_of_each_ready_standard_are_read() {
    let lake = memory_lake();
    let ctx = context(DAY_ONE);
    let mut out = SourceOutput::new(&lake, "securityhub", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(STANDARDS_PAGE),
        ok(FSBP_CONTROLS_1),
        ok(FSBP_CONTROLS_2),
        ok(PCI_CONTROLS),
    ]);

    standards_and_controls(&client(&replay), &ctx, &mut out)
        .await
        .expect("read");
    let result = out.finish(&[STANDARDS, CONTROLS], None).await;

    assert_eq!(rows(&result, STANDARDS), 3);
    assert_eq!(rows(&result, CONTROLS), 4);
    // The DELETING standard's controls are not asked for. The ARN is a greedy label: its
    // slashes stay as they are.
    assert_eq!(
        paths(&replay),
        [
            "/standards/get",
            "/standards/controls/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A012345678901%3Asubscription/aws-foundational-security-best-practices/v/1.0.0?MaxResults=100",
            "/standards/controls/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A012345678901%3Asubscription/aws-foundational-security-best-practices/v/1.0.0?NextToken=fsbp-page-2&MaxResults=100",
            "/standards/controls/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A012345678901%3Asubscription/pci-dss/v/3.2.1?MaxResults=100",
        ]
    );
    assert_eq!(coverage(&result, "GetEnabledStandards").calls, Some(1));
    assert_eq!(
        coverage(&result, "DescribeStandardsControls").calls,
        Some(3)
    );

    let standards = &result_batches(&lake, &result, STANDARDS).await[0];
    let reason = standards
        .column_by_name("status_reason")
        .expect("column")
        .as_string::<i32>();
    let status = standards
        .column_by_name("standards_status")
        .expect("column")
        .as_string::<i32>();
    let by_status: BTreeMap<&str, Option<&str>> = (0..standards.num_rows())
        .map(|i| {
            (
                status.value(i),
                (!reason.is_null(i)).then(|| reason.value(i)),
            )
        })
        .collect();
    assert_eq!(
        by_status,
        BTreeMap::from([
            ("DELETING", None),
            ("INCOMPLETE", Some("NO_AVAILABLE_CONFIGURATION_RECORDER")),
            ("READY", None),
        ])
    );

    let controls = &result_batches(&lake, &result, CONTROLS).await[0];
    let ids = controls
        .column_by_name("control_id")
        .expect("column")
        .as_string::<i32>();
    let disabled = controls
        .column_by_name("disabled_reason")
        .expect("column")
        .as_string::<i32>();
    let updated = controls
        .column_by_name("control_status_updated_at")
        .expect("column")
        .as_primitive::<TimestampMillisecondType>();
    let iam5 = (0..controls.num_rows())
        .find(|&i| ids.value(i) == "IAM.5")
        .expect("IAM.5");
    assert_eq!(updated.value(iam5), DAY_ONE + 123);
    let lambda2 = (0..controls.num_rows())
        .find(|&i| ids.value(i) == "Lambda.2")
        .expect("Lambda.2");
    assert_eq!(
        disabled.value(lambda2),
        "No Lambda functions in this account"
    );
}

#[tokio::test]
async fn a_failed_standards_listing_fails_standards_and_controls_only() {
    let lake = memory_lake();
    let ctx = context(DAY_ONE);
    let mut out = SourceOutput::new(&lake, "securityhub", &ctx);
    let replay = StaticReplayClient::new(vec![answer(
        403,
        r#"{"Message":"User is not authorized to perform securityhub:GetEnabledStandards"}"#,
        Some("AccessDeniedException"),
    )]);
    standards_and_controls(&client(&replay), &ctx, &mut out)
        .await
        .expect("recorded, not raised");
    let result = out.finish(&[STANDARDS, CONTROLS], None).await;
    for name in [STANDARDS, CONTROLS] {
        assert!(
            matches!(table_result(&result, name), TableResult::Failed { .. }),
            "{name} must fail"
        );
    }
    assert_eq!(
        coverage(&result, "GetEnabledStandards").status,
        CoverageStatus::AccessDenied
    );
}
