//! The compliance job end to end: known failures of the seeded account give exactly the
//! expected `compliance_results`, and rerunning the jobs gives the same rows.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::harness::{ACCOUNT, assert_success, duckdb, emulator, lakewarden, run_into};

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not text in {row:?}"))
}

fn resources(lake: &std::path::Path, control: &str, status: &str) -> BTreeSet<String> {
    duckdb(
        lake,
        &format!(
            "SELECT resource_id FROM compliance_results WHERE control_id = '{control}' \
             AND status = '{status}' ORDER BY 1;"
        ),
    )
    .iter()
    .map(|r| text(r, "resource_id").to_owned())
    .collect()
}

fn seeded() -> &'static Value {
    &emulator_ready()["accounts"][ACCOUNT]["seeded_credentials"]
}

fn emulator_ready() -> &'static Value {
    emulator().ready()
}

fn user_names(set: &BTreeSet<String>) -> BTreeSet<String> {
    set.iter()
        .map(|arn| arn.rsplit('/').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn compliance_results_match_the_seeded_failures() {
    let lake = tempfile::tempdir().expect("lake dir");
    let (output, run_id) = run_into(lake.path().to_str().expect("utf-8"));
    assert_success(&output);
    let now = chrono::Utc::now();

    // 1.14: exactly the active keys the seed backdated past 90 days fail.
    let keys = seeded()["access_keys"].as_array().expect("keys");
    let old: BTreeSet<String> = keys
        .iter()
        .filter(|k| k["status"] == "Active")
        .filter(|k| {
            k["create_date"].as_str().is_some_and(|d| {
                chrono::DateTime::parse_from_rfc3339(d).expect("date")
                    < now - chrono::Duration::days(90)
            })
        })
        .map(|k| k["access_key_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(old.len(), 2, "the seed backdates two active keys");
    assert_eq!(resources(lake.path(), "1.14", "FAIL"), old);
    let active: usize = keys.iter().filter(|k| k["status"] == "Active").count() + 1; // + the reader's key
    assert_eq!(
        resources(lake.path(), "1.14", "PASS").len(),
        active - old.len()
    );

    // 1.10: console users without MFA fail, those with MFA pass.
    let profiles = seeded()["login_profiles"].as_array().expect("profiles");
    let names = |mfa: bool| -> BTreeSet<String> {
        profiles
            .iter()
            .filter(|p| p["mfa"] == mfa)
            .map(|p| p["user"].as_str().expect("user").to_owned())
            .collect()
    };
    assert_eq!(
        user_names(&resources(lake.path(), "1.10", "FAIL")),
        names(false)
    );
    assert_eq!(
        user_names(&resources(lake.path(), "1.10", "PASS")),
        names(true)
    );

    // 1.13: the user the seed gave two active keys.
    assert_eq!(
        user_names(&resources(lake.path(), "1.13", "FAIL")),
        BTreeSet::from(["biden".to_owned()])
    );

    // Account-wide controls: the seeded root user has no keys and no MFA.
    assert_eq!(
        resources(lake.path(), "1.4", "PASS"),
        BTreeSet::from([ACCOUNT.to_owned()])
    );
    assert_eq!(
        resources(lake.path(), "1.5", "FAIL"),
        BTreeSet::from([ACCOUNT.to_owned()])
    );
    // No source collects Access Analyzer yet: UNKNOWN, never PASS.
    assert_eq!(
        resources(lake.path(), "1.20", "UNKNOWN"),
        BTreeSet::from([ACCOUNT.to_owned()])
    );

    // The summary agrees with the results.
    let check = duckdb(
        lake.path(),
        "SELECT s.passed = r.passed AND s.failed = r.failed AS agrees, s.score AS score, \
         r.passed AS passed, r.failed AS failed \
         FROM (SELECT * FROM compliance_summary WHERE control_id IS NULL) s, \
         (SELECT count(*) FILTER (status = 'PASS') AS passed, count(*) FILTER (status = 'FAIL') AS failed \
          FROM compliance_results) r;",
    );
    assert_eq!(check[0]["agrees"], Value::Bool(true), "{check:?}");
    let (passed, failed) = (
        check[0]["passed"].as_f64().expect("n"),
        check[0]["failed"].as_f64().expect("n"),
    );
    let score = check[0]["score"].as_f64().expect("score");
    assert!((score - 100.0 * passed / (passed + failed)).abs() < 1e-9);

    // Rerunning the jobs over the same run gives the same rows and a newer commit.
    let before = duckdb(
        lake.path(),
        "SELECT * EXCLUDE (dt) FROM compliance_results ORDER BY ALL;",
    );
    let rerun = lakewarden()
        .args([
            "jobs",
            "--run-id",
            &run_id,
            "--lake",
            lake.path().to_str().expect("utf-8"),
        ])
        .output()
        .expect("lakewarden jobs");
    assert_success(&rerun);
    let after = duckdb(
        lake.path(),
        "SELECT * EXCLUDE (dt) FROM compliance_results ORDER BY ALL;",
    );
    assert_eq!(before, after);
    let commits = duckdb(
        lake.path(),
        "SELECT count(DISTINCT committed_at) AS n FROM lake_runs WHERE table_name = 'compliance_results';",
    );
    assert_eq!(commits[0]["n"].as_i64(), Some(2));
}

#[test]
fn securityhub_compliance_findings_become_securityhub_rows() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("lakewarden.toml");
    std::fs::write(
        &config,
        "[scope]\nregions = [\"us-east-1\"]\n\n[sources.securityhub]\nenabled = true\nstandards = false\n",
    )
    .expect("config");
    let lake = dir.path().join("lake");
    let output = lakewarden()
        .args(["run", "--no-progress", "--config"])
        .arg(&config)
        .arg("--lake")
        .arg(&lake)
        .output()
        .expect("lakewarden runs");
    assert_success(&output);

    // Every finding with a compliance status appears once, with Security Hub's verdict
    // mapped to ours, in the finding's own region.
    let joined = duckdb(
        &lake,
        "SELECT f.finding_id, f.compliance_status, r.status, r.region, r.resource_id, \
                f.resources[1].id AS resource \
         FROM securityhub_findings f \
         JOIN (SELECT * FROM compliance_results WHERE source = 'securityhub') r \
           ON json_extract_string(r.evidence, '$.finding_id') = f.finding_id \
         ORDER BY 1;",
    );
    let with_compliance = duckdb(
        &lake,
        "SELECT count(*) AS n FROM securityhub_findings WHERE compliance_status IS NOT NULL;",
    );
    let expected = with_compliance[0]["n"].as_u64().expect("count");
    assert!(
        expected > 0,
        "the seed has Config findings with a compliance status"
    );
    assert_eq!(joined.len() as u64, expected);
    for row in &joined {
        let mapped = match text(row, "compliance_status") {
            "PASSED" => "PASS",
            "FAILED" | "WARNING" => "FAIL",
            _ => "UNKNOWN",
        };
        assert_eq!(text(row, "status"), mapped, "{row:?}");
        assert_eq!(text(row, "region"), "us-east-1");
        assert_eq!(text(row, "resource_id"), text(row, "resource"));
    }
    let total = duckdb(
        &lake,
        "SELECT count(*) AS n FROM compliance_results WHERE source = 'securityhub';",
    );
    assert_eq!(total[0]["n"].as_u64(), Some(expected));
}

#[test]
fn rerunning_the_jobs_of_an_older_run_keeps_the_newest_snapshot_current() {
    let lake = tempfile::tempdir().expect("lake dir");
    let path = lake.path().to_str().expect("utf-8");
    let (first, older) = run_into(path);
    assert_success(&first);
    let (second, newer) = run_into(path);
    assert_success(&second);

    let rerun = lakewarden()
        .args(["jobs", "--run-id", &older, "--lake", path])
        .output()
        .expect("lakewarden jobs");
    assert_success(&rerun);

    for table in ["compliance_results", "compliance_summary", "iam_users"] {
        let current = duckdb(
            lake.path(),
            &format!("SELECT DISTINCT run_id FROM {table};"),
        );
        assert_eq!(current.len(), 1, "{table}");
        assert_eq!(
            text(&current[0], "run_id"),
            newer,
            "{table} shows the newest snapshot"
        );
    }
}
