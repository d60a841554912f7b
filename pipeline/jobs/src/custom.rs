//! Custom controls: SQL files an operator keeps in the folder named by `[jobs]
//! custom_controls`, each run in Polars' SQL context over the committed snapshot.
//!
//! A file is one `SELECT` that returns exactly the columns of [`COLUMNS`], one row per
//! judged resource. It may read every lake table; the tables it names are registered
//! under their own names. Its rows go to `compliance_results` with framework `custom` and
//! source `custom`. A file that cannot be read, does not run, or returns other columns,
//! null values or an unknown status is an error naming the file: it is logged, and every
//! account of the run gets one UNKNOWN row for it (control id: the file's stem) whose
//! reason carries the error. The other files still run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars::sql::SQLContext;
use serde_json::json;

use crate::compliance::ResultRow;
use crate::{Frame, JobError, Snapshot};

/// The columns a custom control returns, in any order: every other column of
/// `compliance_results` is filled in by the job.
pub const COLUMNS: [&str; 9] = [
    "account_id",
    "region",
    "control_id",
    "control_title",
    "resource_type",
    "resource_id",
    "status",
    "reason",
    "evidence",
];
pub const FRAMEWORK: &str = "custom";
const STATUSES: [&str; 4] = ["PASS", "FAIL", "NOT_APPLICABLE", "UNKNOWN"];

/// Result rows keyed by (account, region), as the compliance job writes them.
pub type Rows = BTreeMap<(String, String), Vec<ResultRow>>;

/// Run every `*.sql` file of `dir`, in name order, and add their rows to `out`. Returns
/// the errors, one per failed file (or one for the folder when it cannot be listed).
pub async fn evaluate(dir: &Path, snapshot: &mut Snapshot, out: &mut Rows) -> Vec<JobError> {
    let files = match sql_files(dir) {
        Ok(files) => files,
        Err(error) => {
            let error = failure(dir, format!("the folder cannot be listed: {error}"));
            fail_everywhere(dir, &error, &snapshot.accounts, out);
            return vec![error];
        }
    };
    let mut errors = Vec::new();
    for file in files {
        match run_file(&file, snapshot).await {
            Ok(rows) => {
                for ((account, region), rows) in rows {
                    out.entry((account, region)).or_default().extend(rows);
                }
            }
            Err(error) => {
                tracing::error!(file = %file.display(), %error, "Custom control failed; its rows are UNKNOWN");
                fail_everywhere(&file, &error, &snapshot.accounts, out);
                errors.push(error);
            }
        }
    }
    errors
}

fn sql_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn failure(file: &Path, message: String) -> JobError {
    JobError::CustomControl {
        file: file.display().to_string(),
        message,
    }
}

/// The control id of a file's UNKNOWN rows: its name without `.sql`.
fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

fn fail_everywhere(file: &Path, error: &JobError, accounts: &BTreeSet<String>, out: &mut Rows) {
    for account in accounts {
        out.entry((account.clone(), "global".to_owned()))
            .or_default()
            .push(unknown_row(
                file,
                account,
                error.to_string(),
                json!({"file": file.display().to_string(), "error": error.to_string()}),
            ));
    }
}

fn unknown_row(
    file: &Path,
    account: &str,
    reason: String,
    evidence: serde_json::Value,
) -> ResultRow {
    ResultRow {
        framework: FRAMEWORK.to_owned(),
        framework_version: String::new(),
        control_id: stem(file),
        control_title: format!("custom control {}", stem(file)),
        level: None,
        resource_type: "AWS::::Account".to_owned(),
        resource_id: account.to_owned(),
        status: "UNKNOWN",
        reason,
        evidence: evidence.to_string(),
        source: FRAMEWORK,
    }
}

/// Lake tables whose name appears as a word of the query.
fn tables_named(sql: &str) -> Vec<&'static str> {
    let words: BTreeSet<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_ascii_lowercase)
        .collect();
    lakewarden_lake::SCHEMA_FILES
        .iter()
        .map(|(table, _)| *table)
        .filter(|table| words.contains(*table))
        .collect()
}

async fn run_file(file: &Path, snapshot: &mut Snapshot) -> Result<Rows, JobError> {
    let sql =
        std::fs::read_to_string(file).map_err(|e| failure(file, format!("cannot be read: {e}")))?;
    let tables = tables_named(&sql);

    // An account for which a table the query names was not collected gets UNKNOWN.
    let mut out = Rows::new();
    let mut judged: BTreeSet<String> = BTreeSet::new();
    for account in &snapshot.accounts {
        match tables.iter().find(|t| !snapshot.covered(t, account)) {
            Some(missing) => out
                .entry((account.clone(), "global".to_owned()))
                .or_default()
                .push(unknown_row(
                    file,
                    account,
                    format!("{missing} was not collected for this account"),
                    json!({"file": file.display().to_string(), "missing_table": missing}),
                )),
            None => {
                judged.insert(account.clone());
            }
        }
    }
    if judged.is_empty() {
        return Ok(out);
    }

    let mut frames = BTreeMap::new();
    for table in tables {
        if let Some(frame) = snapshot.frame(table).await? {
            frames.insert(table, frame);
        }
    }
    for (account, region, row) in query(file, &sql, &frames)? {
        if judged.contains(&account) {
            out.entry((account, region)).or_default().push(row);
        }
    }
    Ok(out)
}

/// Run one file's query over `frames`, registered under their table names.
fn query(
    file: &Path,
    sql: &str,
    frames: &BTreeMap<&'static str, Frame>,
) -> Result<Vec<(String, String, ResultRow)>, JobError> {
    let mut context = SQLContext::new();
    for (table, frame) in frames {
        context.register(table, frame.df.clone().lazy());
    }
    let df = context
        .execute(sql)
        .and_then(LazyFrame::collect)
        .map_err(|e| failure(file, e.to_string()))?;
    rows_of(file, &df)
}

/// The query's rows as (account, region, result row), after checking its columns.
fn rows_of(file: &Path, df: &DataFrame) -> Result<Vec<(String, String, ResultRow)>, JobError> {
    let names: BTreeSet<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    let expected: BTreeSet<&str> = COLUMNS.into_iter().collect();
    if names != expected {
        let missing: Vec<&str> = expected.difference(&names).copied().collect();
        let extra: Vec<&str> = names.difference(&expected).copied().collect();
        return Err(failure(
            file,
            format!(
                "returns the wrong columns (missing: [{}], unexpected: [{}]); a custom \
                 control returns exactly {}",
                missing.join(", "),
                extra.join(", "),
                COLUMNS.join(", ")
            ),
        ));
    }
    let mut columns: BTreeMap<&str, Vec<Option<String>>> = BTreeMap::new();
    for name in COLUMNS {
        let column = df
            .column(name)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| failure(file, format!("column {name}: {e}")))?;
        let values = column
            .as_materialized_series()
            .str()
            .map_err(|e| failure(file, format!("column {name}: {e}")))?
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect();
        columns.insert(name, values);
    }
    (0..df.height())
        .map(|i| {
            let value = |name: &str| {
                columns[name][i]
                    .clone()
                    .ok_or_else(|| failure(file, format!("row {}: {name} is null", i + 1)))
            };
            let status = value("status")?;
            let status = STATUSES.into_iter().find(|s| *s == status).ok_or_else(|| {
                failure(
                    file,
                    format!(
                        "row {}: status {status:?} is not one of {}",
                        i + 1,
                        STATUSES.join(", ")
                    ),
                )
            })?;
            Ok((
                value("account_id")?,
                value("region")?,
                ResultRow {
                    framework: FRAMEWORK.to_owned(),
                    framework_version: String::new(),
                    control_id: value("control_id")?,
                    control_title: value("control_title")?,
                    level: None,
                    resource_type: value("resource_type")?,
                    resource_id: value("resource_id")?,
                    status,
                    reason: value("reason")?,
                    evidence: value("evidence")?,
                    source: FRAMEWORK,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../controls/custom-examples/ec2-imdsv2.sql");
    const ACCOUNT: &str = "012345678901";

    /// Two instances, one requiring metadata tokens, one deleted, and a bucket.
    fn frames() -> BTreeMap<&'static str, Frame> {
        let df = df! {
            "account_id" => [ACCOUNT; 4],
            "resource_region" => ["us-east-1", "eu-west-1", "us-east-1", "us-east-1"],
            "resource_type" => ["AWS::EC2::Instance", "AWS::EC2::Instance", "AWS::EC2::Instance", "AWS::S3::Bucket"],
            "resource_id" => ["i-1", "i-2", "i-3", "b"],
            "arn" => [Some("arn:aws:ec2:us-east-1:012345678901:instance/i-1"), None, None, None],
            "configuration" => [
                r#"{"metadataOptions":{"httpTokens":"required"}}"#,
                r#"{"metadataOptions":{"httpTokens":"optional"}}"#,
                r#"{"metadataOptions":{"httpTokens":"optional"}}"#,
                "{}",
            ],
            "deleted" => [false, false, true, false],
        }
        .expect("frame");
        BTreeMap::from([(
            "config_resources",
            Frame {
                table: "config_resources",
                df,
            },
        )])
    }

    fn file(name: &str) -> PathBuf {
        PathBuf::from("custom").join(name)
    }

    #[test]
    fn the_example_control_judges_each_live_instance() {
        let rows = query(&file("ec2-imdsv2.sql"), EXAMPLE, &frames()).expect("query runs");
        let got: Vec<(&str, &str, &str, &str, &str)> = rows
            .iter()
            .map(|(account, region, row)| {
                (
                    account.as_str(),
                    region.as_str(),
                    row.resource_id.as_str(),
                    row.status,
                    row.evidence.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    ACCOUNT,
                    "us-east-1",
                    "arn:aws:ec2:us-east-1:012345678901:instance/i-1",
                    "PASS",
                    r#"{"http_tokens_required":true}"#
                ),
                (
                    ACCOUNT,
                    "eu-west-1",
                    "i-2",
                    "FAIL",
                    r#"{"http_tokens_required":false}"#
                ),
            ]
        );
        let first = &rows[0].2;
        assert_eq!(
            (
                first.framework.as_str(),
                first.control_id.as_str(),
                first.control_title.as_str(),
                first.resource_type.as_str(),
                first.reason.as_str(),
                first.source,
                first.level,
            ),
            (
                "custom",
                "ec2-imdsv2",
                "EC2 instances require IMDSv2 session tokens",
                "AWS::EC2::Instance",
                "instance metadata requires a session token",
                "custom",
                None,
            )
        );
        assert_eq!(tables_named(EXAMPLE), ["config_resources"]);
    }

    #[test]
    fn a_file_returning_other_columns_is_an_error_naming_it() {
        let sql = "SELECT account_id, resource_id AS id FROM config_resources";
        let error = query(&file("broken.sql"), sql, &frames()).expect_err("wrong columns");
        assert_eq!(
            error.to_string(),
            "custom control custom/broken.sql: returns the wrong columns (missing: \
             [control_id, control_title, evidence, reason, region, resource_id, \
             resource_type, status], unexpected: [id]); a custom control returns exactly \
             account_id, region, control_id, control_title, resource_type, resource_id, \
             status, reason, evidence"
        );
    }

    #[test]
    fn a_file_that_does_not_run_or_gives_a_bad_status_is_an_error_naming_it() {
        let error = query(&file("typo.sql"), "SELEC nothing", &frames()).expect_err("bad SQL");
        assert!(
            error
                .to_string()
                .starts_with("custom control custom/typo.sql: "),
            "{error}"
        );
        let sql = EXAMPLE.replace("'PASS'", "'OK'");
        let error = query(&file("status.sql"), &sql, &frames()).expect_err("bad status");
        assert_eq!(
            error.to_string(),
            "custom control custom/status.sql: row 1: status \"OK\" is not one of PASS, \
             FAIL, NOT_APPLICABLE, UNKNOWN"
        );
    }

    #[test]
    fn a_failed_file_gives_every_account_one_unknown_row_naming_it() {
        let accounts = BTreeSet::from(["111111111111".to_owned(), ACCOUNT.to_owned()]);
        let error = failure(&file("broken.sql"), "boom".to_owned());
        let mut out = Rows::new();
        fail_everywhere(&file("broken.sql"), &error, &accounts, &mut out);
        let rows: Vec<(&str, &str, &str, &str)> = out
            .iter()
            .flat_map(|((account, region), rows)| {
                rows.iter().map(move |r| {
                    (
                        account.as_str(),
                        region.as_str(),
                        r.control_id.as_str(),
                        r.status,
                    )
                })
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("012345678901", "global", "broken", "UNKNOWN"),
                ("111111111111", "global", "broken", "UNKNOWN")
            ]
        );
        assert_eq!(
            out.values().next().expect("row")[0].reason,
            "custom control custom/broken.sql: boom"
        );
    }
}
