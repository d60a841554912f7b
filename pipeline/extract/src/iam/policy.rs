//! IAM policy documents, normalised into one [`Statement`] per statement.
//!
//! IAM accepts several spellings of the same thing: `Statement` as one object or a list,
//! `Action` as a string or a list, `Principal` as `"*"` or a map, condition values as
//! strings, booleans or numbers. This module turns all of them into one shape so the
//! `iam_policy_statements` table has fixed columns, and flags statements that let a
//! principal grant itself any permission ([`Statement::admin_equivalent`]).
//!
//! Statements are numbered from 0 in document order, both in [`Statement::statement_index`]
//! and in error messages, so an error points at the same row a reader would see.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// The IAM actions with which a principal can widen its own permissions to anything.
///
/// A statement that allows all of them on every resource is as good as administrator
/// access, whatever else it lists: the holder attaches or writes a policy that grants
/// `*` to itself (a user directly, a role it can assume, a group it is in) or makes a
/// new default version of a policy already attached to it. The list is fixed and short
/// on purpose so the flag is easy to explain and to reproduce in SQL; it does not try
/// to model every privilege-escalation path.
pub const SELF_ESCALATION_ACTIONS: &[&str] = &[
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:CreatePolicyVersion",
];

/// One principal a statement names: its type (`AWS`, `Service`, `Federated`,
/// `CanonicalUser`) and one value of that type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    pub kind: String,
    pub value: String,
}

/// One condition test: an operator applied to one condition key with its values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    /// Every value as text: booleans as `true`/`false`, numbers as serde_json prints them.
    pub values: Vec<String>,
}

/// One statement of a policy document in a single shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// Position in the document, from 0.
    pub statement_index: i32,
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    pub action: Vec<String>,
    pub not_action: Vec<String>,
    pub resource: Vec<String>,
    pub not_resource: Vec<String>,
    pub principal: Vec<Principal>,
    pub not_principal: Vec<Principal>,
    /// The `Condition` block as compact JSON, keys in document order; `None` when absent.
    pub condition_json: Option<String>,
    pub conditions: Vec<Condition>,
    /// Whether the statement allows every action of [`SELF_ESCALATION_ACTIONS`] on every
    /// resource. Conditions are ignored: a static reading cannot decide them, and a
    /// missed administrator is worse than a flagged one.
    ///
    /// Limitation: only a literal `*` counts as every resource; a pattern such as
    /// `arn:aws:iam::*:*`, which also covers every IAM resource, is not recognised,
    /// because deciding resource coverage would need the ARN format of every IAM
    /// resource type.
    pub admin_equivalent: bool,
}

/// Why a policy document could not be normalised. Messages name the statement (from 0)
/// and element at fault; the caller adds which policy it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("policy document is not valid UTF-8 once percent-decoded: {source}")]
    InvalidUtf8 {
        #[source]
        source: std::str::Utf8Error,
    },

    #[error("policy document is not valid JSON: {source}")]
    InvalidJson {
        #[source]
        source: serde_json::Error,
    },

    #[error("policy document must be a JSON object, found {found}")]
    DocumentNotObject { found: String },

    #[error("policy document has no Statement element")]
    MissingStatement,

    #[error("Statement must be an object or a list of objects, found {found}")]
    StatementsWrongType { found: String },

    #[error("policy document has {count} statements, more than a statement index can hold")]
    TooManyStatements { count: usize },

    #[error("statement {index}: must be an object, found {found}")]
    StatementNotObject { index: i32, found: String },

    #[error("statement {index}: Effect is missing")]
    MissingEffect { index: i32 },

    #[error("statement {index}: Effect must be Allow or Deny, found {found}")]
    InvalidEffect { index: i32, found: String },

    #[error("statement {index}: has both {element} and {negated}; IAM allows only one of them")]
    ConflictingElements {
        index: i32,
        element: &'static str,
        negated: &'static str,
    },

    #[error("statement {index}: {element} must be {expected}, found {found}")]
    WrongType {
        index: i32,
        element: String,
        expected: &'static str,
        found: String,
    },
}

/// Decode a document as IAM's API returns it (percent-encoded, RFC 3986) or already decoded.
///
/// A text whose first non-blank character is `{` is taken as decoded JSON: an encoded
/// document cannot start that way, since `{` is always encoded as `%7B`. Decoding is plain
/// percent-decoding, not form decoding, so a `+` stays a `+` (`%2B` is also a `+`).
pub fn decode_document(raw: &str) -> Result<Value, PolicyError> {
    let text = if raw.trim_start().starts_with('{') {
        std::borrow::Cow::Borrowed(raw)
    } else {
        percent_decode_str(raw)
            .decode_utf8()
            .map_err(|source| PolicyError::InvalidUtf8 { source })?
    };

    serde_json::from_str(&text).map_err(|source| PolicyError::InvalidJson { source })
}

/// Normalise the statements of a parsed document.
pub fn parse_statements(doc: &Value) -> Result<Vec<Statement>, PolicyError> {
    let document = doc
        .as_object()
        .ok_or_else(|| PolicyError::DocumentNotObject {
            found: describe(doc),
        })?;

    let statements = match document.get("Statement") {
        None => return Err(PolicyError::MissingStatement),
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        Some(Value::Array(many)) => many.as_slice(),
        Some(other) => {
            return Err(PolicyError::StatementsWrongType {
                found: describe(other),
            });
        }
    };

    statements
        .iter()
        .enumerate()
        .map(|(position, statement)| {
            let index = i32::try_from(position).map_err(|_| PolicyError::TooManyStatements {
                count: statements.len(),
            })?;
            parse_statement(index, statement)
        })
        .collect()
}

/// decode_document + parse_statements.
pub fn parse_document(raw: &str) -> Result<Vec<Statement>, PolicyError> {
    parse_statements(&decode_document(raw)?)
}

/// Whether one IAM action pattern (with * and ? wildcards, case-insensitive) matches an action.
///
/// `*` matches any run of characters, `:` included, and `?` exactly one character, as IAM
/// evaluates them. Action names are case-insensitive in IAM, so `IAM:put*` matches
/// `iam:PutUserPolicy`.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let action: Vec<char> = action.chars().collect();

    let mut p = 0;
    let mut a = 0;
    // The most recent `*` and the action position it currently absorbs up to: on a
    // mismatch the star takes one more character and matching resumes after it. Only the
    // latest star needs revisiting, which keeps this linear in practice.
    let mut backtrack: Option<(usize, usize)> = None;

    while let Some(&actual) = action.get(a) {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, a));
                p += 1;
            }
            Some(&expected) if expected == '?' || same_letter(expected, actual) => {
                p += 1;
                a += 1;
            }
            _ => match backtrack {
                Some((star, absorbed)) => {
                    backtrack = Some((star, absorbed + 1));
                    p = star + 1;
                    a = absorbed + 1;
                }
                None => return false,
            },
        }
    }

    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

fn same_letter(left: char, right: char) -> bool {
    left == right || left.to_lowercase().eq(right.to_lowercase())
}

fn parse_statement(index: i32, value: &Value) -> Result<Statement, PolicyError> {
    let statement = value
        .as_object()
        .ok_or_else(|| PolicyError::StatementNotObject {
            index,
            found: describe(value),
        })?;

    let sid = match statement.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(other) => return Err(wrong_type(index, "Sid", "a string", other)),
    };
    let effect = parse_effect(index, statement)?;

    let actions = select(index, statement, "Action", "NotAction", string_list)?;
    let resources = select(index, statement, "Resource", "NotResource", string_list)?;
    let principals = select(
        index,
        statement,
        "Principal",
        "NotPrincipal",
        principal_list,
    )?;

    let (condition_json, conditions) = match statement.get("Condition") {
        None => (None, Vec::new()),
        // Value's Display is compact JSON, and with serde_json's preserve_order feature
        // the keys come out in document order.
        Some(block) => (Some(block.to_string()), parse_conditions(index, block)?),
    };

    let admin_equivalent = effect == "Allow" && allows_self_escalation(&actions, &resources);

    let (action, not_action) = actions.into_columns();
    let (resource, not_resource) = resources.into_columns();
    let (principal, not_principal) = principals.into_columns();

    Ok(Statement {
        statement_index: index,
        sid,
        effect,
        action,
        not_action,
        resource,
        not_resource,
        principal,
        not_principal,
        condition_json,
        conditions,
        admin_equivalent,
    })
}

fn parse_effect(index: i32, statement: &Map<String, Value>) -> Result<String, PolicyError> {
    match statement.get("Effect") {
        None => Err(PolicyError::MissingEffect { index }),
        Some(Value::String(effect)) if effect == "Allow" || effect == "Deny" => Ok(effect.clone()),
        Some(other) => Err(PolicyError::InvalidEffect {
            index,
            found: describe(other),
        }),
    }
}

/// Read whichever of `element` and `negated` the statement holds; holding both is an error.
fn select<T>(
    index: i32,
    statement: &Map<String, Value>,
    element: &'static str,
    negated: &'static str,
    read: fn(i32, &str, &Value) -> Result<Vec<T>, PolicyError>,
) -> Result<Selected<T>, PolicyError> {
    match (statement.get(element), statement.get(negated)) {
        (Some(_), Some(_)) => Err(PolicyError::ConflictingElements {
            index,
            element,
            negated,
        }),
        (Some(value), None) => Ok(Selected::Listed(read(index, element, value)?)),
        (None, Some(value)) => Ok(Selected::AllExcept(read(index, negated, value)?)),
        (None, None) => Ok(Selected::Absent),
    }
}

/// Which of an element and its `Not` twin a statement uses, with what it lists.
enum Selected<T> {
    Absent,
    Listed(Vec<T>),
    AllExcept(Vec<T>),
}

impl<T> Selected<T> {
    /// The items of the plain element and of its `Not` twin, in that order.
    fn into_columns(self) -> (Vec<T>, Vec<T>) {
        match self {
            Selected::Absent => (Vec::new(), Vec::new()),
            Selected::Listed(items) => (items, Vec::new()),
            Selected::AllExcept(items) => (Vec::new(), items),
        }
    }
}

/// The Allow-side test of [`Statement::admin_equivalent`]; the caller checks the effect.
///
/// With `NotAction` the statement allows every action its patterns miss, so it counts
/// only when none of its patterns touches any action of the list. Which element is used
/// matters even when its list is empty: `"NotAction": []` allows everything.
fn allows_self_escalation(actions: &Selected<String>, resources: &Selected<String>) -> bool {
    let every_resource = match resources {
        Selected::Listed(patterns) => patterns.iter().any(|pattern| pattern == "*"),
        Selected::Absent | Selected::AllExcept(_) => false,
    };
    if !every_resource {
        return false;
    }

    SELF_ESCALATION_ACTIONS.iter().all(|wanted| match actions {
        Selected::Listed(patterns) => patterns.iter().any(|p| action_matches(p, wanted)),
        Selected::AllExcept(patterns) => !patterns.iter().any(|p| action_matches(p, wanted)),
        Selected::Absent => false,
    })
}

fn string_list(index: i32, element: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
    const EXPECTED: &str = "a string or a list of strings";
    match value {
        Value::String(one) => Ok(vec![one.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(position, item)| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(wrong_type(
                    index,
                    &format!("{element}[{position}]"),
                    EXPECTED,
                    other,
                )),
            })
            .collect(),
        other => Err(wrong_type(index, element, EXPECTED, other)),
    }
}

fn principal_list(index: i32, element: &str, value: &Value) -> Result<Vec<Principal>, PolicyError> {
    match value {
        // IAM reads a bare "*" as {"AWS": "*"}: everyone, anonymous callers included.
        Value::String(star) if star == "*" => Ok(vec![Principal {
            kind: "AWS".to_owned(),
            value: "*".to_owned(),
        }]),
        Value::Object(kinds) => {
            let mut principals = Vec::new();
            for (kind, names) in kinds {
                for name in string_list(index, &format!("{element}.{kind}"), names)? {
                    principals.push(Principal {
                        kind: kind.clone(),
                        value: name,
                    });
                }
            }
            Ok(principals)
        }
        other => Err(wrong_type(
            index,
            element,
            "\"*\" or a map of principal type to names",
            other,
        )),
    }
}

fn parse_conditions(index: i32, block: &Value) -> Result<Vec<Condition>, PolicyError> {
    let operators = block
        .as_object()
        .ok_or_else(|| wrong_type(index, "Condition", "a map of operator to keys", block))?;

    let mut conditions = Vec::new();
    for (operator, keys) in operators {
        let element = format!("Condition.{operator}");
        let keys = keys
            .as_object()
            .ok_or_else(|| wrong_type(index, &element, "a map of condition key to values", keys))?;

        for (key, values) in keys {
            conditions.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values: condition_values(index, &format!("{element}.{key}"), values)?,
            });
        }
    }
    Ok(conditions)
}

fn condition_values(index: i32, element: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
    const EXPECTED: &str = "a string, boolean, number or a list of those";
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(position, item)| {
                condition_scalar(item).ok_or_else(|| {
                    wrong_type(index, &format!("{element}[{position}]"), EXPECTED, item)
                })
            })
            .collect(),
        scalar => condition_scalar(scalar)
            .map(|text| vec![text])
            .ok_or_else(|| wrong_type(index, element, EXPECTED, scalar)),
    }
}

/// A condition value as text, so one list column holds strings, booleans and numbers alike.
///
/// Limitation: a number is printed back by serde_json rather than copied from the document,
/// so an exponent or trailing zeros are not kept (`1e3` becomes `1000.0`, also in
/// `condition_json`); keeping them would need serde_json's `arbitrary_precision` feature.
/// Policies in practice write plain integers and decimals, which print unchanged.
fn condition_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn wrong_type(index: i32, element: &str, expected: &'static str, found: &Value) -> PolicyError {
    PolicyError::WrongType {
        index,
        element: element.to_owned(),
        expected,
        found: describe(found),
    }
}

/// A short account of a JSON value for error messages: scalars as JSON, containers by kind,
/// so a message never repeats a whole document.
fn describe(value: &Value) -> String {
    match value {
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        scalar => scalar.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements of `{"Statement": <statement>}`.
    fn statement_of(statement: &str) -> Statement {
        let mut statements = parse_document(&format!(r#"{{"Statement":{statement}}}"#))
            .expect("test statement parses");
        assert_eq!(statements.len(), 1, "expected one statement in {statement}");
        statements.remove(0)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn principal(kind: &str, value: &str) -> Principal {
        Principal {
            kind: kind.to_owned(),
            value: value.to_owned(),
        }
    }

    fn condition(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: operator.to_owned(),
            key: key.to_owned(),
            values: strings(values),
        }
    }

    fn error_of(raw: &str) -> String {
        match parse_document(raw) {
            Ok(statements) => panic!("expected an error for {raw}, got {statements:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn statement_error(statements: &str) -> String {
        error_of(&format!(r#"{{"Statement":{statements}}}"#))
    }

    #[test]
    fn percent_encoded_document_matches_decoded_twin() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A\
                       %22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22\
                       arn%3Aaws%3As3%3A%3A%3Ab%2Fa%2Bb%22%7D%7D";
        let decoded = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
                          "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a+b"}}"#;

        let from_encoded = parse_document(encoded).expect("encoded document parses");
        let from_decoded = parse_document(decoded).expect("decoded document parses");

        assert_eq!(from_encoded, from_decoded);
        assert_eq!(from_encoded.len(), 1);
        assert_eq!(from_encoded[0].resource, strings(&["arn:aws:s3:::b/a+b"]));
        assert_eq!(from_encoded[0].action, strings(&["s3:GetObject"]));
    }

    #[test]
    fn plus_sign_is_not_a_space_when_decoding() {
        // Form decoding would turn this `+` into a space and change the resource.
        let encoded = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22\
                       s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F\
                       x+y%22%7D%7D";

        let statements = parse_document(encoded).expect("document parses");

        assert_eq!(statements[0].resource, strings(&["arn:aws:s3:::b/x+y"]));
    }

    #[test]
    fn decoded_document_with_leading_blank_is_not_percent_decoded() {
        let raw = " \n{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\
                   \"Resource\":\"arn:aws:s3:::b/100%25\"}}";

        let statements = parse_document(raw).expect("document parses");

        assert_eq!(statements[0].resource, strings(&["arn:aws:s3:::b/100%25"]));
    }

    #[test]
    fn single_statement_object_with_condition() {
        let statements = parse_document(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*",
                "Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}}"#,
        )
        .expect("document parses");

        assert_eq!(
            statements,
            vec![Statement {
                statement_index: 0,
                sid: None,
                effect: "Deny".to_owned(),
                action: strings(&["*"]),
                not_action: Vec::new(),
                resource: strings(&["*"]),
                not_resource: Vec::new(),
                principal: Vec::new(),
                not_principal: Vec::new(),
                condition_json: Some(
                    r#"{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}"#.to_owned()
                ),
                conditions: vec![condition("NotIpAddress", "aws:SourceIp", &["192.0.2.0/24"])],
                admin_equivalent: false,
            }]
        );
    }

    #[test]
    fn statements_keep_their_index_and_sid() {
        let statements = parse_document(
            r#"{"Statement":[
                {"Sid":"First","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
                {"Effect":"Deny","Action":["s3:DeleteObject","s3:PutObject"],
                 "Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]}
            ]}"#,
        )
        .expect("document parses");

        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].statement_index, 0);
        assert_eq!(statements[0].sid.as_deref(), Some("First"));
        assert_eq!(statements[1].statement_index, 1);
        assert_eq!(statements[1].sid, None);
        assert_eq!(
            statements[1].action,
            strings(&["s3:DeleteObject", "s3:PutObject"])
        );
        assert_eq!(
            statements[1].resource,
            strings(&["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"])
        );
        assert_eq!(statements[1].condition_json, None);
    }

    #[test]
    fn action_star_is_admin_equivalent() {
        let statement = statement_of(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);

        assert!(statement.admin_equivalent);
    }

    #[test]
    fn iam_star_is_admin_equivalent() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":["s3:GetObject","iam:*"],
                "Resource":["arn:aws:s3:::x","*"]}"#,
        );

        assert!(statement.admin_equivalent);
    }

    #[test]
    fn admin_equivalent_patterns_are_case_insensitive() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Resource":"*",
                "Action":["IAM:attach*policy","iam:PUT*POLICY","Iam:CreatePolicyVersion"]}"#,
        );

        assert!(statement.admin_equivalent);
    }

    #[test]
    fn missing_one_self_escalation_action_is_not_admin() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":["iam:Attach*","iam:Put*"],"Resource":"*"}"#,
        );

        assert!(
            !statement.admin_equivalent,
            "iam:CreatePolicyVersion is not allowed"
        );
    }

    #[test]
    fn admin_actions_on_named_resources_are_not_admin() {
        let statement =
            statement_of(r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:*"}"#);

        assert!(!statement.admin_equivalent);
    }

    #[test]
    fn conditions_do_not_clear_admin_equivalent() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":"*","Resource":"*",
                "Condition":{"Bool":{"aws:MultiFactorAuthPresent":true}}}"#,
        );

        assert!(statement.admin_equivalent);
    }

    #[test]
    fn not_action_bogus_is_admin_equivalent() {
        let statement =
            statement_of(r#"{"Effect":"Allow","NotAction":"bogus:action","Resource":"*"}"#);

        assert_eq!(statement.not_action, strings(&["bogus:action"]));
        assert!(statement.action.is_empty());
        assert!(statement.admin_equivalent);
    }

    #[test]
    fn not_action_iam_and_organizations_is_not_admin() {
        let statement = statement_of(
            r#"{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}"#,
        );

        assert_eq!(statement.not_action, strings(&["iam:*", "organizations:*"]));
        assert!(statement.action.is_empty());
        assert!(!statement.admin_equivalent);
    }

    #[test]
    fn not_action_sparing_one_listed_action_is_not_admin() {
        let statement = statement_of(
            r#"{"Effect":"Allow","NotAction":"iam:CreatePolicyVersion","Resource":"*"}"#,
        );

        assert!(!statement.admin_equivalent);
    }

    #[test]
    fn not_resource_keeps_its_exclusion() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::audit/*"}"#,
        );

        assert_eq!(statement.not_resource, strings(&["arn:aws:s3:::audit/*"]));
        assert!(statement.resource.is_empty());
        assert!(!statement.admin_equivalent);
    }

    #[test]
    fn not_resource_with_every_action_is_not_admin() {
        let statement =
            statement_of(r#"{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::audit/*"}"#);

        assert!(!statement.admin_equivalent);
    }

    #[test]
    fn deny_of_everything_is_not_admin() {
        let statement = statement_of(r#"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#);

        assert!(!statement.admin_equivalent);
    }

    #[test]
    fn action_patterns_match_like_iam() {
        assert!(action_matches("*", "iam:PutUserPolicy"));
        assert!(action_matches("iam:*", "iam:PutUserPolicy"));
        assert!(action_matches("IAM:putuserpolicy", "iam:PutUserPolicy"));
        assert!(action_matches("iam:Put*Policy", "iam:PutUserPolicy"));
        assert!(action_matches("iam:Put?serPolicy", "iam:PutUserPolicy"));
        assert!(action_matches("iam:*User*", "iam:PutUserPolicy"));
        assert!(action_matches("iam:**Policy", "iam:PutUserPolicy"));
        assert!(action_matches("*:*", "iam:PutUserPolicy"));
        assert!(action_matches("", ""));
        assert!(action_matches("*", ""));

        assert!(!action_matches("iam:Put?Policy", "iam:PutUserPolicy"));
        assert!(!action_matches(
            "iam:Put*Policy",
            "iam:PutUserPolicyVersion"
        ));
        assert!(!action_matches("iam:PutUser", "iam:PutUserPolicy"));
        assert!(!action_matches("iam:PutUserPolicyX", "iam:PutUserPolicy"));
        assert!(!action_matches("s3:*", "iam:PutUserPolicy"));
        assert!(!action_matches("", "iam:PutUserPolicy"));
    }

    #[test]
    fn principal_star_is_aws_star() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}"#,
        );

        assert_eq!(statement.principal, vec![principal("AWS", "*")]);
        assert!(statement.not_principal.is_empty());
    }

    #[test]
    fn principal_map_with_one_arn() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole",
                "Principal":{"AWS":"arn:aws:iam::123456789012:root"}}"#,
        );

        assert_eq!(
            statement.principal,
            vec![principal("AWS", "arn:aws:iam::123456789012:root")]
        );
        assert!(statement.resource.is_empty());
    }

    #[test]
    fn principal_kinds_keep_document_order() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole",
                "Principal":{"Service":["a.amazonaws.com","b.amazonaws.com"],"AWS":"x"}}"#,
        );

        assert_eq!(
            statement.principal,
            vec![
                principal("Service", "a.amazonaws.com"),
                principal("Service", "b.amazonaws.com"),
                principal("AWS", "x"),
            ]
        );
    }

    #[test]
    fn not_principal_stays_apart_from_principal() {
        let statement = statement_of(
            r#"{"Effect":"Deny","Action":"*","Resource":"*",
                "NotPrincipal":{"AWS":["arn:aws:iam::123456789012:role/admin"]}}"#,
        );

        assert!(statement.principal.is_empty());
        assert_eq!(
            statement.not_principal,
            vec![principal("AWS", "arn:aws:iam::123456789012:role/admin")]
        );
    }

    #[test]
    fn condition_values_of_every_type_become_text() {
        let statement = statement_of(
            r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{
                "Bool":{"aws:MultiFactorAuthPresent":false},
                "NumericLessThan":{"s3:max-keys":10,"s3:other":2.5},
                "ForAnyValue:StringLike":{"aws:TagKeys":["team*","env"]},
                "StringEqualsIfExists":{"aws:RequestedRegion":["eu-west-1",true,7]}
            }}"#,
        );

        assert_eq!(
            statement.conditions,
            vec![
                condition("Bool", "aws:MultiFactorAuthPresent", &["false"]),
                condition("NumericLessThan", "s3:max-keys", &["10"]),
                condition("NumericLessThan", "s3:other", &["2.5"]),
                condition("ForAnyValue:StringLike", "aws:TagKeys", &["team*", "env"]),
                condition(
                    "StringEqualsIfExists",
                    "aws:RequestedRegion",
                    &["eu-west-1", "true", "7"]
                ),
            ]
        );
        assert_eq!(
            statement.condition_json.as_deref(),
            Some(concat!(
                r#"{"Bool":{"aws:MultiFactorAuthPresent":false},"#,
                r#""NumericLessThan":{"s3:max-keys":10,"s3:other":2.5},"#,
                r#""ForAnyValue:StringLike":{"aws:TagKeys":["team*","env"]},"#,
                r#""StringEqualsIfExists":{"aws:RequestedRegion":["eu-west-1",true,7]}}"#,
            ))
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        let message = error_of(r#"{"Statement":{"Effect":"Allow","#);

        assert!(
            message.starts_with("policy document is not valid JSON: "),
            "{message}"
        );
    }

    #[test]
    fn percent_encoded_invalid_json_is_an_error() {
        let message = error_of("%7B%22Statement%22%3A");

        assert!(
            message.starts_with("policy document is not valid JSON: "),
            "{message}"
        );
    }

    #[test]
    fn invalid_utf8_after_decoding_is_an_error() {
        let message = error_of("%7B%22Sid%22%3A%22%FF%22%7D");

        assert!(
            message.starts_with("policy document is not valid UTF-8"),
            "{message}"
        );
    }

    #[test]
    fn missing_statement_is_an_error() {
        assert_eq!(
            error_of(r#"{"Version":"2012-10-17"}"#),
            "policy document has no Statement element"
        );
        assert_eq!(
            error_of(r#"["not", "a", "policy"]"#),
            "policy document must be a JSON object, found a list"
        );
    }

    #[test]
    fn missing_effect_is_an_error() {
        assert_eq!(
            statement_error(
                r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Action":"*","Resource":"*"}]"#
            ),
            "statement 1: Effect is missing"
        );
    }

    #[test]
    fn invalid_effect_is_an_error() {
        assert_eq!(
            statement_error(
                r#"[{"Effect":"Allow","Action":"*"},{"Effect":"Deny","Action":"*"},
                    {"Effect":"allow","Action":"*"}]"#
            ),
            "statement 2: Effect must be Allow or Deny, found \"allow\""
        );
        assert_eq!(
            statement_error(r#"{"Effect":true,"Action":"*"}"#),
            "statement 0: Effect must be Allow or Deny, found true"
        );
    }

    #[test]
    fn action_and_not_action_together_is_an_error() {
        assert_eq!(
            statement_error(r#"{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*"}"#),
            "statement 0: has both Action and NotAction; IAM allows only one of them"
        );
    }

    #[test]
    fn resource_and_not_resource_together_is_an_error() {
        assert_eq!(
            statement_error(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*",
                    "NotResource":"arn:aws:s3:::a"}"#
            ),
            "statement 0: has both Resource and NotResource; IAM allows only one of them"
        );
    }

    #[test]
    fn action_of_wrong_type_is_an_error() {
        assert_eq!(
            statement_error(r#"{"Effect":"Allow","Action":42,"Resource":"*"}"#),
            "statement 0: Action must be a string or a list of strings, found 42"
        );
        assert_eq!(
            statement_error(r#"{"Effect":"Allow","Action":["s3:GetObject",{"x":1}]}"#),
            "statement 0: Action[1] must be a string or a list of strings, found an object"
        );
    }

    #[test]
    fn other_wrong_types_are_errors() {
        assert_eq!(
            statement_error(r#""Allow""#),
            "Statement must be an object or a list of objects, found \"Allow\""
        );
        assert_eq!(
            statement_error("[7]"),
            "statement 0: must be an object, found 7"
        );
        assert_eq!(
            statement_error(r#"{"Effect":"Allow","Action":"*","Principal":"arn:aws:iam::1:root"}"#),
            "statement 0: Principal must be \"*\" or a map of principal type to names, \
             found \"arn:aws:iam::1:root\""
        );
        assert_eq!(
            statement_error(r#"{"Effect":"Allow","Action":"*","Principal":{"AWS":[null]}}"#),
            "statement 0: Principal.AWS[0] must be a string or a list of strings, found null"
        );
        assert_eq!(
            statement_error(
                r#"{"Effect":"Allow","Action":"*",
                    "Condition":{"Bool":{"aws:SecureTransport":null}}}"#
            ),
            "statement 0: Condition.Bool.aws:SecureTransport must be a string, boolean, number \
             or a list of those, found null"
        );
        assert_eq!(
            statement_error(r#"{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}"#),
            "statement 0: Condition.StringEquals must be a map of condition key to values, \
             found \"x\""
        );
        assert_eq!(
            statement_error(r#"{"Sid":1,"Effect":"Allow","Action":"*"}"#),
            "statement 0: Sid must be a string, found 1"
        );
    }

    /// The statements of a managed policy from the iam-dataset fixtures, whose files hold
    /// the policy under `document` beside the dataset's own fields.
    macro_rules! managed_policy {
        ($name:literal) => {{
            let wrapper: Value = serde_json::from_str(include_str!(concat!(
                "../../../../tests/fixtures/iam/managed-policies/",
                $name,
                ".json"
            )))
            .expect("fixture is JSON");
            let document = wrapper.get("document").expect("fixture has a document");
            parse_statements(document).expect("fixture policy parses")
        }};
    }

    #[test]
    fn managed_policy_with_not_action_and_not_resource() {
        let audit = managed_policy!("IAMAuditRootUserCredentials");

        assert_eq!(audit.len(), 2);
        assert_eq!(
            audit[0].sid.as_deref(),
            Some("DenyAllOtherActionsOnAnyResource")
        );
        assert_eq!(audit[0].effect, "Deny");
        assert!(audit[0].action.is_empty());
        assert_eq!(audit[0].not_action.len(), 7);
        assert_eq!(audit[0].not_action[0], "iam:ListAccessKeys");
        assert_eq!(audit[0].resource, strings(&["*"]));
        assert_eq!(audit[1].action.len(), 6);
        assert!(audit[1].resource.is_empty());
        assert_eq!(audit[1].not_resource, strings(&["arn:aws:iam::*:root"]));
        assert!(audit.iter().all(|statement| !statement.admin_equivalent));
    }

    #[test]
    fn managed_policy_with_string_actions() {
        let evidently = managed_policy!("AmazonCloudWatchEvidentlyServiceRolePolicy");

        assert_eq!(evidently.len(), 6);
        assert_eq!(evidently[1].effect, "Deny");
        assert_eq!(evidently[1].action, strings(&["appconfig:StartDeployment"]));
        assert_eq!(
            evidently[1].resource,
            strings(&["arn:aws:appconfig:*:*:application/*/configurationprofile/*"])
        );
        assert_eq!(
            evidently[1].conditions,
            vec![condition(
                "StringNotEquals",
                "aws:ResourceTag/Owner",
                &["Evidently"]
            )]
        );
        assert_eq!(evidently[5].action, strings(&["appconfig:ListDeployments"]));
        assert_eq!(evidently[5].condition_json, None);
    }

    #[test]
    fn managed_policy_with_boolean_condition_value() {
        let partner =
            managed_policy!("AmazonSageMakerPartnerServiceCatalogProductsLambdaServiceRolePolicy");

        assert_eq!(partner.len(), 1);
        assert_eq!(
            partner[0].conditions,
            vec![
                condition("Null", "aws:ResourceTag/sagemaker:partner", &["false"]),
                condition(
                    "StringEquals",
                    "aws:ResourceAccount",
                    &["${aws:PrincipalAccount}"]
                ),
            ]
        );
        assert_eq!(
            partner[0].condition_json.as_deref(),
            Some(concat!(
                r#"{"Null":{"aws:ResourceTag/sagemaker:partner":false},"#,
                r#""StringEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}}"#,
            ))
        );
    }

    #[test]
    fn managed_policy_with_for_all_values() {
        let pro_serve = managed_policy!("AWSPartnerProServeToolsFullAccess");

        assert_eq!(pro_serve.len(), 1);
        assert_eq!(
            pro_serve[0].conditions,
            vec![condition(
                "ForAllValues:StringEquals",
                "partnercentral-account-management:ProServeRole",
                &[
                    "AssessmentIndividualContributor",
                    "AssessmentOrganizationReader",
                    "AssessmentOrganizationContributor",
                    "OrganizationAdmin",
                ],
            )]
        );
    }

    #[test]
    fn managed_policy_with_if_exists() {
        let inspector = managed_policy!("AmazonInspector2AmiScanServiceRolePolicy");

        assert_eq!(inspector.len(), 12);
        assert_eq!(
            inspector[3].sid.as_deref(),
            Some("AllowInspectorServiceDelegatedAdminFromAwsOrg")
        );
        assert_eq!(
            inspector[3].conditions,
            vec![condition(
                "StringLikeIfExists",
                "organizations:ServicePrincipal",
                &["ami.inspector2.amazonaws.com", "inspector2.amazonaws.com"],
            )]
        );
        assert_eq!(inspector[7].effect, "Deny");
        assert_eq!(inspector[7].action, strings(&["kms:Decrypt"]));
        assert_eq!(inspector[8].conditions.len(), 3);
        assert!(
            inspector
                .iter()
                .all(|statement| !statement.admin_equivalent)
        );
    }

    #[test]
    fn managed_policy_with_for_any_value() {
        let macie = managed_policy!("AmazonMacieHandshakeRole");

        assert_eq!(macie.len(), 1);
        assert_eq!(macie[0].action, strings(&["iam:CreateServiceLinkedRole"]));
        assert_eq!(
            macie[0].conditions,
            vec![condition(
                "ForAnyValue:StringEquals",
                "iam:AWSServiceName",
                &["macie.amazonaws.com"],
            )]
        );
    }
}
