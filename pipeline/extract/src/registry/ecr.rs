//! Amazon ECR through the AWS SDK: repositories with their policies, images with their
//! scan summaries, and scan findings (basic and enhanced), for one account and region.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{
    EnhancedImageScanFinding, ImageDetail, ImageIdentifier, ImageScanFinding, Repository,
};
use futures::StreamExt;
use url::Url;

use super::oci::client::{RegistryClient, without_query};
use super::oci::manifest::{
    DOCKER_LIST, DOCKER_MANIFEST, ImageConfig, Manifest, OCI_INDEX, OCI_MANIFEST, config_from_blob,
    is_attestation, parse_manifest,
};
use super::oci::{OciAuth, OciOptions};
use super::public::policy_public;
use super::rows::{FindingRow, ImageConfigColumns, ImageRow, RepositoryRow, SeverityCounts};
use super::{FINDINGS, IMAGES, REPOSITORIES, TABLES};
use crate::{
    CoverageStatus, ExtractError, Scope, Source, SourceContext, SourceOutput, TokenGuard,
    api_error, error_code, millis,
};

const SOURCE: &str = "ecr";
const KIND: &str = "ecr";

/// Every ECR action the source calls: the read-only policy in `deploy/` must allow each.
pub const ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRegistryScanningConfiguration",
    "ecr:GetRepositoryPolicy",
];

/// ECR's default quotas for these reads are 1 000 (DescribeRepositories) down to 20
/// (DescribeImageScanFindings) calls a second per account and region; these keep a run
/// well inside them while other tools share the quota.
const RATES: &[(&str, crate::Rate)] = &[
    ("ecr:DescribeRepositories", crate::Rate::new(10.0, 20.0)),
    ("ecr:DescribeImages", crate::Rate::new(10.0, 20.0)),
    ("ecr:BatchGetImage", crate::Rate::new(10.0, 20.0)),
    ("ecr:DescribeImageScanFindings", crate::Rate::new(5.0, 10.0)),
    ("ecr:GetRepositoryPolicy", crate::Rate::new(10.0, 20.0)),
    ("ecr:GetLifecyclePolicy", crate::Rate::new(10.0, 20.0)),
    ("ecr:GetDownloadUrlForLayer", crate::Rate::new(10.0, 20.0)),
    (
        "ecr:GetRegistryScanningConfiguration",
        crate::Rate::new(1.0, 1.0),
    ),
];

/// The ECR source.
///
/// Manifests come from `BatchGetImage` (a call per 100 images): layer counts, base-image
/// annotations, and the platforms of multi-platform indexes, whose platform images ECR
/// lists as untagged images of their own. Each image's config blob (user, entrypoint,
/// environment names, labels) is downloaded from the URL `GetDownloadUrlForLayer` hands
/// out for the config digest, with the retries, concurrency and timeout of the options.
#[derive(Debug, Clone, Default)]
pub struct EcrSource {
    options: OciOptions,
}

impl EcrSource {
    pub fn new(options: OciOptions) -> Self {
        Self { options }
    }
}

#[async_trait]
impl Source for EcrSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn scope(&self) -> Scope {
        Scope::Regional
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn rates(&self) -> &'static [(&'static str, crate::Rate)] {
        RATES
    }

    async fn extract(
        &self,
        ctx: &SourceContext,
        out: &mut SourceOutput,
    ) -> Result<(), ExtractError> {
        let client = Client::new(&ctx.sdk);
        extract_with(&client, ctx, &self.options, out).await
    }
}

/// Calls and the first failure of one API family, for its coverage row.
#[derive(Debug, Default)]
pub(crate) struct Family {
    pub(crate) calls: u32,
    failure: Option<ExtractError>,
}

impl Family {
    fn fail(&mut self, error: ExtractError) {
        self.failure.get_or_insert(error);
    }

    fn record(self, out: &mut SourceOutput, api: &str, tables: &[&str]) {
        match self.failure {
            None => out.coverage(api, CoverageStatus::Ok, None, self.calls, tables),
            Some(error) => {
                tracing::warn!(source = SOURCE, api, %error, "API call family failed");
                out.coverage(
                    api,
                    error.coverage_status(),
                    Some(error.to_string()),
                    self.calls,
                    tables,
                );
            }
        }
    }
}

#[derive(Debug, Default)]
struct Families {
    scanning: Family,
    repositories: Family,
    policy: Family,
    lifecycle: Family,
    images: Family,
    manifests: Family,
    configs: Family,
    findings: Family,
}

pub(crate) async fn extract_with(
    client: &Client,
    ctx: &SourceContext,
    options: &OciOptions,
    out: &mut SourceOutput,
) -> Result<(), ExtractError> {
    let mut f = Families::default();
    // One HTTP client for every config download of the account and region, made when
    // the first is needed.
    let mut http: Option<RegistryClient> = None;
    let scan_type = scanning_configuration(client, ctx, &mut f.scanning).await;

    let repositories = match repositories(client, ctx, &mut f.repositories).await {
        Ok(repositories) => repositories,
        Err(error) => {
            for table in TABLES {
                out.fail_table(table, error.to_string());
            }
            f.repositories.fail(error);
            f.scanning
                .record(out, "GetRegistryScanningConfiguration", &[REPOSITORIES]);
            f.repositories.record(out, "DescribeRepositories", TABLES);
            return Ok(());
        }
    };

    for repository in &repositories {
        let name = repository.repository_name().unwrap_or_default().to_owned();
        let row = repository_row(client, ctx, &mut f, repository, scan_type.clone()).await;
        out.rows(REPOSITORIES, &[row]).await?;

        let images = match images(client, ctx, &mut f.images, &name).await {
            Ok(images) => images,
            Err(error) => {
                // Without the repository's images neither table is a full snapshot.
                out.fail_table(IMAGES, error.to_string());
                out.fail_table(FINDINGS, error.to_string());
                f.images.fail(error);
                continue;
            }
        };
        let registry = registry_host(repository);
        let mut rows: Vec<ImageRow> = Vec::with_capacity(images.len());
        for image in &images {
            let mut row = image_row(&registry, &name, image);
            if out.is_failed(FINDINGS) {
                rows.push(row);
                continue;
            }
            match findings(
                client,
                ctx,
                &mut f.findings,
                &registry,
                &name,
                &row.image_digest,
            )
            .await
            {
                Ok(scan) => {
                    scan.complete(&mut row);
                    out.rows(FINDINGS, &scan.rows).await?;
                }
                Err(error) => {
                    out.fail_table(FINDINGS, error.to_string());
                    f.findings.fail(error);
                }
            }
            rows.push(row);
        }
        let digests: Vec<String> = rows.iter().map(|r| r.image_digest.clone()).collect();
        match manifests(client, ctx, &mut f.manifests, &name, &digests).await {
            Ok((manifests, skipped)) => {
                for (digest, message) in skipped {
                    out.row_error(IMAGES, format!("{registry}/{name}@{digest}"), message);
                }
                rows = apply_manifests(rows, &manifests);
                let mut wanted = Vec::new();
                for (i, row) in rows.iter().enumerate() {
                    match manifests.get(&row.image_digest) {
                        Some(Manifest::Image(manifest)) => {
                            wanted.push((i, manifest.config.digest.clone()));
                        }
                        Some(Manifest::Index(_)) => {}
                        None => out.row_error(
                            IMAGES,
                            format!("{registry}/{name}@{}", row.image_digest),
                            "config not read: BatchGetImage returned no manifest for the image",
                        ),
                    }
                }
                if !wanted.is_empty() && http.is_none() {
                    http = config_client(&registry, ctx, options, &mut f.configs);
                }
                let reads = match &http {
                    Some(http) => {
                        let target = ConfigTarget {
                            http,
                            repository: &name,
                            registry_id: repository.registry_id(),
                            concurrency: options.concurrency,
                        };
                        image_configs(client, ctx, &mut f.configs, &target, wanted).await
                    }
                    None => Vec::new(),
                };
                for (i, read) in reads {
                    match read {
                        ConfigRead::Read(config) => apply_config(&mut rows[i], *config),
                        ConfigRead::Unread(message) => out.row_error(
                            IMAGES,
                            format!("{registry}/{name}@{}", rows[i].image_digest),
                            message,
                        ),
                    }
                }
            }
            Err(error) => f.manifests.fail(error),
        }
        out.rows(IMAGES, &rows).await?;
    }

    f.scanning
        .record(out, "GetRegistryScanningConfiguration", &[REPOSITORIES]);
    f.repositories
        .record(out, "DescribeRepositories", &[REPOSITORIES]);
    f.policy.record(out, "GetRepositoryPolicy", &[REPOSITORIES]);
    f.lifecycle
        .record(out, "GetLifecyclePolicy", &[REPOSITORIES]);
    f.images.record(out, "DescribeImages", &[IMAGES]);
    f.manifests.record(out, "BatchGetImage", &[IMAGES]);
    f.configs.record(out, "GetDownloadUrlForLayer", &[IMAGES]);
    f.findings
        .record(out, "DescribeImageScanFindings", &[FINDINGS]);
    tracing::info!(
        source = SOURCE,
        account_id = %ctx.account_id,
        region = %ctx.region,
        repositories = repositories.len(),
        "ECR read"
    );
    Ok(())
}

/// `BASIC` or `ENHANCED`; `None` when the configuration could not be read.
async fn scanning_configuration(
    client: &Client,
    ctx: &SourceContext,
    family: &mut Family,
) -> Option<String> {
    ctx.acquire("ecr:GetRegistryScanningConfiguration").await;
    family.calls += 1;
    match client.get_registry_scanning_configuration().send().await {
        Ok(response) => response
            .scanning_configuration()
            .and_then(|c| c.scan_type())
            .map(|t| t.as_str().to_owned()),
        Err(err) => {
            family.fail(api_error(
                SOURCE,
                "GetRegistryScanningConfiguration",
                ctx,
                &err,
            ));
            None
        }
    }
}

async fn repositories(
    client: &Client,
    ctx: &SourceContext,
    family: &mut Family,
) -> Result<Vec<Repository>, ExtractError> {
    let mut guard = TokenGuard::new("DescribeRepositories");
    let mut token: Option<String> = None;
    let mut all = Vec::new();
    loop {
        ctx.acquire("ecr:DescribeRepositories").await;
        family.calls += 1;
        let page = client
            .describe_repositories()
            .set_next_token(token.clone())
            .max_results(1000)
            .send()
            .await
            .map_err(|err| api_error(SOURCE, "DescribeRepositories", ctx, &err))?;
        all.extend(page.repositories().iter().cloned());
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// The registry host of a repository: its URI up to the first `/`.
fn registry_host(repository: &Repository) -> String {
    repository
        .repository_uri()
        .and_then(|uri| uri.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

async fn repository_row(
    client: &Client,
    ctx: &SourceContext,
    f: &mut Families,
    repository: &Repository,
    scan_type: Option<String>,
) -> RepositoryRow {
    let name = repository.repository_name().unwrap_or_default();
    let registry_id = repository.registry_id().map(str::to_owned);

    ctx.acquire("ecr:GetRepositoryPolicy").await;
    f.policy.calls += 1;
    let (policy, policy_public) = match client
        .get_repository_policy()
        .repository_name(name)
        .set_registry_id(registry_id.clone())
        .send()
        .await
    {
        Ok(response) => {
            let text = response.policy_text().map(str::to_owned);
            let public = match text.as_deref().map(policy_public) {
                Some(Ok(public)) => Some(public),
                Some(Err(error)) => {
                    f.policy.fail(ExtractError::Invalid {
                        source_name: SOURCE,
                        account_id: ctx.account_id.clone(),
                        message: format!("repository {name}: policy: {error}"),
                    });
                    None
                }
                None => Some(false),
            };
            (text, public)
        }
        Err(err) if error_code(&err).as_deref() == Some("RepositoryPolicyNotFoundException") => {
            (None, Some(false))
        }
        Err(err) => {
            f.policy
                .fail(api_error(SOURCE, "GetRepositoryPolicy", ctx, &err));
            (None, None)
        }
    };

    ctx.acquire("ecr:GetLifecyclePolicy").await;
    f.lifecycle.calls += 1;
    let lifecycle_policy = match client
        .get_lifecycle_policy()
        .repository_name(name)
        .set_registry_id(registry_id.clone())
        .send()
        .await
    {
        Ok(response) => response.lifecycle_policy_text().map(str::to_owned),
        Err(err) if error_code(&err).as_deref() == Some("LifecyclePolicyNotFoundException") => None,
        Err(err) => {
            f.lifecycle
                .fail(api_error(SOURCE, "GetLifecyclePolicy", ctx, &err));
            None
        }
    };

    let encryption = repository.encryption_configuration();
    RepositoryRow {
        registry_kind: KIND,
        registry: registry_host(repository),
        repository_name: name.to_owned(),
        repository_uri: repository.repository_uri().unwrap_or_default().to_owned(),
        repository_arn: repository.repository_arn().map(str::to_owned),
        registry_id,
        created_at: millis(repository.created_at()),
        tag_mutability: repository
            .image_tag_mutability()
            .map(|m| m.as_str().to_owned()),
        scan_on_push: repository
            .image_scanning_configuration()
            .map(|c| c.scan_on_push()),
        scan_type,
        encryption_type: encryption.map(|e| e.encryption_type().as_str().to_owned()),
        kms_key: encryption.and_then(|e| e.kms_key()).map(str::to_owned),
        policy,
        policy_public,
        lifecycle_policy,
    }
}

async fn images(
    client: &Client,
    ctx: &SourceContext,
    family: &mut Family,
    repository: &str,
) -> Result<Vec<ImageDetail>, ExtractError> {
    let mut guard = TokenGuard::new("DescribeImages");
    let mut token: Option<String> = None;
    let mut all = Vec::new();
    loop {
        ctx.acquire("ecr:DescribeImages").await;
        family.calls += 1;
        let page = client
            .describe_images()
            .repository_name(repository)
            .set_next_token(token.clone())
            .max_results(1000)
            .send()
            .await
            .map_err(|err| api_error(SOURCE, "DescribeImages", ctx, &err))?;
        all.extend(page.image_details().iter().cloned());
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// Manifests by digest, read 100 at a time (BatchGetImage's limit), and the digests
/// whose manifest could not be parsed, with why.
async fn manifests(
    client: &Client,
    ctx: &SourceContext,
    family: &mut Family,
    repository: &str,
    digests: &[String],
) -> Result<(HashMap<String, Manifest>, Vec<(String, String)>), ExtractError> {
    let mut manifests = HashMap::new();
    let mut skipped = Vec::new();
    for chunk in digests.chunks(100) {
        ctx.acquire("ecr:BatchGetImage").await;
        family.calls += 1;
        let ids = chunk
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d).build())
            .collect();
        let response = client
            .batch_get_image()
            .repository_name(repository)
            .set_image_ids(Some(ids))
            .set_accepted_media_types(Some(
                [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST]
                    .map(str::to_owned)
                    .to_vec(),
            ))
            .send()
            .await
            .map_err(|err| api_error(SOURCE, "BatchGetImage", ctx, &err))?;
        for image in response.images() {
            let (Some(digest), Some(text)) = (
                image.image_id().and_then(|id| id.image_digest()),
                image.image_manifest(),
            ) else {
                continue;
            };
            match parse_manifest(image.image_manifest_media_type(), text.as_bytes()) {
                Ok(manifest) => {
                    manifests.insert(digest.to_owned(), manifest);
                }
                Err(message) => skipped.push((digest.to_owned(), message)),
            }
        }
    }
    Ok((manifests, skipped))
}

/// The HTTP client that downloads config blobs: anonymous, since a download URL is
/// presigned. `None`, with the family failed, when it cannot be made.
fn config_client(
    registry: &str,
    ctx: &SourceContext,
    options: &OciOptions,
    family: &mut Family,
) -> Option<RegistryClient> {
    let base = Url::parse(&format!("https://{registry}")).map_err(|e| e.to_string());
    let made = base.and_then(|base| {
        RegistryClient::new(base, OciAuth::Anonymous, options.retry(), options.timeout)
            .map_err(|e| e.to_string())
    });
    match made {
        Ok(client) => Some(client),
        Err(message) => {
            family.fail(ExtractError::Invalid {
                source_name: SOURCE,
                account_id: ctx.account_id.clone(),
                message: format!(
                    "registry {registry}: no HTTP client for config downloads: {message}"
                ),
            });
            None
        }
    }
}

/// Where the configs of one repository are read from.
struct ConfigTarget<'a> {
    http: &'a RegistryClient,
    repository: &'a str,
    registry_id: Option<&'a str>,
    concurrency: usize,
}

/// How reading the config of one image went.
pub(crate) enum ConfigRead {
    Read(Box<ImageConfig>),
    /// Not read, and why (naming the config digest); the image keeps nulls.
    Unread(String),
}

/// The config of each wanted image (row index, config digest), `concurrency` at a time.
/// The first image of the account and region is read alone, so an API that fails as a
/// whole (access denied, not offered) fails once: after such a failure no more images are
/// asked for, and each is left unread with the reason.
async fn image_configs(
    client: &Client,
    ctx: &SourceContext,
    family: &mut Family,
    target: &ConfigTarget<'_>,
    wanted: Vec<(usize, String)>,
) -> Vec<(usize, ConfigRead)> {
    let stop = AtomicBool::new(family.failure.is_some());
    let calls = AtomicU32::new(0);
    let read = |(i, digest): (usize, String)| {
        let (stop, calls) = (&stop, &calls);
        async move {
            if stop.load(Ordering::Relaxed) {
                return (i, digest, None);
            }
            calls.fetch_add(1, Ordering::Relaxed);
            let result = image_config(client, ctx, target, &digest).await;
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            (i, digest, Some(result))
        }
    };
    let mut wanted = wanted.into_iter();
    let mut outcomes = Vec::new();
    if family.calls == 0
        && let Some(first) = wanted.next()
    {
        outcomes.push(read(first).await);
    }
    outcomes.extend(
        futures::stream::iter(wanted)
            .map(&read)
            .buffered(target.concurrency.max(1))
            .collect::<Vec<_>>()
            .await,
    );
    family.calls += calls.into_inner();
    outcomes
        .into_iter()
        .map(|(i, digest, result)| match result {
            Some(Ok(read)) => (i, read),
            Some(Err(error)) => {
                let message = format!("config {digest}: {error}");
                family.fail(error);
                (i, ConfigRead::Unread(message))
            }
            None => (
                i,
                ConfigRead::Unread(format!(
                    "config {digest}: not asked for, since GetDownloadUrlForLayer failed in \
                     this account and region (see lake_coverage)"
                )),
            ),
        })
        .collect()
}

/// One image's config: the download URL for its digest, then the blob, checked against
/// the digest. `Err` only when the API failed as a whole; what concerns this image alone
/// (a missing layer, a failed download, a blob that does not match) is `Unread`.
/// Messages show the download URL without its query, which holds the signature.
async fn image_config(
    client: &Client,
    ctx: &SourceContext,
    target: &ConfigTarget<'_>,
    digest: &str,
) -> Result<ConfigRead, ExtractError> {
    ctx.acquire("ecr:GetDownloadUrlForLayer").await;
    let unread = |message: String| Ok(ConfigRead::Unread(format!("config {digest}: {message}")));
    let response = match client
        .get_download_url_for_layer()
        .repository_name(target.repository)
        .set_registry_id(target.registry_id.map(str::to_owned))
        .layer_digest(digest)
        .send()
        .await
    {
        Ok(response) => response,
        Err(err)
            if matches!(
                error_code(&err).as_deref(),
                Some(
                    "LayersNotFoundException"
                        | "LayerInaccessibleException"
                        | "RepositoryNotFoundException"
                )
            ) =>
        {
            return unread(api_error(SOURCE, "GetDownloadUrlForLayer", ctx, &err).to_string());
        }
        Err(err) => return Err(api_error(SOURCE, "GetDownloadUrlForLayer", ctx, &err)),
    };
    let Some(location) = response.download_url() else {
        return unread("GetDownloadUrlForLayer returned no downloadUrl".to_owned());
    };
    let url = match Url::parse(location) {
        Ok(url) => url,
        Err(e) => return unread(format!("the download URL is not a URL: {e}")),
    };
    match target.http.get(&url, "", "").await {
        Ok(blob) => Ok(match config_from_blob(digest, &blob.body) {
            Ok(config) => ConfigRead::Read(Box::new(config)),
            Err(message) => ConfigRead::Unread(message),
        }),
        Err(error) => unread(
            error
                .to_string()
                .replace(url.as_str(), &without_query(&url)),
        ),
    }
}

/// Put what an image config says into an image row; the platform from the config fills
/// what no index entry gave.
pub(crate) fn apply_config(row: &mut ImageRow, config: ImageConfig) {
    row.config = config.columns;
    let platform = config.platform;
    if row.os.is_none() {
        row.os = platform.os.filter(|v| !v.is_empty());
    }
    if row.architecture.is_none() {
        row.architecture = platform.architecture.filter(|v| !v.is_empty());
    }
    if row.variant.is_none() {
        row.variant = platform.variant.filter(|v| !v.is_empty());
    }
}

/// Add what the manifests say to the image rows. A multi-platform index becomes its
/// platform images: ECR lists those as untagged images, and each gets the index digest,
/// its platform and the index's tags, so ECR rows read like those of OCI registries.
/// An index none of whose platform images is listed stays a row of its own.
pub(crate) fn apply_manifests(
    mut rows: Vec<ImageRow>,
    manifests: &HashMap<String, Manifest>,
) -> Vec<ImageRow> {
    let position: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.image_digest.clone(), i))
        .collect();
    let mut replaced = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        if let Some(Manifest::Image(manifest)) = manifests.get(&row.image_digest) {
            row.layer_count = i32::try_from(manifest.layers.len()).ok();
            row.base_image_name = manifest.base_image_name();
            row.base_image_digest = manifest.base_image_digest();
        }
        if let Some(Manifest::Index(_)) = manifests.get(&row.image_digest) {
            replaced.push(i);
        }
    }
    let mut dropped = Vec::new();
    for i in replaced {
        let Some(Manifest::Index(index)) = manifests.get(&rows[i].image_digest) else {
            continue;
        };
        let (index_digest, tags) = (rows[i].image_digest.clone(), rows[i].tags.clone());
        let mut found = false;
        for entry in index.manifests.iter().filter(|e| !is_attestation(e)) {
            let Some(&child) = position.get(&entry.digest) else {
                continue;
            };
            found = true;
            let row = &mut rows[child];
            row.index_digest = Some(index_digest.clone());
            if row.tags.is_empty() {
                row.tags.clone_from(&tags);
            }
            if let Some(platform) = &entry.platform {
                row.os.clone_from(&platform.os);
                row.architecture.clone_from(&platform.architecture);
                row.variant = platform.variant.clone().filter(|v| !v.is_empty());
            }
        }
        if found {
            dropped.push(index_digest);
        }
    }
    rows.retain(|r| !dropped.contains(&r.image_digest));
    rows
}

/// An image row. Severity counts are null unless ECR sent a findings summary with counts:
/// under enhanced scanning it sends none, and a missing summary is not "no findings".
pub(crate) fn image_row(registry: &str, repository: &str, image: &ImageDetail) -> ImageRow {
    let counts = image
        .image_scan_findings_summary()
        .and_then(|s| s.finding_severity_counts())
        .map(|counts| {
            SeverityCounts::from_map(
                counts
                    .iter()
                    .map(|(severity, n)| (severity.as_str(), i64::from(*n))),
            )
        })
        .unwrap_or_default();
    let status = image.image_scan_status();
    ImageRow {
        registry_kind: KIND,
        registry: registry.to_owned(),
        repository_name: repository.to_owned(),
        image_digest: image.image_digest().unwrap_or_default().to_owned(),
        index_digest: None,
        tags: image.image_tags().to_vec(),
        pushed_at: millis(image.image_pushed_at()),
        size_bytes: image.image_size_in_bytes(),
        media_type: image.image_manifest_media_type().map(str::to_owned),
        os: None,
        architecture: None,
        variant: None,
        last_pulled_at: millis(image.last_recorded_pull_time()),
        scan_status: status
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_owned()),
        scan_status_description: status.and_then(|s| s.description()).map(str::to_owned),
        counts,
        config: ImageConfigColumns::default(),
        base_image_name: None,
        base_image_digest: None,
        layer_count: None,
    }
}

/// What `DescribeImageScanFindings` said of one image.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) rows: Vec<FindingRow>,
    status: Option<String>,
    description: Option<String>,
    counts: Option<SeverityCounts>,
}

impl Scan {
    /// Fill what `DescribeImages` left out of an image row: the scan status and, for basic
    /// scanning, the severity counts. Under enhanced scanning ECR sends no counts, and
    /// they stay null.
    pub(crate) fn complete(&self, row: &mut ImageRow) {
        if row.scan_status.is_none() {
            row.scan_status.clone_from(&self.status);
            row.scan_status_description.clone_from(&self.description);
        }
        if row.counts.findings_high.is_none()
            && let Some(counts) = &self.counts
        {
            row.counts = counts.clone();
        }
    }
}

/// Every finding of one image, page by page. An image never scanned is an empty scan.
pub(crate) async fn findings(
    client: &Client,
    ctx: &SourceContext,
    family: &mut Family,
    registry: &str,
    repository: &str,
    digest: &str,
) -> Result<Scan, ExtractError> {
    let mut guard = TokenGuard::new("DescribeImageScanFindings");
    let mut token: Option<String> = None;
    let mut scan = Scan::default();
    loop {
        ctx.acquire("ecr:DescribeImageScanFindings").await;
        family.calls += 1;
        let result = client
            .describe_image_scan_findings()
            .repository_name(repository)
            .image_id(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(digest)
                    .build(),
            )
            .set_next_token(token.clone())
            .max_results(1000)
            .send()
            .await;
        let page = match result {
            Ok(page) => page,
            // The image has no scan (yet, or any more): no findings, not an error.
            Err(err) if error_code(&err).as_deref() == Some("ScanNotFoundException") => {
                return Ok(scan);
            }
            Err(err) => return Err(api_error(SOURCE, "DescribeImageScanFindings", ctx, &err)),
        };
        if let Some(status) = page.image_scan_status() {
            scan.status = status.status().map(|s| s.as_str().to_owned());
            scan.description = status.description().map(str::to_owned);
        }
        if let Some(found) = page.image_scan_findings() {
            if scan.counts.is_none()
                && let Some(counts) = found.finding_severity_counts()
            {
                scan.counts = Some(SeverityCounts::from_map(
                    counts
                        .iter()
                        .map(|(severity, n)| (severity.as_str(), i64::from(*n))),
                ));
            }
            for finding in found.findings() {
                scan.rows
                    .push(basic_finding(registry, repository, digest, finding));
            }
            for finding in found.enhanced_findings() {
                scan.rows
                    .extend(enhanced_findings(registry, repository, digest, finding));
            }
        }
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => return Ok(scan),
        }
    }
}

/// A basic-scanning finding. Its package and CVSS data are a key/value attribute list with
/// numbers as strings; the CVSS 3 score wins over CVSS 2 when both are given.
pub(crate) fn basic_finding(
    registry: &str,
    repository: &str,
    digest: &str,
    finding: &ImageScanFinding,
) -> FindingRow {
    let attributes: BTreeMap<&str, &str> = finding
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key(), a.value()?)))
        .collect();
    let get = |key: &str| attributes.get(key).map(|v| (*v).to_owned());
    let (score, vector) = if attributes.contains_key("CVSS3_SCORE") {
        (get("CVSS3_SCORE"), get("CVSS3_VECTOR"))
    } else {
        (get("CVSS2_SCORE"), get("CVSS2_VECTOR"))
    };
    FindingRow {
        registry_kind: KIND,
        registry: registry.to_owned(),
        repository_name: repository.to_owned(),
        image_digest: digest.to_owned(),
        vulnerability_id: finding.name().unwrap_or_default().to_owned(),
        severity: finding.severity().map(|s| s.as_str().to_owned()),
        package_name: get("package_name"),
        package_version: get("package_version"),
        fixed_version: None,
        cvss_score: score.and_then(|s| s.trim().parse::<f64>().ok()),
        cvss_vector: vector,
        uri: finding.uri().map(str::to_owned),
        description: finding.description().map(str::to_owned),
        status: None,
        finding_source: "basic",
    }
}

/// Rows of an enhanced (Amazon Inspector) finding: one per vulnerable package, or one
/// without a package when Inspector names none.
pub(crate) fn enhanced_findings(
    registry: &str,
    repository: &str,
    digest: &str,
    finding: &EnhancedImageScanFinding,
) -> Vec<FindingRow> {
    let details = finding.package_vulnerability_details();
    let cvss = details.and_then(|d| {
        let scores = d.cvss();
        scores
            .iter()
            .filter(|c| c.version().is_some_and(|v| v.starts_with('3')))
            .max_by(|a, b| a.version().cmp(&b.version()))
            .or(scores.first())
    });
    let base = FindingRow {
        registry_kind: KIND,
        registry: registry.to_owned(),
        repository_name: repository.to_owned(),
        image_digest: digest.to_owned(),
        vulnerability_id: details
            .and_then(|d| d.vulnerability_id())
            .or(finding.title())
            .unwrap_or_default()
            .to_owned(),
        severity: finding.severity().map(str::to_owned),
        package_name: None,
        package_version: None,
        fixed_version: None,
        cvss_score: cvss.map(|c| c.base_score()).or_else(|| {
            let score = finding.score();
            (score > 0.0).then_some(score)
        }),
        cvss_vector: cvss.and_then(|c| c.scoring_vector()).map(str::to_owned),
        uri: details.and_then(|d| d.source_url()).map(str::to_owned),
        description: finding.description().map(str::to_owned),
        status: finding.status().map(str::to_owned),
        finding_source: "enhanced",
    };
    let packages = details.map(|d| d.vulnerable_packages()).unwrap_or_default();
    if packages.is_empty() {
        return vec![base];
    }
    packages
        .iter()
        .map(|package| FindingRow {
            package_name: package.name().map(str::to_owned),
            package_version: package.version().map(str::to_owned),
            fixed_version: package.fixed_in_version().map(str::to_owned),
            ..base.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(digest: &str, tags: &[&str]) -> ImageRow {
        let mut detail = ImageDetail::builder().image_digest(digest);
        for tag in tags {
            detail = detail.image_tags(*tag);
        }
        image_row(REGISTRY, "app", &detail.build())
    }

    const REGISTRY: &str = "111122223333.dkr.ecr.eu-west-1.amazonaws.com";

    #[test]
    fn an_index_becomes_its_platform_images_and_attestations_are_skipped() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[
            {"digest":"sha256:a1","size":1,"platform":{"os":"linux","architecture":"amd64"}},
            {"digest":"sha256:a2","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
            {"digest":"sha256:a3","size":1,"platform":{"os":"unknown","architecture":"unknown"},
             "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#;
        let orphan = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:zz","size":1}]}"#;
        let image = br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":1},
            "layers":[{"digest":"sha256:l1","size":1},{"digest":"sha256:l2","size":1}]}"#;
        let manifests = HashMap::from([
            (
                "sha256:i".to_owned(),
                parse_manifest(None, index).expect("index"),
            ),
            (
                "sha256:o".to_owned(),
                parse_manifest(None, orphan).expect("index"),
            ),
            (
                "sha256:a1".to_owned(),
                parse_manifest(None, image).expect("image"),
            ),
        ]);
        let rows = apply_manifests(
            vec![
                row("sha256:i", &["2.0", "latest"]),
                row("sha256:a1", &[]),
                row("sha256:a2", &[]),
                row("sha256:a3", &[]),
                row("sha256:o", &["orphan"]),
            ],
            &manifests,
        );
        let digests: Vec<&str> = rows.iter().map(|r| r.image_digest.as_str()).collect();
        assert_eq!(digests, ["sha256:a1", "sha256:a2", "sha256:a3", "sha256:o"]);
        assert_eq!(rows[0].index_digest.as_deref(), Some("sha256:i"));
        assert_eq!(rows[0].tags, ["2.0", "latest"]);
        assert_eq!(rows[0].architecture.as_deref(), Some("amd64"));
        assert_eq!(rows[0].variant, None);
        assert_eq!(rows[0].layer_count, Some(2));
        assert_eq!(rows[1].variant.as_deref(), Some("v8"));
        assert_eq!(rows[1].layer_count, None, "its manifest was not returned");
        // The attestation is listed by ECR but is not a platform of the index.
        assert_eq!(rows[2].index_digest, None);
        assert!(rows[2].tags.is_empty());
        // An index whose platform images ECR does not list stays a row.
        assert_eq!(rows[3].tags, ["orphan"]);
        assert_eq!(rows[3].index_digest, None);
    }
}
