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
