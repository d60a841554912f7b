//! `lakewarden import config-snapshot`: the configuration snapshot files AWS Config
//! delivers to S3, and the items rule events carry, into `config_resources`.

use async_trait::async_trait;
use serde_json::Value;

use super::item::{ResourceRow, items_of_document, parts_from_json};
use super::source::{RESOURCES, SOURCE};
use crate::{ExtractError, Importer, PartitionedOutput};

/// Imports configuration snapshots. Each item names its account and region, so its row
/// goes to that partition.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotImporter;

#[async_trait]
impl Importer for SnapshotImporter {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn tables(&self) -> &'static [&'static str] {
        &[RESOURCES]
    }

    /// A file that is not JSON, or not one of the delivered shapes, or holds an item that
    /// is not a configuration item, is rejected whole: a snapshot is one consistent view,
    /// and half of one would read as resources that disappeared.
    async fn import_file(
        &self,
        file: &str,
        bytes: Vec<u8>,
        out: &mut PartitionedOutput,
    ) -> Result<(), ExtractError> {
        let input = |message: String| ExtractError::Input {
            file: file.to_owned(),
            message,
        };
        let doc: Value =
            serde_json::from_slice(&bytes).map_err(|e| input(format!("not valid JSON: {e}")))?;
        drop(bytes);
        let items = items_of_document(doc).map_err(input)?;
        // Each item is dropped once it is a row, so the file is not held twice over.
        let rows: Vec<ResourceRow> = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| parts_from_json(index, &item).map(|p| p.into_row()))
            .collect::<Result<_, _>>()
            .map_err(|e| input(e.to_string()))?;

        let mut by_partition: std::collections::BTreeMap<(String, String), Vec<ResourceRow>> =
            Default::default();
        for row in rows {
            let key = (row.resource_account_id.clone(), row.resource_region.clone());
            by_partition.entry(key).or_default().push(row);
        }
        for ((account_id, region), rows) in by_partition {
            out.partition(&account_id, &region)
                .rows(RESOURCES, &rows)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lakewarden_lake::{Lake, RunInfo};

    use super::*;
    use crate::TableResult;

    fn lake() -> Lake {
        let store = std::sync::Arc::new(object_store::memory::InMemory::new());
        Lake::new("memory://", store, object_store::path::Path::from("lake")).expect("lake")
    }

    fn item(account: &str, region: &str, id: &str) -> Value {
        serde_json::json!({"resourceType": "AWS::SNS::Topic", "resourceId": id,
            "awsAccountId": account, "awsRegion": region, "configurationItemStatus": "OK",
            "configuration": {"TopicArn": id}})
    }

    #[tokio::test]
    async fn items_go_to_their_own_account_and_region() {
        let lake = lake();
        let run = RunInfo::start(chrono::Utc::now());
        let mut out = PartitionedOutput::new(&lake, SOURCE, &run);
        let snapshot = serde_json::json!({"fileVersion": "1.0", "configSnapshotId": "s",
            "configurationItems": [item("111122223333", "us-east-1", "a"),
                item("111122223333", "eu-west-1", "b"), item("444455556666", "us-east-1", "c"),
                item("111122223333", "us-east-1", "d")]});
        SnapshotImporter
            .import_file("snap.json", snapshot.to_string().into_bytes(), &mut out)
            .await
            .expect("imported");

        let mut placed: Vec<(String, String, u64)> = out
            .finish(&[RESOURCES])
            .await
            .into_iter()
            .map(|r| {
                let rows = match &r.tables[0] {
                    TableResult::Written(output) => output.rows,
                    TableResult::Failed { error, .. } => panic!("{error}"),
                };
                (r.account_id, r.region, rows)
            })
            .collect();
        placed.sort();
        let expected = [
            ("111122223333", "eu-west-1", 1),
            ("111122223333", "us-east-1", 2),
            ("444455556666", "us-east-1", 1),
        ]
        .map(|(a, r, n)| (a.to_owned(), r.to_owned(), n));
        assert_eq!(placed, expected);
    }

    #[tokio::test]
    async fn a_bad_file_is_rejected_whole_naming_the_file_and_item() {
        let lake = lake();
        let run = RunInfo::start(chrono::Utc::now());
        let mut out = PartitionedOutput::new(&lake, SOURCE, &run);
        let bad_item = serde_json::json!([item("111122223333", "us-east-1", "a"),
            {"resourceType": "AWS::SNS::Topic", "resourceId": "b"}]);
        let error = SnapshotImporter
            .import_file(
                "s3://b/k.json.gz",
                bad_item.to_string().into_bytes(),
                &mut out,
            )
            .await
            .expect_err("rejected");
        assert_eq!(
            error.to_string(),
            "input s3://b/k.json.gz: configuration item 1: `awsAccountId` is missing or not an \
             account id"
        );
        let error = SnapshotImporter
            .import_file("x.json", b"{\"configurationItems\": [".to_vec(), &mut out)
            .await
            .expect_err("not JSON");
        assert!(
            error
                .to_string()
                .starts_with("input x.json: not valid JSON: "),
            "{error}"
        );
        assert!(
            out.finish(&[RESOURCES]).await.is_empty(),
            "nothing of either file was kept"
        );
    }
}
