//! The AWS Config source end to end: a seeded recorder → `lakewarden run` → lake → DuckDB,
//! and configuration snapshot files → `lakewarden import config-snapshot` from local disk
//! and from the emulator's S3.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use lakewarden_lake::Catalog;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::{Map, Value};

use crate::harness::{
    ACCOUNT, BUCKET, assert_success, duckdb, emulator, lakewarden, read_parquet, repo_root,
};

/// The rdk sample items: 77 files, one of them invalid JSON.
const SAMPLES: &str = "tests/fixtures/config/rdk-example-ci";
const INVALID_SAMPLE: &str = "AWS_SSM_ManagedInstanceInventory_Linux.json";

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not text in {row:?}"))
}

fn int(row: &Map<String, Value>, key: &str) -> i64 {
    row[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {row:?}"))
}

/// A config file with only the Config source on. Listing every resource type is ~530
/// calls; the emulator answers them at once, so its rate is lifted for the test.
fn config_only(dir: &Path) -> PathBuf {
    config_in(dir, "us-east-1")
}

fn config_in(dir: &Path, region: &str) -> PathBuf {
    let path = dir.join("lakewarden.toml");
    std::fs::write(
        &path,
        format!(
            "[scope]\nregions = [\"{region}\"]\n\n\
             [sources.iam]\nenabled = false\n\n[sources.config]\nenabled = true\n\n\
             [limits.apis]\n\"config:ListDiscoveredResources\" = {{ per_second = 0.0, burst = 0.0 }}\n"
        ),
    )
    .expect("config written");
    path
}

fn assert_declared_schemas(lake: &Path) {
    let catalog = Catalog::load().expect("schemas");
    let files = duckdb(
        lake,
        "SELECT table_name, unnest(files) AS file FROM lake_runs ORDER BY 1, 2;",
    );
    assert!(!files.is_empty());
    for file in &files {
        let table = text(file, "table_name");
        let bytes = std::fs::read(lake.join(text(file, "file"))).expect("file listed exists");
        let (schema, _) = read_parquet(bytes.into());
        let declared = catalog.arrow_schema(table).expect("declared");
        assert_eq!(
            schema.fields(),
            declared.fields(),
            "schema of {}",
            text(file, "file")
        );
    }
}

#[test]
fn config_run_lists_every_seeded_resource_by_type() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let output = lakewarden()
        .args(["run", "--no-progress", "--lake"])
        .arg(&lake)
        .arg("--config")
        .arg(config_only(dir.path()))
        .output()
        .expect("lakewarden runs");
    assert_success(&output);

    let committed = duckdb(
        &lake,
        "SELECT table_name, account_id, region, status FROM lake_runs \
         WHERE NOT regexp_matches(table_name, '^(compliance|risk|changes)_') \
         ORDER BY table_name;",
    );
    let tables: Vec<(&str, &str, &str, &str)> = committed
        .iter()
        .map(|r| {
            (
                text(r, "table_name"),
                text(r, "account_id"),
                text(r, "region"),
                text(r, "status"),
            )
        })
        .collect();
    assert_eq!(
        tables,
        [
            ("config_resources", ACCOUNT, "us-east-1", "ok"),
            ("config_rule_compliance", ACCOUNT, "us-east-1", "ok"),
            ("lake_coverage", ACCOUNT, "us-east-1", "ok"),
            ("lake_errors", ACCOUNT, "us-east-1", "ok"),
        ]
    );

    // Resources per type: what the launcher's own listing found, which includes
    // every bucket and topic it created in the region.
    let expected: BTreeMap<String, i64> = emulator().config["expected"]["us-east-1"]
        .as_object()
        .expect("expected counts")
        .iter()
        .map(|(t, n)| (t.clone(), n.as_i64().expect("count")))
        .filter(|(_, n)| *n > 0)
        .collect();
    let counted: BTreeMap<String, i64> = duckdb(
        &lake,
        "SELECT resource_type, count(*) AS n FROM config_resources GROUP BY 1 ORDER BY 1;",
    )
    .iter()
    .map(|r| (text(r, "resource_type").to_owned(), int(r, "n")))
    .collect();
    assert_eq!(counted, expected);
    assert_eq!(expected["AWS::S3::Bucket"], 4);
    assert_eq!(expected["AWS::SNS::Topic"], 2);

    let buckets = duckdb(
        &lake,
        "SELECT resource_id, resource_account_id, resource_region, deleted, \
         configuration_item_status, configuration_item_capture_time IS NOT NULL AS captured, \
         json_extract_string(configuration, '$.name') AS name, \
         json_type(supplementary_configuration, '$.AccessControlList') AS acl \
         FROM config_resources WHERE resource_type = 'AWS::S3::Bucket' ORDER BY 1;",
    );
    let created = &emulator().config["created"]["us-east-1"]["buckets"];
    let mut seeded: Vec<&str> = created
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b.as_str().expect("name"))
        .collect();
    seeded.sort_unstable();
    let ids: Vec<&str> = buckets.iter().map(|r| text(r, "resource_id")).collect();
    assert_eq!(ids, seeded);
    for row in &buckets {
        assert_eq!(text(row, "name"), text(row, "resource_id"));
        assert_eq!(text(row, "resource_account_id"), ACCOUNT);
        assert_eq!(text(row, "resource_region"), "us-east-1");
        assert_eq!(row["deleted"], Value::Bool(false));
        assert_eq!(row["captured"], Value::Bool(true));
        assert_eq!(text(row, "configuration_item_status"), "ResourceDiscovered");
        // moto sends the ACL as JSON text; it is decoded into an object.
        assert_eq!(text(row, "acl"), "OBJECT");
    }

    assert_declared_schemas(&lake);

    let coverage = duckdb(&lake, "SELECT api, status FROM lake_coverage ORDER BY api;");
    let apis: Vec<(&str, &str)> = coverage
        .iter()
        .map(|r| (text(r, "api"), text(r, "status")))
        .collect();
    assert_eq!(
        apis,
        [
            ("GetComplianceDetailsByConfigRule", "ok"),
            ("ListDiscoveredResources", "ok"),
        ]
    );
}

/// Every item of the valid sample files, unwrapped from rule events, in file order.
fn sample_items() -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(repo_root().join(SAMPLES))
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let mut items = Vec::new();
    for path in names {
        if path.file_name().is_some_and(|n| n == INVALID_SAMPLE) {
            continue;
        }
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        match doc {
            Value::Array(list) => items.extend(list),
            Value::Object(mut map) => match map.remove("configurationItem") {
                Some(item) => items.push(item),
                None => items.push(Value::Object(map)),
            },
            other => panic!("unexpected sample {other}"),
        }
    }
    items
}

/// A configuration snapshot as AWS Config delivers it: gzip JSON.
fn snapshot_gzip(items: Vec<Value>) -> Vec<u8> {
    let doc = serde_json::json!({
        "fileVersion": "1.0",
        "configSnapshotId": "8f2e6a5c-1b3d-4e7f-9a0b-2c4d6e8f0a1b",
        "configurationItems": items,
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(doc.to_string().as_bytes()).expect("gzip");
    gz.finish().expect("gzip")
}

/// Rows of `config_resources` without the run's columns, sorted.
fn resource_rows(lake: &Path) -> Vec<String> {
    duckdb(
        lake,
        "SELECT account_id, region, resource_type, resource_id, resource_name, arn, \
         availability_zone, configuration_item_status, configuration_item_capture_time, \
         resource_creation_time, configuration_state_id, tags, relationships, \
         configuration, supplementary_configuration, deleted FROM config_resources \
         ORDER BY account_id, region, resource_type, resource_id;",
    )
    .into_iter()
    .map(|r| Value::Object(r).to_string())
    .collect()
}

#[test]
fn config_snapshot_import_from_s3_and_local_disk_gives_the_same_rows() {
    let items = sample_items();
    assert_eq!(items.len(), 76, "77 sample files less the invalid one");
    let gzip = snapshot_gzip(items);

    // Local folder: the snapshot and the invalid sample file beside it.
    let dir = tempfile::tempdir().expect("dir");
    let inputs = dir.path().join("delivered");
    std::fs::create_dir(&inputs).expect("inputs");
    let snapshot_name =
        format!("{ACCOUNT}_Config_us-east-1_ConfigSnapshot_20261204T000000Z.json.gz");
    std::fs::write(inputs.join(&snapshot_name), &gzip).expect("write");
    std::fs::copy(
        repo_root().join(SAMPLES).join(INVALID_SAMPLE),
        inputs.join(INVALID_SAMPLE),
    )
    .expect("copy");

    let local_lake = dir.path().join("local-lake");
    let local = lakewarden()
        .args(["import", "config-snapshot"])
        .arg(&inputs)
        .arg("--lake")
        .arg(&local_lake)
        .output()
        .expect("lakewarden runs");
    let stderr = String::from_utf8_lossy(&local.stderr);
    assert_eq!(
        local.status.code(),
        Some(2),
        "a rejected file makes it partial:\n{stderr}"
    );
    let rejected: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("lakewarden: rejected "))
        .collect();
    assert_eq!(rejected.len(), 1, "{stderr}");
    assert!(
        rejected[0].starts_with("lakewarden: rejected input ")
            && rejected[0].contains(INVALID_SAMPLE)
            && rejected[0].contains("not valid JSON"),
        "{}",
        rejected[0]
    );

    // S3: the same snapshot delivered under the AWSLogs prefix of the emulator's bucket.
    let key = format!(
        "AWSLogs/{ACCOUNT}/Config/us-east-1/2026/12/4/ConfigSnapshot/{}-{snapshot_name}",
        std::process::id()
    );
    let store = AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_endpoint(&emulator().endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id(&emulator().access_key_id)
        .with_secret_access_key(&emulator().secret_access_key)
        .build()
        .expect("S3 store");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.put(&StorePath::from(key.as_str()), PutPayload::from(gzip)))
        .expect("snapshot uploaded");
    let s3_lake = dir.path().join("s3-lake");
    let from_s3 = lakewarden()
        .args(["import", "config-snapshot", &format!("s3://{BUCKET}/{key}")])
        .arg("--lake")
        .arg(&s3_lake)
        .output()
        .expect("lakewarden runs");
    assert_success(&from_s3);

    let local_rows = resource_rows(&local_lake);
    assert_eq!(local_rows.len(), 76);
    assert_eq!(
        local_rows,
        resource_rows(&s3_lake),
        "local disk and S3 differ"
    );
    assert_declared_schemas(&local_lake);
    assert_declared_schemas(&s3_lake);

    // Rows go to the partition of each item's own account and region.
    let partitions = duckdb(
        &local_lake,
        "SELECT account_id, count(*) AS n FROM config_resources GROUP BY 1 ORDER BY 1;",
    );
    let total: i64 = partitions.iter().map(|r| int(r, "n")).sum();
    assert_eq!(total, 76);
    assert!(
        partitions
            .iter()
            .any(|r| text(r, "account_id") == "934654633380")
    );

    let bucket = duckdb(
        &local_lake,
        "SELECT account_id, region, configuration_state_id, deleted, \
         epoch_ms(configuration_item_capture_time) AS captured, \
         json_extract_string(supplementary_configuration, \
           '$.BucketPolicy.policyText.Statement[0].Effect') AS effect, \
         json_extract_string(supplementary_configuration, '$.IsRequesterPaysEnabled') AS pays \
         FROM config_resources WHERE resource_id = 'mborch-test-bucket-config-item';",
    );
    assert_eq!(bucket.len(), 1);
    let row = &bucket[0];
    assert_eq!(text(row, "account_id"), "934654633380");
    assert_eq!(text(row, "region"), "us-east-1");
    assert_eq!(text(row, "configuration_state_id"), "1549956556288");
    assert_eq!(row["deleted"], Value::Bool(false));
    assert_eq!(int(row, "captured"), 1_549_956_556_288);
    assert_eq!(text(row, "effect"), "Deny");
    assert_eq!(text(row, "pays"), "false");

    let errors = duckdb(&local_lake, "SELECT count(*) AS n FROM lake_errors;");
    assert_eq!(
        int(&errors[0], "n"),
        0,
        "a rejected file is reported, not a row error"
    );
}

#[test]
fn region_without_a_recorder_is_not_enabled_and_the_run_complete() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let output = lakewarden()
        .args(["run", "--no-progress", "--lake"])
        .arg(&lake)
        .arg("--config")
        .arg(config_in(dir.path(), "ap-southeast-2"))
        .output()
        .expect("lakewarden runs");
    assert_success(&output);

    let coverage = duckdb(
        &lake,
        "SELECT region, api, status, message, tables FROM lake_coverage;",
    );
    assert_eq!(coverage.len(), 1);
    assert_eq!(text(&coverage[0], "region"), "ap-southeast-2");
    assert_eq!(text(&coverage[0], "api"), "DescribeConfigurationRecorders");
    assert_eq!(text(&coverage[0], "status"), "not_enabled");
    assert_eq!(
        text(&coverage[0], "message"),
        "no configuration recorder in this region"
    );
    let committed = duckdb(
        &lake,
        "SELECT table_name, status, rows FROM lake_runs \
         WHERE table_name LIKE 'config_%' ORDER BY 1;",
    );
    let tables: Vec<(&str, &str, i64)> = committed
        .iter()
        .map(|r| (text(r, "table_name"), text(r, "status"), int(r, "rows")))
        .collect();
    assert_eq!(
        tables,
        [
            ("config_resources", "ok", 0),
            ("config_rule_compliance", "ok", 0)
        ]
    );
}
