//! The `lakewarden` binary's parts: configuration, the run, checks and table docs. The
//! binary itself only parses arguments and sets up logging.

pub mod check;
pub mod config;
pub mod ddl;
pub mod docs;
pub mod jobs;
pub mod ops_config;
pub mod registry_config;
pub mod run;
pub mod schedule;
pub mod scope;
pub mod supervise;
pub mod vacuum;
