//! Replay tests of the IAM source: the real SDK client, answered from recorded IAM responses.
//!
//! The emulator the integration tests run against (moto) ignores page sizes, so following
//! `Marker`, refusing a repeated marker, keeping a page that came after a throttled attempt
//! and polling the credential report can only be shown with recorded pages. The SDK's
//! [`StaticReplayClient`] hands out the responses in order and keeps the requests, which
//! the tests then read back. The bodies are under `tests/fixtures/iam/replay/`; its
//! `ATTRIBUTION.md` says where they come from and how they were changed.

use std::time::Duration;

use aws_sdk_iam::Client;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use lakewarden_lake::{Lake, RunInfo};
use percent_encoding::percent_decode_str;

use super::IamImporter;
use super::source::{
    CREDENTIAL_REPORT, GROUPS, INLINE_POLICIES, IamOptions, POLICIES, ROLES, STATEMENTS, USERS,
    authorization_details, credential_report,
};
use crate::testing::{coverage, memory_lake, recorded, result_batches, rows, table_result};
use crate::{
    CoverageStatus, ExtractError, Importer, InputFile, PartitionedOutput, SourceContext,
    SourceOutput, TableResult,
};

const ACCOUNT_ID: &str = "123456789012";

const AUTHORIZATION_TABLES: &[&str] =
    &[USERS, GROUPS, ROLES, POLICIES, INLINE_POLICIES, STATEMENTS];

/// `Marker` of the first recorded page, as the AWS CLI example has it.
const MARKER_1: &str = "EXAMPLEkakv9BCuUNFDtxWSyfzetYwEx2ADc8dnzfvERF5S6YMvXKx41t6gCl/eeaCX3\
                        Jo94/bKqezEAg8TEVS99EKFLxm3jtbpl25FDWEXAMPLE";
/// `Marker` of the second recorded page; `+`, `/` and `=` must survive form encoding.
const MARKER_2: &str = "EXAMPLE2ndPageMarker+Qm9iIGFuZCBDaGFybGll/z9x==";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/iam/replay/",
            $name
        ))
    };
}

const PAGE_1: &str = fixture!("authorization-details-page-1.xml");
const PAGE_2: &str = fixture!("authorization-details-page-2.xml");
const PAGE_3: &str = fixture!("authorization-details-page-3.xml");
const THROTTLED: &str = fixture!("throttling-error.xml");
const REPORT_STARTED: &str = fixture!("generate-credential-report-started.xml");
const REPORT_IN_PROGRESS: &str = fixture!("generate-credential-report-inprogress.xml");
const REPORT_COMPLETE: &str = fixture!("generate-credential-report-complete.xml");
const REPORT_CONTENT: &str = fixture!("get-credential-report.xml");

/// A recorded response. The expected request is left empty: the tests read the requests
/// actually sent instead of matching them whole, since signing headers change every run.
fn answer(status: u16, body: &str) -> ReplayEvent {
    recorded(status, "text/xml", None, body)
}

fn ok(body: &str) -> ReplayEvent {
    answer(200, body)
}

/// An IAM client whose only connection is the replay client. Retries are those of the
/// SDK's standard mode with the backoff cut to a millisecond, so a retried attempt costs
/// nothing in a test.
fn client(replay: &StaticReplayClient) -> Client {
    Client::new(&crate::testing::replay_sdk_config(replay, 3))
}

/// A lake in memory.
struct TestLake {
    lake: Lake,
}

impl TestLake {
    fn new(_test: &str) -> Self {
        Self {
            lake: memory_lake(),
        }
    }
}

fn context() -> SourceContext {
    SourceContext {
        run: RunInfo::start(chrono::Utc::now()),
        account_id: ACCOUNT_ID.to_owned(),
        region: "global".to_owned(),
        sdk: aws_types::SdkConfig::builder().build(),
        limits: std::sync::Arc::new(crate::RateLimits::new(
            Default::default(),
            crate::Rate::new(0.0, 0.0),
        )),
    }
}

/// The decoded form parameters of a query-protocol request body, in order.
fn form(request: &HttpRequest) -> Vec<(String, String)> {
    let body = request
        .body()
        .bytes()
        .expect("the request body is in memory");
    let body = std::str::from_utf8(body).expect("the request body is UTF-8");
    let decode = |text: &str| {
        percent_decode_str(text)
            .decode_utf8()
            .expect("a parameter is UTF-8")
            .into_owned()
    };
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn param(request: &HttpRequest, key: &str) -> Option<String> {
    form(request)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Action and Marker of every request the replay client answered.
fn sent(replay: &StaticReplayClient) -> Vec<(String, Option<String>)> {
    replay
        .actual_requests()
        .map(|request| {
            let action = param(request, "Action").expect("every request names its action");
            (action, param(request, "Marker"))
        })
        .collect()
}

fn actions(replay: &StaticReplayClient) -> Vec<String> {
    sent(replay).into_iter().map(|(action, _)| action).collect()
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Options for the credential report with waits short enough for a test.
fn quick_polls(deadline: Duration) -> IamOptions {
    IamOptions {
        credential_report_deadline: deadline,
        poll_interval: Duration::from_millis(1),
        max_poll_interval: Duration::from_millis(4),
        concurrency: 1,
    }
}

/// A truncated page holding one user and `marker`.
fn one_user_page(user: &str, marker: &str) -> String {
    format!(
        r#"<GetAccountAuthorizationDetailsResponse
    xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetAccountAuthorizationDetailsResult>
    <IsTruncated>true</IsTruncated>
    <Marker>{marker}</Marker>
    <UserDetailList>
      <member>
        <UserName>{user}</UserName>
        <UserId>AIDA1234567890EXAMPLE</UserId>
        <Arn>arn:aws:iam::{ACCOUNT_ID}:user/{user}</Arn>
        <Path>/</Path>
        <CreateDate>2013-10-14T18:32:24Z</CreateDate>
      </member>
    </UserDetailList>
    <GroupDetailList/>
    <RoleDetailList/>
    <Policies/>
  </GetAccountAuthorizationDetailsResult>
  <ResponseMetadata>
    <RequestId>7d0e4c1a-5555-4b2f-9c3d-000000000005</RequestId>
  </ResponseMetadata>
</GetAccountAuthorizationDetailsResponse>
"#
    )
}

#[tokio::test]
async fn authorization_details_pages_to_the_end() {
    let lake = TestLake::new("pages-to-the-end");
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "iam", &ctx);
    let replay = StaticReplayClient::new(vec![ok(PAGE_1), ok(PAGE_2), ok(PAGE_3)]);

    let mut calls = 0;
    let users = authorization_details(&client(&replay), &ctx, &mut out, &mut calls)
        .await
        .expect("all three pages are read");
    let result = out.finish(AUTHORIZATION_TABLES, None).await;

    let users: Vec<(String, String)> = users.into_iter().map(|u| (u.name, u.arn)).collect();
    let user = |name: &str| {
        (
            name.to_owned(),
            format!("arn:aws:iam::{ACCOUNT_ID}:user/{name}"),
        )
    };
    assert_eq!(users, vec![user("Alice"), user("Bob"), user("Charlie")]);

    let action = "GetAccountAuthorizationDetails".to_owned();
    assert_eq!(
        sent(&replay),
        vec![
            (action.clone(), None),
            (action.clone(), Some(MARKER_1.to_owned())),
            (action, Some(MARKER_2.to_owned())),
        ]
    );
    let first = replay.actual_requests().next().expect("a first request");
    assert_eq!(param(first, "Version").as_deref(), Some("2010-05-08"));

    // Pages: users 2 + 1 + 0, groups 2 + 1 + 0, roles 0 + 1 + 0. Policies 1 + 1 + 2, less
    // the AWS managed policy that nothing uses. Inline policies: Bob's and Finance's.
    assert_eq!(rows(&result, USERS), 3);
    assert_eq!(rows(&result, GROUPS), 3);
    assert_eq!(rows(&result, ROLES), 1);
    assert_eq!(rows(&result, POLICIES), 3);
    assert_eq!(rows(&result, INLINE_POLICIES), 2);
    // Bob's inline 1 (a lone object), Finance's inline 1, EC2role's trust policy 1,
    // create-update-delete-set-managed-policies 1, S3-read-only-specific-bucket 1,
    // AmazonEC2FullAccess 4; the skipped IAMReadOnlyAccess adds none.
    assert_eq!(rows(&result, STATEMENTS), 9);
    assert!(result.errors.is_empty(), "{:?}", result.errors);

    let covered = coverage(&result, "GetAccountAuthorizationDetails");
    assert_eq!(covered.status, CoverageStatus::Ok);
    assert_eq!(covered.calls, Some(3));
    assert_eq!(covered.message, None);
    assert_eq!(covered.tables, owned(AUTHORIZATION_TABLES));
}

#[tokio::test]
async fn repeated_marker_is_an_error() {
    let lake = TestLake::new("repeated-marker");
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "iam", &ctx);
    // A third, final page is there to be taken: the loop must stop before asking for it.
    let replay = StaticReplayClient::new(vec![
        ok(&one_user_page("Alice", "m1")),
        ok(&one_user_page("Bob", "m1")),
        ok(PAGE_3),
    ]);

    let mut calls = 0;
    let error = authorization_details(&client(&replay), &ctx, &mut out, &mut calls)
        .await
        .expect_err("a marker given twice stops the listing");

    match &error {
        ExtractError::RepeatedToken { api, token, pages } => {
            assert_eq!(*api, "GetAccountAuthorizationDetails");
            assert_eq!(token, "m1");
            assert_eq!(*pages, 2);
            assert_eq!(calls, 2, "calls made before the failure are counted");
        }
        other => panic!("expected RepeatedToken, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "GetAccountAuthorizationDetails: the API returned the continuation token \"m1\" twice \
         (page 2)"
    );
    let action = "GetAccountAuthorizationDetails".to_owned();
    assert_eq!(
        sent(&replay),
        vec![(action.clone(), None), (action, Some("m1".to_owned()))]
    );
}

#[tokio::test]
async fn credential_report_polls_until_complete() {
    let lake = TestLake::new("report-polls");
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "iam", &ctx);
    let replay = StaticReplayClient::new(vec![
        ok(REPORT_STARTED),
        ok(REPORT_IN_PROGRESS),
        ok(REPORT_COMPLETE),
        ok(REPORT_CONTENT),
    ]);

    credential_report(
        &client(&replay),
        &ctx,
        &mut out,
        &quick_polls(Duration::from_secs(10)),
    )
    .await
    .expect("the report is read");
    let result = out.finish(&[CREDENTIAL_REPORT], None).await;

    assert_eq!(
        actions(&replay),
        owned(&[
            "GenerateCredentialReport",
            "GenerateCredentialReport",
            "GenerateCredentialReport",
            "GetCredentialReport",
        ])
    );
    // `<root_account>` and Alice.
    assert_eq!(rows(&result, CREDENTIAL_REPORT), 2);
    assert!(result.errors.is_empty(), "{:?}", result.errors);

    let covered = coverage(&result, "GetCredentialReport");
    assert_eq!(covered.status, CoverageStatus::Ok);
    assert_eq!(covered.calls, Some(4));
    assert_eq!(covered.message, None);
    assert_eq!(covered.tables, owned(&[CREDENTIAL_REPORT]));
}

#[tokio::test]
async fn credential_report_deadline_fails_only_that_table() {
    const ANSWERS: usize = 200;
    let lake = TestLake::new("report-deadline");
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "iam", &ctx);
    // More answers than polls fit in the deadline: running out would be another failure.
    let replay = StaticReplayClient::new((0..ANSWERS).map(|_| ok(REPORT_IN_PROGRESS)).collect());

    credential_report(
        &client(&replay),
        &ctx,
        &mut out,
        &quick_polls(Duration::from_millis(200)),
    )
    .await
    .expect("a report that is never ready fails its table, not the run");
    let result = out.finish(&[CREDENTIAL_REPORT], None).await;

    let asked = actions(&replay);
    assert!(
        asked.len() >= 2 && asked.len() < ANSWERS,
        "{} polls",
        asked.len()
    );
    assert!(
        asked.iter().all(|a| a == "GenerateCredentialReport"),
        "{asked:?}"
    );

    let expected = "iam GetCredentialReport in account 123456789012, region global: the \
                    credential report was not ready within";
    match table_result(&result, CREDENTIAL_REPORT) {
        TableResult::Failed { error, .. } => assert!(error.starts_with(expected), "{error}"),
        TableResult::Written(output) => panic!("expected a failed table, got {output:?}"),
    }
    let covered = coverage(&result, "GetCredentialReport");
    assert_eq!(covered.status, CoverageStatus::Error);
    let message = covered.message.as_deref().unwrap_or_default();
    assert!(message.starts_with(expected), "{message}");
    assert_eq!(covered.tables, owned(&[CREDENTIAL_REPORT]));
}

#[tokio::test]
async fn throttled_then_ok_page_is_kept() {
    let lake = TestLake::new("throttled-then-ok");
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "iam", &ctx);
    let replay = StaticReplayClient::new(vec![ok(PAGE_1), answer(400, THROTTLED), ok(PAGE_3)]);

    let mut calls = 0;
    let users = authorization_details(&client(&replay), &ctx, &mut out, &mut calls)
        .await
        .expect("the SDK retries the throttled attempt");
    let result = out.finish(AUTHORIZATION_TABLES, None).await;

    // The retried attempt asks for the same page again.
    let action = "GetAccountAuthorizationDetails".to_owned();
    assert_eq!(
        sent(&replay),
        vec![
            (action.clone(), None),
            (action.clone(), Some(MARKER_1.to_owned())),
            (action, Some(MARKER_1.to_owned())),
        ]
    );
    let names: Vec<String> = users.into_iter().map(|u| u.name).collect();
    assert_eq!(names, owned(&["Alice", "Bob"]));

    // Page 1: Alice and Bob, Admins and Dev, one policy, Bob's inline policy. Page 3:
    // AmazonEC2FullAccess (IAMReadOnlyAccess is skipped). Statements: Bob's 1, the
    // page-1 policy's 1, AmazonEC2FullAccess's 4.
    assert_eq!(rows(&result, USERS), 2);
    assert_eq!(rows(&result, GROUPS), 2);
    assert_eq!(rows(&result, ROLES), 0);
    assert_eq!(rows(&result, POLICIES), 2);
    assert_eq!(rows(&result, INLINE_POLICIES), 1);
    assert_eq!(rows(&result, STATEMENTS), 6);
    assert!(result.errors.is_empty(), "{:?}", result.errors);

    // Coverage counts pages read, not attempts.
    let covered = coverage(&result, "GetAccountAuthorizationDetails");
    assert_eq!(covered.status, CoverageStatus::Ok);
    assert_eq!(covered.calls, Some(2));
}

#[tokio::test]
async fn unparseable_policy_document_is_a_row_error_naming_the_policy() {
    // The same first page, with one managed policy's document made invalid JSON (a
    // truncated document, as a broken proxy might deliver it).
    let good = "<Document>%7B%0A%20%20%20%20%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20%20%20%22Statement%22%3A%20%7B%0A%20%20%20%20%20%20%20%20%22Effect%22%3A%20%22Allow%22%2C%0A%20%20%20%20%20%20%20%20%22Action%22%3A%20%5B%0A%20%20%20%20%20%20%20%20%20%20%20%20%22iam%3ACreatePolicy%22";
    assert!(
        PAGE_1.contains(good),
        "the fixture holds the document this test breaks"
    );
    let broken_page = PAGE_1.replacen(
        good,
        "<Document>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement",
        1,
    );
    let broken_page = broken_page.replacen("%0A%7D</Document>", "</Document>", 1);

    let lake = TestLake::new("broken-document");
    let ctx = context();
    let mut out = SourceOutput::new(&lake.lake, "iam", &ctx);
    let replay = StaticReplayClient::new(vec![ok(&broken_page), ok(PAGE_2), ok(PAGE_3)]);
    let mut calls = 0;
    authorization_details(&client(&replay), &ctx, &mut out, &mut calls)
        .await
        .expect("one bad document does not stop the listing");
    let result = out.finish(AUTHORIZATION_TABLES, None).await;

    let arn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/create-update-delete-set-managed-policies");
    assert_eq!(result.errors.len(), 1, "{:?}", result.errors);
    assert_eq!(result.errors[0].object, arn);
    assert_eq!(result.errors[0].table_name, STATEMENTS);
    // The policy row is kept, without its document; its one statement is missing.
    assert_eq!(rows(&result, POLICIES), 3);
    assert_eq!(rows(&result, STATEMENTS), 8);
    assert_eq!(
        coverage(&result, "GetAccountAuthorizationDetails").status,
        CoverageStatus::Ok
    );
}

#[tokio::test]
async fn a_pull_and_an_import_of_the_same_listing_write_the_same_rows() {
    // The recorded pages are the AWS CLI's example split in three and encoded as IAM sends
    // it; the import reads the example as the CLI prints it, documents decoded.
    let ctx = context();
    let (pull_lake, import_lake) = (memory_lake(), memory_lake());
    let mut out = SourceOutput::new(&pull_lake, "iam", &ctx);
    let replay = StaticReplayClient::new(vec![ok(PAGE_1), ok(PAGE_2), ok(PAGE_3)]);
    authorization_details(&client(&replay), &ctx, &mut out, &mut 0)
        .await
        .expect("pulled");
    let pulled = out.finish(AUTHORIZATION_TABLES, None).await;

    let mut out = PartitionedOutput::new(&import_lake, "iam", &ctx.run);
    let example = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/iam/awscli-example-get-account-authorization-details.json"
    ));
    IamImporter::new()
        .import_file(&InputFile::from_bytes("awscli.json", example), &mut out)
        .await
        .expect("imported");
    let imported = out.finish(AUTHORIZATION_TABLES).await;
    assert_eq!(imported.len(), 1);
    assert_eq!(
        (imported[0].account_id.as_str(), imported[0].region.as_str()),
        (ACCOUNT_ID, "global"),
        "the partition a pull writes"
    );

    for table in AUTHORIZATION_TABLES {
        let from_pull = result_batches(&pull_lake, &pulled, table).await;
        let from_import = result_batches(&import_lake, &imported[0], table).await;
        assert!(!from_pull.is_empty(), "{table}");
        assert_eq!(from_import, from_pull, "{table}");
    }
}
