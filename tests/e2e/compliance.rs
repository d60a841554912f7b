//! The compliance job end to end: known failures of the seeded account give exactly the
//! expected `compliance_results`, and rerunning the jobs gives the same rows.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::harness::{
    ACCOUNT, assert_success, duckdb, emulator, lakewarden, repo_root, run_id_of, run_into,
};

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

    // Account-wide controls: the seeded root user has an active access key and no MFA.
    assert_eq!(
        resources(lake.path(), "1.4", "FAIL"),
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

/// The known answers of the posture fixture (`tests/fixtures/posture/README.md`) for the
/// controls of sections 2–5, as (control, resource type, resource, region, status).
fn posture_answers() -> Vec<(String, String, String, String, String)> {
    let ec2 = |kind: &str, id: &str| format!("arn:aws:ec2:us-east-1:{ACCOUNT}:{kind}/{id}");
    let (public, private) = (
        "arn:aws:s3:::lakewarden-known-public".to_owned(),
        "arn:aws:s3:::lakewarden-known-private".to_owned(),
    );
    let (open_db, closed_db) = (
        format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:known-open"),
        format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:known-closed"),
    );
    let trail = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/known-trail");
    let key = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/0aaaaaaa-0000-4000-8000-000000000001");
    let sg = |n: u8| ec2("security-group", &format!("sg-0aaaaaaaaaaaa000{n}"));
    let rtb = |n: u8| ec2("route-table", &format!("rtb-0aaaaaaaaaaaa000{n}"));
    let efs = |n: u8| {
        format!("arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/fs-0aaaaaaaaaaaa000{n}")
    };
    let (bucket, db, group) = (
        "AWS::S3::Bucket",
        "AWS::RDS::DBInstance",
        "AWS::EC2::SecurityGroup",
    );
    let (account, east) = (ACCOUNT.to_owned(), "us-east-1");
    let rows: Vec<(&str, &str, String, &str, &str)> = vec![
        ("2.1.1", bucket, private.clone(), east, "PASS"),
        ("2.1.1", bucket, public.clone(), east, "FAIL"),
        ("2.1.2", bucket, private.clone(), east, "PASS"),
        ("2.1.2", bucket, public.clone(), east, "FAIL"),
        (
            "2.1.4",
            "AWS::S3::AccountPublicAccessBlock",
            account.clone(),
            "global",
            "FAIL",
        ),
        ("2.1.4", bucket, private, east, "PASS"),
        ("2.1.4", bucket, public, east, "FAIL"),
        (
            "2.2.1",
            "AWS::::Account",
            account.clone(),
            "global",
            "UNKNOWN",
        ),
        ("2.3.1", db, closed_db.clone(), east, "PASS"),
        ("2.3.1", db, open_db.clone(), east, "FAIL"),
        ("2.3.2", db, closed_db.clone(), east, "PASS"),
        ("2.3.2", db, open_db.clone(), east, "FAIL"),
        ("2.3.3", db, closed_db, east, "PASS"),
        ("2.3.3", db, open_db, east, "FAIL"),
        // fs-0aaaaaaaaaaaa0009 is deleted (and unencrypted): no row.
        ("2.4.1", "AWS::EFS::FileSystem", efs(1), east, "PASS"),
        ("2.4.1", "AWS::EFS::FileSystem", efs(2), east, "FAIL"),
        ("3.1", "AWS::::Account", account.clone(), "global", "PASS"),
        ("3.2", "AWS::CloudTrail::Trail", trail.clone(), east, "FAIL"),
        // Config found no recorder in ap-southeast-2. The import's (empty) coverage is
        // the newest of us-east-1, so that region has no row.
        (
            "3.3",
            "AWS::::Account",
            account.clone(),
            "ap-southeast-2",
            "FAIL",
        ),
        ("3.4", "AWS::CloudTrail::Trail", trail.clone(), east, "FAIL"),
        ("3.5", "AWS::CloudTrail::Trail", trail, east, "FAIL"),
        ("3.6", "AWS::KMS::Key", key, east, "UNKNOWN"),
        (
            "3.7",
            "AWS::EC2::VPC",
            ec2("vpc", "vpc-0aaaaaaaaaaaa0001"),
            east,
            "FAIL",
        ),
        (
            "3.7",
            "AWS::EC2::VPC",
            ec2("vpc", "vpc-0aaaaaaaaaaaa0002"),
            east,
            "PASS",
        ),
        // The live trail keeps the default event selector; the deleted one with custom
        // selectors is not counted.
        ("3.8", "AWS::::Account", account.clone(), "global", "FAIL"),
        ("3.9", "AWS::::Account", account.clone(), "global", "FAIL"),
        // The Security Hub source did not read the region Config read: UNKNOWN, never PASS.
        (
            "4.16",
            "AWS::::Account",
            account,
            "ap-southeast-2",
            "UNKNOWN",
        ),
        (
            "5.1",
            "AWS::EC2::NetworkAcl",
            ec2("network-acl", "acl-0aaaaaaaaaaaa0001"),
            east,
            "FAIL",
        ),
        (
            "5.1",
            "AWS::EC2::NetworkAcl",
            ec2("network-acl", "acl-0aaaaaaaaaaaa0002"),
            east,
            "PASS",
        ),
        // sg-0aaaaaaaaaaaa0009 is deleted (and open to RDP): no row.
        ("5.2", group, sg(1), east, "FAIL"),
        ("5.2", group, sg(2), east, "PASS"),
        ("5.2", group, sg(3), east, "PASS"),
        ("5.3", group, sg(1), east, "PASS"),
        ("5.3", group, sg(2), east, "PASS"),
        ("5.3", group, sg(3), east, "PASS"),
        ("5.4", group, sg(3), east, "FAIL"),
        // rtb-0aaaaaaaaaaaa0009 is deleted (::/0 through the peering): no row.
        ("5.5", "AWS::EC2::RouteTable", rtb(1), east, "FAIL"),
        ("5.5", "AWS::EC2::RouteTable", rtb(2), east, "PASS"),
        ("5.5", "AWS::EC2::RouteTable", rtb(3), east, "PASS"),
    ];
    rows.into_iter()
        .map(|(c, t, r, g, s)| (c.to_owned(), t.to_owned(), r, g.to_owned(), s.to_owned()))
        .collect()
}

fn result_rows(
    lake: &std::path::Path,
    filter: &str,
) -> Vec<(String, String, String, String, String)> {
    duckdb(
        lake,
        &format!(
            "SELECT control_id, resource_type, resource_id, region, status \
             FROM compliance_results WHERE {filter} ORDER BY ALL;"
        ),
    )
    .iter()
    .map(|r| {
        (
            text(r, "control_id").to_owned(),
            text(r, "resource_type").to_owned(),
            text(r, "resource_id").to_owned(),
            text(r, "region").to_owned(),
            text(r, "status").to_owned(),
        )
    })
    .collect()
}

#[test]
fn posture_fixture_gives_the_known_answers_of_sections_2_to_5_and_custom_controls() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let controls = dir.path().join("custom");
    std::fs::create_dir(&controls).expect("controls dir");
    std::fs::copy(
        repo_root().join("controls/custom-examples/ec2-imdsv2.sql"),
        controls.join("ec2-imdsv2.sql"),
    )
    .expect("example copied");
    std::fs::write(
        controls.join("broken.sql"),
        "SELECT account_id, resource_id FROM config_resources",
    )
    .expect("broken control written");
    let config = dir.path().join("lakewarden.toml");
    std::fs::write(
        &config,
        format!(
            "[scope]\nregions = [\"us-east-1\", \"ap-southeast-2\"]\n\n\
             [sources.config]\nenabled = true\n\n\
             [limits.apis]\n\"config:ListDiscoveredResources\" = {{ per_second = 0.0, burst = 0.0 }}\n\n\
             [jobs]\ncustom_controls = \"{}\"\n",
            controls.display()
        ),
    )
    .expect("config");
    let with_config = |args: &[&str]| {
        lakewarden()
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--lake")
            .arg(&lake)
            .output()
            .expect("lakewarden runs")
    };

    // IAM and Config from the emulator, then the fixture's items into the same lake: its
    // us-east-1 snapshot of config_resources is the newest, so the jobs judge it.
    assert_success(&with_config(&["run", "--no-progress"]));
    let fixture = repo_root().join("tests/fixtures/posture/config-snapshot.json");
    let import = with_config(&[
        "import",
        "config-snapshot",
        fixture.to_str().expect("utf-8"),
    ]);
    assert_success(&import);
    let run_id = run_id_of(&import);
    let jobs = with_config(&["jobs", "--run-id", &run_id]);
    assert_success(&jobs);

    let cis = "framework = 'cis-aws-foundations' AND NOT starts_with(control_id, '1.')";
    let mut expected = posture_answers();
    expected.sort();
    assert_eq!(result_rows(&lake, cis), expected);

    // The example custom control judges both instances; the broken file is one UNKNOWN
    // row naming it, and did not stop the example.
    let i = |n: u8| format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0aaaaaaaaaaaa000{n}");
    let instance = "AWS::EC2::Instance".to_owned();
    assert_eq!(
        result_rows(&lake, "framework = 'custom'"),
        [
            (
                "broken".to_owned(),
                "AWS::::Account".to_owned(),
                ACCOUNT.to_owned(),
                "global".to_owned(),
                "UNKNOWN".to_owned()
            ),
            (
                "ec2-imdsv2".to_owned(),
                instance.clone(),
                i(1),
                "us-east-1".to_owned(),
                "PASS".to_owned()
            ),
            (
                "ec2-imdsv2".to_owned(),
                instance,
                i(2),
                "us-east-1".to_owned(),
                "FAIL".to_owned()
            ),
        ]
    );
    let broken = duckdb(
        &lake,
        "SELECT reason FROM compliance_results WHERE control_id = 'broken';",
    );
    let reason = text(&broken[0], "reason");
    assert!(
        reason.starts_with(&format!(
            "custom control {}: returns the wrong columns",
            controls.join("broken.sql").display()
        )),
        "{reason}"
    );

    // IAM still comes from the run: the root user's access key fails 1.4.
    assert_eq!(
        resources(&lake, "1.4", "FAIL"),
        BTreeSet::from([ACCOUNT.to_owned()])
    );

    // The cross-account query over the results: 5.2 has one failing group of three.
    let across = duckdb(
        &lake,
        &std::fs::read_to_string(
            repo_root().join("sql/duckdb/queries/controls_across_accounts.sql"),
        )
        .expect("query"),
    );
    let ssh = across
        .iter()
        .find(|r| r["framework"] == "cis-aws-foundations" && r["control_id"] == "5.2")
        .expect("5.2 row");
    assert_eq!(
        (
            ssh["passed"].as_i64(),
            ssh["failed"].as_i64(),
            ssh["failing_accounts"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(ssh["score"].as_f64(), Some(66.7));
}
