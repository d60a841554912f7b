//! Errors of the extraction crate, each naming the source, API, account and region.

use lakewarden_lake::LakeError;

use crate::CoverageStatus;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    #[error("{source_name} {api} in account {account_id}, region {region}: {message}")]
    Api {
        source_name: &'static str,
        api: &'static str,
        account_id: String,
        region: String,
        status: CoverageStatus,
        message: String,
    },

    #[error("{api}: the API returned the continuation token {token:?} twice (page {pages})")]
    RepeatedToken {
        api: &'static str,
        token: String,
        pages: u32,
    },

    #[error("{source_name} in account {account_id}: {message}")]
    Invalid {
        source_name: &'static str,
        account_id: String,
        message: String,
    },

    #[error("input {file}: {message}")]
    Input { file: String, message: String },

    #[error(transparent)]
    Lake(#[from] LakeError),
}

impl ExtractError {
    /// The coverage status an error amounts to.
    pub fn coverage_status(&self) -> CoverageStatus {
        match self {
            Self::Api { status, .. } => *status,
            _ => CoverageStatus::Error,
        }
    }
}
