//! `lakewarden import securityhub`: exported ASFF files into `securityhub_findings`, each
//! finding in the partition of its own account and region.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::asff::{FindingRow, export_findings, finding_row};
use super::source::{FINDINGS, SOURCE};
use crate::{ExtractError, Importer, PartitionedOutput};

/// Rows handed to the writer at once; each chunk is freed once it is encoded.
const WRITE_ROWS: usize = 1000;

/// Imports exported findings (`{"Findings": […]}`, `{"findings": […]}`, a bare array or
/// JSON lines). A file is taken whole or not at all: a finding that does not parse, or
/// names no 12-digit account or no region, rejects its file, naming the finding. Archived
/// findings are read and left out, as a pull leaves them out.
///
/// Limitation: a finding listed in two files of one import gets a row from each, because
/// rows of a file are written before the next file is read; within a file the newest
/// version is kept.
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
        file: &str,
        bytes: Vec<u8>,
        out: &mut PartitionedOutput,
    ) -> Result<(), ExtractError> {
        let rejected = |message: String| ExtractError::Input {
            file: file.to_owned(),
            message,
        };
        let findings = export_findings(&bytes).map_err(rejected)?;
        drop(bytes);

        // Every finding is checked before any is written, so a rejected file leaves nothing.
        let mut partitions: BTreeMap<(String, String), BTreeMap<String, FindingRow>> =
            BTreeMap::new();
        // Each document is dropped once it is a row: the file's findings are held once.
        for (n, value) in findings.into_iter().enumerate() {
            let row = finding_row(&value).map_err(|e| rejected(format!("finding {n}: {e}")))?;
            let account = &row.aws_account_id;
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(rejected(format!(
                    "finding {n} ({}): AwsAccountId {account:?} is not a 12-digit account id",
                    row.finding_id
                )));
            }
            let Some(region) = row.finding_region.clone() else {
                return Err(rejected(format!(
                    "finding {n} ({}): neither Region nor ProductArn names a region",
                    row.finding_id
                )));
            };
            // As in a pull, archived findings are not part of the current snapshot.
            if row.is_archived() {
                continue;
            }
            let rows = partitions.entry((account.clone(), region)).or_default();
            // A finding listed twice keeps its newest version (the later one on a tie).
            match rows.get(&row.finding_id) {
                Some(kept) if kept.updated_at > row.updated_at => {}
                _ => {
                    rows.insert(row.finding_id.clone(), row);
                }
            }
        }
        for ((account, region), rows) in partitions {
            let output = out.partition(&account, &region);
            let mut rows = rows.into_values();
            loop {
                let chunk: Vec<FindingRow> = rows.by_ref().take(WRITE_ROWS).collect();
                if chunk.is_empty() {
                    break;
                }
                output.rows(FINDINGS, &chunk).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::AsArray;
    use arrow::datatypes::DataType;
    use futures::TryStreamExt;
    use lakewarden_lake::{CommittedSnapshot, Lake, RunInfo};
    use serde_json::json;

    use super::*;
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
                .import_file(name, bytes.to_vec(), &mut out)
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
        let snapshot = CommittedSnapshot {
            run_id: String::new(),
            snapshot_at: 0,
            files: output.files.clone(),
            rows: 1,
        };
        let batches: Vec<_> = lakewarden_lake::read_snapshot(&lake, FINDINGS, &snapshot, None)
            .await
            .expect("stream")
            .try_collect()
            .await
            .expect("batches");
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
}
