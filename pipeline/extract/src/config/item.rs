//! AWS Config configuration items into `config_resources` rows, whichever form they come in.
//!
//! The API (`BatchGetResourceConfig`) sends `configuration` as JSON text, every
//! supplementary value as text, and times as epoch seconds. Snapshot files and rule events
//! carry objects, ISO 8601 times, `configurationStateId` as a number, and older field names
//! (`configurationStateMd5Hash`). Both go through [`ItemParts`] and [`ItemParts::into_row`],
//! so the same resource gives the same row however it was read.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// One related resource of a configuration item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelationshipRow {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub relationship_name: Option<String>,
}

/// A row of `config_resources`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub resource_account_id: String,
    pub resource_region: String,
    pub availability_zone: Option<String>,
    pub configuration_item_status: Option<String>,
    pub configuration_item_capture_time: Option<i64>,
    pub resource_creation_time: Option<i64>,
    pub resource_deletion_time: Option<i64>,
    pub configuration_state_id: Option<String>,
    pub configuration_item_md5_hash: Option<String>,
    pub configuration_item_version: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub relationships: Option<Vec<RelationshipRow>>,
    pub configuration: Option<String>,
    pub supplementary_configuration: Option<String>,
    pub deleted: bool,
}

/// The fields of a configuration item after the differences of form are taken out.
#[derive(Debug, Clone, Default)]
pub struct ItemParts {
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub account_id: String,
    pub region: String,
    pub availability_zone: Option<String>,
    pub status: Option<String>,
    pub capture_time: Option<i64>,
    pub creation_time: Option<i64>,
    pub deletion_time: Option<i64>,
    pub state_id: Option<String>,
    pub md5_hash: Option<String>,
    pub version: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub relationships: Option<Vec<RelationshipRow>>,
    /// The configuration document; `None` or JSON null when none was recorded.
    pub configuration: Option<Value>,
    /// Supplementary configuration, each value as it arrived (text or JSON).
    pub supplementary: Option<Vec<(String, Value)>>,
}

/// Statuses of a configuration item whose resource no longer exists.
const DELETED_STATUSES: &[&str] = &["ResourceDeleted", "ResourceDeletedNotRecorded"];

impl ItemParts {
    pub fn into_row(self) -> ResourceRow {
        let configuration = self.configuration.map(decode_text).filter(|v| !v.is_null());
        let deleted = self
            .status
            .as_deref()
            .is_some_and(|s| DELETED_STATUSES.contains(&s))
            || self.deletion_time.is_some()
            || (self.status.is_none() && configuration.is_none());
        let supplementary = self.supplementary.map(|values| {
            let mut sorted: Vec<(String, Value)> = values
                .into_iter()
                .map(|(k, v)| (k, decode_embedded(decode_text(v))))
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(sorted.into_iter().collect::<Map<String, Value>>()).to_string()
        });
        ResourceRow {
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            resource_name: self.resource_name.filter(|n| !n.is_empty()),
            arn: self.arn.filter(|a| !a.is_empty()),
            resource_account_id: self.account_id,
            resource_region: self.region,
            availability_zone: self.availability_zone,
            configuration_item_status: self.status,
            configuration_item_capture_time: self.capture_time,
            resource_creation_time: self.creation_time,
            resource_deletion_time: self.deletion_time,
            configuration_state_id: self.state_id,
            configuration_item_md5_hash: self.md5_hash,
            configuration_item_version: self.version,
            tags: self.tags,
            relationships: self.relationships,
            configuration: configuration.map(|v| v.to_string()),
            supplementary_configuration: supplementary,
            deleted,
        }
    }
}

/// A value that AWS may have sent as JSON text: the decoded value when the text is JSON,
/// else the value as it is. Applied to both forms, so an object and its JSON text agree.
fn decode_text(value: Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(text.trim()) {
            Ok(decoded) => decoded,
            Err(_) => Value::String(text),
        },
        other => other,
    }
}

/// Documents nested in supplementary configuration that AWS sends as JSON text (a bucket
/// policy's `policyText`): text holding a JSON object or array is decoded, at any depth.
/// Other text (an ARN, `"false"` inside a document) stays text, since only the top-level
/// values have the API's everything-is-text encoding to undo.
fn decode_embedded(value: Value) -> Value {
    match value {
        Value::String(text) => {
            let trimmed = text.trim_start();
            if (trimmed.starts_with('{') || trimmed.starts_with('['))
                && let Ok(decoded) = serde_json::from_str::<Value>(&text)
            {
                return decode_embedded(decoded);
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(decode_embedded).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, decode_embedded(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Why a JSON value is not a configuration item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration item {index}: {message}")]
pub struct ItemError {
    pub index: usize,
    pub message: String,
}

/// The items of one delivered file: a snapshot (`{"configurationItems": [...]}`), a rule
/// event (`{"configurationItem": {...}}`, or a rule's Lambda event whose `invokingEvent`
/// holds one as JSON text), one item, or an array of items. `Err` when the
/// document is none of these.
pub fn items_of_document(doc: Value) -> Result<Vec<Value>, String> {
    match doc {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => {
            if let Some(items) = map.remove("configurationItems") {
                return match items {
                    Value::Array(items) => Ok(items),
                    _ => Err("`configurationItems` is not an array".to_owned()),
                };
            }
            if let Some(item) = map.remove("configurationItem") {
                return Ok(vec![item]);
            }
            // A rule's Lambda event carries the item in `invokingEvent`, as JSON text.
            if let Some(Value::String(event)) = map.get("invokingEvent") {
                let event: Value = serde_json::from_str(event)
                    .map_err(|e| format!("`invokingEvent` is not JSON: {e}"))?;
                return items_of_document(event);
            }
            if map.contains_key("resourceType") {
                return Ok(vec![Value::Object(map)]);
            }
            Err(
                "neither a Config snapshot (`configurationItems`), a rule event \
                 (`configurationItem`), a configuration item nor an array of items"
                    .to_owned(),
            )
        }
        _ => Err("the document is not a JSON object or array".to_owned()),
    }
}

/// One item of a snapshot file or rule event, in the delivered (object) form.
pub fn parts_from_json(index: usize, item: &Value) -> Result<ItemParts, ItemError> {
    let error = |message: String| ItemError { index, message };
    let Value::Object(map) = item else {
        return Err(error("not a JSON object".to_owned()));
    };
    let text = |keys: &[&str]| keys.iter().find_map(|k| scalar_text(map.get(*k)?));
    let required =
        |key: &str| text(&[key]).ok_or_else(|| error(format!("`{key}` is missing or not text")));
    let time = |key: &str| -> Result<Option<i64>, ItemError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => json_time(value)
                .map(Some)
                .ok_or_else(|| error(format!("`{key}` is not a time: {value}"))),
        }
    };

    let tags = match map.get("tags") {
        None | Some(Value::Null) => None,
        Some(value) => Some(tag_map(value).ok_or_else(|| error("`tags` is not a map".into()))?),
    };
    let relationships = match map.get("relationships") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(list.iter().map(relationship).collect()),
        Some(_) => return Err(error("`relationships` is not an array".to_owned())),
    };
    let supplementary = match map.get("supplementaryConfiguration") {
        None | Some(Value::Null) => None,
        Some(Value::Object(values)) => {
            Some(values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        Some(_) => {
            return Err(error(
                "`supplementaryConfiguration` is not an object".to_owned(),
            ));
        }
    };

    Ok(ItemParts {
        resource_type: required("resourceType")?,
        resource_id: required("resourceId")?,
        resource_name: text(&["resourceName"]),
        arn: text(&["ARN", "arn"]),
        account_id: account_text(map.get("awsAccountId").or_else(|| map.get("accountId")))
            .ok_or_else(|| error("`awsAccountId` is missing or not an account id".to_owned()))?,
        region: required("awsRegion")?,
        availability_zone: text(&["availabilityZone"]),
        status: text(&["configurationItemStatus"]),
        capture_time: time("configurationItemCaptureTime")?,
        creation_time: time("resourceCreationTime")?,
        deletion_time: time("resourceDeletionTime")?,
        state_id: text(&["configurationStateId"]),
        md5_hash: text(&["configurationItemMD5Hash", "configurationStateMd5Hash"]),
        version: text(&["configurationItemVersion", "version"]),
        tags,
        relationships,
        configuration: map.get("configuration").cloned(),
        supplementary,
    })
}

/// Text of a string, number or boolean; `None` for null, empty text, arrays and objects.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An account id given as text or as a number (which loses leading zeros: they are put
/// back, since account ids always have 12 digits).
fn account_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| format!("{n:012}")),
        _ => None,
    }
}

/// Milliseconds since the epoch of an ISO 8601 time or of epoch seconds (the API's form).
pub fn json_time(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_millis()),
        Value::Number(n) => n.as_f64().map(|secs| (secs * 1000.0).round() as i64),
        _ => None,
    }
}

/// Tags as delivered: an object of values (text, or numbers and booleans written as text),
/// or a list of `{key, value}` pairs.
fn tag_map(value: &Value) -> Option<BTreeMap<String, String>> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        Value::Object(map) => Some(map.iter().map(|(k, v)| (k.clone(), text(v))).collect()),
        Value::Array(pairs) => pairs
            .iter()
            .map(|pair| {
                let key = pair.get("key").or_else(|| pair.get("Key"))?.as_str()?;
                let value = pair.get("value").or_else(|| pair.get("Value"));
                Some((key.to_owned(), value.map(text).unwrap_or_default()))
            })
            .collect(),
        _ => None,
    }
}

fn relationship(value: &Value) -> RelationshipRow {
    let text = |keys: &[&str]| keys.iter().find_map(|k| scalar_text(value.get(*k)?));
    RelationshipRow {
        resource_type: text(&["resourceType"]),
        resource_id: text(&["resourceId"]),
        resource_name: text(&["resourceName"]),
        // Snapshots and events call it `name`; the API's `Relationship` `relationshipName`.
        relationship_name: text(&["name", "relationshipName"]).map(|n| n.trim_end().to_owned()),
    }
}

/// An item as `BatchGetResourceConfig` or `BatchGetAggregateResourceConfig` return it.
/// `None` when the item lacks its type or id, which AWS always sends.
pub fn parts_from_api(item: &aws_sdk_config::types::BaseConfigurationItem) -> Option<ItemParts> {
    let millis = |t: Option<&aws_smithy_types::DateTime>| crate::millis(t);
    Some(ItemParts {
        resource_type: item.resource_type()?.as_str().to_owned(),
        resource_id: item.resource_id()?.to_owned(),
        resource_name: item.resource_name().map(str::to_owned),
        arn: item.arn().map(str::to_owned),
        account_id: item.account_id().unwrap_or_default().to_owned(),
        region: item.aws_region().unwrap_or_default().to_owned(),
        availability_zone: item.availability_zone().map(str::to_owned),
        status: item
            .configuration_item_status()
            .map(|s| s.as_str().to_owned()),
        capture_time: millis(item.configuration_item_capture_time()),
        creation_time: millis(item.resource_creation_time()),
        deletion_time: None,
        state_id: item.configuration_state_id().map(str::to_owned),
        md5_hash: None,
        version: item.version().map(str::to_owned),
        tags: None,
        relationships: None,
        configuration: item.configuration().map(|c| Value::String(c.to_owned())),
        supplementary: item.supplementary_configuration().map(|values| {
            values
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        }),
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_config::types::{BaseConfigurationItem, ConfigurationItemStatus, ResourceType};

    use super::*;

    const S3_BUCKET: &str =
        include_str!("../../../../tests/fixtures/config/rdk-example-ci/AWS_S3_Bucket.json");
    const CLOUDFRONT: &str = include_str!(
        "../../../../tests/fixtures/config/rdk-example-ci/AWS_CLOUDFRONT_DISTRIBUTION.json"
    );
    const INVALID: &str = include_str!(
        "../../../../tests/fixtures/config/rdk-example-ci/\
         AWS_SSM_ManagedInstanceInventory_Linux.json"
    );

    fn one(text: &str) -> ResourceRow {
        let doc: Value = serde_json::from_str(text).expect("JSON");
        let items = items_of_document(doc).expect("items");
        assert_eq!(items.len(), 1);
        parts_from_json(0, &items[0]).expect("an item").into_row()
    }

    /// The S3 bucket item as `BatchGetResourceConfig` would send it: `configuration` and
    /// every supplementary value as JSON text, times as SDK timestamps.
    fn api_form_of_bucket() -> BaseConfigurationItem {
        let doc: Value = serde_json::from_str(S3_BUCKET).expect("JSON");
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let supplementary = doc["supplementaryConfiguration"]
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect();
        let time = |key: &str| {
            let millis = json_time(&doc[key]).expect("a time");
            aws_smithy_types::DateTime::from_millis(millis)
        };
        BaseConfigurationItem::builder()
            .version("1.3")
            .account_id("934654633380")
            .configuration_item_capture_time(time("configurationItemCaptureTime"))
            .configuration_item_status(ConfigurationItemStatus::Ok)
            .configuration_state_id("1549956556288")
            .arn("arn:aws:s3:::mborch-test-bucket-config-item")
            .resource_type(ResourceType::Bucket)
            .resource_id("mborch-test-bucket-config-item")
            .resource_name("mborch-test-bucket-config-item")
            .aws_region("us-east-1")
            .availability_zone("Regional")
            .resource_creation_time(time("resourceCreationTime"))
            .configuration(doc["configuration"].to_string())
            .set_supplementary_configuration(Some(supplementary))
            .build()
    }

    #[test]
    fn api_text_form_and_snapshot_object_form_give_the_same_row() {
        let snapshot = one(S3_BUCKET);
        let api = parts_from_api(&api_form_of_bucket())
            .expect("parts")
            .into_row();

        // The API never returns tags, relationships or the hash; everything else agrees.
        let comparable = ResourceRow {
            tags: None,
            relationships: None,
            configuration_item_md5_hash: None,
            ..snapshot.clone()
        };
        assert_eq!(api, comparable);

        assert_eq!(
            snapshot.configuration_state_id.as_deref(),
            Some("1549956556288")
        );
        assert_eq!(
            snapshot.configuration_item_capture_time,
            Some(1_549_956_556_288)
        );
        assert_eq!(snapshot.resource_creation_time, Some(1_549_956_105_000));
        assert_eq!(snapshot.tags, Some(BTreeMap::new()));
        assert_eq!(snapshot.relationships, Some(Vec::new()));
        assert!(!snapshot.deleted);
        assert_eq!(
            snapshot.configuration.as_deref(),
            Some(
                r#"{"name":"mborch-test-bucket-config-item","owner":{"displayName":null,"id":"8ac813c84b8ad4d9f3e35f80aaeb254f85922a902ce87ed6b49ccbfa188f5a12"},"creationDate":"2019-02-12T07:21:45.000Z"}"#
            )
        );
        let supplementary: Value = serde_json::from_str(
            snapshot
                .supplementary_configuration
                .as_deref()
                .expect("some"),
        )
        .expect("JSON");
        // JSON text at the top (the ACL) and nested (the policy text) is decoded.
        assert_eq!(
            supplementary["AccessControlList"]["grantList"][0]["permission"],
            "FullControl"
        );
        assert_eq!(
            supplementary["BucketPolicy"]["policyText"]["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        assert_eq!(supplementary["IsRequesterPaysEnabled"], false);
        let keys: Vec<&String> = supplementary.as_object().expect("object").keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "supplementary keys are sorted");
    }

    #[test]
    fn string_booleans_and_numeric_state_ids_are_normalised() {
        let api = parts_from_api(
            &BaseConfigurationItem::builder()
                .resource_type(ResourceType::Bucket)
                .resource_id("b")
                .account_id("012345678901")
                .aws_region("eu-west-1")
                .configuration_item_status(ConfigurationItemStatus::Ok)
                .configuration("{}")
                .supplementary_configuration("IsRequesterPaysEnabled", "false")
                .supplementary_configuration("Arn", "arn:aws:s3:::b")
                .build(),
        )
        .expect("parts")
        .into_row();
        assert_eq!(
            api.supplementary_configuration.as_deref(),
            Some(r#"{"Arn":"arn:aws:s3:::b","IsRequesterPaysEnabled":false}"#)
        );

        // CloudFront items carry `configurationStateId` as a number.
        let row = one(CLOUDFRONT);
        assert_eq!(row.configuration_state_id.as_deref(), Some("1549938453663"));
        assert_eq!(row.resource_type, "AWS::CloudFront::Distribution");
        assert_eq!(row.resource_region, "global");
    }

    #[test]
    fn deleted_resources_are_kept_and_flagged() {
        let deleted = |status: Option<&str>, configuration: Option<Value>| {
            ItemParts {
                resource_type: "AWS::SNS::Topic".to_owned(),
                resource_id: "arn:aws:sns:us-east-1:012345678901:t".to_owned(),
                account_id: "012345678901".to_owned(),
                region: "us-east-1".to_owned(),
                status: status.map(str::to_owned),
                configuration,
                ..Default::default()
            }
            .into_row()
        };
        let gone = deleted(Some("ResourceDeleted"), Some(Value::Null));
        assert!(gone.deleted);
        assert_eq!(gone.configuration, None);
        assert!(deleted(Some("ResourceDeletedNotRecorded"), None).deleted);
        assert!(
            deleted(None, None).deleted,
            "no status and no configuration"
        );
        assert!(!deleted(Some("ResourceNotRecorded"), None).deleted);
        assert!(!deleted(Some("OK"), Some(Value::String("{}".into()))).deleted);
    }

    #[test]
    fn documents_of_every_delivered_shape_are_read() {
        let item = serde_json::json!({"resourceType": "AWS::SNS::Topic", "resourceId": "t",
            "awsAccountId": 12345678901u64, "awsRegion": "us-east-1",
            "configurationItemStatus": "OK", "configuration": {"b": 1, "a": [true, "x"]},
            "tags": {"team": "a", "n": 3},
            "relationships": [{"resourceType": "AWS::KMS::Key", "resourceId": "k",
                "name": "Is associated with "}]});
        let shapes = [
            serde_json::json!({"fileVersion": "1.0", "configSnapshotId": "s",
                "configurationItems": [item.clone()]}),
            serde_json::json!({"configurationItemDiff": null, "configurationItem": item.clone()}),
            serde_json::json!([item.clone()]),
            serde_json::json!({"invokingEvent":
                serde_json::json!({"configurationItem": item.clone()}).to_string(),
                "ruleParameters": "{}"}),
            item,
        ];
        for doc in shapes {
            let items = items_of_document(doc).expect("a known shape");
            let row = parts_from_json(0, &items[0]).expect("item").into_row();
            assert_eq!(
                row.resource_account_id, "012345678901",
                "leading zero restored"
            );
            assert_eq!(
                row.configuration.as_deref(),
                Some(r#"{"b":1,"a":[true,"x"]}"#)
            );
            assert_eq!(
                row.tags,
                Some(BTreeMap::from([
                    ("n".to_owned(), "3".to_owned()),
                    ("team".to_owned(), "a".to_owned())
                ]))
            );
            let relationships = row.relationships.expect("relationships");
            assert_eq!(
                relationships[0].relationship_name.as_deref(),
                Some("Is associated with")
            );
        }
        let err = items_of_document(serde_json::json!({"Findings": []})).expect_err("not Config");
        assert!(err.contains("configurationItems"), "{err}");
        let missing = parts_from_json(3, &serde_json::json!({"resourceType": "AWS::S3::Bucket"}))
            .expect_err("no id");
        assert_eq!(
            missing.to_string(),
            "configuration item 3: `resourceId` is missing or not text"
        );
    }

    #[test]
    fn the_invalid_sample_file_is_not_json() {
        assert!(serde_json::from_str::<Value>(INVALID).is_err());
    }
}
