//! How an import moves one file's rows: a blocking thread reads and converts records (see
//! [`crate::stream`]) and hands rows over in bounded chunks, while the async side encodes
//! and writes them. Reading and writing overlap, and memory holds a few chunks and the
//! writers' buffers, never the file.

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::{ExtractError, InputFile, InputReader, PartitionedOutput};

/// Rows in one chunk handed from the reading thread to the writer.
const CHUNK_ROWS: usize = 1000;

/// Chunks waiting for the writer; the reader blocks once this many are queued.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Rows buffered for row groups across every partition of a file, at most, in bytes.
const PENDING_LIMIT: usize = 64 * 1024 * 1024;

/// Upload buffers of open Parquet files across every partition of a file, at most, in
/// bytes: 128 files for a local folder (1 MiB each), 25 on S3 (5 MiB parts).
const OPEN_FILE_BUFFERS: usize = 128 * 1024 * 1024;

/// Rows of one chunk, by (account, region).
type Chunk<R> = BTreeMap<(String, String), Vec<R>>;

/// Where the reading thread puts rows: each goes to the partition of its account and region.
#[derive(Debug)]
pub(crate) struct RowSink<R> {
    sender: mpsc::Sender<Chunk<R>>,
    chunk: Chunk<R>,
    rows: usize,
}

impl<R> RowSink<R> {
    /// Add a row for an account and region. `Err` when the writer has stopped (its own
    /// error is the one reported).
    pub(crate) fn push(
        &mut self,
        account_id: String,
        region: String,
        row: R,
    ) -> Result<(), String> {
        self.chunk
            .entry((account_id, region))
            .or_default()
            .push(row);
        self.rows += 1;
        if self.rows >= CHUNK_ROWS {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), String> {
        if self.rows == 0 {
            return Ok(());
        }
        self.rows = 0;
        self.sender
            .blocking_send(std::mem::take(&mut self.chunk))
            .map_err(|_| "the writer stopped".to_owned())
    }
}

/// Open `file`, run `read` over it on a blocking thread and write every row it pushes to
/// `table` in `out`, in the partition the row names. Returns what `read` returns. An
/// `Err` names the file; the rows written so far stay in `out` for the caller to keep or
/// discard.
pub(crate) async fn write_rows<R, T, F>(
    file: &InputFile,
    table: &'static str,
    out: &mut PartitionedOutput,
    read: F,
) -> Result<T, ExtractError>
where
    R: Serialize + Send + 'static,
    T: Send + 'static,
    F: FnOnce(InputReader, &mut RowSink<R>) -> Result<T, String> + Send + 'static,
{
    let input = file.open().await?;
    let (sender, mut receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let reading = tokio::task::spawn_blocking(move || {
        let mut sink = RowSink {
            sender,
            chunk: BTreeMap::new(),
            rows: 0,
        };
        let value = read(input, &mut sink)?;
        sink.send()?;
        Ok(value)
    });

    let mut written = Ok(());
    while let Some(chunk) = receiver.recv().await {
        written = write_chunk(out, table, chunk).await;
        if written.is_err() {
            break;
        }
    }
    // A writer that failed closes the channel, so the reading thread stops at its next row.
    drop(receiver);
    let read = reading.await.map_err(|e| ExtractError::Input {
        file: file.name().to_owned(),
        message: format!("reading stopped: {e}"),
    })?;
    written?;
    read.map_err(|message| ExtractError::Input {
        file: file.name().to_owned(),
        message,
    })
}

async fn write_chunk<R: Serialize>(
    out: &mut PartitionedOutput,
    table: &str,
    chunk: Chunk<R>,
) -> Result<(), ExtractError> {
    for ((account_id, region), rows) in chunk {
        out.partition(&account_id, &region)
            .rows(table, &rows)
            .await?;
    }
    out.bound_pending(PENDING_LIMIT).await?;
    let open_files = (OPEN_FILE_BUFFERS / lakewarden_lake::upload_buffer(out.lake())).max(2);
    out.bound_open_files(open_files).await
}

/// Keep the rows of a file that was read whole, or drop them all when it was rejected.
pub(crate) async fn settle<T>(
    out: &mut PartitionedOutput,
    tables: &[&str],
    result: Result<T, ExtractError>,
) -> Result<T, ExtractError> {
    match result {
        Ok(value) => {
            out.keep_file(tables).await;
            Ok(value)
        }
        Err(error) => {
            out.discard_file().await;
            Err(error)
        }
    }
}
