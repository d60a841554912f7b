//! What the replay tests of every source share: recorded responses for the SDK's replay
//! client, an in-memory lake, and lookups into a source's results.

use std::sync::Arc;

use arrow::array::RecordBatch;
use aws_smithy_http_client::test_util::ReplayEvent;
use aws_smithy_runtime_api::http::{Request, Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use futures::TryStreamExt;
use lakewarden_lake::{Lake, TableOutput};

use crate::{CoverageRow, SourceResult, TableResult};

/// A recorded response with its status, content type and, for restJson errors, the
/// `x-amzn-ErrorType` header. The expected request is left empty: tests read the
/// requests actually sent instead, since signing headers change on every run.
pub fn recorded(
    status: u16,
    content_type: &str,
    error_type: Option<&str>,
    body: &str,
) -> ReplayEvent {
    let mut response = Response::new(
        StatusCode::try_from(status).expect("a valid status code"),
        SdkBody::from(body.to_owned()),
    );
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    if let Some(code) = error_type {
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", code.to_owned());
    }
    ReplayEvent::new(Request::new(SdkBody::empty()), response)
}

/// The SDK configuration of every replay test: the replay client as the only connection,
/// static dummy credentials, `us-east-1`, and the SDK's standard retries with the backoff
/// cut to milliseconds, so a retried attempt costs nothing in a test. A service client
/// is `Client::new(&replay_sdk_config(..))`.
pub fn replay_sdk_config(
    replay: &aws_smithy_http_client::test_util::StaticReplayClient,
    max_attempts: u32,
) -> aws_types::SdkConfig {
    let credentials = aws_sdk_iam::config::Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "replay",
    );
    aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("us-east-1"))
        .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(
            credentials,
        ))
        .retry_config(
            aws_smithy_types::retry::RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(std::time::Duration::from_millis(1))
                .with_max_backoff(std::time::Duration::from_millis(5)),
        )
        .http_client(replay.clone())
        .build()
}

/// A lake in memory, rooted at `lake/`.
pub fn memory_lake() -> Lake {
    let store = Arc::new(object_store::memory::InMemory::new());
    Lake::new("memory://", store, object_store::path::Path::from("lake")).expect("lake opens")
}

/// How one table ended.
pub fn table_result<'a>(result: &'a SourceResult, name: &str) -> &'a TableResult {
    result
        .tables
        .iter()
        .find(|t| match t {
            TableResult::Written(output) => output.table == name,
            TableResult::Failed { table, .. } => table == name,
        })
        .unwrap_or_else(|| panic!("no result for table {name}"))
}

/// Rows a table was written with; a failed table fails the test.
pub fn rows(result: &SourceResult, name: &str) -> u64 {
    match table_result(result, name) {
        TableResult::Written(output) => output.rows,
        TableResult::Failed { error, .. } => panic!("table {name} failed: {error}"),
    }
}

/// Every record batch of a written table output, read back from the lake in file order.
pub async fn written_batches(lake: &Lake, output: &TableOutput) -> Vec<RecordBatch> {
    let snapshot = lakewarden_lake::CommittedSnapshot {
        run_id: String::new(),
        snapshot_at: 0,
        files: output.files.clone(),
        rows: i64::try_from(output.rows).expect("row count"),
    };
    lakewarden_lake::read_snapshot(lake, &output.table, &snapshot, None)
        .await
        .expect("stream")
        .try_collect()
        .await
        .expect("batches")
}

/// Every record batch of one table a result wrote; a failed table fails the test.
pub async fn result_batches(lake: &Lake, result: &SourceResult, name: &str) -> Vec<RecordBatch> {
    match table_result(result, name) {
        TableResult::Written(output) => written_batches(lake, output).await,
        TableResult::Failed { error, .. } => panic!("table {name} failed: {error}"),
    }
}

/// The one coverage row of an API family.
pub fn coverage<'a>(result: &'a SourceResult, api: &str) -> &'a CoverageRow {
    let mut found = result.coverage.iter().filter(|c| c.api == api);
    let row = found
        .next()
        .unwrap_or_else(|| panic!("no coverage row for {api}"));
    assert!(
        found.next().is_none(),
        "more than one coverage row for {api}"
    );
    row
}
