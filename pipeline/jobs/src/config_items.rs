//! AWS Config's configuration items as the jobs read them: [`ConfigItem`], one live row of
//! `config_resources` with its JSON decoded, and the readings of an item that both the
//! compliance checks (`posture`) and the risk factors (`risk`) make: the ingress rules of
//! a security group open to the world, an S3 public access block, and whether a policy
//! statement names anyone.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::{IntoLazy, PolarsResult, col, lit};
use serde_json::Value;

use crate::Frame;

/// The table the items are read from.
pub(crate) const TABLE: &str = "config_resources";

/// Any IPv4 address.
pub(crate) const WORLD_IPV4: &str = "0.0.0.0/0";
/// Any IPv6 address.
pub(crate) const WORLD_IPV6: &str = "::/0";

/// The four S3 Block Public Access settings, in the order evidence lists them.
pub(crate) const PUBLIC_ACCESS_SETTINGS: [&str; 4] = [
    "blockPublicAcls",
    "ignorePublicAcls",
    "blockPublicPolicy",
    "restrictPublicBuckets",
];

/// One configuration item of `config_resources` that is not deleted.
#[derive(Debug, Clone)]
pub(crate) struct ConfigItem {
    pub resource_type: String,
    pub resource_id: String,
    pub arn: Option<String>,
    pub name: Option<String>,
    /// The region of the resource (`resource_region`), `global` when not given.
    pub region: String,
    pub tags: Option<BTreeMap<String, String>>,
    /// The decoded `configuration`; `Null` when absent or not JSON.
    pub configuration: Value,
    /// The decoded `supplementary_configuration`; `Null` when absent or not JSON.
    pub supplementary: Value,
}

impl ConfigItem {
    /// A supplementary value; values AWS sends as JSON text are parsed, whether or not
    /// the reader already decoded them.
    pub(crate) fn supplementary(&self, key: &str) -> Value {
        decoded(&self.supplementary[key])
    }

    /// A bucket's policy document, `Null` when the bucket has none. Config gives the
    /// policy as JSON text, the lake may hold it decoded.
    pub(crate) fn bucket_policy(&self) -> Value {
        decoded(&self.supplementary("BucketPolicy")["policyText"])
    }
}

/// Which items [`read`] keeps besides the live ones.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Select<'a> {
    /// Only items of this resource type.
    pub resource_type: Option<&'a str>,
    /// Only items whose resource belongs to this account (`resource_account_id`), which
    /// leaves out other accounts' items read through an aggregator.
    pub owner: Option<&'a str>,
}

/// The live items of a `config_resources` frame that `select` keeps, in frame order. The
/// rows are filtered in Polars first, so only the kept rows are copied out and their JSON
/// columns decoded: the checks each read one resource type of an account's items. The
/// nullable columns `resource_name` and `tags` read as null when the frame does not hold
/// them, so a caller's frame needs only the columns it uses.
pub(crate) fn read(frame: &Frame, select: Select<'_>) -> PolarsResult<Vec<ConfigItem>> {
    let mut keep = col("deleted").fill_null(lit(false)).not();
    if let Some(resource_type) = select.resource_type {
        keep = keep.and(col("resource_type").eq(lit(resource_type)));
    }
    if let Some(owner) = select.owner {
        keep = keep.and(col("resource_account_id").eq(lit(owner)));
    }
    let frame = &Frame {
        table: frame.table,
        df: frame.df.clone().lazy().filter(keep).collect()?,
    };
    let (types, ids, arns, regions, configurations, supplementary) = (
        frame.strings("resource_type")?,
        frame.strings("resource_id")?,
        frame.strings("arn")?,
        frame.strings("resource_region")?,
        frame.strings("configuration")?,
        frame.strings("supplementary_configuration")?,
    );
    let has = |column: &str| frame.df.column(column).is_ok();
    let names = if has("resource_name") {
        frame.strings("resource_name")?
    } else {
        vec![None; types.len()]
    };
    let tags = if has("tags") {
        frame.string_maps("tags")?
    } else {
        vec![None; types.len()]
    };
    let parse = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null)
    };
    Ok((0..types.len())
        .filter_map(|i| {
            Some(ConfigItem {
                resource_type: types[i].clone()?,
                resource_id: ids[i].clone()?,
                arn: arns[i].clone(),
                name: names[i].clone(),
                region: regions[i].clone().unwrap_or_else(|| "global".to_owned()),
                tags: tags[i].clone(),
                configuration: parse(&configurations[i]),
                supplementary: parse(&supplementary[i]),
            })
        })
        .collect())
}

/// A JSON value that AWS may send either decoded or as JSON text; text that is not JSON
/// stays as it is.
fn decoded(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// A field AWS gives as one value or a list of them, as a list; `null` is none.
pub(crate) fn one_or_many(value: &Value) -> impl Iterator<Item = &Value> {
    match value {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
    .into_iter()
}

/// The texts of a field given as one text or a list of them; other values are skipped.
pub(crate) fn texts(value: &Value) -> Vec<String> {
    one_or_many(value)
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `true`, or the text `"true"` that some configuration items carry instead.
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A protocol as text, whether the item gives it as text or as a number.
pub(crate) fn protocol_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An ingress rule of a security group that lets in one of the world's ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenIngress {
    /// The rule's protocol as the item gives it: `-1` (all traffic), `tcp`, `6`, …
    pub protocol: String,
    /// The port range; `None` where the rule gives no bound.
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    /// [`WORLD_IPV4`] or [`WORLD_IPV6`].
    pub cidr: &'static str,
}

impl OpenIngress {
    /// The rule as `tcp 22-22 from 0.0.0.0/0`, or `all from ::/0` for every protocol.
    pub(crate) fn describe(&self) -> String {
        let protocol = match self.protocol.as_str() {
            "-1" => "all",
            other => other,
        };
        let ports = match (self.from_port, self.to_port) {
            (Some(from), Some(to)) if protocol != "all" => format!(" {from}-{to}"),
            _ => String::new(),
        };
        format!("{protocol}{ports} from {}", self.cidr)
    }
}

/// The ingress rules of a security group's configuration open to 0.0.0.0/0 or ::/0: one
/// entry per rule and world range it lets in, IPv4 before IPv6.
pub(crate) fn open_ingress(group: &Value) -> Vec<OpenIngress> {
    let mut open = Vec::new();
    for permission in one_or_many(&group["ipPermissions"]) {
        // Config records a rule's IPv4 ranges twice, in the old `ipRanges` (texts, or
        // objects as the EC2 API gives them) and the newer `ipv4Ranges` forms: a set
        // keeps one of each.
        let mut cidrs: BTreeSet<String> = BTreeSet::new();
        for range in one_or_many(&permission["ipRanges"]) {
            cidrs.extend(range.as_str().map(str::to_owned));
            cidrs.extend(range["cidrIp"].as_str().map(str::to_owned));
        }
        for range in one_or_many(&permission["ipv4Ranges"]) {
            cidrs.extend(range["cidrIp"].as_str().map(str::to_owned));
        }
        for range in one_or_many(&permission["ipv6Ranges"]) {
            cidrs.extend(range["cidrIpv6"].as_str().map(str::to_owned));
        }
        for world in [WORLD_IPV4, WORLD_IPV6] {
            if cidrs.contains(world) {
                open.push(OpenIngress {
                    protocol: protocol_text(&permission["ipProtocol"]),
                    from_port: permission["fromPort"].as_i64(),
                    to_port: permission["toPort"].as_i64(),
                    cidr: world,
                });
            }
        }
    }
    open
}

/// The S3 Block Public Access settings of a bucket or an account that are not on, in the
/// order of [`PUBLIC_ACCESS_SETTINGS`]. A setting is on when it is `true` or the text
/// `"true"`; a missing block has every setting off.
pub(crate) fn public_access_settings_off(block: &Value) -> Vec<&'static str> {
    PUBLIC_ACCESS_SETTINGS
        .into_iter()
        .filter(|s| !truthy(&block[*s]))
        .collect()
}

/// The `AWS` principals of a policy statement's `Principal` (`"*"` counts as `AWS: *`).
pub(crate) fn aws_principals(principal: &Value) -> Vec<String> {
    match principal {
        Value::String(s) => vec![s.clone()],
        Value::Object(map) => map.get("AWS").map(texts).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Whether a policy statement applies to anyone: its principal is `"*"` or names the
/// `AWS` principal `"*"`.
pub(crate) fn names_anyone(statement: &Value) -> bool {
    aws_principals(&statement["Principal"])
        .iter()
        .any(|p| p == "*")
}

/// Whether a policy statement has a condition (an external id, an organisation id, a
/// source IP), which narrows who it applies to.
pub(crate) fn conditioned(statement: &Value) -> bool {
    statement
        .get("Condition")
        .is_some_and(|c| c.as_object().is_some_and(|o| !o.is_empty()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn open_ingress_gives_each_world_range_of_each_rule_once() {
        let group = json!({"ipPermissions": [
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
             "ipRanges": ["0.0.0.0/0"], "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]},
            {"ipProtocol": -1, "ipRanges": [{"cidrIp": "0.0.0.0/0"}],
             "ipv6Ranges": [{"cidrIpv6": "::/0"}]},
            {"ipProtocol": "udp", "fromPort": 53, "toPort": 53,
             "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}]}
        ]});
        let open = open_ingress(&group);
        let described: Vec<String> = open.iter().map(OpenIngress::describe).collect();
        assert_eq!(
            described,
            [
                "tcp 22-22 from 0.0.0.0/0",
                "all from 0.0.0.0/0",
                "all from ::/0"
            ]
        );
        assert_eq!(
            open[0],
            OpenIngress {
                protocol: "tcp".to_owned(),
                from_port: Some(22),
                to_port: Some(22),
                cidr: WORLD_IPV4,
            }
        );
        assert_eq!(open[2].protocol, "-1");
    }

    #[test]
    fn a_public_access_block_given_as_text_counts_as_on() {
        let block = json!({"blockPublicAcls": "TRUE", "ignorePublicAcls": true,
                           "blockPublicPolicy": false});
        assert_eq!(
            public_access_settings_off(&block),
            ["blockPublicPolicy", "restrictPublicBuckets"]
        );
        assert_eq!(
            public_access_settings_off(&Value::Null),
            PUBLIC_ACCESS_SETTINGS
        );
    }

    #[test]
    fn statements_naming_anyone() {
        let anyone = [
            json!({"Principal": "*"}),
            json!({"Principal": {"AWS": "*"}}),
            json!({"Principal": {"AWS": ["arn:aws:iam::111111111111:root", "*"]}}),
        ];
        let someone = [
            json!({"Principal": {"AWS": "arn:aws:iam::111111111111:root"}}),
            json!({"Principal": {"Service": "*"}}),
            json!({}),
        ];
        assert!(anyone.iter().all(names_anyone));
        assert!(!someone.iter().any(names_anyone));
        assert!(conditioned(
            &json!({"Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        ));
        assert!(!conditioned(&json!({"Condition": {}})));
    }
}
