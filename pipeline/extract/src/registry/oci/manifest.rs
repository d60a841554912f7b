//! Manifests and image configs as registries serve them: Docker schema 2 and OCI image
//! manifests, Docker manifest lists and OCI indexes, and the image config blob.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};

use crate::registry::rows::{ImageConfigColumns, runs_as_root};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` header of a manifest request: every format this module reads.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A manifest of one image.
#[derive(Debug, Clone)]
pub struct ImageManifest {
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// Config and layer sizes added up, as the image's size in the registry.
    pub fn size(&self) -> Option<i64> {
        let mut total = self.config.size?;
        for layer in &self.layers {
            total = total.checked_add(layer.size?)?;
        }
        Some(total)
    }

    pub fn base_image_name(&self) -> Option<String> {
        self.annotations.get(BASE_NAME).cloned()
    }

    pub fn base_image_digest(&self) -> Option<String> {
        self.annotations.get(BASE_DIGEST).cloned()
    }
}

/// A multi-platform index: its platform manifests.
#[derive(Debug, Clone)]
pub struct Index {
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Manifest {
    Image(ImageManifest),
    Index(Index),
}

/// Parse a manifest. The media type is the `Content-Type` the registry sent, else the
/// document's own `mediaType`, else what its fields imply (OCI allows omitting it).
pub fn parse_manifest(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, String> {
    let raw: RawManifest =
        serde_json::from_slice(body).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    let declared = content_type
        .map(|c| c.split(';').next().unwrap_or_default().trim().to_owned())
        .filter(|c| c.starts_with("application/vnd."))
        .or(raw.media_type.clone());
    if raw.schema_version == Some(1)
        || declared
            .as_deref()
            .is_some_and(|m| m.starts_with("application/vnd.docker.distribution.manifest.v1"))
    {
        return Err("Docker schema 1 manifests are not read (deprecated, no image config)".into());
    }
    if let Some(manifests) = raw.manifests {
        return Ok(Manifest::Index(Index {
            media_type: declared.unwrap_or_else(|| OCI_INDEX.to_owned()),
            manifests,
            annotations: raw.annotations,
        }));
    }
    match (raw.config, raw.layers) {
        (Some(config), layers) => Ok(Manifest::Image(ImageManifest {
            media_type: declared.unwrap_or_else(|| OCI_MANIFEST.to_owned()),
            config,
            layers: layers.unwrap_or_default(),
            annotations: raw.annotations,
        })),
        (None, _) => Err(format!(
            "the manifest ({}) has neither a config nor manifests",
            declared.as_deref().unwrap_or("no media type")
        )),
    }
}

/// Whether an index entry is an attestation or signature rather than a platform image:
/// BuildKit marks its provenance manifests `vnd.docker.reference.type`, with platform
/// `unknown/unknown`.
pub fn is_attestation(entry: &Descriptor) -> bool {
    entry.annotations.contains_key("vnd.docker.reference.type")
        || entry
            .platform
            .as_ref()
            .is_some_and(|p| p.os.as_deref() == Some("unknown"))
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash.iter() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// An environment variable's name. Deserializing keeps only what comes before the first
/// `=`: values may be secrets, and they are dropped here, before anything can keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EnvName(String);

impl<'de> Deserialize<'de> for EnvName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entry = String::deserialize(deserializer)?;
        let name = entry.split('=').next().unwrap_or_default();
        Ok(Self(name.to_owned()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerConfig {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(default)]
    env: Option<Vec<EnvName>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct RawImageConfig {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    config: Option<ContainerConfig>,
}

/// What the lake keeps of an image config.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    pub columns: ImageConfigColumns,
    pub platform: Platform,
}

/// Check a config blob against the digest its manifest names, then parse it. The error
/// names the digest.
pub fn config_from_blob(digest: &str, body: &[u8]) -> Result<ImageConfig, String> {
    let computed = sha256_digest(body);
    if digest.starts_with("sha256:") && computed != digest {
        return Err(format!("config {digest}: the content hashes to {computed}"));
    }
    parse_image_config(body).map_err(|message| format!("config {digest}: {message}"))
}

/// Parse an image config blob. Lists and maps the config leaves out are empty (the image
/// sets none), not null: null is kept for images whose config was not read.
pub fn parse_image_config(body: &[u8]) -> Result<ImageConfig, String> {
    let raw: RawImageConfig =
        serde_json::from_slice(body).map_err(|e| format!("the image config is not JSON: {e}"))?;
    let image_created_at = raw.created.as_deref().and_then(|created| {
        chrono::DateTime::parse_from_rfc3339(created)
            .ok()
            .map(|t| t.timestamp_millis())
    });
    let config = raw.config.unwrap_or(ContainerConfig {
        user: None,
        entrypoint: None,
        cmd: None,
        exposed_ports: None,
        env: None,
        labels: None,
    });
    let user = config.user.unwrap_or_default();
    Ok(ImageConfig {
        columns: ImageConfigColumns {
            image_created_at,
            runs_as_root: Some(runs_as_root(&user)),
            user: Some(user),
            entrypoint: Some(config.entrypoint.unwrap_or_default()),
            command: Some(config.cmd.unwrap_or_default()),
            exposed_ports: Some(
                config
                    .exposed_ports
                    .unwrap_or_default()
                    .into_keys()
                    .collect(),
            ),
            env_names: Some(
                config
                    .env
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| n.0)
                    .collect(),
            ),
            labels: Some(config.labels.unwrap_or_default()),
        },
        platform: Platform {
            os: raw.os,
            architecture: raw.architecture,
            variant: raw.variant,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_config_keeps_env_names_and_never_values() {
        let body = br#"{"created":"2026-11-30T12:34:56.789123456Z","architecture":"arm64",
            "variant":"v8","os":"linux","config":{"User":"app:app",
            "Env":["PATH=/usr/bin","API_TOKEN=hunter2=x","EMPTY"],
            "Entrypoint":["/bin/app"],"Cmd":null,"ExposedPorts":{"8080/tcp":{}},
            "Labels":{"team":"payments"}},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config = parse_image_config(body).expect("parses");
        let c = &config.columns;
        assert_eq!(c.image_created_at, Some(1_796_042_096_789));
        assert_eq!(c.user.as_deref(), Some("app:app"));
        assert_eq!(c.runs_as_root, Some(false));
        assert_eq!(
            c.env_names,
            Some(vec![
                "PATH".to_owned(),
                "API_TOKEN".to_owned(),
                "EMPTY".to_owned()
            ])
        );
        assert_eq!(c.entrypoint, Some(vec!["/bin/app".to_owned()]));
        assert_eq!(c.command, Some(vec![]));
        assert_eq!(c.exposed_ports, Some(vec!["8080/tcp".to_owned()]));
        assert_eq!(config.platform.variant.as_deref(), Some("v8"));
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("/usr/bin"),
            "{debug}"
        );

        let bare = parse_image_config(br#"{"architecture":"amd64","os":"linux"}"#).expect("ok");
        assert_eq!(bare.columns.user.as_deref(), Some(""));
        assert_eq!(bare.columns.runs_as_root, Some(true));
        assert_eq!(bare.columns.labels, Some(BTreeMap::new()));
    }

    #[test]
    fn manifests_indexes_and_schema_1() {
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1470,"digest":"sha256:aa"},
            "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":3000,"digest":"sha256:bb"}]}"#;
        let Manifest::Image(m) = parse_manifest(None, image).expect("parses") else {
            panic!("an image manifest");
        };
        assert_eq!(m.media_type, DOCKER_MANIFEST);
        assert_eq!(m.size(), Some(4470));
        assert_eq!(m.layers.len(), 1);

        let index = br#"{"schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":10,
             "platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:dd","size":10,
             "platform":{"architecture":"unknown","os":"unknown"},
             "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#;
        let Manifest::Index(i) =
            parse_manifest(Some("application/vnd.oci.image.index.v1+json"), index).expect("ok")
        else {
            panic!("an index");
        };
        assert_eq!(i.manifests.len(), 2);
        assert!(!is_attestation(&i.manifests[0]));
        assert!(is_attestation(&i.manifests[1]));

        let v1 = br#"{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}"#;
        assert!(
            parse_manifest(None, v1)
                .expect_err("refused")
                .contains("schema 1")
        );
        assert!(parse_manifest(None, b"{}").is_err());
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
