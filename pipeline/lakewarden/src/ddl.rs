//! SQL generated from the declared schemas: DuckDB views over a lake.

use std::fmt::Write;

use lakewarden_lake::{Catalog, TableSchema};

/// The views file users `.read` in DuckDB: for every table, `<table>` (the latest
/// committed snapshot per account and region) and `<table>_history` (every committed
/// snapshot), reading only files of committed runs.
pub fn duckdb_views(catalog: &Catalog) -> String {
    let mut out = String::new();
    out.push_str(
        "-- Views over a Lakewarden lake, generated from schemas/ by `lakewarden ddl duckdb`.\n\
         -- Do not edit: change the schema files and regenerate (`make docs`).\n\
         --\n\
         -- Usage, in the DuckDB CLI or any DuckDB client:\n\
         --   SET VARIABLE lake = './lake';      -- or 's3://bucket/prefix' with httpfs loaded\n\
         --   .read sql/duckdb/views.sql\n\
         --\n\
         -- `<table>` holds the newest committed snapshot of each account and region (the\n\
         -- latest start, then the latest commit: rerunning the jobs of an old run does not\n\
         -- make it current);\n\
         -- `<table>_history` every committed snapshot. Files of runs that never\n\
         -- committed are never read. Partition values are typed as strings.\n\n",
    );
    out.push_str(
        "CREATE OR REPLACE VIEW lake_runs AS\n\
         SELECT *\n\
         FROM read_parquet(getvariable('lake') || '/lake_runs/*/*.parquet',\n    \
         hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)\n\
         WHERE run_id IS NOT NULL;\n\n",
    );
    out.push_str(
        "CREATE OR REPLACE VIEW lake_latest AS\n\
         SELECT table_name, account_id, region,\n    \
         max_by(run_id, {'snapshot_at': snapshot_at, 'committed_at': committed_at}) AS run_id,\n    \
         max(committed_at) AS committed_at\n\
         FROM lake_runs\n\
         WHERE status = 'ok'\n\
         GROUP BY table_name, account_id, region;\n\n",
    );
    for table in catalog.tables().filter(|t| t.name != "lake_runs") {
        table_views(&mut out, table);
    }
    out
}

fn table_views(out: &mut String, table: &TableSchema) {
    let name = &table.name;
    let depth = "/*".repeat(table.partitions.len());
    let hive_types: Vec<String> = table
        .partitions
        .iter()
        .map(|p| format!("'{}': VARCHAR", p.name))
        .collect();
    let _ = write!(
        out,
        "CREATE OR REPLACE VIEW {name}_history AS\n\
         SELECT t.*\n\
         FROM read_parquet(getvariable('lake') || '/{name}{depth}/*.parquet',\n    \
         hive_partitioning = true, hive_types = {{{types}}}, union_by_name = true) AS t\n\
         SEMI JOIN lake_runs AS c\n    \
         ON c.table_name = '{name}' AND c.status = 'ok'\n    \
         AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;\n\n\
         CREATE OR REPLACE VIEW {name} AS\n\
         SELECT t.*\n\
         FROM {name}_history AS t\n\
         SEMI JOIN lake_latest AS l\n    \
         ON l.table_name = '{name}'\n    \
         AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;\n\n",
        types = hive_types.join(", "),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_duckdb_views_match_the_schemas() {
        let committed = include_str!("../../../sql/duckdb/views.sql");
        let catalog = Catalog::load().expect("schemas");
        assert_eq!(
            committed,
            duckdb_views(&catalog),
            "sql/duckdb/views.sql is stale: regenerate it with `make docs`"
        );
    }
}
