//! The AWS Security Finding Format (ASFF): one finding as JSON into one row of
//! `securityhub_findings`, and the shapes exported files come in.
//!
//! The API path and the import path both go through [`finding_row`] on the finding's JSON
//! as it was received, so a finding gives the same row however it reached the lake, and
//! the `finding` column keeps that JSON for whatever the typed columns leave out.

use std::collections::BTreeMap;
use std::io::BufRead;

use chrono::{DateTime, NaiveDateTime};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::stream::{Document, OnRecord, stream_document};

/// One resource of a finding, as the `resources` column holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
    pub partition: Option<String>,
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The type-specific `Details` document as JSON text; its shape varies by type.
    pub details: Option<String>,
}

/// One row of `securityhub_findings`, less the common columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub finding_id: String,
    pub aws_account_id: String,
    pub product_arn: String,
    pub product_name: Option<String>,
    pub company_name: Option<String>,
    pub generator_id: String,
    pub types: Vec<String>,
    pub title: String,
    pub description: String,
    pub severity_label: Option<String>,
    pub severity_normalized: Option<i32>,
    pub workflow_status: Option<String>,
    pub record_state: Option<String>,
    pub compliance_status: Option<String>,
    pub related_requirements: Vec<String>,
    pub security_control_id: Option<String>,
    pub associated_standards: Vec<String>,
    pub resources: Vec<ResourceRow>,
    pub first_observed_at: Option<i64>,
    pub last_observed_at: Option<i64>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub product_fields: BTreeMap<String, String>,
    pub user_defined_fields: BTreeMap<String, String>,
    pub note_text: Option<String>,
    pub finding: String,
    /// The finding's region: `Region`, or else the region of its `ProductArn`. Used to
    /// place imported findings; the `region` column itself is a common column.
    #[serde(skip)]
    pub finding_region: Option<String>,
}

impl FindingRow {
    /// Whether Security Hub has archived the finding: it then leaves the current snapshot.
    pub fn is_archived(&self) -> bool {
        self.record_state.as_deref() == Some("ARCHIVED")
    }
}

/// Milliseconds since the epoch (UTC) of an ASFF timestamp. RFC 3339 with `Z` or an
/// offset, with or without fractional seconds; a time without a zone is taken as UTC, as
/// some exporters write it. Digits past the millisecond are dropped.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|at| at.and_utc().timestamp_millis())
        .map_err(|_| format!("{text:?} is not an ISO 8601 timestamp"))
}

fn text(finding: &Map<String, Value>, key: &str) -> Option<String> {
    finding.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn required(finding: &Map<String, Value>, key: &str) -> Result<String, String> {
    text(finding, key).ok_or_else(|| format!("field {key} is missing or not a string"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A key/value object as a string map. ASFF declares the values strings; any other value
/// an exporter wrote is kept as its JSON text rather than dropped.
fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|object| {
            object
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn timestamp(finding: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match finding.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_timestamp(s)
            .map(Some)
            .map_err(|e| format!("field {key}: {e}")),
        Some(other) => Err(format!("field {key}: {other} is not a timestamp string")),
    }
}

fn resource(value: &Value) -> Result<ResourceRow, String> {
    let object = value
        .as_object()
        .ok_or("a Resources entry is not an object")?;
    Ok(ResourceRow {
        resource_type: required(object, "Type").map_err(|e| format!("Resources: {e}"))?,
        id: required(object, "Id").map_err(|e| format!("Resources: {e}"))?,
        partition: text(object, "Partition"),
        region: text(object, "Region"),
        tags: string_map(object.get("Tags")),
        details: object
            .get("Details")
            .filter(|d| !d.is_null())
            .map(Value::to_string),
    })
}

/// The region segment of an ARN (`arn:aws:securityhub:us-east-1::product/aws/guardduty`).
fn arn_region(arn: &str) -> Option<String> {
    let region = arn.split(':').nth(3)?;
    (!region.is_empty()).then(|| region.to_owned())
}

/// One finding's row. An error names the field that is missing or malformed.
pub fn finding_row(value: &Value) -> Result<FindingRow, String> {
    let finding = value
        .as_object()
        .ok_or("the finding is not a JSON object")?;
    let product_fields = string_map(finding.get("ProductFields"));
    let product_field = |key: &str| product_fields.get(key).cloned();
    let severity = finding.get("Severity").and_then(Value::as_object);
    let compliance = finding.get("Compliance").and_then(Value::as_object);
    let product_arn = required(finding, "ProductArn")?;

    let severity_normalized = match severity.and_then(|s| s.get("Normalized")) {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_f64()
                .filter(|n| (0.0..=100.0).contains(n))
                .map(|n| n.round() as i32)
                .ok_or_else(|| format!("field Severity.Normalized: {n} is not 0 to 100"))?,
        ),
    };
    let resources = finding
        .get("Resources")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(resource).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();

    Ok(FindingRow {
        finding_id: required(finding, "Id")?,
        aws_account_id: required(finding, "AwsAccountId")?,
        product_name: text(finding, "ProductName")
            .or_else(|| product_field("aws/securityhub/ProductName")),
        company_name: text(finding, "CompanyName")
            .or_else(|| product_field("aws/securityhub/CompanyName")),
        generator_id: required(finding, "GeneratorId")?,
        types: strings(finding.get("Types")),
        title: required(finding, "Title")?,
        description: required(finding, "Description")?,
        severity_label: severity
            .and_then(|s| text(s, "Label"))
            .or_else(|| product_field("aws/securityhub/SeverityLabel")),
        severity_normalized,
        workflow_status: finding
            .get("Workflow")
            .and_then(Value::as_object)
            .and_then(|w| text(w, "Status"))
            .or_else(|| text(finding, "WorkflowState")),
        record_state: text(finding, "RecordState"),
        compliance_status: compliance.and_then(|c| text(c, "Status")),
        related_requirements: strings(compliance.and_then(|c| c.get("RelatedRequirements"))),
        security_control_id: compliance
            .and_then(|c| text(c, "SecurityControlId"))
            .or_else(|| product_field("ControlId")),
        associated_standards: compliance
            .and_then(|c| c.get("AssociatedStandards"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|s| s.get("StandardsId").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        resources,
        first_observed_at: timestamp(finding, "FirstObservedAt")?,
        last_observed_at: timestamp(finding, "LastObservedAt")?,
        created_at: timestamp(finding, "CreatedAt")?,
        updated_at: timestamp(finding, "UpdatedAt")?,
        user_defined_fields: string_map(finding.get("UserDefinedFields")),
        note_text: finding
            .get("Note")
            .and_then(Value::as_object)
            .and_then(|n| text(n, "Text")),
        finding: value.to_string(),
        finding_region: text(finding, "Region").or_else(|| arn_region(&product_arn)),
        product_arn,
        product_fields,
    })
}

/// Read the findings of an exported file, handing each to `on_finding` as it is parsed:
/// `{"Findings": […]}`, `{"findings": […]}` (whatever other members the object has), a
/// bare array, or one finding per line (JSON lines). An error says what the file is not.
/// Findings under both `Findings` and `findings` of one object are all read.
pub(crate) fn export_findings(
    input: impl BufRead,
    on_finding: &mut OnRecord<'_>,
) -> Result<(), String> {
    let document = stream_document(input, &["Findings", "findings"], true, on_finding)
        .map_err(|e| e.to_string())?;
    match document {
        Document::Records => Ok(()),
        // A single finding on one line, without a line break after it.
        Document::Object(object)
            if object.contains_key("Id") && object.contains_key("ProductArn") =>
        {
            on_finding(0, Value::Object(object))
        }
        Document::Object(_) => Err(
            "not an ASFF export: expected {\"Findings\": [...]}, {\"findings\": [...]}, \
             an array of findings or one finding per line"
                .to_owned(),
        ),
        Document::Scalar => {
            Err("not an ASFF export: the document is neither an object nor an array".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_form_parse_to_the_same_instant() {
        let expected = 1_714_557_600_000;
        assert_eq!(parse_timestamp("2024-05-01T10:00:00Z"), Ok(expected));
        assert_eq!(
            parse_timestamp("2024-05-01T10:00:00.123456Z"),
            Ok(expected + 123),
            "microseconds are cut to milliseconds"
        );
        assert_eq!(parse_timestamp("2024-05-01T12:00:00+02:00"), Ok(expected));
        assert_eq!(parse_timestamp("2024-05-01T10:00:00"), Ok(expected));
        assert_eq!(
            parse_timestamp("2024-05-01T10:00:00.999999999Z"),
            Ok(expected + 999)
        );
        assert!(parse_timestamp("May 1st").is_err());
    }

    fn minimal() -> Value {
        serde_json::json!({
            "SchemaVersion": "2018-10-08",
            "Id": "f-1",
            "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
            "GeneratorId": "g",
            "AwsAccountId": "012345678901",
            "Types": ["TTPs/Discovery"],
            "CreatedAt": "2024-05-01T10:00:00Z",
            "UpdatedAt": "2024-05-01T10:00:00.5Z",
            "Severity": {"Label": "HIGH", "Normalized": 70},
            "Title": "t",
            "Description": "d",
            "ProductFields": {},
            "Resources": [{"Type": "Other", "Id": "r", "Details": {"Other": {}}}]
        })
    }

    #[test]
    fn a_minimal_finding_gives_typed_columns_and_keeps_its_json() {
        let value = minimal();
        let row = finding_row(&value).expect("valid");
        assert_eq!(row.finding_id, "f-1");
        assert_eq!(row.finding_region.as_deref(), Some("eu-west-1"));
        assert_eq!(row.severity_label.as_deref(), Some("HIGH"));
        assert_eq!(row.severity_normalized, Some(70));
        assert_eq!(row.updated_at, Some(1_714_557_600_500));
        assert_eq!(row.compliance_status, None);
        assert!(row.product_fields.is_empty());
        assert_eq!(row.resources.len(), 1);
        assert_eq!(row.resources[0].details.as_deref(), Some(r#"{"Other":{}}"#));
        assert_eq!(
            serde_json::from_str::<Value>(&row.finding).expect("JSON"),
            value
        );
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let mut value = minimal();
        value.as_object_mut().expect("object").remove("GeneratorId");
        assert_eq!(
            finding_row(&value).expect_err("invalid"),
            "field GeneratorId is missing or not a string"
        );
        let mut value = minimal();
        value["UpdatedAt"] = Value::from("yesterday");
        let err = finding_row(&value).expect_err("invalid");
        assert!(err.starts_with("field UpdatedAt:"), "{err}");
    }

    fn export(text: &str) -> Result<Vec<Value>, String> {
        let mut findings = Vec::new();
        export_findings(text.as_bytes(), &mut |_, value| {
            findings.push(value);
            Ok(())
        })?;
        Ok(findings)
    }

    #[test]
    fn every_export_shape_gives_its_findings() {
        let one = minimal().to_string();
        let shapes = [
            format!("{{\"Findings\": [{one}, {one}]}}"),
            format!("{{\"findings\": [{one}, {one}]}}"),
            format!("[{one}, {one}]"),
            format!("{one}\n\n{one}\n"),
        ];
        for shape in &shapes {
            let findings = export(shape).expect(shape);
            assert_eq!(findings, [minimal(), minimal()], "{shape}");
        }
        assert_eq!(export(&one).expect("one line"), [minimal()]);
        assert!(
            export("{\"Findings\": {}}")
                .expect_err("not an array")
                .contains("Findings is not an array")
        );
        assert!(
            export("{\"Findings\": [")
                .expect_err("truncated")
                .starts_with("not valid JSON")
        );
        assert!(
            export(&format!("{one}\n{{oops"))
                .expect_err("bad second line")
                .starts_with("line 2:")
        );
    }
}
