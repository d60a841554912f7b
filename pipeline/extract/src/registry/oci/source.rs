//! The OCI registry source: for each configured registry, its repositories (from the
//! catalog or the config), their tags, and for each image its manifest and config.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tracing::Instrument;
use url::Url;

use super::auth::{OciAuth, Secret, docker_config_auth};
use super::client::{OciError, RegistryClient, RetryPolicy};
use super::link::next_link;
use super::manifest::{
    Descriptor, ImageManifest, MANIFEST_ACCEPT, Manifest, config_from_blob, is_attestation,
    parse_manifest, sha256_digest,
};
use crate::registry::rows::{ImageConfigColumns, ImageRow, RepositoryRow, SeverityCounts};
use crate::registry::{IMAGES, REPOSITORIES, TABLES};
use crate::{CoverageStatus, ExtractError, Scope, Source, SourceContext, SourceOutput};

const SOURCE: &str = "oci";
const KIND: &str = "oci";

/// Where a registry's credentials come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OciCredentials {
    #[default]
    Anonymous,
    /// A user name and a password given in the config.
    Basic { username: String, password: Secret },
    /// A user name, and the password in an environment variable read at run time.
    BasicFromEnv { username: String, env: String },
    /// The `auths` entry for the registry host in a Docker `config.json`.
    DockerConfig { path: String },
}

/// One configured registry.
#[derive(Debug, Clone)]
pub struct OciRegistry {
    /// Base URL, such as `https://ghcr.io` or `http://127.0.0.1:5000`.
    pub url: String,
    /// Repositories to read; empty reads the registry's catalog (`/v2/_catalog`), which
    /// many public registries disable.
    pub repositories: Vec<String>,
    pub credentials: OciCredentials,
}

/// Settings shared by every registry.
#[derive(Debug, Clone)]
pub struct OciOptions {
    /// Manifest and config requests in flight at once, per registry.
    pub concurrency: usize,
    /// Attempts per request on 429, 5xx and connection failures.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// Entries asked for per catalog or tag-list page (`n`).
    pub page_size: u32,
}

impl Default for OciOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            page_size: 100,
        }
    }
}

impl OciOptions {
    /// How a request is retried.
    pub(crate) fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
        }
    }
}

/// The OCI registry source.
#[derive(Debug, Clone, Default)]
pub struct OciSource {
    registries: Vec<OciRegistry>,
    options: OciOptions,
}

impl OciSource {
    pub fn new(registries: Vec<OciRegistry>, options: OciOptions) -> Self {
        Self {
            registries,
            options,
        }
    }
}

#[async_trait]
impl Source for OciSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn scope(&self) -> Scope {
        Scope::Once
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    async fn extract(
        &self,
        _ctx: &SourceContext,
        out: &mut SourceOutput,
    ) -> Result<(), ExtractError> {
        for registry in &self.registries {
            let span = tracing::info_span!("registry", registry = %registry.url);
            read_registry(registry, &self.options, out)
                .instrument(span)
                .await?;
        }
        Ok(())
    }
}

/// What one registry gave, before it is written.
#[derive(Debug, Default)]
struct Collected {
    repositories: Vec<RepositoryRow>,
    images: Vec<ImageRow>,
    /// Repositories or images skipped, with why.
    skipped: Vec<Skipped>,
}

/// Read one registry and write its rows; a registry that cannot be read is a coverage
/// row, and the other registries go on. Only a lake write error is returned.
async fn read_registry(
    registry: &OciRegistry,
    options: &OciOptions,
    out: &mut SourceOutput,
) -> Result<(), ExtractError> {
    let api = format!("registry:{}", registry.url);
    let client = match connect(registry, options) {
        Ok(client) => client,
        Err(message) => {
            tracing::warn!(registry = %registry.url, error = %message, "Registry not read");
            out.coverage(&api, CoverageStatus::Error, Some(message), 0, TABLES);
            return Ok(());
        }
    };
    let api = format!("registry:{}", client.host());
    match collect(&client, registry, options).await {
        Ok(collected) => {
            for (object, message) in &collected.skipped {
                out.row_error(
                    IMAGES,
                    format!("{}/{object}", client.host()),
                    message.clone(),
                );
            }
            out.rows(REPOSITORIES, &collected.repositories).await?;
            out.rows(IMAGES, &collected.images).await?;
            let message = client
                .first_retry_reason()
                .map(|reason| format!("{} requests retried, first for {reason}", client.retries()));
            tracing::info!(
                registry = %client.host(),
                repositories = collected.repositories.len(),
                images = collected.images.len(),
                skipped = collected.skipped.len(),
                calls = client.calls(),
                retries = client.retries(),
                "Registry read"
            );
            out.coverage(&api, CoverageStatus::Ok, message, client.calls(), TABLES);
        }
        Err(error) => {
            let status = match &error {
                OciError::Unauthorized { .. } => CoverageStatus::AccessDenied,
                OciError::Status { status: 429, .. } => CoverageStatus::Throttled,
                _ => CoverageStatus::Error,
            };
            tracing::warn!(registry = %client.host(), %error, "Registry not read; the other registries go on");
            out.coverage(
                &api,
                status,
                Some(error.to_string()),
                client.calls(),
                TABLES,
            );
        }
    }
    Ok(())
}

fn connect(registry: &OciRegistry, options: &OciOptions) -> Result<RegistryClient, String> {
    let base =
        Url::parse(&registry.url).map_err(|e| format!("registry URL {}: {e}", registry.url))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "registry URL {}: the scheme must be http or https",
            registry.url
        ));
    }
    let host = match (base.host_str(), base.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err(format!("registry URL {} has no host", registry.url)),
    };
    let auth = resolve_credentials(&registry.credentials, &host)?;
    RegistryClient::new(base, auth, options.retry(), options.timeout).map_err(|e| e.to_string())
}

/// The credentials to use for a host. Messages name the variable or file, never a value.
fn resolve_credentials(credentials: &OciCredentials, host: &str) -> Result<OciAuth, String> {
    match credentials {
        OciCredentials::Anonymous => Ok(OciAuth::Anonymous),
        OciCredentials::Basic { username, password } => Ok(OciAuth::Basic {
            username: username.clone(),
            password: password.clone(),
        }),
        OciCredentials::BasicFromEnv { username, env } => match std::env::var(env) {
            Ok(password) if !password.is_empty() => Ok(OciAuth::Basic {
                username: username.clone(),
                password: Secret::new(password),
            }),
            _ => Err(format!(
                "registry {host}: the environment variable {env} holding the password is not set"
            )),
        },
        OciCredentials::DockerConfig { path } => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("registry {host}: Docker config {path}: {e}"))?;
            match docker_config_auth(path, &text, host).map_err(|e| e.to_string())? {
                Some(auth) => Ok(auth),
                None => Err(format!(
                    "registry {host}: Docker config {path} has no credentials for the host"
                )),
            }
        }
    }
}

async fn collect(
    client: &RegistryClient,
    registry: &OciRegistry,
    options: &OciOptions,
) -> Result<Collected, OciError> {
    let names = if registry.repositories.is_empty() {
        catalog(client, options.page_size).await?
    } else {
        registry.repositories.clone()
    };
    let mut collected = Collected::default();
    for name in names {
        let tags = match tags(client, &name, options.page_size).await {
            Ok(tags) => tags,
            // A repository listed in the catalog but gone since, or a configured name that
            // does not exist, is skipped; an authentication failure ends the registry.
            Err(error @ OciError::Unauthorized { .. }) => return Err(error),
            Err(error) => {
                collected.skipped.push((name.clone(), error.to_string()));
                continue;
            }
        };
        collected.repositories.push(RepositoryRow {
            registry_kind: KIND,
            registry: client.host().to_owned(),
            repository_uri: format!("{}/{name}", client.host()),
            repository_name: name.clone(),
            repository_arn: None,
            registry_id: None,
            created_at: None,
            tag_mutability: None,
            scan_on_push: None,
            scan_type: None,
            encryption_type: None,
            kms_key: None,
            policy: None,
            policy_public: None,
            lifecycle_policy: None,
        });
        let (images, skipped) = images(client, &name, &tags, options.concurrency).await?;
        collected.images.extend(images);
        collected.skipped.extend(skipped);
    }
    Ok(collected)
}

#[derive(serde::Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// Follow `Link: <...>; rel="next"` pages, refusing a link already followed.
async fn paged<T: serde::de::DeserializeOwned>(
    client: &RegistryClient,
    first: &str,
    scope: &str,
    mut each: impl FnMut(T),
) -> Result<(), OciError> {
    let mut url = client.url(first)?;
    let mut seen = std::collections::HashSet::new();
    loop {
        let page = client.get(&url, scope, "application/json").await?;
        let parsed: T = serde_json::from_slice(&page.body).map_err(|e| OciError::Invalid {
            url: url.to_string(),
            message: format!("not a listing page: {e}"),
        })?;
        each(parsed);
        let next = page
            .headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link);
        let Some(next) = next else {
            return Ok(());
        };
        let next_url = page.url.join(&next).map_err(|e| OciError::Invalid {
            url: next.clone(),
            message: format!("the next-page link is not a URL: {e}"),
        })?;
        if !seen.insert(next_url.to_string()) {
            return Err(OciError::Invalid {
                url: next_url.to_string(),
                message: "the registry sent the same next-page link twice".to_owned(),
            });
        }
        url = next_url;
    }
}

async fn catalog(client: &RegistryClient, page_size: u32) -> Result<Vec<String>, OciError> {
    let mut names = Vec::new();
    paged(
        client,
        &format!("/v2/_catalog?n={page_size}"),
        "registry:catalog:*",
        |page: CatalogPage| names.extend(page.repositories.unwrap_or_default()),
    )
    .await?;
    names.sort();
    names.dedup();
    Ok(names)
}

async fn tags(
    client: &RegistryClient,
    name: &str,
    page_size: u32,
) -> Result<Vec<String>, OciError> {
    let mut tags = Vec::new();
    paged(
        client,
        &format!("/v2/{name}/tags/list?n={page_size}"),
        &pull_scope(name),
        |page: TagsPage| tags.extend(page.tags.unwrap_or_default()),
    )
    .await?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

fn pull_scope(name: &str) -> String {
    format!("repository:{name}:pull")
}

/// An object skipped (`repo:tag`, `repo@digest`) and why.
type Skipped = (String, String);

/// A manifest fetched, or why it could not be used (`Ok(Err)`: skip it), or an error that
/// ends the registry.
type ManifestOutcome = Result<Result<Fetched, String>, OciError>;

/// An image row, or the image skipped, or an error that ends the registry.
type RowOutcome = Result<Result<ImageRow, Skipped>, OciError>;

/// A manifest fetched by tag or digest, with its digest.
struct Fetched {
    digest: String,
    manifest: Manifest,
}

async fn fetch_manifest(client: &RegistryClient, name: &str, reference: &str) -> ManifestOutcome {
    let url = client.url(&format!("/v2/{name}/manifests/{reference}"))?;
    let fetched = client.get(&url, &pull_scope(name), MANIFEST_ACCEPT).await?;
    let computed = sha256_digest(&fetched.body);
    // By digest, the bytes must hash to it; by tag, the registry's digest header (which
    // it computes the same way) is checked against the bytes when it is sha256.
    let claimed = if reference.contains(':') {
        Some(reference.to_owned())
    } else {
        fetched
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(claimed) = &claimed
        && claimed.starts_with("sha256:")
        && *claimed != computed
    {
        return Ok(Err(format!(
            "manifest {reference}: the content hashes to {computed}, not {claimed}"
        )));
    }
    let content_type = fetched
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Ok(parse_manifest(content_type, &fetched.body)
        .map(|manifest| Fetched {
            digest: claimed.unwrap_or(computed),
            manifest,
        })
        .map_err(|e| format!("manifest {reference}: {e}")))
}

/// Every image of a repository: manifests by tag (grouped by digest, so an image with
/// several tags is one row), each index's platform manifests, and each image's config.
///
/// Limitation: images no tag points at are not listed, because the Distribution API has
/// no way to enumerate a repository's manifests other than through its tags.
async fn images(
    client: &RegistryClient,
    name: &str,
    tags: &[String],
    concurrency: usize,
) -> Result<(Vec<ImageRow>, Vec<Skipped>), OciError> {
    let mut skipped = Vec::new();
    let fetched: Vec<(String, ManifestOutcome)> = futures::stream::iter(tags.iter().cloned())
        .map(|tag| async move {
            let result = fetch_manifest(client, name, &tag).await;
            (tag, result)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut by_digest: BTreeMap<String, (Manifest, Vec<String>)> = BTreeMap::new();
    for (tag, result) in fetched {
        match result {
            Ok(Ok(f)) => by_digest
                .entry(f.digest)
                .or_insert_with(|| (f.manifest, Vec::new()))
                .1
                .push(tag),
            Ok(Err(message)) => skipped.push((format!("{name}:{tag}"), message)),
            Err(error @ OciError::Unauthorized { .. }) => return Err(error),
            // A tag deleted between the listing and the fetch.
            Err(error) if error.is_not_found() => {}
            Err(error) => skipped.push((format!("{name}:{tag}"), error.to_string())),
        }
    }

    // Every platform image to read: (digest, manifest if already fetched, index entry).
    let mut work = Vec::new();
    for (digest, (manifest, tags)) in by_digest {
        match manifest {
            Manifest::Image(image) => work.push(Work {
                digest,
                index: None,
                entry: None,
                manifest: Some(image),
                tags,
            }),
            Manifest::Index(index) => {
                for entry in index.manifests.into_iter().filter(|e| !is_attestation(e)) {
                    work.push(Work {
                        digest: entry.digest.clone(),
                        index: Some((digest.clone(), index.media_type.clone())),
                        entry: Some(entry),
                        manifest: None,
                        tags: tags.clone(),
                    });
                }
            }
        }
    }
    let results: Vec<RowOutcome> = futures::stream::iter(work)
        .map(|item| image_row(client, name, item))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut rows = Vec::new();
    for result in results {
        match result? {
            Ok(row) => rows.push(row),
            Err(skip) => skipped.push(skip),
        }
    }
    Ok((rows, skipped))
}

struct Work {
    digest: String,
    /// The index digest and media type, for a platform entry of an index.
    index: Option<(String, String)>,
    entry: Option<Descriptor>,
    manifest: Option<ImageManifest>,
    tags: Vec<String>,
}

/// One image row. An image whose manifest or config cannot be read is skipped with why;
/// only an authentication failure is an error for the whole registry.
async fn image_row(client: &RegistryClient, name: &str, item: Work) -> RowOutcome {
    let object = format!("{name}@{}", item.digest);
    let skip = |message: String| Ok(Err((object.clone(), message)));
    let manifest = match item.manifest {
        Some(manifest) => manifest,
        None => match fetch_manifest(client, name, &item.digest).await {
            Ok(Ok(Fetched {
                manifest: Manifest::Image(image),
                ..
            })) => image,
            Ok(Ok(_)) => return skip("an index entry is itself an index".to_owned()),
            Ok(Err(message)) => return skip(message),
            Err(error @ OciError::Unauthorized { .. }) => return Err(error),
            Err(error) => return skip(error.to_string()),
        },
    };
    let url = client.url(&format!("/v2/{name}/blobs/{}", manifest.config.digest))?;
    let config = match client.get(&url, &pull_scope(name), "").await {
        Ok(blob) => match config_from_blob(&manifest.config.digest, &blob.body) {
            Ok(config) => config,
            Err(message) => return skip(message),
        },
        Err(error @ OciError::Unauthorized { .. }) => return Err(error),
        Err(error) => return skip(error.to_string()),
    };
    let platform = item.entry.as_ref().and_then(|e| e.platform.clone());
    let pick = |from_entry: Option<String>, from_config: Option<String>| {
        from_entry.or(from_config).filter(|v| !v.is_empty())
    };
    let (os, architecture, variant) = match platform {
        Some(p) => (
            pick(p.os, config.platform.os.clone()),
            pick(p.architecture, config.platform.architecture.clone()),
            pick(p.variant, config.platform.variant.clone()),
        ),
        None => (
            config.platform.os.clone(),
            config.platform.architecture.clone(),
            config.platform.variant.clone().filter(|v| !v.is_empty()),
        ),
    };
    let columns: ImageConfigColumns = config.columns;
    Ok(Ok(ImageRow {
        registry_kind: KIND,
        registry: client.host().to_owned(),
        repository_name: name.to_owned(),
        image_digest: item.digest,
        index_digest: item.index.map(|(digest, _)| digest),
        tags: item.tags,
        pushed_at: None,
        size_bytes: manifest.size(),
        media_type: Some(manifest.media_type.clone()),
        os,
        architecture,
        variant,
        last_pulled_at: None,
        scan_status: None,
        scan_status_description: None,
        counts: SeverityCounts::default(),
        config: columns,
        base_image_name: manifest.base_image_name(),
        base_image_digest: manifest.base_image_digest(),
        layer_count: i32::try_from(manifest.layers.len()).ok(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_resolve_from_the_environment_without_showing_values() {
        let env = "LAKEWARDEN_TEST_OCI_PASSWORD_UNSET_7F3A";
        let missing = OciCredentials::BasicFromEnv {
            username: "u".to_owned(),
            env: env.to_owned(),
        };
        let err = resolve_credentials(&missing, "r.example").expect_err("unset");
        assert_eq!(
            err,
            format!(
                "registry r.example: the environment variable {env} holding the password is \
                 not set"
            )
        );
        let path = std::env::temp_dir().join("lakewarden-oci-docker-config-test.json");
        std::fs::write(&path, r#"{"auths":{"r.example":{"auth":"dTpzM2NyM3Q="}}}"#)
            .expect("written");
        let from_file = OciCredentials::DockerConfig {
            path: path.display().to_string(),
        };
        assert_eq!(
            resolve_credentials(&from_file, "r.example").expect("found"),
            OciAuth::Basic {
                username: "u".to_owned(),
                password: Secret::new("s3cr3t"),
            }
        );
        let err = resolve_credentials(&from_file, "other.example").expect_err("no entry");
        assert!(err.contains("has no credentials for the host"), "{err}");
        std::fs::remove_file(&path).expect("removed");
    }
}
