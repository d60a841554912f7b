//! `lakewarden`: extract cloud security data into a Parquet lake.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lakewarden::config::Config;
use lakewarden::run::{Outcome, RunOptions};
use lakewarden::supervise::Supervised;
use tracing_subscriber::EnvFilter;

mod cli_ops;

#[derive(Debug, Parser)]
#[command(
    name = "lakewarden",
    version,
    about = "Cloud security data lake: extract, write Parquet, commit"
)]
struct Cli {
    /// Configuration file; a missing default file means every default applies.
    #[arg(long, short, global = true, env = "LAKEWARDEN_CONFIG")]
    config: Option<PathBuf>,

    /// Override the lake location of the config (`./lake`, `s3://bucket/prefix`).
    #[arg(long, global = true, env = "LAKEWARDEN_LAKE")]
    lake: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Extract every enabled source, write the snapshot, commit it, then run the jobs.
    /// Exit code 0 when complete, 2 when partial (a failure is recorded), 1 when nothing
    /// was committed, 3 when another run holds the lease, 143/130 when SIGTERM/SIGINT
    /// stopped it before its commit.
    Run {
        /// Do not draw a progress bar even on a terminal.
        #[arg(long)]
        no_progress: bool,
        /// Read only the i-th of n slices of the accounts (`2/8`); shards write disjoint
        /// partitions and their own commit, so they run in parallel without coordination.
        #[arg(long, default_value = "1/1")]
        shard: lakewarden::scope::Shard,
        /// Wait this many milliseconds between writing the data and committing it. Only
        /// for crash-safety tests, which kill the process in that window.
        #[arg(long, hide = true)]
        pause_before_commit_ms: Option<u64>,
        /// Pull everything again instead of only what changed since the previous snapshot
        /// (Security Hub findings).
        #[arg(long)]
        full: bool,
    },
    /// Import exported files into the lake as one committed run. Exit code 0 when every
    /// file was imported, 2 when some were rejected (each is named), 1 when none was.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Recompute the derived tables (compliance) over a committed run and commit them.
    Jobs {
        /// The committed run to read.
        #[arg(long)]
        run_id: String,
    },
    /// Run on a cron schedule, one run at a time, until SIGTERM or SIGINT.
    Schedule(cli_ops::ScheduleArgs),
    /// Remove files of runs that never committed and snapshots past retention. Prints what
    /// it would remove; removes nothing without `--apply`.
    Vacuum(cli_ops::VacuumArgs),
    /// Verify the config, the schemas, write access to the lake and the credentials.
    Check,
    /// Print SQL generated from the declared schemas.
    Ddl {
        #[command(subcommand)]
        dialect: DdlCommand,
    },
    /// Print the declared schemas.
    Schema {
        #[command(subcommand)]
        what: SchemaCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// AWS Config configuration snapshots as delivered to S3 (gzip JSON), rule events or
    /// items, into `config_resources`.
    ConfigSnapshot {
        /// A local file or folder, or `s3://bucket/key-or-prefix`.
        location: String,
    },
    /// Security Hub findings exported as ASFF JSON (`{"Findings": [...]}`, a bare array
    /// or JSON lines): a file, a folder, or an S3 object or prefix (`s3://bucket/key`).
    Securityhub {
        /// A local file or folder, or `s3://bucket/key-or-prefix`.
        location: String,
    },
    /// IAM users, groups, roles and policies as `aws iam get-account-authorization-details`
    /// prints them, one account per file, into the six tables that API fills.
    Iam {
        /// A local file or folder, or `s3://bucket/key-or-prefix`.
        location: String,
        /// The account the files hold. Without it each file's account is the one its ARNs
        /// name; with it, a file whose ARNs name another account is rejected.
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DdlCommand {
    /// Views for DuckDB over a lake: `SET VARIABLE lake = '<path>'` then `.read` them.
    Duckdb,
    /// Athena tables with partition projection over a lake on S3, and the same views as
    /// for DuckDB; run each statement in order.
    Athena {
        /// The lake's root: `s3://bucket/prefix`.
        #[arg(long)]
        location: String,
        /// The Glue database to create the tables and views in.
        #[arg(long, default_value = "lakewarden")]
        database: String,
        /// The accounts of the lake, comma-separated: `account_id` is projected as this
        /// list, so an account that joins later needs the DDL regenerated.
        #[arg(long, value_delimiter = ',', required = true)]
        accounts: Vec<String>,
        /// The dates projected for `dt`, as Athena reads them: two bounds, such as
        /// `NOW-1YEARS,NOW` or `2024-01-01,NOW`; snapshots outside are not seen.
        #[arg(long, default_value = lakewarden::ddl::ATHENA_DEFAULT_DT_RANGE)]
        dt_range: String,
    },
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// The table reference as Markdown, as the README includes it.
    Docs,
}

/// Stack of each runtime thread. The AWS SDK decodes a response in one deep call chain
/// whose frames, in a debug build, outgrow a main thread's 8 MiB on Security Hub findings
/// with large resource details; the whole program runs on the runtime's workers instead.
const WORKER_STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lakewarden: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    // On a worker, not this thread: see `WORKER_STACK_BYTES`.
    let outcome = runtime.block_on(async { tokio::spawn(dispatch(cli)).await });
    let outcome = outcome.unwrap_or_else(|e| Err(anyhow::anyhow!("the run panicked: {e}")));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "Lakewarden stopped");
            eprintln!("lakewarden: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging() {
    let filter =
        EnvFilter::try_from_env("LAKEWARDEN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.compact().init();
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let (path, explicit) = match &cli.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from("lakewarden.toml"), false),
    };
    let mut config = Config::load(&path, explicit)?;
    if let Some(lake) = &cli.lake {
        config.lake.url.clone_from(lake);
    }
    Ok(config)
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Run {
            no_progress,
            shard,
            pause_before_commit_ms,
            full,
        } => {
            let mut config = load_config(&cli)?;
            config.sources.securityhub.full = *full;
            let lake = lakewarden_lake::open_lake(&config.lake.url)?
                .with_writer_options(config.writer_options());
            let options = RunOptions {
                pause_before_commit: pause_before_commit_ms.map(Duration::from_millis),
                progress: !no_progress,
                shard: *shard,
                ..Default::default()
            };
            let shutdown = lakewarden::supervise::Shutdown::install()?;
            let summary =
                match lakewarden::supervise::supervised_run(&config, &lake, &options, &shutdown)
                    .await
                {
                    Supervised::Committed(summary) => summary,
                    Supervised::LeaseHeld(error) => {
                        tracing::error!(%error, "Run not started: the lake is leased");
                        eprintln!("lakewarden: {error}");
                        return Ok(lakewarden::supervise::EXIT_LEASE_HELD);
                    }
                    Supervised::Interrupted => return Ok(shutdown.exit_code()),
                    Supervised::Failed(error) => return Err(error.context("run failed")),
                };
            print_summary(&summary);
            let outcome = match summary.outcome {
                "complete" => Outcome::Complete,
                _ => Outcome::Partial,
            };
            Ok(outcome.exit_code())
        }
        Command::Jobs { run_id } => {
            let config = load_config(&cli)?;
            let lake = lakewarden_lake::open_lake(&config.lake.url)?
                .with_writer_options(config.writer_options());
            let jobs = lakewarden::jobs::run_jobs(&lake, &config.jobs, run_id)
                .await
                .map_err(|e| format!("{e:#}"));
            if let Err(error) = &jobs {
                anyhow::bail!("{error}");
            }
            Ok(if print_jobs(&jobs) { 0 } else { 2 })
        }
        Command::Schedule(args) => {
            let config = load_config(&cli)?;
            let lake = lakewarden_lake::open_lake(&config.lake.url)?
                .with_writer_options(config.writer_options());
            cli_ops::schedule(&config, &lake, args, print_summary).await
        }
        Command::Vacuum(args) => {
            let config = load_config(&cli)?;
            let lake = lakewarden_lake::open_lake(&config.lake.url)?;
            cli_ops::vacuum(&lake, args).await
        }
        Command::Check => {
            let config = load_config(&cli)?;
            let lines = lakewarden::check::check(&config).await;
            for line in &lines {
                println!(
                    "{:<12} {:<4} {}",
                    line.what,
                    if line.ok { "ok" } else { "FAIL" },
                    line.detail
                );
            }
            Ok(if lines.iter().all(|l| l.ok) { 0 } else { 1 })
        }
        Command::Import {
            what: ImportCommand::ConfigSnapshot { location },
        } => {
            let importer = lakewarden_extract::config::SnapshotImporter;
            import(&cli, &importer, location).await
        }
        Command::Import {
            what: ImportCommand::Securityhub { location },
        } => {
            let importer = lakewarden_extract::securityhub::SecurityHubImporter;
            import(&cli, &importer, location).await
        }
        Command::Import {
            what: ImportCommand::Iam { location, account },
        } => {
            let importer = match account {
                Some(account) => lakewarden_extract::iam::IamImporter::for_account(account)
                    .map_err(anyhow::Error::msg)?,
                None => lakewarden_extract::iam::IamImporter::new(),
            };
            import(&cli, &importer, location).await
        }
        Command::Ddl {
            dialect: DdlCommand::Duckdb,
        } => {
            let catalog = lakewarden_lake::Catalog::load()?;
            print!("{}", lakewarden::ddl::duckdb_views(&catalog));
            Ok(0)
        }
        Command::Ddl {
            dialect:
                DdlCommand::Athena {
                    location,
                    database,
                    accounts,
                    dt_range,
                },
        } => {
            let options = lakewarden::ddl::AthenaOptions {
                location: location.trim_end_matches('/').to_owned(),
                database: database.clone(),
                accounts: accounts.clone(),
                dt_range: dt_range.clone(),
            };
            options.validate()?;
            let catalog = lakewarden_lake::Catalog::load()?;
            print!("{}", lakewarden::ddl::athena_sql(&catalog, &options));
            Ok(0)
        }
        Command::Schema {
            what: SchemaCommand::Docs,
        } => {
            let catalog = lakewarden_lake::Catalog::load()?;
            print!("{}", lakewarden::docs::tables_markdown(&catalog));
            Ok(0)
        }
    }
}

/// Print what the jobs did; false when any job failed.
fn print_jobs(jobs: &Result<lakewarden::jobs::JobsSummary, String>) -> bool {
    match jobs {
        Ok(summary) => {
            println!(
                "jobs {} tables {} rows {}",
                summary.run_id, summary.tables, summary.rows
            );
            for failed in &summary.failed_jobs {
                println!("job failed: {failed}");
            }
            if let Some(commit) = &summary.commit {
                println!("committed {commit}");
            }
            summary.failed_jobs.is_empty()
        }
        Err(error) => {
            tracing::error!(%error, "The jobs committed nothing");
            println!("jobs failed: {error}");
            false
        }
    }
}

async fn import(
    cli: &Cli,
    importer: &dyn lakewarden_extract::Importer,
    location: &str,
) -> anyhow::Result<u8> {
    let config = load_config(cli)?;
    let lake =
        lakewarden_lake::open_lake(&config.lake.url)?.with_writer_options(config.writer_options());
    let (summary, rejected) = lakewarden::run::import(&lake, importer, location)
        .await
        .context("import failed")?;
    print_summary(&summary);
    for file in &rejected {
        eprintln!("lakewarden: rejected {file}");
    }
    let outcome = match summary.outcome {
        "complete" => Outcome::Complete,
        _ => Outcome::Partial,
    };
    Ok(outcome.exit_code())
}

fn print_summary(summary: &lakewarden::run::RunSummary) {
    tracing::info!(
        run_id = %summary.run_id,
        outcome = summary.outcome,
        sources = %serde_json::to_string(&summary.sources).unwrap_or_default(),
        "Run summary"
    );
    println!("run {} {}", summary.run_id, summary.outcome);
    println!(
        "{:<8} {:>8} {:>8} {:>10} {:>6} {:>12} {:>9} {:>10} {:>10}",
        "source",
        "accounts",
        "regions",
        "rows",
        "files",
        "bytes",
        "throttles",
        "api errors",
        "row errors"
    );
    for (name, s) in &summary.sources {
        println!(
            "{:<8} {:>8} {:>8} {:>10} {:>6} {:>12} {:>9} {:>10} {:>10}",
            name,
            s.accounts,
            s.regions,
            s.rows,
            s.files,
            s.bytes,
            s.throttles,
            s.api_errors,
            s.row_errors
        );
    }
    if let Some(commit) = &summary.commit {
        println!("committed {commit}");
    }
    if let Some(jobs) = &summary.jobs {
        print_jobs(jobs);
    }
}
