//! The `[sources.registry]` section: Amazon ECR, and the OCI registries to read.

use std::time::Duration;

use lakewarden_extract::registry::oci::OciCredentials;
use lakewarden_extract::registry::{EcrSource, OciOptions, OciRegistry, OciSource, Secret};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Read Amazon ECR (repositories, images, scan findings) in the run's account and
    /// region. Off by default: it costs a call per image with a scan, and accounts
    /// without ECR would only add empty snapshots.
    pub ecr: bool,
    /// Manifest and config requests in flight at once, per OCI registry; for ECR, image
    /// config downloads in flight per account and region.
    pub concurrency: usize,
    /// Attempts per OCI registry request or ECR config download on HTTP 429, 5xx and
    /// connection failures, waiting with exponential backoff or as long as `Retry-After`
    /// asks (at most `max_backoff_secs`).
    pub max_attempts: u32,
    pub max_backoff_secs: u64,
    /// Timeout of one OCI registry request or ECR config download, in seconds.
    pub timeout_secs: u64,
    /// Entries asked for per page of an OCI catalog or tag list; registries may send
    /// fewer and page on with `Link` headers.
    pub page_size: u32,
    /// The OCI registries to read, each a `[[sources.registry.oci]]` table.
    pub oci: Vec<OciRegistryConfig>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            ecr: false,
            concurrency: 4,
            max_attempts: 4,
            max_backoff_secs: 30,
            timeout_secs: 60,
            page_size: 100,
            oci: Vec::new(),
        }
    }
}

/// One OCI registry. Credentials: none (anonymous, with anonymous bearer tokens where the
/// registry hands them out), `username` with `password` or `password_env`, or
/// `docker_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OciRegistryConfig {
    /// Base URL: `https://ghcr.io`, `https://registry-1.docker.io`,
    /// `http://127.0.0.1:5000` (plain HTTP only for registries on a trusted network).
    pub url: String,
    /// Repositories to read. Empty reads the registry's catalog, which Docker Hub, GHCR
    /// and many others do not serve: name the repositories for those.
    pub repositories: Vec<String>,
    pub username: Option<String>,
    /// The password or token itself. Prefer `password_env`, which keeps it out of the file.
    pub password: Option<Secret>,
    /// Name of the environment variable holding the password, read at run time.
    pub password_env: Option<String>,
    /// Path of a Docker `config.json` whose `auths` entry for the registry host holds
    /// the credentials.
    pub docker_config: Option<String>,
}

impl RegistryConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.max_attempts > 0,
            "sources.registry.max_attempts must be at least 1"
        );
        for (i, registry) in self.oci.iter().enumerate() {
            let at = format!("sources.registry.oci[{i}]");
            let url = url::Url::parse(&registry.url)
                .map_err(|e| anyhow::anyhow!("{at}.url {:?}: {e}", registry.url))?;
            anyhow::ensure!(
                matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
                "{at}.url {:?} must be an http or https URL with a host",
                registry.url
            );
            anyhow::ensure!(
                url.username().is_empty() && url.password().is_none(),
                "{at}.url must not hold credentials: use username with password_env, or \
                 docker_config"
            );
            let sources = [
                registry.password.is_some(),
                registry.password_env.is_some(),
                registry.docker_config.is_some(),
            ];
            anyhow::ensure!(
                sources.iter().filter(|s| **s).count() <= 1,
                "{at}: set at most one of password, password_env and docker_config"
            );
            anyhow::ensure!(
                registry.username.is_some()
                    || (registry.password.is_none() && registry.password_env.is_none()),
                "{at}: a password needs a username"
            );
        }
        Ok(())
    }

    pub fn oci_source(&self) -> OciSource {
        let registries = self
            .oci
            .iter()
            .map(|r| OciRegistry {
                url: r.url.trim_end_matches('/').to_owned(),
                repositories: r.repositories.clone(),
                credentials: r.credentials(),
            })
            .collect();
        OciSource::new(registries, self.options())
    }

    /// The Amazon ECR source, which downloads image configs with the same options.
    pub fn ecr_source(&self) -> EcrSource {
        EcrSource::new(self.options())
    }

    fn options(&self) -> OciOptions {
        OciOptions {
            concurrency: self.concurrency.max(1),
            max_attempts: self.max_attempts,
            max_backoff: Duration::from_secs(self.max_backoff_secs),
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
            page_size: self.page_size.max(1),
            ..OciOptions::default()
        }
    }
}

impl OciRegistryConfig {
    fn credentials(&self) -> OciCredentials {
        if let Some(path) = &self.docker_config {
            return OciCredentials::DockerConfig { path: path.clone() };
        }
        let username = self.username.clone().unwrap_or_default();
        match (&self.password, &self.password_env) {
            (Some(password), _) => OciCredentials::Basic {
                username,
                password: password.clone(),
            },
            (None, Some(env)) => OciCredentials::BasicFromEnv {
                username,
                env: env.clone(),
            },
            (None, None) => OciCredentials::Anonymous,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn oci_registries_parse_with_their_credentials() {
        let config = Config::parse(
            r#"
[sources.registry]
ecr = true
[[sources.registry.oci]]
url = "http://127.0.0.1:5000/"
[[sources.registry.oci]]
url = "https://ghcr.io"
repositories = ["octo/app"]
username = "octo"
password_env = "GHCR_TOKEN"
"#,
        )
        .expect("valid");
        let registry = &config.sources.registry;
        assert!(registry.ecr);
        assert_eq!(registry.oci.len(), 2);
        assert_eq!(registry.oci[1].repositories, ["octo/app"]);
        let debug = format!(
            "{:?}",
            Config::parse(
                "[[sources.registry.oci]]\nurl = \"https://r.example\"\nusername = \"u\"\npassword = \"s3cr3t-value\"\n"
            )
            .expect("valid")
        );
        assert!(!debug.contains("s3cr3t-value"), "{debug}");
    }

    #[test]
    fn conflicting_or_incomplete_registry_settings_are_refused() {
        let both = "[[sources.registry.oci]]\nurl = \"https://r.example\"\nusername = \"u\"\npassword = \"p\"\npassword_env = \"P\"\n";
        assert!(format!("{:#}", Config::parse(both).expect_err("two")).contains("at most one"));
        let no_user =
            "[[sources.registry.oci]]\nurl = \"https://r.example\"\npassword_env = \"P\"\n";
        assert!(format!("{:#}", Config::parse(no_user).expect_err("user")).contains("username"));
        let bad_url = "[[sources.registry.oci]]\nurl = \"ftp://r.example\"\n";
        assert!(format!("{:#}", Config::parse(bad_url).expect_err("url")).contains("oci[0]"));
        let userinfo = "[[sources.registry.oci]]\nurl = \"https://u:hunter2@r.example\"\n";
        let err = format!("{:#}", Config::parse(userinfo).expect_err("userinfo"));
        assert!(
            err.contains("must not hold credentials") && !err.contains("hunter2"),
            "{err}"
        );
        let unknown = "[[sources.registry.oci]]\nurl = \"https://r.example\"\ninsecure = true\n";
        assert!(format!("{:#}", Config::parse(unknown).expect_err("field")).contains("insecure"));
    }
}
