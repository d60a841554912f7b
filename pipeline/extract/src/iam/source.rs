//! Reading IAM through the AWS SDK: authorization details, credentials, account settings and
//! the credential report, into the IAM tables.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::ReportStateType;
use futures::StreamExt;

use super::authorization::{AUTHORIZATION_TABLES, AuthorizationRows};
use super::credential_report::parse_credential_report;
use super::details::{AuthorizationDetails, text};
use super::rows::*;
use crate::{
    CoverageStatus, ExtractError, Scope, Source, SourceContext, SourceOutput, TokenGuard,
    api_error, error_code, millis,
};

pub(crate) const SOURCE: &str = "iam";

pub const USERS: &str = "iam_users";
pub const GROUPS: &str = "iam_groups";
pub const ROLES: &str = "iam_roles";
pub const POLICIES: &str = "iam_policies";
pub const INLINE_POLICIES: &str = "iam_inline_policies";
pub const STATEMENTS: &str = "iam_policy_statements";
pub const ACCESS_KEYS: &str = "iam_access_keys";
pub const MFA_DEVICES: &str = "iam_mfa_devices";
pub const PASSWORD_POLICY: &str = "iam_password_policy";
pub const ACCOUNT_SUMMARY: &str = "iam_account_summary";
pub const CREDENTIAL_REPORT: &str = "iam_credential_report";

const TABLES: &[&str] = &[
    USERS,
    GROUPS,
    ROLES,
    POLICIES,
    INLINE_POLICIES,
    STATEMENTS,
    ACCESS_KEYS,
    MFA_DEVICES,
    PASSWORD_POLICY,
    ACCOUNT_SUMMARY,
    CREDENTIAL_REPORT,
];

/// Every IAM API action the source calls: the read-only policy in `deploy/` must allow
/// each, and a test checks that it does.
pub const ACTIONS: &[&str] = &[
    "iam:GenerateCredentialReport",
    "iam:GetAccessKeyLastUsed",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:GetCredentialReport",
    "iam:ListAccessKeys",
    "iam:ListMFADevices",
];

/// IAM's control plane allows roughly 20 calls a second per account for reads, with
/// `GetAccountAuthorizationDetails` and the credential report far below that; these keep
/// a run under the limits AWS documents for IAM's eventually consistent endpoints.
const RATES: &[(&str, crate::Rate)] = &[
    (
        "iam:GetAccountAuthorizationDetails",
        crate::Rate::new(2.0, 2.0),
    ),
    ("iam:GenerateCredentialReport", crate::Rate::new(1.0, 1.0)),
    ("iam:GetCredentialReport", crate::Rate::new(1.0, 1.0)),
    ("iam:ListAccessKeys", crate::Rate::new(10.0, 20.0)),
    ("iam:GetAccessKeyLastUsed", crate::Rate::new(10.0, 20.0)),
    ("iam:ListMFADevices", crate::Rate::new(10.0, 20.0)),
];

/// Settings of the IAM source.
#[derive(Debug, Clone)]
pub struct IamOptions {
    /// How long to wait for IAM to generate the credential report.
    pub credential_report_deadline: Duration,
    /// First wait between polls of the report; it doubles up to `max_poll_interval`.
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    /// Per-user calls (access keys, MFA devices) in flight at once.
    pub concurrency: usize,
}

impl Default for IamOptions {
    fn default() -> Self {
        Self {
            credential_report_deadline: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
            max_poll_interval: Duration::from_secs(10),
            concurrency: 8,
        }
    }
}

/// The IAM source.
#[derive(Debug, Clone, Default)]
pub struct IamSource {
    options: IamOptions,
}

impl IamSource {
    pub fn new(options: IamOptions) -> Self {
        Self { options }
    }
}

#[async_trait]
impl Source for IamSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn scope(&self) -> Scope {
        Scope::Global
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn rates(&self) -> &'static [(&'static str, crate::Rate)] {
        RATES
    }

    async fn extract(
        &self,
        ctx: &SourceContext,
        out: &mut SourceOutput,
    ) -> Result<(), ExtractError> {
        let client = Client::new(&ctx.sdk);

        let mut calls = 0;
        let users = match authorization_details(&client, ctx, out, &mut calls).await {
            Ok(users) => Some(users),
            Err(error) => {
                let api = "GetAccountAuthorizationDetails";
                out.record_failure(api, &error, calls, AUTHORIZATION_TABLES);
                // Without the user list the per-user tables cannot be complete.
                out.fail_table(ACCESS_KEYS, error.to_string());
                out.fail_table(MFA_DEVICES, error.to_string());
                None
            }
        };
        if let Some(users) = users {
            per_user_tables(&client, ctx, out, &users, self.options.concurrency).await?;
        }
        password_policy(&client, ctx, out).await?;
        account_summary(&client, ctx, out).await?;
        credential_report(&client, ctx, out, &self.options).await?;
        Ok(())
    }
}

/// A user as the per-user calls need it.
#[derive(Debug, Clone)]
pub(crate) struct UserRef {
    pub(crate) name: String,
    pub(crate) arn: String,
}

/// Page through `GetAccountAuthorizationDetails`, writing every page as it arrives.
pub(crate) async fn authorization_details(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    calls: &mut u32,
) -> Result<Vec<UserRef>, ExtractError> {
    const API: &str = "GetAccountAuthorizationDetails";
    let mut guard = TokenGuard::new(API);
    let mut marker: Option<String> = None;
    let mut users = Vec::new();
    loop {
        *calls += 1;
        ctx.acquire("iam:GetAccountAuthorizationDetails").await;
        let page = client
            .get_account_authorization_details()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| api_error(SOURCE, API, ctx, &e))?;
        tracing::debug!(
            page = guard.pages() + 1,
            "Read a page of authorization details"
        );

        let details = AuthorizationDetails::from(&page);
        users.extend(details.users.iter().map(|user| UserRef {
            name: user.user_name.clone(),
            arn: user.arn.clone(),
        }));
        AuthorizationRows::build(details).write(out).await?;

        let token = if page.is_truncated() {
            page.marker()
        } else {
            None
        };
        match guard.next(token)? {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    out.coverage(
        API,
        CoverageStatus::Ok,
        None,
        guard.pages(),
        AUTHORIZATION_TABLES,
    );
    Ok(users)
}

/// What the per-user calls found for one user.
#[derive(Default)]
struct PerUser {
    keys: Vec<AccessKeyRow>,
    devices: Vec<MfaDeviceRow>,
    key_calls: u32,
    mfa_calls: u32,
}

/// Access keys (with last use) and MFA devices of every user, a bounded number at a time.
pub(crate) async fn per_user_tables(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    users: &[UserRef],
    concurrency: usize,
) -> Result<(), ExtractError> {
    let results: Vec<Result<PerUser, (&'static str, ExtractError)>> =
        futures::stream::iter(users.iter().cloned())
            .map(|user| async move { one_user(client, ctx, &user).await })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;

    let mut keys = Vec::new();
    let mut devices = Vec::new();
    let (mut key_calls, mut mfa_calls) = (0, 0);
    let mut failure: Option<(&'static str, ExtractError)> = None;
    for result in results {
        match result {
            Ok(found) => {
                keys.extend(found.keys);
                devices.extend(found.devices);
                key_calls += found.key_calls;
                mfa_calls += found.mfa_calls;
            }
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
    match &failure {
        Some(("ListMFADevices", error)) => {
            out.record_failure("ListMFADevices", error, mfa_calls, &[MFA_DEVICES]);
            out.coverage(
                "ListAccessKeys",
                CoverageStatus::Ok,
                None,
                key_calls,
                &[ACCESS_KEYS],
            );
        }
        Some((api, error)) => {
            out.record_failure(api, error, key_calls, &[ACCESS_KEYS]);
            // The failing user's devices were not listed either.
            out.fail_table(MFA_DEVICES, error.to_string());
        }
        None => {
            out.coverage(
                "ListAccessKeys",
                CoverageStatus::Ok,
                None,
                key_calls,
                &[ACCESS_KEYS],
            );
            out.coverage(
                "ListMFADevices",
                CoverageStatus::Ok,
                None,
                mfa_calls,
                &[MFA_DEVICES],
            );
        }
    }
    out.rows(ACCESS_KEYS, &keys).await?;
    out.rows(MFA_DEVICES, &devices).await?;
    Ok(())
}

async fn one_user(
    client: &Client,
    ctx: &SourceContext,
    user: &UserRef,
) -> Result<PerUser, (&'static str, ExtractError)> {
    let mut found = PerUser::default();

    let mut guard = TokenGuard::new("ListAccessKeys");
    let mut marker = None;
    loop {
        ctx.acquire("iam:ListAccessKeys").await;
        let page = match client
            .list_access_keys()
            .user_name(&user.name)
            .set_marker(marker.clone())
            .send()
            .await
        {
            Ok(page) => page,
            // The user was deleted between the listing and now: it has no keys to report.
            Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => return Ok(found),
            Err(e) => {
                return Err((
                    "ListAccessKeys",
                    api_error(SOURCE, "ListAccessKeys", ctx, &e),
                ));
            }
        };
        found.key_calls += 1;
        for key in page.access_key_metadata() {
            let id = text(key.access_key_id());
            ctx.acquire("iam:GetAccessKeyLastUsed").await;
            let last = client
                .get_access_key_last_used()
                .access_key_id(&id)
                .send()
                .await
                .map_err(|e| {
                    (
                        "GetAccessKeyLastUsed",
                        api_error(SOURCE, "GetAccessKeyLastUsed", ctx, &e),
                    )
                })?;
            found.key_calls += 1;
            let used = last.access_key_last_used();
            found.keys.push(AccessKeyRow {
                user_name: user.name.clone(),
                user_arn: user.arn.clone(),
                access_key_id: id,
                status: key
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                create_date: millis(key.create_date()),
                last_used_at: millis(used.and_then(|u| u.last_used_date())),
                last_used_service: used.map(|u| u.service_name()).and_then(not_na),
                last_used_region: used.map(|u| u.region()).and_then(not_na),
            });
        }
        let token = if page.is_truncated() {
            page.marker()
        } else {
            None
        };
        match guard.next(token).map_err(|e| ("ListAccessKeys", e))? {
            Some(next) => marker = Some(next),
            None => break,
        }
    }

    let mut guard = TokenGuard::new("ListMFADevices");
    let mut marker = None;
    loop {
        ctx.acquire("iam:ListMFADevices").await;
        let page = match client
            .list_mfa_devices()
            .user_name(&user.name)
            .set_marker(marker.clone())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => return Ok(found),
            Err(e) => {
                return Err((
                    "ListMFADevices",
                    api_error(SOURCE, "ListMFADevices", ctx, &e),
                ));
            }
        };
        found.mfa_calls += 1;
        for device in page.mfa_devices() {
            found.devices.push(MfaDeviceRow {
                user_name: user.name.clone(),
                user_arn: user.arn.clone(),
                serial_number: device.serial_number().to_owned(),
                enable_date: millis(Some(device.enable_date())),
            });
        }
        let token = if page.is_truncated() {
            page.marker()
        } else {
            None
        };
        match guard.next(token).map_err(|e| ("ListMFADevices", e))? {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    Ok(found)
}

/// IAM spells "never" as `N/A` in last-used fields.
fn not_na(value: &str) -> Option<String> {
    match value {
        "" | "N/A" => None,
        other => Some(other.to_owned()),
    }
}

async fn password_policy(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
) -> Result<(), ExtractError> {
    const API: &str = "GetAccountPasswordPolicy";
    ctx.acquire("iam:GetAccountPasswordPolicy").await;
    let row = match client.get_account_password_policy().send().await {
        Ok(output) => match output.password_policy() {
            Some(p) => PasswordPolicyRow {
                policy_present: true,
                minimum_password_length: p.minimum_password_length(),
                require_symbols: Some(p.require_symbols()),
                require_numbers: Some(p.require_numbers()),
                require_uppercase_characters: Some(p.require_uppercase_characters()),
                require_lowercase_characters: Some(p.require_lowercase_characters()),
                allow_users_to_change_password: Some(p.allow_users_to_change_password()),
                expire_passwords: Some(p.expire_passwords()),
                max_password_age: p.max_password_age(),
                password_reuse_prevention: p.password_reuse_prevention(),
                hard_expiry: p.hard_expiry(),
            },
            None => PasswordPolicyRow::default(),
        },
        // No custom policy is a state of the account, not a failure.
        Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => PasswordPolicyRow::default(),
        Err(e) => {
            out.record_failure(API, &api_error(SOURCE, API, ctx, &e), 1, &[PASSWORD_POLICY]);
            return Ok(());
        }
    };
    out.coverage(API, CoverageStatus::Ok, None, 1, &[PASSWORD_POLICY]);
    out.rows(PASSWORD_POLICY, &[row]).await
}

async fn account_summary(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
) -> Result<(), ExtractError> {
    const API: &str = "GetAccountSummary";
    ctx.acquire("iam:GetAccountSummary").await;
    let output = match client.get_account_summary().send().await {
        Ok(output) => output,
        Err(e) => {
            out.record_failure(API, &api_error(SOURCE, API, ctx, &e), 1, &[ACCOUNT_SUMMARY]);
            return Ok(());
        }
    };
    let summary: BTreeMap<String, i64> = output
        .summary_map()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_owned(), i64::from(*v)))
                .collect()
        })
        .unwrap_or_default();
    let int = |key: &str| summary.get(key).and_then(|v| i32::try_from(*v).ok());
    let flag = |key: &str| summary.get(key).map(|v| *v > 0);
    let row = AccountSummaryRow {
        users: int("Users"),
        groups: int("Groups"),
        roles: int("Roles"),
        policies: int("Policies"),
        mfa_devices: int("MFADevices"),
        mfa_devices_in_use: int("MFADevicesInUse"),
        account_mfa_enabled: flag("AccountMFAEnabled"),
        account_access_keys_present: flag("AccountAccessKeysPresent"),
        account_signing_certificates_present: flag("AccountSigningCertificatesPresent"),
        summary,
    };
    out.coverage(API, CoverageStatus::Ok, None, 1, &[ACCOUNT_SUMMARY]);
    out.rows(ACCOUNT_SUMMARY, &[row]).await
}

/// Ask IAM for the credential report and poll, with backoff, until it is ready or the
/// deadline passes. Generation is asynchronous: the first answers are `STARTED` or
/// `INPROGRESS`, and `GetCredentialReport` refuses with `ReportInProgress` meanwhile.
/// Limitation: AWS generates a new report only when the one it holds is more than four
/// hours old, so runs closer together than that read the same report: a change to a
/// password, an MFA device or a key's use shows in the controls judged from the report
/// only once AWS has generated the next one.
pub(crate) async fn credential_report(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    options: &IamOptions,
) -> Result<(), ExtractError> {
    const API: &str = "GetCredentialReport";
    let started = Instant::now();
    let mut wait = options.poll_interval;
    let mut calls = 0;
    let content = loop {
        calls += 1;
        ctx.acquire("iam:GenerateCredentialReport").await;
        let state = match client.generate_credential_report().send().await {
            Ok(output) => output.state().cloned(),
            Err(e) => {
                let error = api_error(SOURCE, "GenerateCredentialReport", ctx, &e);
                out.record_failure(API, &error, calls, &[CREDENTIAL_REPORT]);
                return Ok(());
            }
        };
        if state == Some(ReportStateType::Complete) {
            calls += 1;
            ctx.acquire("iam:GetCredentialReport").await;
            match client.get_credential_report().send().await {
                Ok(report) => {
                    break report
                        .content()
                        .map(|b| b.as_ref().to_vec())
                        .unwrap_or_default();
                }
                Err(e)
                    if matches!(
                        error_code(&e).as_deref(),
                        Some("ReportInProgress" | "ReportNotPresent" | "ReportExpired")
                    ) => {}
                Err(e) => {
                    let error = api_error(SOURCE, API, ctx, &e);
                    out.record_failure(API, &error, calls, &[CREDENTIAL_REPORT]);
                    return Ok(());
                }
            }
        }
        if started.elapsed() + wait > options.credential_report_deadline {
            let error = ExtractError::Api {
                source_name: SOURCE,
                api: API,
                account_id: ctx.account_id.clone(),
                region: ctx.region.clone(),
                status: CoverageStatus::Error,
                message: format!(
                    "the credential report was not ready within {} ms",
                    options.credential_report_deadline.as_millis()
                ),
            };
            out.record_failure(API, &error, calls, &[CREDENTIAL_REPORT]);
            return Ok(());
        }
        tracing::debug!(
            wait_ms = wait.as_millis() as u64,
            "Credential report not ready yet"
        );
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(options.max_poll_interval);
    };

    match parse_credential_report(&content) {
        Ok(rows) => {
            out.coverage(API, CoverageStatus::Ok, None, calls, &[CREDENTIAL_REPORT]);
            out.rows(CREDENTIAL_REPORT, &rows).await
        }
        Err(error) => {
            let error = ExtractError::Invalid {
                source_name: SOURCE,
                account_id: ctx.account_id.clone(),
                message: format!("credential report: {error}"),
            };
            out.record_failure(API, &error, calls, &[CREDENTIAL_REPORT]);
            Ok(())
        }
    }
}
