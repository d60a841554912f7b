//! The AWS Config source: every recorded resource with its configuration item, rule
//! compliance, and the import of the configuration snapshots Config delivers to S3.

pub mod item;
#[cfg(test)]
mod replay_tests;
mod snapshot;
mod source;

pub use snapshot::SnapshotImporter;
pub use source::{ACTIONS, ConfigOptions, ConfigSource, RESOURCES, RULE_COMPLIANCE};
