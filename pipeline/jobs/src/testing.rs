//! What the jobs' tests share: an in-memory lake and committed snapshots written into it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, Utc};
use lakewarden_lake::{CommitRow, Lake, RunInfo};
use object_store::memory::InMemory;
use object_store::path::Path;
use serde_json::{Value, json};

use crate::changes::Groups;
use crate::{JobContext, write_rows};

pub(crate) fn lake() -> Lake {
    Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake")
}

/// Runs an hour apart, oldest first.
pub(crate) fn runs(n: i64) -> Vec<RunInfo> {
    let t0 = Utc::now() - Duration::hours(n + 1);
    (0..n)
        .map(|i| RunInfo::start(t0 + Duration::hours(i)))
        .collect()
}

/// Write `groups` of `table` as `run`'s snapshot and commit it now.
pub(crate) async fn commit(lake: &Lake, run: &RunInfo, table: &str, groups: Groups<Value>) {
    commit_at(lake, run, table, groups, Utc::now().timestamp_millis()).await;
}

/// Write `groups` of `table` as `run`'s snapshot and commit it at `committed_at`.
pub(crate) async fn commit_at(
    lake: &Lake,
    run: &RunInfo,
    table: &str,
    groups: Groups<Value>,
    committed_at: i64,
) {
    let ctx = JobContext {
        lake: lake.clone(),
        run: run.clone(),
        options: Arc::default(),
        accounts: groups.keys().map(|(account, _)| account.clone()).collect(),
    };
    let outputs = write_rows(&ctx, "test", table, &groups)
        .await
        .expect("written");
    let rows: Vec<CommitRow> = outputs
        .iter()
        .map(|o| CommitRow {
            committed_at,
            ..CommitRow::new(run, table, &o.account_id, &o.region).written(&o.output)
        })
        .collect();
    let name = format!("{}.{table}", run.run_id);
    lakewarden_lake::commit_as(lake, run, &name, &rows)
        .await
        .expect("committed");
}

pub(crate) fn group(account: &str, region: &str, rows: Vec<Value>) -> Groups<Value> {
    BTreeMap::from([((account.to_owned(), region.to_owned()), rows)])
}

/// A `securityhub_findings` row of account 012345678901 with every required column, the
/// columns of `fields` set over it.
pub(crate) fn finding_row(id: &str, fields: Value) -> Value {
    let mut row = json!({
        "finding_id": id,
        "aws_account_id": "012345678901",
        "product_arn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        "generator_id": "g",
        "types": [],
        "title": format!("title of {id}"),
        "description": "d",
        "related_requirements": [],
        "associated_standards": [],
        "resources": [],
        "product_fields": {},
        "user_defined_fields": {},
        "finding": "{}",
    });
    if let (Some(row), Value::Object(fields)) = (row.as_object_mut(), fields) {
        row.extend(fields);
    }
    row
}
