//! Replay tests of the ECR source: the real SDK client, answered from recorded responses.
//!
//! moto returns every page at once and has no enhanced (Inspector) scanning of its own,
//! so following `nextToken`, refusing a repeated token, enhanced findings and error
//! answers are shown with recorded bodies under `tests/fixtures/ecr/replay/` (see its
//! `ATTRIBUTION.md`). The tests read back the requests the replay client kept.

use std::time::Duration;

use arrow::json::WriterBuilder;
use arrow::json::writer::JsonArray;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use lakewarden_lake::{Lake, RunInfo};
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use super::ecr::{Family, extract_with, findings};
use super::rows::FindingRow;
use super::{FINDINGS, IMAGES, REPOSITORIES, TABLES};
use crate::testing::{memory_lake, recorded};
use crate::{CoverageStatus, ExtractError, SourceContext, SourceOutput, TableResult};

const ACCOUNT_ID: &str = "012345678910";
const REGISTRY: &str = "012345678910.dkr.ecr.us-east-1.amazonaws.com";
const DIGEST_1: &str = "sha256:4a1c6567c38904384ebc64e35b7eeddd8451110c299e3368d2210066487d97e5";
const DIGEST_2: &str = "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/ecr/replay/",
            $name
        ))
    };
}

const FINDINGS_1: &str = fixture!("describe-image-scan-findings-page-1.json");
const FINDINGS_2: &str = fixture!("describe-image-scan-findings-page-2-enhanced.json");
const IMAGES_1: &str = fixture!("describe-images-page-1.json");
const IMAGES_2: &str = fixture!("describe-images-page-2.json");
const REPOSITORIES_PAGE: &str = fixture!("describe-repositories.json");
const SCANNING: &str = fixture!("get-registry-scanning-configuration-enhanced.json");
const POLICY_NOT_FOUND: &str = fixture!("repository-policy-not-found.json");
const LIFECYCLE_DENIED: &str = fixture!("lifecycle-access-denied.json");
const SCAN_NOT_FOUND: &str = fixture!("scan-not-found.json");
const BATCH_GET_IMAGE: &str = fixture!("batch-get-image.json");

fn answer(status: u16, body: &str) -> ReplayEvent {
    recorded(status, "application/x-amz-json-1.1", None, body)
}

fn client(replay: &StaticReplayClient) -> Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "replay",
        ))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .http_client(replay.clone())
        .build();
    Client::from_conf(config)
}

fn context() -> SourceContext {
    SourceContext {
        run: RunInfo::start(chrono::Utc::now()),
        account_id: ACCOUNT_ID.to_owned(),
        region: "us-east-1".to_owned(),
        sdk: aws_types::SdkConfig::builder().build(),
        limits: std::sync::Arc::new(crate::RateLimits::new(
            Default::default(),
            crate::Rate::new(0.0, 0.0),
        )),
    }
}

/// The operation (from `X-Amz-Target`) and JSON body of every request sent.
fn sent(replay: &StaticReplayClient) -> Vec<(String, Value)> {
    replay
        .actual_requests()
        .map(|request| {
            let target = request
                .headers()
                .get("x-amz-target")
                .expect("a JSON 1.1 request names its target");
            let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
            let body = request.body().bytes().expect("the body is in memory");
            (
                operation,
                serde_json::from_slice(body).expect("a JSON body"),
            )
        })
        .collect()
}

#[tokio::test]
async fn scan_findings_follow_next_token_and_read_enhanced_findings() {
    let replay = StaticReplayClient::new(vec![answer(200, FINDINGS_1), answer(200, FINDINGS_2)]);
    let mut family = Family::default();
    let scan = findings(
        &client(&replay),
        &context(),
        &mut family,
        REGISTRY,
        "sample-repo",
        DIGEST_2,
    )
    .await
    .expect("both pages read");

    let requests = sent(&replay);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].1.get("nextToken"), None);
    assert_eq!(requests[1].1["nextToken"], "ZXhhbXBsZS1uZXh0LXRva2Vu+/==");
    assert_eq!(requests[1].1["imageId"], json!({"imageDigest": DIGEST_2}));
    assert_eq!(family.calls, 2);

    let base = FindingRow {
        registry_kind: "ecr",
        registry: REGISTRY.to_owned(),
        repository_name: "sample-repo".to_owned(),
        image_digest: DIGEST_2.to_owned(),
        vulnerability_id: String::new(),
        severity: None,
        package_name: None,
        package_version: None,
        fixed_version: None,
        cvss_score: None,
        cvss_vector: None,
        uri: None,
        description: None,
        status: None,
        finding_source: "basic",
    };
    let expat_description = "In Expat (aka libexpat) before 2.4.3, a left shift by 29 (or \
        more) places in the storeAtts function in xmlparse.c can lead to realloc misbehavior.";
    let enhanced = FindingRow {
        vulnerability_id: "CVE-2022-22822".to_owned(),
        severity: Some("CRITICAL".to_owned()),
        package_name: Some("expat".to_owned()),
        package_version: Some("2.2.10".to_owned()),
        fixed_version: Some("0:2.2.10-2+deb11u1".to_owned()),
        cvss_score: Some(9.8),
        cvss_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned()),
        uri: Some("https://security-tracker.debian.org/tracker/CVE-2022-22822".to_owned()),
        description: Some(expat_description.to_owned()),
        status: Some("ACTIVE".to_owned()),
        finding_source: "enhanced",
        ..base.clone()
    };
    assert_eq!(scan.rows.len(), 3, "{:#?}", scan.rows);
    assert_eq!(scan.rows[0].vulnerability_id, "CVE-2019-5188");
    assert_eq!(scan.rows[0].severity.as_deref(), Some("MEDIUM"));
    assert_eq!(scan.rows[0].package_name.as_deref(), Some("e2fsprogs"));
    assert_eq!(
        scan.rows[0].package_version.as_deref(),
        Some("1.44.1-1ubuntu1.1")
    );
    assert_eq!(scan.rows[0].cvss_score, Some(4.6));
    assert_eq!(
        scan.rows[0].cvss_vector.as_deref(),
        Some("AV:L/AC:L/Au:N/C:P/I:P/A:P")
    );
    assert_eq!(scan.rows[0].finding_source, "basic");
    assert_eq!(scan.rows[1], enhanced);
    assert_eq!(
        scan.rows[2],
        FindingRow {
            package_name: Some("libexpat1".to_owned()),
            ..enhanced
        }
    );
}

#[tokio::test]
async fn a_repeated_scan_findings_token_is_an_error_not_a_loop() {
    let replay = StaticReplayClient::new(vec![answer(200, FINDINGS_1), answer(200, FINDINGS_1)]);
    let mut family = Family::default();
    let error = findings(
        &client(&replay),
        &context(),
        &mut family,
        REGISTRY,
        "sample-repo",
        DIGEST_2,
    )
    .await
    .expect_err("the same token twice");
    assert!(
        matches!(
            error,
            ExtractError::RepeatedToken {
                api: "DescribeImageScanFindings",
                pages: 2,
                ..
            }
        ),
        "{error}"
    );
}

/// Rows of a table written to the in-memory lake, as JSON.
async fn read_rows(lake: &Lake, files: &[String]) -> Vec<serde_json::Map<String, Value>> {
    let mut rows = Vec::new();
    for file in files {
        let bytes = lake
            .store()
            .get(&object_store::path::Path::from(file.as_str()))
            .await
            .expect("file exists")
            .bytes()
            .await
            .expect("bytes");
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .expect("Parquet")
            .build()
            .expect("reader");
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, JsonArray>(Vec::new());
        for batch in reader {
            writer.write(&batch.expect("batch")).expect("JSON");
        }
        writer.finish().expect("JSON");
        let text = writer.into_inner();
        if text.is_empty() {
            continue;
        }
        let values: Vec<Value> = serde_json::from_slice(&text).expect("rows");
        rows.extend(
            values
                .into_iter()
                .map(|v| v.as_object().expect("row").clone()),
        );
    }
    rows
}

#[tokio::test]
async fn the_source_under_enhanced_scanning_with_normal_and_denied_errors() {
    let replay = StaticReplayClient::new(vec![
        answer(200, SCANNING),
        answer(200, REPOSITORIES_PAGE),
        answer(400, POLICY_NOT_FOUND),
        answer(400, LIFECYCLE_DENIED),
        answer(200, IMAGES_1),
        answer(200, IMAGES_2),
        answer(400, SCAN_NOT_FOUND),
        answer(200, FINDINGS_2),
        answer(200, BATCH_GET_IMAGE),
    ]);
    let lake = memory_lake();
    let ctx = context();
    let mut out = SourceOutput::new(&lake, "ecr", &ctx);
    extract_with(&client(&replay), &ctx, &mut out)
        .await
        .expect("the source runs");
    let result = out.finish(TABLES, None).await;

    let operations: Vec<String> = sent(&replay).into_iter().map(|(op, _)| op).collect();
    assert_eq!(
        operations,
        [
            "GetRegistryScanningConfiguration",
            "DescribeRepositories",
            "GetRepositoryPolicy",
            "GetLifecyclePolicy",
            "DescribeImages",
            "DescribeImages",
            "DescribeImageScanFindings",
            "DescribeImageScanFindings",
            "BatchGetImage",
        ]
    );
    assert_eq!(
        sent(&replay)[8].1["imageIds"],
        json!([{"imageDigest": DIGEST_1}, {"imageDigest": DIGEST_2}])
    );
    assert_eq!(sent(&replay)[5].1["nextToken"], "aW1hZ2VzLXBhZ2UtMg==");

    let status = |api: &str| {
        let row = result
            .coverage
            .iter()
            .find(|c| c.api == api)
            .unwrap_or_else(|| panic!("no coverage for {api}"));
        (row.status, row.calls)
    };
    assert_eq!(status("GetRepositoryPolicy"), (CoverageStatus::Ok, Some(1)));
    assert_eq!(
        status("GetLifecyclePolicy"),
        (CoverageStatus::AccessDenied, Some(1))
    );
    assert_eq!(status("DescribeImages"), (CoverageStatus::Ok, Some(2)));
    assert_eq!(status("BatchGetImage"), (CoverageStatus::Ok, Some(1)));
    assert_eq!(
        status("DescribeImageScanFindings"),
        (CoverageStatus::Ok, Some(2))
    );

    let written = |name: &str| match result
        .tables
        .iter()
        .find(|t| matches!(t, TableResult::Written(o) if o.table == name))
    {
        Some(TableResult::Written(output)) => output.files.clone(),
        _ => panic!("{name} not written: {:?}", result.tables),
    };
    let repositories = read_rows(&lake, &written(REPOSITORIES)).await;
    assert_eq!(repositories.len(), 1);
    let repository = &repositories[0];
    assert_eq!(repository["scan_type"], "ENHANCED");
    assert_eq!(
        repository["policy_public"], false,
        "no policy is not public"
    );
    assert!(repository["policy"].is_null());
    assert!(
        repository["lifecycle_policy"].is_null(),
        "denied: null, and the coverage row says why"
    );
    assert_eq!(repository["created_at"], "2019-08-06T21:46:40.500Z");

    let images = read_rows(&lake, &written(IMAGES)).await;
    assert_eq!(images.len(), 2);
    let first = images
        .iter()
        .find(|r| r["image_digest"] == DIGEST_1)
        .expect("first image");
    assert_eq!(first["tags"], json!(["v1.13.6"]));
    assert_eq!(first["pushed_at"], "2019-08-06T21:51:15Z");
    assert_eq!(first["size_bytes"], 48_318_255);
    assert!(first["scan_status"].is_null());
    assert_eq!(first["layer_count"], 2);
    assert_eq!(first["base_image_name"], "gcr.io/distroless/static:nonroot");
    assert_eq!(
        first["base_image_digest"],
        format!("sha256:{}", "4f".repeat(32))
    );
    let second = images
        .iter()
        .find(|r| r["image_digest"] == DIGEST_2)
        .expect("second image");
    assert_eq!(
        second["tags"],
        json!([]),
        "untagged: an empty list, not null"
    );
    assert_eq!(second["scan_status"], "ACTIVE");
    assert!(
        second["layer_count"].is_null(),
        "BatchGetImage did not return it"
    );
    assert_eq!(second["pushed_at"], "2019-08-06T21:51:40.250Z");
    assert_eq!(second["last_pulled_at"], "2023-11-14T22:13:20.500Z");
    // Enhanced scanning: neither DescribeImages nor the findings report counts, so
    // every count is null, not 0.
    for severity in [
        "critical",
        "high",
        "medium",
        "low",
        "informational",
        "undefined",
    ] {
        assert!(
            second[&format!("findings_{severity}")].is_null(),
            "{second:?}"
        );
    }

    let findings = read_rows(&lake, &written(FINDINGS)).await;
    let packages: Vec<(&str, &str)> = findings
        .iter()
        .map(|r| {
            (
                r["package_name"].as_str().expect("package"),
                r["finding_source"].as_str().expect("source"),
            )
        })
        .collect();
    assert_eq!(packages, [("expat", "enhanced"), ("libexpat1", "enhanced")]);
}
