//! The `schedule` and `vacuum` subcommands: their arguments and what they print.

use anyhow::Context;
use lakewarden::config::Config;
use lakewarden::run::{RunOptions, RunSummary};
use lakewarden::schedule::CronSpec;
use lakewarden::supervise::Shutdown;
use lakewarden::vacuum::{VacuumOptions, apply, plan};
use lakewarden_lake::Lake;

#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// When to run: six or seven fields, seconds first (`0 30 2 * * *` = 02:30:00 daily),
    /// or the common five fields (`30 2 * * *`), which run at second 0.
    #[arg(long, env = "LAKEWARDEN_CRON")]
    pub cron: String,
    /// IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC", env = "LAKEWARDEN_TIMEZONE")]
    pub timezone: String,
    /// Do not draw a progress bar even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, clap::Args)]
pub struct VacuumArgs {
    /// Keep every snapshot younger than this many days (and always the newest good
    /// snapshot of each table, account and region).
    #[arg(long)]
    pub retain_days: u32,
    /// Remove what is listed; without it nothing is removed.
    #[arg(long)]
    pub apply: bool,
    /// Keep files of uncommitted runs younger than this many hours: a run may still be
    /// writing them.
    #[arg(long, default_value_t = 24)]
    pub safety_window_hours: u32,
}

pub async fn schedule(
    config: &Config,
    lake: &Lake,
    args: &ScheduleArgs,
    on_summary: fn(&RunSummary),
) -> anyhow::Result<u8> {
    let spec = CronSpec::parse(&args.cron, &args.timezone)?;
    let shutdown = Shutdown::install().context("listening for SIGTERM and SIGINT")?;
    let options = RunOptions {
        progress: !args.no_progress,
        ..Default::default()
    };
    Ok(lakewarden::schedule::schedule(config, lake, &spec, &options, &shutdown, on_summary).await)
}

pub async fn vacuum(lake: &Lake, args: &VacuumArgs) -> anyhow::Result<u8> {
    let options = VacuumOptions {
        retain: chrono::Duration::days(i64::from(args.retain_days)),
        safety_window: chrono::Duration::hours(i64::from(args.safety_window_hours)),
        now: chrono::Utc::now(),
    };
    let plan = plan(lake, &options).await?;
    let verb = if args.apply { "remove" } else { "would-remove" };
    for removal in &plan.removals {
        println!(
            "{verb} {:<14} {:>10} {}",
            removal.reason.as_str(),
            removal.bytes,
            removal.path
        );
    }
    let bytes: u64 = plan.removals.iter().map(|r| r.bytes).sum();
    tracing::info!(
        objects = plan.removals.len(),
        bytes,
        expired_runs = plan.expired_runs.len(),
        kept_runs = plan.kept_runs.len(),
        unreadable_commits = plan.unreadable_commits.len(),
        apply = args.apply,
        "Vacuum planned"
    );
    if !args.apply {
        println!(
            "{} objects, {bytes} bytes would be removed; {} runs expire, {} are kept. \
             Nothing was removed: pass --apply.",
            plan.removals.len(),
            plan.expired_runs.len(),
            plan.kept_runs.len()
        );
        return Ok(0);
    }
    let report = apply(lake, &plan).await;
    println!(
        "{} objects, {} bytes removed; {} could not be removed",
        report.removed,
        report.bytes,
        report.failed.len()
    );
    for (path, error) in &report.failed {
        eprintln!("lakewarden: could not remove {path}: {error}");
    }
    Ok(
        if report.failed.is_empty() && plan.unreadable_commits.is_empty() {
            0
        } else {
            2
        },
    )
}
