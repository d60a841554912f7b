//! Reading AWS Config through the SDK: every discovered resource with its configuration
//! item, and the latest evaluation of every rule, into `config_resources` and
//! `config_rule_compliance`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_config::Client;
use aws_sdk_config::types::{
    AggregateResourceIdentifier, BaseConfigurationItem, ComplianceType, ResourceKey, ResourceType,
};

use super::item::{ItemParts, ResourceRow, parts_from_api};
use crate::{
    CoverageStatus, ExtractError, Rate, Scope, Source, SourceContext, SourceOutput, TokenGuard,
    api_error, error_code, millis,
};

pub(crate) const SOURCE: &str = "config";

pub const RESOURCES: &str = "config_resources";
pub const RULE_COMPLIANCE: &str = "config_rule_compliance";

pub(crate) const TABLES: &[&str] = &[RESOURCES, RULE_COMPLIANCE];

/// Every AWS Config action the source calls: the read-only policy in `deploy/` must allow
/// each, and a test checks that it does.
pub const ACTIONS: &[&str] = &[
    "config:BatchGetAggregateResourceConfig",
    "config:BatchGetResourceConfig",
    "config:DescribeConfigRules",
    "config:DescribeConfigurationRecorders",
    "config:GetComplianceDetailsByConfigRule",
    "config:ListAggregateDiscoveredResources",
    "config:ListDiscoveredResources",
];

/// AWS Config throttles per account and region, per API. These stay at or under the
/// sustained rates AWS Config documents for its read APIs (the listing and batch reads a
/// few calls a second, rule evaluations fewer); the config may override each.
const RATES: &[(&str, Rate)] = &[
    ("config:DescribeConfigurationRecorders", Rate::new(2.0, 2.0)),
    ("config:ListDiscoveredResources", Rate::new(8.0, 16.0)),
    ("config:BatchGetResourceConfig", Rate::new(4.0, 8.0)),
    (
        "config:ListAggregateDiscoveredResources",
        Rate::new(4.0, 8.0),
    ),
    (
        "config:BatchGetAggregateResourceConfig",
        Rate::new(4.0, 8.0),
    ),
    ("config:DescribeConfigRules", Rate::new(2.0, 4.0)),
    (
        "config:GetComplianceDetailsByConfigRule",
        Rate::new(2.0, 4.0),
    ),
];

/// Keys per `BatchGetResourceConfig` call: the API's maximum.
pub(crate) const BATCH: usize = 100;
/// Results per listing page: the maximum of `ListDiscoveredResources` and
/// `GetComplianceDetailsByConfigRule`.
const PAGE: i32 = 100;

/// Settings of the AWS Config source.
#[derive(Debug, Clone)]
pub struct ConfigOptions {
    /// Read through this configuration aggregator instead of the account's own recorder.
    pub aggregator: Option<String>,
    /// The region that holds the aggregator: only there is it read, so a run over many
    /// regions reads each aggregated resource once. `None` reads it in every region.
    pub aggregator_region: Option<String>,
    /// Resource types to list (`AWS::S3::Bucket`); empty lists every type the SDK knows.
    pub resource_types: Vec<String>,
    /// Calls of a batch read per batch: the first and the retries of keys AWS left
    /// unprocessed.
    pub batch_attempts: u32,
    /// Wait before the first retry of unprocessed keys; it doubles with each retry.
    pub retry_backoff: Duration,
    /// Read rule compliance (`config_rule_compliance`).
    pub rule_compliance: bool,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        Self {
            aggregator: None,
            aggregator_region: None,
            resource_types: Vec::new(),
            batch_attempts: 4,
            retry_backoff: Duration::from_millis(500),
            rule_compliance: true,
        }
    }
}

/// The AWS Config source.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    options: ConfigOptions,
}

impl ConfigSource {
    pub fn new(options: ConfigOptions) -> Self {
        Self { options }
    }
}

#[async_trait]
impl Source for ConfigSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn scope(&self) -> Scope {
        Scope::Regional
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn rates(&self) -> &'static [(&'static str, Rate)] {
        RATES
    }

    async fn extract(
        &self,
        ctx: &SourceContext,
        out: &mut SourceOutput,
    ) -> Result<(), ExtractError> {
        let client = Client::new(&ctx.sdk);
        let types = resource_types(&self.options.resource_types);

        match &self.options.aggregator {
            Some(_)
                if self
                    .options
                    .aggregator_region
                    .as_ref()
                    .is_some_and(|home| *home != ctx.region) =>
            {
                // The aggregator is read in its own region; here only rules are read.
            }
            Some(aggregator) => {
                let result =
                    aggregate_resources(&client, ctx, out, aggregator, &types, &self.options).await;
                finish_family(
                    out,
                    "ListAggregateDiscoveredResources",
                    result,
                    &[RESOURCES],
                );
            }
            None => {
                if !recorder_exists(&client, ctx, out).await {
                    return Ok(());
                }
                let result = resources(&client, ctx, out, &types, &self.options).await;
                finish_family(out, "ListDiscoveredResources", result, &[RESOURCES]);
            }
        }
        if self.options.rule_compliance {
            let result = rule_compliance(&client, ctx, out).await;
            finish_family(
                out,
                "GetComplianceDetailsByConfigRule",
                result,
                &[RULE_COMPLIANCE],
            );
        }
        Ok(())
    }
}

/// The resource types to list: those configured, or every type of the SDK's enum.
///
/// Every type is listed, rather than first asking `GetDiscoveredResourceCounts` which types
/// have resources, because the listing is the authoritative answer for each type and an
/// empty type costs one call; the counts are eventually consistent and would skip a type
/// whose first resources were just recorded. `resource_types` in the config narrows the
/// list where the calls matter.
pub(crate) fn resource_types(configured: &[String]) -> Vec<ResourceType> {
    if configured.is_empty() {
        ResourceType::values()
            .iter()
            .map(|t| ResourceType::from(*t))
            .collect()
    } else {
        configured
            .iter()
            .map(|t| ResourceType::from(t.as_str()))
            .collect()
    }
}

/// Coverage of one API family, from how it ended: `Ok(calls)` or the error and the calls
/// made before it. A service that is not enabled commits its tables empty; any other
/// failure fails them, so the previous snapshot stays current.
pub(crate) fn finish_family(
    out: &mut SourceOutput,
    api: &str,
    result: Result<u32, (ExtractError, u32)>,
    tables: &[&str],
) {
    match result {
        Ok(calls) => out.coverage(api, CoverageStatus::Ok, None, calls, tables),
        Err((error, calls)) => {
            let status = error.coverage_status();
            tracing::warn!(source = SOURCE, api, %error, "API call family failed");
            out.coverage(api, status, Some(error.to_string()), calls, tables);
            if status != CoverageStatus::NotEnabled {
                for table in tables {
                    out.fail_table(table, error.to_string());
                }
            }
        }
    }
}

/// Whether the region has a configuration recorder. Without one AWS Config records
/// nothing: coverage says `not_enabled` for both tables, which commit empty.
async fn recorder_exists(client: &Client, ctx: &SourceContext, out: &mut SourceOutput) -> bool {
    const API: &str = "DescribeConfigurationRecorders";
    ctx.acquire("config:DescribeConfigurationRecorders").await;
    let message = match client.describe_configuration_recorders().send().await {
        Ok(output) if !output.configuration_recorders().is_empty() => return true,
        Ok(_) => "no configuration recorder in this region".to_owned(),
        Err(e)
            if matches!(
                error_code(&e).as_deref(),
                Some(
                    "NoSuchConfigurationRecorderException"
                        | "NoAvailableConfigurationRecorderException"
                )
            ) =>
        {
            "no configuration recorder in this region".to_owned()
        }
        Err(e) => {
            let error = api_error(SOURCE, API, ctx, &e);
            finish_family(out, API, Err((error, 1)), TABLES);
            return false;
        }
    };
    tracing::info!(source = SOURCE, region = %ctx.region, "AWS Config is not recording here");
    out.coverage(API, CoverageStatus::NotEnabled, Some(message), 1, TABLES);
    false
}

/// Calls of one listing family; an error carries the calls made before it.
type Calls = Result<u32, (ExtractError, u32)>;

/// Every discovered resource of every type: the listing, then batch reads of 100.
pub(crate) async fn resources(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    types: &[ResourceType],
    options: &ConfigOptions,
) -> Calls {
    const API: &str = "ListDiscoveredResources";
    let mut calls = 0;
    for resource_type in types {
        let mut guard = TokenGuard::new(API);
        let mut token: Option<String> = None;
        let mut keys = Vec::new();
        let mut deleted = Vec::new();
        loop {
            ctx.acquire("config:ListDiscoveredResources").await;
            let page = client
                .list_discovered_resources()
                .resource_type(resource_type.clone())
                .include_deleted_resources(true)
                .limit(PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| (api_error(SOURCE, API, ctx, &e), calls))?;
            calls += 1;
            for found in page.resource_identifiers() {
                let Some(id) = found.resource_id() else {
                    continue;
                };
                if let Some(when) = found.resource_deletion_time() {
                    deleted.push(deleted_row(
                        ctx,
                        resource_type.as_str(),
                        id,
                        found.resource_name(),
                        millis(Some(when)),
                    ));
                } else {
                    let key = ResourceKey::builder()
                        .resource_type(resource_type.clone())
                        .resource_id(id)
                        .build()
                        .expect("type and id are set");
                    keys.push(key);
                }
            }
            token = guard.next(page.next_token()).map_err(|e| (e, calls))?;
            if token.is_none() {
                break;
            }
        }
        out.rows(RESOURCES, &deleted)
            .await
            .map_err(|e| (e, calls))?;
        for batch in keys.chunks(BATCH) {
            calls += batch_get(client, ctx, out, batch, options).await?;
        }
    }
    Ok(calls)
}

fn deleted_row(
    ctx: &SourceContext,
    resource_type: &str,
    id: &str,
    name: Option<&str>,
    deletion_time: Option<i64>,
) -> ResourceRow {
    ItemParts {
        resource_type: resource_type.to_owned(),
        resource_id: id.to_owned(),
        resource_name: name.map(str::to_owned),
        account_id: ctx.account_id.clone(),
        region: ctx.region.clone(),
        deletion_time,
        ..Default::default()
    }
    .into_row()
}

/// Read one batch of keys, asking again for the keys AWS leaves unprocessed, up to
/// `batch_attempts` calls with a doubling wait. Keys still unprocessed then are recorded
/// in `lake_errors`. Returns the calls made.
pub(crate) async fn batch_get(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    keys: &[ResourceKey],
    options: &ConfigOptions,
) -> Calls {
    const API: &str = "BatchGetResourceConfig";
    let mut pending = keys.to_vec();
    let mut wait = options.retry_backoff;
    let mut calls = 0;
    while !pending.is_empty() && calls < options.batch_attempts.max(1) {
        if calls > 0 {
            tracing::debug!(
                keys = pending.len(),
                wait_ms = wait.as_millis() as u64,
                "Retrying unprocessed keys"
            );
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        ctx.acquire("config:BatchGetResourceConfig").await;
        let output = client
            .batch_get_resource_config()
            .set_resource_keys(Some(pending.clone()))
            .send()
            .await
            .map_err(|e| (api_error(SOURCE, API, ctx, &e), calls))?;
        calls += 1;
        write_items(out, output.base_configuration_items())
            .await
            .map_err(|e| (e, calls))?;
        pending = output.unprocessed_resource_keys().to_vec();
    }
    for key in &pending {
        out.row_error(
            RESOURCES,
            format!("{} {}", key.resource_type().as_str(), key.resource_id()),
            format!("{API} left the key unprocessed after {calls} calls"),
        );
    }
    Ok(calls)
}

async fn write_items(
    out: &mut SourceOutput,
    items: &[BaseConfigurationItem],
) -> Result<(), ExtractError> {
    let rows: Vec<ResourceRow> = items
        .iter()
        .filter_map(parts_from_api)
        .map(ItemParts::into_row)
        .collect();
    out.rows(RESOURCES, &rows).await
}

/// Every resource an aggregator knows, of every type, across its accounts and regions.
///
/// Limitation: the rows are written to the partition of the account and region the run
/// reads the aggregator from, with each item's own account and region in
/// `resource_account_id` and `resource_region`, because a source writes through the one
/// output of its context.
pub(crate) async fn aggregate_resources(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    aggregator: &str,
    types: &[ResourceType],
    options: &ConfigOptions,
) -> Calls {
    const API: &str = "ListAggregateDiscoveredResources";
    let mut calls = 0;
    for resource_type in types {
        let mut guard = TokenGuard::new(API);
        let mut token: Option<String> = None;
        let mut identifiers = Vec::new();
        loop {
            ctx.acquire("config:ListAggregateDiscoveredResources").await;
            let page = client
                .list_aggregate_discovered_resources()
                .configuration_aggregator_name(aggregator)
                .resource_type(resource_type.clone())
                .limit(PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| (api_error(SOURCE, API, ctx, &e), calls))?;
            calls += 1;
            identifiers.extend_from_slice(page.resource_identifiers());
            token = guard.next(page.next_token()).map_err(|e| (e, calls))?;
            if token.is_none() {
                break;
            }
        }
        for batch in identifiers.chunks(BATCH) {
            calls += aggregate_batch_get(client, ctx, out, aggregator, batch, options).await?;
        }
    }
    Ok(calls)
}

async fn aggregate_batch_get(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
    aggregator: &str,
    identifiers: &[AggregateResourceIdentifier],
    options: &ConfigOptions,
) -> Calls {
    const API: &str = "BatchGetAggregateResourceConfig";
    let mut pending = identifiers.to_vec();
    let mut wait = options.retry_backoff;
    let mut calls = 0;
    while !pending.is_empty() && calls < options.batch_attempts.max(1) {
        if calls > 0 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        ctx.acquire("config:BatchGetAggregateResourceConfig").await;
        let output = client
            .batch_get_aggregate_resource_config()
            .configuration_aggregator_name(aggregator)
            .set_resource_identifiers(Some(pending.clone()))
            .send()
            .await
            .map_err(|e| (api_error(SOURCE, API, ctx, &e), calls))?;
        calls += 1;
        write_items(out, output.base_configuration_items())
            .await
            .map_err(|e| (e, calls))?;
        pending = output.unprocessed_resource_identifiers().to_vec();
    }
    for id in &pending {
        out.row_error(
            RESOURCES,
            format!(
                "{} {} {} {}",
                id.source_account_id(),
                id.source_region(),
                id.resource_type().as_str(),
                id.resource_id()
            ),
            format!("{API} left the identifier unprocessed after {calls} calls"),
        );
    }
    Ok(calls)
}

/// A row of `config_rule_compliance`, less the common columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComplianceRow {
    pub config_rule_name: String,
    pub config_rule_arn: Option<String>,
    pub config_rule_state: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
    pub compliance_type: String,
    pub annotation: Option<String>,
    pub result_recorded_time: Option<i64>,
    pub config_rule_invoked_time: Option<i64>,
    pub ordering_timestamp: Option<i64>,
    pub evaluation_mode: Option<String>,
}

/// Every rule of the region and the latest evaluation of each resource it evaluated.
pub(crate) async fn rule_compliance(
    client: &Client,
    ctx: &SourceContext,
    out: &mut SourceOutput,
) -> Calls {
    const RULES_API: &str = "DescribeConfigRules";
    const API: &str = "GetComplianceDetailsByConfigRule";
    let mut calls = 0;
    let mut rules = Vec::new();
    let mut guard = TokenGuard::new(RULES_API);
    let mut token: Option<String> = None;
    loop {
        ctx.acquire("config:DescribeConfigRules").await;
        let page = client
            .describe_config_rules()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| (api_error(SOURCE, RULES_API, ctx, &e), calls))?;
        calls += 1;
        rules.extend_from_slice(page.config_rules());
        token = guard.next(page.next_token()).map_err(|e| (e, calls))?;
        if token.is_none() {
            break;
        }
    }

    for rule in &rules {
        let Some(name) = rule.config_rule_name() else {
            continue;
        };
        let mut guard = TokenGuard::new(API);
        let mut token: Option<String> = None;
        loop {
            ctx.acquire("config:GetComplianceDetailsByConfigRule").await;
            let page = client
                .get_compliance_details_by_config_rule()
                .config_rule_name(name)
                .compliance_types(ComplianceType::Compliant)
                .compliance_types(ComplianceType::NonCompliant)
                .compliance_types(ComplianceType::NotApplicable)
                .limit(PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| (api_error(SOURCE, API, ctx, &e), calls))?;
            calls += 1;
            let rows: Vec<ComplianceRow> = page
                .evaluation_results()
                .iter()
                .filter_map(|result| {
                    let identifier = result.evaluation_result_identifier();
                    let qualifier = identifier.and_then(|i| i.evaluation_result_qualifier());
                    Some(ComplianceRow {
                        config_rule_name: name.to_owned(),
                        config_rule_arn: rule.config_rule_arn().map(str::to_owned),
                        config_rule_state: rule.config_rule_state().map(|s| s.as_str().to_owned()),
                        resource_type: qualifier?.resource_type()?.to_owned(),
                        resource_id: qualifier?.resource_id()?.to_owned(),
                        compliance_type: result.compliance_type()?.as_str().to_owned(),
                        annotation: result.annotation().map(str::to_owned),
                        result_recorded_time: millis(result.result_recorded_time()),
                        config_rule_invoked_time: millis(result.config_rule_invoked_time()),
                        ordering_timestamp: millis(identifier.and_then(|i| i.ordering_timestamp())),
                        evaluation_mode: qualifier
                            .and_then(|q| q.evaluation_mode())
                            .map(|m| m.as_str().to_owned()),
                    })
                })
                .collect();
            out.rows(RULE_COMPLIANCE, &rows)
                .await
                .map_err(|e| (e, calls))?;
            token = guard.next(page.next_token()).map_err(|e| (e, calls))?;
            if token.is_none() {
                break;
            }
        }
    }
    Ok(calls)
}
