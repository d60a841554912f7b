//! Row types of the registry tables, shared by ECR and OCI registries; field names are the
//! column names in `schemas/`.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct RepositoryRow {
    pub registry_kind: &'static str,
    pub registry: String,
    pub repository_name: String,
    pub repository_uri: String,
    pub repository_arn: Option<String>,
    pub registry_id: Option<String>,
    pub created_at: Option<i64>,
    pub tag_mutability: Option<String>,
    pub scan_on_push: Option<bool>,
    pub scan_type: Option<String>,
    pub encryption_type: Option<String>,
    pub kms_key: Option<String>,
    pub policy: Option<String>,
    pub policy_public: Option<bool>,
    pub lifecycle_policy: Option<String>,
}

/// What the image config says, for the columns read from it. Environment values are
/// dropped when the config is parsed and never reach this type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageConfigColumns {
    pub image_created_at: Option<i64>,
    pub user: Option<String>,
    pub runs_as_root: Option<bool>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub exposed_ports: Option<Vec<String>>,
    pub env_names: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SeverityCounts {
    pub findings_critical: Option<i64>,
    pub findings_high: Option<i64>,
    pub findings_medium: Option<i64>,
    pub findings_low: Option<i64>,
    pub findings_informational: Option<i64>,
    pub findings_undefined: Option<i64>,
}

impl SeverityCounts {
    /// Counts from a severity → count map as ECR reports it. Severities absent from the
    /// map are 0 when the map exists at all: ECR lists only the severities it found.
    pub fn from_map<'a>(counts: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut out = Self {
            findings_critical: Some(0),
            findings_high: Some(0),
            findings_medium: Some(0),
            findings_low: Some(0),
            findings_informational: Some(0),
            findings_undefined: Some(0),
        };
        for (severity, n) in counts {
            let slot = match severity {
                "CRITICAL" => &mut out.findings_critical,
                "HIGH" => &mut out.findings_high,
                "MEDIUM" => &mut out.findings_medium,
                "LOW" => &mut out.findings_low,
                "INFORMATIONAL" => &mut out.findings_informational,
                _ => &mut out.findings_undefined,
            };
            *slot = Some(slot.unwrap_or(0) + n);
        }
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageRow {
    pub registry_kind: &'static str,
    pub registry: String,
    pub repository_name: String,
    pub image_digest: String,
    pub index_digest: Option<String>,
    pub tags: Vec<String>,
    pub pushed_at: Option<i64>,
    pub size_bytes: Option<i64>,
    pub media_type: Option<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub last_pulled_at: Option<i64>,
    pub scan_status: Option<String>,
    pub scan_status_description: Option<String>,
    #[serde(flatten)]
    pub counts: SeverityCounts,
    #[serde(flatten)]
    pub config: ImageConfigColumns,
    pub base_image_name: Option<String>,
    pub base_image_digest: Option<String>,
    pub layer_count: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub registry_kind: &'static str,
    pub registry: String,
    pub repository_name: String,
    pub image_digest: String,
    pub vulnerability_id: String,
    pub severity: Option<String>,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub fixed_version: Option<String>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub uri: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub finding_source: &'static str,
}

/// Whether a config `User` value means root: empty (the default), uid 0 or `root`, with or
/// without a group after a colon.
pub fn runs_as_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default().trim();
    name.is_empty() || name == "0" || name == "root"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_users_are_recognised_and_named_users_are_not() {
        for user in ["", "0", "root", "0:0", "root:staff", "0:1000"] {
            assert!(runs_as_root(user), "{user:?} is root");
        }
        for user in ["1000", "app", "nobody:nogroup", "1000:0", "rootless"] {
            assert!(!runs_as_root(user), "{user:?} is not root");
        }
    }

    #[test]
    fn absent_severities_count_zero_once_a_summary_exists() {
        let counts = SeverityCounts::from_map([("HIGH", 2), ("LOW", 1), ("UNDEFINED", 3)]);
        assert_eq!(counts.findings_critical, Some(0));
        assert_eq!(counts.findings_high, Some(2));
        assert_eq!(counts.findings_low, Some(1));
        assert_eq!(counts.findings_undefined, Some(3));
        assert_eq!(SeverityCounts::default().findings_high, None);
    }
}
