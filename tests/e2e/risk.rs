//! The risk job end to end: the seeded IAM account, the posture fixture's AWS Config
//! snapshot and one Security Hub finding, scored into `risk_resources` and
//! `risk_identities` with exactly the factors and toxic combinations they were seeded for.

use std::path::Path;
use std::process::Output;

use serde_json::{Map, Value, json};

use crate::harness::{ACCOUNT, assert_success, duckdb, lakewarden, repo_root, run_id_of, run_into};

const INSTANCE: &str = "i-0aaaaaaaaaaaa0001";
const PROFILE: &str =
    "arn:aws:iam::012345678901:instance-profile/privesc-high-priv-service-profile";
const ROLE: &str = "arn:aws:iam::012345678901:role/privesc-high-priv-service-role";

fn step(lake: &Path, args: &[&str]) -> Output {
    let output = lakewarden()
        .args(args)
        .arg("--lake")
        .arg(lake)
        .output()
        .expect("lakewarden runs");
    assert_success(&output);
    output
}

/// One row of a risk table, with `factors` as a map of factor name to (weight, evidence).
fn risk_row(lake: &Path, table: &str, key: &str, id: &str) -> Map<String, Value> {
    let rows = duckdb(
        lake,
        &format!(
            "SELECT score, severity, factors, toxic_combinations, unknown_factors \
             FROM {table} WHERE {key} = '{id}';"
        ),
    );
    assert_eq!(rows.len(), 1, "one row for {id} in {table}: {rows:?}");
    rows.into_iter().next().expect("a row")
}

fn factors(row: &Map<String, Value>) -> Map<String, Value> {
    row["factors"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            let evidence: Value =
                serde_json::from_str(f["evidence"].as_str().expect("text")).expect("JSON");
            (
                f["factor"].as_str().expect("name").to_owned(),
                json!({"weight": f["weight"], "evidence": evidence}),
            )
        })
        .collect()
}

#[test]
fn risk_scores_of_the_posture_fixture_and_seeded_identities() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let (output, _) = run_into(lake.to_str().expect("utf-8"));
    assert_success(&output);
    let posture = repo_root().join("tests/fixtures/posture/config-snapshot.json");
    step(
        &lake,
        &[
            "import",
            "config-snapshot",
            posture.to_str().expect("utf-8"),
        ],
    );
    let finding = repo_root().join("tests/fixtures/risk/critical-instance-finding.json");
    let import = step(
        &lake,
        &["import", "securityhub", finding.to_str().expect("utf-8")],
    );
    let run_id = run_id_of(&import);
    step(&lake, &["jobs", "--run-id", &run_id]);

    // The internet-facing instance: SSH open to the world on a public address, an
    // admin-equivalent role through its instance profile, and a critical finding.
    let instance = risk_row(&lake, "risk_resources", "resource_id", INSTANCE);
    assert_eq!(
        Value::Object(factors(&instance)),
        json!({
            "internet_exposed": {"weight": 30, "evidence": {
                "public_ip": "203.0.113.10",
                "security_groups": {"sg-0aaaaaaaaaaaa0001": ["tcp 22-22 from 0.0.0.0/0"]}}},
            "admin_equivalent": {"weight": 40, "evidence": {
                "through": ["managed privesc-high-priv-service-policy"],
                "instance_profile": PROFILE, "role": ROLE}},
            "critical_finding": {"weight": 30, "evidence": {"finding_ids": [
                "arn:aws:securityhub:us-east-1:012345678901:finding/lakewarden-risk-known-critical"]}},
        })
    );
    assert_eq!(
        instance["toxic_combinations"],
        json!([
            "exposed_vulnerable_admin",
            "exposed_admin",
            "exposed_vulnerable"
        ])
    );
    assert_eq!(
        (instance["score"].clone(), instance["severity"].clone()),
        (json!(100), json!("critical"))
    );
    assert_eq!(instance["unknown_factors"], json!([]));

    // The private instance: no public address, and its only finding is resolved.
    let private = risk_row(
        &lake,
        "risk_resources",
        "resource_id",
        "i-0aaaaaaaaaaaa0002",
    );
    assert_eq!(
        (private["score"].clone(), private["factors"].clone()),
        (json!(0), json!([]))
    );

    // The public bucket is exposed by its policy; the account-wide block is recorded and
    // blocks nothing; the private bucket's block hides nothing because it has no grant.
    let public = risk_row(
        &lake,
        "risk_resources",
        "resource_id",
        "lakewarden-known-public",
    );
    assert_eq!(
        Value::Object(factors(&public)),
        json!({"internet_exposed": {"weight": 30, "evidence": {
            "public_policy_statements": [{"sid": "PublicRead", "action": "s3:GetObject"}],
            "public_acl_grants": [],
            "account_public_access_block_recorded": true}}})
    );
    assert_eq!(public["score"], json!(30));
    let private = risk_row(
        &lake,
        "risk_resources",
        "resource_id",
        "lakewarden-known-private",
    );
    assert_eq!(private["factors"], json!([]));

    // The deleted security group open to the world gets no row.
    let deleted = duckdb(
        &lake,
        "SELECT count(*) AS n FROM risk_resources WHERE resource_id = 'sg-0aaaaaaaaaaaa0009';",
    );
    assert_eq!(deleted[0]["n"], json!(0));

    // Seeded identities: a console password without MFA, never used; an active key from
    // 2025-02-20 that was never used; two keys, the old one still active.
    let identity = |name: &str| {
        risk_row(
            &lake,
            "risk_identities",
            "principal_arn",
            &format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        )
    };
    let snapshot_at = duckdb(
        &lake,
        "SELECT epoch_ms(max(snapshot_at)) AS at FROM risk_identities;",
    )[0]["at"]
        .as_i64()
        .expect("snapshot time");
    let age = |date: &str| {
        let created = chrono::DateTime::parse_from_rfc3339(date).expect("date");
        (snapshot_at - created.timestamp_millis()) / (24 * 60 * 60 * 1000)
    };
    let key_of = |user: &str, created: &str| -> String {
        seeded_keys()
            .iter()
            .find(|k| k["user"] == user && k["create_date"] == created)
            .and_then(|k| k["access_key_id"].as_str())
            .unwrap_or_else(|| panic!("the seed gives {user} a key created {created}"))
            .to_owned()
    };

    // A console password without MFA, never used.
    let start_user = identity("privesc-AssumeRole-start-user");
    assert_eq!(
        Value::Object(factors(&start_user)),
        json!({
            "console_without_mfa": {"weight": 20, "evidence": {"password_enabled": true, "mfa_active": false}},
            "stale_credentials": {"weight": 10, "evidence": {"unused_45_days": ["password"]}},
        })
    );
    assert_eq!(start_user["score"], json!(30));

    // An active key from 2025-02-20, never used.
    let created = "2025-02-20T08:15:00Z";
    let connect_user = identity("privesc-ec2InstanceConnect-user");
    assert_eq!(
        Value::Object(factors(&connect_user)),
        json!({
            "stale_credentials": {"weight": 10, "evidence": {"unused_45_days": ["access key 1"]}},
            "unrotated_access_key": {"weight": 10, "evidence": {"keys": [{
                "access_key_id": key_of("privesc-ec2InstanceConnect-user", created),
                "age_days": age(created)}]}},
        })
    );
    assert_eq!(connect_user["score"], json!(20));

    // An administrator through the `admin` group who signs in without MFA: the toxic
    // combination lifts 70 to 90.
    let admin = identity("userwithlotsofpermissions");
    assert_eq!(
        Value::Object(factors(&admin)),
        json!({
            "admin_equivalent": {"weight": 40, "evidence": {"through": ["group admin: managed AdministratorAccess"]}},
            "console_without_mfa": {"weight": 20, "evidence": {"password_enabled": true, "mfa_active": false}},
            "stale_credentials": {"weight": 10, "evidence": {"unused_45_days": ["password"]}},
        })
    );
    assert_eq!(
        admin["toxic_combinations"],
        json!(["admin_console_without_mfa"])
    );
    assert_eq!(
        (admin["score"].clone(), admin["severity"].clone()),
        (json!(90), json!("critical"))
    );

    // The shipped query lists five risks, highest first, the instance among the 100s.
    let top = duckdb(
        &lake,
        &std::fs::read_to_string(repo_root().join("sql/duckdb/queries/top_risks.sql"))
            .expect("query file"),
    );
    assert_eq!(top.len(), 5, "{top:?}");
    let scores: Vec<i64> = top
        .iter()
        .map(|r| r["score"].as_i64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(scores[0], 100);
}

fn seeded_keys() -> &'static Vec<Value> {
    crate::harness::emulator().ready()["accounts"][ACCOUNT]["seeded_credentials"]["access_keys"]
        .as_array()
        .expect("seeded keys")
}
