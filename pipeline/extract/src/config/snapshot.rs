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
        let items = items_of_document(doc).map_err(input)?;
        let rows: Vec<ResourceRow> = items
            .iter()
            .enumerate()
            .map(|(index, item)| parts_from_json(index, item).map(|p| p.into_row()))
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
