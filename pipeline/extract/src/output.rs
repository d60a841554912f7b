//! Where a source writes: one table writer per table, plus coverage and row errors.

use std::collections::{BTreeMap, HashMap};

use lakewarden_lake::{
    CommonColumns, Lake, LakeError, RowEncoder, RunInfo, TableOutput, TableWriter,
};
use serde::Serialize;

use crate::{CoverageRow, CoverageStatus, ExtractError, SourceContext};

/// One row of `lake_errors`, less the common columns.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub source: String,
    pub table_name: String,
    pub object: String,
    pub message: String,
}

/// How one table of one source, account and region ended.
#[derive(Debug)]
pub enum TableResult {
    Written(TableOutput),
    Failed { table: String, error: String },
}

/// Everything one source produced for one account and region.
#[derive(Debug)]
pub struct SourceResult {
    pub source: &'static str,
    pub account_id: String,
    pub region: String,
    pub tables: Vec<TableResult>,
    pub coverage: Vec<CoverageRow>,
    pub errors: Vec<ErrorRow>,
}

/// The sink a source writes its rows into.
pub struct SourceOutput {
    lake: Lake,
    run: RunInfo,
    source: &'static str,
    common: CommonColumns,
    writers: BTreeMap<String, TableWriter>,
    encoders: HashMap<String, RowEncoder>,
    failed: BTreeMap<String, String>,
    coverage: Vec<CoverageRow>,
    errors: Vec<ErrorRow>,
}

impl std::fmt::Debug for SourceOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceOutput")
            .field("source", &self.source)
            .field("account_id", &self.common.account_id)
            .field("region", &self.common.region)
            .finish()
    }
}

impl SourceOutput {
    pub fn new(lake: &Lake, source: &'static str, ctx: &SourceContext) -> Self {
        Self::for_partition(lake, source, &ctx.run, &ctx.account_id, &ctx.region)
    }

    /// An output for one account and region of a run, when no API context exists (an
    /// import of files).
    pub fn for_partition(
        lake: &Lake,
        source: &'static str,
        run: &RunInfo,
        account_id: &str,
        region: &str,
    ) -> Self {
        Self {
            lake: lake.clone(),
            run: run.clone(),
            source,
            common: CommonColumns {
                run_id: run.run_id.clone(),
                snapshot_at: run.snapshot_millis(),
                account_id: account_id.to_owned(),
                region: region.to_owned(),
            },
            writers: BTreeMap::new(),
            encoders: HashMap::new(),
            failed: BTreeMap::new(),
            coverage: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The lake this output writes to, for sources that merge into their previous snapshot.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn account_id(&self) -> &str {
        &self.common.account_id
    }

    /// Write rows (without the common columns) to a table. Rows for a table already
    /// failed are dropped.
    pub async fn rows<T: Serialize>(
        &mut self,
        table: &str,
        rows: &[T],
    ) -> Result<(), ExtractError> {
        if self.failed.contains_key(table) {
            return Ok(());
        }
        let encoder = match self.encoders.get_mut(table) {
            Some(encoder) => encoder,
            None => {
                let encoder = RowEncoder::new(self.lake.catalog(), table)?;
                self.encoders.entry(table.to_owned()).or_insert(encoder)
            }
        };
        let batch = encoder.encode_with(&self.common, rows)?;
        let writer = match self.writers.get_mut(table) {
            Some(writer) => writer,
            None => {
                let writer =
                    TableWriter::new(&self.lake, table, &self.common.account_id, &self.run)?;
                self.writers.entry(table.to_owned()).or_insert(writer)
            }
        };
        writer.write(batch).await?;
        Ok(())
    }

    /// Mark a table as not collected in this run: its rows so far are discarded and the
    /// previous snapshot stays current.
    pub fn fail_table(&mut self, table: &str, error: impl Into<String>) {
        self.failed
            .entry(table.to_owned())
            .or_insert_with(|| error.into());
    }

    pub fn is_failed(&self, table: &str) -> bool {
        self.failed.contains_key(table)
    }

    /// Record how one API call family went.
    pub fn coverage(
        &mut self,
        api: &str,
        status: CoverageStatus,
        message: Option<String>,
        calls: u32,
        tables: &[&str],
    ) {
        self.coverage.push(CoverageRow {
            source: self.source.to_owned(),
            api: api.to_owned(),
            status,
            message,
            calls: Some(i32::try_from(calls).unwrap_or(i32::MAX)),
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
        });
    }

    /// Record a failed API call family and fail the tables that depend on it: they keep
    /// their previous snapshot.
    pub fn record_failure(&mut self, api: &str, error: &ExtractError, calls: u32, tables: &[&str]) {
        tracing::warn!(
            source = self.source,
            account_id = %self.common.account_id,
            region = %self.common.region,
            api,
            %error,
            "API call family failed; its tables keep the previous snapshot"
        );
        self.coverage(
            api,
            error.coverage_status(),
            Some(error.to_string()),
            calls,
            tables,
        );
        for table in tables {
            self.fail_table(table, error.to_string());
        }
    }

    /// Record an input that was skipped because it could not be read.
    pub fn row_error(
        &mut self,
        table: &str,
        object: impl Into<String>,
        message: impl Into<String>,
    ) {
        let object = object.into();
        let message = message.into();
        tracing::warn!(
            source = self.source,
            account_id = %self.common.account_id,
            table,
            object = %object,
            error = %message,
            "Skipped an input that could not be read"
        );
        self.errors.push(ErrorRow {
            source: self.source.to_owned(),
            table_name: table.to_owned(),
            object,
            message,
        });
    }

    /// Memory held by rows buffered in this output's writers, in bytes.
    pub fn pending_bytes(&self) -> usize {
        self.writers.values().map(TableWriter::pending_bytes).sum()
    }

    /// Write every buffered row out now; see [`TableWriter::flush_pending`].
    pub async fn flush_pending(&mut self) -> Result<(), ExtractError> {
        for writer in self.writers.values_mut() {
            writer.flush_pending().await?;
        }
        Ok(())
    }

    /// How many of its tables have a file open.
    pub fn open_files(&self) -> usize {
        self.writers.values().filter(|w| w.has_open_file()).count()
    }

    /// Write the buffered rows and close every open file; see
    /// [`TableWriter::close_open_file`].
    pub async fn close_open_files(&mut self) -> Result<(), ExtractError> {
        for writer in self.writers.values_mut() {
            writer.close_open_file().await?;
        }
        Ok(())
    }

    /// Drop everything written: no table of this output is kept.
    pub async fn abort(mut self) {
        for (_, writer) in std::mem::take(&mut self.writers) {
            writer.abort().await;
        }
    }

    /// Close every table. `declared` lists the source's tables: one never written is
    /// committed with no rows, unless the source as a whole failed (`fatal`).
    pub async fn finish(mut self, declared: &[&str], fatal: Option<&ExtractError>) -> SourceResult {
        if let Some(error) = fatal {
            for table in declared {
                self.fail_table(table, error.to_string());
            }
        }
        let mut tables = Vec::new();
        for table in declared {
            if let Some(error) = self.failed.remove(*table) {
                if let Some(writer) = self.writers.remove(*table) {
                    writer.abort().await;
                }
                tables.push(TableResult::Failed {
                    table: (*table).to_owned(),
                    error,
                });
                continue;
            }
            let writer = match self.writers.remove(*table) {
                Some(writer) => Ok(writer),
                None => TableWriter::new(&self.lake, table, &self.common.account_id, &self.run),
            };
            let result = match writer {
                Ok(writer) => writer.finish().await,
                Err(error) => Err(error),
            };
            tables.push(match result {
                Ok(output) => TableResult::Written(output),
                Err(error) => failed_write(table, &error),
            });
        }
        for (table, writer) in std::mem::take(&mut self.writers) {
            tracing::error!(table, "A source wrote a table it does not declare; dropped");
            writer.abort().await;
        }
        SourceResult {
            source: self.source,
            account_id: self.common.account_id,
            region: self.common.region,
            tables,
            coverage: self.coverage,
            errors: self.errors,
        }
    }
}

fn failed_write(table: &str, error: &LakeError) -> TableResult {
    tracing::error!(table, %error, "Could not write a table snapshot");
    TableResult::Failed {
        table: table.to_owned(),
        error: error.to_string(),
    }
}

impl SourceResult {
    /// Add what a later output of the same source, account and region produced: files,
    /// rows and bytes of a table add up; a table failed in either is failed.
    fn absorb(&mut self, later: SourceResult) {
        for (kept, more) in self.tables.iter_mut().zip(later.tables) {
            match (&mut *kept, more) {
                (TableResult::Written(kept), TableResult::Written(more)) => {
                    kept.files.extend(more.files);
                    kept.rows += more.rows;
                    kept.bytes += more.bytes;
                }
                (TableResult::Failed { .. }, _) => {}
                (TableResult::Written(_), failed) => *kept = failed,
            }
        }
        self.coverage.extend(later.coverage);
        self.errors.extend(later.errors);
    }
}

/// Outputs of a source whose rows name their own account and region, as imported files
/// do: one [`SourceOutput`] per account and region, made on first use.
///
/// Rows are written as they come, file by file: [`keep_file`](Self::keep_file) closes the
/// current file's outputs and keeps them, [`discard_file`](Self::discard_file) drops
/// them, so a file rejected halfway leaves nothing behind. Each input file therefore
/// gets Parquet files of its own in every partition it touches.
#[derive(Debug)]
pub struct PartitionedOutput {
    lake: Lake,
    run: RunInfo,
    source: &'static str,
    outputs: BTreeMap<(String, String), SourceOutput>,
    kept: BTreeMap<(String, String), SourceResult>,
    /// When each partition was last written to, by a counter of calls to `partition`.
    last_used: BTreeMap<(String, String), u64>,
    uses: u64,
}

impl PartitionedOutput {
    pub fn new(lake: &Lake, source: &'static str, run: &RunInfo) -> Self {
        Self {
            lake: lake.clone(),
            run: run.clone(),
            source,
            outputs: BTreeMap::new(),
            kept: BTreeMap::new(),
            last_used: BTreeMap::new(),
            uses: 0,
        }
    }

    /// The lake written to.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The output for one account and region of the current file.
    pub fn partition(&mut self, account_id: &str, region: &str) -> &mut SourceOutput {
        let key = (account_id.to_owned(), region.to_owned());
        self.uses += 1;
        self.last_used.insert(key.clone(), self.uses);
        if !self.outputs.contains_key(&key) {
            let output =
                SourceOutput::for_partition(&self.lake, self.source, &self.run, account_id, region);
            self.outputs.insert(key.clone(), output);
        }
        self.outputs.get_mut(&key).expect("inserted above")
    }

    /// Keep the rows buffered across every partition under `limit` bytes: when they pass
    /// it, the partitions holding the most are written out (as smaller row groups) until
    /// half the limit is left. Without this, a file spread over many accounts and regions
    /// would hold up to a row group per partition.
    pub async fn bound_pending(&mut self, limit: usize) -> Result<(), ExtractError> {
        let mut total: usize = self.outputs.values().map(SourceOutput::pending_bytes).sum();
        if total <= limit {
            return Ok(());
        }
        let mut largest: Vec<(usize, (String, String))> = self
            .outputs
            .iter()
            .map(|(key, output)| (output.pending_bytes(), key.clone()))
            .collect();
        largest.sort_unstable_by(|a, b| b.cmp(a));
        for (bytes, key) in largest {
            if total <= limit / 2 {
                break;
            }
            if let Some(output) = self.outputs.get_mut(&key) {
                output.flush_pending().await?;
            }
            total -= bytes;
        }
        Ok(())
    }

    /// Files open across every partition, each holding an upload buffer.
    pub fn open_files(&self) -> usize {
        self.outputs.values().map(SourceOutput::open_files).sum()
    }

    /// Keep at most `limit` files open: past it, the partitions written to least recently
    /// have their files closed until half the limit is open. Every open file buffers up to
    /// an upload part, so without this a file spread over thousands of accounts and
    /// regions would hold thousands of buffers; with it, a partition the input keeps
    /// returning to gets several smaller files.
    pub async fn bound_open_files(&mut self, limit: usize) -> Result<(), ExtractError> {
        let mut open = self.open_files();
        if open <= limit {
            return Ok(());
        }
        let mut oldest: Vec<(u64, (String, String))> = self
            .outputs
            .iter()
            .filter(|(_, output)| output.open_files() > 0)
            .map(|(key, _)| (self.last_used.get(key).copied().unwrap_or(0), key.clone()))
            .collect();
        oldest.sort_unstable();
        for (_, key) in oldest {
            if open <= limit / 2 {
                break;
            }
            if let Some(output) = self.outputs.get_mut(&key) {
                open -= output.open_files();
                output.close_open_files().await?;
            }
        }
        Ok(())
    }

    /// The current file was read whole: close its outputs and keep what they wrote.
    pub async fn keep_file(&mut self, declared: &[&str]) {
        self.last_used.clear();
        for (key, output) in std::mem::take(&mut self.outputs) {
            let result = output.finish(declared, None).await;
            match self.kept.get_mut(&key) {
                Some(kept) => kept.absorb(result),
                None => {
                    self.kept.insert(key, result);
                }
            }
        }
    }

    /// The current file was rejected: drop every row it wrote.
    pub async fn discard_file(&mut self) {
        self.last_used.clear();
        for (_, output) in std::mem::take(&mut self.outputs) {
            output.abort().await;
        }
    }

    /// Close every partition, keeping the current file's rows; see [`SourceOutput::finish`].
    pub async fn finish(mut self, declared: &[&str]) -> Vec<SourceResult> {
        self.keep_file(declared).await;
        self.kept.into_values().collect()
    }
}
