//! `risk_resources`, `risk_identities` and `risk_images`: a 0–100 score for every resource,
//! principal and container image, built from weighted factors and raised by toxic
//! combinations. The model (weights, privilege-escalation sets, sensitivity tags, toxic
//! rules) is data: [`RiskModel`], embedded from `controls/risk.toml` and overridable from
//! the config's `[jobs.risk]` section.
//!
//! A factor whose input table was not collected for the account is listed in
//! `unknown_factors` rather than claimed absent, so the score is then a lower bound.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::checks::{self, DAY_MS, Report};
use crate::config_items::{
    self, ConfigItem, OpenIngress, Select, aws_principals, conditioned, names_anyone, one_or_many,
    open_ingress, public_access_settings_off,
};
use crate::frame::AccountFrames;
use crate::{Frame, JobError, Snapshot};

pub const RESOURCES: &str = "risk_resources";
pub const IDENTITIES: &str = "risk_identities";
pub const IMAGES: &str = "risk_images";

const DEFAULT_FILE: &str = "controls/risk.toml";
const DEFAULT_MODEL: &str = include_str!("../../../controls/risk.toml");
const OPTIONS_FILE: &str = "config [jobs.risk]";

pub const INTERNET_EXPOSED: &str = "internet_exposed";
pub const CRITICAL_FINDING: &str = "critical_finding";
pub const HIGH_FINDING: &str = "high_finding";
pub const ADMIN_EQUIVALENT: &str = "admin_equivalent";
pub const PRIVILEGE_ESCALATION: &str = "privilege_escalation";
pub const STALE_CREDENTIALS: &str = "stale_credentials";
pub const UNROTATED_ACCESS_KEY: &str = "unrotated_access_key";
pub const CONSOLE_WITHOUT_MFA: &str = "console_without_mfa";
pub const TRUST_OPEN_TO_WORLD: &str = "trust_open_to_world";
pub const TRUST_EXTERNAL_ACCOUNT: &str = "trust_external_account";
pub const VULNERABLE_IMAGE: &str = "vulnerable_image";
pub const ROOT_IMAGE: &str = "root_image";
pub const SENSITIVE_DATA: &str = "sensitive_data";

/// Every factor the job knows; the model must weigh each of them.
pub const FACTORS: &[&str] = &[
    INTERNET_EXPOSED,
    CRITICAL_FINDING,
    HIGH_FINDING,
    ADMIN_EQUIVALENT,
    PRIVILEGE_ESCALATION,
    STALE_CREDENTIALS,
    UNROTATED_ACCESS_KEY,
    CONSOLE_WITHOUT_MFA,
    TRUST_OPEN_TO_WORLD,
    TRUST_EXTERNAL_ACCOUNT,
    VULNERABLE_IMAGE,
    ROOT_IMAGE,
    SENSITIVE_DATA,
];

const CONFIG: &str = config_items::TABLE;
const FINDINGS: &str = "securityhub_findings";
const USERS: &str = "iam_users";
const GROUPS: &str = "iam_groups";
const ROLES: &str = "iam_roles";
const STATEMENTS: &str = "iam_policy_statements";
const REPORT: &str = "iam_credential_report";
const KEYS: &str = "iam_access_keys";
const REPOSITORIES: &str = "registry_repositories";
const IMAGE_TABLE: &str = "registry_images";
const IMAGE_FINDINGS: &str = "registry_image_findings";
const INPUTS: &[&str] = &[
    CONFIG,
    FINDINGS,
    USERS,
    GROUPS,
    ROLES,
    STATEMENTS,
    REPORT,
    KEYS,
    REPOSITORIES,
    IMAGE_TABLE,
    IMAGE_FINDINGS,
];

/// The risk model: how much each factor weighs and what counts as one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskModel {
    /// Weight (0–100) of every factor in [`FACTORS`].
    pub weights: BTreeMap<String, i32>,
    pub escalation_sets: Vec<EscalationSet>,
    pub sensitive_tags: Vec<SensitiveTag>,
    pub toxic_rules: Vec<ToxicRule>,
    /// Accounts of the organisation besides those in the snapshot: trusting them is not
    /// `trust_external_account`.
    #[serde(default)]
    pub organization_accounts: Vec<String>,
}

/// IAM actions that together let a principal raise its own privileges.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSet {
    pub name: String,
    pub actions: Vec<String>,
}

/// A tag marking a resource as sensitive: the key (case ignored) and, when not empty, the
/// values (case ignored) that count.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveTag {
    pub key: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// Factors that together set a floor under the score.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToxicRule {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub factors: Vec<String>,
    pub floor: i32,
}

/// The `[jobs.risk]` section of the config: changes to the default model of
/// `controls/risk.toml`. Each field left out keeps the default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskOptions {
    /// Weights by factor name; a factor named here replaces its default weight, the
    /// others keep theirs.
    pub weights: BTreeMap<String, i32>,
    /// Replaces the default privilege-escalation sets.
    pub escalation_sets: Option<Vec<EscalationSet>>,
    /// Replaces the default sensitivity tags.
    pub sensitive_tags: Option<Vec<SensitiveTag>>,
    /// Replaces the default toxic-combination rules.
    pub toxic_rules: Option<Vec<ToxicRule>>,
    /// Accounts of the organisation that the snapshot does not hold, added to its accounts.
    pub organization_accounts: Vec<String>,
}

impl RiskModel {
    /// The embedded default model.
    pub fn default_model() -> Result<Self, JobError> {
        let model: Self = toml::from_str(DEFAULT_MODEL).map_err(|e| JobError::Catalogue {
            file: DEFAULT_FILE,
            message: e.to_string(),
        })?;
        model.validate(DEFAULT_FILE)?;
        Ok(model)
    }

    /// The default model changed by the config's `[jobs.risk]` section.
    pub fn resolve(options: &RiskOptions) -> Result<Self, JobError> {
        let mut model = Self::default_model()?;
        for (factor, weight) in &options.weights {
            model.weights.insert(factor.clone(), *weight);
        }
        if let Some(sets) = &options.escalation_sets {
            model.escalation_sets = sets.clone();
        }
        if let Some(tags) = &options.sensitive_tags {
            model.sensitive_tags = tags.clone();
        }
        if let Some(rules) = &options.toxic_rules {
            model.toxic_rules = rules.clone();
        }
        model
            .organization_accounts
            .extend(options.organization_accounts.iter().cloned());
        model.validate(OPTIONS_FILE)?;
        Ok(model)
    }

    fn validate(&self, file: &'static str) -> Result<(), JobError> {
        let bad = |message: String| Err(JobError::Catalogue { file, message });
        for (factor, weight) in &self.weights {
            if !FACTORS.contains(&factor.as_str()) {
                return bad(format!("weights names unknown factor {factor}"));
            }
            if !(0..=100).contains(weight) {
                return bad(format!(
                    "weight of {factor} is {weight}, not within 0..=100"
                ));
            }
        }
        if let Some(missing) = FACTORS.iter().find(|f| !self.weights.contains_key(**f)) {
            return bad(format!("weights has no weight for factor {missing}"));
        }
        for rule in &self.toxic_rules {
            if let Some(unknown) = rule.factors.iter().find(|f| !FACTORS.contains(&f.as_str())) {
                return bad(format!(
                    "toxic rule {} names unknown factor {unknown}",
                    rule.name
                ));
            }
            if rule.factors.is_empty() || !(0..=100).contains(&rule.floor) {
                return bad(format!(
                    "toxic rule {} needs factors and a floor within 0..=100",
                    rule.name
                ));
            }
        }
        if let Some(set) = self.escalation_sets.iter().find(|s| s.actions.is_empty()) {
            return bad(format!("escalation set {} has no actions", set.name));
        }
        Ok(())
    }

    fn weight(&self, factor: &str) -> i32 {
        self.weights.get(factor).copied().unwrap_or(0)
    }

    /// The score, severity and toxic combinations of the factors found on one row.
    pub fn assess(&self, found: Found) -> Assessment {
        let present: BTreeSet<&str> = found.factors.iter().map(|(f, _)| *f).collect();
        let factors: Vec<FactorRow> = found
            .factors
            .into_iter()
            .map(|(factor, evidence)| FactorRow {
                factor: factor.to_owned(),
                weight: self.weight(factor),
                evidence: evidence.to_string(),
            })
            .collect();
        let mut score = factors.iter().map(|f| f.weight).sum::<i32>().min(100);
        let mut toxic = Vec::new();
        for rule in &self.toxic_rules {
            if rule.factors.iter().all(|f| present.contains(f.as_str())) {
                score = score.max(rule.floor);
                toxic.push(rule.name.clone());
            }
        }
        Assessment {
            score,
            severity: severity(score),
            factors,
            toxic_combinations: toxic,
            unknown_factors: found
                .unknown
                .into_iter()
                .filter(|f| !present.contains(f))
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether a resource's tags mark it as sensitive: the matching tags.
    fn sensitive(&self, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        tags.iter()
            .filter(|(key, value)| {
                self.sensitive_tags.iter().any(|t| {
                    t.key.eq_ignore_ascii_case(key)
                        && (t.values.is_empty()
                            || t.values.iter().any(|v| v.eq_ignore_ascii_case(value)))
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The band of a score.
pub fn severity(score: i32) -> &'static str {
    match score {
        90.. => "critical",
        70..=89 => "high",
        40..=69 => "medium",
        1..=39 => "low",
        _ => "none",
    }
}

/// The factors found on one row, each with its evidence, and those that could not be
/// judged.
#[derive(Debug, Default, Clone)]
pub struct Found {
    factors: Vec<(&'static str, Value)>,
    unknown: BTreeSet<&'static str>,
}

impl Found {
    pub fn add(&mut self, factor: &'static str, evidence: Value) {
        self.factors.push((factor, evidence));
    }

    pub fn unknown(&mut self, factor: &'static str) {
        self.unknown.insert(factor);
    }
}

/// One entry of the `factors` column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorRow {
    pub factor: String,
    pub weight: i32,
    pub evidence: String,
}

/// The columns every risk table shares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub score: i32,
    pub severity: &'static str,
    pub factors: Vec<FactorRow>,
    pub toxic_combinations: Vec<String>,
    pub unknown_factors: Vec<String>,
}

/// One row of `risk_resources`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    pub resource_type: String,
    pub resource_id: String,
    pub resource_arn: Option<String>,
    pub resource_name: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub assessment: Assessment,
}

/// One row of `risk_identities`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityRow {
    pub principal_type: &'static str,
    pub principal_arn: String,
    pub principal_name: String,
    #[serde(flatten)]
    pub assessment: Assessment,
}

/// One row of `risk_images`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRow {
    pub registry_kind: String,
    pub registry: String,
    pub repository_name: String,
    pub image_digest: String,
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub assessment: Assessment,
}

type Groups<T> = BTreeMap<(String, String), Vec<T>>;

/// The three tables' rows, keyed by (account, region).
#[derive(Debug, Default)]
pub struct RiskRows {
    pub resources: Groups<ResourceRow>,
    pub identities: Groups<IdentityRow>,
    pub images: Groups<ImageRow>,
}

/// One account's frames of the tables the job reads; a table not collected for the
/// account is absent.
#[derive(Debug)]
pub struct AccountInput<'a> {
    pub account_id: &'a str,
    pub snapshot_at: i64,
    pub frames: &'a BTreeMap<&'static str, Frame>,
    /// The organisation's accounts: the snapshot's plus the configured ones.
    pub organization: &'a BTreeSet<String>,
}

impl AccountInput<'_> {
    fn get(&self, table: &str) -> Option<&Frame> {
        self.frames.get(table)
    }
}

fn polars_err(table: &str) -> impl FnOnce(PolarsError) -> JobError + '_ {
    move |source| JobError::Polars {
        job: "risk",
        table: table.to_owned(),
        source: Box::new(source),
    }
}

/// Score every resource, principal and image of every account of the snapshot.
pub async fn evaluate(snapshot: &mut Snapshot, model: &RiskModel) -> Result<RiskRows, JobError> {
    let mut frames: BTreeMap<&'static str, Frame> = BTreeMap::new();
    for table in INPUTS {
        let frame = if *table == FINDINGS {
            snapshot.columns(table, crate::FINDING_COLUMNS).await?
        } else {
            snapshot.frame(table).await?
        };
        if let Some(frame) = frame {
            frames.insert(table, frame);
        }
    }
    let mut organization: BTreeSet<String> = snapshot.accounts.clone();
    organization.extend(model.organization_accounts.iter().cloned());

    let mut rows = RiskRows::default();
    let split = AccountFrames::new("risk", &frames)?;
    let accounts: Vec<String> = snapshot.accounts.iter().cloned().collect();
    for account in &accounts {
        let own = split.of(account, |table| snapshot.covered(table, account))?;
        let input = AccountInput {
            account_id: account,
            snapshot_at: snapshot.snapshot_at,
            frames: &own,
            organization: &organization,
        };
        evaluate_account(&input, model, &mut rows)?;
        // An account with no rows in a table still gets an empty snapshot, so the views
        // show "none" instead of an older run's rows.
        ensure_account(&mut rows.resources, account);
        ensure_account(&mut rows.identities, account);
        ensure_account(&mut rows.images, account);
    }
    Ok(rows)
}

fn ensure_account<T>(groups: &mut Groups<T>, account: &str) {
    if !groups.keys().any(|(a, _)| a == account) {
        groups.insert((account.to_owned(), "global".to_owned()), Vec::new());
    }
}

/// Score one account's resources, principals and images into `rows`.
pub fn evaluate_account(
    input: &AccountInput<'_>,
    model: &RiskModel,
    rows: &mut RiskRows,
) -> Result<(), JobError> {
    let account = input.account_id.to_owned();
    let powers = principal_powers(input, model).map_err(polars_err(STATEMENTS))?;

    for row in identities(input, model, &powers)? {
        rows.identities
            .entry((account.clone(), "global".to_owned()))
            .or_default()
            .push(row);
    }
    for (region, row) in resources(input, model, &powers)? {
        rows.resources
            .entry((account.clone(), region))
            .or_default()
            .push(row);
    }
    for (region, row) in images(input, model).map_err(polars_err(IMAGE_TABLE))? {
        rows.images
            .entry((account.clone(), region))
            .or_default()
            .push(row);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Identities

/// An Allow statement reaching a principal.
#[derive(Debug, Clone)]
struct Grant {
    /// How it reaches the principal: `managed <name>`, `inline <name>`, `group <g>: …`.
    via: String,
    actions: Vec<String>,
    admin: bool,
}

/// What a principal may do, as far as the risk factors care.
#[derive(Debug, Clone, Default)]
struct Power {
    admin_via: BTreeSet<String>,
    escalation: BTreeMap<String, BTreeSet<String>>,
}

impl Power {
    fn add_factors(&self, found: &mut Found, extra: &Value) {
        if !self.admin_via.is_empty() {
            let mut evidence = json!({"through": self.admin_via});
            merge(&mut evidence, extra);
            found.add(ADMIN_EQUIVALENT, evidence);
        } else if !self.escalation.is_empty() {
            // Admin-equivalent rights already include every escalation set: the factor
            // is claimed only for principals short of administrator.
            let mut evidence = json!({"sets": self.escalation});
            merge(&mut evidence, extra);
            found.add(PRIVILEGE_ESCALATION, evidence);
        }
    }
}

fn merge(evidence: &mut Value, extra: &Value) {
    if let (Some(target), Some(more)) = (evidence.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Principal ARN to its powers; `None` when the statements (or the principals) were not
/// collected for the account.
type Powers = Option<BTreeMap<String, Power>>;

fn principal_powers(input: &AccountInput<'_>, model: &RiskModel) -> PolarsResult<Powers> {
    let Some(statements) = input.get(STATEMENTS) else {
        return Ok(None);
    };
    let (kinds, policy_arns, names, owners, effects, actions, admin) = (
        statements.strings("policy_kind")?,
        statements.strings("policy_arn")?,
        statements.strings("policy_name")?,
        statements.strings("owner_arn")?,
        statements.strings("effect")?,
        statements.string_lists("action")?,
        statements.bools("admin_equivalent")?,
    );
    let mut managed: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
    let mut inline: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
    for i in 0..kinds.len() {
        if effects[i].as_deref() != Some("Allow") {
            continue;
        }
        let name = names[i].clone().unwrap_or_default();
        match (kinds[i].as_deref(), &policy_arns[i], &owners[i]) {
            (Some("managed"), Some(arn), _) => managed.entry(arn.clone()).or_default(),
            (Some("inline"), _, Some(owner)) => inline.entry(owner.clone()).or_default(),
            _ => continue,
        }
        .push(Grant {
            via: name,
            actions: actions[i].clone(),
            admin: admin[i] == Some(true),
        });
    }
    let grants_of = |arn: &str, attached: &[String], prefix: &str| -> Vec<Grant> {
        let mut out = Vec::new();
        for policy in attached {
            for g in managed.get(policy).into_iter().flatten() {
                out.push(Grant {
                    via: format!("{prefix}managed {}", g.via),
                    ..g.clone()
                });
            }
        }
        for g in inline.get(arn).into_iter().flatten() {
            out.push(Grant {
                via: format!("{prefix}inline {}", g.via),
                ..g.clone()
            });
        }
        out
    };

    let mut group_grants: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
    if let Some(groups) = input.get(GROUPS) {
        let (names, arns, attached) = (
            groups.strings("group_name")?,
            groups.strings("arn")?,
            groups.string_lists("attached_policy_arns")?,
        );
        for i in 0..names.len() {
            if let (Some(name), Some(arn)) = (&names[i], &arns[i]) {
                let prefix = format!("group {name}: ");
                group_grants.insert(name.clone(), grants_of(arn, &attached[i], &prefix));
            }
        }
    }

    let mut powers = BTreeMap::new();
    for (table, is_user) in [(USERS, true), (ROLES, false)] {
        let Some(frame) = input.get(table) else {
            continue;
        };
        let (arns, attached) = (
            frame.strings("arn")?,
            frame.string_lists("attached_policy_arns")?,
        );
        let groups = if is_user {
            frame.string_lists("group_names")?
        } else {
            vec![Vec::new(); arns.len()]
        };
        for i in 0..arns.len() {
            let Some(arn) = &arns[i] else { continue };
            let mut grants = grants_of(arn, &attached[i], "");
            for group in &groups[i] {
                grants.extend(group_grants.get(group).into_iter().flatten().cloned());
            }
            powers.insert(arn.clone(), power(&grants, model));
        }
    }
    Ok(Some(powers))
}

fn power(grants: &[Grant], model: &RiskModel) -> Power {
    let mut power = Power::default();
    for grant in grants.iter().filter(|g| g.admin) {
        power.admin_via.insert(grant.via.clone());
    }
    for set in &model.escalation_sets {
        let mut via = BTreeSet::new();
        let all = set.actions.iter().all(|action| {
            let granting: Vec<&Grant> = grants
                .iter()
                .filter(|g| g.actions.iter().any(|p| action_matches(p, action)))
                .collect();
            via.extend(granting.iter().map(|g| g.via.clone()));
            !granting.is_empty()
        });
        if all {
            power.escalation.insert(set.name.clone(), via);
        }
    }
    power
}

/// Whether an IAM action pattern (`*`, `iam:*`, `iam:Put*Policy`, `s3:GetObject?`)
/// covers an action. IAM compares actions without regard to case.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn glob(p: &[u8], a: &[u8]) -> bool {
        match (p.split_first(), a.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => glob(rest, a) || (!a.is_empty() && glob(p, &a[1..])),
            (Some((b'?', rest)), Some((_, a_rest))) => glob(rest, a_rest),
            (Some((pc, rest)), Some((ac, a_rest))) => {
                pc.eq_ignore_ascii_case(ac) && glob(rest, a_rest)
            }
            _ => false,
        }
    }
    glob(pattern.as_bytes(), action.as_bytes())
}

/// Users and roles. Limitation: the root user gets no row, because it is not in
/// `iam_users`; its credentials are judged by the compliance controls of section 1.
fn identities(
    input: &AccountInput<'_>,
    model: &RiskModel,
    powers: &Powers,
) -> Result<Vec<IdentityRow>, JobError> {
    let mut rows = Vec::new();
    if let Some(users) = input.get(USERS) {
        let credentials = user_credentials(input).map_err(polars_err(REPORT))?;
        let (arns, names) = (
            users.strings("arn").map_err(polars_err(USERS))?,
            users.strings("user_name").map_err(polars_err(USERS))?,
        );
        for (arn, name) in arns.into_iter().zip(names) {
            let (Some(arn), Some(name)) = (arn, name) else {
                continue;
            };
            let mut found = Found::default();
            add_power(&mut found, powers, &arn, &json!({}));
            credentials.add_factors(&arn, &mut found);
            rows.push(IdentityRow {
                principal_type: "user",
                principal_arn: arn,
                principal_name: name,
                assessment: model.assess(found),
            });
        }
    }
    if let Some(roles) = input.get(ROLES) {
        let (arns, names, trust) = (
            roles.strings("arn").map_err(polars_err(ROLES))?,
            roles.strings("role_name").map_err(polars_err(ROLES))?,
            roles.strings("trust_policy").map_err(polars_err(ROLES))?,
        );
        for i in 0..arns.len() {
            let (Some(arn), Some(name)) = (&arns[i], &names[i]) else {
                continue;
            };
            let mut found = Found::default();
            add_power(&mut found, powers, arn, &json!({}));
            trust_factors(trust[i].as_deref(), input.organization, &mut found);
            rows.push(IdentityRow {
                principal_type: "role",
                principal_arn: arn.clone(),
                principal_name: name.clone(),
                assessment: model.assess(found),
            });
        }
    }
    Ok(rows)
}

fn add_power(found: &mut Found, powers: &Powers, arn: &str, extra: &Value) {
    match powers {
        Some(powers) => {
            if let Some(power) = powers.get(arn) {
                power.add_factors(found, extra);
            }
        }
        None => {
            found.unknown(ADMIN_EQUIVALENT);
            found.unknown(PRIVILEGE_ESCALATION);
        }
    }
}

/// Credential factors of the account's users, from the credential report and the access
/// keys; `None` where the table was not collected.
struct Credentials {
    report: Option<(Report, BTreeMap<String, usize>)>,
    /// User ARN to its active keys older than 90 days: (key id, age in days).
    old_keys: Option<BTreeMap<String, Vec<(String, i64)>>>,
    snapshot_at: i64,
}

fn user_credentials(input: &AccountInput<'_>) -> PolarsResult<Credentials> {
    let report = match input.get(REPORT) {
        Some(frame) => {
            let report = Report::read(frame)?;
            let by_arn = (0..report.arns.len())
                .filter_map(|i| report.arns[i].clone().map(|a| (a, i)))
                .collect();
            Some((report, by_arn))
        }
        None => None,
    };
    let old_keys = match input.get(KEYS) {
        Some(keys) => {
            let (owners, ids, statuses, created) = (
                keys.strings("user_arn")?,
                keys.strings("access_key_id")?,
                keys.strings("status")?,
                keys.millis("create_date")?,
            );
            let mut old: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
            for i in 0..ids.len() {
                if statuses[i].as_deref() != Some("Active")
                    || !checks::older_than(input.snapshot_at, created[i], 90)
                {
                    continue;
                }
                if let (Some(owner), Some(id), Some(at)) = (&owners[i], &ids[i], created[i]) {
                    old.entry(owner.clone())
                        .or_default()
                        .push((id.clone(), (input.snapshot_at - at) / DAY_MS));
                }
            }
            Some(old)
        }
        None => None,
    };
    Ok(Credentials {
        report,
        old_keys,
        snapshot_at: input.snapshot_at,
    })
}

impl Credentials {
    fn add_factors(&self, arn: &str, found: &mut Found) {
        match &self.report {
            Some((report, by_arn)) => {
                if let Some(&i) = by_arn.get(arn) {
                    if report.password_enabled[i] == Some(true) && report.mfa[i] != Some(true) {
                        found.add(
                            CONSOLE_WITHOUT_MFA,
                            json!({"password_enabled": true, "mfa_active": report.mfa[i]}),
                        );
                    }
                    let stale = report.unused_credentials(i, self.snapshot_at, 45);
                    if !stale.is_empty() {
                        found.add(STALE_CREDENTIALS, json!({"unused_45_days": stale}));
                    }
                }
            }
            None => {
                found.unknown(CONSOLE_WITHOUT_MFA);
                found.unknown(STALE_CREDENTIALS);
            }
        }
        match &self.old_keys {
            Some(old) => {
                if let Some(keys) = old.get(arn) {
                    let keys: Vec<Value> = keys
                        .iter()
                        .map(|(id, age)| json!({"access_key_id": id, "age_days": age}))
                        .collect();
                    found.add(UNROTATED_ACCESS_KEY, json!({"keys": keys}));
                }
            }
            None => found.unknown(UNROTATED_ACCESS_KEY),
        }
    }
}

/// `trust_open_to_world` and `trust_external_account` from a role's trust policy. A
/// statement with a condition (an external id, an organisation id) is not open to the
/// world, but an account it names outside the organisation still counts.
fn trust_factors(policy: Option<&str>, organization: &BTreeSet<String>, found: &mut Found) {
    let Some(policy) = policy.and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        found.unknown(TRUST_OPEN_TO_WORLD);
        found.unknown(TRUST_EXTERNAL_ACCOUNT);
        return;
    };
    let mut world = Vec::new();
    let mut external = BTreeSet::new();
    for statement in one_or_many(&policy["Statement"]) {
        if statement["Effect"] != "Allow" {
            continue;
        }
        for principal in aws_principals(&statement["Principal"]) {
            if principal == "*" {
                if !conditioned(statement) {
                    world.push(principal);
                }
            } else if let Some(account) = principal_account(&principal)
                && !organization.contains(&account)
            {
                external.insert(account);
            }
        }
    }
    if !world.is_empty() {
        found.add(TRUST_OPEN_TO_WORLD, json!({"principal": "*"}));
    }
    if !external.is_empty() {
        found.add(TRUST_EXTERNAL_ACCOUNT, json!({"accounts": external}));
    }
}

/// The account of an `AWS` principal: a bare 12-digit id or an ARN's account field.
fn principal_account(principal: &str) -> Option<String> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal.to_owned());
    }
    let account = principal.strip_prefix("arn:")?.split(':').nth(3)?;
    (!account.is_empty()).then(|| account.to_owned())
}

// ---------------------------------------------------------------------------------------
// Resources

/// The public IP of an instance or network interface, when it has one.
fn public_ip(configuration: &Value) -> Option<String> {
    let direct = configuration["publicIpAddress"]
        .as_str()
        .or_else(|| configuration["association"]["publicIp"].as_str());
    direct
        .or_else(|| {
            one_or_many(&configuration["networkInterfaces"])
                .find_map(|eni| eni["association"]["publicIp"].as_str())
        })
        .map(str::to_owned)
}

/// The security groups of an instance (its own and its interfaces') or interface.
fn attached_groups(configuration: &Value) -> BTreeSet<String> {
    let mut groups = BTreeSet::new();
    let mut add = |list: &Value| {
        for group in one_or_many(list) {
            groups.extend(group["groupId"].as_str().map(str::to_owned));
        }
    };
    add(&configuration["securityGroups"]);
    add(&configuration["groups"]);
    for eni in one_or_many(&configuration["networkInterfaces"]) {
        add(&eni["groups"]);
    }
    groups
}

/// Why a bucket is public: statements allowing anyone without a condition, and grants to
/// everyone or to every AWS account.
fn bucket_exposure(bucket: &ConfigItem) -> (Vec<Value>, Vec<String>) {
    let policy = bucket.bucket_policy();
    let mut statements = Vec::new();
    for statement in one_or_many(&policy["Statement"]) {
        if statement["Effect"] == "Allow" && names_anyone(statement) && !conditioned(statement) {
            statements.push(json!({
                "sid": statement["Sid"],
                "action": statement["Action"],
            }));
        }
    }
    let acl = bucket.supplementary("AccessControlList");
    let mut grants = Vec::new();
    for grant in one_or_many(&acl["grantList"]) {
        // Config names a group grantee `AllUsers`; the S3 API names it by URI.
        let grantee = &grant["grantee"];
        let group = grantee
            .as_str()
            .or_else(|| grantee["uri"].as_str())
            .map(|g| g.rsplit('/').next().unwrap_or(g));
        if let Some(group @ ("AllUsers" | "AuthenticatedUsers")) = group {
            grants.push(format!(
                "{} to {group}",
                grant["permission"].as_str().unwrap_or("?"),
            ));
        }
    }
    (statements, grants)
}

/// The Security Hub findings on one resource that count as factors.
#[derive(Debug, Clone, Default)]
struct ResourceFindings {
    resource_type: String,
    region: String,
    critical: Vec<String>,
    high: Vec<String>,
}

/// Active, unresolved CRITICAL and HIGH findings per (account, resource id), joined and
/// grouped in Polars.
fn finding_counts(findings: &Frame) -> PolarsResult<BTreeMap<String, ResourceFindings>> {
    let resource = |field: &str| col("resources").struct_().field_by_name(field);
    let df = findings
        .df
        .clone()
        .lazy()
        .filter(
            col("record_state")
                .fill_null(lit("ACTIVE"))
                .eq(lit("ACTIVE"))
                .and(
                    col("workflow_status")
                        .fill_null(lit("NEW"))
                        .neq(lit("SUPPRESSED")),
                )
                .and(
                    col("workflow_status")
                        .fill_null(lit("NEW"))
                        .neq(lit("RESOLVED")),
                )
                .and(
                    col("compliance_status")
                        .fill_null(lit(""))
                        .neq(lit("PASSED")),
                )
                .and(
                    col("severity_label")
                        .eq(lit("CRITICAL"))
                        .or(col("severity_label").eq(lit("HIGH"))),
                ),
        )
        .explode(
            cols(["resources"]),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            },
        )
        .select([
            resource("id").alias("resource_id"),
            resource("type").alias("resource_type"),
            resource("region")
                .fill_null(col("region"))
                .alias("resource_region"),
            col("severity_label"),
            col("finding_id"),
        ])
        .filter(col("resource_id").is_not_null())
        .group_by([col("resource_id")])
        .agg([
            col("resource_type").first(),
            col("resource_region").first(),
            col("finding_id")
                .filter(col("severity_label").eq(lit("CRITICAL")))
                .alias("critical"),
            col("finding_id")
                .filter(col("severity_label").eq(lit("HIGH")))
                .alias("high"),
        ])
        .collect()?;
    let frame = Frame {
        table: FINDINGS,
        df,
    };
    let (ids, types, regions, critical, high) = (
        frame.strings("resource_id")?,
        frame.strings("resource_type")?,
        frame.strings("resource_region")?,
        frame.string_lists("critical")?,
        frame.string_lists("high")?,
    );
    let mut out = BTreeMap::new();
    for i in 0..ids.len() {
        let Some(id) = &ids[i] else { continue };
        let (mut critical, mut high) = (critical[i].clone(), high[i].clone());
        critical.sort();
        critical.dedup();
        high.sort();
        high.dedup();
        out.insert(
            id.clone(),
            ResourceFindings {
                resource_type: types[i].clone().unwrap_or_default(),
                region: regions[i].clone().unwrap_or_else(|| "global".to_owned()),
                critical,
                high,
            },
        );
    }
    Ok(out)
}

fn add_findings(found: &mut Found, findings: &ResourceFindings) {
    if !findings.critical.is_empty() {
        found.add(CRITICAL_FINDING, json!({"finding_ids": findings.critical}));
    } else if !findings.high.is_empty() {
        found.add(HIGH_FINDING, json!({"finding_ids": findings.high}));
    }
}

fn resources(
    input: &AccountInput<'_>,
    model: &RiskModel,
    powers: &Powers,
) -> Result<Vec<(String, ResourceRow)>, JobError> {
    let items = match input.get(CONFIG) {
        Some(frame) => config_items::read(frame, Select::default()).map_err(polars_err(CONFIG))?,
        None => Vec::new(),
    };
    let mut findings = match input.get(FINDINGS) {
        Some(frame) => Some(finding_counts(frame).map_err(polars_err(FINDINGS))?),
        None => None,
    };
    let roles = instance_profile_roles(input).map_err(polars_err(ROLES))?;
    // Security Hub names most resources by ARN, and Config items may carry none: an ARN
    // whose resource part ends in `/<id>` (or `:<id>`, as S3's do) also matches the item
    // of that id.
    let aliases: BTreeMap<String, String> = findings
        .iter()
        .flat_map(|f| f.keys())
        .filter(|id| id.starts_with("arn:"))
        .filter_map(|id| {
            let (_, last) = id.rsplit_once('/').or_else(|| id.rsplit_once(':'))?;
            Some((last.to_owned(), id.clone()))
        })
        .collect();

    let open_groups: BTreeMap<&str, Vec<String>> = items
        .iter()
        .filter(|i| i.resource_type == "AWS::EC2::SecurityGroup")
        .map(|i| {
            let open = open_ingress(&i.configuration);
            let described: Vec<String> = open.iter().map(OpenIngress::describe).collect();
            (i.resource_id.as_str(), described)
        })
        .filter(|(_, open)| !open.is_empty())
        .collect();
    let account_block = items
        .iter()
        .find(|i| i.resource_type == "AWS::S3::AccountPublicAccessBlock")
        .map(|i| public_access_settings_off(&i.configuration));

    let mut rows = Vec::new();
    for item in &items {
        let mut found = Found::default();
        match item.resource_type.as_str() {
            "AWS::EC2::Instance" | "AWS::EC2::NetworkInterface" => {
                network_exposure(item, &open_groups, &mut found);
            }
            "AWS::S3::Bucket" => bucket_factors(item, account_block.as_deref(), &mut found),
            _ => {}
        }
        if item.resource_type == "AWS::EC2::Instance" {
            instance_role(item, &roles, powers, &mut found);
        }
        let taken = findings.as_mut().and_then(|f| {
            let by_suffix = aliases.get(item.resource_id.as_str()).map(String::as_str);
            let keys = [
                item.arn.as_deref(),
                Some(item.resource_id.as_str()),
                by_suffix,
            ];
            keys.into_iter().flatten().find_map(|k| f.remove(k))
        });
        match (&findings, taken) {
            (_, Some(on_item)) => add_findings(&mut found, &on_item),
            (Some(_), None) => {}
            (None, None) => {
                found.unknown(CRITICAL_FINDING);
                found.unknown(HIGH_FINDING);
            }
        }
        if let Some(tags) = &item.tags {
            let sensitive = model.sensitive(tags);
            if !sensitive.is_empty() {
                found.add(SENSITIVE_DATA, json!({"tags": sensitive}));
            }
        }
        rows.push((
            item.region.clone(),
            ResourceRow {
                resource_type: item.resource_type.clone(),
                resource_id: item.resource_id.clone(),
                resource_arn: item.arn.clone(),
                resource_name: item.name.clone(),
                tags: item.tags.clone(),
                assessment: model.assess(found),
            },
        ));
    }

    // Resources Security Hub reports that AWS Config did not record (or was not collected
    // for): scored on their findings alone.
    for (id, on_resource) in findings.unwrap_or_default() {
        let mut found = Found::default();
        add_findings(&mut found, &on_resource);
        if input.get(CONFIG).is_none() {
            found.unknown(INTERNET_EXPOSED);
        }
        let arn = id.starts_with("arn:").then(|| id.clone());
        rows.push((
            on_resource.region.clone(),
            ResourceRow {
                resource_type: on_resource.resource_type.clone(),
                resource_id: id,
                resource_arn: arn,
                resource_name: None,
                tags: None,
                assessment: model.assess(found),
            },
        ));
    }
    Ok(rows)
}

/// A running instance or an interface with a public address behind a security group open
/// to the internet. Limitation: route tables, network ACLs and load balancers are not
/// followed, so an instance without a public address is not counted as exposed even
/// behind a public load balancer.
fn network_exposure(
    item: &ConfigItem,
    open_groups: &BTreeMap<&str, Vec<String>>,
    found: &mut Found,
) {
    let state = item.configuration["state"]["name"].as_str();
    if item.resource_type == "AWS::EC2::Instance" && state.is_some_and(|s| s != "running") {
        return;
    }
    let Some(ip) = public_ip(&item.configuration) else {
        return;
    };
    let open: BTreeMap<&str, &Vec<String>> = attached_groups(&item.configuration)
        .iter()
        .filter_map(|g| open_groups.get_key_value(g.as_str()))
        .map(|(g, rules)| (*g, rules))
        .collect();
    if !open.is_empty() {
        found.add(
            INTERNET_EXPOSED,
            json!({"public_ip": ip, "security_groups": open}),
        );
    }
}

/// A bucket public through its policy or ACL, unless the bucket's or the account's public
/// access block (`account_off`: its settings that are off, `None` when not recorded)
/// restricts public buckets or ignores public ACLs.
fn bucket_factors(item: &ConfigItem, account_off: Option<&[&'static str]>, found: &mut Found) {
    let (statements, grants) = bucket_exposure(item);
    let bucket_off =
        public_access_settings_off(&item.supplementary("PublicAccessBlockConfiguration"));
    let on = |setting: &str| {
        !bucket_off.contains(&setting) || account_off.is_some_and(|off| !off.contains(&setting))
    };
    let policy_public = !statements.is_empty() && !on("restrictPublicBuckets");
    let acl_public = !grants.is_empty() && !on("ignorePublicAcls");
    if policy_public || acl_public {
        found.add(
            INTERNET_EXPOSED,
            json!({
                "public_policy_statements": if policy_public { statements } else { Vec::new() },
                "public_acl_grants": if acl_public { grants } else { Vec::new() },
                "account_public_access_block_recorded": account_off.is_some(),
            }),
        );
    }
}

/// Instance profile ARN to the role ARN it holds; `None` when roles were not collected.
fn instance_profile_roles(
    input: &AccountInput<'_>,
) -> PolarsResult<Option<BTreeMap<String, String>>> {
    let Some(roles) = input.get(ROLES) else {
        return Ok(None);
    };
    let (arns, profiles) = (
        roles.strings("arn")?,
        roles.string_lists("instance_profile_arns")?,
    );
    let mut out = BTreeMap::new();
    for (arn, profiles) in arns.into_iter().zip(profiles) {
        if let Some(arn) = arn {
            for profile in profiles {
                out.insert(profile, arn.clone());
            }
        }
    }
    Ok(Some(out))
}

/// An instance's rights through its instance profile's role.
fn instance_role(
    item: &ConfigItem,
    roles: &Option<BTreeMap<String, String>>,
    powers: &Powers,
    found: &mut Found,
) {
    let Some(profile) = item.configuration["iamInstanceProfile"]["arn"].as_str() else {
        return;
    };
    let (Some(roles), Some(_)) = (roles, powers) else {
        found.unknown(ADMIN_EQUIVALENT);
        found.unknown(PRIVILEGE_ESCALATION);
        return;
    };
    if let Some(role) = roles.get(profile) {
        add_power(
            found,
            powers,
            role,
            &json!({"instance_profile": profile, "role": role}),
        );
    }
}

// ---------------------------------------------------------------------------------------
// Images

/// Images joined (in Polars) to their repository's public flag and to their critical
/// fixable vulnerabilities.
fn images(input: &AccountInput<'_>, model: &RiskModel) -> PolarsResult<Vec<(String, ImageRow)>> {
    let Some(images) = input.get(IMAGE_TABLE) else {
        return Ok(Vec::new());
    };
    let repo_keys = || [col("registry"), col("repository_name")];
    let image_keys = || [col("registry"), col("repository_name"), col("image_digest")];
    let mut joined = images.df.clone().lazy().select([
        col("region"),
        col("registry_kind"),
        col("registry"),
        col("repository_name"),
        col("image_digest"),
        col("tags"),
        col("user"),
        col("runs_as_root"),
    ]);
    let repositories = input.get(REPOSITORIES);
    if let Some(repositories) = repositories {
        let public = repositories
            .df
            .clone()
            .lazy()
            .select([
                col("registry"),
                col("repository_name"),
                col("policy_public"),
            ])
            .unique(None, UniqueKeepStrategy::First);
        joined = joined.join(
            public,
            repo_keys(),
            repo_keys(),
            JoinArgs::new(JoinType::Left),
        );
    }
    let vulnerabilities = input.get(IMAGE_FINDINGS);
    if let Some(findings) = vulnerabilities {
        let critical = findings
            .df
            .clone()
            .lazy()
            .filter(
                col("severity")
                    .eq(lit("CRITICAL"))
                    .and(col("fixed_version").is_not_null())
                    .and(col("status").fill_null(lit("ACTIVE")).eq(lit("ACTIVE"))),
            )
            .group_by(image_keys())
            .agg([col("vulnerability_id").alias("critical_fixable")]);
        joined = joined.join(
            critical,
            image_keys(),
            image_keys(),
            JoinArgs::new(JoinType::Left),
        );
    }
    let df = joined.collect()?;
    let frame = Frame {
        table: IMAGE_TABLE,
        df,
    };
    let (regions, kinds, registries, repos, digests, tags, users, root) = (
        frame.strings("region")?,
        frame.strings("registry_kind")?,
        frame.strings("registry")?,
        frame.strings("repository_name")?,
        frame.strings("image_digest")?,
        frame.string_lists("tags")?,
        frame.strings("user")?,
        frame.bools("runs_as_root")?,
    );
    let public = match repositories {
        Some(_) => Some(frame.bools("policy_public")?),
        None => None,
    };
    let critical = match vulnerabilities {
        Some(_) => Some(frame.string_lists("critical_fixable")?),
        None => None,
    };

    let mut rows = Vec::new();
    for i in 0..digests.len() {
        let mut found = Found::default();
        match public.as_ref().map(|p| p[i]) {
            Some(Some(true)) => {
                found.add(INTERNET_EXPOSED, json!({"repository_policy_public": true}))
            }
            Some(Some(false)) => {}
            _ => found.unknown(INTERNET_EXPOSED),
        }
        match &critical {
            Some(critical) if !critical[i].is_empty() => {
                let mut ids = critical[i].clone();
                ids.sort();
                ids.dedup();
                found.add(VULNERABLE_IMAGE, json!({"critical_with_fix": ids}));
            }
            Some(_) => {}
            None => found.unknown(VULNERABLE_IMAGE),
        }
        match root[i] {
            Some(true) => found.add(ROOT_IMAGE, json!({"user": users[i]})),
            Some(false) => {}
            None => found.unknown(ROOT_IMAGE),
        }
        rows.push((
            regions[i].clone().unwrap_or_else(|| "global".to_owned()),
            ImageRow {
                registry_kind: kinds[i].clone().unwrap_or_default(),
                registry: registries[i].clone().unwrap_or_default(),
                repository_name: repos[i].clone().unwrap_or_default(),
                image_digest: digests[i].clone().unwrap_or_default(),
                tags: tags[i].clone(),
                assessment: model.assess(found),
            },
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use lakewarden_lake::{Catalog, CommonColumns, RowEncoder};
    use parquet::arrow::ArrowWriter;

    use super::*;

    const ACCOUNT: &str = "111111111111";
    /// 2025-12-04T00:00:00Z.
    const NOW: i64 = 1_764_806_400_000;

    fn days_ago(days: i64) -> i64 {
        NOW - days * DAY_MS
    }

    /// A table's rows as the lake stores them: encoded in the table's schema, written to
    /// Parquet and read back by Polars, as the snapshot reads them. Required columns a row
    /// leaves out get an empty value of their type.
    fn frame(table: &'static str, rows: &[Value]) -> Frame {
        let catalog = Catalog::load().expect("schemas");
        let schema = catalog.table(table).expect("table");
        let rows: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut row = row.clone();
                for column in schema.columns.iter().filter(|c| !c.nullable) {
                    let empty = match column.type_name.as_str() {
                        t if t.starts_with("list") => json!([]),
                        t if t.starts_with("map") => json!({}),
                        "bool" => json!(false),
                        "int32" | "int64" => json!(0),
                        _ => json!(""),
                    };
                    if let Some(fields) = row.as_object_mut()
                        && !fields.contains_key(&column.name)
                        && !["run_id", "snapshot_at", "account_id", "region"]
                            .contains(&column.name.as_str())
                    {
                        fields.insert(column.name.clone(), empty);
                    }
                }
                row
            })
            .collect();
        let rows = rows.as_slice();
        let mut encoder = RowEncoder::new(&catalog, table).expect("table");
        let common = CommonColumns {
            run_id: "r1".into(),
            snapshot_at: NOW,
            account_id: ACCOUNT.into(),
            region: "global".into(),
        };
        let batch = encoder
            .encode_with(&common, rows)
            .expect("rows fit the schema");
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        let df = ParquetReader::new(Cursor::new(bytes))
            .finish()
            .expect("read");
        Frame { table, df }
    }

    fn run(frames: Vec<Frame>, model: &RiskModel) -> RiskRows {
        let frames: BTreeMap<&'static str, Frame> =
            frames.into_iter().map(|f| (f.table, f)).collect();
        let organization = BTreeSet::from([ACCOUNT.to_owned()]);
        let input = AccountInput {
            account_id: ACCOUNT,
            snapshot_at: NOW,
            frames: &frames,
            organization: &organization,
        };
        let mut rows = RiskRows::default();
        evaluate_account(&input, model, &mut rows).expect("evaluates");
        rows
    }

    fn model() -> RiskModel {
        RiskModel::default_model().expect("default model")
    }

    fn factor_names(a: &Assessment) -> Vec<&str> {
        a.factors.iter().map(|f| f.factor.as_str()).collect()
    }

    fn evidence(a: &Assessment, factor: &str) -> Value {
        let row = a
            .factors
            .iter()
            .find(|f| f.factor == factor)
            .unwrap_or_else(|| panic!("no factor {factor} in {a:?}"));
        serde_json::from_str(&row.evidence).expect("evidence is JSON")
    }

    /// The one row of the account's `region` group that `is` picks; `what` names it when
    /// there is none.
    fn row_in<'a, T>(
        groups: &'a Groups<T>,
        region: &str,
        what: &str,
        is: impl Fn(&T) -> bool,
    ) -> &'a T {
        groups[&(ACCOUNT.to_owned(), region.to_owned())]
            .iter()
            .find(|r| is(r))
            .unwrap_or_else(|| panic!("no {what}"))
    }

    fn identity<'a>(rows: &'a RiskRows, name: &str) -> &'a IdentityRow {
        row_in(
            &rows.identities,
            "global",
            &format!("identity {name}"),
            |r| r.principal_name == name,
        )
    }

    fn resource<'a>(rows: &'a RiskRows, region: &str, id: &str) -> &'a ResourceRow {
        row_in(&rows.resources, region, &format!("resource {id}"), |r| {
            r.resource_id == id
        })
    }

    fn arn(kind: &str, name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}")
    }

    fn statement(
        kind: &str,
        policy: &str,
        owner: Option<&str>,
        actions: &[&str],
        admin: bool,
    ) -> Value {
        json!({
            "policy_kind": kind,
            "policy_arn": (kind == "managed").then(|| arn("policy", policy)),
            "policy_name": policy,
            "owner_arn": owner,
            "statement_index": 0,
            "effect": "Allow",
            "action": actions,
            "not_action": [],
            "resource": ["*"],
            "not_resource": [],
            "principal": [],
            "not_principal": [],
            "conditions": [],
            "admin_equivalent": admin,
        })
    }

    #[test]
    fn default_model_weighs_every_factor_and_options_override_it() {
        let default = model();
        assert_eq!(default.weights.len(), FACTORS.len());
        assert_eq!(default.weight(INTERNET_EXPOSED), 30);
        assert_eq!(default.weight(ADMIN_EQUIVALENT), 40);

        let options: RiskOptions = toml::from_str(
            "weights = { internet_exposed = 50 }\norganization_accounts = [\"222222222222\"]\n\
             sensitive_tags = [{ key = \"tier\", values = [\"gold\"] }]",
        )
        .expect("options parse");
        let changed = RiskModel::resolve(&options).expect("valid");
        assert_eq!(changed.weight(INTERNET_EXPOSED), 50);
        assert_eq!(
            changed.weight(ADMIN_EQUIVALENT),
            40,
            "others keep their default"
        );
        assert_eq!(
            changed.organization_accounts,
            vec!["222222222222".to_owned()]
        );
        assert_eq!(changed.sensitive_tags.len(), 1);
        assert_eq!(changed.toxic_rules, default.toxic_rules);
    }

    #[test]
    fn the_commented_example_in_the_example_config_is_valid() {
        let example = include_str!("../../../lakewarden.example.toml");
        let block: String = example
            .lines()
            .skip_while(|l| *l != "# [jobs.risk]")
            .skip(1)
            .take_while(|l| l.starts_with('#'))
            .filter_map(|l| l.strip_prefix("# "))
            // Settings, not the prose above them.
            .filter(|l| l.contains(" = ") || l.starts_with(']') || l.starts_with("  {"))
            .collect::<Vec<_>>()
            .join("\n");
        let options: RiskOptions = toml::from_str(&block).expect("the example parses");
        let model = RiskModel::resolve(&options).expect("the example is valid");
        assert_eq!(model.weight(INTERNET_EXPOSED), 40);
        assert_eq!(model.toxic_rules.len(), 1);
        assert_eq!(model.toxic_rules[0].floor, 90);
    }

    #[test]
    fn options_naming_an_unknown_factor_are_an_error_naming_it() {
        let options = RiskOptions {
            weights: BTreeMap::from([("exposed".to_owned(), 10)]),
            ..Default::default()
        };
        let error = RiskModel::resolve(&options).expect_err("unknown factor");
        assert_eq!(
            error.to_string(),
            "control catalogue config [jobs.risk]: weights names unknown factor exposed"
        );
        let rule = ToxicRule {
            name: "r".into(),
            description: String::new(),
            factors: vec!["nope".into()],
            floor: 90,
        };
        let options = RiskOptions {
            toxic_rules: Some(vec![rule]),
            ..Default::default()
        };
        assert_eq!(
            RiskModel::resolve(&options)
                .expect_err("unknown")
                .to_string(),
            "control catalogue config [jobs.risk]: toxic rule r names unknown factor nope"
        );
    }

    #[test]
    fn risk_rows_encode_in_their_declared_schemas() {
        let catalog = Catalog::load().expect("schemas");
        let common = CommonColumns {
            run_id: "r1".into(),
            snapshot_at: NOW,
            account_id: ACCOUNT.into(),
            region: "global".into(),
        };
        let mut found = Found::default();
        found.add(ROOT_IMAGE, json!({"user": ""}));
        found.unknown(VULNERABLE_IMAGE);
        let assessment = model().assess(found);
        let image = ImageRow {
            registry_kind: "oci".into(),
            registry: "r.example".into(),
            repository_name: "app".into(),
            image_digest: "sha256:aa".into(),
            tags: vec!["latest".into()],
            assessment: assessment.clone(),
        };
        let identity = IdentityRow {
            principal_type: "user",
            principal_arn: arn("user", "alice"),
            principal_name: "alice".into(),
            assessment: assessment.clone(),
        };
        let resource = ResourceRow {
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: "b".into(),
            resource_arn: None,
            resource_name: Some("b".into()),
            tags: Some(BTreeMap::from([("k".to_owned(), "v".to_owned())])),
            assessment,
        };
        let rows = [
            (
                IMAGES,
                RowEncoder::new(&catalog, IMAGES)
                    .expect("table")
                    .encode_with(&common, &[image]),
            ),
            (
                IDENTITIES,
                RowEncoder::new(&catalog, IDENTITIES)
                    .expect("table")
                    .encode_with(&common, &[identity]),
            ),
            (
                RESOURCES,
                RowEncoder::new(&catalog, RESOURCES)
                    .expect("table")
                    .encode_with(&common, &[resource]),
            ),
        ];
        for (table, batch) in rows {
            let batch = batch.unwrap_or_else(|e| panic!("{table}: {e}"));
            assert_eq!(batch.num_rows(), 1);
            assert_eq!(batch.schema(), catalog.arrow_schema(table).expect("schema"));
        }
    }

    #[test]
    fn severity_bands() {
        let bands: Vec<&str> = [0, 1, 39, 40, 69, 70, 89, 90, 100]
            .into_iter()
            .map(severity)
            .collect();
        assert_eq!(
            bands,
            [
                "none", "low", "low", "medium", "medium", "high", "high", "critical", "critical"
            ]
        );
    }

    #[test]
    fn action_patterns_match_like_iam() {
        assert!(action_matches("*", "iam:PassRole"));
        assert!(action_matches("iam:*", "iam:PassRole"));
        assert!(action_matches("IAM:passrole", "iam:PassRole"));
        assert!(action_matches("iam:Put*Policy", "iam:PutUserPolicy"));
        assert!(action_matches("iam:Create?ccessKey", "iam:CreateAccessKey"));
        assert!(!action_matches("iam:Get*", "iam:PassRole"));
        assert!(!action_matches("ec2:RunInstances", "ec2:RunInstance"));
    }

    #[test]
    fn score_is_the_capped_sum_raised_by_toxic_floors() {
        let model = model();
        let mut found = Found::default();
        found.add(INTERNET_EXPOSED, json!({}));
        found.add(SENSITIVE_DATA, json!({}));
        found.unknown(CRITICAL_FINDING);
        found.unknown(INTERNET_EXPOSED);
        let a = model.assess(found);
        // 30 + 15 = 45, raised to the floor of exposed_sensitive_data.
        assert_eq!(a.score, 90);
        assert_eq!(a.severity, "critical");
        assert_eq!(
            a.toxic_combinations,
            vec!["exposed_sensitive_data".to_owned()]
        );
        assert_eq!(
            a.unknown_factors,
            vec![CRITICAL_FINDING.to_owned()],
            "a factor found is not also unknown"
        );

        let mut found = Found::default();
        for f in [
            ADMIN_EQUIVALENT,
            TRUST_OPEN_TO_WORLD,
            CONSOLE_WITHOUT_MFA,
            STALE_CREDENTIALS,
        ] {
            found.add(f, json!({}));
        }
        let a = model.assess(found);
        assert_eq!(a.score, 100, "40 + 40 + 20 + 10 caps at 100");
        assert_eq!(
            a.toxic_combinations,
            vec![
                "admin_console_without_mfa".to_owned(),
                "world_assumable_admin".to_owned()
            ]
        );

        let mut found = Found::default();
        found.add(STALE_CREDENTIALS, json!({}));
        let a = model.assess(found);
        assert_eq!((a.score, a.severity), (10, "low"));
        assert_eq!(model.assess(Found::default()).severity, "none");
    }

    fn iam_frames() -> Vec<Frame> {
        let users = frame(
            USERS,
            &[
                json!({"user_name": "alice", "arn": arn("user", "alice"), "group_names": ["admins"],
                       "attached_policy_arns": [], "inline_policy_names": []}),
                json!({"user_name": "bob", "arn": arn("user", "bob"), "group_names": [],
                       "attached_policy_arns": [], "inline_policy_names": ["escalate"]}),
                json!({"user_name": "carol", "arn": arn("user", "carol"), "group_names": [],
                       "attached_policy_arns": [arn("policy", "ReadOnly")], "inline_policy_names": []}),
            ],
        );
        let groups = frame(
            GROUPS,
            &[
                json!({"group_name": "admins", "arn": arn("group", "admins"),
                     "attached_policy_arns": [arn("policy", "Everything")], "inline_policy_names": []}),
            ],
        );
        let world_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        let partner_trust = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::999999999999:root", format!("arn:aws:iam::{ACCOUNT}:root")]},
            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}]});
        let service_trust = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        let roles = frame(
            ROLES,
            &[
                json!({"role_name": "open", "role_id": "R1", "arn": arn("role", "open"), "path": "/",
                       "trust_policy": world_trust.to_string(), "attached_policy_arns": [arn("policy", "Everything")],
                       "inline_policy_names": [], "instance_profile_arns": []}),
                json!({"role_name": "partner", "role_id": "R2", "arn": arn("role", "partner"), "path": "/",
                       "trust_policy": partner_trust.to_string(), "attached_policy_arns": [],
                       "inline_policy_names": [], "instance_profile_arns": []}),
                json!({"role_name": "web", "role_id": "R3", "arn": arn("role", "web"), "path": "/",
                       "trust_policy": service_trust.to_string(), "attached_policy_arns": [arn("policy", "Everything")],
                       "inline_policy_names": [], "instance_profile_arns": [arn("instance-profile", "web")]}),
            ],
        );
        let statements = frame(
            STATEMENTS,
            &[
                statement("managed", "Everything", None, &["*"], true),
                statement(
                    "managed",
                    "ReadOnly",
                    None,
                    &["s3:Get*", "iam:List*"],
                    false,
                ),
                statement(
                    "inline",
                    "escalate",
                    Some(&arn("user", "bob")),
                    &["iam:PassRole", "ec2:Run*"],
                    false,
                ),
            ],
        );
        let report_row = |user: &str,
                          password: bool,
                          mfa: bool,
                          password_used: Option<i64>,
                          key: Option<(i64, Option<i64>)>| {
            json!({"user_name": user, "arn": arn("user", user), "password_enabled": password,
                   "password_last_used": password_used, "mfa_active": mfa,
                   "access_key_1_active": key.is_some(), "access_key_1_last_rotated": key.map(|k| k.0),
                   "access_key_1_last_used_date": key.and_then(|k| k.1),
                   "access_key_2_active": false})
        };
        let report = frame(
            REPORT,
            &[
                // Console without MFA, used yesterday; a key from 200 days ago used last week.
                report_row(
                    "alice",
                    true,
                    false,
                    Some(days_ago(1)),
                    Some((days_ago(200), Some(days_ago(7)))),
                ),
                // MFA, but the password last used 60 days ago.
                report_row("bob", true, true, Some(days_ago(60)), None),
                // A key 10 days old, never used: not yet stale.
                report_row("carol", false, false, None, Some((days_ago(10), None))),
            ],
        );
        let keys = frame(
            KEYS,
            &[
                json!({"user_name": "alice", "user_arn": arn("user", "alice"), "access_key_id": "AKIAALICE",
                       "status": "Active", "create_date": days_ago(200)}),
                json!({"user_name": "alice", "user_arn": arn("user", "alice"), "access_key_id": "AKIAALICEOLD",
                       "status": "Inactive", "create_date": days_ago(400)}),
                json!({"user_name": "carol", "user_arn": arn("user", "carol"), "access_key_id": "AKIACAROL",
                       "status": "Active", "create_date": days_ago(10)}),
            ],
        );
        vec![users, groups, roles, statements, report, keys]
    }

    #[test]
    fn identity_factors_of_users() {
        let rows = run(iam_frames(), &model());

        let alice = &identity(&rows, "alice").assessment;
        assert_eq!(
            factor_names(alice),
            [ADMIN_EQUIVALENT, CONSOLE_WITHOUT_MFA, UNROTATED_ACCESS_KEY]
        );
        assert_eq!(
            evidence(alice, ADMIN_EQUIVALENT),
            json!({"through": ["group admins: managed Everything"]})
        );
        assert_eq!(
            evidence(alice, UNROTATED_ACCESS_KEY),
            json!({"keys": [{"access_key_id": "AKIAALICE", "age_days": 200}]})
        );
        // 40 + 20 + 10, raised to the floor of admin_console_without_mfa.
        assert_eq!(alice.score, 90);
        assert_eq!(
            alice.toxic_combinations,
            ["admin_console_without_mfa", "admin_unrotated_key"]
        );
        assert!(alice.unknown_factors.is_empty());

        let bob = &identity(&rows, "bob").assessment;
        assert_eq!(factor_names(bob), [PRIVILEGE_ESCALATION, STALE_CREDENTIALS]);
        assert_eq!(
            evidence(bob, PRIVILEGE_ESCALATION),
            json!({"sets": {"passrole_run_instances": ["inline escalate"]}})
        );
        assert_eq!(
            evidence(bob, STALE_CREDENTIALS),
            json!({"unused_45_days": ["password"]})
        );
        assert_eq!((bob.score, bob.severity), (35, "low"));

        let carol = &identity(&rows, "carol").assessment;
        assert_eq!((carol.score, carol.severity), (0, "none"));
        assert!(carol.factors.is_empty());
    }

    #[test]
    fn identity_factors_of_roles_trust_world_and_outside_accounts() {
        let rows = run(iam_frames(), &model());

        let open = &identity(&rows, "open").assessment;
        assert_eq!(factor_names(open), [ADMIN_EQUIVALENT, TRUST_OPEN_TO_WORLD]);
        assert_eq!(open.toxic_combinations, ["world_assumable_admin"]);
        assert_eq!(open.score, 100);

        let partner = &identity(&rows, "partner").assessment;
        assert_eq!(factor_names(partner), [TRUST_EXTERNAL_ACCOUNT]);
        assert_eq!(
            evidence(partner, TRUST_EXTERNAL_ACCOUNT),
            json!({"accounts": ["999999999999"]})
        );
        assert_eq!(partner.score, 15);

        // The partner account declared part of the organisation is no longer external.
        let options = RiskOptions {
            organization_accounts: vec!["999999999999".into()],
            ..Default::default()
        };
        let model = RiskModel::resolve(&options).expect("valid");
        let mut organization = BTreeSet::from([ACCOUNT.to_owned()]);
        organization.extend(model.organization_accounts.iter().cloned());
        let frames: BTreeMap<&'static str, Frame> =
            iam_frames().into_iter().map(|f| (f.table, f)).collect();
        let input = AccountInput {
            account_id: ACCOUNT,
            snapshot_at: NOW,
            frames: &frames,
            organization: &organization,
        };
        let mut rows = RiskRows::default();
        evaluate_account(&input, &model, &mut rows).expect("evaluates");
        assert!(identity(&rows, "partner").assessment.factors.is_empty());
    }

    #[test]
    fn identity_factors_without_their_tables_are_unknown() {
        let frames: Vec<Frame> = iam_frames()
            .into_iter()
            .filter(|f| [USERS, ROLES].contains(&f.table))
            .collect();
        let rows = run(frames, &model());
        let alice = &identity(&rows, "alice").assessment;
        assert!(alice.factors.is_empty());
        assert_eq!(
            alice.unknown_factors,
            [
                ADMIN_EQUIVALENT,
                CONSOLE_WITHOUT_MFA,
                PRIVILEGE_ESCALATION,
                STALE_CREDENTIALS,
                UNROTATED_ACCESS_KEY
            ]
        );
    }

    fn config_item(kind: &str, id: &str, configuration: Value, supplementary: Value) -> Value {
        json!({"region": "us-east-1", "resource_type": kind, "resource_id": id,
               "resource_region": "us-east-1", "configuration_item_status": "OK",
               "configuration": configuration.to_string(),
               "supplementary_configuration": supplementary.to_string(),
               "relationships": [], "deleted": false})
    }

    fn config_frame(extra: Vec<Value>) -> Frame {
        let open = json!({"groupId": "sg-open", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
            "ipRanges": ["0.0.0.0/0"], "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": []}]});
        let closed = json!({"groupId": "sg-closed", "ipPermissions": [{"ipProtocol": "-1",
            "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}]}]});
        let mut deleted = config_item(
            "AWS::EC2::SecurityGroup",
            "sg-gone",
            open.clone(),
            json!({}),
        );
        deleted["deleted"] = json!(true);
        let mut rows = vec![
            config_item("AWS::EC2::SecurityGroup", "sg-open", open, json!({})),
            config_item("AWS::EC2::SecurityGroup", "sg-closed", closed, json!({})),
            deleted,
            config_item(
                "AWS::EC2::Instance",
                "i-web",
                json!({"state": {"name": "running"}, "publicIpAddress": "203.0.113.1",
                       "securityGroups": [{"groupId": "sg-open"}],
                       "iamInstanceProfile": {"arn": arn("instance-profile", "web")}}),
                json!({}),
            ),
            config_item(
                "AWS::EC2::Instance",
                "i-private",
                json!({"state": {"name": "running"}, "securityGroups": [{"groupId": "sg-open"}]}),
                json!({}),
            ),
            config_item(
                "AWS::EC2::Instance",
                "i-stopped",
                json!({"state": {"name": "stopped"}, "publicIpAddress": "203.0.113.2",
                       "securityGroups": [{"groupId": "sg-open"}]}),
                json!({}),
            ),
        ];
        rows.extend(extra);
        frame(CONFIG, &rows)
    }

    fn finding(id: &str, severity: &str, resource: &str, workflow: &str) -> Value {
        json!({"region": "us-east-1", "finding_id": id, "aws_account_id": ACCOUNT, "title": id,
               "severity_label": severity, "workflow_status": workflow, "record_state": "ACTIVE",
               "resources": [{"type": "AwsEc2Instance", "id": resource, "partition": "aws", "region": "us-east-1"}]})
    }

    #[test]
    fn exposed_instance_with_admin_role_and_critical_finding_is_toxic() {
        let instance_arn = format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-web");
        let findings = frame(
            FINDINGS,
            &[
                finding("f-crit", "CRITICAL", &instance_arn, "NEW"),
                finding("f-high", "HIGH", &instance_arn, "NOTIFIED"),
                finding("f-done", "CRITICAL", "i-private", "RESOLVED"),
                finding(
                    "f-other",
                    "HIGH",
                    "arn:aws:lambda:us-east-1:111111111111:function:f",
                    "NEW",
                ),
            ],
        );
        let mut frames = iam_frames();
        frames.push(config_frame(Vec::new()));
        frames.push(findings);
        // Low weights, so that the floor and not the sum decides the score.
        let mut model = model();
        for factor in [INTERNET_EXPOSED, CRITICAL_FINDING, ADMIN_EQUIVALENT] {
            model.weights.insert(factor.to_owned(), 10);
        }
        let rows = run(frames, &model);

        let web = &resource(&rows, "us-east-1", "i-web").assessment;
        assert_eq!(
            factor_names(web),
            [INTERNET_EXPOSED, ADMIN_EQUIVALENT, CRITICAL_FINDING]
        );
        assert_eq!(
            evidence(web, INTERNET_EXPOSED),
            json!({"public_ip": "203.0.113.1", "security_groups": {"sg-open": ["tcp 22-22 from 0.0.0.0/0"]}})
        );
        assert_eq!(
            evidence(web, ADMIN_EQUIVALENT),
            json!({"through": ["managed Everything"], "instance_profile": arn("instance-profile", "web"),
                   "role": arn("role", "web")})
        );
        assert_eq!(
            evidence(web, CRITICAL_FINDING),
            json!({"finding_ids": ["f-crit"]})
        );
        assert_eq!(
            web.toxic_combinations,
            [
                "exposed_vulnerable_admin",
                "exposed_admin",
                "exposed_vulnerable"
            ]
        );
        assert_eq!((web.score, web.severity), (95, "critical"));

        for quiet in ["i-private", "i-stopped", "sg-closed"] {
            let row = &resource(&rows, "us-east-1", quiet).assessment;
            assert!(row.factors.is_empty(), "{quiet}: {row:?}");
        }
        let groups: Vec<&str> = rows.resources[&(ACCOUNT.to_owned(), "us-east-1".to_owned())]
            .iter()
            .map(|r| r.resource_id.as_str())
            .collect();
        assert!(!groups.contains(&"sg-gone"), "deleted resources get no row");

        // A finding on a resource Config did not record still gets a row.
        let lambda = resource(
            &rows,
            "us-east-1",
            "arn:aws:lambda:us-east-1:111111111111:function:f",
        );
        assert_eq!(lambda.resource_type, "AwsEc2Instance");
        assert_eq!(factor_names(&lambda.assessment), [HIGH_FINDING]);
    }

    #[test]
    fn resource_factors_without_findings_or_iam_are_unknown() {
        let rows = run(vec![config_frame(Vec::new())], &model());
        let web = &resource(&rows, "us-east-1", "i-web").assessment;
        assert_eq!(factor_names(web), [INTERNET_EXPOSED]);
        assert_eq!(
            web.unknown_factors,
            [
                ADMIN_EQUIVALENT,
                CRITICAL_FINDING,
                HIGH_FINDING,
                PRIVILEGE_ESCALATION
            ]
        );
        assert_eq!(web.score, 30, "a lower bound");
        let private = &resource(&rows, "us-east-1", "i-private").assessment;
        assert_eq!(private.unknown_factors, [CRITICAL_FINDING, HIGH_FINDING]);
    }

    #[test]
    fn public_bucket_is_exposed_unless_blocked_and_sensitive_tags_count() {
        let public_policy = json!({"BucketPolicy": {"policyText":
            r#"{"Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#}});
        let mut blocked = public_policy.clone();
        blocked["PublicAccessBlockConfiguration"] = json!({"blockPublicAcls": true,
            "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true});
        let acl = json!({"AccessControlList": {"grantList": [{"grantee": "AllUsers", "permission": "Read"},
            {"grantee": {"uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "Write"}]}});
        let conditioned = json!({"BucketPolicy": {"policyText": {"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]}}});
        let mut tagged = config_item(
            "AWS::S3::Bucket",
            "public-pii",
            json!({}),
            public_policy.clone(),
        );
        tagged["tags"] = json!({"Data-Classification": "PII", "team": "x"});
        let rows = run(
            vec![config_frame(vec![
                config_item("AWS::S3::Bucket", "public", json!({}), public_policy),
                config_item("AWS::S3::Bucket", "blocked", json!({}), blocked),
                config_item("AWS::S3::Bucket", "acl", json!({}), acl),
                config_item("AWS::S3::Bucket", "org-only", json!({}), conditioned),
                tagged,
            ])],
            &model(),
        );
        let public = &resource(&rows, "us-east-1", "public").assessment;
        assert_eq!(
            evidence(public, INTERNET_EXPOSED),
            json!({"public_policy_statements": [{"sid": "PublicRead", "action": "s3:GetObject"}],
                   "public_acl_grants": [], "account_public_access_block_recorded": false})
        );
        assert_eq!(public.score, 30);
        let acl = &resource(&rows, "us-east-1", "acl").assessment;
        assert_eq!(
            evidence(acl, INTERNET_EXPOSED)["public_acl_grants"],
            json!(["Read to AllUsers", "Write to AllUsers"])
        );
        for quiet in ["blocked", "org-only"] {
            assert!(
                resource(&rows, "us-east-1", quiet)
                    .assessment
                    .factors
                    .is_empty(),
                "{quiet}"
            );
        }
        let pii = &resource(&rows, "us-east-1", "public-pii").assessment;
        assert_eq!(factor_names(pii), [INTERNET_EXPOSED, SENSITIVE_DATA]);
        assert_eq!(
            evidence(pii, SENSITIVE_DATA),
            json!({"tags": {"Data-Classification": "PII"}})
        );
        assert_eq!(pii.toxic_combinations, ["exposed_sensitive_data"]);
        assert_eq!(pii.score, 90);

        // The account-wide block hides the public policy of every bucket.
        let account_block = config_item(
            "AWS::S3::AccountPublicAccessBlock",
            ACCOUNT,
            json!({"blockPublicAcls": false, "ignorePublicAcls": false, "blockPublicPolicy": true,
                   "restrictPublicBuckets": true}),
            json!({}),
        );
        let public_policy = json!({"BucketPolicy": {"policyText":
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}"#}});
        let rows = run(
            vec![config_frame(vec![
                account_block,
                config_item("AWS::S3::Bucket", "public", json!({}), public_policy),
            ])],
            &model(),
        );
        assert!(
            resource(&rows, "us-east-1", "public")
                .assessment
                .factors
                .is_empty()
        );
    }

    fn image_frames() -> Vec<Frame> {
        let image = |repo: &str, digest: &str, root: Option<bool>| {
            json!({"region": "us-east-1", "registry_kind": "ecr", "registry": "r.example",
                   "repository_name": repo, "image_digest": digest, "tags": ["latest"],
                   "user": root.map(|r| if r { "" } else { "app" }), "runs_as_root": root})
        };
        let repository = |repo: &str, public: Option<bool>| {
            json!({"region": "us-east-1", "registry_kind": "ecr", "registry": "r.example",
                   "repository_name": repo, "policy_public": public})
        };
        let vulnerability = |digest: &str, id: &str, severity: &str, fixed: Option<&str>| {
            json!({"region": "us-east-1", "registry_kind": "ecr", "registry": "r.example",
                   "repository_name": "public", "image_digest": digest, "vulnerability_id": id,
                   "severity": severity, "fixed_version": fixed, "status": "ACTIVE"})
        };
        vec![
            frame(
                IMAGE_TABLE,
                &[
                    image("public", "sha256:aa", Some(true)),
                    image("public", "sha256:bb", Some(false)),
                    image("private", "sha256:cc", None),
                ],
            ),
            frame(
                REPOSITORIES,
                &[
                    repository("public", Some(true)),
                    repository("private", None),
                ],
            ),
            frame(
                IMAGE_FINDINGS,
                &[
                    vulnerability("sha256:aa", "CVE-2", "CRITICAL", Some("1.2")),
                    vulnerability("sha256:aa", "CVE-1", "CRITICAL", Some("1.1")),
                    vulnerability("sha256:aa", "CVE-3", "HIGH", Some("1.3")),
                    vulnerability("sha256:bb", "CVE-4", "CRITICAL", None),
                ],
            ),
        ]
    }

    fn image<'a>(rows: &'a RiskRows, digest: &str) -> &'a ImageRow {
        row_in(&rows.images, "us-east-1", &format!("image {digest}"), |r| {
            r.image_digest == digest
        })
    }

    #[test]
    fn public_image_with_fixable_critical_vulnerability_is_toxic() {
        let rows = run(image_frames(), &model());
        let aa = &image(&rows, "sha256:aa").assessment;
        assert_eq!(
            factor_names(aa),
            [INTERNET_EXPOSED, VULNERABLE_IMAGE, ROOT_IMAGE]
        );
        assert_eq!(
            evidence(aa, VULNERABLE_IMAGE),
            json!({"critical_with_fix": ["CVE-1", "CVE-2"]})
        );
        assert_eq!(aa.toxic_combinations, ["public_vulnerable_image"]);
        assert_eq!((aa.score, aa.severity), (85, "high"));

        let bb = &image(&rows, "sha256:bb").assessment;
        assert_eq!(factor_names(bb), [INTERNET_EXPOSED], "no fix, no factor");
        assert_eq!(bb.score, 30);

        let cc = &image(&rows, "sha256:cc");
        assert_eq!(cc.repository_name, "private");
        assert_eq!(cc.tags, ["latest"]);
        assert_eq!(
            cc.assessment.unknown_factors,
            [INTERNET_EXPOSED, ROOT_IMAGE]
        );
    }

    #[test]
    fn image_factors_without_findings_are_unknown() {
        let frames: Vec<Frame> = image_frames()
            .into_iter()
            .filter(|f| f.table == IMAGE_TABLE)
            .collect();
        let rows = run(frames, &model());
        let aa = &image(&rows, "sha256:aa").assessment;
        assert_eq!(factor_names(aa), [ROOT_IMAGE]);
        assert_eq!(aa.unknown_factors, [INTERNET_EXPOSED, VULNERABLE_IMAGE]);
    }
}
