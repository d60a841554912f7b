//! Row types of the IAM tables; field names are the column names in `schemas/`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::policy::Statement;

#[derive(Debug, Serialize)]
pub struct UserRow {
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: Option<i64>,
    pub permissions_boundary_arn: Option<String>,
    pub group_names: Vec<String>,
    pub attached_policy_arns: Vec<String>,
    pub inline_policy_names: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct GroupRow {
    pub group_name: String,
    pub group_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: Option<i64>,
    pub attached_policy_arns: Vec<String>,
    pub inline_policy_names: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RoleRow {
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: Option<i64>,
    pub trust_policy: Option<String>,
    pub role_last_used_at: Option<i64>,
    pub role_last_used_region: Option<String>,
    pub permissions_boundary_arn: Option<String>,
    pub attached_policy_arns: Vec<String>,
    pub inline_policy_names: Vec<String>,
    pub instance_profile_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct PolicyRow {
    pub policy_name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub aws_managed: bool,
    pub default_version_id: Option<String>,
    pub attachment_count: Option<i32>,
    pub permissions_boundary_usage_count: Option<i32>,
    pub is_attachable: Option<bool>,
    pub create_date: Option<i64>,
    pub update_date: Option<i64>,
    pub description: Option<String>,
    pub document: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct InlinePolicyRow {
    pub owner_type: &'static str,
    pub owner_name: String,
    pub owner_arn: String,
    pub policy_name: String,
    pub document: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatementRow {
    pub policy_kind: &'static str,
    pub policy_arn: Option<String>,
    pub policy_name: String,
    pub owner_type: Option<&'static str>,
    pub owner_arn: Option<String>,
    #[serde(flatten)]
    pub statement: Statement,
}

#[derive(Debug, Serialize)]
pub struct AccessKeyRow {
    pub user_name: String,
    pub user_arn: String,
    pub access_key_id: String,
    pub status: String,
    pub create_date: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MfaDeviceRow {
    pub user_name: String,
    pub user_arn: String,
    pub serial_number: String,
    pub enable_date: Option<i64>,
}

#[derive(Debug, Default, Serialize)]
pub struct PasswordPolicyRow {
    pub policy_present: bool,
    pub minimum_password_length: Option<i32>,
    pub require_symbols: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_uppercase_characters: Option<bool>,
    pub require_lowercase_characters: Option<bool>,
    pub allow_users_to_change_password: Option<bool>,
    pub expire_passwords: Option<bool>,
    pub max_password_age: Option<i32>,
    pub password_reuse_prevention: Option<i32>,
    pub hard_expiry: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct AccountSummaryRow {
    pub users: Option<i32>,
    pub groups: Option<i32>,
    pub roles: Option<i32>,
    pub policies: Option<i32>,
    pub mfa_devices: Option<i32>,
    pub mfa_devices_in_use: Option<i32>,
    pub account_mfa_enabled: Option<bool>,
    pub account_access_keys_present: Option<bool>,
    pub account_signing_certificates_present: Option<bool>,
    pub summary: BTreeMap<String, i64>,
}
