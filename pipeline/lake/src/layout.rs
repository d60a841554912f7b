//! Where each file of the lake lives.
//!
//! ```text
//! <root>/<table>/dt=<YYYY-MM-DD>/account_id=<12 digits>/<run_id>-<n>.parquet
//! <root>/lake_runs/dt=<YYYY-MM-DD>/<run_id>.parquet
//! ```

use chrono::{DateTime, Utc};
use object_store::path::Path;

/// The paths of one lake below its root prefix.
#[derive(Debug, Clone)]
pub struct Layout {
    root: Path,
}

/// The `dt` partition value of an instant: its UTC date.
pub fn format_dt(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

impl Layout {
    pub fn new(root: Path) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The prefix holding every file of a table.
    pub fn table_prefix(&self, table: &str) -> Path {
        self.root.clone().join(table)
    }

    /// The n-th data file a run writes for a table and account.
    pub fn data_file(
        &self,
        table: &str,
        dt: &str,
        account_id: &str,
        run_id: &str,
        n: usize,
    ) -> Path {
        self.root
            .clone()
            .join(table)
            .join(format!("dt={dt}").as_str())
            .join(format!("account_id={account_id}").as_str())
            .join(format!("{run_id}-{n}.parquet").as_str())
    }

    /// The empty file that gives a table its schema before any run wrote it.
    pub fn schema_file(&self, table: &str, by_account: bool) -> Path {
        let partition = self.root.clone().join(table).join("dt=1970-01-01");
        let partition = if by_account {
            partition.join("account_id=000000000000")
        } else {
            partition
        };
        partition.join("schema-0.parquet")
    }

    /// The single object whose presence commits a run.
    pub fn commit_file(&self, dt: &str, run_id: &str) -> Path {
        self.root
            .clone()
            .join("lake_runs")
            .join(format!("dt={dt}").as_str())
            .join(format!("{run_id}.parquet").as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_hive_layout() {
        let layout = Layout::new(Path::from("prefix/lake"));
        assert_eq!(
            layout
                .data_file("iam_users", "2026-12-04", "012345678901", "r1", 0)
                .as_ref(),
            "prefix/lake/iam_users/dt=2026-12-04/account_id=012345678901/r1-0.parquet"
        );
        assert_eq!(
            layout.commit_file("2026-12-04", "r1").as_ref(),
            "prefix/lake/lake_runs/dt=2026-12-04/r1.parquet"
        );
    }
}
