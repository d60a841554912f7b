//! The changes job end to end: two Config snapshot imports and two Security Hub imports
//! with known differences, each followed by `lakewarden jobs`, give exactly the expected
//! `changes_*` rows; the first of each gives none; rerunning the jobs gives the same rows;
//! the shipped query of new critical findings finds the new one.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::harness::{ACCOUNT, assert_success, duckdb, lakewarden_with, repo_root, run_id_of};

const SAMPLES: &str = "tests/fixtures/config/rdk-example-ci";
const GUARDDUTY_ACCOUNT: &str = "123456789012";
const CONFIG_FINDINGS_ACCOUNT: &str = "012345678912";

/// The binary with dummy credentials and an endpoint nothing listens on: imports and jobs
/// read only local files.
fn offline() -> Command {
    lakewarden_with("http://127.0.0.1:9", "AKIDEXAMPLEDUMMY", "dummy-secret")
}

/// One item of a Config sample file, placed in the seeded account and `us-east-1`.
fn item(file: &str) -> Value {
    let path = repo_root().join(SAMPLES).join(file);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    let mut item = match doc {
        Value::Object(mut map) => map
            .remove("configurationItem")
            .unwrap_or(Value::Object(map)),
        other => panic!("{file} is not one item: {other}"),
    };
    item["awsAccountId"] = json!(ACCOUNT);
    item["awsRegion"] = json!("us-east-1");
    item
}

fn asff(name: &str) -> Vec<Value> {
    let path = repo_root().join("tests/fixtures/securityhub").join(name);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    let list = doc.get("Findings").or_else(|| doc.get("findings")).cloned();
    serde_json::from_value(list.expect("a findings list")).expect("findings")
}

/// Import one JSON document as `kind` (`config-snapshot` or `securityhub`); then run the
/// jobs over that run. Returns the run id.
fn import_then_jobs(lake: &Path, dir: &Path, kind: &str, name: &str, doc: &Value) -> String {
    let file = dir.join(name);
    std::fs::write(&file, doc.to_string()).expect("write");
    let output = offline()
        .args(["import", kind])
        .arg(&file)
        .arg("--lake")
        .arg(lake)
        .output()
        .expect("lakewarden runs");
    assert_success(&output);
    let run_id = run_id_of(&output);
    assert_success(&jobs(lake, &run_id));
    run_id
}

fn jobs(lake: &Path, run_id: &str) -> Output {
    offline()
        .args(["jobs", "--run-id", run_id, "--lake"])
        .arg(lake)
        .output()
        .expect("lakewarden runs")
}

fn rows(lake: &Path, sql: &str) -> Vec<Value> {
    duckdb(lake, sql).into_iter().map(Value::Object).collect()
}

const RESOURCES: &str = "SELECT account_id, region, change, resource_type, resource_id, \
     changed_keys, previous_run_id, run_id FROM changes_resources ORDER BY ALL;";
const FINDINGS: &str = "SELECT account_id, region, change, finding_id, previous_severity_label, \
     severity_label, previous_run_id, run_id FROM changes_findings ORDER BY ALL;";
const CONTROLS: &str = "SELECT account_id, region, control_id, resource_type, resource_id, \
     source, previous_status, status, previous_run_id, run_id FROM changes_controls \
     ORDER BY ALL;";

#[test]
fn changes_between_two_imports_give_exactly_the_known_rows() {
    let work = tempfile::tempdir().expect("dir");
    let lake = work.path().join("lake");

    // Config: the table's status changes, the alarm goes, a flow log comes.
    let (eip, table, alarm, flow_log) = (
        item("AWS_EC2_EIP.json"),
        item("AWS_DynamoDB_Table.json"),
        item("AWS_CloudWatch_Alarm.json"),
        item("AWS_EC2_FlowLog.json"),
    );
    assert_ne!(table["configuration"]["tableStatus"], "UPDATING");
    let mut updated = table.clone();
    updated["configuration"]["tableStatus"] = json!("UPDATING");
    let first_config = import_then_jobs(
        &lake,
        work.path(),
        "config-snapshot",
        "first-config.json",
        &json!([eip, table, alarm]),
    );
    let no_rows =
        format!("SELECT count(*) AS n FROM changes_resources WHERE run_id = '{first_config}';");
    assert_eq!(
        rows(&lake, &no_rows),
        [json!({"n": 0})],
        "a first snapshot has no changes"
    );
    let second_config = import_then_jobs(
        &lake,
        work.path(),
        "config-snapshot",
        "second-config.json",
        &json!([eip, updated, flow_log]),
    );
    let resource = |change: &str, kind: &str, id: &str, keys: &[&str]| {
        json!({
            "account_id": ACCOUNT, "region": "us-east-1", "change": change,
            "resource_type": kind, "resource_id": id, "changed_keys": keys,
            "previous_run_id": first_config, "run_id": second_config,
        })
    };
    let expected_resources = vec![
        resource("added", "AWS::EC2::FlowLog", "test", &[]),
        resource("changed", "AWS::DynamoDB::Table", "test", &["tableStatus"]),
        resource("removed", "AWS::CloudWatch::Alarm", "qwd", &[]),
    ];
    assert_eq!(rows(&lake, RESOURCES), expected_resources);

    // Security Hub: one GuardDuty finding goes up to HIGH, one is gone, a critical one is
    // new; one Config control finding goes from PASSED to FAILED.
    let guardduty = asff("guardduty-findings.json");
    let controls = asff("config-findings.json");
    let first: Vec<Value> = guardduty.iter().chain(&controls).cloned().collect();
    let mut second = guardduty.clone();
    second[0]["Severity"] = json!({"Label": "HIGH", "Normalized": 70});
    let gone = second.remove(1);
    let mut fresh = guardduty[3].clone();
    fresh["Id"] = json!(format!(
        "{}-e2e-new",
        guardduty[3]["Id"].as_str().expect("id")
    ));
    fresh["Severity"] = json!({"Label": "CRITICAL", "Normalized": 90});
    second.push(fresh.clone());
    let mut failing = controls.clone();
    failing[0]["Compliance"]["Status"] = json!("FAILED");
    second.extend(failing);

    let first_asff = import_then_jobs(
        &lake,
        work.path(),
        "securityhub",
        "first-findings.json",
        &json!({ "Findings": first }),
    );
    assert_eq!(
        rows(&lake, FINDINGS),
        Vec::<Value>::new(),
        "a first snapshot has no changes"
    );
    assert_eq!(
        rows(&lake, CONTROLS),
        Vec::<Value>::new(),
        "no results before the first import's"
    );
    let second_asff = import_then_jobs(
        &lake,
        work.path(),
        "securityhub",
        "second-findings.json",
        &json!({ "Findings": second }),
    );
    let finding = |change: &str, id: &Value, before: Option<&str>, now: Option<&str>| {
        json!({
            "account_id": GUARDDUTY_ACCOUNT, "region": "us-east-1", "change": change,
            "finding_id": id, "previous_severity_label": before, "severity_label": now,
            "previous_run_id": first_asff, "run_id": second_asff,
        })
    };
    let expected_findings = vec![
        finding("new", &fresh["Id"], None, Some("CRITICAL")),
        finding("resolved", &gone["Id"], Some("MEDIUM"), None),
        finding(
            "severity_changed",
            &guardduty[0]["Id"],
            Some("MEDIUM"),
            Some("HIGH"),
        ),
    ];
    assert_eq!(rows(&lake, FINDINGS), expected_findings);
    let control_resource = format!("AWS::::Account:{CONFIG_FINDINGS_ACCOUNT}");
    let expected_controls = vec![json!({
        "account_id": CONFIG_FINDINGS_ACCOUNT, "region": "us-east-1",
        "control_id": controls[0]["ProductFields"]["ControlId"], "resource_type": "AwsAccount",
        "resource_id": control_resource, "source": "securityhub",
        "previous_status": "PASS", "status": "FAIL",
        "previous_run_id": first_asff, "run_id": second_asff,
    })];
    assert_eq!(rows(&lake, CONTROLS), expected_controls);
    // The Config changes stay those of the latest Config snapshot.
    assert_eq!(rows(&lake, RESOURCES), expected_resources);

    // The jobs rerun over the same run: the same rows.
    assert_success(&jobs(&lake, &second_asff));
    assert_eq!(rows(&lake, FINDINGS), expected_findings);
    assert_eq!(rows(&lake, CONTROLS), expected_controls);

    // The shipped query finds the new critical finding.
    let query =
        std::fs::read_to_string(repo_root().join("sql/duckdb/queries/new_critical_findings.sql"))
            .expect("query");
    let found: Vec<(Value, Value)> = rows(&lake, &query)
        .into_iter()
        .map(|r| (r["finding_id"].clone(), r["account_id"].clone()))
        .collect();
    assert_eq!(found, [(fresh["Id"].clone(), json!(GUARDDUTY_ACCOUNT))]);
}
