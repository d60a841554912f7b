//! The AWS IAM source: principals, policies and their statements, credentials; and the
//! import of the authorization details the AWS CLI prints.

mod authorization;
pub mod credential_report;
pub mod details;
mod import;
pub mod policy;
#[cfg(test)]
mod replay_tests;
mod rows;
mod source;

pub use import::IamImporter;
pub use source::{ACTIONS, IamOptions, IamSource};
