//! `lakewarden schedule`: run forever on a cron expression. The main type is [`CronSpec`].
//!
//! Expressions are those of the `cron` crate: six or seven fields, seconds first and an
//! optional year last (`0 30 2 * * *` is 02:30:00 every day). The common five-field form
//! (`30 2 * * *`) is accepted too and means second 0 of each matching minute.
//!
//! Limitation: numeric days of the week follow the `cron` crate, where 1 is Sunday and 7
//! Saturday, not the 0–6 of crontab(5), because the expression is handed to that crate
//! as written; names (`MON-FRI`) mean the same in both and are the safer spelling.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lakewarden_lake::Lake;

use crate::config::Config;
use crate::run::{RunOptions, RunSummary};
use crate::supervise::{Shutdown, Supervised, supervised_run};

/// A parsed schedule and the time zone its fields are read in.
#[derive(Debug, Clone)]
pub struct CronSpec {
    expression: String,
    schedule: cron::Schedule,
    timezone: Tz,
}

/// Why an expression or a time zone was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct SpecError(String);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

impl CronSpec {
    /// Parse `expression` (five, six or seven fields) to be read in `timezone`, an IANA
    /// name such as `Europe/Paris`.
    pub fn parse(expression: &str, timezone: &str) -> Result<Self, SpecError> {
        let fields = expression.split_whitespace().count();
        let full = match fields {
            5 => format!("0 {}", expression.trim()),
            6 | 7 => expression.trim().to_owned(),
            n => {
                return Err(SpecError(format!(
                    "cron expression {expression:?} has {n} fields; expected 5 (minute hour \
                     day-of-month month day-of-week), 6 (seconds first) or 7 (seconds first, \
                     year last)"
                )));
            }
        };
        let schedule = cron::Schedule::from_str(&full).map_err(|error| {
            SpecError(format!(
                "cron expression {expression:?} is not valid: {error}"
            ))
        })?;
        let timezone = Tz::from_str(timezone).map_err(|_| {
            SpecError(format!(
                "time zone {timezone:?} is not an IANA time zone name such as UTC or Europe/Paris"
            ))
        })?;
        Ok(Self {
            expression: expression.trim().to_owned(),
            schedule,
            timezone,
        })
    }

    /// The first run time strictly after `after`, or `None` when the expression has no
    /// future time (a year in the past).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.schedule
            .after(&after.with_timezone(&self.timezone))
            .next()
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }
}

/// Run on `spec` until SIGTERM or SIGINT. A run that finds the lake leased by another is
/// skipped and the next time waited for. Returns the process exit code: 0 when stopped
/// while waiting, the signal's code when stopped during a run.
pub async fn schedule(
    config: &Config,
    lake: &Lake,
    spec: &CronSpec,
    options: &RunOptions,
    shutdown: &Shutdown,
    on_summary: impl Fn(&RunSummary),
) -> u8 {
    loop {
        let Some(next) = spec.next_after(Utc::now()) else {
            tracing::warn!(
                cron = spec.expression(),
                "The schedule has no future run time"
            );
            return 0;
        };
        tracing::info!(
            cron = spec.expression(),
            timezone = %spec.timezone,
            next_run = %next.to_rfc3339(),
            "Next run scheduled"
        );
        let wait = (next.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.token().cancelled() => {
                tracing::info!("Scheduler stopped while waiting");
                return 0;
            }
        }

        match supervised_run(config, lake, options, shutdown).await {
            Supervised::Committed(summary) => on_summary(&summary),
            Supervised::LeaseHeld(error) => {
                tracing::warn!(%error, "Run skipped: the lake is leased by another run");
            }
            Supervised::Interrupted => {
                tracing::info!("Scheduler stopped during a run; nothing of it was committed");
                return shutdown.exit_code();
            }
            Supervised::Failed(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "Run failed; nothing was committed; waiting for the next run time"
                );
            }
        }
        if shutdown.requested() {
            tracing::info!("Scheduler stopped after a run");
            return 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn five_fields_mean_second_zero_of_each_matching_minute() {
        let spec = CronSpec::parse("30 2 * * *", "UTC").expect("valid");
        let next = spec.next_after(utc(2026, 12, 4, 16, 0, 0)).expect("next");
        assert_eq!(next.to_rfc3339(), "2026-12-05T02:30:00+00:00");
    }

    #[test]
    fn six_fields_have_seconds_first() {
        let spec = CronSpec::parse("*/2 * * * * *", "UTC").expect("valid");
        let after = utc(2026, 12, 4, 16, 0, 1);
        let next = spec.next_after(after).expect("next");
        assert_eq!(next.with_timezone(&Utc), utc(2026, 12, 4, 16, 0, 2));
        let then = spec.next_after(next.with_timezone(&Utc)).expect("next");
        assert_eq!(then.with_timezone(&Utc), utc(2026, 12, 4, 16, 0, 4));
    }

    #[test]
    fn the_time_zone_places_the_fields() {
        // 02:30 in Paris is 01:30 UTC in winter and 00:30 UTC in summer.
        let spec = CronSpec::parse("0 30 2 * * *", "Europe/Paris").expect("valid");
        let winter = spec.next_after(utc(2026, 12, 4, 12, 0, 0)).expect("next");
        assert_eq!(winter.to_rfc3339(), "2026-12-05T02:30:00+01:00");
        assert_eq!(winter.with_timezone(&Utc), utc(2026, 12, 5, 1, 30, 0));
        let summer = spec.next_after(utc(2026, 7, 1, 12, 0, 0)).expect("next");
        assert_eq!(summer.with_timezone(&Utc), utc(2026, 7, 2, 0, 30, 0));
    }

    #[test]
    fn a_malformed_expression_names_itself_and_the_reason() {
        let err = CronSpec::parse("61 * * * *", "UTC").expect_err("minute 61");
        assert!(
            err.0
                .starts_with("cron expression \"61 * * * *\" is not valid: "),
            "{err}"
        );
        let err = CronSpec::parse("* * *", "UTC").expect_err("three fields");
        assert!(err.0.contains("has 3 fields"), "{err}");
        let err = CronSpec::parse("0 * * * *", "Mars/Olympus").expect_err("zone");
        assert!(err.0.contains("\"Mars/Olympus\""), "{err}");
    }

    #[test]
    fn a_year_in_the_past_has_no_next_run() {
        let spec = CronSpec::parse("0 0 0 1 1 * 2020", "UTC").expect("valid");
        assert!(spec.next_after(utc(2026, 1, 1, 0, 0, 0)).is_none());
    }
}
