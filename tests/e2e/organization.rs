//! Every account of an organisation: role assumption, a denied account, shards.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::harness::{Launcher, assert_success, counts, duckdb, lakewarden_with, start_launcher};

const MANAGEMENT: &str = "012345678901";

/// A separate emulator: an organisation of three accounts, with IAM enforced, so the
/// shipped read-only policy is what lets the run read each account.
fn organization() -> &'static Launcher {
    static ORGANIZATION: OnceLock<Launcher> = OnceLock::new();
    ORGANIZATION.get_or_init(|| {
        start_launcher(&[
            "--account",
            MANAGEMENT,
            "--seed-config",
            "--organization",
            "2",
            "--enforce-iam",
        ])
    })
}

fn run_with(config: &str, extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let launcher = organization();
    let reader = &launcher.ready["accounts"][MANAGEMENT];
    let dir = tempfile::tempdir().expect("dir");
    let config_path = dir.path().join("lakewarden.toml");
    std::fs::write(&config_path, config).expect("config");
    let lake = dir.path().join("lake");
    let output = lakewarden_with(
        &launcher.endpoint,
        reader["access_key_id"].as_str().expect("key"),
        reader["secret_access_key"].as_str().expect("secret"),
    )
    .args(["run", "--no-progress", "--config"])
    .arg(&config_path)
    .arg("--lake")
    .arg(&lake)
    .args(extra)
    .output()
    .expect("lakewarden runs");
    (output, dir)
}

fn accounts() -> BTreeMap<String, Value> {
    organization().ready["organization"]["accounts"]
        .as_object()
        .expect("accounts")
        .iter()
        .map(|(id, v)| (id.clone(), v.clone()))
        .collect()
}

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not text in {row:?}"))
}

#[test]
fn organization_run_reads_every_account_and_records_the_denied_one() {
    let (output, dir) = run_with(
        "[scope]\naccounts = \"organization\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n\
         [sources.config]\nenabled = true\n\n\
         [limits.apis]\n\"config:ListDiscoveredResources\" = { per_second = 0.0, burst = 0.0 }\n",
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "a denied account makes the run partial:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lake = dir.path().join("lake");
    let accounts = accounts();
    assert_eq!(accounts.len(), 3);

    let committed = duckdb(
        &lake,
        "SELECT account_id, table_name, status, rows FROM lake_runs \
         WHERE table_name LIKE 'iam_%' ORDER BY ALL;",
    );
    for (account, described) in &accounts {
        let denied = described["denied"].as_bool().expect("denied flag");
        let expected = counts(&described["expected"]);
        let rows: Vec<&Map<String, Value>> = committed
            .iter()
            .filter(|r| text(r, "account_id") == account)
            .collect();
        assert_eq!(
            rows.len(),
            11,
            "every IAM table of {account} has a commit row"
        );
        for row in rows {
            let table = text(row, "table_name");
            if denied {
                assert_eq!(text(row, "status"), "failed", "{account} {table}");
            } else {
                assert_eq!(text(row, "status"), "ok", "{account} {table}");
                assert_eq!(
                    row["rows"].as_u64(),
                    Some(expected[table]),
                    "{account} {table}"
                );
            }
        }
    }

    // The denial is recorded as coverage, per API family.
    let denied: Vec<&String> = accounts
        .iter()
        .filter(|(_, d)| d["denied"].as_bool() == Some(true))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(denied.len(), 1);
    let coverage = duckdb(
        &lake,
        &format!(
            "SELECT api, status FROM lake_coverage WHERE account_id = '{}' ORDER BY api;",
            denied[0]
        ),
    );
    let statuses: BTreeSet<(&str, &str)> = coverage
        .iter()
        .map(|r| (text(r, "api"), text(r, "status")))
        .collect();
    assert!(
        statuses.contains(&("GetAccountAuthorizationDetails", "access_denied")),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("GetCredentialReport", "access_denied")),
        "{statuses:?}"
    );

    // The views hold the two readable accounts, ids as strings with leading zeros.
    let seen = duckdb(
        &lake,
        "SELECT DISTINCT account_id FROM iam_roles ORDER BY 1;",
    );
    let seen: Vec<&str> = seen.iter().map(|r| text(r, "account_id")).collect();
    let readable: Vec<&str> = accounts
        .iter()
        .filter(|(_, d)| d["denied"].as_bool() == Some(false))
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(seen, readable);
    assert!(seen.contains(&MANAGEMENT));

    // AWS Config through the assumed roles: the management account's seeded resources
    // in both regions; the readable member has no recorder, which is recorded as
    // not_enabled, and the denied member's calls are access_denied.
    let expected = &organization().ready["accounts"][MANAGEMENT]["config"]["expected"];
    for region in ["us-east-1", "eu-west-1"] {
        let counted = duckdb(
            &lake,
            &format!(
                "SELECT resource_type, count(*) AS n FROM config_resources \
                 WHERE account_id = '{MANAGEMENT}' AND region = '{region}' GROUP BY 1 ORDER BY 1;"
            ),
        );
        // The buckets and topics the Config seed created; IAM resources change after it,
        // when the organisation's roles are made.
        let seeded = |t: &str| t == "AWS::S3::Bucket" || t == "AWS::SNS::Topic";
        let got: BTreeMap<String, u64> = counted
            .iter()
            .filter(|r| seeded(text(r, "resource_type")))
            .map(|r| {
                (
                    text(r, "resource_type").to_owned(),
                    r["n"].as_u64().expect("n"),
                )
            })
            .collect();
        let want: BTreeMap<String, u64> = expected[region]
            .as_object()
            .expect("expected per type")
            .iter()
            .filter(|(t, _)| seeded(t))
            .map(|(t, n)| (t.clone(), n.as_u64().expect("n")))
            .collect();
        assert!(!want.is_empty(), "the seed recorded resources in {region}");
        assert_eq!(got, want, "{region}");
    }
    let members = duckdb(
        &lake,
        &format!(
            "SELECT DISTINCT account_id, status FROM lake_coverage \
             WHERE source = 'config' AND api = 'DescribeConfigurationRecorders' \
             AND account_id <> '{MANAGEMENT}' ORDER BY 1;"
        ),
    );
    let status: BTreeMap<&str, &str> = members
        .iter()
        .map(|r| (text(r, "account_id"), text(r, "status")))
        .collect();
    assert_eq!(status.len(), 2, "{status:?}");
    for (id, described) in &accounts {
        if id == MANAGEMENT {
            continue;
        }
        let got = status[id.as_str()];
        if described["denied"].as_bool() == Some(true) {
            // The denial fails the call. moto's authorization error on JSON-protocol
            // APIs carries no error code the SDK reads, so it shows as `error` here;
            // AWS sends AccessDeniedException, which maps to `access_denied` (see the
            // coverage unit tests).
            assert!(got == "access_denied" || got == "error", "{id}: {got}");
        } else {
            assert_eq!(got, "not_enabled", "{id}");
        }
    }
}

#[test]
fn shards_read_disjoint_accounts_that_together_cover_the_list() {
    let readable: Vec<String> = accounts()
        .into_iter()
        .filter(|(_, d)| d["denied"].as_bool() == Some(false))
        .map(|(id, _)| id)
        .collect();
    let list = readable
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!("[scope]\naccounts = [{list}]\n");

    let mut covered = BTreeSet::new();
    for shard in ["1/2", "2/2"] {
        let (output, dir) = run_with(&config, &["--shard", shard]);
        let lake = dir.path().join("lake");
        if output.status.code() == Some(1) {
            // A shard may hold no account at all; it then says so and commits nothing.
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("holds no account"), "{stderr}");
            continue;
        }
        assert_success(&output);
        let rows = duckdb(
            &lake,
            "SELECT DISTINCT account_id, shard FROM lake_runs ORDER BY 1;",
        );
        for row in &rows {
            assert_eq!(text(row, "shard"), shard);
            assert!(
                covered.insert(text(row, "account_id").to_owned()),
                "account {} read by two shards",
                text(row, "account_id")
            );
        }
    }
    assert_eq!(covered.into_iter().collect::<Vec<_>>(), readable);
}

#[test]
fn shards_of_one_run_hold_their_own_leases_and_run_at_once() {
    // The shared emulator answers for any account id; these two fall into different
    // shards of two (012345678901 is odd, 111111111112 even).
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("lakewarden.toml");
    std::fs::write(
        &config,
        "[scope]\naccounts = [\"012345678901\", \"111111111112\"]\n",
    )
    .expect("config");
    let lake = dir.path().join("lake");
    let start = |shard: &str| {
        crate::harness::lakewarden()
            .args([
                "run",
                "--no-progress",
                "--shard",
                shard,
                "--pause-before-commit-ms",
                "3000",
            ])
            .arg("--config")
            .arg(&config)
            .arg("--lake")
            .arg(&lake)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("lakewarden starts")
    };
    // Both shards are inside their runs, holding their leases, at the same time.
    let (first, second) = (start("1/2"), start("2/2"));
    let (first, second) = (
        first.wait_with_output().expect("first shard"),
        second.wait_with_output().expect("second shard"),
    );
    assert_success(&first);
    assert_success(&second);
    let shards = duckdb(
        &lake,
        "SELECT shard, string_agg(DISTINCT account_id, ',') AS accounts FROM lake_runs \
         WHERE table_name = 'iam_users' GROUP BY shard ORDER BY shard;",
    );
    let got: Vec<(&str, &str)> = shards
        .iter()
        .map(|r| (text(r, "shard"), text(r, "accounts")))
        .collect();
    assert_eq!(got, [("1/2", "111111111112"), ("2/2", "012345678901")]);
    assert!(
        !lake.join("_lakewarden/lease-shard-1-of-2.json").exists(),
        "leases released"
    );
    assert!(
        !lake.join("_lakewarden/lease-shard-2-of-2.json").exists(),
        "leases released"
    );
}
