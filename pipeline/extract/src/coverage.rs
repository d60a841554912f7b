//! Coverage: whether each API call family was read, so readers can tell "no finding" from
//! "not looked at".

use serde::Serialize;

/// Outcome of one API call family for one account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    Ok,
    AccessDenied,
    Throttled,
    /// The service is not turned on in the account or region (Security Hub, Config).
    NotEnabled,
    /// The region is not enabled for the account.
    OptInRequired,
    Error,
}

impl CoverageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::AccessDenied => "access_denied",
            Self::Throttled => "throttled",
            Self::NotEnabled => "not_enabled",
            Self::OptInRequired => "opt_in_required",
            Self::Error => "error",
        }
    }
}

/// Map an AWS error code to a coverage status.
pub fn classify_code(code: Option<&str>) -> CoverageStatus {
    let Some(code) = code else {
        return CoverageStatus::Error;
    };
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "AuthFailure"
        | "SignatureDoesNotMatch" => CoverageStatus::AccessDenied,
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown"
        | "PriorRequestNotComplete" => CoverageStatus::Throttled,
        "OptInRequired" => CoverageStatus::OptInRequired,
        "InvalidAccessException" | "NoSuchConfigurationRecorderException" => {
            CoverageStatus::NotEnabled
        }
        _ => CoverageStatus::Error,
    }
}

/// One row of `lake_coverage`, less the common columns.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub source: String,
    pub api: String,
    pub status: CoverageStatus,
    pub message: Option<String>,
    pub calls: Option<i32>,
    pub tables: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_coverage_statuses() {
        assert_eq!(
            classify_code(Some("AccessDenied")),
            CoverageStatus::AccessDenied
        );
        assert_eq!(classify_code(Some("Throttling")), CoverageStatus::Throttled);
        assert_eq!(
            classify_code(Some("OptInRequired")),
            CoverageStatus::OptInRequired
        );
        assert_eq!(classify_code(Some("ServiceFailure")), CoverageStatus::Error);
        assert_eq!(classify_code(None), CoverageStatus::Error);
    }
}
