//! The `lakewarden` binary's parts: configuration, the run, checks and table docs. The
//! binary itself only parses arguments and sets up logging.

pub mod check;
pub mod config;
pub mod ddl;
pub mod docs;
pub mod ops_config;
pub mod run;
pub mod schedule;
pub mod supervise;
pub mod vacuum;
