//! Rows of the six tables `GetAccountAuthorizationDetails` fills, built from the one model
//! of [`AuthorizationDetails`] whether it came from the API or from an imported file.

use std::collections::BTreeMap;

use serde_json::Value;

use super::details::{AttachedPolicy, AuthorizationDetails, InlinePolicy, PolicyDocument, Tag};
use super::policy::{Statement, parse_statements};
use super::rows::*;
use super::source::{GROUPS, INLINE_POLICIES, POLICIES, ROLES, STATEMENTS, USERS};
use crate::{ExtractError, SourceOutput};

/// Tables filled from `GetAccountAuthorizationDetails`.
pub const AUTHORIZATION_TABLES: &[&str] =
    &[USERS, GROUPS, ROLES, POLICIES, INLINE_POLICIES, STATEMENTS];

/// Rows written to a table in one batch, so a large account is encoded in pieces.
const BATCH_ROWS: usize = 4096;

/// The rows of some authorization details, and the documents that could not be read.
#[derive(Debug, Default)]
pub struct AuthorizationRows {
    pub users: Vec<UserRow>,
    pub groups: Vec<GroupRow>,
    pub roles: Vec<RoleRow>,
    pub policies: Vec<PolicyRow>,
    pub inline: Vec<InlinePolicyRow>,
    pub statements: Vec<StatementRow>,
    /// (object, message) of each policy document that could not be read: a row error of
    /// `iam_policy_statements`, with the policy's row kept without its document.
    pub errors: Vec<(String, String)>,
}

impl AuthorizationRows {
    /// Build every row of `details`.
    pub fn build(details: AuthorizationDetails) -> Self {
        let mut rows = Self::default();
        for user in details.users {
            let inline_policy_names = names(&user.user_policy_list);
            rows.inline_policies("user", &user.user_name, &user.arn, user.user_policy_list);
            rows.users.push(UserRow {
                user_name: user.user_name,
                user_id: user.user_id,
                arn: user.arn,
                path: user.path,
                create_date: user.create_date,
                permissions_boundary_arn: user
                    .permissions_boundary
                    .and_then(|b| b.permissions_boundary_arn),
                group_names: user.group_list,
                attached_policy_arns: attached(user.attached_managed_policies),
                inline_policy_names,
                tags: tags(user.tags),
            });
        }

        for group in details.groups {
            let inline_policy_names = names(&group.group_policy_list);
            rows.inline_policies(
                "group",
                &group.group_name,
                &group.arn,
                group.group_policy_list,
            );
            rows.groups.push(GroupRow {
                group_name: group.group_name,
                group_id: group.group_id,
                arn: group.arn,
                path: group.path,
                create_date: group.create_date,
                attached_policy_arns: attached(group.attached_managed_policies),
                inline_policy_names,
            });
        }

        for role in details.roles {
            let inline_policy_names = names(&role.role_policy_list);
            rows.inline_policies("role", &role.role_name, &role.arn, role.role_policy_list);
            let object = format!("{} trust policy", role.arn);
            let trust = rows.decode(&object, role.assume_role_policy_document);
            if let Some(doc) = &trust {
                let make = template("trust", None, "trust", Some(("role", &role.arn)));
                rows.statements(&object, doc, make);
            }
            let last_used = role.role_last_used.unwrap_or_default();
            rows.roles.push(RoleRow {
                role_name: role.role_name,
                role_id: role.role_id,
                arn: role.arn,
                path: role.path,
                create_date: role.create_date,
                trust_policy: trust.as_ref().map(Value::to_string),
                role_last_used_at: last_used.last_used_date,
                role_last_used_region: last_used.region,
                permissions_boundary_arn: role
                    .permissions_boundary
                    .and_then(|b| b.permissions_boundary_arn),
                attached_policy_arns: attached(role.attached_managed_policies),
                inline_policy_names,
                instance_profile_arns: role
                    .instance_profile_list
                    .into_iter()
                    .map(|p| p.arn)
                    .collect(),
                tags: tags(role.tags),
            });
        }

        for policy in details.policies {
            let arn = policy.arn;
            let aws_managed =
                arn.starts_with("arn:aws:iam::aws:") || arn.contains(":iam::aws:policy/");
            // AWS managed policies number over a thousand; only those in use, attached or
            // as a permissions boundary, say anything about the account.
            let in_use = policy.attachment_count.unwrap_or(0) > 0
                || policy.permissions_boundary_usage_count.unwrap_or(0) > 0;
            if aws_managed && !in_use {
                continue;
            }
            let name = policy
                .policy_name
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_owned());
            let mut versions = policy.policy_version_list;
            let default = versions
                .iter()
                .position(|v| v.is_default_version)
                .or_else(|| {
                    versions
                        .iter()
                        .position(|v| v.version_id == policy.default_version_id)
                });
            let document = default.and_then(|i| versions.swap_remove(i).document);
            let doc = rows.decode(&arn, document);
            if let Some(doc) = &doc {
                let make = template("managed", Some(&arn), &name, None);
                rows.statements(&arn, doc, make);
            }
            rows.policies.push(PolicyRow {
                policy_name: name,
                policy_id: policy.policy_id,
                arn,
                path: policy.path,
                aws_managed,
                default_version_id: policy.default_version_id,
                attachment_count: policy.attachment_count,
                permissions_boundary_usage_count: policy.permissions_boundary_usage_count,
                is_attachable: policy.is_attachable,
                create_date: policy.create_date,
                update_date: policy.update_date,
                description: policy.description,
                document: doc.as_ref().map(Value::to_string),
            });
        }
        rows
    }

    /// A decoded document, or `None` with the failure recorded against `object`.
    fn decode(&mut self, object: &str, document: Option<PolicyDocument>) -> Option<Value> {
        match document?.decode() {
            Ok(doc) => Some(doc),
            Err(error) => {
                self.errors.push((object.to_owned(), error.to_string()));
                None
            }
        }
    }

    /// The statement rows of one document; a document that does not parse is a row error.
    fn statements(
        &mut self,
        object: &str,
        doc: &Value,
        template: impl Fn(Statement) -> StatementRow,
    ) {
        match parse_statements(doc) {
            Ok(statements) => self.statements.extend(statements.into_iter().map(template)),
            Err(error) => self.errors.push((object.to_owned(), error.to_string())),
        }
    }

    /// Inline policies of one principal: rows for the inline table and their statements.
    fn inline_policies(
        &mut self,
        owner_type: &'static str,
        owner_name: &str,
        owner_arn: &str,
        policies: Vec<InlinePolicy>,
    ) {
        for policy in policies {
            let name = policy.policy_name;
            let object = format!("{owner_arn} inline policy {name}");
            let doc = self.decode(&object, policy.policy_document);
            if let Some(doc) = &doc {
                let make = template("inline", None, &name, Some((owner_type, owner_arn)));
                self.statements(&object, doc, make);
            }
            self.inline.push(InlinePolicyRow {
                owner_type,
                owner_name: owner_name.to_owned(),
                owner_arn: owner_arn.to_owned(),
                policy_name: name,
                document: doc.as_ref().map(Value::to_string),
            });
        }
    }

    /// Record the row errors and write every row to its table.
    pub async fn write(self, out: &mut SourceOutput) -> Result<(), ExtractError> {
        for (object, message) in self.errors {
            out.row_error(STATEMENTS, object, message);
        }
        write_table(out, USERS, &self.users).await?;
        write_table(out, GROUPS, &self.groups).await?;
        write_table(out, ROLES, &self.roles).await?;
        write_table(out, POLICIES, &self.policies).await?;
        write_table(out, INLINE_POLICIES, &self.inline).await?;
        write_table(out, STATEMENTS, &self.statements).await
    }
}

async fn write_table<T: serde::Serialize>(
    out: &mut SourceOutput,
    table: &str,
    rows: &[T],
) -> Result<(), ExtractError> {
    for chunk in rows.chunks(BATCH_ROWS) {
        out.rows(table, chunk).await?;
    }
    Ok(())
}

fn names(policies: &[InlinePolicy]) -> Vec<String> {
    policies.iter().map(|p| p.policy_name.clone()).collect()
}

fn attached(policies: Vec<AttachedPolicy>) -> Vec<String> {
    policies.into_iter().filter_map(|p| p.policy_arn).collect()
}

fn tags(tags: Vec<Tag>) -> BTreeMap<String, String> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

fn template(
    kind: &'static str,
    policy_arn: Option<&str>,
    policy_name: &str,
    owner: Option<(&'static str, &str)>,
) -> impl Fn(Statement) -> StatementRow {
    let policy_arn = policy_arn.map(str::to_owned);
    let policy_name = policy_name.to_owned();
    let owner = owner.map(|(t, arn)| (t, arn.to_owned()));
    move |statement| StatementRow {
        policy_kind: kind,
        policy_arn: policy_arn.clone(),
        policy_name: policy_name.clone(),
        owner_type: owner.as_ref().map(|(t, _)| *t),
        owner_arn: owner.as_ref().map(|(_, arn)| arn.clone()),
        statement,
    }
}
