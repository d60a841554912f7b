//! `compliance_results` and `compliance_summary`: every control of the catalogue in
//! `controls/`, for every account the run covered.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::checks::{self, CheckInput, Outcome, Status};
use crate::frame::AccountFrames;
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
    /// Security Hub's control for the same requirement (its security control id). When
    /// our own evaluation leaves the whole account UNKNOWN (no source reads what the
    /// control needs), that control's findings in the snapshot decide it, per region.
    #[serde(default)]
    pub securityhub_control: Option<String>,
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

    let wanted: BTreeSet<&str> = catalogues
        .iter()
        .flat_map(|c| &c.controls)
        .filter_map(|c| c.securityhub_control.as_deref())
        .collect();
    let mut out: BTreeMap<(String, String), Vec<ResultRow>> = BTreeMap::new();
    let mut verdicts = Verdicts::new();
    if let Some(findings) = snapshot.columns(FINDINGS, crate::FINDING_COLUMNS).await? {
        fold_securityhub(&findings, &wanted, &mut out, &mut verdicts).map_err(|source| {
            JobError::Polars {
                job: RESULTS,
                table: FINDINGS.to_owned(),
                source: Box::new(source),
            }
        })?;
    }
    let split = AccountFrames::new(RESULTS, &frames)?;
    let accounts: Vec<String> = snapshot.accounts.iter().cloned().collect();
    for account in &accounts {
        let own = split.of(account, |table| snapshot.covered(table, account))?;
        for catalogue in &catalogues {
            for control in &catalogue.controls {
                let mut outcomes = evaluate_control(control, account, snapshot.snapshot_at, &own)?;
                if let Some(id) = &control.securityhub_control
                    && let [only] = outcomes.as_slice()
                    && only.status == Status::Unknown
                    && only.resource_id == *account
                    && let Some(found) = verdicts.get(&(account.clone(), id.clone()))
                {
                    outcomes = securityhub_decides(account, id, only, found);
                }
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
/// One Security Hub control finding that may decide a control of ours.
#[derive(Debug)]
struct Verdict {
    region: String,
    compliance: String,
    finding_id: String,
}

/// Verdicts by (account, security control id).
type Verdicts = BTreeMap<(String, String), Vec<Verdict>>;

/// Our UNKNOWN account-wide outcome replaced by Security Hub's verdicts, one outcome per
/// region: FAIL where any of its findings there fails, PASS where one passes and none
/// fails, UNKNOWN where they carry neither (NOT_AVAILABLE). The evidence keeps why we
/// could not decide it ourselves.
fn securityhub_decides(
    account: &str,
    control: &str,
    own: &Outcome,
    found: &[Verdict],
) -> Vec<Outcome> {
    let mut by_region: BTreeMap<&str, Vec<&Verdict>> = BTreeMap::new();
    for verdict in found {
        by_region
            .entry(verdict.region.as_str())
            .or_default()
            .push(verdict);
    }
    by_region
        .into_iter()
        .map(|(region, verdicts)| {
            let has = |status: &str| verdicts.iter().any(|v| v.compliance == status);
            let (status, said) = if has("FAILED") {
                (Status::Fail, "FAILED")
            } else if has("WARNING") {
                (Status::Fail, "WARNING")
            } else if has("PASSED") {
                (Status::Pass, "PASSED")
            } else {
                (Status::Unknown, "NOT_AVAILABLE")
            };
            let mut ids: Vec<&str> = verdicts.iter().map(|v| v.finding_id.as_str()).collect();
            ids.sort_unstable();
            Outcome::new(
                account,
                status,
                format!("Security Hub control {control} reports {said} in this region"),
                serde_json::json!({
                    "securityhub_control": control,
                    "finding_ids": ids,
                    "without_securityhub": own.reason,
                }),
            )
            .in_region(region)
        })
        .collect()
}

/// Security Hub's own control findings (and the Config rule evaluations it relays) as
/// `source = securityhub` rows, so the standards enabled there sit beside ours. A finding
/// counts when it carries a compliance status; its control is the security control id,
/// else its generator. Archived findings are not in the snapshot.
fn fold_securityhub(
    findings: &Frame,
    wanted: &BTreeSet<&str>,
    out: &mut BTreeMap<(String, String), Vec<ResultRow>>,
    verdicts: &mut Verdicts,
) -> polars::prelude::PolarsResult<()> {
    use polars::prelude::{IntoLazy, col};
    let first_resource = |field: &str| {
        col("resources")
            .list()
            .first()
            .struct_()
            .field_by_name(field)
    };
    let controls_only = Frame {
        table: findings.table,
        df: findings
            .df
            .clone()
            .lazy()
            .filter(col("compliance_status").is_not_null())
            .select([
                col("account_id"),
                col("region"),
                col("compliance_status"),
                col("security_control_id"),
                col("generator_id"),
                col("title"),
                col("associated_standards"),
                col("finding_id"),
                first_resource("type").alias("resource_type"),
                first_resource("id").alias("resource_id"),
            ])
            .collect()?,
    };
    let findings = &controls_only;
    let (accounts, regions, statuses, controls, generators, titles, standards, ids) = (
        findings.strings("account_id")?,
        findings.strings("region")?,
        findings.strings("compliance_status")?,
        findings.strings("security_control_id")?,
        findings.strings("generator_id")?,
        findings.strings("title")?,
        findings.string_lists("associated_standards")?,
        findings.strings("finding_id")?,
    );
    let (resource_types, resource_ids) = (
        findings.strings("resource_type")?,
        findings.strings("resource_id")?,
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
        let control = controls[i]
            .clone()
            .or_else(|| generators[i].clone())
            .unwrap_or_default();
        let key = (
            accounts[i].clone().unwrap_or_default(),
            regions[i].clone().unwrap_or_default(),
        );
        if wanted.contains(control.as_str()) {
            verdicts
                .entry((key.0.clone(), control.clone()))
                .or_default()
                .push(Verdict {
                    region: key.1.clone(),
                    compliance: compliance.to_owned(),
                    finding_id: ids[i].clone().unwrap_or_default(),
                });
        }
        out.entry(key).or_default().push(ResultRow {
            framework: "aws-securityhub".to_owned(),
            framework_version: String::new(),
            control_id: control,
            control_title: titles[i].clone().unwrap_or_default(),
            level: None,
            resource_type: resource_types[i]
                .clone()
                .unwrap_or_else(|| "Other".to_owned()),
            resource_id: resource_ids[i].clone().unwrap_or_default(),
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

    /// A finding of Security Hub's `control` with its compliance status.
    fn control_finding(id: &str, control: &str, compliance: &str) -> serde_json::Value {
        crate::testing::finding_row(
            id,
            serde_json::json!({
                "generator_id": format!("security-control/{control}"),
                "title": format!("control {control}"),
                "compliance_status": compliance,
                "security_control_id": control,
            }),
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn controls_no_source_reads_are_decided_by_securityhub_control_findings() {
        use crate::testing::{commit, lake, runs};
        const A1: &str = "012345678901";
        const A2: &str = "111111111111";
        let lake = lake();
        let run = runs(1).remove(0);
        let groups = BTreeMap::from([
            (
                (A1.to_owned(), "us-east-1".to_owned()),
                vec![control_finding("a1-use1-iam28", "IAM.28", "FAILED")],
            ),
            (
                (A1.to_owned(), "eu-west-1".to_owned()),
                vec![
                    control_finding("a1-euw1-iam28", "IAM.28", "PASSED"),
                    // Two standards' findings of one control: the failing one decides.
                    control_finding("a1-euw1-ec27-a", "EC2.7", "PASSED"),
                    control_finding("a1-euw1-ec27-b", "EC2.7", "FAILED"),
                ],
            ),
            (
                (A2.to_owned(), "us-east-1".to_owned()),
                vec![control_finding("a2-use1-s31", "S3.1", "PASSED")],
            ),
        ]);
        commit(&lake, &run, FINDINGS, groups).await;
        let mut snapshot = Snapshot::as_of_run(&lake, &run.run_id)
            .await
            .expect("snapshot");
        let out = evaluate(&mut snapshot).await.expect("evaluated");

        let ours = |control: &str| -> Vec<(String, String, &'static str, String)> {
            out.iter()
                .flat_map(|((account, region), rows)| {
                    rows.iter()
                        .filter(|r| r.source == "lakewarden" && r.control_id == control)
                        .map(|r| (account.clone(), region.clone(), r.status, r.reason.clone()))
                })
                .collect()
        };
        let row = |account: &str, region: &str, status, reason: &str| {
            (
                account.to_owned(),
                region.to_owned(),
                status,
                reason.to_owned(),
            )
        };
        assert_eq!(
            ours("1.20"),
            [
                row(
                    A1,
                    "eu-west-1",
                    "PASS",
                    "Security Hub control IAM.28 reports PASSED in this region"
                ),
                row(
                    A1,
                    "us-east-1",
                    "FAIL",
                    "Security Hub control IAM.28 reports FAILED in this region"
                ),
                row(
                    A2,
                    "global",
                    "UNKNOWN",
                    "no source collects this control's data yet"
                ),
            ]
        );
        let ebs = ours("2.2.1");
        assert_eq!(ebs.len(), 2, "{ebs:?}");
        assert_eq!(
            ebs[0],
            row(
                A1,
                "eu-west-1",
                "FAIL",
                "Security Hub control EC2.7 reports FAILED in this region"
            )
        );
        assert_eq!(
            (ebs[1].0.as_str(), ebs[1].1.as_str(), ebs[1].2),
            (A2, "global", "UNKNOWN")
        );

        let evidence: serde_json::Value = out[&(A1.to_owned(), "eu-west-1".to_owned())]
            .iter()
            .find(|r| r.control_id == "2.2.1")
            .map(|r| serde_json::from_str(&r.evidence).expect("evidence is JSON"))
            .expect("2.2.1 row");
        assert_eq!(evidence["securityhub_control"], "EC2.7");
        assert_eq!(
            evidence["finding_ids"],
            serde_json::json!(["a1-euw1-ec27-a", "a1-euw1-ec27-b"])
        );
        assert!(
            evidence["without_securityhub"]
                .as_str()
                .is_some_and(|r| r.contains("no source reads EBS encryption by default")),
            "{evidence}"
        );
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
