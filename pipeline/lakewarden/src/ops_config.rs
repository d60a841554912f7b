//! The `[run]` section of the config: how a run shares the lake and how it stops.

use std::time::Duration;

use serde::Deserialize;

/// Lease and shutdown settings of every run, scheduled or not.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Seconds the lake's lease lasts without renewal. A live run renews it every third of
    /// this; a run that crashed blocks the next one for at most this long.
    pub lease_ttl_secs: u64,
    /// Seconds a run has, after SIGTERM or SIGINT, to reach a point where it can stop
    /// cleanly before its in-flight work is abandoned. Nothing is committed either way.
    pub shutdown_grace_secs: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            lease_ttl_secs: 300,
            shutdown_grace_secs: 30,
        }
    }
}

impl RunConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.lease_ttl_secs >= 3,
            "run.lease_ttl_secs must be at least 3"
        );
        Ok(())
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.lease_ttl_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_example_run_section_equals_the_defaults() {
        let text = include_str!("../../../lakewarden.example.toml");
        let config = Config::parse(text).expect("example config is valid");
        assert_eq!(config.run.lease_ttl_secs, 300);
        assert_eq!(config.run.shutdown_grace_secs, 30);
        let default = Config::default();
        assert_eq!(config.run.lease_ttl_secs, default.run.lease_ttl_secs);
        assert_eq!(
            config.run.shutdown_grace_secs,
            default.run.shutdown_grace_secs
        );
    }

    #[test]
    fn a_lease_shorter_than_three_seconds_or_an_unknown_field_is_refused() {
        let err = Config::parse("[run]\nlease_ttl_secs = 2\n").expect_err("too short");
        assert!(format!("{err:#}").contains("run.lease_ttl_secs"), "{err:#}");
        let err = Config::parse("[run]\ngrace = 2\n").expect_err("unknown field");
        assert!(format!("{err:#}").contains("grace"), "{err:#}");
        let config = Config::parse("[run]\nshutdown_grace_secs = 0\n").expect("zero grace");
        assert_eq!(config.run.shutdown_grace(), std::time::Duration::ZERO);
    }
}
