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
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use lakewarden_lake::{Lake, RunInfo};
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use super::ecr::{Family, extract_with, findings};
use super::oci::OciOptions;
use super::rows::FindingRow;
use super::{FINDINGS, IMAGES, REPOSITORIES, TABLES};
use crate::testing::{memory_lake, recorded};
use crate::{CoverageStatus, ExtractError, SourceContext, SourceOutput, SourceResult, TableResult};

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
const LAYERS_NOT_FOUND: &str = fixture!("layers-not-found.json");

fn answer(status: u16, body: &str) -> ReplayEvent {
    recorded(status, "application/x-amz-json-1.1", None, body)
}

fn client(replay: &StaticReplayClient) -> Client {
    Client::new(&crate::testing::replay_sdk_config(replay, 2))
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

/// The object and message of each `lake_errors` row of a source.
fn error_rows(result: &SourceResult) -> Vec<(&str, &str)> {
    result
        .errors
        .iter()
        .map(|e| (e.object.as_str(), e.message.as_str()))
        .collect()
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
        answer(400, LAYERS_NOT_FOUND),
    ]);
    let lake = memory_lake();
    let ctx = context();
    let mut out = SourceOutput::new(&lake, "ecr", &ctx);
    extract_with(&client(&replay), &ctx, &OciOptions::default(), &mut out)
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
            "GetDownloadUrlForLayer",
        ]
    );
    assert_eq!(
        sent(&replay)[9].1,
        json!({"repositoryName": "cluster-autoscaler", "registryId": ACCOUNT_ID,
            "layerDigest": format!("sha256:{}", "1c".repeat(32))})
    );
    // Neither image config was read, and each has a lake_errors row that says why.
    let errors = error_rows(&result);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0].0,
        format!("{REGISTRY}/cluster-autoscaler@{DIGEST_2}")
    );
    assert_eq!(
        errors[0].1,
        "config not read: BatchGetImage returned no manifest for the image"
    );
    assert_eq!(
        errors[1].0,
        format!("{REGISTRY}/cluster-autoscaler@{DIGEST_1}")
    );
    assert!(
        errors[1]
            .1
            .starts_with(&format!("config sha256:{}: ", "1c".repeat(32)))
            && errors[1].1.contains("LayersNotFoundException"),
        "{}",
        errors[1].1
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
    // A missing layer concerns one image, not the API.
    assert_eq!(
        status("GetDownloadUrlForLayer"),
        (CoverageStatus::Ok, Some(1))
    );
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
    assert!(first["user"].is_null() && first["runs_as_root"].is_null());
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

/// Debian's docker-registry (Distribution) on 127.0.0.1, storing into a temporary folder:
/// the real server the config downloads of the next test go to. Stopped when dropped.
struct LocalRegistry {
    child: std::process::Child,
    base: url::Url,
    _storage: tempfile::TempDir,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalRegistry {
    async fn start() -> Self {
        const BINARY: &str = "/usr/bin/docker-registry";
        assert!(
            std::path::Path::new(BINARY).exists(),
            "{BINARY} is not installed: run `make registry-tools`"
        );
        let storage = tempfile::tempdir().expect("temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    \
                 rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.path().join("data").display()
            ),
        )
        .expect("config written");
        let child = std::process::Command::new(BINARY)
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let registry = Self {
            child,
            base: url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("URL"),
            _storage: storage,
        };
        let probe = registry.base.join("/v2/").expect("URL");
        for _ in 0..300 {
            if reqwest::get(probe.clone()).await.is_ok() {
                return registry;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("docker-registry did not answer on {probe} in 30 s");
    }

    /// Push a blob with the registry's two-step upload; returns its digest.
    async fn push_blob(&self, repository: &str, body: &[u8]) -> String {
        let digest = super::oci::manifest::sha256_digest(body);
        let http = reqwest::Client::new();
        let started = http
            .post(
                self.base
                    .join(&format!("/v2/{repository}/blobs/uploads/"))
                    .expect("URL"),
            )
            .send()
            .await
            .expect("upload started");
        assert_eq!(started.status().as_u16(), 202);
        let location = started.headers()["location"].to_str().expect("text");
        let mut upload = self.base.join(location).expect("upload URL");
        upload.query_pairs_mut().append_pair("digest", &digest);
        let done = http
            .put(upload)
            .header("content-type", "application/octet-stream")
            .body(body.to_vec())
            .send()
            .await
            .expect("blob uploaded");
        assert_eq!(done.status().as_u16(), 201, "{:?}", done.text().await);
        digest
    }

    /// A download URL for a blob as ECR hands one out: presigned, the signature in the
    /// query (Distribution ignores query parameters it does not know).
    fn download_url(&self, repository: &str, digest: &str) -> String {
        format!(
            "{}v2/{repository}/blobs/{digest}?X-Amz-Algorithm=AWS4-HMAC-SHA256&\
             X-Amz-Credential=ASIAEXAMPLEKEYID%2F20261204%2Fus-east-1%2Fs3%2Faws4_request&\
             X-Amz-Signature={SIGNATURE}",
            self.base
        )
    }
}

/// The signature of the download URLs: it must appear in no message.
const SIGNATURE: &str = "5d3c0ffee1c2a0e9b7d9a7c1e4f2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4";

fn manifest_with_config(config_digest: &str, config_size: usize) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "size": config_size, "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": 1000, "digest": format!("sha256:{}", "0e".repeat(32))}],
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecr_image_configs_are_downloaded_from_the_url_ecr_hands_out() {
    let registry = LocalRegistry::start().await;
    let repository = "cluster-autoscaler";
    let canary = "canary-value-9f8e7d6c5b4a";
    let root_config = json!({
        "created": "2026-11-30T12:00:00Z", "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/bin", format!("DB_PASSWORD={canary}")],
                   "Entrypoint": ["/cluster-autoscaler"], "Cmd": ["--v=4"],
                   "ExposedPorts": {"8085/tcp": {}}},
        "rootfs": {"type": "layers", "diff_ids": []},
    })
    .to_string();
    let user_config = json!({
        "architecture": "arm64", "variant": "v8", "os": "linux",
        "config": {"User": "65532:65532", "Labels": {"team": "platform"}},
        "rootfs": {"type": "layers", "diff_ids": []},
    })
    .to_string();
    let root_digest = registry.push_blob(repository, root_config.as_bytes()).await;
    let user_digest = registry.push_blob(repository, user_config.as_bytes()).await;
    let missing_digest = format!("sha256:{}", "9a".repeat(32));
    let other_digest = format!("sha256:{}", "9b".repeat(32));

    // Four images: run as root, run as a named user, a config the registry does not
    // have (404), and a download URL that serves another blob than the digest says.
    let images = [
        ("sha256:".to_owned() + &"a1".repeat(32), "1.0"),
        ("sha256:".to_owned() + &"a2".repeat(32), "2.0"),
        ("sha256:".to_owned() + &"a3".repeat(32), "3.0"),
        ("sha256:".to_owned() + &"a4".repeat(32), "4.0"),
    ];
    let configs = [
        (&root_digest, root_config.len(), root_digest.clone()),
        (&user_digest, user_config.len(), user_digest.clone()),
        (&missing_digest, 10, missing_digest.clone()),
        (&other_digest, 10, root_digest.clone()),
    ];
    let describe_images = json!({"imageDetails": images.iter().map(|(digest, tag)| json!({
        "registryId": ACCOUNT_ID, "repositoryName": repository, "imageDigest": digest,
        "imageTags": [tag], "imageSizeInBytes": 1234, "imagePushedAt": 1_796_040_000.0,
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
    })).collect::<Vec<_>>()});
    let batch_get_image = json!({"images": images.iter().zip(&configs).map(
        |((digest, tag), (config, size, _))| json!({
            "registryId": ACCOUNT_ID, "repositoryName": repository,
            "imageId": {"imageDigest": digest, "imageTag": tag},
            "imageManifest": manifest_with_config(config, *size),
            "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        })).collect::<Vec<_>>(), "failures": []});
    let mut events = vec![
        answer(200, SCANNING),
        answer(200, REPOSITORIES_PAGE),
        answer(400, POLICY_NOT_FOUND),
        answer(400, LIFECYCLE_DENIED),
        answer(200, &describe_images.to_string()),
    ];
    events.extend((0..images.len()).map(|_| answer(400, SCAN_NOT_FOUND)));
    events.push(answer(200, &batch_get_image.to_string()));
    for (config, _, served) in &configs {
        let body = json!({"layerDigest": config,
            "downloadUrl": registry.download_url(repository, served)});
        events.push(answer(200, &body.to_string()));
    }
    let replay = StaticReplayClient::new(events);

    let lake = memory_lake();
    let ctx = context();
    let mut out = SourceOutput::new(&lake, "ecr", &ctx);
    // One download at a time keeps the replayed answers in the order of the requests.
    let options = OciOptions {
        concurrency: 1,
        max_attempts: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..OciOptions::default()
    };
    extract_with(&client(&replay), &ctx, &options, &mut out)
        .await
        .expect("the source runs");
    let result = out.finish(TABLES, None).await;

    let asked: Vec<Value> = sent(&replay)
        .into_iter()
        .filter(|(op, _)| op == "GetDownloadUrlForLayer")
        .map(|(_, body)| body["layerDigest"].clone())
        .collect();
    let expected: Vec<Value> = configs.iter().map(|(c, _, _)| json!(c)).collect();
    assert_eq!(asked, expected);
    let coverage = result
        .coverage
        .iter()
        .find(|c| c.api == "GetDownloadUrlForLayer")
        .expect("a coverage row");
    assert_eq!(
        (coverage.status, coverage.calls),
        (CoverageStatus::Ok, Some(4))
    );

    let Some(TableResult::Written(written)) = result
        .tables
        .iter()
        .find(|t| matches!(t, TableResult::Written(o) if o.table == IMAGES))
    else {
        panic!("images not written: {:?}", result.tables);
    };
    let rows = read_rows(&lake, &written.files).await;
    let row = |digest: &str| {
        rows.iter()
            .find(|r| r["image_digest"] == digest)
            .unwrap_or_else(|| panic!("no row for {digest}"))
    };
    let root = row(&images[0].0);
    assert_eq!(root["user"], "");
    assert_eq!(root["runs_as_root"], true);
    assert_eq!(root["entrypoint"], json!(["/cluster-autoscaler"]));
    assert_eq!(root["command"], json!(["--v=4"]));
    assert_eq!(root["exposed_ports"], json!(["8085/tcp"]));
    assert_eq!(root["env_names"], json!(["PATH", "DB_PASSWORD"]));
    assert_eq!(root["image_created_at"], "2026-11-30T12:00:00Z");
    assert_eq!(
        (root["os"].as_str(), root["architecture"].as_str()),
        (Some("linux"), Some("amd64"))
    );
    let user = row(&images[1].0);
    assert_eq!(user["user"], "65532:65532");
    assert_eq!(user["runs_as_root"], false);
    assert_eq!(user["labels"], json!({"team": "platform"}));
    assert_eq!(user["architecture"], "arm64");
    assert_eq!(user["variant"], "v8");
    assert_eq!(user["env_names"], json!([]));
    for unread in [row(&images[2].0), row(&images[3].0)] {
        for column in [
            "user",
            "runs_as_root",
            "entrypoint",
            "env_names",
            "labels",
            "os",
        ] {
            assert!(unread[column].is_null(), "{column}: {unread:?}");
        }
        assert_eq!(unread["layer_count"], 1);
    }

    // The two unread configs are lake_errors rows naming repository and digest; their
    // messages show the download URL without the signature.
    let errors = error_rows(&result);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0].0,
        format!("{REGISTRY}/{repository}@{}", images[2].0)
    );
    assert_eq!(
        errors[0].1,
        format!(
            "config {missing_digest}: GET {}v2/{repository}/blobs/{missing_digest}: HTTP 404",
            registry.base
        )
    );
    assert_eq!(
        errors[1].0,
        format!("{REGISTRY}/{repository}@{}", images[3].0)
    );
    assert_eq!(
        errors[1].1,
        format!("config {other_digest}: the content hashes to {root_digest}")
    );

    // The value of the environment variable is in no row of any table, nor in a message.
    let mut everything = format!("{errors:?}");
    for table in &result.tables {
        if let TableResult::Written(output) = table {
            everything.push_str(&format!("{:?}", read_rows(&lake, &output.files).await));
        }
    }
    assert!(everything.contains("DB_PASSWORD"), "the names are there");
    assert!(!everything.contains(canary) && !everything.contains(SIGNATURE));
}
