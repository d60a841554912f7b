//! The changes job end to end: two Config snapshot imports and two Security Hub imports
//! with known differences, each followed by `lakewarden jobs`, give exactly the expected
//! `changes_*` rows; the first of each gives none; rerunning the jobs gives the same rows;
//! the shipped query of new critical findings finds the new one. Runs of an emulated
//! account with known IAM changes between them give exactly the expected
//! `changes_controls` rows.

use std::path::Path;
use std::process::{Command, Output};

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

use crate::harness::{
    ACCOUNT, Launcher, assert_success, duckdb, lakewarden_with, repo_root, run_id_of,
    start_launcher,
};

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

/// The reader's key of an emulator the launcher started with one `--account ACCOUNT`.
fn reader_key(emulator: &Launcher) -> (&str, &str) {
    let reader = &emulator.ready["accounts"][ACCOUNT];
    (
        reader["access_key_id"].as_str().expect("key"),
        reader["secret_access_key"].as_str().expect("secret"),
    )
}

/// The binary against `emulator`, as its reader.
fn reader_lakewarden(emulator: &Launcher) -> Command {
    let (key, secret) = reader_key(emulator);
    lakewarden_with(&emulator.endpoint, key, secret)
}

/// `lakewarden run` of `emulator` into `lake`, with the default sources (IAM only, all
/// that the account has); returns the run id.
fn run(emulator: &Launcher, lake: &Path) -> String {
    let output = reader_lakewarden(emulator)
        .args(["run", "--no-progress", "--lake"])
        .arg(lake)
        .output()
        .expect("lakewarden runs");
    assert_success(&output);
    run_id_of(&output)
}

fn rerun_jobs(emulator: &Launcher, lake: &Path, run_id: &str) -> Output {
    reader_lakewarden(emulator)
        .args(["jobs", "--run-id", run_id, "--lake"])
        .arg(lake)
        .output()
        .expect("lakewarden runs")
}

/// The real SDK against an emulator, one call at a time. It signs with the reader's key,
/// which moto lets write since it enforces no IAM there; that marks only the reader's key
/// as used, as the runs do anyway.
struct Iam {
    client: aws_sdk_iam::Client,
    runtime: tokio::runtime::Runtime,
}

impl Iam {
    fn new(emulator: &Launcher) -> Self {
        let (key, secret) = reader_key(emulator);
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&emulator.endpoint)
            .credentials_provider(Credentials::new(key, secret, None, None, "e2e"))
            .build();
        Self {
            client: aws_sdk_iam::Client::from_conf(config),
            runtime: tokio::runtime::Runtime::new().expect("runtime"),
        }
    }

    /// Wait for one call; its failure fails the test, naming what it was to do.
    fn wait<T, E: std::fmt::Debug>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> T {
        self.runtime
            .block_on(call)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
    }

    /// A customer managed policy that allows reading objects; returns its ARN.
    fn create_policy(&self, name: &str) -> String {
        let document = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        let call = self.client.create_policy().policy_name(name);
        let created = self.wait(name, call.policy_document(document.to_string()).send());
        created.policy.and_then(|p| p.arn).expect("an ARN")
    }

    fn create_user(&self, name: &str) {
        self.wait(name, self.client.create_user().user_name(name).send());
    }

    fn delete_user(&self, name: &str) {
        self.wait(name, self.client.delete_user().user_name(name).send());
    }

    fn attach(&self, user: &str, policy: &str) {
        let call = self.client.attach_user_policy().user_name(user);
        self.wait(user, call.policy_arn(policy).send());
    }

    fn detach(&self, user: &str, policy: &str) {
        let call = self.client.detach_user_policy().user_name(user);
        self.wait(user, call.policy_arn(policy).send());
    }

    /// A new active access key of `user`; returns its id.
    fn create_key(&self, user: &str) -> String {
        let created = self.wait(user, self.client.create_access_key().user_name(user).send());
        created.access_key.expect("a key").access_key_id
    }

    fn delete_key(&self, user: &str, id: &str) {
        let call = self.client.delete_access_key().user_name(user);
        self.wait(user, call.access_key_id(id).send());
    }
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// Users named after what happens to them between the first two runs.
const GAINS_POLICY: &str = "gains-policy";
const LOSES_POLICY: &str = "loses-policy";
const SECOND_KEY: &str = "second-key";
const DELETED: &str = "deleted";

/// One row of the `CONTROLS` query for a user.
fn user_change(control: &str, user: &str, status: [&str; 2], runs: [&str; 2]) -> Value {
    json!({
        "account_id": ACCOUNT, "region": "global", "control_id": control,
        "resource_type": "AWS::IAM::User", "resource_id": user_arn(user),
        "source": "lakewarden", "previous_status": status[0], "status": status[1],
        "previous_run_id": runs[0], "run_id": runs[1],
    })
}

#[test]
fn iam_changes_between_runs_give_exactly_the_known_control_changes() {
    // An emulator of its own: the test changes IAM between runs, which the shared
    // emulator's other readers must not see. Its account holds only the reader (and the
    // root user's row of the credential report) until the test adds users.
    let emulator = start_launcher(&["--account", ACCOUNT]);
    let work = tempfile::tempdir().expect("dir");
    let lake = work.path().join("lake");
    let iam = Iam::new(&emulator);

    // Before the first run: a customer managed policy attached to two users, a user with
    // one access key, one with neither. The policy grants no admin rights and stays
    // attached to a user, so CIS 1.16 (no attached policy grants *:*) passes for it in
    // every run. Every key is created now and never used: no key's age or use changes.
    let policy = iam.create_policy("e2e-read-objects");
    for user in [GAINS_POLICY, LOSES_POLICY, SECOND_KEY, DELETED] {
        iam.create_user(user);
    }
    iam.attach(LOSES_POLICY, &policy);
    iam.attach(DELETED, &policy);
    iam.create_key(SECOND_KEY);
    let first = run(&emulator, &lake);

    // The first run has nothing to compare with: an empty changes_controls snapshot.
    let committed = format!(
        "SELECT account_id, region, status, rows FROM lake_runs \
         WHERE table_name = 'changes_controls' AND run_id = '{first}';"
    );
    assert_eq!(
        rows(&lake, &committed),
        [json!({"account_id": ACCOUNT, "region": "global", "status": "ok", "rows": 0})]
    );
    assert_eq!(rows(&lake, CONTROLS), Vec::<Value>::new());

    // Each change is decided by GetAccountAuthorizationDetails or ListAccessKeys, which AWS
    // answers live, and none by the credential report, which moto builds afresh on every
    // GetCredentialReport where AWS keeps serving one for four hours.
    iam.attach(GAINS_POLICY, &policy);
    iam.detach(LOSES_POLICY, &policy);
    iam.detach(DELETED, &policy);
    iam.delete_user(DELETED);
    let second_key = iam.create_key(SECOND_KEY);
    let second = run(&emulator, &lake);

    let runs = [first.as_str(), second.as_str()];
    let expected = vec![
        user_change("1.13", SECOND_KEY, ["PASS", "FAIL"], runs),
        user_change("1.15", GAINS_POLICY, ["PASS", "FAIL"], runs),
        user_change("1.15", LOSES_POLICY, ["FAIL", "PASS"], runs),
    ];
    assert_eq!(rows(&lake, CONTROLS), expected);

    // No other result changed status: the two runs' compliance results, compared in SQL.
    let compared = format!(
        "SELECT b.control_id, b.resource_id, a.status AS previous_status, b.status \
         FROM compliance_results_history a JOIN compliance_results_history b \
         USING (account_id, region, framework, control_id, resource_type, resource_id, source) \
         WHERE a.run_id = '{first}' AND b.run_id = '{second}' AND a.status <> b.status \
         ORDER BY ALL;"
    );
    let pairs: Vec<Value> = expected
        .iter()
        .map(|c| {
            json!({"control_id": c["control_id"], "resource_id": c["resource_id"],
                   "previous_status": c["previous_status"], "status": c["status"]})
        })
        .collect();
    assert_eq!(rows(&lake, &compared), pairs);

    // The deleted user failed 1.15 in the first run and has no results in the second: with
    // no status to change to, no changes_controls row names it.
    let deleted = format!(
        "SELECT run_id, status FROM compliance_results_history \
         WHERE resource_id = '{}' AND control_id = '1.15' ORDER BY ALL;",
        user_arn(DELETED)
    );
    assert_eq!(
        rows(&lake, &deleted),
        [json!({"run_id": first, "status": "FAIL"})]
    );
    let named = format!(
        "SELECT count(*) AS n FROM changes_controls_history WHERE resource_id = '{}';",
        user_arn(DELETED)
    );
    assert_eq!(rows(&lake, &named), [json!({"n": 0})]);

    // IAM principals are not Config resources: changes_resources compares config_resources
    // only and changes_findings securityhub_findings, and an IAM run writes neither.
    let other_changes = "SELECT count(*) AS n FROM lake_runs \
         WHERE table_name IN ('changes_resources', 'changes_findings');";
    assert_eq!(rows(&lake, other_changes), [json!({"n": 0})]);

    // The jobs rerun over the second run: a second commit of the same rows.
    let full = "SELECT * EXCLUDE (dt) FROM changes_controls ORDER BY ALL;";
    let before = rows(&lake, full);
    assert_success(&rerun_jobs(&emulator, &lake, &second));
    assert_eq!(rows(&lake, full), before);
    assert_eq!(rows(&lake, CONTROLS), expected);
    let commits = format!(
        "SELECT count(DISTINCT committed_at) AS n FROM lake_runs \
         WHERE table_name = 'changes_controls' AND run_id = '{second}';"
    );
    assert_eq!(rows(&lake, &commits), [json!({"n": 2})]);

    // With the second key deleted again, a third run is compared with the second (whose
    // results were committed twice), not with the first, where 1.13 passed as well.
    iam.delete_key(SECOND_KEY, &second_key);
    let third = run(&emulator, &lake);
    assert_eq!(
        rows(&lake, CONTROLS),
        [user_change(
            "1.13",
            SECOND_KEY,
            ["FAIL", "PASS"],
            [&second, &third]
        )]
    );

    // The jobs rerun over the second run now that the third has committed, twice: the
    // second time, the first rerun's commit is newer than the third run's data, which
    // the rerun must still not read as the second run's.
    for _ in 0..2 {
        assert_success(&rerun_jobs(&emulator, &lake, &second));
    }
    let of_second = CONTROLS.replace(
        "FROM changes_controls ",
        &format!("FROM changes_controls_history WHERE run_id = '{second}' "),
    );
    assert_eq!(rows(&lake, &of_second), expected);
}
