//! The AWS IAM source: principals, policies and their statements, credentials.

pub mod credential_report;
pub mod policy;
#[cfg(test)]
mod replay_tests;
mod rows;
mod source;

pub use source::{ACTIONS, IamOptions, IamSource};
