//! The evaluations behind the controls of `controls/`, each a function of one account's
//! tables. A check returns one outcome per resource it judges.

use std::collections::BTreeMap;

use polars::prelude::PolarsResult;
use serde_json::{Value, json};

use crate::{Frame, posture};

pub(crate) const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const ROOT: &str = "<root_account>";
const SUPPORT_POLICY: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";
const CLOUDSHELL_POLICY: &str = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess";

/// PASS, FAIL, NOT_APPLICABLE or UNKNOWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Pass,
    Fail,
    NotApplicable,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotApplicable => "NOT_APPLICABLE",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// One judged resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub resource_id: String,
    /// The resource's region, or `global` for account-wide and IAM resources.
    pub region: String,
    pub status: Status,
    pub reason: String,
    pub evidence: Value,
}

impl Outcome {
    pub(crate) fn new(
        resource_id: impl Into<String>,
        status: Status,
        reason: impl Into<String>,
        evidence: Value,
    ) -> Self {
        Self {
            resource_id: resource_id.into(),
            region: "global".to_owned(),
            status,
            reason: reason.into(),
            evidence,
        }
    }

    /// The same outcome for a resource of `region`.
    pub(crate) fn in_region(self, region: &str) -> Self {
        Self {
            region: region.to_owned(),
            ..self
        }
    }
}

/// What a check reads: one account's frames of the tables its control declares.
#[derive(Debug)]
pub struct CheckInput<'a> {
    pub account_id: &'a str,
    /// The snapshot time the checks measure ages against, in milliseconds.
    pub snapshot_at: i64,
    pub frames: &'a BTreeMap<&'static str, Frame>,
}

impl CheckInput<'_> {
    pub(crate) fn frame(&self, table: &str) -> &Frame {
        // The caller passes every table the control reads; the catalogue test checks
        // that each check reads only what its control declares.
        self.frames
            .get(table)
            .unwrap_or_else(|| panic!("check reads {table}, which its control does not declare"))
    }

    fn older_than(&self, at: Option<i64>, days: i64) -> bool {
        older_than(self.snapshot_at, at, days)
    }
}

pub type Check = fn(&CheckInput<'_>) -> PolarsResult<Vec<Outcome>>;

/// The check registered under a control's `check` name.
pub fn check(name: &str) -> Option<Check> {
    Some(match name {
        "root_access_keys" => root_access_keys,
        "root_mfa" => root_mfa,
        "root_recent_use" => root_recent_use,
        "password_min_length" => password_min_length,
        "password_reuse" => password_reuse,
        "console_users_mfa" => console_users_mfa,
        "unused_initial_keys" => unused_initial_keys,
        "stale_credentials" => stale_credentials,
        "one_active_key" => one_active_key,
        "key_rotation" => key_rotation,
        "user_policies_via_groups" => user_policies_via_groups,
        "no_full_admin_policies" => no_full_admin_policies,
        "support_role" => support_role,
        "cloudshell_full_access" => cloudshell_full_access,
        "s3_deny_http" => posture::s3_deny_http,
        "s3_mfa_delete" => posture::s3_mfa_delete,
        "s3_account_public_access_block" => posture::s3_account_public_access_block,
        "s3_bucket_public_access_block" => posture::s3_bucket_public_access_block,
        "ebs_default_encryption" => posture::ebs_default_encryption,
        "rds_encrypted" => posture::rds_encrypted,
        "cloudtrail_bucket_logging" => posture::cloudtrail_bucket_logging,
        "rds_auto_minor_upgrade" => posture::rds_auto_minor_upgrade,
        "rds_not_public" => posture::rds_not_public,
        "efs_encrypted" => posture::efs_encrypted,
        "cloudtrail_multi_region" => posture::cloudtrail_multi_region,
        "cloudtrail_log_validation" => posture::cloudtrail_log_validation,
        "cloudtrail_kms" => posture::cloudtrail_kms,
        "s3_object_write_logging" => posture::s3_object_write_logging,
        "s3_object_read_logging" => posture::s3_object_read_logging,
        "config_enabled" => posture::config_enabled,
        "kms_rotation" => posture::kms_rotation,
        "vpc_flow_logs" => posture::vpc_flow_logs,
        "securityhub_enabled" => posture::securityhub_enabled,
        "nacl_admin_ports" => posture::nacl_admin_ports,
        "security_groups_admin_ipv4" => posture::security_groups_admin_ipv4,
        "security_groups_admin_ipv6" => posture::security_groups_admin_ipv6,
        "default_security_group_closed" => posture::default_security_group_closed,
        "peering_routes_least_access" => posture::peering_routes_least_access,
        // No source reads IAM Access Analyzer: Security Hub's IAM.28 decides it, when
        // the snapshot holds that control's findings.
        "access_analyzer" => no_data,
        _ => return None,
    })
}

fn no_data(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    Ok(vec![Outcome::new(
        input.account_id,
        Status::Unknown,
        "no source collects this control's data yet",
        json!({}),
    )])
}

/// The credential report as rows, by column.
pub(crate) struct Report {
    users: Vec<Option<String>>,
    pub(crate) arns: Vec<Option<String>>,
    pub(crate) password_enabled: Vec<Option<bool>>,
    pub(crate) mfa: Vec<Option<bool>>,
    password_last_used: Vec<Option<i64>>,
    password_last_changed: Vec<Option<i64>>,
    key_active: [Vec<Option<bool>>; 2],
    key_rotated: [Vec<Option<i64>>; 2],
    key_used: [Vec<Option<i64>>; 2],
}

/// Whether a time (milliseconds) lies more than `days` before the snapshot time.
pub(crate) fn older_than(snapshot_at: i64, at: Option<i64>, days: i64) -> bool {
    at.is_some_and(|t| t < snapshot_at - days * DAY_MS)
}

impl Report {
    /// The user's enabled credentials unused for `days` or more (`password`,
    /// `access key 1`, `access key 2`); a credential never used counts from its last
    /// change or rotation, and one with neither date counts as unused.
    pub(crate) fn unused_credentials(&self, i: usize, snapshot_at: i64, days: i64) -> Vec<String> {
        let mut stale = Vec::new();
        if self.password_enabled[i] == Some(true) {
            let last = self.password_last_used[i].or(self.password_last_changed[i]);
            if last.is_none() || older_than(snapshot_at, last, days) {
                stale.push("password".to_owned());
            }
        }
        for k in 0..2 {
            if self.key_active[k][i] == Some(true) {
                let last = self.key_used[k][i].or(self.key_rotated[k][i]);
                if last.is_none() || older_than(snapshot_at, last, days) {
                    stale.push(format!("access key {}", k + 1));
                }
            }
        }
        stale
    }

    /// Whether the user has an enabled password or an active access key.
    fn has_credentials(&self, i: usize) -> bool {
        self.password_enabled[i] == Some(true)
            || (0..2).any(|k| self.key_active[k][i] == Some(true))
    }

    pub(crate) fn read(frame: &Frame) -> PolarsResult<Self> {
        Ok(Self {
            users: frame.strings("user_name")?,
            arns: frame.strings("arn")?,
            password_enabled: frame.bools("password_enabled")?,
            mfa: frame.bools("mfa_active")?,
            password_last_used: frame.millis("password_last_used")?,
            password_last_changed: frame.millis("password_last_changed")?,
            key_active: [
                frame.bools("access_key_1_active")?,
                frame.bools("access_key_2_active")?,
            ],
            key_rotated: [
                frame.millis("access_key_1_last_rotated")?,
                frame.millis("access_key_2_last_rotated")?,
            ],
            key_used: [
                frame.millis("access_key_1_last_used_date")?,
                frame.millis("access_key_2_last_used_date")?,
            ],
        })
    }

    fn root(&self) -> Option<usize> {
        self.users.iter().position(|u| u.as_deref() == Some(ROOT))
    }

    fn iam_users(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.users.len()).filter(|i| self.users[*i].as_deref() != Some(ROOT))
    }

    fn arn(&self, i: usize) -> String {
        self.arns[i].clone().unwrap_or_default()
    }
}

fn day(ms: Option<i64>) -> Value {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| Value::String(t.format("%Y-%m-%d").to_string()))
        .unwrap_or(Value::Null)
}

fn root_row(input: &CheckInput<'_>) -> PolarsResult<Result<(Report, usize), Vec<Outcome>>> {
    let report = Report::read(input.frame("iam_credential_report"))?;
    match report.root() {
        Some(i) => Ok(Ok((report, i))),
        None => Ok(Err(vec![Outcome::new(
            input.account_id,
            Status::Unknown,
            "the credential report has no row for the root user",
            json!({}),
        )])),
    }
}

fn root_access_keys(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let (report, i) = match root_row(input)? {
        Ok(found) => found,
        Err(unknown) => return Ok(unknown),
    };
    let active = [
        report.key_active[0][i].unwrap_or(false),
        report.key_active[1][i].unwrap_or(false),
    ];
    let evidence = json!({"access_key_1_active": active[0], "access_key_2_active": active[1]});
    Ok(vec![if active.iter().any(|a| *a) {
        Outcome::new(
            input.account_id,
            Status::Fail,
            "the root user has an active access key",
            evidence,
        )
    } else {
        Outcome::new(
            input.account_id,
            Status::Pass,
            "the root user has no active access key",
            evidence,
        )
    }])
}

fn root_mfa(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let (report, i) = match root_row(input)? {
        Ok(found) => found,
        Err(unknown) => return Ok(unknown),
    };
    let evidence = json!({"mfa_active": report.mfa[i]});
    Ok(vec![match report.mfa[i] {
        Some(true) => Outcome::new(
            input.account_id,
            Status::Pass,
            "the root user has MFA",
            evidence,
        ),
        _ => Outcome::new(
            input.account_id,
            Status::Fail,
            "the root user has no MFA device",
            evidence,
        ),
    }])
}

fn root_recent_use(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let (report, i) = match root_row(input)? {
        Ok(found) => found,
        Err(unknown) => return Ok(unknown),
    };
    let last = [
        report.password_last_used[i],
        report.key_used[0][i],
        report.key_used[1][i],
    ]
    .into_iter()
    .flatten()
    .max();
    let evidence = json!({"last_used": day(last)});
    Ok(vec![match last {
        Some(t) if !input.older_than(Some(t), 90) => Outcome::new(
            input.account_id,
            Status::Fail,
            "the root user was used in the last 90 days",
            evidence,
        ),
        _ => Outcome::new(
            input.account_id,
            Status::Pass,
            "the root user was not used in the last 90 days",
            evidence,
        ),
    }])
}

fn password_policy_value(
    input: &CheckInput<'_>,
    column: &str,
    minimum: i64,
    what: &str,
) -> PolarsResult<Vec<Outcome>> {
    let frame = input.frame("iam_password_policy");
    let present = frame.bools("policy_present")?;
    let values = frame.ints(column)?;
    let (present, value) = (
        present.first().copied().flatten(),
        values.first().copied().flatten(),
    );
    let evidence = json!({"policy_present": present, column: value});
    Ok(vec![match (present, value) {
        (Some(true), Some(v)) if v >= minimum => Outcome::new(
            input.account_id,
            Status::Pass,
            format!("{what} is {v}"),
            evidence,
        ),
        (Some(true), v) => Outcome::new(
            input.account_id,
            Status::Fail,
            format!(
                "{what} is {}, below {minimum}",
                v.map_or("unset".to_owned(), |v| v.to_string())
            ),
            evidence,
        ),
        _ => Outcome::new(
            input.account_id,
            Status::Fail,
            "the account has no password policy, so AWS's defaults apply",
            evidence,
        ),
    }])
}

fn password_min_length(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    password_policy_value(
        input,
        "minimum_password_length",
        14,
        "the minimum password length",
    )
}

fn password_reuse(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    password_policy_value(
        input,
        "password_reuse_prevention",
        24,
        "password reuse prevention",
    )
}

fn console_users_mfa(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let report = Report::read(input.frame("iam_credential_report"))?;
    Ok(report
        .iam_users()
        .map(|i| {
            let evidence = json!({"password_enabled": report.password_enabled[i], "mfa_active": report.mfa[i]});
            match (report.password_enabled[i], report.mfa[i]) {
                (Some(true), Some(true)) => Outcome::new(report.arn(i), Status::Pass, "console user with MFA", evidence),
                (Some(true), _) => Outcome::new(report.arn(i), Status::Fail, "console password without MFA", evidence),
                _ => Outcome::new(report.arn(i), Status::NotApplicable, "no console password", evidence),
            }
        })
        .collect())
}

fn unused_initial_keys(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let report = Report::read(input.frame("iam_credential_report"))?;
    Ok(report
        .iam_users()
        .map(|i| {
            let active: Vec<usize> = (0..2)
                .filter(|k| report.key_active[*k][i] == Some(true))
                .collect();
            let never: Vec<usize> = active
                .iter()
                .copied()
                .filter(|k| report.key_used[*k][i].is_none())
                .collect();
            let evidence = json!({"active_keys": active.iter().map(|k| k + 1).collect::<Vec<_>>(),
                                  "never_used": never.iter().map(|k| k + 1).collect::<Vec<_>>()});
            if active.is_empty() {
                Outcome::new(
                    report.arn(i),
                    Status::NotApplicable,
                    "no active access key",
                    evidence,
                )
            } else if never.is_empty() {
                Outcome::new(
                    report.arn(i),
                    Status::Pass,
                    "every active access key has been used",
                    evidence,
                )
            } else {
                Outcome::new(
                    report.arn(i),
                    Status::Fail,
                    "an active access key has never been used",
                    evidence,
                )
            }
        })
        .collect())
}

fn stale_credentials(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let report = Report::read(input.frame("iam_credential_report"))?;
    Ok(report
        .iam_users()
        .map(|i| {
            let stale = report.unused_credentials(i, input.snapshot_at, 45);
            let any = report.has_credentials(i);
            let evidence = json!({"unused_45_days": stale});
            if !any {
                Outcome::new(
                    report.arn(i),
                    Status::NotApplicable,
                    "no enabled password or active key",
                    evidence,
                )
            } else if stale.is_empty() {
                Outcome::new(
                    report.arn(i),
                    Status::Pass,
                    "every enabled credential was used in the last 45 days",
                    evidence,
                )
            } else {
                Outcome::new(
                    report.arn(i),
                    Status::Fail,
                    format!("unused for 45 days or more: {}", stale.join(", ")),
                    evidence,
                )
            }
        })
        .collect())
}

fn one_active_key(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let keys = input.frame("iam_access_keys");
    let (owners, statuses) = (keys.strings("user_arn")?, keys.strings("status")?);
    let mut active: BTreeMap<String, usize> = BTreeMap::new();
    for (owner, status) in owners.into_iter().zip(statuses) {
        if let (Some(owner), Some("Active")) = (owner, status.as_deref()) {
            *active.entry(owner).or_default() += 1;
        }
    }
    let users = input.frame("iam_users").strings("arn")?;
    Ok(users
        .into_iter()
        .flatten()
        .map(|arn| {
            let n = active.get(&arn).copied().unwrap_or(0);
            let evidence = json!({"active_keys": n});
            if n > 1 {
                Outcome::new(
                    arn,
                    Status::Fail,
                    format!("{n} active access keys"),
                    evidence,
                )
            } else {
                Outcome::new(
                    arn,
                    Status::Pass,
                    format!("{n} active access key(s)"),
                    evidence,
                )
            }
        })
        .collect())
}

fn key_rotation(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let keys = input.frame("iam_access_keys");
    let (ids, statuses, created, users) = (
        keys.strings("access_key_id")?,
        keys.strings("status")?,
        keys.millis("create_date")?,
        keys.strings("user_name")?,
    );
    let mut out = Vec::new();
    for i in 0..ids.len() {
        if statuses[i].as_deref() != Some("Active") {
            continue;
        }
        let id = ids[i].clone().unwrap_or_default();
        let age_days = created[i].map(|t| (input.snapshot_at - t) / DAY_MS);
        let evidence =
            json!({"user_name": users[i], "created": day(created[i]), "age_days": age_days});
        out.push(if input.older_than(created[i], 90) {
            Outcome::new(
                id,
                Status::Fail,
                "active access key older than 90 days",
                evidence,
            )
        } else if created[i].is_none() {
            Outcome::new(
                id,
                Status::Unknown,
                "the key's creation date is unknown",
                evidence,
            )
        } else {
            Outcome::new(
                id,
                Status::Pass,
                "active access key created within 90 days",
                evidence,
            )
        });
    }
    Ok(out)
}

fn user_policies_via_groups(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let users = input.frame("iam_users");
    let (arns, attached, inline) = (
        users.strings("arn")?,
        users.string_lists("attached_policy_arns")?,
        users.string_lists("inline_policy_names")?,
    );
    Ok((0..arns.len())
        .map(|i| {
            let arn = arns[i].clone().unwrap_or_default();
            let evidence =
                json!({"attached_policy_arns": attached[i], "inline_policy_names": inline[i]});
            if attached[i].is_empty() && inline[i].is_empty() {
                Outcome::new(arn, Status::Pass, "no policy on the user itself", evidence)
            } else {
                Outcome::new(
                    arn,
                    Status::Fail,
                    "policies attached to or embedded in the user",
                    evidence,
                )
            }
        })
        .collect())
}

fn no_full_admin_policies(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let statements = input.frame("iam_policy_statements");
    let (kinds, arns, effects, actions, resources, not_actions, admin) = (
        statements.strings("policy_kind")?,
        statements.strings("policy_arn")?,
        statements.strings("effect")?,
        statements.string_lists("action")?,
        statements.string_lists("resource")?,
        statements.string_lists("not_action")?,
        statements.bools("admin_equivalent")?,
    );
    let mut full: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in 0..kinds.len() {
        if kinds[i].as_deref() != Some("managed") || effects[i].as_deref() != Some("Allow") {
            continue;
        }
        let star_star = resources[i].iter().any(|r| r == "*")
            && actions[i].iter().any(|a| a == "*" || a == "*:*");
        let not_action_everything = admin[i] == Some(true) && !not_actions[i].is_empty();
        if star_star || not_action_everything {
            full.entry(arns[i].clone().unwrap_or_default())
                .or_default()
                .push(i);
        }
    }
    let policies = input.frame("iam_policies");
    let (policy_arns, attachments) = (policies.strings("arn")?, policies.ints("attachment_count")?);
    Ok((0..policy_arns.len())
        .map(|i| {
            let arn = policy_arns[i].clone().unwrap_or_default();
            let attached = attachments[i].unwrap_or(0);
            let evidence = json!({"attachment_count": attached, "full_admin_statements": full.get(&arn).map_or(0, Vec::len)});
            if attached == 0 {
                Outcome::new(arn, Status::NotApplicable, "the policy is attached to nothing", evidence)
            } else if full.contains_key(&arn) {
                Outcome::new(arn, Status::Fail, "an attached policy allows every action on every resource", evidence)
            } else {
                Outcome::new(arn, Status::Pass, "no statement grants full administrative rights", evidence)
            }
        })
        .collect())
}

fn support_role(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let roles = input.frame("iam_roles");
    let (names, attached) = (
        roles.strings("role_name")?,
        roles.string_lists("attached_policy_arns")?,
    );
    let support: Vec<String> = (0..names.len())
        .filter(|i| attached[*i].iter().any(|a| a == SUPPORT_POLICY))
        .filter_map(|i| names[i].clone())
        .collect();
    let evidence = json!({"support_roles": support});
    Ok(vec![if support.is_empty() {
        Outcome::new(
            input.account_id,
            Status::Fail,
            "no role has AWSSupportAccess attached",
            evidence,
        )
    } else {
        Outcome::new(
            input.account_id,
            Status::Pass,
            "a role has AWSSupportAccess attached",
            evidence,
        )
    }])
}

fn cloudshell_full_access(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let mut holders = Vec::new();
    for table in ["iam_users", "iam_groups", "iam_roles"] {
        let frame = input.frame(table);
        let (arns, attached) = (
            frame.strings("arn")?,
            frame.string_lists("attached_policy_arns")?,
        );
        for i in 0..arns.len() {
            if attached[i].iter().any(|a| a == CLOUDSHELL_POLICY) {
                holders.extend(arns[i].clone());
            }
        }
    }
    let evidence = json!({"attached_to": holders});
    Ok(vec![if holders.is_empty() {
        Outcome::new(
            CLOUDSHELL_POLICY,
            Status::Pass,
            "AWSCloudShellFullAccess is attached to no principal",
            evidence,
        )
    } else {
        Outcome::new(
            CLOUDSHELL_POLICY,
            Status::Fail,
            "AWSCloudShellFullAccess is attached",
            evidence,
        )
    }])
}
