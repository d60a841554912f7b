//! `lakewarden import securityhub`: exported ASFF files into `securityhub_findings`, each
//! finding in the partition of its own account and region.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use async_trait::async_trait;
use serde_json::Value;

use super::asff::{FindingRow, export_findings, finding_row};
use super::source::{FINDINGS, SOURCE};
use crate::import::{settle, write_rows};
use crate::{ExtractError, Importer, InputFile, InputReader, PartitionedOutput};

/// Imports exported findings (`{"Findings": […]}`, `{"findings": […]}`, a bare array or
/// JSON lines), streaming them. A file is taken whole or not at all: a finding that does
/// not parse, or names no 12-digit account or no region, rejects its file, naming the
/// finding, and every row already written from it is dropped. Archived findings are read
/// and left out, as a pull leaves them out.
///
/// A finding listed twice in one file keeps its newest version (the later one on a tie).
/// Rows are written as they are read, keeping a 64-bit hash of each (account, region,
/// finding id), about 20 bytes a finding; a file in which two hashes meet is read twice
/// more: once to pick the version to keep of each finding whose hash met another, once to
/// write.
///
/// Limitation: a finding listed in two files of one import gets a row from each, because
/// rows of a file are written before the next file is read.
#[derive(Debug, Clone, Default)]
pub struct SecurityHubImporter;

#[async_trait]
impl Importer for SecurityHubImporter {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn tables(&self) -> &'static [&'static str] {
        &[FINDINGS]
    }

    async fn import_file(
        &self,
        file: &InputFile,
        out: &mut PartitionedOutput,
    ) -> Result<(), ExtractError> {
        let first = write_rows(file, FINDINGS, out, |input, sink| {
            let mut seen = HashSet::new();
            let mut repeated = HashSet::new();
            read_findings(input, &mut |_, key, region, row| {
                if !seen.insert(key) {
                    repeated.insert(key);
                }
                sink.push(row.aws_account_id.clone(), region, row)
            })?;
            Ok(repeated)
        })
        .await;
        let repeated = match first {
            Ok(repeated) if repeated.is_empty() => return settle(out, self.tables(), Ok(())).await,
            Ok(repeated) => repeated,
            Err(error) => return settle(out, self.tables(), Err(error)).await,
        };

        tracing::info!(
            file = file.name(),
            "Findings listed twice; reading again to keep the newest"
        );
        out.discard_file().await;
        let keep = keep_newest(file, &repeated, out).await;
        let written = match keep {
            Ok(keep) => {
                write_rows(file, FINDINGS, out, move |input, sink| {
                    read_findings(input, &mut |n, key, region, row| {
                        if repeated.contains(&key) && !keep.contains(&n) {
                            return Ok(());
                        }
                        sink.push(row.aws_account_id.clone(), region, row)
                    })
                })
                .await
            }
            Err(error) => Err(error),
        };
        settle(out, self.tables(), written).await
    }
}

/// The positions of the versions to keep of the findings whose key is in `repeated`.
async fn keep_newest(
    file: &InputFile,
    repeated: &HashSet<u64>,
    out: &mut PartitionedOutput,
) -> Result<HashSet<usize>, ExtractError> {
    let repeated = repeated.clone();
    write_rows::<FindingRow, _, _>(file, FINDINGS, out, move |input, _| {
        let mut newest: HashMap<(String, String, String), (Option<i64>, usize)> = HashMap::new();
        read_findings(input, &mut |n, key, region, row| {
            if repeated.contains(&key) {
                let id = (row.aws_account_id, region, row.finding_id);
                match newest.get(&id) {
                    Some((kept, _)) if *kept > row.updated_at => {}
                    _ => {
                        newest.insert(id, (row.updated_at, n));
                    }
                }
            }
            Ok(())
        })?;
        Ok(newest.into_values().map(|(_, n)| n).collect())
    })
    .await
}

/// Read every finding of a file, checking it, and hand each that is not archived to
/// `on_row` with its position, the hash of its (account, region, id) and its region.
fn read_findings(
    input: InputReader,
    on_row: &mut dyn FnMut(usize, u64, String, FindingRow) -> Result<(), String>,
) -> Result<(), String> {
    export_findings(input, &mut |n, value: Value| {
        let row = finding_row(&value).map_err(|e| format!("finding {n}: {e}"))?;
        drop(value);
        let account = &row.aws_account_id;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "finding {n} ({}): AwsAccountId {account:?} is not a 12-digit account id",
                row.finding_id
            ));
        }
        let Some(region) = row.finding_region.as_deref() else {
            return Err(format!(
                "finding {n} ({}): neither Region nor ProductArn names a region",
                row.finding_id
            ));
        };
        // As in a pull, archived findings are not part of the current snapshot.
        if row.is_archived() {
            return Ok(());
        }
        let mut hasher = DefaultHasher::new();
        (account, region, &row.finding_id).hash(&mut hasher);
        let region = region.to_owned();
        on_row(n, hasher.finish(), region, row)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::AsArray;
    use arrow::datatypes::DataType;
    use futures::TryStreamExt;
    use lakewarden_lake::{Lake, RunInfo};
    use serde_json::json;

    use super::*;
    use crate::testing::written_batches;
    use crate::{SourceResult, TableResult};

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/fixtures/securityhub/",
                $name
            ))
        };
    }

    fn lake() -> Lake {
        let store = Arc::new(object_store::memory::InMemory::new());
        Lake::new("memory://", store, object_store::path::Path::from("lake")).expect("lake")
    }

    /// (account, region, rows) of every partition an import wrote.
    fn partitions(results: &[SourceResult]) -> Vec<(String, String, u64)> {
        results
            .iter()
            .map(|r| match &r.tables[0] {
                TableResult::Written(output) => {
                    (r.account_id.clone(), r.region.clone(), output.rows)
                }
                TableResult::Failed { error, .. } => panic!("failed: {error}"),
            })
            .collect()
    }

    async fn import(files: &[(&str, &[u8])]) -> (Lake, Vec<SourceResult>, Vec<String>) {
        let lake = lake();
        let run = RunInfo::start(chrono::Utc::now());
        let mut out = PartitionedOutput::new(&lake, SOURCE, &run);
        let mut rejected = Vec::new();
        for (name, bytes) in files {
            if let Err(error) = SecurityHubImporter
                .import_file(&InputFile::from_bytes(name, bytes.to_vec()), &mut out)
                .await
            {
                rejected.push(error.to_string());
            }
        }
        let results = out.finish(&[FINDINGS]).await;
        (lake, results, rejected)
    }

    #[tokio::test]
    async fn findings_go_to_the_partition_of_their_account_and_region() {
        let (_, results, rejected) = import(&[
            ("guardduty.json", fixture!("guardduty-findings.json")),
            ("config.json", fixture!("config-findings.json")),
            ("array.json", fixture!("guardduty-persistence-array.json")),
        ])
        .await;
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(
            partitions(&results),
            [
                // The Config findings carry no Region: their ProductArn's region is used.
                ("012345678912".to_owned(), "us-east-1".to_owned(), 3),
                ("123456789012".to_owned(), "eu-west-1".to_owned(), 1),
                ("123456789012".to_owned(), "us-east-1".to_owned(), 4),
            ]
        );
    }

    #[tokio::test]
    async fn an_invalid_file_is_an_error_naming_it_and_the_others_still_import() {
        let one_line = json!({
            "Id": "arn:aws:securityhub:us-east-1:012345678901:finding/1",
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "GeneratorId": "g", "AwsAccountId": "012345678901", "Title": "t",
            "Description": "d", "UpdatedAt": "2024-05-01T10:00:00",
            "RecordState": "ACTIVE", "ProductFields": {},
            "Resources": [{"Type": "Other", "Id": "r", "Details": {"Other": {}}}]
        });
        let mut newer = one_line.clone();
        newer["UpdatedAt"] = json!("2024-05-01T11:00:00Z");
        newer["Title"] = json!("newer");
        let lines = format!("{newer}\n{one_line}\n");
        let bad_account = fixture!("guardduty-findings.json")
            .to_vec()
            .iter()
            .map(|b| *b as char)
            .collect::<String>()
            .replacen(
                "\"AwsAccountId\": \"123456789012\"",
                "\"AwsAccountId\": \"XXXXXXXXXXXX\"",
                1,
            );
        let (lake, results, rejected) = import(&[
            (
                "/in/awscli.not-valid-json.txt",
                fixture!("awscli-get-findings.not-valid-json.txt"),
            ),
            ("/in/lines.jsonl", lines.as_bytes()),
            ("/in/bad-account.json", bad_account.as_bytes()),
        ])
        .await;
        assert_eq!(rejected.len(), 2, "{rejected:?}");
        assert!(
            rejected[0].starts_with("input /in/awscli.not-valid-json.txt: not valid JSON"),
            "{}",
            rejected[0]
        );
        assert!(
            rejected[1].starts_with("input /in/bad-account.json: finding 0 (")
                && rejected[1]
                    .ends_with("AwsAccountId \"XXXXXXXXXXXX\" is not a 12-digit account id"),
            "{}",
            rejected[1]
        );
        // Two lines of one finding: the newer is kept, whatever the order.
        assert_eq!(
            partitions(&results),
            [("012345678901".to_owned(), "us-east-1".to_owned(), 1)]
        );

        // Empty ProductFields and an empty `Other` document give an empty map and JSON
        // text: the written file has the declared schema, no struct without fields.
        let TableResult::Written(output) = &results[0].tables[0] else {
            panic!("written");
        };
        let batches = written_batches(&lake, output).await;
        let declared = lake.catalog().arrow_schema(FINDINGS).expect("schema");
        assert_eq!(batches[0].schema(), declared);
        let fields = batches[0]
            .column_by_name("product_fields")
            .expect("column")
            .as_map();
        assert!(matches!(
            declared
                .field_with_name("product_fields")
                .expect("f")
                .data_type(),
            DataType::Map(..)
        ));
        assert_eq!(fields.value_length(0), 0);
        let resources = batches[0]
            .column_by_name("resources")
            .expect("column")
            .as_list::<i32>()
            .value(0);
        let details = resources
            .as_struct()
            .column_by_name("details")
            .expect("details")
            .as_string::<i32>()
            .value(0)
            .to_owned();
        assert_eq!(details, r#"{"Other":{}}"#);
        let updated = batches[0]
            .column_by_name("updated_at")
            .expect("column")
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>();
        assert_eq!(updated.value(0), 1_714_561_200_000);
        let title = batches[0]
            .column_by_name("title")
            .expect("column")
            .as_string::<i32>();
        assert_eq!(title.value(0), "newer");
    }

    fn finding(n: usize, account: &str, updated: &str, title: &str) -> serde_json::Value {
        json!({
            "Id": format!("arn:aws:securityhub:us-east-1:{account}:finding/{n}"),
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "GeneratorId": "g", "AwsAccountId": account, "Title": title,
            "Description": "d", "UpdatedAt": updated, "Region": "us-east-1",
            "RecordState": "ACTIVE", "ProductFields": {},
            "Resources": [{"Type": "Other", "Id": "r"}]
        })
    }

    /// Every data file of `securityhub_findings` in the lake.
    async fn data_files(lake: &Lake) -> Vec<String> {
        lake.store()
            .list(Some(&object_store::path::Path::from(
                "lake/securityhub_findings",
            )))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("listed")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_file_rejected_after_thousands_of_written_rows_leaves_no_file() {
        // Enough findings that several chunks and a row group were written before the
        // bad one is read.
        let mut text = String::new();
        for n in 0..70_000 {
            text.push_str(&finding(n, "012345678901", "2024-05-01T10:00:00Z", "t").to_string());
            text.push('\n');
        }
        text.push_str(&finding(0, "not-an-account", "2024-05-01T10:00:00Z", "t").to_string());
        text.push('\n');
        let good = format!(
            "{}\n",
            finding(1, "111111111111", "2024-05-01T10:00:00Z", "t")
        );
        let (lake, results, rejected) = import(&[
            ("/in/big.jsonl", text.as_bytes()),
            ("/in/good.jsonl", good.as_bytes()),
        ])
        .await;
        assert_eq!(
            rejected,
            [
                "input /in/big.jsonl: finding 70000 (arn:aws:securityhub:us-east-1:not-an-account:\
              finding/0): AwsAccountId \"not-an-account\" is not a 12-digit account id"
            ]
        );
        assert_eq!(
            partitions(&results),
            [("111111111111".to_owned(), "us-east-1".to_owned(), 1)]
        );
        let files = data_files(&lake).await;
        assert_eq!(
            files.len(),
            1,
            "only the good file's rows remain: {files:?}"
        );
        assert!(files[0].contains("account_id=111111111111"), "{files:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn findings_listed_twice_across_chunks_keep_the_newest_version() {
        // Finding 3 comes back later in the file, newer; finding 5 comes back older; both
        // well past the first chunk, so their first versions were already written once.
        let mut text = String::new();
        for n in 0..2500 {
            let title = format!("first {n}");
            text.push_str(&finding(n, "012345678901", "2024-05-01T10:00:00Z", &title).to_string());
            text.push('\n');
        }
        text.push_str(&finding(3, "012345678901", "2024-05-02T10:00:00Z", "newer 3").to_string());
        text.push('\n');
        text.push_str(&finding(5, "012345678901", "2024-04-01T10:00:00Z", "older 5").to_string());
        text.push('\n');
        let wrapped = format!(
            "{{\"NextToken\": null, \"Findings\": [{}]}}",
            text.trim_end().replace('\n', ",")
        );
        for (name, bytes) in [
            ("/in/dup.jsonl", text.as_bytes()),
            ("/in/dup.json", wrapped.as_bytes()),
        ] {
            let (lake, results, rejected) = import(&[(name, bytes)]).await;
            assert!(rejected.is_empty(), "{rejected:?}");
            assert_eq!(
                partitions(&results),
                [("012345678901".to_owned(), "us-east-1".to_owned(), 2500)],
                "{name}"
            );
            let TableResult::Written(output) = &results[0].tables[0] else {
                panic!("written");
            };
            assert_eq!(
                data_files(&lake).await.len(),
                output.files.len(),
                "no file of the first pass is left"
            );
            let batches = written_batches(&lake, output).await;
            let mut titles: Vec<String> = batches
                .iter()
                .flat_map(|batch| {
                    let titles = batch
                        .column_by_name("title")
                        .expect("title")
                        .as_string::<i32>();
                    titles
                        .iter()
                        .map(|t| t.expect("title").to_owned())
                        .collect::<Vec<_>>()
                })
                .filter(|t| !t.starts_with("first") || t == "first 5" || t == "first 4")
                .collect();
            titles.sort();
            assert_eq!(titles, ["first 4", "first 5", "newer 3"], "{name}");
        }
    }

    /// An export spread over many accounts and regions kept an open Parquet file, with its
    /// upload buffer, for every partition it touched until the file was read whole.
    #[tokio::test]
    async fn import_over_many_partitions_keeps_a_bounded_number_of_files_open() {
        let lake = lake();
        let run = RunInfo::start(chrono::Utc::now());
        let mut out = PartitionedOutput::new(&lake, SOURCE, &run);
        let accounts = ["111111111111", "222222222222", "333333333333"];
        let regions = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"];
        let mut most_open = 0;
        for round in 0..3 {
            for account in accounts {
                for region in regions {
                    let finding = json!({
                        "Id": format!("arn:aws:securityhub:{region}:{account}:finding/{round}"),
                        "ProductArn": format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
                        "GeneratorId": "g", "AwsAccountId": account, "Region": region,
                        "Title": "t", "Description": "d", "UpdatedAt": "2024-05-01T10:00:00Z",
                        "RecordState": "ACTIVE", "ProductFields": {},
                        "Resources": [{"Type": "Other", "Id": "r", "Details": {"Other": {}}}]
                    });
                    let row = finding_row(&finding).expect("a valid finding");
                    let partition = out.partition(account, region);
                    partition.rows(FINDINGS, &[row]).await.expect("written");
                    // What bounding the waiting rows does: a row group goes to the file.
                    partition.flush_pending().await.expect("flushed");
                    out.bound_open_files(4).await.expect("bounded");
                    most_open = most_open.max(out.open_files());
                }
            }
        }
        assert_eq!(most_open, 4);
        let results = out.finish(&[FINDINGS]).await;

        // Every row is kept, three in each of the twelve partitions; partitions whose file
        // was closed early have more than one file.
        let mut written = partitions(&results);
        written.sort();
        let mut expected: Vec<(String, String, u64)> = accounts
            .iter()
            .flat_map(|a| regions.iter().map(|r| (a.to_string(), r.to_string(), 3)))
            .collect();
        expected.sort();
        assert_eq!(written, expected);
        let files = data_files(&lake).await;
        assert!(files.len() > 12, "{files:?}");
        let mut ids = Vec::new();
        for result in &results {
            for batch in crate::testing::result_batches(&lake, result, FINDINGS).await {
                let column = batch.column_by_name("finding_id").expect("finding_id");
                ids.extend(
                    column
                        .as_string::<i32>()
                        .iter()
                        .flatten()
                        .map(str::to_owned),
                );
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 36);
    }
}
