//! Container registries: Amazon ECR through the AWS SDK, and any OCI Distribution registry
//! (Docker Hub, GHCR, Harbor, a private registry) over HTTP. Both write the same three
//! tables, told apart by `registry_kind` and `registry`.

mod ecr;
pub mod oci;
mod public;
#[cfg(test)]
mod replay_tests;
mod rows;

pub use ecr::{ACTIONS, EcrSource};
pub use oci::{OciAuth, OciOptions, OciRegistry, OciSource, Secret};
pub use public::policy_public;

pub const REPOSITORIES: &str = "registry_repositories";
pub const IMAGES: &str = "registry_images";
pub const FINDINGS: &str = "registry_image_findings";

/// Every table a registry source writes.
pub const TABLES: &[&str] = &[REPOSITORIES, IMAGES, FINDINGS];
