//! Replay tests of the AWS Config source: the real SDK client, answered from recorded
//! AWS Config responses (JSON 1.1).
//!
//! The emulator (moto) never leaves keys unprocessed, has neither rule evaluations nor
//! aggregated listings, and ignores page sizes, so those paths are shown here with the
//! SDK's [`StaticReplayClient`], which hands out the responses in order and keeps the
//! requests for the tests to read back. The bodies are under `tests/fixtures/config/replay/`.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use aws_sdk_config::Client;
use aws_sdk_config::types::ResourceType;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use lakewarden_lake::{Lake, RunInfo};
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use serde_json::{Value, json};

use super::source::{
    ConfigOptions, ConfigSource, RESOURCES, RULE_COMPLIANCE, TABLES, aggregate_resources,
    resources, rule_compliance,
};
use crate::testing::{recorded, rows, table_result};
use crate::{CoverageStatus, Source, SourceContext, SourceOutput, SourceResult, TableResult};

const ACCOUNT_ID: &str = "012345678901";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/config/replay/",
            $name
        ))
    };
}

fn answer(status: u16, body: &str) -> ReplayEvent {
    recorded(status, "application/x-amz-json-1.1", None, body)
}

fn ok(body: &str) -> ReplayEvent {
    answer(200, body)
}

fn client(replay: &StaticReplayClient) -> Client {
    Client::new(&crate::testing::replay_sdk_config(replay, 2))
}

struct TestLake {
    store: Arc<InMemory>,
    lake: Lake,
}

impl TestLake {
    fn new() -> Self {
        let store = Arc::new(InMemory::new());
        let lake = Lake::new(
            "memory://",
            store.clone(),
            object_store::path::Path::from("lake"),
        )
        .expect("lake opens");
        Self { store, lake }
    }

    /// The rows of a written table, every file in order.
    async fn batches(&self, result: &SourceResult, table: &str) -> Vec<RecordBatch> {
        let TableResult::Written(output) = table_result(result, table) else {
            panic!("table {table} failed");
        };
        let mut batches = Vec::new();
        for file in &output.files {
            let bytes = self
                .store
                .get(&object_store::path::Path::from(file.as_str()))
                .await
                .expect("file exists")
                .bytes()
                .await
                .expect("bytes");
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .expect("Parquet")
                    .build()
                    .expect("reader");
            batches.extend(reader.map(|b| b.expect("batch")));
        }
        batches
    }

    async fn strings(&self, result: &SourceResult, table: &str, column: &str) -> Vec<String> {
        let mut values = Vec::new();
        for batch in self.batches(result, table).await {
            let array = batch.column_by_name(column).expect("column");
            let array = array.as_string::<i32>();
            values.extend((0..array.len()).map(|i| array.value(i).to_owned()));
        }
        values
    }
}

fn context() -> SourceContext {
    SourceContext {
        run: RunInfo::start(chrono::Utc::now()),
        account_id: ACCOUNT_ID.to_owned(),
        region: "us-east-1".to_owned(),
        sdk: aws_types::SdkConfig::builder().build(),
        limits: Arc::new(crate::RateLimits::new(
            Default::default(),
            crate::Rate::new(0.0, 0.0),
        )),
    }
}

fn quick() -> ConfigOptions {
    ConfigOptions {
        retry_backoff: Duration::from_millis(1),
        ..Default::default()
    }
}

/// The action (from `X-Amz-Target`) and the JSON body of every request sent.
fn sent(replay: &StaticReplayClient) -> Vec<(String, Value)> {
    replay
        .actual_requests()
        .map(|request| {
            let target = request
                .headers()
                .get("x-amz-target")
                .expect("a JSON 1.1 request names its target");
            let action = target.rsplit('.').next().unwrap_or_default().to_owned();
            let body = request.body().bytes().expect("the body is in memory");
            (action, serde_json::from_slice(body).expect("a JSON body"))
        })
        .collect()
}

fn topic_arn(n: usize) -> String {
    format!("arn:aws:sns:us-east-1:{ACCOUNT_ID}:topic-{n:03}")
}

/// A `ListDiscoveredResources` page of topics `range`, with deleted topics after them.
fn listing(range: std::ops::Range<usize>, deleted: &[usize], token: Option<&str>) -> String {
    let mut identifiers: Vec<Value> = range
        .map(|n| {
            json!({"resourceType": "AWS::SNS::Topic", "resourceId": topic_arn(n),
                   "resourceName": format!("topic-{n:03}")})
        })
        .collect();
    identifiers.extend(deleted.iter().map(|n| {
        json!({"resourceType": "AWS::SNS::Topic", "resourceId": topic_arn(*n),
               "resourceName": format!("topic-{n:03}"), "resourceDeletionTime": 1733000000})
    }));
    let mut page = json!({ "resourceIdentifiers": identifiers });
    if let Some(token) = token {
        page["nextToken"] = json!(token);
    }
    page.to_string()
}

/// A `BatchGetResourceConfig` answer with items for `found` and `unprocessed` keys left.
fn batch_answer(found: &[usize], unprocessed: &[usize]) -> String {
    let template: Value =
        serde_json::from_str(fixture!("batch-get-resource-config-item.json")).expect("JSON");
    let items: Vec<Value> = found
        .iter()
        .map(|n| {
            let text = template
                .to_string()
                .replace(
                    &format!("{ACCOUNT_ID}:TOPIC"),
                    &format!("{ACCOUNT_ID}:topic-{n:03}"),
                )
                .replace("\"TOPIC\"", &format!("\"topic-{n:03}\""));
            serde_json::from_str(&text).expect("JSON")
        })
        .collect();
    let keys: Vec<Value> = unprocessed
        .iter()
        .map(|n| json!({"resourceType": "AWS::SNS::Topic", "resourceId": topic_arn(*n)}))
        .collect();
    json!({"baseConfigurationItems": items, "unprocessedResourceKeys": keys}).to_string()
}

fn key_ids(body: &Value) -> Vec<String> {
    body["resourceKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["resourceId"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn batches_of_100_with_unprocessed_keys_retried() {
    let lake = TestLake::new();
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "config", &ctx);
    let first: Vec<usize> = (0..97).collect();
    let replay = StaticReplayClient::new(vec![
        ok(&listing(0..100, &[], Some("page-2"))),
        ok(&listing(100..130, &[130], None)),
        ok(&batch_answer(&first, &[97, 98, 99])),
        ok(&batch_answer(&[97, 98, 99], &[])),
        ok(&batch_answer(&(100..130).collect::<Vec<_>>(), &[])),
    ]);

    let calls = resources(
        &client(&replay),
        &ctx,
        &mut out,
        &[ResourceType::Topic],
        &quick(),
    )
    .await
    .expect("every resource is read");
    let result = out.finish(&[RESOURCES], None).await;

    assert_eq!(calls, 5);
    let requests = sent(&replay);
    let actions: Vec<&str> = requests.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ListDiscoveredResources",
            "ListDiscoveredResources",
            "BatchGetResourceConfig",
            "BatchGetResourceConfig",
            "BatchGetResourceConfig",
        ]
    );
    assert_eq!(requests[0].1["resourceType"], "AWS::SNS::Topic");
    assert_eq!(requests[0].1["limit"], 100);
    assert_eq!(requests[0].1["includeDeletedResources"], true);
    assert_eq!(requests[0].1.get("nextToken"), None);
    assert_eq!(requests[1].1["nextToken"], "page-2");
    let batches: Vec<Vec<String>> = requests[2..].iter().map(|(_, b)| key_ids(b)).collect();
    assert_eq!(batches[0], (0..100).map(topic_arn).collect::<Vec<_>>());
    assert_eq!(batches[1], [topic_arn(97), topic_arn(98), topic_arn(99)]);
    assert_eq!(batches[2], (100..130).map(topic_arn).collect::<Vec<_>>());

    // 130 read items and the deleted topic known from the listing.
    assert_eq!(rows(&result, RESOURCES), 131);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let mut ids = lake.strings(&result, RESOURCES, "resource_id").await;
    ids.sort();
    assert_eq!(ids, (0..131).map(topic_arn).collect::<Vec<_>>());

    let batches = lake.batches(&result, RESOURCES).await;
    let deleted: usize = batches
        .iter()
        .map(|b| {
            let flags = b.column_by_name("deleted").expect("deleted").as_boolean();
            (0..flags.len()).filter(|i| flags.value(*i)).count()
        })
        .sum();
    assert_eq!(deleted, 1);
    let configurations = lake.strings(&result, RESOURCES, "configuration").await;
    assert!(
        configurations.contains(&format!(
            r#"{{"TopicArn":"{}","Policy":"{{\"Version\":\"2008-10-17\"}}"}}"#,
            topic_arn(5)
        )),
        "{:?}",
        &configurations[..2]
    );
}

#[tokio::test]
async fn keys_still_unprocessed_after_the_bound_are_row_errors() {
    let lake = TestLake::new();
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "config", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(&listing(0..2, &[], None)),
        ok(&batch_answer(&[0], &[1])),
        ok(&batch_answer(&[], &[1])),
        // A third answer that must not be asked for.
        ok(&batch_answer(&[1], &[])),
    ]);
    let options = ConfigOptions {
        batch_attempts: 2,
        ..quick()
    };

    let calls = resources(
        &client(&replay),
        &ctx,
        &mut out,
        &[ResourceType::Topic],
        &options,
    )
    .await
    .expect("an unprocessed key does not fail the table");
    let result = out.finish(&[RESOURCES], None).await;

    assert_eq!(calls, 3);
    assert_eq!(replay.actual_requests().count(), 3);
    assert_eq!(rows(&result, RESOURCES), 1);
    assert_eq!(result.errors.len(), 1);
    assert_eq!(result.errors[0].table_name, RESOURCES);
    assert_eq!(
        result.errors[0].object,
        format!("AWS::SNS::Topic {}", topic_arn(1))
    );
    assert_eq!(
        result.errors[0].message,
        "BatchGetResourceConfig left the key unprocessed after 2 calls"
    );
}

#[tokio::test]
async fn rule_compliance_pages_through_rules_and_results() {
    let lake = TestLake::new();
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "config", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(fixture!("describe-config-rules-page-1.json")),
        ok(fixture!("describe-config-rules-page-2.json")),
        ok(fixture!("compliance-versioning-page-1.json")),
        ok(fixture!("compliance-versioning-page-2.json")),
        ok(fixture!("compliance-sns.json")),
    ]);

    let calls = rule_compliance(&client(&replay), &ctx, &mut out)
        .await
        .expect("every page is read");
    let result = out.finish(&[RULE_COMPLIANCE], None).await;

    assert_eq!(calls, 5);
    let requests = sent(&replay);
    let asked: Vec<(&str, Option<&str>, Option<&str>)> = requests
        .iter()
        .map(|(action, body)| {
            (
                action.as_str(),
                body["ConfigRuleName"].as_str(),
                body["NextToken"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        asked,
        [
            ("DescribeConfigRules", None, None),
            ("DescribeConfigRules", None, Some("rules-page-2")),
            (
                "GetComplianceDetailsByConfigRule",
                Some("s3-bucket-versioning-enabled"),
                None
            ),
            (
                "GetComplianceDetailsByConfigRule",
                Some("s3-bucket-versioning-enabled"),
                Some("eval+page/2==")
            ),
            (
                "GetComplianceDetailsByConfigRule",
                Some("sns-encrypted-kms"),
                None
            ),
        ]
    );
    assert_eq!(
        requests[2].1["ComplianceTypes"],
        json!(["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"])
    );
    assert_eq!(requests[2].1["Limit"], 100);

    assert_eq!(rows(&result, RULE_COMPLIANCE), 4);
    assert_eq!(
        lake.strings(&result, RULE_COMPLIANCE, "resource_id").await,
        [
            "data-bucket",
            "logs-bucket",
            "web-bucket",
            "arn:aws:sns:us-east-1:012345678901:alerts"
        ]
    );
    assert_eq!(
        lake.strings(&result, RULE_COMPLIANCE, "compliance_type")
            .await,
        [
            "COMPLIANT",
            "NON_COMPLIANT",
            "NOT_APPLICABLE",
            "NON_COMPLIANT"
        ]
    );
    assert_eq!(
        lake.strings(&result, RULE_COMPLIANCE, "config_rule_state")
            .await,
        ["ACTIVE", "ACTIVE", "ACTIVE", "EVALUATING"]
    );
    let batch = &lake.batches(&result, RULE_COMPLIANCE).await[0];
    let recorded = batch
        .column_by_name("result_recorded_time")
        .expect("column")
        .as_primitive::<arrow::datatypes::TimestampMillisecondType>();
    // Rows of a page are sorted by the table's key: data-bucket, then logs-bucket.
    assert_eq!(recorded.value(0), 1_733_300_101_000);
    assert_eq!(recorded.value(1), 1_733_300_100_500);
    let annotation = batch
        .column_by_name("annotation")
        .expect("column")
        .as_string::<i32>();
    assert!(annotation.is_null(0));
    assert_eq!(annotation.value(1), "Versioning is not enabled.");
}

#[tokio::test]
async fn aggregator_rows_carry_each_items_account_and_region() {
    let lake = TestLake::new();
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "config", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(fixture!("list-aggregate-discovered-resources.json")),
        ok(fixture!("batch-get-aggregate-resource-config.json")),
        ok(fixture!("batch-get-aggregate-resource-config-retry.json")),
    ]);

    let calls = aggregate_resources(
        &client(&replay),
        &ctx,
        &mut out,
        "org-aggregator",
        &[ResourceType::Topic],
        &quick(),
    )
    .await
    .expect("the aggregator is read");
    let result = out.finish(&[RESOURCES], None).await;

    assert_eq!(calls, 3);
    let requests = sent(&replay);
    assert_eq!(requests[0].0, "ListAggregateDiscoveredResources");
    assert_eq!(
        requests[0].1["ConfigurationAggregatorName"],
        "org-aggregator"
    );
    assert_eq!(requests[0].1["ResourceType"], "AWS::SNS::Topic");
    assert_eq!(requests[1].0, "BatchGetAggregateResourceConfig");
    assert_eq!(
        requests[1].1["ResourceIdentifiers"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        requests[2].1["ResourceIdentifiers"][0]["SourceAccountId"],
        "444455556666"
    );

    assert_eq!(rows(&result, RESOURCES), 2);
    assert_eq!(
        result.account_id, ACCOUNT_ID,
        "the aggregator's account is the partition"
    );
    assert_eq!(
        lake.strings(&result, RESOURCES, "resource_account_id")
            .await,
        ["111122223333", "444455556666"]
    );
    assert_eq!(
        lake.strings(&result, RESOURCES, "resource_region").await,
        ["eu-west-1", "us-east-1"]
    );
}

/// The whole source over a replay client: `extract` makes its own client from the context.
async fn extract_with(
    options: ConfigOptions,
    answers: Vec<ReplayEvent>,
) -> (StaticReplayClient, SourceResult) {
    let lake = TestLake::new();
    let replay = StaticReplayClient::new(answers);
    let mut ctx = context();
    ctx.sdk = crate::testing::replay_sdk_config(&replay, 2);
    let mut out = SourceOutput::new(&lake.lake, "config", &ctx);
    ConfigSource::new(options)
        .extract(&ctx, &mut out)
        .await
        .expect("failures are recorded, not returned");
    (replay, out.finish(TABLES, None).await)
}

#[tokio::test]
async fn no_recorder_is_not_enabled_and_commits_empty_tables() {
    let (replay, result) = extract_with(
        quick(),
        vec![answer(400, fixture!("no-such-configuration-recorder.json"))],
    )
    .await;

    assert_eq!(replay.actual_requests().count(), 1);
    assert_eq!(result.coverage.len(), 1);
    let coverage = &result.coverage[0];
    assert_eq!(coverage.api, "DescribeConfigurationRecorders");
    assert_eq!(coverage.status, CoverageStatus::NotEnabled);
    assert_eq!(coverage.tables, [RESOURCES, RULE_COMPLIANCE]);
    assert_eq!(rows(&result, RESOURCES), 0);
    assert_eq!(rows(&result, RULE_COMPLIANCE), 0);
}

#[tokio::test]
async fn access_denied_fails_the_tables_with_access_denied_coverage() {
    let (_, result) =
        extract_with(quick(), vec![answer(400, fixture!("access-denied.json"))]).await;

    let coverage = &result.coverage[0];
    assert_eq!(coverage.status, CoverageStatus::AccessDenied);
    for table in TABLES {
        match table_result(&result, table) {
            TableResult::Failed { error, .. } => {
                assert!(error.contains("DescribeConfigurationRecorders"), "{error}");
                assert!(error.contains(ACCOUNT_ID), "{error}");
            }
            TableResult::Written(_) => panic!("{table} was written"),
        }
    }
}

#[tokio::test]
async fn an_aggregator_is_read_only_in_its_own_region() {
    let options = ConfigOptions {
        aggregator: Some("org-aggregator".to_owned()),
        aggregator_region: Some("eu-west-1".to_owned()),
        ..quick()
    };
    let (replay, result) = extract_with(options, vec![ok(r#"{"ConfigRules": []}"#)]).await;

    let actions: Vec<String> = sent(&replay).into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        ["DescribeConfigRules"],
        "us-east-1 does not read the aggregator"
    );
    assert_eq!(rows(&result, RESOURCES), 0);
    assert_eq!(rows(&result, RULE_COMPLIANCE), 0);
    let apis: Vec<(&str, CoverageStatus)> = result
        .coverage
        .iter()
        .map(|c| (c.api.as_str(), c.status))
        .collect();
    assert_eq!(
        apis,
        [("GetComplianceDetailsByConfigRule", CoverageStatus::Ok)]
    );
}
