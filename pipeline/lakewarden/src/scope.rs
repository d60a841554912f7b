//! Which accounts and regions a run covers, and the credentials for each account.

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_smithy_types::error::display::DisplayErrorContext;
use lakewarden_extract::{CoverageStatus, ExtractError, TokenGuard, classify_code, error_code};

use crate::config::{AccountsSpec, RegionsSpec, ScopeConfig};

/// One account to read, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountTarget {
    /// The account the run's own credentials belong to.
    Caller { account_id: String },
    /// An account reached by assuming a role in it.
    Role {
        account_id: String,
        role_arn: String,
    },
}

impl AccountTarget {
    /// An account id (assumed through `role_name`) or a role ARN.
    pub fn parse(item: &str, role_name: &str) -> Option<Self> {
        if is_account_id(item) {
            return Some(Self::Role {
                account_id: item.to_owned(),
                role_arn: format!("arn:aws:iam::{item}:role/{role_name}"),
            });
        }
        // arn:<partition>:iam::<account>:role/<path/name>
        let mut parts = item.splitn(6, ':');
        let (arn, _partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (arn == "arn"
            && service == "iam"
            && region.is_empty()
            && is_account_id(account)
            && resource.starts_with("role/"))
        .then(|| Self::Role {
            account_id: account.to_owned(),
            role_arn: item.to_owned(),
        })
    }

    pub fn account_id(&self) -> &str {
        match self {
            Self::Caller { account_id } | Self::Role { account_id, .. } => account_id,
        }
    }

    /// How the account is reached, for logs and coverage.
    pub fn via(&self) -> &str {
        match self {
            Self::Caller { .. } => "caller credentials",
            Self::Role { role_arn, .. } => role_arn,
        }
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `--shard i/n`: which slice of the accounts this process reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u64,
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 1, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("shard {text:?} is not of the form i/n"))?;
        let index: u64 = i
            .parse()
            .map_err(|_| format!("shard index {i:?} is not a number"))?;
        let count: u64 = n
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {text:?}: need 1 <= i <= n"));
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether an account belongs to this shard. The account id itself decides (its
    /// number modulo the shard count), so a shard's accounts do not move when others
    /// join or leave the organisation, and every shard agrees without coordination.
    pub fn contains(&self, account_id: &str) -> bool {
        let number: u64 = account_id.parse().unwrap_or(0);
        number % self.count == self.index - 1
    }
}

/// The accounts a run covers, before sharding.
pub async fn resolve_accounts(
    scope: &ScopeConfig,
    base: &SdkConfig,
    caller_account: &str,
) -> anyhow::Result<Vec<AccountTarget>> {
    let mut targets = match &scope.accounts {
        AccountsSpec::Keyword(word) if word == "organization" => organization_accounts(base)
            .await?
            .into_iter()
            .map(|id| AccountTarget::Role {
                role_arn: format!("arn:aws:iam::{id}:role/{}", scope.role_name),
                account_id: id,
            })
            .collect(),
        AccountsSpec::Keyword(_) => vec![AccountTarget::Caller {
            account_id: caller_account.to_owned(),
        }],
        AccountsSpec::List(items) => items
            .iter()
            .map(|item| {
                AccountTarget::parse(item, &scope.role_name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "scope.accounts: {item:?} is neither an account id nor a role ARN"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    targets.sort_by(|a, b| a.account_id().cmp(b.account_id()));
    targets.dedup_by(|a, b| a.account_id() == b.account_id());
    Ok(targets)
}

/// Active accounts of the organisation, through `ListAccounts` from the management (or a
/// delegated administrator) account.
async fn organization_accounts(base: &SdkConfig) -> anyhow::Result<Vec<String>> {
    let client = aws_sdk_organizations::Client::new(base);
    let mut guard = TokenGuard::new("ListAccounts");
    let mut token = None;
    let mut accounts = Vec::new();
    loop {
        let page = client
            .list_accounts()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("Organizations ListAccounts: {}", DisplayErrorContext(e))
            })?;
        for account in page.accounts() {
            let active = account
                .state()
                .map(|s| s.as_str() == "ACTIVE")
                // Older organisations report only the status field.
                .or_else(|| account.status().map(|s| s.as_str() == "ACTIVE"))
                .unwrap_or(false);
            if let (true, Some(id)) = (active, account.id()) {
                accounts.push(id.to_owned());
            }
        }
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    anyhow::ensure!(
        !accounts.is_empty(),
        "Organizations ListAccounts returned no active account"
    );
    Ok(accounts)
}

/// SDK configuration with credentials for one account: the caller's own, or those of a
/// role assumed (and refreshed as they expire) from the caller's.
pub async fn account_sdk(
    target: &AccountTarget,
    base: &SdkConfig,
    scope: &ScopeConfig,
) -> SdkConfig {
    match target {
        AccountTarget::Caller { .. } => base.clone(),
        AccountTarget::Role { role_arn, .. } => {
            let mut builder = AssumeRoleProvider::builder(role_arn.clone())
                .session_name(scope.session_name.clone())
                .configure(base);
            if let Some(id) = &scope.external_id {
                builder = builder.external_id(id.clone());
            }
            let provider = builder.build().await;
            base.clone()
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
    }
}

/// Prove the credentials reach the intended account: `GetCallerIdentity` through them.
/// With an assumed role this is where a role that cannot be assumed shows.
pub async fn verify_account(target: &AccountTarget, sdk: &SdkConfig) -> Result<(), ExtractError> {
    let fail = |status: CoverageStatus, message: String| ExtractError::Api {
        source_name: "sts",
        api: "AssumeRole",
        account_id: target.account_id().to_owned(),
        region: "global".to_owned(),
        status,
        message,
    };
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            // A failed AssumeRole surfaces as a credentials error with no service code:
            // look for AWS's wording to tell a denial from other failures.
            let message = DisplayErrorContext(&e).to_string();
            let status = match error_code(&e) {
                Some(code) => classify_code(Some(&code)),
                None if message.contains("AccessDenied") || message.contains("not authorized") => {
                    CoverageStatus::AccessDenied
                }
                None => CoverageStatus::Error,
            };
            fail(
                status,
                format!("{} via {}: {message}", target.account_id(), target.via()),
            )
        })?;
    match identity.account() {
        Some(account) if account == target.account_id() => Ok(()),
        other => Err(fail(
            CoverageStatus::Error,
            format!(
                "credentials via {} belong to account {}, not {}",
                target.via(),
                other.unwrap_or("unknown"),
                target.account_id()
            ),
        )),
    }
}

/// The regions regional sources read in one account.
pub async fn account_regions(
    spec: &RegionsSpec,
    sdk: &SdkConfig,
    account_id: &str,
) -> Result<Vec<String>, ExtractError> {
    match spec {
        RegionsSpec::List(list) => Ok(list.clone()),
        RegionsSpec::Keyword(_) => {
            enabled_regions(&aws_sdk_account::Client::new(sdk), account_id).await
        }
    }
}

/// Every region enabled in the account, by the Account Management API's `ListRegions`:
/// the lightest API that knows opt-in regions.
pub async fn enabled_regions(
    client: &aws_sdk_account::Client,
    account_id: &str,
) -> Result<Vec<String>, ExtractError> {
    use aws_sdk_account::types::RegionOptStatus;
    let mut guard = TokenGuard::new("ListRegions");
    let mut token = None;
    let mut regions = Vec::new();
    loop {
        let page = client
            .list_regions()
            .region_opt_status_contains(RegionOptStatus::Enabled)
            .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| ExtractError::Api {
                source_name: "account",
                api: "ListRegions",
                account_id: account_id.to_owned(),
                region: "global".to_owned(),
                status: classify_code(error_code(&e).as_deref()),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        regions.extend(
            page.regions()
                .iter()
                .filter_map(|r| r.region_name())
                .map(str::to_owned),
        );
        match guard.next(page.next_token())? {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    regions.sort();
    Ok(regions)
}

/// The account's SDK configuration pointed at one region.
pub fn in_region(sdk: &SdkConfig, region: &str) -> SdkConfig {
    sdk.clone()
        .into_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

#[cfg(test)]
mod tests {
    use aws_sdk_account::config::{BehaviorVersion, Credentials};
    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_runtime_api::http::{Request, Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn json_page(body: &str) -> ReplayEvent {
        let mut response = Response::new(
            StatusCode::try_from(200).expect("status"),
            SdkBody::from(body.to_owned()),
        );
        response
            .headers_mut()
            .insert("content-type", "application/json");
        ReplayEvent::new(Request::new(SdkBody::empty()), response)
    }

    fn account_client(replay: &StaticReplayClient) -> aws_sdk_account::Client {
        let config = aws_sdk_account::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "secret",
                None,
                None,
                "replay",
            ))
            .http_client(replay.clone())
            .build();
        aws_sdk_account::Client::from_conf(config)
    }

    #[tokio::test]
    async fn enabled_regions_page_through_list_regions() {
        // The Account Management API's restJson1 answers, two pages.
        let replay = StaticReplayClient::new(vec![
            json_page(
                r#"{"NextToken":"p2","Regions":[{"RegionName":"us-east-1","RegionOptStatus":"ENABLED_BY_DEFAULT"},{"RegionName":"eu-west-1","RegionOptStatus":"ENABLED_BY_DEFAULT"}]}"#,
            ),
            json_page(r#"{"Regions":[{"RegionName":"af-south-1","RegionOptStatus":"ENABLED"}]}"#),
        ]);
        let regions = enabled_regions(&account_client(&replay), "012345678901")
            .await
            .expect("regions");
        assert_eq!(regions, ["af-south-1", "eu-west-1", "us-east-1"]);
        let requests = replay.actual_requests().collect::<Vec<_>>();
        assert_eq!(requests.len(), 2);
        let second = std::str::from_utf8(requests[1].body().bytes().expect("body")).expect("utf-8");
        assert!(second.contains("\"NextToken\":\"p2\""), "{second}");
        assert!(
            second.contains("ENABLED_BY_DEFAULT") && second.contains("\"ENABLED\""),
            "{second}"
        );
    }

    #[tokio::test]
    async fn a_repeated_region_token_is_an_error() {
        let page = r#"{"NextToken":"same","Regions":[{"RegionName":"us-east-1","RegionOptStatus":"ENABLED_BY_DEFAULT"}]}"#;
        let replay = StaticReplayClient::new(vec![json_page(page), json_page(page)]);
        let err = enabled_regions(&account_client(&replay), "012345678901")
            .await
            .expect_err("loop");
        assert!(err.to_string().contains("ListRegions"), "{err}");
    }

    #[test]
    fn targets_parse_from_ids_and_role_arns() {
        assert_eq!(
            AccountTarget::parse("012345678901", "audit"),
            Some(AccountTarget::Role {
                account_id: "012345678901".into(),
                role_arn: "arn:aws:iam::012345678901:role/audit".into()
            })
        );
        assert_eq!(
            AccountTarget::parse("arn:aws-us-gov:iam::111111111111:role/path/ro", "x"),
            Some(AccountTarget::Role {
                account_id: "111111111111".into(),
                role_arn: "arn:aws-us-gov:iam::111111111111:role/path/ro".into()
            })
        );
        for bad in [
            "12345",
            "arn:aws:iam::111111111111:user/bob",
            "arn:aws:s3:::bucket",
            "",
        ] {
            assert_eq!(AccountTarget::parse(bad, "x"), None, "{bad}");
        }
    }

    #[test]
    fn shards_split_accounts_disjointly_and_completely() {
        let accounts = [
            "012345678901",
            "111111111111",
            "222222222222",
            "333333333334",
        ];
        let shards: Vec<Shard> = (1..=3)
            .map(|i| format!("{i}/3").parse().expect("shard"))
            .collect();
        for account in accounts {
            let owners = shards.iter().filter(|s| s.contains(account)).count();
            assert_eq!(owners, 1, "{account} belongs to exactly one shard");
        }
        assert!(
            "2/3"
                .parse::<Shard>()
                .expect("shard")
                .contains("222222222222")
                == (222_222_222_222u64 % 3 == 1)
        );
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("1-3".parse::<Shard>().is_err());
        assert!(Shard::default().contains("012345678901"));
    }
}
