//! Whether a repository policy grants access to everyone.

use crate::iam::policy::{PolicyError, parse_document};

/// Whether a resource policy has an Allow statement for every principal (`"*"` or
/// `{"AWS": "*"}`) with no condition to narrow it. A conditioned grant (source VPC,
/// organization id) is not public, since a reading of the policy alone cannot tell who
/// meets the condition.
pub fn policy_public(document: &str) -> Result<bool, PolicyError> {
    let statements = parse_document(document)?;
    Ok(statements.iter().any(|statement| {
        statement.effect == "Allow"
            && statement.condition_json.is_none()
            && statement
                .principal
                .iter()
                .any(|p| p.kind == "AWS" && p.value == "*")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_principal_without_condition_is_public() {
        let star = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pull","Effect":"Allow",
            "Principal":"*","Action":["ecr:BatchGetImage"]}]}"#;
        assert!(policy_public(star).expect("parses"));
        let aws_star = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},
            "Action":"ecr:*"}}"#;
        assert!(policy_public(aws_star).expect("parses"));
    }

    #[test]
    fn conditions_denies_and_named_principals_are_not_public() {
        let conditioned = r#"{"Statement":[{"Effect":"Allow","Principal":"*",
            "Action":"ecr:BatchGetImage",
            "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}"#;
        assert!(!policy_public(conditioned).expect("parses"));
        let deny = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:*"}]}"#;
        assert!(!policy_public(deny).expect("parses"));
        let account = r#"{"Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ecr:*"}]}"#;
        assert!(!policy_public(account).expect("parses"));
        let service = r#"{"Statement":[{"Effect":"Allow",
            "Principal":{"Service":"*"},"Action":"ecr:*"}]}"#;
        assert!(!policy_public(service).expect("parses"));
    }

    #[test]
    fn a_policy_that_is_not_json_is_an_error() {
        assert!(policy_public("{not json").is_err());
    }
}
