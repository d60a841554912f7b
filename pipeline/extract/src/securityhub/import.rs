//! `lakewarden import securityhub`: exported ASFF files into `securityhub_findings`, each
//! finding in the partition of its own account and region.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::asff::{FindingRow, export_findings, finding_row};
use super::source::{FINDINGS, SOURCE};
use crate::{ExtractError, Importer, PartitionedOutput};

/// Imports exported findings (`{"Findings": […]}`, `{"findings": […]}`, a bare array or
/// JSON lines). A file is taken whole or not at all: a finding that does not parse, or
/// names no 12-digit account or no region, rejects its file, naming the finding. Archived
/// findings are read and left out, as a pull leaves them out.
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
        let mut partitions: BTreeMap<(String, String), Vec<FindingRow>> = BTreeMap::new();
        for (n, value) in findings.iter().enumerate() {
            let row = finding_row(value).map_err(|e| rejected(format!("finding {n}: {e}")))?;
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
            partitions
                .entry((account.clone(), region))
                .or_default()
                .push(row);
        }
        for ((account, region), rows) in partitions {
            out.partition(&account, &region).rows(FINDINGS, &rows).await?;
        }
        Ok(())
    }
}
