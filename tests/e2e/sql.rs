//! The SQL shipped in `sql/`: the DuckDB views and every example query run over a lake a
//! real run wrote, and every view has exactly its schema's columns; the Athena DDL (the
//! committed file and a fresh `lakewarden ddl athena`) parses and declares exactly each
//! schema's columns and partitions, with partition projection.

use std::collections::BTreeSet;
use std::process::Command;

use lakewarden_lake::{Catalog, TableSchema};
use serde_json::{Map, Value};

use crate::harness::{assert_success, duckdb, lakewarden_with, python, repo_root, run_into};

/// What a view or table should expose: the file columns, then partition keys that are not
/// file columns (`dt`), typed as strings.
fn expected_columns(table: &TableSchema) -> Vec<String> {
    let mut names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    for partition in &table.partitions {
        if !names.contains(&partition.name) {
            names.push(partition.name.clone());
        }
    }
    names
}

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row[key].as_str().unwrap_or_default()
}

#[test]
fn duckdb_views_and_every_example_query_run_over_a_run_lake() {
    let lake = tempfile::tempdir().expect("lake dir");
    let (output, _run_id) = run_into(lake.path().to_str().expect("utf-8"));
    assert_success(&output);
    let catalog = Catalog::load().expect("schemas");

    // Every table's latest and history view: exactly the schema's columns, partition
    // values as strings.
    for table in catalog.tables() {
        let suffixes = if table.name == "lake_runs" {
            vec![""]
        } else {
            vec!["", "_history"]
        };
        for suffix in suffixes {
            let view = format!("{}{suffix}", table.name);
            let described = duckdb(lake.path(), &format!("DESCRIBE {view};"));
            let names: Vec<String> = described
                .iter()
                .map(|r| text(r, "column_name").to_owned())
                .collect();
            assert_eq!(names, expected_columns(table), "columns of view {view}");
            for partition in &table.partitions {
                let row = described
                    .iter()
                    .find(|r| text(r, "column_name") == partition.name)
                    .expect("partition column");
                assert_eq!(
                    text(row, "column_type"),
                    "VARCHAR",
                    "{view}.{}",
                    partition.name
                );
            }
        }
    }

    // Every example query runs (the helper fails on any DuckDB error).
    let dir = repo_root().join("sql/duckdb/queries");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("queries")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let run = |name: &str| {
        let sql = std::fs::read_to_string(dir.join(name)).expect("query");
        duckdb(lake.path(), &sql)
    };
    for file in &files {
        let name = file.file_name().expect("name").to_str().expect("utf-8");
        let _rows = run(name);
    }

    // Admins without MFA: exactly the users both other queries name, the admin-equivalent
    // principals and the console users without MFA.
    let admins: BTreeSet<(String, String)> = run("admin_principals.sql")
        .iter()
        .filter(|r| text(r, "kind") == "user")
        .map(|r| (text(r, "account_id").to_owned(), text(r, "name").to_owned()))
        .collect();
    let without_mfa: BTreeSet<(String, String)> = run("console_users_without_mfa.sql")
        .iter()
        .map(|r| {
            (
                text(r, "account_id").to_owned(),
                text(r, "user_name").to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = admins.intersection(&without_mfa).cloned().collect();
    let got: BTreeSet<(String, String)> = run("admins_without_mfa.sql")
        .iter()
        .map(|r| {
            (
                text(r, "account_id").to_owned(),
                text(r, "user_name").to_owned(),
            )
        })
        .collect();
    assert!(!expected.is_empty(), "the seed has admins without MFA");
    assert_eq!(got, expected);
}

/// The Athena file parsed by sqlglot (tests/harness/athena_sql.py), as JSON.
fn parse_athena(path: &std::path::Path) -> Value {
    let output = Command::new(python())
        .arg(repo_root().join("tests/harness/athena_sql.py"))
        .arg(path)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "the Athena SQL does not parse:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn check_athena(parsed: &Value, location: &str, accounts: &str) {
    let catalog = Catalog::load().expect("schemas");
    assert_eq!(parsed["databases"], serde_json::json!(["lakewarden"]));
    let mut views = BTreeSet::new();
    for table in catalog.tables() {
        let name = &table.name;
        let ddl = &parsed["tables"][format!("{name}_files")];
        let pairs = |key: &str| -> Vec<(String, String)> {
            ddl[key]
                .as_array()
                .unwrap_or_else(|| panic!("no {key} for {name}: {ddl}"))
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().expect("name").to_owned(),
                        p[1].as_str().expect("type").to_owned(),
                    )
                })
                .collect()
        };
        let partitions = pairs("partitions");
        let columns: Vec<String> = pairs("columns").into_iter().map(|(n, _)| n).collect();
        let partition_names: Vec<String> = partitions.iter().map(|(n, _)| n.clone()).collect();
        let schema_partitions: Vec<String> =
            table.partitions.iter().map(|p| p.name.clone()).collect();
        assert_eq!(partition_names, schema_partitions, "partitions of {name}");
        assert!(
            partitions.iter().all(|(_, t)| t == "string"),
            "{name}: {partitions:?}"
        );
        // A partition key is not repeated among the columns (Hive refuses it).
        let schema_columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| !schema_partitions.contains(c))
            .collect();
        assert_eq!(columns, schema_columns, "columns of {name}");
        assert_eq!(ddl["location"], format!("{location}/{name}/"));

        let properties = &ddl["properties"];
        assert_eq!(properties["projection.enabled"], "true", "{name}");
        assert_eq!(properties["projection.dt.type"], "date", "{name}");
        assert_eq!(properties["projection.dt.format"], "yyyy-MM-dd", "{name}");
        let template: String = std::iter::once(format!("{location}/{name}"))
            .chain(schema_partitions.iter().map(|p| format!("{p}=${{{p}}}")))
            .collect::<Vec<_>>()
            .join("/");
        assert_eq!(
            properties["storage.location.template"],
            format!("{template}/")
        );
        if table.has_account_partition() {
            assert_eq!(properties["projection.account_id.type"], "enum", "{name}");
            assert_eq!(
                properties["projection.account_id.values"], accounts,
                "{name}"
            );
        }

        views.insert(format!("lakewarden.{name}"));
        if name != "lake_runs" {
            views.insert(format!("lakewarden.{name}_history"));
        }
    }
    views.insert("lakewarden.lake_latest".to_owned());
    let parsed_views: BTreeSet<String> = parsed["views"]
        .as_array()
        .expect("views")
        .iter()
        .map(|v| v.as_str().expect("name").to_owned())
        .collect();
    assert_eq!(parsed_views, views);
    assert_eq!(
        parsed["tables"].as_object().expect("tables").len(),
        catalog.tables().count()
    );
}

#[test]
fn athena_ddl_parses_and_declares_every_schema() {
    // The committed file, generated with placeholders.
    let committed = repo_root().join("sql/athena/lakewarden.sql");
    check_athena(
        &parse_athena(&committed),
        "s3://YOUR-LAKE-BUCKET/lake",
        "012345678901,111111111111,222222222222",
    );

    // A fresh one for another location and account list.
    let output = lakewarden_with("http://127.0.0.1:9", "AKIDEXAMPLEDUMMY", "dummy-secret")
        .args([
            "ddl",
            "athena",
            "--location",
            "s3://security-lake/prefix/",
            "--accounts",
            "000000000001,999999999999",
        ])
        .output()
        .expect("lakewarden runs");
    assert_success(&output);
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("athena.sql");
    std::fs::write(&file, &output.stdout).expect("write");
    check_athena(
        &parse_athena(&file),
        "s3://security-lake/prefix",
        "000000000001,999999999999",
    );

    // A location that is not on S3 is refused, naming the option.
    let refused = lakewarden_with("http://127.0.0.1:9", "AKIDEXAMPLEDUMMY", "dummy-secret")
        .args([
            "ddl",
            "athena",
            "--location",
            "/tmp/lake",
            "--accounts",
            "000000000001",
        ])
        .output()
        .expect("lakewarden runs");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("--location /tmp/lake is not an s3:// URL"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
