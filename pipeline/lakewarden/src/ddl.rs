//! SQL generated from the declared schemas: DuckDB views over a lake, and Athena tables
//! with partition projection plus the same views in Athena's (Trino) dialect.

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

/// Where and how `lakewarden ddl athena` points its tables.
#[derive(Debug, Clone)]
pub struct AthenaOptions {
    /// The lake's root, `s3://bucket/prefix`, without a trailing slash.
    pub location: String,
    /// The Glue database the tables and views are created in.
    pub database: String,
    /// The accounts of the `account_id` partition projection.
    pub accounts: Vec<String>,
    /// The `dt` projection's range, as Athena reads it (`NOW-1YEARS,NOW`).
    pub dt_range: String,
}

/// The location and account list the committed `sql/athena/lakewarden.sql` is generated
/// with: placeholders to replace (or regenerate with your own).
pub const ATHENA_PLACEHOLDER_LOCATION: &str = "s3://YOUR-LAKE-BUCKET/lake";
pub const ATHENA_PLACEHOLDER_ACCOUNTS: &[&str] = &["012345678901", "111111111111", "222222222222"];
pub const ATHENA_DEFAULT_DT_RANGE: &str = "NOW-1YEARS,NOW";

impl AthenaOptions {
    /// The options of the committed file.
    pub fn placeholder() -> Self {
        Self {
            location: ATHENA_PLACEHOLDER_LOCATION.to_owned(),
            database: "lakewarden".to_owned(),
            accounts: ATHENA_PLACEHOLDER_ACCOUNTS
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
            dt_range: ATHENA_DEFAULT_DT_RANGE.to_owned(),
        }
    }
}

impl AthenaOptions {
    /// Check the options before any SQL is written with them: every value lands inside a
    /// quoted string or an identifier, so none may carry a quote.
    pub fn validate(&self) -> anyhow::Result<()> {
        let location_ok = self.location.starts_with("s3://")
            && self.location.len() > "s3://".len()
            && !self.location.contains(['\'', '`', ' ']);
        anyhow::ensure!(
            location_ok,
            "--location {} is not an s3:// URL",
            self.location
        );
        if let Some(bad) = self
            .accounts
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            anyhow::bail!("--accounts {bad}: an account id is 12 digits");
        }
        anyhow::ensure!(!self.accounts.is_empty(), "--accounts names no account");
        let database_ok = !self.database.is_empty()
            && self
                .database
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        anyhow::ensure!(
            database_ok,
            "--database {}: a Glue database name is lower case letters, digits and _",
            self.database
        );
        let range_ok =
            self.dt_range.split(',').count() == 2 && !self.dt_range.contains(['\'', '`', ' ']);
        anyhow::ensure!(
            range_ok,
            "--dt-range {}: two bounds separated by a comma (NOW-1YEARS,NOW or 2024-01-01,NOW)",
            self.dt_range
        );
        Ok(())
    }
}

/// The Athena file: per table, `<table>_files`, a `CREATE EXTERNAL TABLE` over its Parquet
/// files with partition projection; then the views `lake_runs`, `lake_latest`,
/// `<table>_history` and `<table>` that read only committed snapshots, as the DuckDB
/// views do. Statements are separated by a line holding `;` alone at its end, one
/// statement each, because Athena runs one statement per query.
///
/// `dt` is projected as a date. `account_id` is projected as an enum of the given
/// accounts rather than `injected`: an injected column makes every query that does not
/// name one account fail, and the views read every account. An account that joins later
/// needs the table properties regenerated (`ALTER TABLE … SET TBLPROPERTIES`).
pub fn athena_sql(catalog: &Catalog, options: &AthenaOptions) -> String {
    let db = &options.database;
    let mut out = String::new();
    let _ = write!(
        out,
        "-- Athena tables and views over a Lakewarden lake, generated from schemas/ by\n\
         -- `lakewarden ddl athena --location {location} --database {db} --accounts <ids>`.\n\
         -- Do not edit: change the schema files and regenerate (`make docs` writes the\n\
         -- committed copy, whose location {placeholder} and accounts are placeholders).\n\
         --\n\
         -- Run each statement on its own (Athena runs one statement per query), in order:\n\
         -- the database, the tables, then the views. `<table>_files` reads every file;\n\
         -- query the views: `<table>` holds the newest committed snapshot of each account and\n\
         -- region, `<table>_history` every committed snapshot. Partitions are projected\n\
         -- (`dt` as a date within {range}, `account_id` as the listed accounts), so no\n\
         -- crawler or MSCK REPAIR is needed. `account_id` is the partition column: Hive\n\
         -- does not allow a column to be both, and its value equals the files' column.\n\n\
         CREATE DATABASE IF NOT EXISTS {db};\n\n",
        location = options.location,
        placeholder = ATHENA_PLACEHOLDER_LOCATION,
        range = options.dt_range,
    );
    for table in catalog.tables() {
        athena_table(&mut out, table, options);
    }
    let _ = write!(
        out,
        "CREATE OR REPLACE VIEW {db}.lake_runs AS\n\
         SELECT *\n\
         FROM {db}.lake_runs_files\n\
         WHERE run_id IS NOT NULL;\n\n\
         CREATE OR REPLACE VIEW {db}.lake_latest AS\n\
         SELECT table_name, account_id, region, run_id, committed_at\n\
         FROM (\n    \
         SELECT table_name, account_id, region, run_id,\n        \
         max(committed_at) OVER (PARTITION BY table_name, account_id, region) AS committed_at,\n        \
         row_number() OVER (PARTITION BY table_name, account_id, region\n            \
         ORDER BY snapshot_at DESC, committed_at DESC) AS newest\n    \
         FROM {db}.lake_runs\n    \
         WHERE status = 'ok'\n\
         ) AS ranked\n\
         WHERE newest = 1;\n\n",
    );
    for table in catalog.tables().filter(|t| t.name != "lake_runs") {
        athena_views(&mut out, table, db);
    }
    out
}

fn athena_table(out: &mut String, table: &TableSchema, options: &AthenaOptions) {
    let (db, name, root) = (&options.database, &table.name, &options.location);
    let partition_names: Vec<&str> = table.partitions.iter().map(|p| p.name.as_str()).collect();
    let columns: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !partition_names.contains(&c.name.as_str()))
        .map(|c| format!("    `{}` {}", c.name, hive_type(&c.type_name)))
        .collect();
    let partitions: Vec<String> = table
        .partitions
        .iter()
        .map(|p| format!("`{}` {}", p.name, hive_type(&p.type_name)))
        .collect();
    let mut properties = vec![
        ("projection.enabled".to_owned(), "true".to_owned()),
        ("parquet.compression".to_owned(), "ZSTD".to_owned()),
    ];
    let mut template = format!("{root}/{name}");
    for partition in &table.partitions {
        let key = &partition.name;
        let _ = write!(template, "/{key}=${{{key}}}");
        let prefix = format!("projection.{key}");
        if key == "dt" {
            properties.extend([
                (format!("{prefix}.type"), "date".to_owned()),
                (format!("{prefix}.format"), "yyyy-MM-dd".to_owned()),
                (format!("{prefix}.range"), options.dt_range.clone()),
                (format!("{prefix}.interval"), "1".to_owned()),
                (format!("{prefix}.interval.unit"), "DAYS".to_owned()),
            ]);
        } else {
            properties.extend([
                (format!("{prefix}.type"), "enum".to_owned()),
                (format!("{prefix}.values"), options.accounts.join(",")),
            ]);
        }
    }
    properties.push((
        "storage.location.template".to_owned(),
        format!("{template}/"),
    ));
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("    '{k}' = '{v}'"))
        .collect();
    let _ = write!(
        out,
        "CREATE EXTERNAL TABLE IF NOT EXISTS {db}.{name}_files (\n{columns}\n)\n\
         PARTITIONED BY ({partitions})\n\
         STORED AS PARQUET\n\
         LOCATION '{root}/{name}/'\n\
         TBLPROPERTIES (\n{properties}\n);\n\n",
        columns = columns.join(",\n"),
        partitions = partitions.join(", "),
        properties = properties.join(",\n"),
    );
}

fn athena_views(out: &mut String, table: &TableSchema, db: &str) {
    let name = &table.name;
    let _ = write!(
        out,
        "CREATE OR REPLACE VIEW {db}.{name}_history AS\n\
         SELECT t.*\n\
         FROM {db}.{name}_files AS t\n\
         WHERE EXISTS (\n    \
         SELECT 1 FROM {db}.lake_runs AS c\n    \
         WHERE c.table_name = '{name}' AND c.status = 'ok'\n        \
         AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region\n\
         );\n\n\
         CREATE OR REPLACE VIEW {db}.{name} AS\n\
         SELECT t.*\n\
         FROM {db}.{name}_history AS t\n\
         WHERE EXISTS (\n    \
         SELECT 1 FROM {db}.lake_latest AS l\n    \
         WHERE l.table_name = '{name}'\n        \
         AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region\n\
         );\n\n",
    );
}

/// A schema type in Hive's DDL spelling, which Athena's `CREATE EXTERNAL TABLE` takes:
/// `int32` is `int`, `list<…>` is `array<…>`, struct field names are quoted.
pub fn hive_type(schema_type: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, field: bool| {
        if word.is_empty() {
            return;
        }
        if field {
            let _ = write!(out, "`{word}`");
        } else {
            out.push_str(match word.as_str() {
                "bool" => "boolean",
                "int32" => "int",
                "int64" => "bigint",
                "float64" => "double",
                "list" => "array",
                other => other,
            });
        }
        word.clear();
    };
    for c in schema_type.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else if c != ' ' {
            flush(&mut word, &mut out, c == ':');
            out.push(c);
        }
    }
    flush(&mut word, &mut out, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_types_of_the_schema_grammar() {
        assert_eq!(hive_type("int32"), "int");
        assert_eq!(hive_type("list<string>"), "array<string>");
        assert_eq!(hive_type("map<string,int64>"), "map<string,bigint>");
        assert_eq!(
            hive_type("list<struct<type:string,tags:map<string,string>,n:bool>>"),
            "array<struct<`type`:string,`tags`:map<string,string>,`n`:boolean>>"
        );
    }

    #[test]
    fn committed_athena_sql_matches_the_schemas() {
        let committed = include_str!("../../../sql/athena/lakewarden.sql");
        let catalog = Catalog::load().expect("schemas");
        assert_eq!(
            committed,
            athena_sql(&catalog, &AthenaOptions::placeholder()),
            "sql/athena/lakewarden.sql is stale: regenerate it with `make docs`"
        );
    }

    #[test]
    fn athena_options_refuse_what_would_break_the_sql() {
        let bad = |edit: fn(&mut AthenaOptions)| {
            let mut options = AthenaOptions::placeholder();
            edit(&mut options);
            options.validate().expect_err("refused").to_string()
        };
        assert!(AthenaOptions::placeholder().validate().is_ok());
        assert_eq!(
            bad(|o| o.location = "/tmp/lake".into()),
            "--location /tmp/lake is not an s3:// URL"
        );
        assert_eq!(bad(|o| o.accounts.clear()), "--accounts names no account");
        assert_eq!(
            bad(|o| o.accounts = vec!["12345".into()]),
            "--accounts 12345: an account id is 12 digits"
        );
        assert_eq!(
            bad(|o| o.database = "a'b".into()),
            "--database a'b: a Glue database name is lower case letters, digits and _"
        );
    }

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
