//! The Lakewarden lake: declared table schemas, the Parquet writer and the commit.
//!
//! Every table has one schema file under `schemas/` at the repository root; this crate embeds
//! them, turns them into Arrow schemas, writes record batches as zstd Parquet into a
//! Hive-partitioned layout on any `object_store`, and commits a run by writing one small
//! `lake_runs` object last. Readers that honour the commit never see half a run.

mod catalog;
mod commit;
mod error;
mod history;
mod layout;
mod lease;
mod read;
mod rows;
mod schema;
mod store;
mod writer;

pub use catalog::{Catalog, SCHEMA_FILES};
pub use commit::{CommitRow, RunInfo, TableStatus, commit_as, commit_run};
pub use error::LakeError;
pub use history::{CommitEntry, commit_history, latest_snapshots, read_batches, read_object};
pub use layout::{Layout, format_dt};
pub use lease::{
    Lease, LeaseError, LeaseRecord, ObservedLease, holder_id, lease_name, lease_path, read_lease,
};
pub use read::{CommittedSnapshot, latest_snapshot, read_snapshot};
pub use rows::{CommonColumns, RowEncoder};
pub use schema::{ColumnSpec, PartitionSpec, TableSchema, parse_type};
pub use store::{Lake, open_lake};
pub use writer::{TableOutput, TableWriter, WriterOptions, upload_buffer};
