//! OCI Distribution registries (Docker Hub, GHCR, Harbor, a private registry): catalog,
//! tags, manifests and image configs into the registry tables.
//!
//! OCI registries are not AWS, so the source is [`Scope::Global`](crate::Scope) and runs
//! once per run. Its rows go to the partition of the run's account (the account whose
//! credentials the run holds) with region `global`: the lake partitions by account, and
//! a registry outside AWS has no account of its own.

pub mod auth;
pub mod client;
pub mod link;
pub mod manifest;
mod source;

pub use auth::{OciAuth, Secret};
pub use source::{OciCredentials, OciOptions, OciRegistry, OciSource};
