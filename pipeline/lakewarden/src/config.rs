//! The configuration file: one TOML document, every field defaulted, unknown fields refused.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub lake: LakeConfig,
    pub aws: AwsConfig,
    pub limits: LimitsConfig,
    pub scope: ScopeConfig,
    pub sources: SourcesConfig,
    pub run: crate::ops_config::RunConfig,
    pub jobs: lakewarden_jobs::JobsOptions,
}

/// Which accounts and regions a run reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeConfig {
    /// `"caller"`: the account the credentials belong to; `"organization"`: every active
    /// account of the AWS Organization (the management account included), through
    /// `AssumeRole` into `role_name`; or a list of account ids (assumed through
    /// `role_name`) and role ARNs (assumed as given).
    pub accounts: AccountsSpec,
    /// Role assumed in each account for `"organization"` and listed account ids.
    pub role_name: String,
    /// External id required by the roles' trust policies, if any.
    pub external_id: Option<String>,
    /// Session name of the assumed roles, as CloudTrail shows it.
    pub session_name: String,
    /// Regions read by regional sources: a list, or `"enabled"` for every region
    /// enabled in each account.
    pub regions: RegionsSpec,
    /// Account and region units extracted at once.
    pub concurrency: usize,
}

impl Default for ScopeConfig {
    fn default() -> Self {
        Self {
            accounts: AccountsSpec::Keyword("caller".to_owned()),
            role_name: "lakewarden-readonly".to_owned(),
            external_id: None,
            session_name: "lakewarden".to_owned(),
            regions: RegionsSpec::List(vec!["us-east-1".to_owned()]),
            concurrency: 4,
        }
    }
}

impl ScopeConfig {
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.concurrency > 0, "scope.concurrency must be at least 1");
        match &self.accounts {
            AccountsSpec::Keyword(word) => anyhow::ensure!(
                word == "caller" || word == "organization",
                "scope.accounts must be \"caller\", \"organization\" or a list, not {word:?}"
            ),
            AccountsSpec::List(items) => {
                anyhow::ensure!(!items.is_empty(), "scope.accounts is an empty list");
                for item in items {
                    anyhow::ensure!(
                        crate::scope::AccountTarget::parse(item, &self.role_name).is_some(),
                        "scope.accounts: {item:?} is neither a 12-digit account id nor a role ARN"
                    );
                }
            }
        }
        match &self.regions {
            RegionsSpec::Keyword(word) => anyhow::ensure!(
                word == "enabled",
                "scope.regions must be \"enabled\" or a list, not {word:?}"
            ),
            RegionsSpec::List(list) => {
                anyhow::ensure!(!list.is_empty(), "scope.regions is an empty list")
            }
        }
        Ok(())
    }
}

/// `accounts = "caller"`, `"organization"`, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AccountsSpec {
    Keyword(String),
    List(Vec<String>),
}

/// `regions = "enabled"` or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RegionsSpec {
    Keyword(String),
    List(Vec<String>),
}

/// Token-bucket rates per API call family, account and region.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Calls a second for API families without a published rate of their own.
    pub default_per_second: f64,
    /// Calls allowed at once before the rate applies.
    pub default_burst: f64,
    /// Overrides per family, keyed `service:Action`; a rate of 0 means unlimited.
    pub apis: std::collections::BTreeMap<String, RateConfig>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            default_per_second: 10.0,
            default_burst: 20.0,
            apis: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub per_second: f64,
    pub burst: f64,
}

/// Where and how the lake is written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// A local folder (`./lake`) or an S3 prefix (`s3://bucket/prefix`).
    pub url: String,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Rows after which a data file is closed and the next begun.
    pub file_rows: usize,
    /// zstd level, 1 to 22.
    pub zstd_level: i32,
}

impl Default for LakeConfig {
    fn default() -> Self {
        let writer = lakewarden_lake::WriterOptions::default();
        Self {
            url: "./lake".to_owned(),
            row_group_rows: writer.row_group_rows,
            file_rows: writer.file_rows,
            zstd_level: writer.zstd_level,
        }
    }
}

/// How the AWS SDK is set up. Credentials always come from the default chain
/// (environment, profile, web identity, container or instance role).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Named profile of the shared config files; unset uses the default chain.
    pub profile: Option<String>,
    /// Region for calls to global services such as IAM and STS; unset uses the
    /// environment or profile, then `us-east-1`.
    pub region: Option<String>,
    /// Attempts per API call, retrying throttling and transient errors with
    /// exponential backoff and jitter.
    pub max_attempts: u32,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            profile: None,
            region: None,
            max_attempts: 5,
        }
    }
}

/// Per-source settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    pub iam: IamConfig,
    pub config: ConfigSourceConfig,
    pub securityhub: SecurityHubConfig,
    pub registry: crate::registry_config::RegistryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IamConfig {
    pub enabled: bool,
    /// Seconds to wait for IAM to generate the credential report.
    pub credential_report_timeout_secs: u64,
    /// Per-user calls (access keys, MFA devices) in flight at once.
    pub concurrency: usize,
}

impl Default for IamConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            credential_report_timeout_secs: 300,
            concurrency: 8,
        }
    }
}

impl IamConfig {
    pub fn options(&self) -> lakewarden_extract::iam::IamOptions {
        lakewarden_extract::iam::IamOptions {
            credential_report_deadline: Duration::from_secs(self.credential_report_timeout_secs),
            concurrency: self.concurrency.max(1),
            ..Default::default()
        }
    }
}

/// The AWS Config source (`[sources.config]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigSourceConfig {
    /// Off by default: it needs a configuration recorder in each region, and listing every
    /// resource type costs about 530 calls per region.
    pub enabled: bool,
    /// Read through this configuration aggregator instead of each account's recorder.
    pub aggregator: Option<String>,
    /// The region holding the aggregator; required with `aggregator`, which is read
    /// there only.
    pub aggregator_region: Option<String>,
    /// Resource types to list (`AWS::S3::Bucket`); empty lists every type AWS Config has.
    pub resource_types: Vec<String>,
    /// Calls per batch read, counting the retries of keys AWS Config left unprocessed.
    pub batch_attempts: u32,
    /// Read rule compliance into `config_rule_compliance`.
    pub rule_compliance: bool,
}

impl Default for ConfigSourceConfig {
    fn default() -> Self {
        let options = lakewarden_extract::config::ConfigOptions::default();
        Self {
            enabled: false,
            aggregator: options.aggregator,
            aggregator_region: options.aggregator_region,
            resource_types: options.resource_types,
            batch_attempts: options.batch_attempts,
            rule_compliance: options.rule_compliance,
        }
    }
}

/// AWS Security Hub: findings, enabled standards and their controls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityHubConfig {
    /// Off by default: where Security Hub is not enabled the run would record it in every
    /// region it reads.
    pub enabled: bool,
    /// Seconds before the previous snapshot's newest `UpdatedAt` that an incremental pull
    /// starts from.
    pub overlap_secs: u64,
    /// Also read enabled standards and the controls of each.
    pub standards: bool,
    /// Pull every finding, ignoring the previous snapshot; set by `lakewarden run --full`.
    #[serde(skip)]
    pub full: bool,
}

impl Default for SecurityHubConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            overlap_secs: 3600,
            standards: true,
            full: false,
        }
    }
}

impl ConfigSourceConfig {
    pub fn options(&self) -> lakewarden_extract::config::ConfigOptions {
        lakewarden_extract::config::ConfigOptions {
            aggregator: self.aggregator.clone(),
            aggregator_region: self.aggregator_region.clone(),
            resource_types: self.resource_types.clone(),
            batch_attempts: self.batch_attempts.max(1),
            rule_compliance: self.rule_compliance,
            ..Default::default()
        }
    }
}

impl SecurityHubConfig {
    pub fn options(&self) -> lakewarden_extract::securityhub::SecurityHubOptions {
        lakewarden_extract::securityhub::SecurityHubOptions {
            overlap: Duration::from_secs(self.overlap_secs),
            full: self.full,
            standards: self.standards,
        }
    }
}

impl Config {
    /// Read a config file. A missing file is an error only when it was named explicitly;
    /// otherwise every default applies.
    pub fn load(path: &Path, explicit: bool) -> anyhow::Result<Self> {
        if !path.exists() && !explicit {
            return Ok(Self::default());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Config = toml::from_str(text)?;
        anyhow::ensure!(
            config.lake.row_group_rows > 0,
            "lake.row_group_rows must be positive"
        );
        anyhow::ensure!(config.lake.file_rows > 0, "lake.file_rows must be positive");
        anyhow::ensure!(
            (1..=22).contains(&config.lake.zstd_level),
            "lake.zstd_level must be between 1 and 22"
        );
        anyhow::ensure!(
            config.sources.config.aggregator.is_none()
                || config.sources.config.aggregator_region.is_some(),
            "sources.config.aggregator_region must name the region holding the aggregator"
        );
        anyhow::ensure!(
            config.aws.max_attempts > 0,
            "aws.max_attempts must be at least 1"
        );
        config.scope.validate()?;
        config.sources.registry.validate()?;
        config.run.validate()?;
        Ok(config)
    }

    pub fn writer_options(&self) -> lakewarden_lake::WriterOptions {
        lakewarden_lake::WriterOptions {
            row_group_rows: self.lake.row_group_rows,
            file_rows: self.lake.file_rows,
            zstd_level: self.lake.zstd_level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_equals_the_defaults() {
        let text = include_str!("../../../lakewarden.example.toml");
        let config = Config::parse(text).expect("example config is valid");
        let default = Config::default();
        assert_eq!(config.lake.url, default.lake.url);
        assert_eq!(config.lake.row_group_rows, default.lake.row_group_rows);
        assert_eq!(config.aws.max_attempts, default.aws.max_attempts);
        assert_eq!(
            config.sources.iam.concurrency,
            default.sources.iam.concurrency
        );
        assert_eq!(
            config.sources.config.enabled,
            default.sources.config.enabled
        );
        assert_eq!(
            config.sources.config.batch_attempts,
            default.sources.config.batch_attempts
        );
        assert_eq!(config.sources.config.aggregator, None);
        let (hub, hub_default) = (&config.sources.securityhub, &default.sources.securityhub);
        assert_eq!(
            (hub.enabled, hub.overlap_secs, hub.standards),
            (
                hub_default.enabled,
                hub_default.overlap_secs,
                hub_default.standards
            )
        );
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let err = Config::parse("[lake]\nurll = \"./x\"\n").expect_err("unknown field");
        assert!(format!("{err:#}").contains("urll"), "{err:#}");
    }

    #[test]
    fn scope_accepts_keywords_and_lists_and_names_bad_values() {
        let config = Config::parse(
            "[scope]\naccounts = [\"012345678901\", \"arn:aws:iam::111111111111:role/Audit\"]\nregions = \"enabled\"\n",
        )
        .expect("valid scope");
        assert_eq!(
            config.scope.accounts,
            AccountsSpec::List(vec![
                "012345678901".to_owned(),
                "arn:aws:iam::111111111111:role/Audit".to_owned()
            ])
        );
        assert_eq!(
            config.scope.regions,
            RegionsSpec::Keyword("enabled".to_owned())
        );
        let err = Config::parse("[scope]\naccounts = \"everything\"\n").expect_err("bad keyword");
        assert!(format!("{err:#}").contains("everything"), "{err:#}");
        let err = Config::parse("[scope]\naccounts = [\"12345\"]\n").expect_err("bad id");
        assert!(format!("{err:#}").contains("12345"), "{err:#}");
    }

    #[test]
    fn config_source_fields_are_read() {
        let config = Config::parse(
            "[sources.config]\nenabled = true\naggregator = \"org\"\n\
             aggregator_region = \"eu-west-1\"\n\
             resource_types = [\"AWS::S3::Bucket\"]\nbatch_attempts = 2\n",
        )
        .expect("valid");
        let options = config.sources.config.options();
        assert!(config.sources.config.enabled);
        assert_eq!(options.aggregator.as_deref(), Some("org"));
        assert_eq!(options.aggregator_region.as_deref(), Some("eu-west-1"));
        let err = Config::parse("[sources.config]\naggregator = \"org\"\n")
            .expect_err("an aggregator needs its region");
        assert!(format!("{err:#}").contains("aggregator_region"), "{err:#}");
        assert_eq!(options.resource_types, ["AWS::S3::Bucket"]);
        assert_eq!(options.batch_attempts, 2);
        assert!(options.rule_compliance);
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        assert!(Config::parse("[lake]\nzstd_level = 40\n").is_err());
        assert!(Config::parse("[aws]\nmax_attempts = 0\n").is_err());
    }
}
