//! The AWS Security Hub source: findings in ASFF (full or incremental pulls), enabled
//! standards and their controls, and the import of exported ASFF files.

pub mod asff;
mod import;
#[cfg(test)]
mod replay_tests;
mod source;

pub use import::SecurityHubImporter;
pub use source::{ACTIONS, CONTROLS, FINDINGS, STANDARDS, SecurityHubOptions, SecurityHubSource};
