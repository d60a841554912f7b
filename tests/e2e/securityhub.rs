//! Security Hub end to end: `lakewarden run` against the emulator seeded with exported
//! findings (full, then incremental, then `--full` again), and `lakewarden import
//! securityhub` of exported files from local disk and from the emulator's S3, read back
//! through the shipped DuckDB views.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use aws_sdk_securityhub::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, RecordState, Resource, Severity, SeverityLabel,
};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{Map, Value};

use crate::harness::{
    ACCOUNT, BUCKET, assert_success, duckdb, emulator, lakewarden, read_parquet, repo_root,
    run_id_of,
};

const FINDINGS: &str = "securityhub_findings";

/// A config that reads Security Hub findings only: the emulator has no standards.
fn findings_only_config(dir: &Path) -> PathBuf {
    let path = dir.join("lakewarden.toml");
    std::fs::write(
        &path,
        "[sources.iam]\nenabled = false\n\n[sources.securityhub]\nenabled = true\n\
         standards = false\n",
    )
    .expect("config written");
    path
}

/// Run with `config`, reading only `region`.
fn run(config: &Path, lake: &Path, region: &str, extra: &[&str]) -> (Output, String) {
    let in_region = config.with_extension(format!("{region}.toml"));
    let text = std::fs::read_to_string(config).expect("config");
    std::fs::write(
        &in_region,
        format!("[scope]\nregions = [\"{region}\"]\n\n{text}"),
    )
    .expect("config written");
    let output = lakewarden()
        .arg("run")
        .arg("--no-progress")
        .arg("--config")
        .arg(&in_region)
        .arg("--lake")
        .arg(lake)
        .args(extra)
        .output()
        .expect("lakewarden runs");
    assert_success(&output);
    let run_id = run_id_of(&output);
    (output, run_id)
}

/// The structured fields of the log event `message` in a run's JSON log.
fn log_event(output: &Output, message: &str) -> Map<String, Value> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["fields"]["message"] == message)
        .and_then(|event| event["fields"].as_object().cloned())
        .unwrap_or_else(|| {
            panic!(
                "no log event {message:?}:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/securityhub").join(name)
}

fn count(rows: &[Map<String, Value>]) -> i64 {
    rows[0]["n"].as_i64().expect("a count")
}

#[test]
fn securityhub_run_gives_the_seeded_findings_per_account_and_region() {
    let work = tempfile::tempdir().expect("dir");
    let lake = work.path().join("lake");
    let config = findings_only_config(work.path());
    let (output, _) = run(&config, &lake, "us-east-1", &[]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(" complete"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let expected = emulator().expected_by_region["us-east-1"][FINDINGS];
    assert_eq!(expected, 8, "the seed's active findings");
    let rows = duckdb(
        &lake,
        "SELECT account_id, region, count(*) AS n, count(DISTINCT aws_account_id) AS owners, \
         count(compliance_status) AS controls FROM securityhub_findings GROUP BY ALL;",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["account_id"], ACCOUNT);
    assert_eq!(rows[0]["region"], "us-east-1");
    assert_eq!(rows[0]["n"].as_u64(), Some(expected));
    assert_eq!(rows[0]["owners"], 1);
    assert_eq!(
        rows[0]["controls"], 3,
        "the three Config findings carry Compliance"
    );

    let coverage = duckdb(
        &lake,
        "SELECT api, status, calls FROM lake_coverage WHERE source = 'securityhub';",
    );
    assert_eq!(coverage.len(), 1, "{coverage:?}");
    assert_eq!(coverage[0]["api"], "GetFindings");
    assert_eq!(coverage[0]["status"], "ok");
    assert_eq!(coverage[0]["calls"], 1);

    let control = duckdb(
        &lake,
        "SELECT security_control_id, product_fields['ControlId'] AS field, \
         resources[1].type AS resource_type, updated_at::VARCHAR AS updated \
         FROM securityhub_findings WHERE finding_id LIKE '%IAM.5/finding/de861909%';",
    );
    assert_eq!(control.len(), 1, "{control:?}");
    assert_eq!(control[0]["security_control_id"], "IAM.5");
    assert_eq!(control[0]["field"], "IAM.5");
    assert_eq!(control[0]["resource_type"], "AwsAccount");
    assert_eq!(control[0]["updated"], "2020-06-14 21:02:53.454+00");
}

fn securityhub_client(region: &str) -> aws_sdk_securityhub::Client {
    let emulator = emulator();
    let config = aws_sdk_securityhub::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(&emulator.endpoint)
        .credentials_provider(Credentials::new(
            &emulator.access_key_id,
            &emulator.secret_access_key,
            None,
            None,
            "e2e",
        ))
        .build();
    aws_sdk_securityhub::Client::from_conf(config)
}

/// A finding of the test account in `region`, as the account's own product reports it.
fn finding(
    region: &str,
    id: &str,
    title: &str,
    state: RecordState,
    at: &str,
) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(format!(
            "arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default"
        ))
        .generator_id("lakewarden-e2e")
        .aws_account_id(ACCOUNT)
        .types("Software and Configuration Checks")
        .created_at(at)
        .updated_at(at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::High)
                .normalized(70)
                .build(),
        )
        .title(title)
        .description("Written by the end-to-end test")
        .resources(
            Resource::builder()
                .r#type("AwsAccount")
                .id(format!("AWS::::Account:{ACCOUNT}"))
                .build(),
        )
        .record_state(state)
        .build()
}

/// One snapshot of the findings table: every column but the run's own, by finding id.
fn snapshot(lake: &Path, run_id: &str) -> Vec<Map<String, Value>> {
    duckdb(
        lake,
        &format!(
            "SELECT * EXCLUDE (run_id, snapshot_at, dt) FROM securityhub_findings_history \
             WHERE run_id = '{run_id}' ORDER BY finding_id;"
        ),
    )
}

#[test]
fn securityhub_second_run_is_incremental_and_equals_a_full_pull() {
    // eu-west-1 is this test's own: it changes findings there.
    const REGION: &str = "eu-west-1";
    let work = tempfile::tempdir().expect("dir");
    let lake = work.path().join("lake");
    let config = findings_only_config(work.path());

    let (first, _) = run(&config, &lake, REGION, &[]);
    let pulled = log_event(&first, "Findings pulled");
    assert_eq!(pulled["incremental"], false);
    assert_eq!(pulled["written"], 8);

    // Between the runs: one finding retitled, one archived, one new.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let retitled =
        "arn:aws:guardduty:us-east-1:123456789012:detector/123456789/finding/123456789789";
    let archived = "arn:aws:securityhub:us-east-1:012345678912:subscription/\
                    aws-foundational-security-best-practices/v/1.0.0/IAM.5/finding/\
                    de861909-2d26-4e45-bd86-19d2ab6ceef1";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let answer = runtime
        .block_on(
            securityhub_client(REGION)
                .batch_import_findings()
                .findings(finding(
                    REGION,
                    retitled,
                    "retitled",
                    RecordState::Active,
                    &now,
                ))
                .findings(finding(
                    REGION,
                    archived,
                    "archived",
                    RecordState::Archived,
                    &now,
                ))
                .findings(finding(REGION, "e2e-new", "new", RecordState::Active, &now))
                .send(),
        )
        .expect("findings imported");
    assert_eq!(answer.failed_count(), Some(0));

    let (second, incremental) = run(&config, &lake, REGION, &[]);
    let pulled = log_event(&second, "Findings pulled");
    assert_eq!(pulled["incremental"], true);
    // Moto ignores the filter and returns all nine; the window admits the three changed
    // ones and the one other seeded finding within the hour of overlap before the
    // watermark.
    assert_eq!(pulled["pulled"], 4);
    assert_eq!(
        log_event(&second, "Carried over unchanged findings")["carried"],
        5
    );

    let (third, full) = run(&config, &lake, REGION, &["--full"]);
    assert_eq!(log_event(&third, "Findings pulled")["incremental"], false);

    let after_incremental = snapshot(&lake, &incremental);
    assert_eq!(after_incremental, snapshot(&lake, &full));
    assert_eq!(
        after_incremental.len(),
        8,
        "8 seeded, one archived, one new"
    );
    let title = |id: &str| {
        after_incremental
            .iter()
            .find(|row| row["finding_id"] == id)
            .map(|row| row["title"].as_str().expect("a title").to_owned())
    };
    assert_eq!(title(retitled).as_deref(), Some("retitled"));
    assert_eq!(title("e2e-new").as_deref(), Some("new"));
    assert_eq!(title(archived), None);
}

fn import(lake: &Path, location: &str) -> Output {
    lakewarden()
        .args(["import", "securityhub", location, "--lake"])
        .arg(lake)
        .output()
        .expect("lakewarden runs")
}

#[test]
fn securityhub_import_of_exported_files_local_and_from_s3() {
    let work = tempfile::tempdir().expect("dir");
    let lake = work.path().join("lake");

    // Day one: GuardDuty findings, no Compliance. Day two: Config control findings.
    for name in ["guardduty-findings.json", "config-findings.json"] {
        let output = import(&lake, fixture(name).to_str().expect("utf-8"));
        assert_success(&output);
    }
    let by_product = duckdb(
        &lake,
        "SELECT account_id, region, product_name, count(*) AS n, \
         count(compliance_status) AS controls FROM securityhub_findings \
         GROUP BY ALL ORDER BY product_name;",
    );
    let summary: Vec<(String, String, String, i64, i64)> = by_product
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str().expect("s").to_owned(),
                r["region"].as_str().expect("s").to_owned(),
                r["product_name"].as_str().expect("s").to_owned(),
                r["n"].as_i64().expect("n"),
                r["controls"].as_i64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "123456789012".into(),
                "us-east-1".into(),
                "GuardDuty".into(),
                4,
                0
            ),
            (
                "012345678912".into(),
                "us-east-1".into(),
                "Security Hub".into(),
                3,
                3
            ),
        ]
    );

    // Both runs' files have the very same Parquet schema.
    let files = duckdb(
        &lake,
        "SELECT unnest(files) AS file FROM lake_runs \
         WHERE table_name = 'securityhub_findings' ORDER BY committed_at;",
    );
    assert_eq!(files.len(), 2, "{files:?}");
    let schemas: Vec<_> = files
        .iter()
        .map(|f| {
            let path = lake.join(f["file"].as_str().expect("a path"));
            let bytes = std::fs::read(&path).expect("a data file");
            read_parquet(bytes::Bytes::from(bytes)).0
        })
        .collect();
    assert_eq!(schemas[0], schemas[1]);

    // An invalid file is rejected by name; the other file of the folder still imports.
    let folder = work.path().join("exports");
    std::fs::create_dir(&folder).expect("dir");
    for name in [
        "awscli-get-findings.not-valid-json.txt",
        "guardduty-persistence-array.json",
    ] {
        std::fs::copy(fixture(name), folder.join(name)).expect("copied");
    }
    let partial = import(&lake, folder.to_str().expect("utf-8"));
    assert_eq!(partial.status.code(), Some(2), "partial import");
    let stderr = String::from_utf8_lossy(&partial.stderr);
    let rejected = folder.join("awscli-get-findings.not-valid-json.txt");
    assert!(
        stderr.contains(&format!(
            "rejected input {}: not valid JSON",
            rejected.display()
        )),
        "{stderr}"
    );
    let eu = duckdb(
        &lake,
        "SELECT count(*) AS n FROM securityhub_findings WHERE region = 'eu-west-1';",
    );
    assert_eq!(count(&eu), 1);

    // The same day-one file from the emulator's S3 gives the same rows.
    let prefix = format!("imports/{}", uuid_like());
    let s3 = AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_endpoint(&emulator().endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id(&emulator().access_key_id)
        .with_secret_access_key(&emulator().secret_access_key)
        .build()
        .expect("S3 store");
    let s3: Arc<dyn ObjectStore> = Arc::new(s3);
    let bytes = std::fs::read(fixture("guardduty-findings.json")).expect("fixture");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(s3.put(
            &StorePath::from(format!("{prefix}/guardduty.json")),
            bytes.into(),
        ))
        .expect("uploaded");
    let from_s3 = work.path().join("lake-from-s3");
    assert_success(&import(&from_s3, &format!("s3://{BUCKET}/{prefix}/")));
    let ids = "SELECT finding_id, title, updated_at::VARCHAR AS updated FROM securityhub_findings \
               WHERE account_id = '123456789012' AND region = 'us-east-1' ORDER BY finding_id;";
    let local_rows = duckdb(&lake, ids);
    assert_eq!(local_rows.len(), 4);
    assert_eq!(duckdb(&from_s3, ids), local_rows);
}

/// A name no other test run uses.
fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}
