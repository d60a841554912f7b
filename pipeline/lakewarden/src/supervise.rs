//! A run as production runs it: under the lake's lease, renewed while the run lives, and
//! stopped cleanly by SIGTERM or SIGINT. The main type is [`Shutdown`]; [`supervised_run`]
//! wraps [`crate::run::run`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lakewarden_lake::{Lake, Lease, LeaseError};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::run::{RunOptions, RunSummary};

/// Exit code of a run that found the lake leased by another run.
pub const EXIT_LEASE_HELD: u8 = 3;

/// The run stopped because a signal asked it to, before it committed anything.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the run was interrupted before its commit; nothing was committed")
    }
}

impl std::error::Error for Interrupted {}

/// The process-wide stop request: cancelled by the first SIGTERM or SIGINT.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    signal: Arc<Mutex<Option<&'static str>>>,
}

impl Shutdown {
    /// Listen for SIGTERM and SIGINT from now on.
    pub fn install() -> std::io::Result<Self> {
        let shutdown = Self::default();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            let listener = shutdown.clone();
            tokio::spawn(async move {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                tracing::warn!(signal = name, "Stop requested: no new work starts");
                listener.request(name);
                // A second signal means "now": exit without waiting for the grace period,
                // leaving the lease to expire.
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                tracing::error!("Second stop request: exiting at once; the lease will expire");
                std::process::exit(i32::from(listener.exit_code()));
            });
        }
        Ok(shutdown)
    }

    /// Ask everything to stop, as a signal named `signal` would.
    pub fn request(&self, signal: &'static str) {
        let mut slot = self.signal.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(signal);
        self.token.cancel();
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub fn requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The conventional exit code of a process stopped by the signal received: 128 plus
    /// its number (143 for SIGTERM, 130 for SIGINT).
    pub fn exit_code(&self) -> u8 {
        match *self.signal.lock().unwrap_or_else(|e| e.into_inner()) {
            Some("SIGINT") => 130,
            _ => 143,
        }
    }
}

/// How a supervised run ended.
#[derive(Debug)]
pub enum Supervised {
    /// The run committed (completely or partially).
    Committed(RunSummary),
    /// Another run holds the lake's lease; this one did nothing.
    LeaseHeld(LeaseError),
    /// A signal stopped the run before it committed; the lease was released.
    Interrupted,
    /// Nothing was committed.
    Failed(anyhow::Error),
}

/// Take the lake's lease, do one run while renewing it, release it. A signal stops new work
/// at once; work in flight is abandoned after `[run] shutdown_grace_secs` at the latest,
/// and never half committed.
pub async fn supervised_run(
    config: &Config,
    lake: &Lake,
    options: &RunOptions,
    shutdown: &Shutdown,
) -> Supervised {
    if shutdown.requested() {
        return Supervised::Interrupted;
    }
    let holder = lakewarden_lake::holder_id();
    let name = lakewarden_lake::lease_name(&options.shard.to_string());
    let ttl = config.run.lease_ttl();
    let lease = match Lease::acquire_named(lake, &name, &holder, ttl, chrono::Utc::now()).await {
        Ok(lease) => lease,
        Err(error @ LeaseError::Held { .. }) => return Supervised::LeaseHeld(error),
        Err(error) => return Supervised::Failed(error.into()),
    };
    tracing::info!(holder = %holder, expires_at = %lease.record().expires_at, "Lease taken");

    let run_token = shutdown.token().child_token();
    let lost = CancellationToken::new();
    let stop_renewing = CancellationToken::new();
    let renewer = tokio::spawn(keep_renewed(
        lease,
        run_token.clone(),
        lost.clone(),
        stop_renewing.clone(),
    ));

    let mut options = options.clone();
    options.cancel = run_token.clone();
    let result = run_until_stopped(
        config,
        lake,
        &options,
        &run_token,
        config.run.shutdown_grace(),
    )
    .await;

    stop_renewing.cancel();
    match renewer.await {
        Ok(lease) => match lease.release().await {
            Ok(()) => tracing::info!(holder = %holder, "Lease released"),
            Err(error) => tracing::error!(%error, "Could not release the lease; it will expire"),
        },
        Err(error) => tracing::error!(%error, "The lease renewal task failed; it will expire"),
    }

    match result {
        Ok(summary) => Supervised::Committed(summary),
        Err(_) if lost.is_cancelled() => Supervised::Failed(anyhow::anyhow!(
            "the lease on {} was lost during the run; nothing was committed",
            lake.url()
        )),
        Err(error) if error.is::<Interrupted>() || shutdown.requested() => {
            tracing::warn!(%error, "Run stopped by a signal");
            Supervised::Interrupted
        }
        Err(error) => Supervised::Failed(error),
    }
}

/// The run, raced against the stop request: once stopped, it has `grace` to return (it
/// returns [`Interrupted`] at its next check), else it is dropped with its writes in flight.
async fn run_until_stopped(
    config: &Config,
    lake: &Lake,
    options: &RunOptions,
    token: &CancellationToken,
    grace: Duration,
) -> anyhow::Result<RunSummary> {
    let run = crate::run::run(config, lake, options);
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => result,
        _ = token.cancelled() => {
            match tokio::time::timeout(grace, &mut run).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        grace_secs = grace.as_secs(),
                        "Grace period over: abandoning the run's writes in flight"
                    );
                    Err(Interrupted.into())
                }
            }
        }
    }
}

/// Renew the lease every third of its lifetime until told to stop; hand it back for release.
/// A lease taken over by someone else cancels the run, which then commits nothing.
async fn keep_renewed(
    mut lease: Lease,
    run_token: CancellationToken,
    lost: CancellationToken,
    stop: CancellationToken,
) -> Lease {
    let every = lease.ttl() / 3;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return lease,
            _ = tokio::time::sleep(every) => {}
        }
        match lease.renew(chrono::Utc::now()).await {
            Ok(()) => {
                tracing::debug!(expires_at = %lease.record().expires_at, "Lease renewed");
            }
            Err(error @ LeaseError::Lost { .. }) => {
                tracing::error!(%error, "Lease lost: stopping the run without committing");
                lost.cancel();
                run_token.cancel();
                return lease;
            }
            Err(error) => {
                tracing::warn!(%error, "Lease renewal failed; trying again");
                if chrono::Utc::now() >= lease.record().expires_at {
                    tracing::error!("The lease expired unrenewed: stopping the run");
                    lost.cancel();
                    run_token.cancel();
                    return lease;
                }
            }
        }
    }
}
