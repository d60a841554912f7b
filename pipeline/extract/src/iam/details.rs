//! The authorization details of one account, as `GetAccountAuthorizationDetails` describes
//! them: [`AuthorizationDetails`] and its principals and policies.
//!
//! The live source fills the model from the SDK's page types ([`AuthorizationDetails::from`]
//! a page), the importer from the JSON the AWS CLI prints (PascalCase keys, documents
//! decoded into objects or left as percent-encoded text). Rows are built from the model
//! alone (see `authorization.rs`), so both ways give the same rows.

use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::types as sdk;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::policy::{PolicyError, decode_document};
use crate::millis;
use crate::securityhub::asff::parse_timestamp;

/// Principals and policies of one account, or of one page of the listing.
#[derive(Debug, Default)]
pub struct AuthorizationDetails {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub policies: Vec<ManagedPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub user_name: String,
    pub arn: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub path: String,
    #[serde(default, deserialize_with = "timestamp")]
    pub create_date: Option<i64>,
    #[serde(default)]
    pub user_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub group_list: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    pub group_name: String,
    pub arn: String,
    #[serde(default)]
    pub group_id: String,
    #[serde(default)]
    pub path: String,
    #[serde(default, deserialize_with = "timestamp")]
    pub create_date: Option<i64>,
    #[serde(default)]
    pub group_policy_list: Vec<InlinePolicy>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: String,
    pub arn: String,
    #[serde(default)]
    pub role_id: String,
    #[serde(default)]
    pub path: String,
    #[serde(default, deserialize_with = "timestamp")]
    pub create_date: Option<i64>,
    #[serde(default)]
    pub assume_role_policy_document: Option<PolicyDocument>,
    #[serde(default)]
    pub role_policy_list: Vec<InlinePolicy>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub instance_profile_list: Vec<InstanceProfile>,
    #[serde(default)]
    pub role_last_used: Option<RoleLastUsed>,
    #[serde(default)]
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A managed policy, AWS or customer managed, with its versions.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    pub arn: String,
    /// Some emulators omit it; the ARN's last segment is the same value.
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub policy_id: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub default_version_id: Option<String>,
    #[serde(default)]
    pub attachment_count: Option<i32>,
    #[serde(default)]
    pub permissions_boundary_usage_count: Option<i32>,
    #[serde(default)]
    pub is_attachable: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub create_date: Option<i64>,
    #[serde(default, deserialize_with = "timestamp")]
    pub update_date: Option<i64>,
    #[serde(default)]
    pub policy_version_list: Vec<PolicyVersion>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    #[serde(default)]
    pub document: Option<PolicyDocument>,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub is_default_version: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    #[serde(default)]
    pub policy_document: Option<PolicyDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    #[serde(default)]
    pub policy_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionsBoundary {
    #[serde(default)]
    pub permissions_boundary_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceProfile {
    pub arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleLastUsed {
    #[serde(default, deserialize_with = "timestamp")]
    pub last_used_date: Option<i64>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A policy document as it came: text (percent-encoded as the API sends it, or JSON
/// text), or a JSON value the AWS CLI already decoded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PolicyDocument {
    Text(String),
    Decoded(Value),
}

impl PolicyDocument {
    /// The document as JSON. Text that does not decode is an error for the caller to
    /// record against the policy; a decoded value is taken as it is.
    pub fn decode(self) -> Result<Value, PolicyError> {
        match self {
            Self::Text(raw) => decode_document(&raw),
            Self::Decoded(value) => Ok(value),
        }
    }
}

/// A list, or one element in place of a list of one. The API always sends a list, but the
/// AWS CLI's documented example of this command prints a group's single
/// `AttachedManagedPolicies` entry as a bare object, and files copied from it do too.
fn one_or_many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(list) => list,
        OneOrMany::One(one) => vec![one],
    })
}

/// An optional ISO 8601 timestamp, as milliseconds since the epoch.
fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_timestamp(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// An optional SDK string as the text the rows keep: empty when absent.
pub(crate) fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

fn document(raw: Option<&str>) -> Option<PolicyDocument> {
    raw.map(|raw| PolicyDocument::Text(raw.to_owned()))
}

fn inline(policies: &[sdk::PolicyDetail]) -> Vec<InlinePolicy> {
    policies
        .iter()
        .map(|p| InlinePolicy {
            policy_name: text(p.policy_name()),
            policy_document: document(p.policy_document()),
        })
        .collect()
}

fn attached(policies: &[sdk::AttachedPolicy]) -> Vec<AttachedPolicy> {
    policies
        .iter()
        .map(|p| AttachedPolicy {
            policy_arn: p.policy_arn().map(str::to_owned),
        })
        .collect()
}

fn boundary(boundary: Option<&sdk::AttachedPermissionsBoundary>) -> Option<PermissionsBoundary> {
    boundary.map(|b| PermissionsBoundary {
        permissions_boundary_arn: b.permissions_boundary_arn().map(str::to_owned),
    })
}

fn tags(tags: &[sdk::Tag]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag {
            key: t.key().to_owned(),
            value: t.value().to_owned(),
        })
        .collect()
}

impl From<&GetAccountAuthorizationDetailsOutput> for AuthorizationDetails {
    fn from(page: &GetAccountAuthorizationDetailsOutput) -> Self {
        let users = page.user_detail_list().iter().map(|user| User {
            user_name: text(user.user_name()),
            arn: text(user.arn()),
            user_id: text(user.user_id()),
            path: text(user.path()),
            create_date: millis(user.create_date()),
            user_policy_list: inline(user.user_policy_list()),
            group_list: user.group_list().to_vec(),
            attached_managed_policies: attached(user.attached_managed_policies()),
            permissions_boundary: boundary(user.permissions_boundary()),
            tags: tags(user.tags()),
        });
        let groups = page.group_detail_list().iter().map(|group| Group {
            group_name: text(group.group_name()),
            arn: text(group.arn()),
            group_id: text(group.group_id()),
            path: text(group.path()),
            create_date: millis(group.create_date()),
            group_policy_list: inline(group.group_policy_list()),
            attached_managed_policies: attached(group.attached_managed_policies()),
        });
        let roles = page.role_detail_list().iter().map(|role| Role {
            role_name: text(role.role_name()),
            arn: text(role.arn()),
            role_id: text(role.role_id()),
            path: text(role.path()),
            create_date: millis(role.create_date()),
            assume_role_policy_document: document(role.assume_role_policy_document()),
            role_policy_list: inline(role.role_policy_list()),
            attached_managed_policies: attached(role.attached_managed_policies()),
            instance_profile_list: role
                .instance_profile_list()
                .iter()
                .map(|p| InstanceProfile {
                    arn: p.arn().to_owned(),
                })
                .collect(),
            role_last_used: role.role_last_used().map(|used| RoleLastUsed {
                last_used_date: millis(used.last_used_date()),
                region: used.region().map(str::to_owned),
            }),
            permissions_boundary: boundary(role.permissions_boundary()),
            tags: tags(role.tags()),
        });
        let policies = page.policies().iter().map(|policy| ManagedPolicy {
            arn: text(policy.arn()),
            policy_name: policy.policy_name().map(str::to_owned),
            policy_id: text(policy.policy_id()),
            path: text(policy.path()),
            default_version_id: policy.default_version_id().map(str::to_owned),
            attachment_count: policy.attachment_count(),
            permissions_boundary_usage_count: policy.permissions_boundary_usage_count(),
            is_attachable: Some(policy.is_attachable()),
            description: policy.description().map(str::to_owned),
            create_date: millis(policy.create_date()),
            update_date: millis(policy.update_date()),
            policy_version_list: policy
                .policy_version_list()
                .iter()
                .map(|v| PolicyVersion {
                    document: document(v.document()),
                    version_id: v.version_id().map(str::to_owned),
                    is_default_version: v.is_default_version(),
                })
                .collect(),
        });
        Self {
            users: users.collect(),
            groups: groups.collect(),
            roles: roles.collect(),
            policies: policies.collect(),
        }
    }
}

/// The lists of the CLI's document, each element still JSON: elements are converted one
/// at a time so an error can name its list and position.
#[derive(Deserialize)]
struct Document {
    #[serde(rename = "UserDetailList")]
    users: Option<Vec<Value>>,
    #[serde(rename = "GroupDetailList")]
    groups: Option<Vec<Value>>,
    #[serde(rename = "RoleDetailList")]
    roles: Option<Vec<Value>>,
    #[serde(rename = "Policies")]
    policies: Option<Vec<Value>>,
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
}

/// Convert every element of a list, naming the list and the position of one that fails.
fn elements<T: serde::de::DeserializeOwned>(
    list: &str,
    values: Option<Vec<Value>>,
) -> Result<Vec<T>, String> {
    let values = values.ok_or_else(|| {
        format!("not a GetAccountAuthorizationDetails document: it has no {list} array")
    })?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| serde_json::from_value(value).map_err(|e| format!("{list}[{i}]: {e}")))
        .collect()
}

impl AuthorizationDetails {
    /// Parse the JSON `aws iam get-account-authorization-details` prints; every list must
    /// be there. The flag is `IsTruncated`: true when the file is one page of a longer
    /// listing (the CLI's own output is never truncated, as it follows every page).
    pub fn from_cli_json(bytes: &[u8]) -> Result<(Self, bool), String> {
        let document: Document = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_data() {
                format!("not a GetAccountAuthorizationDetails document: {e}")
            } else {
                format!("not valid JSON: {e}")
            }
        })?;
        let details = Self {
            users: elements("UserDetailList", document.users)?,
            groups: elements("GroupDetailList", document.groups)?,
            roles: elements("RoleDetailList", document.roles)?,
            policies: elements("Policies", document.policies)?,
        };
        Ok((details, document.is_truncated))
    }

    /// The ARN of every principal and managed policy, with where it sits in the document.
    pub fn arns(&self) -> impl Iterator<Item = (String, &str)> {
        let users = self.users.iter().enumerate();
        let groups = self.groups.iter().enumerate();
        let roles = self.roles.iter().enumerate();
        let policies = self.policies.iter().enumerate();
        users
            .map(|(i, u)| (format!("UserDetailList[{i}]"), u.arn.as_str()))
            .chain(groups.map(|(i, g)| (format!("GroupDetailList[{i}]"), g.arn.as_str())))
            .chain(roles.map(|(i, r)| (format!("RoleDetailList[{i}]"), r.arn.as_str())))
            .chain(policies.map(|(i, p)| (format!("Policies[{i}]"), p.arn.as_str())))
    }
}
