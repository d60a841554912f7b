//! `lakewarden import config-snapshot`: the configuration snapshot files AWS Config
//! delivers to S3, and the items rule events carry, into `config_resources`.

use async_trait::async_trait;
use serde_json::Value;

use super::item::{ResourceRow, items_of_document, parts_from_json};
use super::source::{RESOURCES, SOURCE};
use crate::import::{RowSink, settle, write_rows};
use crate::stream::{Document, StreamError, stream_document};
use crate::{ExtractError, Importer, InputFile, InputReader, PartitionedOutput};

/// Imports configuration snapshots. Each item names its account and region, so its row
/// goes to that partition. Items are read one at a time from `configurationItems` or a
/// top-level array, so a snapshot of any size is never held in memory.
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
        file: &InputFile,
        out: &mut PartitionedOutput,
    ) -> Result<(), ExtractError> {
        let written = write_rows(file, RESOURCES, out, read_snapshot).await;
        settle(out, self.tables(), written).await
    }
}

fn read_snapshot(input: InputReader, sink: &mut RowSink<ResourceRow>) -> Result<(), String> {
    let mut push = |index: usize, item: Value| {
        let row = parts_from_json(index, &item)
            .map_err(|e| e.to_string())?
            .into_row();
        let (account_id, region) = (row.resource_account_id.clone(), row.resource_region.clone());
        sink.push(account_id, region, row)
    };
    let document =
        stream_document(input, &["configurationItems"], false, &mut push).map_err(|error| {
            match error {
                StreamError::NotArray(key) => format!("`{key}` is not an array"),
                other => other.to_string(),
            }
        })?;
    // A rule event or a single item is small: it was read whole, and is read as before.
    let items = match document {
        Document::Records => return Ok(()),
        Document::Object(members) => items_of_document(Value::Object(members))?,
        Document::Scalar => return Err("the document is not a JSON object or array".to_owned()),
    };
    for (index, item) in items.into_iter().enumerate() {
        push(index, item)?;
    }
    Ok(())
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
            .import_file(
                &InputFile::from_bytes("snap.json", snapshot.to_string()),
                &mut out,
            )
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
                &InputFile::from_bytes("s3://b/k.json.gz", bad_item.to_string()),
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
            .import_file(
                &InputFile::from_bytes("x.json", &b"{\"configurationItems\": ["[..]),
                &mut out,
            )
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
