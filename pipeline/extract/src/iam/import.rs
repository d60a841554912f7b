//! `lakewarden import iam`: files holding what `aws iam get-account-authorization-details`
//! prints, into the six tables the live IAM source fills from that API.

use std::io::Read;

use async_trait::async_trait;

use super::authorization::{AUTHORIZATION_TABLES, AuthorizationRows};
use super::details::AuthorizationDetails;
use super::source::SOURCE;
use crate::import::settle;
use crate::{ExtractError, GLOBAL_REGION, Importer, InputFile, PartitionedOutput};

/// Imports authorization details, one account per file, into the partition of that
/// account and the region a pull of IAM uses ([`GLOBAL_REGION`]).
///
/// The document has no account field: the account is the one the ARNs of its users,
/// groups, roles and customer managed policies name, or the one stated with
/// [`IamImporter::for_account`], which every such ARN must then name. A file is read whole
/// (the document is one account's listing, not a stream of records) and taken whole or not
/// at all. A file marked `IsTruncated` (one page of a listing, as the AWS CLI's documented
/// example is) is imported with a warning: the rest of the account is not in it.
/// A policy document that does not parse is a row error naming the policy, as in a pull.
/// The credential report, access keys, MFA devices, password policy and account
/// summary are not in the document, so an import commits none of their tables.
#[derive(Debug, Clone, Default)]
pub struct IamImporter {
    account: Option<String>,
}

impl IamImporter {
    /// An importer that takes each file's account from its ARNs.
    pub fn new() -> Self {
        Self::default()
    }

    /// An importer for one stated account: a file whose ARNs name another is rejected.
    pub fn for_account(account_id: &str) -> Result<Self, String> {
        if !is_account_id(account_id) {
            return Err(format!(
                "--account {account_id:?} is not a 12-digit account id"
            ));
        }
        Ok(Self {
            account: Some(account_id.to_owned()),
        })
    }

    /// The file's account and rows, converted on a blocking thread.
    async fn read(&self, file: &InputFile) -> Result<(String, AuthorizationRows), ExtractError> {
        let mut input = file.open().await?;
        let stated = self.account.clone();
        let name = file.name().to_owned();
        let reading = tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            input
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot be read: {e}"))?;
            let (details, truncated) = AuthorizationDetails::from_cli_json(&bytes)?;
            drop(bytes);
            if truncated {
                tracing::warn!(
                    file = %name,
                    "IsTruncated is true: the file is one page of a longer listing, and \
                     principals on the other pages will read as deleted"
                );
            }
            let account = account_of(&details, stated.as_deref())?;
            Ok((account, AuthorizationRows::build(details)))
        });
        let input_error = |message| ExtractError::Input {
            file: file.name().to_owned(),
            message,
        };
        reading
            .await
            .map_err(|e| input_error(format!("reading stopped: {e}")))?
            .map_err(input_error)
    }
}

#[async_trait]
impl Importer for IamImporter {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn tables(&self) -> &'static [&'static str] {
        AUTHORIZATION_TABLES
    }

    async fn import_file(
        &self,
        file: &InputFile,
        out: &mut PartitionedOutput,
    ) -> Result<(), ExtractError> {
        let written = match self.read(file).await {
            Ok((account, rows)) => {
                tracing::debug!(
                    file = file.name(),
                    account_id = %account,
                    users = rows.users.len(),
                    roles = rows.roles.len(),
                    statements = rows.statements.len(),
                    "Read authorization details"
                );
                rows.write(out.partition(&account, GLOBAL_REGION)).await
            }
            Err(error) => Err(error),
        };
        settle(out, self.tables(), written).await
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account the ARNs of the document name: one, or the stated one.
fn account_of(details: &AuthorizationDetails, stated: Option<&str>) -> Result<String, String> {
    // The account, and where it was first seen.
    let mut found: Option<(String, String)> =
        stated.map(|account| (account.to_owned(), "--account".to_owned()));
    for (place, arn) in details.arns() {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
            return Err(format!("{place}: Arn {arn:?} is not an IAM ARN"));
        }
        let account = parts[4];
        // AWS managed policies belong to no account.
        if account == "aws" && place.starts_with("Policies[") {
            continue;
        }
        if !is_account_id(account) {
            return Err(format!("{place}: Arn {arn:?} names no 12-digit account"));
        }
        match &found {
            None => found = Some((account.to_owned(), format!("{place} {arn}"))),
            Some((first, _)) if first == account => {}
            Some((first, _)) if stated.is_some() => {
                return Err(format!(
                    "{place}: {arn} is in account {account}, not in {first} given by --account"
                ));
            }
            Some((first, seen)) => {
                return Err(format!(
                    "the ARNs name two accounts, {first} ({seen}) and {account} ({place} \
                     {arn}); a file holds one account's authorization details"
                ));
            }
        }
    }
    found.map(|(account, _)| account).ok_or_else(|| {
        "no ARN of a user, group, role or customer managed policy names an account; \
         state it with --account"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use lakewarden_lake::RunInfo;
    use serde_json::json;

    use super::*;
    use crate::SourceResult;
    use crate::iam::policy::Principal;
    use crate::iam::source::{GROUPS, INLINE_POLICIES, POLICIES, ROLES, STATEMENTS, USERS};
    use crate::testing::{memory_lake, rows};

    const CLOUDSPLAINING: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/iam/cloudsplaining-authz-details.json"
    ));
    const AWSCLI: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/iam/awscli-example-get-account-authorization-details.json"
    ));

    /// The account most of the Cloudsplaining sample's principals are in.
    const SAMPLE_ACCOUNT: &str = "200611803367";

    /// The Cloudsplaining sample in one account: its few principals and policies in
    /// 012345678901 moved to the account of the rest, as the test harness seeds it.
    fn cloudsplaining_one_account() -> String {
        CLOUDSPLAINING.replace("012345678901", SAMPLE_ACCOUNT)
    }

    /// Import the files in order; the partitions written and each rejected file's error.
    async fn import(
        importer: &IamImporter,
        files: &[(&str, &str)],
    ) -> (Vec<SourceResult>, Vec<String>) {
        let lake = memory_lake();
        let run = RunInfo::start(chrono::Utc::now());
        let mut out = PartitionedOutput::new(&lake, SOURCE, &run);
        let mut rejected = Vec::new();
        for (name, text) in files {
            let file = InputFile::from_bytes(name, text.as_bytes().to_vec());
            if let Err(error) = importer.import_file(&file, &mut out).await {
                rejected.push(error.to_string());
            }
        }
        (out.finish(AUTHORIZATION_TABLES).await, rejected)
    }

    /// Rows of each authorization table, in the order of `AUTHORIZATION_TABLES`.
    fn counts(result: &SourceResult) -> [u64; 6] {
        [USERS, GROUPS, ROLES, POLICIES, INLINE_POLICIES, STATEMENTS].map(|t| rows(result, t))
    }

    fn built(text: &str) -> AuthorizationRows {
        let (details, _) = AuthorizationDetails::from_cli_json(text.as_bytes()).expect("parsed");
        AuthorizationRows::build(details)
    }

    #[tokio::test]
    async fn cloudsplaining_sample_gives_its_known_counts_in_the_global_partition() {
        let text = cloudsplaining_one_account();
        let (results, rejected) = import(&IamImporter::new(), &[("cs.json", &text)]).await;
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(results.len(), 1);
        assert_eq!(
            (results[0].account_id.as_str(), results[0].region.as_str()),
            (SAMPLE_ACCOUNT, "global")
        );
        // 84 policies: 46 customer managed and the 38 AWS managed ones the sample lists,
        // every one attached. 39 inline policies (users, groups and roles); statements:
        // 135 inline, 78 trust (one per role) and 179 of the managed default versions.
        assert_eq!(counts(&results[0]), [44, 5, 78, 84, 39, 392]);
        assert!(results[0].errors.is_empty(), "{:?}", results[0].errors);
        assert!(
            results[0].coverage.is_empty(),
            "an import claims no API family"
        );
    }

    #[test]
    fn cloudsplaining_sample_rows_hold_the_documented_values() {
        let rows = built(&cloudsplaining_one_account());

        let user = &rows.users[0];
        assert_eq!(user.user_name, "fn1-privesc3-partial-user");
        assert_eq!(user.user_id, "AIDAS5NLFGDTUMT22VJQ2");
        assert_eq!(
            user.attached_policy_arns,
            [
                "arn:aws:iam::200611803367:policy/fn1-passrole-star",
                "arn:aws:iam::200611803367:policy/fn1-privesc3-partial"
            ]
        );
        // "2023-03-09 10:41:45+00:00", as the sample writes it.
        assert_eq!(user.create_date, Some(1_678_358_505_000));

        let trust: Vec<_> = rows
            .statements
            .iter()
            .filter(|s| {
                s.policy_kind == "trust"
                    && s.owner_arn.as_deref()
                        == Some("arn:aws:iam::200611803367:role/OrganizationAccountAccessRole")
            })
            .collect();
        assert_eq!(trust.len(), 1);
        assert_eq!(
            trust[0].statement.principal,
            [Principal {
                kind: "AWS".to_owned(),
                value: "arn:aws:iam::072528804237:root".to_owned()
            }]
        );
        assert_eq!(trust[0].statement.action, ["sts:AssumeRole"]);

        let stacksets = rows
            .roles
            .iter()
            .find(|r| r.role_name == "stacksets-exec-b5520cb2730c2f54b523d6375a319abb")
            .expect("role");
        assert_eq!(
            stacksets.role_last_used_region.as_deref(),
            Some("ap-northeast-2")
        );
        // "2022-08-07 12:56:38+00:00".
        assert_eq!(stacksets.role_last_used_at, Some(1_659_876_998_000));
        assert_eq!(
            stacksets.attached_policy_arns,
            ["arn:aws:iam::aws:policy/AdministratorAccess"]
        );
    }

    #[tokio::test]
    async fn the_aws_cli_example_imports_as_printed() {
        let (results, rejected) = import(&IamImporter::new(), &[("awscli.json", AWSCLI)]).await;
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(results[0].account_id, "123456789012");
        // 3 policies: 2 customer managed and AmazonEC2FullAccess (AttachmentCount 1).
        // Statements: Bob's and the Finance group's inline policy one each, the role's
        // trust policy one, the managed policies' default versions 1 + 1 + 4.
        assert_eq!(counts(&results[0]), [3, 3, 1, 3, 2, 9]);

        let rows = built(AWSCLI);
        let admins = rows
            .groups
            .iter()
            .find(|g| g.group_name == "Admins")
            .expect("group");
        assert_eq!(
            admins.attached_policy_arns,
            ["arn:aws:iam::aws:policy/AdministratorAccess"]
        );
        let role = &rows.roles[0];
        assert_eq!(
            role.instance_profile_arns,
            ["arn:aws:iam::123456789012:instance-profile/EC2role"]
        );
        assert_eq!(role.role_last_used_region.as_deref(), Some("us-west-2"));
        // Compact JSON in the document's own key order.
        assert_eq!(
            role.trust_policy.as_deref(),
            Some(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
            )
        );
    }

    #[tokio::test]
    async fn a_file_naming_two_accounts_is_rejected_whole() {
        let (results, rejected) =
            import(&IamImporter::new(), &[("/in/cs.json", CLOUDSPLAINING)]).await;
        assert!(results.is_empty(), "nothing of the file is kept");
        assert_eq!(
            rejected,
            [
                "input /in/cs.json: the ARNs name two accounts, 200611803367 (UserDetailList[0] \
              arn:aws:iam::200611803367:user/fn1-privesc3-partial-user) and 012345678901 \
              (UserDetailList[41] arn:aws:iam::012345678901:user/obama); a file holds one \
              account's authorization details"
            ]
        );

        // Stating the account does not let the other account's principals in.
        let stated = IamImporter::for_account(SAMPLE_ACCOUNT).expect("account id");
        let (_, rejected) = import(&stated, &[("/in/cs.json", CLOUDSPLAINING)]).await;
        assert_eq!(
            rejected,
            [
                "input /in/cs.json: UserDetailList[41]: arn:aws:iam::012345678901:user/obama \
              is in account 012345678901, not in 200611803367 given by --account"
            ]
        );
        assert_eq!(
            IamImporter::for_account("2006118033").expect_err("short"),
            "--account \"2006118033\" is not a 12-digit account id"
        );
    }

    #[tokio::test]
    async fn malformed_files_are_rejected_naming_the_file_and_the_element() {
        let lists = |users: serde_json::Value| {
            json!({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": [],
                "Policies": []})
            .to_string()
        };
        let good_user = json!({"UserName": "a", "Arn": "arn:aws:iam::111122223333:user/a"});
        let missing_name = lists(json!([good_user, {"Arn": "arn:aws:iam::111122223333:user/b"}]));
        let bad_date = lists(
            json!([{"UserName": "a", "Arn": "arn:aws:iam::111122223333:user/a",
            "CreateDate": "yesterday"}]),
        );
        let bad_arn = lists(json!([{"UserName": "a", "Arn": "user/a"}]));
        let no_lists = json!({"Findings": []}).to_string();
        let empty = lists(json!([]));
        let (results, rejected) = import(
            &IamImporter::new(),
            &[
                ("missing.json", &missing_name),
                ("cut.json", "{\"UserDetailList\": ["),
                ("date.json", &bad_date),
                ("arn.json", &bad_arn),
                ("findings.json", &no_lists),
                ("empty.json", &empty),
            ],
        )
        .await;
        assert!(results.is_empty());
        assert_eq!(
            rejected,
            [
                "input missing.json: UserDetailList[1]: missing field `UserName`",
                "input cut.json: not valid JSON: EOF while parsing a list at line 1 column 20",
                "input date.json: UserDetailList[0]: \"yesterday\" is not an ISO 8601 timestamp",
                "input arn.json: UserDetailList[0]: Arn \"user/a\" is not an IAM ARN",
                "input findings.json: not a GetAccountAuthorizationDetails document: it has no \
                 UserDetailList array",
                "input empty.json: no ARN of a user, group, role or customer managed policy \
                 names an account; state it with --account",
            ]
        );

        // An empty listing is a valid state of an account once the account is stated.
        let stated = IamImporter::for_account("111122223333").expect("account id");
        let (results, rejected) = import(&stated, &[("empty.json", &empty)]).await;
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(counts(&results[0]), [0; 6]);
    }

    #[tokio::test]
    async fn a_document_that_does_not_parse_is_a_row_error_and_the_file_imports() {
        let arn = "arn:aws:iam::111122223333:policy/broken";
        let text = json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
            "Policies": [{"PolicyName": "broken", "Arn": arn, "DefaultVersionId": "v2",
                "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": false,
                     "Document": {"Statement": {"Effect": "Allow", "Action": "*",
                        "Resource": "*"}}},
                    // Percent-encoded as the API sends it, and cut short.
                    {"VersionId": "v2", "IsDefaultVersion": true,
                     "Document": "%7B%22Statement%22%3A%5B"}]}]})
        .to_string();
        let (results, rejected) = import(&IamImporter::new(), &[("p.json", &text)]).await;
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(counts(&results[0]), [0, 0, 0, 1, 0, 0]);
        assert_eq!(results[0].errors.len(), 1, "{:?}", results[0].errors);
        assert_eq!(results[0].errors[0].object, arn);
        assert_eq!(results[0].errors[0].table_name, STATEMENTS);
        assert!(
            results[0].errors[0]
                .message
                .starts_with("policy document is not valid JSON"),
            "{}",
            results[0].errors[0].message
        );
    }
}
