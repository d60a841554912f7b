//! End-to-end tests: the real `lakewarden` binary against the AWS emulator (moto) on
//! 127.0.0.1, then DuckDB and the Parquet reader over what it wrote.
//!
//! They need the test virtualenv (`make setup`, which `make test` runs): its Python starts
//! the emulator and its DuckDB runs the shipped SQL.

mod changes;
mod compliance;
mod config;
mod harness;
mod iam;
mod ops;
mod organization;
mod registry;
mod risk;
mod securityhub;
mod sql;
