//! The trait every source implements, and what it is given to run.

use std::sync::Arc;

use async_trait::async_trait;
use aws_types::SdkConfig;
use lakewarden_lake::RunInfo;

use crate::{ExtractError, RateLimits, SourceOutput};

/// The region value of every row of a [`Scope::Global`] source, pulled or imported.
pub const GLOBAL_REGION: &str = "global";

/// Whether a source reads each region or once per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A global service such as IAM: read once per account, rows carry region
    /// [`GLOBAL_REGION`].
    Global,
    /// Read once per account and region.
    Regional,
    /// Read once per run, into the partition of the account the run's own credentials
    /// belong to: sources outside AWS, such as OCI registries, which no account owns.
    Once,
}

/// One unit of extraction: a run, an account and a region, with credentials for them.
#[derive(Debug, Clone)]
pub struct SourceContext {
    pub run: RunInfo,
    pub account_id: String,
    /// The region read, or `global` for a global source.
    pub region: String,
    /// SDK configuration with credentials for the account and the region to call.
    pub sdk: SdkConfig,
    /// The run's rate limits, shared by every source, account and region.
    pub limits: Arc<RateLimits>,
}

impl SourceContext {
    /// Wait until one more call of `api` (`service:Action`) is within its rate for this
    /// context's account and region. Call before every API request.
    pub async fn acquire(&self, api: &str) {
        self.limits
            .acquire(&self.account_id, &self.region, api)
            .await;
    }
}

/// A source of tables.
#[async_trait]
pub trait Source: Send + Sync {
    /// Short lower-case name used in coverage rows, logs and config (`iam`).
    fn name(&self) -> &'static str;

    fn scope(&self) -> Scope;

    /// Every table the source writes. A table it neither writes nor fails is committed
    /// as a snapshot with no rows.
    fn tables(&self) -> &'static [&'static str];

    /// AWS's published rates of the API families the source calls, keyed `service:Action`;
    /// the config may override each. Families not listed get the run's default rate.
    fn rates(&self) -> &'static [(&'static str, crate::Rate)] {
        &[]
    }

    /// Read the source for one account and region. An `Err` fails every table not yet
    /// marked; errors confined to one API family should be recorded on `out` instead, so
    /// the other tables still commit.
    async fn extract(
        &self,
        ctx: &SourceContext,
        out: &mut SourceOutput,
    ) -> Result<(), ExtractError>;
}

/// A source that reads exported files instead of calling APIs (Config snapshots, ASFF
/// exports). Each record names its own account and region, so rows go to the partition
/// of the output they belong to.
#[async_trait]
pub trait Importer: Send + Sync {
    /// The source name recorded in coverage and errors (`config`, `securityhub`).
    fn name(&self) -> &'static str;

    /// Every table an import writes.
    fn tables(&self) -> &'static [&'static str];

    /// Read one file into the output, streaming it. An `Err` rejects the whole file,
    /// naming it, and leaves none of its rows in `out`; the other files' rows stay.
    async fn import_file(
        &self,
        file: &crate::InputFile,
        out: &mut crate::PartitionedOutput,
    ) -> Result<(), ExtractError>;
}
