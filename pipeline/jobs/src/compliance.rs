//! `compliance_results` and `compliance_summary`: every control of the catalogue in
//! `controls/`, for every account the run covered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{self, CheckInput, Outcome, Status};
use crate::{Frame, JobError, Snapshot};

pub const RESULTS: &str = "compliance_results";
pub const SUMMARY: &str = "compliance_summary";

/// The control catalogues, embedded: one file per framework version.
const CATALOGUES: &[(&str, &str)] = &[(
    "controls/cis-aws-foundations-3.0.toml",
    include_str!("../../../controls/cis-aws-foundations-3.0.toml"),
)];

/// A framework's controls, as its catalogue file declares them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub framework: String,
    pub version: String,
    pub controls: Vec<Control>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub level: Option<i32>,
    pub resource_type: String,
    /// Tables the control needs; any of them missing for an account makes it UNKNOWN.
    pub reads: Vec<String>,
    /// The evaluation in `checks.rs`.
    pub check: String,
}

/// Every embedded catalogue, validated: each check exists.
pub fn catalogues() -> Result<Vec<Catalogue>, JobError> {
    CATALOGUES
        .iter()
        .map(|(file, text)| {
            let catalogue: Catalogue = toml::from_str(text).map_err(|e| JobError::Catalogue {
                file,
                message: e.to_string(),
            })?;
            for control in &catalogue.controls {
                if checks::check(&control.check).is_none() {
                    return Err(JobError::Catalogue {
                        file,
                        message: format!(
                            "control {} names unknown check {}",
                            control.id, control.check
                        ),
                    });
                }
            }
            Ok(catalogue)
        })
        .collect()
}

/// One row of `compliance_results`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultRow {
    pub framework: String,
    pub framework_version: String,
    pub control_id: String,
    pub control_title: String,
    pub level: Option<i32>,
    pub resource_type: String,
    pub resource_id: String,
    pub status: &'static str,
    pub reason: String,
    pub evidence: String,
    pub source: &'static str,
}

/// One row of `compliance_summary`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    pub framework: String,
    pub framework_version: String,
    pub control_id: Option<String>,
    pub passed: i64,
    pub failed: i64,
    pub unknown: i64,
    pub not_applicable: i64,
    pub score: Option<f64>,
}

/// Evaluate every control for every account of the snapshot. Returns result rows keyed
/// by (account, region).
pub async fn evaluate(
    snapshot: &mut Snapshot,
) -> Result<BTreeMap<(String, String), Vec<ResultRow>>, JobError> {
    let catalogues = catalogues()?;
    let mut tables: Vec<&'static str> = Vec::new();
    for catalogue in &catalogues {
        for control in &catalogue.controls {
            for table in &control.reads {
                if let Some(known) = known_table(table)
                    && !tables.contains(&known)
                {
                    tables.push(known);
                }
            }
        }
    }
    let mut frames: BTreeMap<&'static str, Frame> = BTreeMap::new();
    for table in tables {
        if let Some(frame) = snapshot.frame(table).await? {
            frames.insert(table, frame);
        }
    }

    let mut out: BTreeMap<(String, String), Vec<ResultRow>> = BTreeMap::new();
    if let Some(findings) = snapshot.frame(FINDINGS).await? {
        fold_securityhub(&findings, &mut out).map_err(|source| JobError::Polars {
            job: RESULTS,
            table: FINDINGS.to_owned(),
            source: Box::new(source),
        })?;
    }
    let accounts: Vec<String> = snapshot.accounts.iter().cloned().collect();
    for account in &accounts {
        let mut own: BTreeMap<&'static str, Frame> = BTreeMap::new();
        for (table, frame) in &frames {
            if snapshot.covered(table, account) {
                let filtered = frame
                    .for_account(account)
                    .map_err(|source| JobError::Polars {
                        job: RESULTS,
                        table: (*table).to_owned(),
                        source: Box::new(source),
                    })?;
                own.insert(table, filtered);
            }
        }
        for catalogue in &catalogues {
            for control in &catalogue.controls {
                let outcomes = evaluate_control(control, account, snapshot.snapshot_at, &own)?;
                for o in outcomes {
                    let rows = out.entry((account.clone(), o.region)).or_default();
                    rows.push(ResultRow {
                        framework: catalogue.framework.clone(),
                        framework_version: catalogue.version.clone(),
                        control_id: control.id.clone(),
                        control_title: control.title.clone(),
                        level: control.level,
                        resource_type: control.resource_type.clone(),
                        resource_id: o.resource_id,
                        status: o.status.as_str(),
                        reason: o.reason,
                        evidence: o.evidence.to_string(),
                        source: "lakewarden",
                    });
                }
            }
        }
    }
    Ok(out)
}

const FINDINGS: &str = "securityhub_findings";

/// Security Hub's own control findings (and the Config rule evaluations it relays) as
/// `source = securityhub` rows, so the standards enabled there sit beside ours. A finding
/// counts when it carries a compliance status; its control is the security control id,
/// else its generator. Archived findings are not in the snapshot.
fn fold_securityhub(
    findings: &Frame,
    out: &mut BTreeMap<(String, String), Vec<ResultRow>>,
) -> polars::prelude::PolarsResult<()> {
    let (accounts, regions, statuses, controls, generators, titles, standards, ids, raw) = (
        findings.strings("account_id")?,
        findings.strings("region")?,
        findings.strings("compliance_status")?,
        findings.strings("security_control_id")?,
        findings.strings("generator_id")?,
        findings.strings("title")?,
        findings.string_lists("associated_standards")?,
        findings.strings("finding_id")?,
        findings.strings("finding")?,
    );
    for i in 0..accounts.len() {
        let Some(compliance) = statuses[i].as_deref() else {
            continue;
        };
        let status = match compliance {
            "PASSED" => Status::Pass,
            "FAILED" | "WARNING" => Status::Fail,
            _ => Status::Unknown,
        };
        let resource: serde_json::Value = raw[i]
            .as_deref()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .map(|finding| finding["Resources"][0].clone())
            .unwrap_or_default();
        let control = controls[i]
            .clone()
            .or_else(|| generators[i].clone())
            .unwrap_or_default();
        let key = (
            accounts[i].clone().unwrap_or_default(),
            regions[i].clone().unwrap_or_default(),
        );
        out.entry(key).or_default().push(ResultRow {
            framework: "aws-securityhub".to_owned(),
            framework_version: String::new(),
            control_id: control,
            control_title: titles[i].clone().unwrap_or_default(),
            level: None,
            resource_type: resource["Type"].as_str().unwrap_or("Other").to_owned(),
            resource_id: resource["Id"].as_str().unwrap_or_default().to_owned(),
            status: status.as_str(),
            reason: format!("Security Hub reports {compliance}"),
            evidence: serde_json::json!({
                "finding_id": ids[i],
                "compliance_status": compliance,
                "associated_standards": standards[i],
            })
            .to_string(),
            source: "securityhub",
        });
    }
    Ok(())
}

/// The result rows as a frame with the columns of `compliance_results` that the jobs after
/// this one read (everything but the common columns other than account and region).
pub fn results_frame(
    results: &BTreeMap<(String, String), Vec<ResultRow>>,
) -> polars::prelude::PolarsResult<Frame> {
    use polars::prelude::{Column, DataFrame};
    let rows: Vec<(&(String, String), &ResultRow)> = results
        .iter()
        .flat_map(|(key, rows)| rows.iter().map(move |row| (key, row)))
        .collect();
    let text = |name: &str, value: &dyn Fn(&(String, String), &ResultRow) -> String| {
        let values: Vec<String> = rows.iter().map(|(k, r)| value(k, r)).collect();
        Column::new(name.into(), values)
    };
    let df = DataFrame::new_infer_height(vec![
        text("account_id", &|k, _| k.0.clone()),
        text("region", &|k, _| k.1.clone()),
        text("framework", &|_, r| r.framework.clone()),
        text("framework_version", &|_, r| r.framework_version.clone()),
        text("control_id", &|_, r| r.control_id.clone()),
        text("control_title", &|_, r| r.control_title.clone()),
        text("resource_type", &|_, r| r.resource_type.clone()),
        text("resource_id", &|_, r| r.resource_id.clone()),
        text("status", &|_, r| r.status.to_owned()),
        text("reason", &|_, r| r.reason.clone()),
        text("source", &|_, r| r.source.to_owned()),
    ])?;
    Ok(Frame { table: RESULTS, df })
}

fn known_table(name: &str) -> Option<&'static str> {
    lakewarden_lake::SCHEMA_FILES
        .iter()
        .map(|(table, _)| *table)
        .find(|table| *table == name)
}

fn evaluate_control(
    control: &Control,
    account: &str,
    snapshot_at: i64,
    frames: &BTreeMap<&'static str, Frame>,
) -> Result<Vec<Outcome>, JobError> {
    if let Some(missing) = control
        .reads
        .iter()
        .find(|t| !frames.contains_key(t.as_str()))
    {
        return Ok(vec![Outcome::new(
            account,
            Status::Unknown,
            format!("{missing} was not collected for this account"),
            serde_json::json!({"missing_table": missing}),
        )]);
    }
    let check = checks::check(&control.check).ok_or_else(|| JobError::Catalogue {
        file: "controls",
        message: format!("unknown check {}", control.check),
    })?;
    let input = CheckInput {
        account_id: account,
        snapshot_at,
        frames,
    };
    check(&input).map_err(|source| JobError::Polars {
        job: RESULTS,
        table: format!("control {}", control.id),
        source: Box::new(source),
    })
}

/// Counts and scores of result rows: per framework and control, and per framework.
pub fn summarise(rows: &[ResultRow]) -> Vec<SummaryRow> {
    let mut counts: BTreeMap<(String, String, Option<String>), [i64; 4]> = BTreeMap::new();
    for row in rows {
        let slot = match row.status {
            "PASS" => 0,
            "FAIL" => 1,
            "UNKNOWN" => 2,
            _ => 3,
        };
        for control in [Some(row.control_id.clone()), None] {
            counts
                .entry((
                    row.framework.clone(),
                    row.framework_version.clone(),
                    control,
                ))
                .or_default()[slot] += 1;
        }
    }
    counts
        .into_iter()
        .map(
            |(
                (framework, framework_version, control_id),
                [passed, failed, unknown, not_applicable],
            )| {
                SummaryRow {
                    framework,
                    framework_version,
                    control_id,
                    passed,
                    failed,
                    unknown,
                    not_applicable,
                    score: (passed + failed > 0)
                        .then(|| 100.0 * passed as f64 / (passed + failed) as f64),
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses_and_names_known_checks_and_tables() {
        let catalogues = catalogues().expect("catalogues are valid");
        let cis = &catalogues[0];
        assert_eq!(
            (cis.framework.as_str(), cis.version.as_str()),
            ("cis-aws-foundations", "3.0.0")
        );
        let ids: Vec<&str> = cis.controls.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "1.4", "1.5", "1.8", "1.10", "1.12", "1.13", "1.14", "1.15", "1.16", "1.17", "2.1.1",
            "2.1.2", "2.1.4", "2.2.1", "2.3.1", "2.3.3", "2.4.1", "3.1", "3.2", "3.3", "3.5",
            "3.6", "3.7", "3.8", "3.9", "4.16", "5.1", "5.2", "5.3", "5.4", "5.5",
        ] {
            assert!(ids.contains(&id), "control {id} is in the catalogue");
        }
        // 2.1.4 is listed once per resource it judges; every other id once.
        let mut seen = std::collections::BTreeSet::new();
        for control in &cis.controls {
            let key = (control.id.as_str(), control.resource_type.as_str());
            assert!(seen.insert(key), "{key:?} is listed twice");
        }
        assert_eq!(ids.iter().filter(|id| **id == "2.1.4").count(), 2);
    }

    #[test]
    fn a_control_on_config_data_not_collected_is_unknown() {
        let catalogues = catalogues().expect("catalogues are valid");
        for id in ["2.1.1", "3.7", "5.2"] {
            let control = catalogues[0]
                .controls
                .iter()
                .find(|c| c.id == id)
                .expect("control");
            let outcomes =
                evaluate_control(control, "012345678901", 0, &BTreeMap::new()).expect("evaluates");
            assert_eq!(
                outcomes,
                [Outcome::new(
                    "012345678901",
                    Status::Unknown,
                    "config_resources was not collected for this account",
                    serde_json::json!({"missing_table": "config_resources"}),
                )],
                "control {id}"
            );
        }
    }

    #[test]
    fn summary_scores_pass_over_decided() {
        let row = |control: &str, status: &'static str| ResultRow {
            framework: "f".into(),
            framework_version: "1".into(),
            control_id: control.into(),
            control_title: String::new(),
            level: Some(1),
            resource_type: String::new(),
            resource_id: String::new(),
            status,
            reason: String::new(),
            evidence: "{}".into(),
            source: "lakewarden",
        };
        let rows = [
            row("a", "PASS"),
            row("a", "FAIL"),
            row("a", "FAIL"),
            row("b", "UNKNOWN"),
            row("b", "NOT_APPLICABLE"),
        ];
        let summary = summarise(&rows);
        let whole = summary
            .iter()
            .find(|s| s.control_id.is_none())
            .expect("framework row");
        assert_eq!(
            (
                whole.passed,
                whole.failed,
                whole.unknown,
                whole.not_applicable
            ),
            (1, 2, 1, 1)
        );
        assert!((whole.score.expect("score") - 100.0 / 3.0).abs() < 1e-9);
        let b = summary
            .iter()
            .find(|s| s.control_id.as_deref() == Some("b"))
            .expect("b");
        assert_eq!(b.score, None, "nothing decided, no score");
    }
}
