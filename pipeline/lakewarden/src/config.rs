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
    pub sources: SourcesConfig,
    pub run: crate::ops_config::RunConfig,
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
            config.aws.max_attempts > 0,
            "aws.max_attempts must be at least 1"
        );
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
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let err = Config::parse("[lake]\nurll = \"./x\"\n").expect_err("unknown field");
        assert!(format!("{err:#}").contains("urll"), "{err:#}");
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        assert!(Config::parse("[lake]\nzstd_level = 40\n").is_err());
        assert!(Config::parse("[aws]\nmax_attempts = 0\n").is_err());
    }
}
