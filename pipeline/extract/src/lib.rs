//! Sources of the Lakewarden lake.
//!
//! A source reads one cloud API family for one account and region and writes its tables
//! through a [`SourceOutput`], page by page, recording a coverage entry per API call
//! family. Sources are plain values registered by the binary; adding one is a new module
//! implementing [`Source`].

mod aws;
pub mod config;
mod coverage;
mod error;
mod files;
pub mod iam;
mod import;
mod limits;
mod output;
mod paginate;
pub mod registry;
pub mod securityhub;
mod source;
mod stream;
#[cfg(test)]
mod testing;

pub use aws::{api_error, error_code, millis};
pub use coverage::{CoverageRow, CoverageStatus, classify_code};
pub use error::ExtractError;
pub use files::{InputFile, InputFiles, InputReader};
pub use limits::{Rate, RateLimits};
pub use output::{ErrorRow, PartitionedOutput, SourceOutput, SourceResult, TableResult};
pub use paginate::TokenGuard;
pub use source::{GLOBAL_REGION, Importer, Scope, Source, SourceContext};
