//! `changes_resources`, `changes_findings` and `changes_controls`: what this run's snapshot
//! adds, removes and changes compared with the snapshot before it.
//!
//! The snapshot before is, per account and region, the newest usable snapshot of a run
//! that started earlier ([`Snapshot::previous_snapshots`]). Where there is none (the
//! first snapshot of an account and region) there are no change rows: a first snapshot
//! is not a list of additions. Resources and findings are compared only where this run
//! wrote the current snapshot; elsewhere the current snapshot is an older run's, whose
//! jobs already reported its changes, and nothing is written, so the latest view keeps
//! them. Every output is sorted, so the jobs rerun over one run give identical rows.

use std::collections::{BTreeMap, BTreeSet};

use lakewarden_lake::CommitEntry;
use polars::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::{Frame, JobError, Snapshot};

pub const RESOURCES: &str = "changes_resources";
pub const FINDINGS: &str = "changes_findings";
pub const CONTROLS: &str = "changes_controls";

const CONFIG: &str = "config_resources";
const SECURITYHUB: &str = "securityhub_findings";
const RESULTS: &str = crate::compliance::RESULTS;

/// Rows of one table, by (account, region).
pub type Groups<T> = BTreeMap<(String, String), Vec<T>>;

/// One row of `changes_resources`, less the common columns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ResourceChange {
    pub change: &'static str,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub changed_keys: Vec<String>,
    pub previous_run_id: String,
}

/// One row of `changes_findings`, less the common columns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingChange {
    pub change: &'static str,
    pub finding_id: String,
    pub product_name: Option<String>,
    pub title: Option<String>,
    pub severity_label: Option<String>,
    pub previous_severity_label: Option<String>,
    pub workflow_status: Option<String>,
    pub previous_workflow_status: Option<String>,
    pub record_state: Option<String>,
    pub previous_record_state: Option<String>,
    pub previous_run_id: String,
}

/// One row of `changes_controls`, less the common columns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ControlChange {
    pub framework: String,
    pub framework_version: String,
    pub control_id: String,
    pub control_title: String,
    pub resource_type: String,
    pub resource_id: String,
    pub source: String,
    pub previous_status: String,
    pub status: String,
    pub reason: String,
    pub previous_run_id: String,
}

const ACCOUNT_REGION: [&str; 2] = ["account_id", "region"];
const RESOURCE_KEY: [&str; 4] = ["account_id", "region", "resource_type", "resource_id"];
const FINDING_KEY: [&str; 3] = ["account_id", "region", "finding_id"];
/// One control may judge several resource types (CIS 2.1.4 judges the account's public
/// access block and each bucket's), and the account id then stands as the resource of
/// each type's NOT_APPLICABLE or UNKNOWN row: the type is part of the key.
const CONTROL_KEY: [&str; 7] = [
    "account_id",
    "region",
    "framework",
    "control_id",
    "resource_type",
    "resource_id",
    "source",
];

fn cols(names: &[&str]) -> Vec<Expr> {
    names.iter().map(|n| col(*n)).collect()
}

fn join(left: LazyFrame, right: LazyFrame, on: &[&str], how: JoinType) -> LazyFrame {
    left.join(right, cols(on), cols(on), JoinArgs::new(how))
}

/// The previous snapshot's rows where both it and a current snapshot exist, with
/// `previous_run_id`, and the (account, region, previous_run_id) pairs compared.
struct Previous {
    rows: DataFrame,
    pairs: DataFrame,
}

/// Read the previous snapshots of `table` for the accounts and regions in `compared`.
async fn read_previous(
    snapshot: &Snapshot,
    table: &'static str,
    compared: &BTreeSet<(String, String)>,
    columns: Option<&[&str]>,
) -> Result<Option<Previous>, JobError> {
    let entries: Vec<CommitEntry> = snapshot
        .previous_snapshots(table)
        .into_iter()
        .filter(|e| compared.contains(&(e.account_id.clone(), e.region.clone())))
        .collect();
    let Some(frame) = snapshot
        .read_columns(table, entries.as_slice(), columns)
        .await?
    else {
        return Ok(None);
    };
    let pairs = DataFrame::new_infer_height(vec![
        Column::new(
            "account_id".into(),
            entries
                .iter()
                .map(|e| e.account_id.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "region".into(),
            entries
                .iter()
                .map(|e| e.region.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "previous_run_id".into(),
            entries
                .iter()
                .map(|e| e.run_id.as_str())
                .collect::<Vec<_>>(),
        ),
    ])
    .map_err(|e| polars_err(table, e))?;
    // A previous snapshot has one run per account and region, but rows are matched to it
    // by their own run id so that nothing else can slip in.
    let rows = frame
        .df
        .lazy()
        .join(
            pairs.clone().lazy(),
            cols(&["account_id", "region", "run_id"]),
            cols(&["account_id", "region", "previous_run_id"]),
            JoinArgs::new(JoinType::Inner),
        )
        .with_column(col("run_id").alias("previous_run_id"))
        .collect()
        .map_err(|e| polars_err(table, e))?;
    Ok(Some(Previous { rows, pairs }))
}

fn polars_err(table: &str, source: PolarsError) -> JobError {
    JobError::Polars {
        job: "changes",
        table: table.to_owned(),
        source: Box::new(source),
    }
}

/// An empty group for every compared account and region, so a table with no changes
/// still gets its (empty) snapshot.
fn empty_groups<T>(keys: &BTreeSet<(String, String)>) -> Groups<T> {
    keys.iter().map(|k| (k.clone(), Vec::new())).collect()
}

fn text(frame: &Frame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(frame
        .strings(name)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

fn frame(table: &'static str, lf: LazyFrame) -> PolarsResult<Frame> {
    Ok(Frame {
        table,
        df: lf.collect()?,
    })
}

/// Sort each group and drop repeated rows, so output does not depend on row order.
fn settle<T: Ord>(mut groups: Groups<T>) -> Groups<T> {
    for rows in groups.values_mut() {
        rows.sort();
        rows.dedup();
    }
    groups
}

/// `changes_resources` for the accounts and regions whose Config snapshot this run wrote.
pub async fn resources(snapshot: &mut Snapshot) -> Result<Groups<ResourceChange>, JobError> {
    let compared = snapshot.written_by_run(CONFIG);
    let mut out = empty_groups(&compared);
    let (Some(current), Some(previous)) = (
        snapshot.frame(CONFIG).await?,
        read_previous(snapshot, CONFIG, &compared, None).await?,
    ) else {
        return Ok(out);
    };
    diff_resources(&current.df, &previous, &mut out).map_err(|e| polars_err(CONFIG, e))?;
    Ok(settle(out))
}

fn diff_resources(
    current: &DataFrame,
    previous: &Previous,
    out: &mut Groups<ResourceChange>,
) -> PolarsResult<()> {
    // A deleted resource is one that is no longer there: deleting it removes it.
    let present = |lf: LazyFrame| {
        lf.filter(col("deleted").not()).select(cols(&[
            "account_id",
            "region",
            "resource_type",
            "resource_id",
            "resource_name",
            "arn",
            "configuration",
            "supplementary_configuration",
            "previous_run_id",
        ]))
    };
    let cur = present(join(
        current.clone().lazy(),
        previous.pairs.clone().lazy(),
        &ACCOUNT_REGION,
        JoinType::Inner,
    ));
    let prev = present(previous.rows.clone().lazy());

    let added = frame(
        CONFIG,
        join(cur.clone(), prev.clone(), &RESOURCE_KEY, JoinType::Anti),
    )?;
    let removed = frame(
        CONFIG,
        join(prev.clone(), cur.clone(), &RESOURCE_KEY, JoinType::Anti),
    )?;
    for (change, rows) in [("added", &added), ("removed", &removed)] {
        push_resources(change, rows, None, out)?;
    }

    let before = prev.select([
        col("account_id"),
        col("region"),
        col("resource_type"),
        col("resource_id"),
        col("configuration").alias("previous_configuration"),
        col("supplementary_configuration").alias("previous_supplementary_configuration"),
    ]);
    let both = frame(
        CONFIG,
        join(cur, before, &RESOURCE_KEY, JoinType::Inner).filter(
            col("configuration")
                .neq_missing(col("previous_configuration"))
                .or(col("supplementary_configuration")
                    .neq_missing(col("previous_supplementary_configuration"))),
        ),
    )?;
    let (configuration, previous_configuration, supplementary, previous_supplementary) = (
        both.strings("configuration")?,
        both.strings("previous_configuration")?,
        both.strings("supplementary_configuration")?,
        both.strings("previous_supplementary_configuration")?,
    );
    let keys: Vec<Vec<String>> = (0..both.height())
        .map(|i| {
            let mut keys = changed_keys(
                configuration[i].as_deref(),
                previous_configuration[i].as_deref(),
            );
            keys.extend(
                changed_keys(
                    supplementary[i].as_deref(),
                    previous_supplementary[i].as_deref(),
                )
                .into_iter()
                .map(|k| format!("supplementaryConfiguration.{k}")),
            );
            keys
        })
        .collect();
    push_resources("changed", &both, Some(keys), out)
}

fn push_resources(
    change: &'static str,
    rows: &Frame,
    keys: Option<Vec<Vec<String>>>,
    out: &mut Groups<ResourceChange>,
) -> PolarsResult<()> {
    let (accounts, regions, types, ids, names, arns, runs) = (
        text(rows, "account_id")?,
        text(rows, "region")?,
        text(rows, "resource_type")?,
        text(rows, "resource_id")?,
        rows.strings("resource_name")?,
        rows.strings("arn")?,
        text(rows, "previous_run_id")?,
    );
    for i in 0..rows.height() {
        let changed_keys = keys.as_ref().map(|k| k[i].clone()).unwrap_or_default();
        // The same document spelled differently (key order, number format) is no change.
        if keys.is_some() && changed_keys.is_empty() {
            continue;
        }
        out.entry((accounts[i].clone(), regions[i].clone()))
            .or_default()
            .push(ResourceChange {
                change,
                resource_type: types[i].clone(),
                resource_id: ids[i].clone(),
                resource_name: names[i].clone(),
                arn: arns[i].clone(),
                changed_keys,
                previous_run_id: runs[i].clone(),
            });
    }
    Ok(())
}

/// The top-level keys whose values differ between two JSON objects, in the current
/// document's order, then keys only the previous one had. A missing, null or non-object
/// document counts as an empty object.
pub fn changed_keys(current: Option<&str>, previous: Option<&str>) -> Vec<String> {
    let object = |text: Option<&str>| match text.and_then(|t| serde_json::from_str(t).ok()) {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (now, before) = (object(current), object(previous));
    let mut keys: Vec<String> = now
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(before.keys().filter(|k| !now.contains_key(*k)).cloned());
    keys
}

/// `changes_findings` for the accounts and regions whose Security Hub snapshot this run
/// wrote.
pub async fn findings(snapshot: &mut Snapshot) -> Result<Groups<FindingChange>, JobError> {
    let compared = snapshot.written_by_run(SECURITYHUB);
    let mut out = empty_groups(&compared);
    let (Some(current), Some(previous)) = (
        snapshot
            .columns(SECURITYHUB, crate::FINDING_COLUMNS)
            .await?,
        read_previous(
            snapshot,
            SECURITYHUB,
            &compared,
            Some(crate::FINDING_COLUMNS),
        )
        .await?,
    ) else {
        return Ok(out);
    };
    diff_findings(&current.df, &previous, &mut out).map_err(|e| polars_err(SECURITYHUB, e))?;
    Ok(settle(out))
}

/// A finding counts as resolved when its workflow says so or Security Hub archived it.
fn resolved_expr() -> Expr {
    col("workflow_status")
        .eq(lit("RESOLVED"))
        .or(col("record_state").eq(lit("ARCHIVED")))
        .fill_null(lit(false))
        .alias("resolved")
}

fn diff_findings(
    current: &DataFrame,
    previous: &Previous,
    out: &mut Groups<FindingChange>,
) -> PolarsResult<()> {
    let shape = |lf: LazyFrame| {
        lf.select([
            col("account_id"),
            col("region"),
            col("finding_id"),
            col("product_name"),
            col("title"),
            col("severity_label"),
            col("workflow_status"),
            col("record_state"),
            col("previous_run_id"),
            resolved_expr(),
        ])
    };
    let cur = shape(join(
        current.clone().lazy(),
        previous.pairs.clone().lazy(),
        &ACCOUNT_REGION,
        JoinType::Inner,
    ));
    let prev = shape(previous.rows.clone().lazy());

    // New: an open finding the previous snapshot did not have. Resolved: an open finding
    // that is gone now, or that is now resolved or archived.
    let new = frame(
        SECURITYHUB,
        join(cur.clone(), prev.clone(), &FINDING_KEY, JoinType::Anti).filter(col("resolved").not()),
    )?;
    let gone = frame(
        SECURITYHUB,
        join(prev.clone(), cur.clone(), &FINDING_KEY, JoinType::Anti).filter(col("resolved").not()),
    )?;
    push_findings(&new, false, |_| Some("new"), out)?;
    push_findings(&gone, true, |_| Some("resolved"), out)?;

    let before = prev.select([
        col("account_id"),
        col("region"),
        col("finding_id"),
        col("severity_label").alias("previous_severity_label"),
        col("workflow_status").alias("previous_workflow_status"),
        col("record_state").alias("previous_record_state"),
        col("resolved").alias("previous_resolved"),
    ]);
    let both = frame(
        SECURITYHUB,
        join(cur, before, &FINDING_KEY, JoinType::Inner),
    )?;
    let (resolved, previous_resolved, severity, previous_severity) = (
        both.bools("resolved")?,
        both.bools("previous_resolved")?,
        both.strings("severity_label")?,
        both.strings("previous_severity_label")?,
    );
    let state = |i: usize| {
        (
            resolved[i] == Some(true),
            previous_resolved[i] == Some(true),
        )
    };
    push_findings(
        &both,
        false,
        |i| match state(i) {
            (true, false) => Some("resolved"),
            (false, true) => Some("reopened"),
            _ => None,
        },
        out,
    )?;
    push_findings(
        &both,
        false,
        |i| {
            (state(i) == (false, false) && severity[i] != previous_severity[i])
                .then_some("severity_changed")
        },
        out,
    )
}

/// Rows of `rows` as finding changes of the kind `change` gives each (none: skipped).
/// `gone` rows come from the previous snapshot alone: their values are the previous ones.
fn push_findings(
    rows: &Frame,
    gone: bool,
    change: impl Fn(usize) -> Option<&'static str>,
    out: &mut Groups<FindingChange>,
) -> PolarsResult<()> {
    let previous_or_null = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        match rows.df.column(name) {
            Ok(_) => rows.strings(name),
            Err(_) => Ok(vec![None; rows.height()]),
        }
    };
    let (accounts, regions, ids, products, titles, runs) = (
        text(rows, "account_id")?,
        text(rows, "region")?,
        text(rows, "finding_id")?,
        rows.strings("product_name")?,
        rows.strings("title")?,
        text(rows, "previous_run_id")?,
    );
    let (severity, workflow, record) = (
        rows.strings("severity_label")?,
        rows.strings("workflow_status")?,
        rows.strings("record_state")?,
    );
    let (previous_severity, previous_workflow, previous_record) = if gone {
        (severity.clone(), workflow.clone(), record.clone())
    } else {
        (
            previous_or_null("previous_severity_label")?,
            previous_or_null("previous_workflow_status")?,
            previous_or_null("previous_record_state")?,
        )
    };
    for i in 0..rows.height() {
        let Some(change) = change(i) else { continue };
        let now = |v: &[Option<String>]| if gone { None } else { v[i].clone() };
        out.entry((accounts[i].clone(), regions[i].clone()))
            .or_default()
            .push(FindingChange {
                change,
                finding_id: ids[i].clone(),
                product_name: products[i].clone(),
                title: titles[i].clone(),
                severity_label: now(&severity),
                previous_severity_label: previous_severity[i].clone(),
                workflow_status: now(&workflow),
                previous_workflow_status: previous_workflow[i].clone(),
                record_state: now(&record),
                previous_record_state: previous_record[i].clone(),
                previous_run_id: runs[i].clone(),
            });
    }
    Ok(())
}

/// `changes_controls`: status changes between the compliance results the compliance job
/// handed over (this run's) and the previous run's committed results. `None` when the
/// compliance job did not hand any over (it failed), so nothing is written.
pub async fn controls(snapshot: &Snapshot) -> Result<Option<Groups<ControlChange>>, JobError> {
    let Some(current) = snapshot.handed(RESULTS) else {
        return Ok(None);
    };
    let err = |e| polars_err(RESULTS, e);
    let accounts = text(current, "account_id").map_err(err)?;
    let regions = text(current, "region").map_err(err)?;
    let compared: BTreeSet<(String, String)> = accounts.into_iter().zip(regions).collect();
    let mut out = empty_groups(&compared);
    if let Some(previous) = read_previous(snapshot, RESULTS, &compared, None).await? {
        diff_controls(&current.df, &previous, &mut out).map_err(err)?;
    }
    Ok(Some(settle(out)))
}

fn diff_controls(
    current: &DataFrame,
    previous: &Previous,
    out: &mut Groups<ControlChange>,
) -> PolarsResult<()> {
    let cur = join(
        current.clone().lazy(),
        previous.pairs.clone().lazy(),
        &ACCOUNT_REGION,
        JoinType::Inner,
    );
    let mut before: Vec<Expr> = cols(&CONTROL_KEY);
    before.push(col("status").alias("previous_status"));
    let prev = previous.rows.clone().lazy().select(before);
    let changed = frame(
        RESULTS,
        join(cur, prev, &CONTROL_KEY, JoinType::Inner)
            .filter(col("status").neq(col("previous_status"))),
    )?;
    let get = |name: &str| text(&changed, name);
    let (accounts, regions, runs) = (get("account_id")?, get("region")?, get("previous_run_id")?);
    let (framework, version) = (get("framework")?, get("framework_version")?);
    let (control, title) = (get("control_id")?, get("control_title")?);
    let (kind, id, source) = (get("resource_type")?, get("resource_id")?, get("source")?);
    let (before, status, reason) = (get("previous_status")?, get("status")?, get("reason")?);
    for i in 0..changed.height() {
        out.entry((accounts[i].clone(), regions[i].clone()))
            .or_default()
            .push(ControlChange {
                framework: framework[i].clone(),
                framework_version: version[i].clone(),
                control_id: control[i].clone(),
                control_title: title[i].clone(),
                resource_type: kind[i].clone(),
                resource_id: id[i].clone(),
                source: source[i].clone(),
                previous_status: before[i].clone(),
                status: status[i].clone(),
                reason: reason[i].clone(),
                previous_run_id: runs[i].clone(),
            });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use lakewarden_lake::RunInfo;
    use serde_json::json;

    use super::*;
    use crate::compliance::ResultRow;
    use crate::testing::{commit, commit_at, finding_row, group, lake, runs};

    const A1: &str = "012345678901";
    const A2: &str = "111111111111";
    const EU: &str = "eu-west-1";

    fn resource(id: &str, configuration: Value, deleted: bool) -> Value {
        json!({
            "resource_type": "AWS::S3::Bucket",
            "resource_id": id,
            "resource_name": id,
            "arn": format!("arn:aws:s3:::{id}"),
            "resource_account_id": A1,
            "resource_region": EU,
            "configuration": configuration.to_string(),
            "supplementary_configuration": "{}",
            "deleted": deleted,
        })
    }

    #[test]
    fn changed_keys_lists_differing_and_vanished_top_level_keys() {
        assert_eq!(
            changed_keys(
                Some(r#"{"a":1,"b":{"c":2},"d":3}"#),
                Some(r#"{"a":1,"b":{"c":1},"e":4}"#)
            ),
            ["b", "d", "e"]
        );
        assert_eq!(
            changed_keys(Some(r#"{"a":1,"b":2}"#), Some(r#"{"b":2,"a":1}"#)),
            Vec::<String>::new(),
            "key order is no change"
        );
        assert_eq!(changed_keys(Some(r#"{"a":1}"#), None), ["a"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn resource_changes_between_two_config_snapshots() {
        let lake = lake();
        let [first, second]: [RunInfo; 2] = runs(2).try_into().expect("two runs");
        let before = vec![
            resource("kept", json!({"x": 1}), false),
            resource("edited", json!({"x": 1, "y": 2, "gone": true}), false),
            resource("dropped", json!({}), false),
            resource("deleted-now", json!({}), false),
        ];
        let after = vec![
            resource("kept", json!({"x": 1}), false),
            resource("edited", json!({"x": 1, "y": 3, "z": 0}), false),
            resource("deleted-now", json!({}), true),
            resource("fresh", json!({}), false),
        ];
        commit(&lake, &first, CONFIG, group(A1, EU, before)).await;
        let mut second_groups = group(A1, EU, after);
        // A second account seen for the first time: compared with nothing, no rows.
        second_groups.extend(group(
            A2,
            EU,
            vec![resource("new-account", json!({}), false)],
        ));
        commit(&lake, &second, CONFIG, second_groups).await;

        let mut snapshot = Snapshot::as_of_run(&lake, &second.run_id)
            .await
            .expect("snapshot");
        let changes = resources(&mut snapshot).await.expect("changes");
        let got: Vec<(&str, &str, Vec<String>, &str)> = changes[&(A1.to_owned(), EU.to_owned())]
            .iter()
            .map(|c| {
                (
                    c.change,
                    c.resource_id.as_str(),
                    c.changed_keys.clone(),
                    c.previous_run_id.as_str(),
                )
            })
            .collect();
        let prev = first.run_id.as_str();
        assert_eq!(
            got,
            [
                ("added", "fresh", vec![], prev),
                (
                    "changed",
                    "edited",
                    vec!["y".to_owned(), "z".to_owned(), "gone".to_owned()],
                    prev
                ),
                ("removed", "deleted-now", vec![], prev),
                ("removed", "dropped", vec![], prev),
            ]
        );
        assert!(
            changes[&(A2.to_owned(), EU.to_owned())].is_empty(),
            "a first snapshot is not a list of additions"
        );
        assert_eq!(changes.len(), 2);

        // The first run, compared with nothing: an empty snapshot per account and region.
        let mut first_snapshot = Snapshot::as_of_run(&lake, &first.run_id)
            .await
            .expect("snapshot");
        let none = resources(&mut first_snapshot).await.expect("changes");
        assert_eq!(none, group_of_empty(A1, EU));

        // Computed again over the same run: the same rows.
        let mut again = Snapshot::as_of_run(&lake, &second.run_id)
            .await
            .expect("snapshot");
        assert_eq!(resources(&mut again).await.expect("changes"), changes);
    }

    /// The fault pinned: the jobs rerun over a run once a later run had committed read the
    /// later run's snapshot as the run's own, and compared nothing or the wrong rows.
    #[tokio::test(flavor = "multi_thread")]
    async fn jobs_rerun_after_a_later_run_committed_read_the_later_runs_snapshot() {
        let lake = lake();
        let [first, second, third]: [RunInfo; 3] = runs(3).try_into().expect("three runs");
        let at = |run: &RunInfo, minutes: i64| run.snapshot_at + Duration::minutes(minutes);
        let config = |x: i64| group(A1, EU, vec![resource("a", json!({"x": x}), false)]);
        for (run, x) in [(&first, 1), (&second, 2), (&third, 3)] {
            let committed_at = at(run, 10).timestamp_millis();
            commit_at(&lake, run, CONFIG, config(x), committed_at).await;
        }
        // The second run's jobs, run again after the third run committed its data.
        let results = as_json(&results(vec![result("1.10", "alice", "PASS")]));
        let rerun_at = at(&third, 20).timestamp_millis();
        commit_at(&lake, &second, RESULTS, results, rerun_at).await;

        let mut snapshot = Snapshot::as_of_run(&lake, &second.run_id)
            .await
            .expect("snapshot");
        let current = snapshot.frame(CONFIG).await.expect("read").expect("rows");
        assert_eq!(
            text(&current, "run_id").expect("run ids"),
            [second.run_id.as_str()]
        );
        let changes = resources(&mut snapshot).await.expect("changes");
        let got: Vec<(&str, Vec<String>, &str)> = changes[&(A1.to_owned(), EU.to_owned())]
            .iter()
            .map(|c| (c.change, c.changed_keys.clone(), c.previous_run_id.as_str()))
            .collect();
        assert_eq!(
            got,
            [("changed", vec!["x".to_owned()], first.run_id.as_str())]
        );
    }

    fn group_of_empty<T>(account: &str, region: &str) -> Groups<T> {
        BTreeMap::from([((account.to_owned(), region.to_owned()), Vec::new())])
    }

    fn finding(id: &str, severity: &str, workflow: &str, record: &str) -> Value {
        finding_row(
            id,
            json!({
                "product_arn": "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
                "product_name": "GuardDuty",
                "severity_label": severity,
                "workflow_status": workflow,
                "record_state": record,
            }),
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn finding_changes_new_resolved_reopened_and_severity() {
        let lake = lake();
        let [first, second, third]: [RunInfo; 3] = runs(3).try_into().expect("three runs");
        let before = vec![
            finding("escalated", "HIGH", "NEW", "ACTIVE"),
            finding("vanished", "MEDIUM", "NEW", "ACTIVE"),
            finding("was-resolved", "LOW", "RESOLVED", "ACTIVE"),
            finding("fixed", "LOW", "NOTIFIED", "ACTIVE"),
            finding("archived", "LOW", "NEW", "ACTIVE"),
            finding("steady", "LOW", "NEW", "ACTIVE"),
            finding("old-closed", "LOW", "RESOLVED", "ACTIVE"),
        ];
        let after = vec![
            finding("escalated", "CRITICAL", "NEW", "ACTIVE"),
            finding("was-resolved", "LOW", "NEW", "ACTIVE"),
            finding("fixed", "LOW", "RESOLVED", "ACTIVE"),
            finding("archived", "LOW", "NEW", "ARCHIVED"),
            finding("steady", "LOW", "NEW", "ACTIVE"),
            finding("brand-new", "CRITICAL", "NEW", "ACTIVE"),
            finding("born-closed", "HIGH", "RESOLVED", "ACTIVE"),
        ];
        commit(&lake, &first, SECURITYHUB, group(A1, EU, before)).await;
        commit(&lake, &second, SECURITYHUB, group(A1, EU, after)).await;
        // A third run that wrote another table only: its findings are the second run's,
        // already compared, so it reports none.
        commit(&lake, &third, CONFIG, group(A1, EU, vec![])).await;

        let mut snapshot = Snapshot::as_of_run(&lake, &second.run_id)
            .await
            .expect("snapshot");
        let changes = findings(&mut snapshot).await.expect("changes");
        let rows = &changes[&(A1.to_owned(), EU.to_owned())];
        let got: Vec<(&str, &str, Option<&str>, Option<&str>)> = rows
            .iter()
            .map(|c| {
                (
                    c.change,
                    c.finding_id.as_str(),
                    c.previous_severity_label.as_deref(),
                    c.severity_label.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("new", "brand-new", None, Some("CRITICAL")),
                ("reopened", "was-resolved", Some("LOW"), Some("LOW")),
                ("resolved", "archived", Some("LOW"), Some("LOW")),
                ("resolved", "fixed", Some("LOW"), Some("LOW")),
                ("resolved", "vanished", Some("MEDIUM"), None),
                (
                    "severity_changed",
                    "escalated",
                    Some("HIGH"),
                    Some("CRITICAL")
                ),
            ]
        );
        let archived = rows
            .iter()
            .find(|c| c.finding_id == "archived")
            .expect("row");
        assert_eq!(
            (
                archived.previous_record_state.as_deref(),
                archived.record_state.as_deref()
            ),
            (Some("ACTIVE"), Some("ARCHIVED"))
        );
        let vanished = rows
            .iter()
            .find(|c| c.finding_id == "vanished")
            .expect("row");
        assert_eq!(
            (
                vanished.workflow_status.as_deref(),
                vanished.previous_workflow_status.as_deref(),
                vanished.title.as_deref()
            ),
            (None, Some("NEW"), Some("title of vanished"))
        );

        let mut later = Snapshot::as_of_run(&lake, &third.run_id)
            .await
            .expect("snapshot");
        assert_eq!(findings(&mut later).await.expect("changes"), Groups::new());
    }

    fn result(control: &str, resource: &str, status: &'static str) -> ResultRow {
        ResultRow {
            framework: "cis-aws-foundations".into(),
            framework_version: "3.0.0".into(),
            control_id: control.into(),
            control_title: format!("title {control}"),
            level: Some(1),
            resource_type: "AWS::IAM::User".into(),
            resource_id: resource.into(),
            status,
            reason: format!("{status} because"),
            evidence: "{}".into(),
            source: "lakewarden",
        }
    }

    /// Result rows as the JSON rows `commit` writes.
    fn as_json(results: &BTreeMap<(String, String), Vec<ResultRow>>) -> Groups<Value> {
        results
            .iter()
            .map(|(k, rows)| {
                let rows = rows.iter().map(|r| serde_json::to_value(r).expect("json"));
                (k.clone(), rows.collect())
            })
            .collect()
    }

    fn results(rows: Vec<ResultRow>) -> BTreeMap<(String, String), Vec<ResultRow>> {
        BTreeMap::from([((A1.to_owned(), "global".to_owned()), rows)])
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn control_changes_compare_handed_results_with_the_previous_run() {
        let lake = lake();
        let [first, second]: [RunInfo; 2] = runs(2).try_into().expect("two runs");
        let previous = results(vec![
            result("1.10", "alice", "PASS"),
            result("1.10", "bob", "FAIL"),
            result("1.14", "key", "UNKNOWN"),
            result("1.14", "same", "FAIL"),
            result("1.14", "dropped", "FAIL"),
        ]);
        commit(&lake, &first, RESULTS, as_json(&previous)).await;
        // The second run's extract commit, so that the run exists.
        commit(&lake, &second, CONFIG, group(A1, EU, vec![])).await;

        let mut snapshot = Snapshot::as_of_run(&lake, &second.run_id)
            .await
            .expect("snapshot");
        assert_eq!(controls(&snapshot).await.expect("changes"), None);
        let current = results(vec![
            result("1.10", "alice", "FAIL"),
            result("1.10", "bob", "PASS"),
            result("1.14", "key", "PASS"),
            result("1.14", "same", "FAIL"),
            result("1.14", "added", "FAIL"),
        ]);
        snapshot.hand_over(crate::compliance::results_frame(&current).expect("frame"));
        let changes = controls(&snapshot).await.expect("changes").expect("handed");
        let got: Vec<(&str, &str, &str, &str)> = changes[&(A1.to_owned(), "global".to_owned())]
            .iter()
            .map(|c| {
                (
                    c.control_id.as_str(),
                    c.resource_id.as_str(),
                    c.previous_status.as_str(),
                    c.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("1.10", "alice", "PASS", "FAIL"),
                ("1.10", "bob", "FAIL", "PASS"),
                ("1.14", "key", "UNKNOWN", "PASS"),
            ]
        );
        assert_eq!(changes.len(), 1);

        // The first run has no run before it: an empty snapshot.
        let mut first_snapshot = Snapshot::as_of_run(&lake, &first.run_id)
            .await
            .expect("snapshot");
        first_snapshot.hand_over(crate::compliance::results_frame(&previous).expect("frame"));
        assert_eq!(
            controls(&first_snapshot).await.expect("changes"),
            Some(group_of_empty(A1, "global"))
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn control_judging_two_resource_types_pairs_each_type_with_itself() {
        let lake = lake();
        let [first, second]: [RunInfo; 2] = runs(2).try_into().expect("two runs");
        let typed = |kind: &str, status: &'static str| ResultRow {
            resource_type: kind.into(),
            ..result("2.1.4", A1, status)
        };
        let rows = || {
            results(vec![
                typed("AWS::S3::AccountPublicAccessBlock", "NOT_APPLICABLE"),
                typed("AWS::S3::Bucket", "UNKNOWN"),
            ])
        };
        commit(&lake, &first, RESULTS, as_json(&rows())).await;
        commit(&lake, &second, CONFIG, group(A1, EU, vec![])).await;

        let mut snapshot = Snapshot::as_of_run(&lake, &second.run_id)
            .await
            .expect("snapshot");
        snapshot.hand_over(crate::compliance::results_frame(&rows()).expect("frame"));
        assert_eq!(
            controls(&snapshot).await.expect("changes"),
            Some(group_of_empty(A1, "global")),
            "the same statuses under the same types are no change"
        );
    }
}
