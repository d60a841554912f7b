//! The checks of CIS sections 2–5: S3, EBS, RDS, EFS, CloudTrail, KMS, VPC and network
//! controls judged from AWS Config's configuration items (`config_resources`), and the
//! regional service checks judged from `lake_coverage`.
//!
//! Every resource check scores the account's live items only: a deleted resource
//! (`deleted` true) gets no row, and an account whose Config data holds no resource of
//! the type gets one NOT_APPLICABLE row for the account.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::PolarsResult;
use serde_json::{Value, json};

use crate::checks::{CheckInput, Outcome, Status};
use crate::config_items::{
    self, ConfigItem, Select, WORLD_IPV4, WORLD_IPV6, names_anyone, one_or_many, open_ingress,
    protocol_text, public_access_settings_off, texts, truthy,
};

const RESOURCES: &str = config_items::TABLE;
const COVERAGE: &str = "lake_coverage";
/// The ports CIS counts as remote administration: SSH and RDP.
const ADMIN_PORTS: [i64; 2] = [22, 3389];

impl ConfigItem {
    /// What a result row names: the ARN when Config gives one, else the resource id.
    fn label(&self) -> String {
        self.arn.clone().unwrap_or_else(|| self.resource_id.clone())
    }

    fn outcome(&self, status: Status, reason: impl Into<String>, evidence: Value) -> Outcome {
        Outcome::new(self.label(), status, reason, evidence).in_region(&self.region)
    }
}

/// The live items of one resource type owned by the judged account. Limitation: items
/// of other accounts read through an aggregator are not scored, because they sit in the
/// aggregator account's rows and no control judges one account's resources for another.
fn resources(input: &CheckInput<'_>, resource_type: &str) -> PolarsResult<Vec<ConfigItem>> {
    let select = Select {
        resource_type: Some(resource_type),
        owner: Some(input.account_id),
    };
    config_items::read(input.frame(RESOURCES), select)
}

/// One outcome per live resource of the type, or one NOT_APPLICABLE row for the account
/// when it has none.
fn per_resource(
    input: &CheckInput<'_>,
    resource_type: &str,
    judge: impl Fn(&ConfigItem) -> Outcome,
) -> PolarsResult<Vec<Outcome>> {
    let found = resources(input, resource_type)?;
    if found.is_empty() {
        return Ok(vec![Outcome::new(
            input.account_id,
            Status::NotApplicable,
            format!("AWS Config recorded no {resource_type} in the account"),
            json!({"resource_type": resource_type}),
        )]);
    }
    Ok(found.iter().map(judge).collect())
}

fn pass_or_fail(
    resource: &ConfigItem,
    passed: bool,
    pass: &str,
    fail: &str,
    evidence: Value,
) -> Outcome {
    if passed {
        resource.outcome(Status::Pass, pass, evidence)
    } else {
        resource.outcome(Status::Fail, fail, evidence)
    }
}

/// A statement that denies every S3 action to anyone over plain HTTP.
fn denies_plain_http(statement: &Value) -> bool {
    let insecure = &statement["Condition"]["Bool"]["aws:SecureTransport"];
    statement["Effect"] == "Deny"
        && names_anyone(statement)
        && texts(&statement["Action"])
            .iter()
            .any(|a| a == "s3:*" || a == "*")
        && (insecure == false || insecure == "false")
}

pub(crate) fn s3_deny_http(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::S3::Bucket", |bucket| {
        let policy = bucket.bucket_policy();
        let denying = one_or_many(&policy["Statement"])
            .filter(|s| denies_plain_http(s))
            .count();
        pass_or_fail(
            bucket,
            denying > 0,
            "the bucket policy denies requests without TLS",
            "no bucket policy statement denies requests without TLS",
            json!({"has_policy": policy.is_object(), "denying_statements": denying}),
        )
    })
}

pub(crate) fn s3_mfa_delete(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::S3::Bucket", |bucket| {
        let versioning = bucket.supplementary("BucketVersioningConfiguration");
        let (status, mfa) = (&versioning["status"], &versioning["isMfaDeleteEnabled"]);
        pass_or_fail(
            bucket,
            status == "Enabled" && truthy(mfa),
            "versioning is enabled with MFA delete",
            "MFA delete is not enabled",
            json!({"versioning": status, "mfa_delete": mfa}),
        )
    })
}

pub(crate) fn s3_account_public_access_block(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let blocks = resources(input, "AWS::S3::AccountPublicAccessBlock")?;
    let Some(block) = blocks.first() else {
        return Ok(vec![Outcome::new(
            input.account_id,
            Status::Unknown,
            "AWS Config has no account public access block item: either none is set or \
             the recorder does not record the type",
            json!({}),
        )]);
    };
    let open = public_access_settings_off(&block.configuration);
    let evidence = json!({"not_enabled": open});
    Ok(vec![if open.is_empty() {
        Outcome::new(
            input.account_id,
            Status::Pass,
            "every public access block setting is on for the account",
            evidence,
        )
    } else {
        Outcome::new(
            input.account_id,
            Status::Fail,
            format!(
                "account public access block settings off: {}",
                open.join(", ")
            ),
            evidence,
        )
    }])
}

pub(crate) fn s3_bucket_public_access_block(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let account_blocked = resources(input, "AWS::S3::AccountPublicAccessBlock")?
        .first()
        .is_some_and(|b| public_access_settings_off(&b.configuration).is_empty());
    per_resource(input, "AWS::S3::Bucket", |bucket| {
        let block = bucket.supplementary("PublicAccessBlockConfiguration");
        let open = public_access_settings_off(&block);
        let evidence = json!({"bucket_settings_off": open, "account_blocks_all": account_blocked});
        if open.is_empty() {
            bucket.outcome(
                Status::Pass,
                "the bucket blocks all public access",
                evidence,
            )
        } else if account_blocked {
            bucket.outcome(
                Status::Pass,
                "the account's public access block covers the bucket",
                evidence,
            )
        } else {
            bucket.outcome(
                Status::Fail,
                format!(
                    "public access is not fully blocked, off: {}",
                    open.join(", ")
                ),
                evidence,
            )
        }
    })
}

pub(crate) fn ebs_default_encryption(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    Ok(vec![Outcome::new(
        input.account_id,
        Status::Unknown,
        "no source reads EBS encryption by default (an EC2 account attribute that AWS \
         Config does not record)",
        json!({}),
    )])
}

pub(crate) fn rds_encrypted(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::RDS::DBInstance", |db| {
        let encrypted = &db.configuration["storageEncrypted"];
        pass_or_fail(
            db,
            truthy(encrypted),
            "storage is encrypted",
            "storage is not encrypted",
            json!({"storage_encrypted": encrypted}),
        )
    })
}

pub(crate) fn rds_auto_minor_upgrade(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::RDS::DBInstance", |db| {
        let upgrade = &db.configuration["autoMinorVersionUpgrade"];
        pass_or_fail(
            db,
            truthy(upgrade),
            "minor engine upgrades are applied automatically",
            "minor engine upgrades are not applied automatically",
            json!({"auto_minor_version_upgrade": upgrade}),
        )
    })
}

pub(crate) fn rds_not_public(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::RDS::DBInstance", |db| {
        let public = &db.configuration["publiclyAccessible"];
        pass_or_fail(
            db,
            !truthy(public),
            "the instance is not publicly accessible",
            "the instance is publicly accessible",
            json!({"publicly_accessible": public}),
        )
    })
}

/// Encryption at rest of EFS file systems. AWS Config records `AWS::EFS::FileSystem` in
/// CloudFormation's property names (`Encrypted`, `KmsKeyId`), not the camel case of the
/// older EC2 and RDS items. An item without `Encrypted` is UNKNOWN: absence says nothing.
pub(crate) fn efs_encrypted(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::EFS::FileSystem", |fs| {
        let encrypted = &fs.configuration["Encrypted"];
        let key = fs.configuration["KmsKeyId"]
            .as_str()
            .filter(|k| !k.is_empty());
        let evidence = json!({"encrypted": encrypted, "kms_key_id": key});
        if encrypted.is_null() {
            return fs.outcome(
                Status::Unknown,
                "the configuration item does not say whether the file system is encrypted",
                evidence,
            );
        }
        pass_or_fail(
            fs,
            truthy(encrypted),
            "the file system is encrypted at rest",
            "the file system is not encrypted at rest",
            evidence,
        )
    })
}

pub(crate) fn cloudtrail_multi_region(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let trails = resources(input, "AWS::CloudTrail::Trail")?;
    let multi: Vec<String> = trails
        .iter()
        .filter(|t| truthy(&t.configuration["isMultiRegionTrail"]))
        .map(ConfigItem::label)
        .collect();
    let evidence = json!({"trails": trails.len(), "multi_region_trails": multi});
    Ok(vec![if multi.is_empty() {
        Outcome::new(
            input.account_id,
            Status::Fail,
            "AWS Config recorded no multi-region trail",
            evidence,
        )
    } else {
        Outcome::new(
            input.account_id,
            Status::Pass,
            "a multi-region trail exists",
            evidence,
        )
    }])
}

pub(crate) fn cloudtrail_log_validation(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::CloudTrail::Trail", |trail| {
        let enabled = &trail.configuration["logFileValidationEnabled"];
        pass_or_fail(
            trail,
            truthy(enabled),
            "log file validation is on",
            "log file validation is off",
            json!({"log_file_validation": enabled}),
        )
    })
}

pub(crate) fn cloudtrail_kms(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::CloudTrail::Trail", |trail| {
        let key = trail.configuration["kmsKeyId"].as_str().unwrap_or_default();
        pass_or_fail(
            trail,
            !key.is_empty(),
            "logs are encrypted with a KMS key",
            "logs are not encrypted with a KMS key",
            json!({"kms_key_id": (!key.is_empty()).then_some(key)}),
        )
    })
}

/// Server access logging on the bucket each trail delivers to. A trail whose bucket AWS
/// Config did not record in this account (a central logging account's bucket, say) is
/// UNKNOWN: the bucket's settings are not in this account's snapshot.
pub(crate) fn cloudtrail_bucket_logging(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let buckets = resources(input, "AWS::S3::Bucket")?;
    per_resource(input, "AWS::CloudTrail::Trail", |trail| {
        let name = trail.configuration["s3BucketName"]
            .as_str()
            .unwrap_or_default();
        let Some(bucket) = buckets.iter().find(|b| {
            !name.is_empty() && (b.resource_id == name || b.name.as_deref() == Some(name))
        }) else {
            return trail.outcome(
                Status::Unknown,
                "AWS Config recorded no bucket of this name in the account",
                json!({"s3_bucket_name": name}),
            );
        };
        let logging = bucket.supplementary("BucketLoggingConfiguration");
        let target = logging["destinationBucketName"]
            .as_str()
            .unwrap_or_default();
        pass_or_fail(
            trail,
            !target.is_empty(),
            "the trail's bucket logs access requests",
            "the trail's bucket does not log access requests",
            json!({"s3_bucket_name": name, "access_log_bucket": (!target.is_empty()).then_some(target)}),
        )
    })
}

/// Whether some multi-region trail logs S3 object-level events of one kind (`write` for
/// 3.8, `read` for 3.9), for the account. Limitation: AWS Config's trail item carries no
/// event selectors (they come from CloudTrail's GetEventSelectors, which no source
/// calls), only `hasCustomEventSelectors`, so this never passes. A trail without custom
/// selectors logs with the default one, management events only, so an account whose
/// multi-region trails all say `hasCustomEventSelectors: false` (or that has none) fails;
/// one with a multi-region trail that has custom selectors, or does not say, is UNKNOWN.
fn s3_data_events(input: &CheckInput<'_>, kind: &str) -> PolarsResult<Vec<Outcome>> {
    let multi: Vec<ConfigItem> = resources(input, "AWS::CloudTrail::Trail")?
        .into_iter()
        .filter(|t| truthy(&t.configuration["isMultiRegionTrail"]))
        .collect();
    let defaults: Vec<String> = multi
        .iter()
        .filter(|t| says_false(&t.configuration["hasCustomEventSelectors"]))
        .map(ConfigItem::label)
        .collect();
    let undecided: Vec<String> = multi
        .iter()
        .map(ConfigItem::label)
        .filter(|label| !defaults.contains(label))
        .collect();
    let evidence = json!({
        "data_event_kind": kind,
        "multi_region_trails_default_selectors": defaults,
        "multi_region_trails_selectors_not_recorded": undecided,
    });
    let (status, reason) = if multi.is_empty() {
        (
            Status::Fail,
            format!("AWS Config recorded no multi-region trail to log S3 {kind} events"),
        )
    } else if undecided.is_empty() {
        (
            Status::Fail,
            format!(
                "every multi-region trail has only the default event selector (management \
                 events), so none logs S3 {kind} events"
            ),
        )
    } else {
        (
            Status::Unknown,
            format!(
                "AWS Config's trail item does not carry event selectors, so whether a \
                 multi-region trail with custom selectors logs S3 {kind} events for every \
                 bucket is not known"
            ),
        )
    };
    Ok(vec![Outcome::new(
        input.account_id,
        status,
        reason,
        evidence,
    )])
}

/// `false`, or the text `"false"`; a missing value is neither true nor false.
fn says_false(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::String(s) => s.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

pub(crate) fn s3_object_write_logging(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    s3_data_events(input, "write")
}

pub(crate) fn s3_object_read_logging(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    s3_data_events(input, "read")
}

/// Rotation of enabled, symmetric customer managed keys. Limitation: AWS Config's
/// `AWS::KMS::Key` item does not carry the rotation status (it is a separate KMS call,
/// GetKeyRotationStatus, that no source makes), so such keys are UNKNOWN unless an item
/// carries `KeyRotationStatus` in its supplementary configuration.
pub(crate) fn kms_rotation(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let keys: Vec<ConfigItem> = resources(input, "AWS::KMS::Key")?
        .into_iter()
        .filter(|k| {
            let c = &k.configuration;
            c["keyManager"] == "CUSTOMER"
                && c["keySpec"].as_str().unwrap_or("SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
                && c["keyState"] == "Enabled"
        })
        .collect();
    if keys.is_empty() {
        return Ok(vec![Outcome::new(
            input.account_id,
            Status::NotApplicable,
            "AWS Config recorded no enabled symmetric customer managed key",
            json!({"resource_type": "AWS::KMS::Key"}),
        )]);
    }
    Ok(keys
        .iter()
        .map(|key| match &key.supplementary["KeyRotationStatus"] {
            Value::Null => key.outcome(
                Status::Unknown,
                "AWS Config's key item does not carry the rotation status",
                json!({"key_rotation": null}),
            ),
            status => pass_or_fail(
                key,
                truthy(status),
                "automatic rotation is on",
                "automatic rotation is off",
                json!({"key_rotation": status}),
            ),
        })
        .collect())
}

pub(crate) fn vpc_flow_logs(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let mut logged: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for log in resources(input, "AWS::EC2::FlowLog")? {
        if let Some(target) = log.configuration["resourceId"].as_str() {
            logged
                .entry(target.to_owned())
                .or_default()
                .push(log.resource_id);
        }
    }
    per_resource(input, "AWS::EC2::VPC", |vpc| {
        let logs = logged.get(&vpc.resource_id).cloned().unwrap_or_default();
        pass_or_fail(
            vpc,
            !logs.is_empty(),
            "the VPC has a flow log",
            "the VPC has no flow log",
            json!({"flow_logs": logs}),
        )
    })
}

/// Whether a rule of `protocol` over ports `from..=to` lets traffic reach `port`. Protocol
/// `-1` is all traffic; `6`/`tcp` is TCP; a missing bound or `-1` means every port.
fn covers(protocol: &str, from: Option<i64>, to: Option<i64>, port: i64) -> bool {
    match protocol {
        "-1" | "all" => true,
        "6" | "tcp" => {
            from.is_none_or(|f| f == -1 || f <= port) && to.is_none_or(|t| t == -1 || t >= port)
        }
        _ => false,
    }
}

/// Security group ingress rules open to the world (`0.0.0.0/0`, or `::/0` when `ipv6`)
/// on an admin port, with the admin ports each reaches.
fn open_group_rules(group: &Value, ipv6: bool) -> Vec<Value> {
    let world = if ipv6 { WORLD_IPV6 } else { WORLD_IPV4 };
    open_ingress(group)
        .into_iter()
        .filter(|rule| rule.cidr == world)
        .filter_map(|rule| {
            let ports: Vec<i64> = ADMIN_PORTS
                .into_iter()
                .filter(|port| covers(&rule.protocol, rule.from_port, rule.to_port, *port))
                .collect();
            (!ports.is_empty()).then(|| {
                json!({"protocol": rule.protocol, "from_port": rule.from_port,
                       "to_port": rule.to_port, "admin_ports": ports})
            })
        })
        .collect()
}

fn security_groups_open(input: &CheckInput<'_>, ipv6: bool) -> PolarsResult<Vec<Outcome>> {
    let world = if ipv6 { WORLD_IPV6 } else { WORLD_IPV4 };
    per_resource(input, "AWS::EC2::SecurityGroup", |group| {
        let open = open_group_rules(&group.configuration, ipv6);
        pass_or_fail(
            group,
            open.is_empty(),
            &format!("no ingress from {world} to SSH or RDP"),
            &format!("ingress from {world} reaches an admin port"),
            json!({"open_rules": open}),
        )
    })
}

pub(crate) fn security_groups_admin_ipv4(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    security_groups_open(input, false)
}

pub(crate) fn security_groups_admin_ipv6(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    security_groups_open(input, true)
}

/// The admin ports a network ACL lets in from anywhere. Inbound entries are taken in rule
/// number order; for each port the first entry that matches traffic from anywhere
/// (`0.0.0.0/0` or `::/0`) decides, as AWS evaluates them. An entry with a narrower
/// source does not stop traffic from the rest of the internet, so it is passed over.
fn open_acl_ports(acl: &Value) -> Vec<i64> {
    let mut entries: Vec<&Value> = acl["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !truthy(&e["egress"]))
        .filter(|e| e["cidrBlock"] == WORLD_IPV4 || e["ipv6CidrBlock"] == WORLD_IPV6)
        .collect();
    entries.sort_by_key(|e| e["ruleNumber"].as_i64().unwrap_or(i64::MAX));
    ADMIN_PORTS
        .into_iter()
        .filter(|port| {
            let first = entries.iter().find(|e| {
                let range = &e["portRange"];
                covers(
                    &protocol_text(&e["protocol"]),
                    range["from"].as_i64(),
                    range["to"].as_i64(),
                    *port,
                )
            });
            first.is_some_and(|e| e["ruleAction"] == "allow")
        })
        .collect()
}

pub(crate) fn nacl_admin_ports(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::EC2::NetworkAcl", |acl| {
        let open = open_acl_ports(&acl.configuration);
        pass_or_fail(
            acl,
            open.is_empty(),
            "no inbound entry allows SSH or RDP from anywhere",
            "an inbound entry allows an admin port from anywhere",
            json!({"open_admin_ports": open}),
        )
    })
}

pub(crate) fn default_security_group_closed(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    let defaults: Vec<ConfigItem> = resources(input, "AWS::EC2::SecurityGroup")?
        .into_iter()
        .filter(|g| g.configuration["groupName"] == "default")
        .collect();
    if defaults.is_empty() {
        return Ok(vec![Outcome::new(
            input.account_id,
            Status::NotApplicable,
            "AWS Config recorded no default security group in the account",
            json!({"resource_type": "AWS::EC2::SecurityGroup"}),
        )]);
    }
    let count = |v: &Value| v.as_array().map_or(0, Vec::len);
    Ok(defaults
        .iter()
        .map(|group| {
            let (inbound, outbound) = (
                count(&group.configuration["ipPermissions"]),
                count(&group.configuration["ipPermissionsEgress"]),
            );
            pass_or_fail(
                group,
                inbound == 0 && outbound == 0,
                "the default security group has no rules",
                "the default security group has rules",
                json!({"inbound_rules": inbound, "outbound_rules": outbound}),
            )
        })
        .collect())
}

/// The routes of a route table's configuration that go through a VPC peering connection,
/// as `{destination, vpc_peering_connection_id}`. A route to a prefix list names no
/// address range, so its destination is the prefix list id.
fn peering_routes(table: &Value) -> Vec<Value> {
    one_or_many(&table["routes"])
        .filter_map(|route| {
            let peering = route["vpcPeeringConnectionId"]
                .as_str()
                .filter(|p| !p.is_empty())?;
            let destination = [
                "destinationCidrBlock",
                "destinationIpv6CidrBlock",
                "destinationPrefixListId",
            ]
            .into_iter()
            .find_map(|key| route[key].as_str())
            .unwrap_or_default();
            Some(json!({"destination": destination, "vpc_peering_connection_id": peering}))
        })
        .collect()
}

/// Least access over VPC peering: a route table fails when a route through a peering
/// connection sends every address there (`0.0.0.0/0` or `::/0`). A table without peering
/// routes passes rather than being left out, so that a default route added through a
/// peering connection later shows as a change of status in `changes_controls`.
/// Limitation: narrower but still broad destinations (a `/1`, the whole of `10.0.0.0/8`)
/// pass, since what is "least" depends on the peer's address ranges, which the route
/// table does not carry.
pub(crate) fn peering_routes_least_access(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    per_resource(input, "AWS::EC2::RouteTable", |table| {
        let routes = peering_routes(&table.configuration);
        let broad: Vec<&Value> = routes
            .iter()
            .filter(|r| r["destination"] == WORLD_IPV4 || r["destination"] == WORLD_IPV6)
            .collect();
        let evidence = json!({"peering_routes": routes, "default_peering_routes": broad});
        if routes.is_empty() {
            return table.outcome(
                Status::Pass,
                "no route goes through a VPC peering connection",
                evidence,
            );
        }
        pass_or_fail(
            table,
            broad.is_empty(),
            "every peering route names a narrower destination than the default route",
            "a peering route sends every address (0.0.0.0/0 or ::/0) to the peer",
            evidence,
        )
    })
}

/// One row per region: PASS where the source found the service on, FAIL where it found
/// it not enabled, UNKNOWN where the read failed or where other sources read the region
/// but this one did not. One UNKNOWN row for the account when no source read any region.
fn service_enabled(
    input: &CheckInput<'_>,
    source: &str,
    service: &str,
) -> PolarsResult<Vec<Outcome>> {
    let frame = input.frame(COVERAGE);
    let (sources, regions, statuses) = (
        frame.strings("source")?,
        frame.strings("region")?,
        frame.strings("status")?,
    );
    let mut by_region: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in 0..sources.len() {
        let region = regions[i].clone().unwrap_or_default();
        if region == "global" {
            continue;
        }
        let seen = by_region.entry(region).or_default();
        if sources[i].as_deref() == Some(source) {
            seen.insert(statuses[i].clone().unwrap_or_default());
        }
    }
    if by_region.is_empty() {
        return Ok(vec![Outcome::new(
            input.account_id,
            Status::Unknown,
            format!("no source read any region of this account, {source} included"),
            json!({"source": source}),
        )]);
    }
    Ok(by_region
        .into_iter()
        .map(|(region, statuses)| {
            let evidence = json!({"source": source, "coverage": statuses});
            let outcome = if statuses.is_empty() {
                Outcome::new(
                    input.account_id,
                    Status::Unknown,
                    format!("the {source} source did not read the region"),
                    evidence,
                )
            } else if statuses.contains("not_enabled") {
                Outcome::new(
                    input.account_id,
                    Status::Fail,
                    format!("{service} is not enabled in the region"),
                    evidence,
                )
            } else if statuses.iter().all(|s| s == "ok") {
                Outcome::new(
                    input.account_id,
                    Status::Pass,
                    format!("{service} is enabled in the region"),
                    evidence,
                )
            } else {
                Outcome::new(
                    input.account_id,
                    Status::Unknown,
                    format!("the {source} source could not read the region"),
                    evidence,
                )
            };
            outcome.in_region(&region)
        })
        .collect())
}

pub(crate) fn config_enabled(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    service_enabled(input, "config", "AWS Config recording")
}

pub(crate) fn securityhub_enabled(input: &CheckInput<'_>) -> PolarsResult<Vec<Outcome>> {
    service_enabled(input, "securityhub", "Security Hub")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use polars::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::Frame;
    use crate::config_items::PUBLIC_ACCESS_SETTINGS;

    const ACCOUNT: &str = "012345678901";
    const FIXTURE: &str = include_str!("../../../tests/fixtures/posture/config-snapshot.json");

    /// `config_resources` rows of delivered configuration items, with the columns the
    /// checks read, as the snapshot importer fills them.
    fn config_frame(items: &[Value]) -> Frame {
        let text = |item: &Value, key: &str| item[key].as_str().map(str::to_owned);
        let json_text = |value: &Value| (!value.is_null()).then(|| value.to_string());
        let deleted: Vec<bool> = items
            .iter()
            .map(|i| {
                i["configurationItemStatus"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("ResourceDeleted"))
            })
            .collect();
        let df = df! {
            "account_id" => items.iter().map(|_| ACCOUNT).collect::<Vec<_>>(),
            "resource_type" => items.iter().map(|i| text(i, "resourceType")).collect::<Vec<_>>(),
            "resource_id" => items.iter().map(|i| text(i, "resourceId")).collect::<Vec<_>>(),
            "arn" => items.iter().map(|i| text(i, "arn")).collect::<Vec<_>>(),
            "resource_account_id" => items.iter().map(|i| text(i, "accountId")).collect::<Vec<_>>(),
            "resource_region" => items.iter().map(|i| text(i, "awsRegion")).collect::<Vec<_>>(),
            "configuration" => items.iter().map(|i| json_text(&i["configuration"])).collect::<Vec<_>>(),
            "supplementary_configuration" => items.iter().map(|i| json_text(&i["supplementaryConfiguration"])).collect::<Vec<_>>(),
            "deleted" => deleted,
        }
        .expect("config frame");
        Frame {
            table: RESOURCES,
            df,
        }
    }

    fn fixture_items() -> Vec<Value> {
        let doc: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
        doc["configurationItems"]
            .as_array()
            .expect("configurationItems")
            .clone()
    }

    fn coverage_frame(rows: &[(&str, &str, &str)]) -> Frame {
        let df = df! {
            "source" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "region" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "status" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        }
        .expect("coverage frame");
        Frame {
            table: COVERAGE,
            df,
        }
    }

    fn outcomes(check: Check, frames: &BTreeMap<&'static str, Frame>) -> Vec<Outcome> {
        let input = CheckInput {
            account_id: ACCOUNT,
            snapshot_at: 0,
            frames,
        };
        check(&input).expect("check runs")
    }

    fn run(check: Check, frames: &BTreeMap<&'static str, Frame>) -> Vec<(String, String, Status)> {
        outcomes(check, frames)
            .into_iter()
            .map(|o| (o.resource_id, o.region, o.status))
            .collect()
    }

    fn on_items(check: Check, items: &[Value]) -> Vec<(String, String, Status)> {
        run(check, &BTreeMap::from([(RESOURCES, config_frame(items))]))
    }

    fn on_fixture(check: Check) -> Vec<(String, String, Status)> {
        on_items(check, &fixture_items())
    }

    type Check = crate::checks::Check;

    fn row(id: &str, status: Status) -> (String, String, Status) {
        (id.to_owned(), "us-east-1".to_owned(), status)
    }

    fn account(status: Status) -> (String, String, Status) {
        (ACCOUNT.to_owned(), "global".to_owned(), status)
    }

    const PUBLIC: &str = "arn:aws:s3:::lakewarden-known-public";
    const PRIVATE: &str = "arn:aws:s3:::lakewarden-known-private";
    const OPEN_DB: &str = "arn:aws:rds:us-east-1:012345678901:db:known-open";
    const CLOSED_DB: &str = "arn:aws:rds:us-east-1:012345678901:db:known-closed";
    const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:012345678901:trail/known-trail";
    const KEY: &str = "arn:aws:kms:us-east-1:012345678901:key/0aaaaaaa-0000-4000-8000-000000000001";

    fn ec2(kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:us-east-1:{ACCOUNT}:{kind}/{id}")
    }

    fn groups(statuses: [Status; 3]) -> Vec<(String, String, Status)> {
        (1..=3)
            .zip(statuses)
            .map(|(n, s)| {
                row(
                    &ec2("security-group", &format!("sg-0aaaaaaaaaaaa000{n}")),
                    s,
                )
            })
            .collect()
    }

    /// Every check of sections 2–5 that reads configuration items, which the fixture has
    /// at least one resource for each of.
    const CONFIG_CHECKS: [(&str, Check); 22] = [
        ("s3_deny_http", s3_deny_http),
        ("s3_mfa_delete", s3_mfa_delete),
        (
            "s3_account_public_access_block",
            s3_account_public_access_block,
        ),
        (
            "s3_bucket_public_access_block",
            s3_bucket_public_access_block,
        ),
        ("rds_encrypted", rds_encrypted),
        ("rds_auto_minor_upgrade", rds_auto_minor_upgrade),
        ("rds_not_public", rds_not_public),
        ("efs_encrypted", efs_encrypted),
        ("cloudtrail_multi_region", cloudtrail_multi_region),
        ("cloudtrail_log_validation", cloudtrail_log_validation),
        ("cloudtrail_kms", cloudtrail_kms),
        ("cloudtrail_bucket_logging", cloudtrail_bucket_logging),
        ("s3_object_write_logging", s3_object_write_logging),
        ("s3_object_read_logging", s3_object_read_logging),
        ("kms_rotation", kms_rotation),
        ("vpc_flow_logs", vpc_flow_logs),
        ("nacl_admin_ports", nacl_admin_ports),
        ("security_groups_admin_ipv4", security_groups_admin_ipv4),
        ("security_groups_admin_ipv6", security_groups_admin_ipv6),
        (
            "default_security_group_closed",
            default_security_group_closed,
        ),
        ("peering_routes_least_access", peering_routes_least_access),
        ("ebs_default_encryption", ebs_default_encryption),
    ];

    #[test]
    fn s3_checks_give_the_fixtures_known_answers() {
        use Status::*;
        // Items come in fixture order: the public bucket first.
        assert_eq!(
            on_fixture(s3_deny_http),
            [row(PUBLIC, Fail), row(PRIVATE, Pass)]
        );
        assert_eq!(
            on_fixture(s3_mfa_delete),
            [row(PUBLIC, Fail), row(PRIVATE, Pass)]
        );
        assert_eq!(
            on_fixture(s3_bucket_public_access_block),
            [row(PUBLIC, Fail), row(PRIVATE, Pass)]
        );
        assert_eq!(on_fixture(s3_account_public_access_block), [account(Fail)]);
    }

    #[test]
    fn an_account_block_covers_buckets_without_their_own() {
        let mut items = fixture_items();
        for item in &mut items {
            if item["resourceType"] == "AWS::S3::AccountPublicAccessBlock" {
                for setting in PUBLIC_ACCESS_SETTINGS {
                    item["configuration"][setting] = json!(true);
                }
            }
        }
        assert_eq!(
            on_items(s3_bucket_public_access_block, &items),
            [row(PUBLIC, Status::Pass), row(PRIVATE, Status::Pass)]
        );
        assert_eq!(
            on_items(s3_account_public_access_block, &items),
            [account(Status::Pass)]
        );
    }

    #[test]
    fn a_policy_already_decoded_by_the_reader_is_read_too() {
        // The lake stores `policyText` decoded into a JSON value, the fixture as text.
        let mut items = fixture_items();
        for item in &mut items {
            let policy = &mut item["supplementaryConfiguration"]["BucketPolicy"]["policyText"];
            if let Value::String(text) = policy.clone() {
                *policy = serde_json::from_str(&text).expect("policy JSON");
            }
        }
        assert_eq!(
            on_items(s3_deny_http, &items),
            [row(PUBLIC, Status::Fail), row(PRIVATE, Status::Pass)]
        );
    }

    #[test]
    fn rds_cloudtrail_kms_and_vpc_checks_give_the_fixtures_known_answers() {
        use Status::*;
        assert_eq!(
            on_fixture(rds_encrypted),
            [row(OPEN_DB, Fail), row(CLOSED_DB, Pass)]
        );
        assert_eq!(
            on_fixture(rds_auto_minor_upgrade),
            [row(OPEN_DB, Fail), row(CLOSED_DB, Pass)]
        );
        assert_eq!(
            on_fixture(rds_not_public),
            [row(OPEN_DB, Fail), row(CLOSED_DB, Pass)]
        );
        assert_eq!(on_fixture(cloudtrail_multi_region), [account(Pass)]);
        assert_eq!(on_fixture(cloudtrail_log_validation), [row(TRAIL, Fail)]);
        assert_eq!(on_fixture(cloudtrail_kms), [row(TRAIL, Fail)]);
        assert_eq!(on_fixture(cloudtrail_bucket_logging), [row(TRAIL, Fail)]);
        assert_eq!(on_fixture(kms_rotation), [row(KEY, Unknown)]);
        assert_eq!(
            on_fixture(vpc_flow_logs),
            [
                row(&ec2("vpc", "vpc-0aaaaaaaaaaaa0001"), Fail),
                row(&ec2("vpc", "vpc-0aaaaaaaaaaaa0002"), Pass)
            ]
        );
        assert_eq!(on_fixture(ebs_default_encryption), [account(Unknown)]);
    }

    #[test]
    fn trail_bucket_logging_passes_when_the_bucket_logs_and_is_unknown_when_unrecorded() {
        let mut items = fixture_items();
        for item in &mut items {
            if item["resourceName"] == "lakewarden-known-private" {
                item["supplementaryConfiguration"]["BucketLoggingConfiguration"] =
                    json!({"destinationBucketName": "access-logs", "logFilePrefix": "trail/"});
            }
        }
        assert_eq!(
            on_items(cloudtrail_bucket_logging, &items),
            [row(TRAIL, Status::Pass)]
        );
        for item in &mut items {
            if item["resourceType"] == "AWS::CloudTrail::Trail" {
                item["configuration"]["s3BucketName"] = json!("central-logging-bucket");
            }
        }
        assert_eq!(
            on_items(cloudtrail_bucket_logging, &items),
            [row(TRAIL, Status::Unknown)]
        );
    }

    #[test]
    fn single_region_trails_fail_3_1_and_rotation_status_decides_3_6() {
        let mut items = fixture_items();
        for item in &mut items {
            if item["resourceType"] == "AWS::CloudTrail::Trail" {
                item["configuration"]["isMultiRegionTrail"] = json!(false);
                item["configuration"]["kmsKeyId"] = json!(KEY);
            }
            if item["resourceType"] == "AWS::KMS::Key" {
                item["supplementaryConfiguration"]["KeyRotationStatus"] = json!("true");
            }
        }
        assert_eq!(
            on_items(cloudtrail_multi_region, &items),
            [account(Status::Fail)]
        );
        assert_eq!(on_items(cloudtrail_kms, &items), [row(TRAIL, Status::Pass)]);
        assert_eq!(on_items(kms_rotation, &items), [row(KEY, Status::Pass)]);
    }

    #[test]
    fn network_checks_give_the_fixtures_known_answers_and_skip_the_deleted_group() {
        use Status::*;
        assert_eq!(
            on_fixture(nacl_admin_ports),
            [
                row(&ec2("network-acl", "acl-0aaaaaaaaaaaa0001"), Fail),
                row(&ec2("network-acl", "acl-0aaaaaaaaaaaa0002"), Pass)
            ]
        );
        // sg-0aaaaaaaaaaaa0009 is deleted and open to the world on RDP: no row.
        assert_eq!(
            on_fixture(security_groups_admin_ipv4),
            groups([Fail, Pass, Pass])
        );
        assert_eq!(
            on_fixture(security_groups_admin_ipv6),
            groups([Pass, Pass, Pass])
        );
        assert_eq!(
            on_fixture(default_security_group_closed),
            [row(&ec2("security-group", "sg-0aaaaaaaaaaaa0003"), Fail)]
        );
    }

    /// A live item of the account in us-east-1, as Config delivers it (the status left
    /// out, as some items do).
    fn live_item(resource_type: &str, id: &str, configuration: Value) -> Value {
        json!({"resourceType": resource_type, "resourceId": id, "accountId": ACCOUNT,
               "awsRegion": "us-east-1", "configuration": configuration})
    }

    fn group(id: &str, name: &str, ingress: Value) -> Value {
        json!({"resourceType": "AWS::EC2::SecurityGroup", "resourceId": id, "accountId": ACCOUNT,
               "awsRegion": "eu-west-1", "configurationItemStatus": "OK",
               "configuration": {"groupId": id, "groupName": name, "ipPermissions": ingress,
                                 "ipPermissionsEgress": []}})
    }

    #[test]
    fn port_ranges_all_traffic_and_ipv6_reach_admin_ports() {
        use Status::*;
        let items = [
            // TCP 0-65535 from anywhere covers 22 and 3389.
            group(
                "sg-range",
                "range",
                json!([{"ipProtocol": "tcp", "fromPort": 0,
                "toPort": 65535, "ipRanges": ["0.0.0.0/0"]}]),
            ),
            // All traffic from ::/0 only: an IPv6 failure, not an IPv4 one.
            group(
                "sg-v6",
                "v6",
                json!([{"ipProtocol": "-1",
                "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]),
            ),
            // TCP 23-3388 from anywhere misses both admin ports.
            group(
                "sg-between",
                "between",
                json!([{"ipProtocol": "tcp", "fromPort": 23,
                "toPort": 3388, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]),
            ),
            // UDP 3389 is not remote administration.
            group(
                "sg-udp",
                "udp",
                json!([{"ipProtocol": "udp", "fromPort": 3389,
                "toPort": 3389, "ipRanges": ["0.0.0.0/0"]}]),
            ),
            // A closed default group passes 5.4.
            group("sg-default", "default", json!([])),
        ];
        let at = |id: &str, status| (id.to_owned(), "eu-west-1".to_owned(), status);
        assert_eq!(
            on_items(security_groups_admin_ipv4, &items),
            [
                at("sg-range", Fail),
                at("sg-v6", Pass),
                at("sg-between", Pass),
                at("sg-udp", Pass),
                at("sg-default", Pass)
            ]
        );
        assert_eq!(
            on_items(security_groups_admin_ipv6, &items),
            [
                at("sg-range", Pass),
                at("sg-v6", Fail),
                at("sg-between", Pass),
                at("sg-udp", Pass),
                at("sg-default", Pass)
            ]
        );
        assert_eq!(
            on_items(default_security_group_closed, &items),
            [at("sg-default", Pass)]
        );
    }

    #[test]
    fn network_acl_entries_are_taken_in_rule_number_order() {
        let acl = |id: &str, entries: Value| {
            live_item(
                "AWS::EC2::NetworkAcl",
                id,
                json!({"networkAclId": id, "entries": entries}),
            )
        };
        let allow_all = json!({"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow",
                               "egress": false, "cidrBlock": "0.0.0.0/0"});
        let deny = |port: i64| {
            json!({"ruleNumber": 50, "protocol": "6", "ruleAction": "deny", "egress": false,
                   "cidrBlock": "0.0.0.0/0", "portRange": {"from": port, "to": port}})
        };
        let items = [
            // Deny 22 and 3389 before allow-all: closed.
            acl(
                "acl-denied",
                json!([deny(22), {"ruleNumber": 60, "protocol": "6",
                "ruleAction": "deny", "egress": false, "cidrBlock": "0.0.0.0/0",
                "portRange": {"from": 3389, "to": 3389}}, allow_all]),
            ),
            // Deny only 22 first: RDP still open.
            acl("acl-rdp", json!([deny(22), allow_all])),
            // Allow-all outbound only: inbound closed.
            acl(
                "acl-egress",
                json!([{"ruleNumber": 100, "protocol": "-1",
                "ruleAction": "allow", "egress": true, "cidrBlock": "0.0.0.0/0"}]),
            ),
            // All traffic in from ::/0.
            acl(
                "acl-v6",
                json!([{"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow",
                "egress": false, "ipv6CidrBlock": "::/0"}]),
            ),
        ];
        assert_eq!(
            on_items(nacl_admin_ports, &items),
            [
                row("acl-denied", Status::Pass),
                row("acl-rdp", Status::Fail),
                row("acl-egress", Status::Pass),
                row("acl-v6", Status::Fail)
            ]
        );
        let open: Vec<Vec<i64>> = items
            .iter()
            .map(|i| open_acl_ports(&i["configuration"]))
            .collect();
        assert_eq!(open, [vec![], vec![3389], vec![], vec![22, 3389]]);
    }

    #[test]
    fn an_account_without_resources_of_a_type_is_not_applicable() {
        use Status::*;
        // Only a VPC: every other type is absent from the account's Config data.
        let vpc = fixture_items()
            .into_iter()
            .find(|i| i["resourceType"] == "AWS::EC2::VPC")
            .expect("a VPC");
        let expected = |name: &str| match name {
            "vpc_flow_logs" => vec![row(&ec2("vpc", "vpc-0aaaaaaaaaaaa0001"), Fail)],
            "s3_account_public_access_block" | "ebs_default_encryption" => vec![account(Unknown)],
            "cloudtrail_multi_region" | "s3_object_write_logging" | "s3_object_read_logging" => {
                vec![account(Fail)]
            }
            _ => vec![account(NotApplicable)],
        };
        for (name, check) in CONFIG_CHECKS {
            assert_eq!(
                on_items(check, std::slice::from_ref(&vpc)),
                expected(name),
                "check {name}"
            );
        }
    }

    #[test]
    fn resources_of_other_accounts_from_an_aggregator_are_not_scored() {
        let mut items = fixture_items();
        for item in &mut items {
            item["accountId"] = json!("999999999999");
        }
        assert_eq!(
            on_items(rds_encrypted, &items),
            [account(Status::NotApplicable)]
        );
    }

    const ENCRYPTED_FS: &str =
        "arn:aws:elasticfilesystem:us-east-1:012345678901:file-system/fs-0aaaaaaaaaaaa0001";
    const PLAIN_FS: &str =
        "arn:aws:elasticfilesystem:us-east-1:012345678901:file-system/fs-0aaaaaaaaaaaa0002";

    fn route_table(n: u8) -> String {
        ec2("route-table", &format!("rtb-0aaaaaaaaaaaa000{n}"))
    }

    /// The evidence of a check's outcome for one resource.
    fn evidence_of(check: Check, items: &[Value], resource: &str) -> Value {
        outcomes(check, &BTreeMap::from([(RESOURCES, config_frame(items))]))
            .into_iter()
            .find(|o| o.resource_id == resource)
            .unwrap_or_else(|| panic!("no outcome for {resource}"))
            .evidence
    }

    #[test]
    fn efs_peering_and_s3_data_event_checks_give_the_fixtures_known_answers() {
        use Status::*;
        // fs-0aaaaaaaaaaaa0009 and rtb-0aaaaaaaaaaaa0009 are deleted and would fail: no row.
        assert_eq!(
            on_fixture(efs_encrypted),
            [row(ENCRYPTED_FS, Pass), row(PLAIN_FS, Fail)]
        );
        assert_eq!(
            on_fixture(peering_routes_least_access),
            [
                row(&route_table(1), Fail),
                row(&route_table(2), Pass),
                row(&route_table(3), Pass)
            ]
        );
        // The only live trail keeps the default selector; the deleted one with custom
        // selectors would make both UNKNOWN.
        assert_eq!(on_fixture(s3_object_write_logging), [account(Fail)]);
        assert_eq!(on_fixture(s3_object_read_logging), [account(Fail)]);

        let items = fixture_items();
        assert_eq!(
            evidence_of(efs_encrypted, &items, ENCRYPTED_FS),
            json!({"encrypted": true, "kms_key_id": KEY})
        );
        assert_eq!(
            evidence_of(efs_encrypted, &items, PLAIN_FS),
            json!({"encrypted": false, "kms_key_id": null})
        );
        let pcx = "pcx-0aaaaaaaaaaaa0001";
        assert_eq!(
            evidence_of(peering_routes_least_access, &items, &route_table(1)),
            json!({"peering_routes": [{"destination": "0.0.0.0/0", "vpc_peering_connection_id": pcx}],
                   "default_peering_routes": [{"destination": "0.0.0.0/0", "vpc_peering_connection_id": pcx}]})
        );
        assert_eq!(
            evidence_of(peering_routes_least_access, &items, &route_table(2)),
            json!({"peering_routes": [{"destination": "10.1.0.0/16", "vpc_peering_connection_id": pcx}],
                   "default_peering_routes": []})
        );
        assert_eq!(
            evidence_of(s3_object_read_logging, &items, ACCOUNT),
            json!({"data_event_kind": "read",
                   "multi_region_trails_default_selectors": [TRAIL],
                   "multi_region_trails_selectors_not_recorded": []})
        );
    }

    #[test]
    fn custom_or_unrecorded_event_selectors_leave_s3_data_events_unknown() {
        use Status::*;
        let with_selectors = |value: Option<Value>, multi: bool| {
            let mut items = fixture_items();
            for item in &mut items {
                if item["resourceType"] == "AWS::CloudTrail::Trail" {
                    let config = item["configuration"].as_object_mut().expect("object");
                    config.insert("isMultiRegionTrail".to_owned(), json!(multi));
                    match &value {
                        Some(v) => config.insert("hasCustomEventSelectors".to_owned(), v.clone()),
                        None => config.remove("hasCustomEventSelectors"),
                    };
                }
            }
            items
        };
        let custom = with_selectors(Some(json!(true)), true);
        assert_eq!(
            on_items(s3_object_write_logging, &custom),
            [account(Unknown)]
        );
        assert_eq!(
            evidence_of(s3_object_write_logging, &custom, ACCOUNT),
            json!({"data_event_kind": "write",
                   "multi_region_trails_default_selectors": [],
                   "multi_region_trails_selectors_not_recorded": [TRAIL]})
        );
        // Not saying is not saying false.
        let silent = with_selectors(None, true);
        assert_eq!(
            on_items(s3_object_read_logging, &silent),
            [account(Unknown)]
        );
        // Booleans given as text are read as booleans.
        let text = with_selectors(Some(json!("FALSE")), true);
        assert_eq!(on_items(s3_object_read_logging, &text), [account(Fail)]);
        // A single-region trail with custom selectors does not count.
        let single = with_selectors(Some(json!(true)), false);
        assert_eq!(on_items(s3_object_write_logging, &single), [account(Fail)]);
    }

    #[test]
    fn peering_routes_to_everywhere_fail_over_ipv6_too_and_prefix_lists_pass() {
        let table = |id: &str, routes: Value| {
            live_item(
                "AWS::EC2::RouteTable",
                id,
                json!({"routeTableId": id, "vpcId": "vpc-1", "routes": routes}),
            )
        };
        let items = [
            table(
                "rtb-v6",
                json!([{"destinationIpv6CidrBlock": "::/0",
                        "vpcPeeringConnectionId": "pcx-1", "state": "active"}]),
            ),
            table(
                "rtb-prefix-list",
                json!([{"destinationPrefixListId": "pl-1",
                        "vpcPeeringConnectionId": "pcx-1", "state": "active"}]),
            ),
            // A default route through a NAT gateway is not a peering route.
            table(
                "rtb-nat",
                json!([{"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1",
                        "vpcPeeringConnectionId": ""}]),
            ),
            table("rtb-no-routes", Value::Null),
        ];
        assert_eq!(
            on_items(peering_routes_least_access, &items),
            [
                row("rtb-v6", Status::Fail),
                row("rtb-prefix-list", Status::Pass),
                row("rtb-nat", Status::Pass),
                row("rtb-no-routes", Status::Pass)
            ]
        );
        assert_eq!(
            evidence_of(peering_routes_least_access, &items, "rtb-prefix-list"),
            json!({"peering_routes": [{"destination": "pl-1", "vpc_peering_connection_id": "pcx-1"}],
                   "default_peering_routes": []})
        );
    }

    #[test]
    fn efs_encryption_given_as_text_counts_and_an_unsaid_one_is_unknown() {
        let fs =
            |id: &str, configuration: Value| live_item("AWS::EFS::FileSystem", id, configuration);
        let items = [
            fs(
                "fs-text",
                json!({"FileSystemId": "fs-text", "Encrypted": "true"}),
            ),
            fs("fs-silent", json!({"FileSystemId": "fs-silent"})),
            fs(
                "fs-false-text",
                json!({"FileSystemId": "fs-false-text", "Encrypted": "false"}),
            ),
        ];
        assert_eq!(
            on_items(efs_encrypted, &items),
            [
                row("fs-text", Status::Pass),
                row("fs-silent", Status::Unknown),
                row("fs-false-text", Status::Fail)
            ]
        );
    }

    #[test]
    fn service_checks_follow_each_regions_coverage() {
        use Status::*;
        let frames = BTreeMap::from([(
            COVERAGE,
            coverage_frame(&[
                ("config", "us-east-1", "ok"),
                ("config", "us-east-1", "ok"),
                ("config", "eu-west-1", "not_enabled"),
                ("config", "ap-south-1", "ok"),
                ("config", "ap-south-1", "access_denied"),
                ("iam", "global", "ok"),
            ]),
        )]);
        let at = |region: &str, status| (ACCOUNT.to_owned(), region.to_owned(), status);
        assert_eq!(
            run(config_enabled, &frames),
            [
                at("ap-south-1", Unknown),
                at("eu-west-1", Fail),
                at("us-east-1", Pass)
            ]
        );
        // The Security Hub source read none of the regions Config read: UNKNOWN in each,
        // never PASS.
        assert_eq!(
            run(securityhub_enabled, &frames),
            [
                at("ap-south-1", Unknown),
                at("eu-west-1", Unknown),
                at("us-east-1", Unknown)
            ]
        );
        // Only IAM (global) was read: one UNKNOWN row for the account.
        let iam_only = BTreeMap::from([(COVERAGE, coverage_frame(&[("iam", "global", "ok")]))]);
        assert_eq!(run(config_enabled, &iam_only), [account(Unknown)]);
    }
}
