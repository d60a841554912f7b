//! The IAM source end to end: seeded account → `lakewarden run` → lake → DuckDB.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

use arrow::json::ArrayWriter;
use lakewarden_lake::Catalog;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{Map, Value};

use crate::harness::{
    ACCOUNT, BUCKET, assert_success, duckdb, emulator, lakewarden, read_parquet, repo_root,
    run_id_of, run_into,
};

const IAM_TABLES: &[&str] = &[
    "iam_access_keys",
    "iam_account_summary",
    "iam_credential_report",
    "iam_groups",
    "iam_inline_policies",
    "iam_mfa_devices",
    "iam_password_policy",
    "iam_policies",
    "iam_policy_statements",
    "iam_roles",
    "iam_users",
];

fn int(row: &Map<String, Value>, key: &str) -> i64 {
    row[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {row:?}"))
}

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not text in {row:?}"))
}

#[test]
fn iam_snapshot_matches_the_seeded_account() {
    let lake = tempfile::tempdir().expect("lake dir");
    let (output, run_id) = run_into(lake.path().to_str().expect("utf-8"));
    assert_success(&output);

    // Every table committed, with exactly the rows the seed produced.
    let committed = duckdb(
        lake.path(),
        "SELECT table_name, account_id, region, status, rows FROM lake_runs ORDER BY table_name;",
    );
    let by_table: BTreeMap<&str, &Map<String, Value>> = committed
        .iter()
        .map(|r| (text(r, "table_name"), r))
        .collect();
    for table in IAM_TABLES {
        let row = by_table
            .get(table)
            .unwrap_or_else(|| panic!("{table} not committed"));
        assert_eq!(text(row, "status"), "ok", "{table}");
        assert_eq!(text(row, "account_id"), ACCOUNT, "{table}");
        assert_eq!(text(row, "region"), "global", "{table}");
        let expected = emulator().expected[*table];
        assert_eq!(int(row, "rows") as u64, expected, "rows of {table}");
        let counted = duckdb(lake.path(), &format!("SELECT count(*) AS n FROM {table};"));
        assert_eq!(
            int(&counted[0], "n") as u64,
            expected,
            "rows of the {table} view"
        );
    }
    assert!(by_table.contains_key("lake_coverage") && by_table.contains_key("lake_errors"));

    // Account ids stay strings with their leading zero, in the files and the partitions.
    let ids = duckdb(
        lake.path(),
        "SELECT DISTINCT account_id, typeof(account_id) AS t, run_id FROM iam_users;",
    );
    assert_eq!(ids.len(), 1);
    assert_eq!(text(&ids[0], "account_id"), ACCOUNT);
    assert_eq!(text(&ids[0], "t"), "VARCHAR");
    assert_eq!(text(&ids[0], "run_id"), run_id);

    // Every data file has exactly its table's declared schema.
    let catalog = Catalog::load().expect("schemas");
    let files = duckdb(
        lake.path(),
        "SELECT table_name, unnest(files) AS file FROM lake_runs ORDER BY 1, 2;",
    );
    assert!(files.len() >= IAM_TABLES.len() + 2);
    for file in &files {
        let table = text(file, "table_name");
        let bytes =
            std::fs::read(lake.path().join(text(file, "file"))).expect("file listed exists");
        let (schema, _) = read_parquet(bytes.into());
        let declared = catalog.arrow_schema(table).expect("declared");
        assert_eq!(
            schema.fields(),
            declared.fields(),
            "schema of {}",
            text(file, "file")
        );
    }

    // Coverage says every IAM call family was read.
    let coverage = duckdb(
        lake.path(),
        "SELECT api, status FROM lake_coverage ORDER BY api;",
    );
    let apis: Vec<(&str, &str)> = coverage
        .iter()
        .map(|r| (text(r, "api"), text(r, "status")))
        .collect();
    assert_eq!(
        apis,
        [
            ("GetAccountAuthorizationDetails", "ok"),
            ("GetAccountPasswordPolicy", "ok"),
            ("GetAccountSummary", "ok"),
            ("GetCredentialReport", "ok"),
            ("ListAccessKeys", "ok"),
            ("ListMFADevices", "ok"),
        ]
    );
}

#[test]
fn second_run_on_the_same_day_becomes_the_latest_snapshot() {
    let lake = tempfile::tempdir().expect("lake dir");
    let path = lake.path().to_str().expect("utf-8");
    let (first, first_id) = run_into(path);
    assert_success(&first);
    let (second, second_id) = run_into(path);
    assert_success(&second);
    assert_ne!(first_id, second_id);

    let runs = duckdb(
        lake.path(),
        "SELECT DISTINCT run_id, dt FROM lake_runs ORDER BY run_id;",
    );
    assert_eq!(runs.len(), 2);
    assert_eq!(
        text(&runs[0], "dt"),
        text(&runs[1], "dt"),
        "both runs are on one day"
    );

    let latest = duckdb(
        lake.path(),
        "SELECT run_id, count(*) AS n FROM iam_users GROUP BY run_id;",
    );
    assert_eq!(latest.len(), 1, "the latest view holds one snapshot");
    assert_eq!(text(&latest[0], "run_id"), second_id);
    assert_eq!(
        int(&latest[0], "n") as u64,
        emulator().expected["iam_users"]
    );

    let history = duckdb(lake.path(), "SELECT count(*) AS n FROM iam_users_history;");
    assert_eq!(
        int(&history[0], "n") as u64,
        2 * emulator().expected["iam_users"]
    );
}

#[test]
fn run_killed_before_its_commit_leaves_the_previous_snapshot() {
    let lake = tempfile::tempdir().expect("lake dir");
    let path = lake.path().to_str().expect("utf-8");
    let (first, first_id) = run_into(path);
    assert_success(&first);

    // The second run writes all its data, then waits before the commit: kill it there.
    let mut child = lakewarden()
        .args([
            "run",
            "--no-progress",
            "--lake",
            path,
            "--pause-before-commit-ms",
            "120000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lakewarden starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut killed_run = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("log line");
        if line.contains("Pausing before the commit") {
            let log: Value = serde_json::from_str(&line).expect("JSON log when not a terminal");
            killed_run = log["span"]["run_id"].as_str().map(str::to_owned);
            break;
        }
    }
    let killed_run = killed_run.expect("the run reached the commit point");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    // A killed run leaves its lease until it expires; the operator who knows it died
    // deletes the lease object to go on at once.
    let blocked = lakewarden()
        .args(["run", "--no-progress", "--lake", path])
        .output()
        .expect("lakewarden runs");
    assert_eq!(
        blocked.status.code(),
        Some(3),
        "the killed run's lease blocks the next run"
    );
    std::fs::remove_file(lake.path().join("_lakewarden/lease.json")).expect("lease removed");

    // Its data files exist, yet no view shows them.
    let orphans = walk(lake.path())
        .into_iter()
        .filter(|p| p.contains(&killed_run))
        .count();
    assert!(
        orphans >= IAM_TABLES.len(),
        "the killed run had written its data files"
    );
    let latest = duckdb(
        lake.path(),
        "SELECT DISTINCT run_id FROM iam_policy_statements;",
    );
    assert_eq!(latest.len(), 1);
    assert_eq!(text(&latest[0], "run_id"), first_id);
    let runs = duckdb(
        lake.path(),
        "SELECT count(DISTINCT run_id) AS n FROM lake_runs;",
    );
    assert_eq!(int(&runs[0], "n"), 1);
    let history = duckdb(lake.path(), "SELECT count(*) AS n FROM iam_users_history;");
    assert_eq!(
        int(&history[0], "n") as u64,
        emulator().expected["iam_users"]
    );

    // The next run commits cleanly and becomes the latest.
    let (third, third_id) = run_into(path);
    assert_success(&third);
    let latest = duckdb(lake.path(), "SELECT DISTINCT run_id FROM iam_users;");
    assert_eq!(latest.len(), 1);
    assert_eq!(text(&latest[0], "run_id"), third_id);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn s3_lake_holds_the_same_tables_as_local_disk() {
    let local = tempfile::tempdir().expect("lake dir");
    let prefix = format!("e2e-{}", std::process::id());
    let (on_disk, _) = run_into(local.path().to_str().expect("utf-8"));
    assert_success(&on_disk);
    let (on_s3, _) = run_into(&format!("s3://{BUCKET}/{prefix}"));
    assert_success(&on_s3);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let disk: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(local.path()).expect("local store"));
    let s3: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&emulator().endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(&emulator().access_key_id)
            .with_secret_access_key(&emulator().secret_access_key)
            .build()
            .expect("S3 store"),
    );
    let from_disk = runtime.block_on(committed_tables(disk, StorePath::default()));
    let from_s3 = runtime.block_on(committed_tables(s3, StorePath::from(prefix.as_str())));

    assert_eq!(
        from_disk.keys().collect::<Vec<_>>(),
        from_s3.keys().collect::<Vec<_>>()
    );
    // The jobs write every table of theirs that an IAM-only run gives input to; the
    // changes of resources and findings need Config and Security Hub snapshots.
    let jobs_tables = [
        "changes_controls",
        "compliance_results",
        "compliance_summary",
        "risk_identities",
        "risk_images",
        "risk_resources",
    ];
    let expected: std::collections::BTreeSet<&str> = IAM_TABLES
        .iter()
        .copied()
        .chain(["lake_coverage", "lake_errors"])
        .chain(jobs_tables)
        .collect();
    assert_eq!(
        from_disk
            .keys()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        expected,
        "IAM tables, coverage, errors and the jobs' tables"
    );
    assert_eq!(
        from_disk["iam_policy_statements"].len() as u64,
        emulator().expected["iam_policy_statements"]
    );
    for (table, rows) in &from_disk {
        assert_eq!(
            rows, &from_s3[table],
            "table {table} differs between local disk and S3"
        );
    }
}

/// Every committed table of a lake with one run, as sorted JSON rows without the columns
/// that name the run or count calls. The emulator marks the reading key as used by each run, as AWS
/// does, so that key's rows are left out of the comparison.
async fn committed_tables(
    store: Arc<dyn ObjectStore>,
    root: StorePath,
) -> BTreeMap<String, Vec<String>> {
    let commits = store
        .list_with_delimiter(Some(&root.clone().join("lake_runs")))
        .await
        .expect("lake_runs listed");
    let mut tables = BTreeMap::new();
    for partition in commits.common_prefixes {
        if partition.as_ref().ends_with("dt=1970-01-01") {
            continue;
        }
        let listed = store
            .list_with_delimiter(Some(&partition))
            .await
            .expect("listed");
        for object in listed.objects {
            let bytes = store
                .get(&object.location)
                .await
                .expect("get")
                .bytes()
                .await
                .expect("bytes");
            for commit in json_rows(bytes) {
                let table = commit["table_name"].as_str().expect("table").to_owned();
                let mut rows = Vec::new();
                for file in commit["files"].as_array().expect("files") {
                    let path = StorePath::from(file.as_str().expect("path"));
                    let bytes = store
                        .get(&path)
                        .await
                        .expect("get")
                        .bytes()
                        .await
                        .expect("bytes");
                    for mut row in json_rows(bytes) {
                        if row.get("user_name").and_then(Value::as_str) == Some("lakewarden-reader")
                        {
                            continue;
                        }
                        row.remove("run_id");
                        row.remove("snapshot_at");
                        // How many polls the credential report took depends on whether
                        // an earlier run already had IAM generate it.
                        row.remove("calls");
                        rows.push(Value::Object(row).to_string());
                    }
                }
                rows.sort();
                tables.insert(table, rows);
            }
        }
    }
    tables
}

fn json_rows(bytes: bytes::Bytes) -> Vec<Map<String, Value>> {
    let (_, batches) = read_parquet(bytes);
    let mut writer = ArrayWriter::new(Vec::new());
    for batch in &batches {
        writer.write(batch).expect("JSON");
    }
    writer.finish().expect("JSON");
    let text = writer.into_inner();
    if text.is_empty() {
        return Vec::new();
    }
    let rows: Vec<Value> = serde_json::from_slice(&text).expect("rows");
    rows.into_iter()
        .map(|r| r.as_object().expect("object").clone())
        .collect()
}

#[test]
fn unknown_config_field_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("lakewarden.toml");
    std::fs::write(&config, "[lake]\nurl = \"./lake\"\ncompresion = \"zstd\"\n").expect("write");
    let output = lakewarden()
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .expect("lakewarden runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("compresion"), "{stderr}");
    assert!(stderr.contains("lakewarden.toml"), "{stderr}");
}

#[test]
fn check_verifies_lake_and_credentials() {
    let lake = tempfile::tempdir().expect("lake dir");
    let output = lakewarden()
        .args(["check", "--lake", lake.path().to_str().expect("utf-8")])
        .output()
        .expect("lakewarden runs");
    assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for item in ["config", "schemas", "lake", "credentials", "iam"] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(item))
            .unwrap_or_else(|| panic!("no {item} line in:\n{stdout}"));
        assert_eq!(line.split_whitespace().nth(1), Some("ok"), "{line}");
    }
    assert!(stdout.contains(&format!("account {ACCOUNT}")), "{stdout}");
}

/// `lakewarden import iam <location>` into `lake`.
fn import_iam(lake: &std::path::Path, location: &std::path::Path) -> std::process::Output {
    lakewarden()
        .args(["import", "iam"])
        .arg(location)
        .arg("--lake")
        .arg(lake)
        .output()
        .expect("lakewarden runs")
}

#[test]
fn iam_import_then_jobs_judges_the_controls_of_its_tables_only() {
    let lake = tempfile::tempdir().expect("lake dir");
    let fixture = repo_root()
        .join("tests/fixtures/iam/awscli-example-get-account-authorization-details.json");
    let import = import_iam(lake.path(), &fixture);
    assert_success(&import);
    let run_id = run_id_of(&import);

    // The six tables of the document, in the partition a pull of IAM uses; nothing of the
    // credential report, keys or account settings.
    let committed = duckdb(
        lake.path(),
        "SELECT table_name, account_id, region, rows FROM lake_runs \
         WHERE starts_with(table_name, 'iam_') ORDER BY table_name;",
    );
    let committed: Vec<(&str, &str, &str, i64)> = committed
        .iter()
        .map(|r| {
            let place = (text(r, "account_id"), text(r, "region"));
            (text(r, "table_name"), place.0, place.1, int(r, "rows"))
        })
        .collect();
    let account = "123456789012";
    assert_eq!(
        committed,
        [
            ("iam_groups", account, "global", 3),
            ("iam_inline_policies", account, "global", 2),
            ("iam_policies", account, "global", 3),
            ("iam_policy_statements", account, "global", 9),
            ("iam_roles", account, "global", 1),
            ("iam_users", account, "global", 3),
        ]
    );

    let jobs = lakewarden()
        .args(["jobs", "--run-id", &run_id, "--lake"])
        .arg(lake.path())
        .output()
        .expect("lakewarden runs");
    assert_success(&jobs);

    let results = duckdb(
        lake.path(),
        "SELECT control_id, resource_id, status FROM compliance_results \
         WHERE framework = 'cis-aws-foundations' AND starts_with(control_id, '1.');",
    );
    let results: std::collections::BTreeSet<(String, String, String)> = results
        .iter()
        .map(|r| {
            let field = |key| text(r, key).to_owned();
            (field("control_id"), field("resource_id"), field("status"))
        })
        .collect();
    let row = |control: &str, resource: &str, status: &str| {
        (control.to_owned(), resource.to_owned(), status.to_owned())
    };
    let user = |name: &str| format!("arn:aws:iam::{account}:user/{name}");
    let policy = |name: &str| format!("arn:aws:iam::{account}:policy/{name}");
    let mut expected = std::collections::BTreeSet::from([
        // Only Bob has a policy of his own (an inline one).
        row("1.15", &user("Alice"), "PASS"),
        row("1.15", &user("Bob"), "FAIL"),
        row("1.15", &user("Charlie"), "PASS"),
        // Each attached policy allows some services' actions, none every action.
        row(
            "1.16",
            &policy("create-update-delete-set-managed-policies"),
            "PASS",
        ),
        row("1.16", &policy("S3-read-only-specific-bucket"), "PASS"),
        row(
            "1.16",
            "arn:aws:iam::aws:policy/AmazonEC2FullAccess",
            "PASS",
        ),
        // No role has AWSSupportAccess; no principal has AWSCloudShellFullAccess.
        row("1.17", account, "FAIL"),
        row(
            "1.22",
            "arn:aws:iam::aws:policy/AWSCloudShellFullAccess",
            "PASS",
        ),
        row("1.20", account, "UNKNOWN"),
    ]);
    // The tables the document does not hold stay uncollected.
    for control in [
        "1.4", "1.5", "1.7", "1.8", "1.9", "1.10", "1.11", "1.12", "1.13", "1.14",
    ] {
        expected.insert(row(control, account, "UNKNOWN"));
    }
    assert_eq!(results, expected);
    let reason = duckdb(
        lake.path(),
        "SELECT reason FROM compliance_results WHERE control_id = '1.4';",
    );
    assert_eq!(
        text(&reason[0], "reason"),
        "iam_credential_report was not collected for this account"
    );
}

#[test]
fn iam_import_of_a_folder_keeps_the_good_files() {
    let lake = tempfile::tempdir().expect("lake dir");
    let folder = tempfile::tempdir().expect("input dir");
    std::fs::copy(
        repo_root()
            .join("tests/fixtures/iam/awscli-example-get-account-authorization-details.json"),
        folder.path().join("good.json"),
    )
    .expect("copy");
    // The Cloudsplaining sample as published names two accounts.
    std::fs::copy(
        repo_root().join("tests/fixtures/iam/cloudsplaining-authz-details.json"),
        folder.path().join("two-accounts.json"),
    )
    .expect("copy");
    std::fs::write(folder.path().join("cut.json"), "{\"UserDetailList\": [").expect("write");

    let output = import_iam(lake.path(), folder.path());
    assert_eq!(output.status.code(), Some(2), "partial import");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (file, message) in [
        ("cut.json", "not valid JSON"),
        (
            "two-accounts.json",
            "the ARNs name two accounts, 200611803367",
        ),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with("lakewarden: rejected") && l.contains(file))
            .unwrap_or_else(|| panic!("{file} not named in:\n{stderr}"));
        assert!(line.contains(message), "{line}");
    }
    let users = duckdb(
        lake.path(),
        "SELECT account_id, count(*) AS n FROM iam_users GROUP BY account_id;",
    );
    assert_eq!(users.len(), 1);
    assert_eq!(text(&users[0], "account_id"), "123456789012");
    assert_eq!(int(&users[0], "n"), 3);
}
