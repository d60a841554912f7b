//! Helpers shared by the AWS sources: turning SDK errors into coverage-aware errors and
//! SDK timestamps into lake timestamps.

use std::error::Error;
use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{ExtractError, SourceContext, classify_code};

/// The AWS error code of a failed call, when the service sent one.
pub fn error_code<E, R>(err: &SdkError<E, R>) -> Option<String>
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned)
}

/// An SDK error as an extraction error naming the source, API, account and region.
pub fn api_error<E, R>(
    source_name: &'static str,
    api: &'static str,
    ctx: &SourceContext,
    err: &SdkError<E, R>,
) -> ExtractError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    let code = error_code(err);
    ExtractError::Api {
        source_name,
        api,
        account_id: ctx.account_id.clone(),
        region: ctx.region.clone(),
        status: classify_code(code.as_deref()),
        message: DisplayErrorContext(err).to_string(),
    }
}

/// Milliseconds since the epoch of an SDK timestamp; out-of-range values become null.
pub fn millis(value: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    value.and_then(|v| v.to_millis().ok())
}
