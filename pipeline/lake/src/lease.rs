//! The lease: at most one run writes a lake at a time, whoever starts it.
//!
//! The lease is one small JSON object, `<root>/_lakewarden/lease.json`, naming its holder and
//! when it expires. A run takes it with a conditional create (`PutMode::Create`), renews it
//! while it lives and deletes it when it ends. A holder that crashed stops renewing, so its
//! lease expires and the next run takes it over.
//!
//! Taking over an expired lease must let only one of several takers win. Where the store
//! supports conditional updates (S3 with `If-Match`, the in-memory store), the taker replaces
//! the expired object with `PutMode::Update` on the version it read: a second taker's update
//! fails its precondition. `LocalFileSystem` in object_store 0.14 has no `PutMode::Update`;
//! there the taker first creates a takeover marker, `_lakewarden/takeover/<e-tag of the
//! expired lease>`, with `PutMode::Create`, and only the one that created it overwrites the
//! lease. Markers are kept, so the same expired lease can never be taken twice; `lakewarden
//! vacuum` removes old ones. Renewal uses the same conditional update; on a local lake it
//! re-reads the lease and overwrites it only while it still names this holder.
//!
//! Limitation: on a local lake, renewal checks the holder and then overwrites in two steps,
//! because the local store has no compare-and-swap; a taker that slips between them needs
//! the lease to have expired first, which renewing at a third of the lifetime prevents.

use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::Lake;

/// What can go wrong while taking, renewing or releasing the lease.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    #[error("the lake {lake} is leased by {holder} until {expires_at}: another run is writing it")]
    Held {
        lake: String,
        holder: String,
        expires_at: DateTime<Utc>,
    },

    #[error("the lease on {lake} was taken over by {holder}: this run no longer owns the lake")]
    Lost { lake: String, holder: String },

    #[error("lease object {location}: {source}")]
    Store {
        location: String,
        #[source]
        source: object_store::Error,
    },
}

/// The content of `lease.json`. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Who holds the lease: host, process id and a random suffix.
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    /// After this instant anyone may take the lease over.
    pub expires_at: DateTime<Utc>,
}

/// The lease as one holder owns it.
#[derive(Debug)]
pub struct Lease {
    lake_url: String,
    store: std::sync::Arc<dyn ObjectStore>,
    path: Path,
    markers: Path,
    ttl: Duration,
    record: LeaseRecord,
    version: UpdateVersion,
}

/// An existing lease object as read, with the version needed to replace it conditionally.
#[derive(Debug, Clone)]
pub struct ObservedLease {
    /// `None` when the object is not a lease record (truncated, edited by hand): it is then
    /// treated as expired.
    pub record: Option<LeaseRecord>,
    pub version: UpdateVersion,
}

/// A holder id for this process: `<host>/<pid>/<8 hex>`.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &suffix[..8])
}

/// The name of the lease a run takes: `lease` for an unsharded run, one per shard
/// otherwise (`lease-shard-2-of-8`). Shards write disjoint partitions and commits, so
/// they may run at once; two runs of the same shard may not.
pub fn lease_name(shard: &str) -> String {
    match shard.split_once('/') {
        Some((i, n)) if shard != "1/1" => format!("lease-shard-{i}-of-{n}"),
        _ => "lease".to_owned(),
    }
}

/// The path of the unsharded run's lease object in a lake.
pub fn lease_path(lake: &Lake) -> Path {
    named_lease_path(lake, "lease")
}

fn named_lease_path(lake: &Lake, name: &str) -> Path {
    lake.layout()
        .root()
        .clone()
        .join("_lakewarden")
        .join(format!("{name}.json").as_str())
}

fn markers_path(lake: &Lake, name: &str) -> Path {
    let markers = lake
        .layout()
        .root()
        .clone()
        .join("_lakewarden")
        .join("takeover");
    if name == "lease" {
        markers
    } else {
        markers.join(name)
    }
}

/// Read the lease object, if there is one.
pub async fn read_lease(lake: &Lake) -> Result<Option<ObservedLease>, LeaseError> {
    observe(lake.store().as_ref(), &lease_path(lake)).await
}

async fn observe(
    store: &dyn ObjectStore,
    path: &Path,
) -> Result<Option<ObservedLease>, LeaseError> {
    let store_err = |source| LeaseError::Store {
        location: path.to_string(),
        source,
    };
    let got = match store.get(path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(source) => return Err(store_err(source)),
    };
    let version = UpdateVersion {
        e_tag: got.meta.e_tag.clone(),
        version: got.meta.version.clone(),
    };
    let bytes = got.bytes().await.map_err(store_err)?;
    Ok(Some(ObservedLease {
        record: serde_json::from_slice(&bytes).ok(),
        version,
    }))
}

impl ObservedLease {
    /// Whether anyone may take this lease over at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.record.as_ref().is_none_or(|r| r.expires_at <= now)
    }
}

impl Lease {
    /// Take the lease of `lake` for `holder`, valid for `ttl` from `now`. Fails with
    /// [`LeaseError::Held`] while another holder's lease has not expired.
    pub async fn acquire(
        lake: &Lake,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Self, LeaseError> {
        Self::acquire_named(lake, "lease", holder, ttl, now).await
    }

    /// Take the lease called `name` (see [`lease_name`]).
    pub async fn acquire_named(
        lake: &Lake,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Self, LeaseError> {
        let mut lease = Self {
            lake_url: lake.url().to_owned(),
            store: lake.store().clone(),
            path: named_lease_path(lake, name),
            markers: markers_path(lake, name),
            ttl,
            record: LeaseRecord {
                holder: holder.to_owned(),
                acquired_at: now,
                renewed_at: now,
                expires_at: now + ttl,
            },
            version: UpdateVersion {
                e_tag: None,
                version: None,
            },
        };
        // The object can vanish between a failed create and the read (its holder released
        // it): then creating again is the right move, a few times at most.
        for _ in 0..3 {
            match lease.put(PutMode::Create).await {
                Ok(()) => return Ok(lease),
                Err(LeaseError::Store {
                    source: object_store::Error::AlreadyExists { .. },
                    ..
                }) => {}
                Err(error) => return Err(error),
            }
            let Some(observed) = observe(lease.store.as_ref(), &lease.path).await? else {
                continue;
            };
            if !observed.expired(now) {
                return Err(lease.held(observed.record));
            }
            let previous = observed.record.as_ref().map(|r| r.holder.as_str());
            tracing::warn!(previous_holder = previous, "Taking over an expired lease");
            lease.take_over(&observed).await?;
            return Ok(lease);
        }
        Err(held_by_a_churning_holder(lake))
    }

    /// Replace the expired lease `observed` by this one. Only one taker of the same
    /// observed lease can succeed; the others get [`LeaseError::Held`].
    pub async fn take_over(&mut self, observed: &ObservedLease) -> Result<(), LeaseError> {
        match self.put(PutMode::Update(observed.version.clone())).await {
            Ok(()) => Ok(()),
            Err(LeaseError::Store {
                source: object_store::Error::Precondition { .. },
                ..
            }) => Err(self.held_now().await),
            Err(LeaseError::Store {
                source: object_store::Error::NotImplemented { .. },
                ..
            }) => self.take_over_with_marker(observed).await,
            Err(error) => Err(error),
        }
    }

    async fn take_over_with_marker(&mut self, observed: &ObservedLease) -> Result<(), LeaseError> {
        let tag = observed
            .version
            .e_tag
            .clone()
            .or_else(|| observed.version.version.clone())
            .unwrap_or_else(|| format!("{:?}", observed.record));
        let name: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let marker = self.markers.clone().join(name.as_str());
        let body = serde_json::to_vec(&self.record).unwrap_or_default();
        match self
            .store
            .put_opts(&marker, body.into(), PutOptions::from(PutMode::Create))
            .await
        {
            Ok(_) => self.put(PutMode::Overwrite).await,
            Err(object_store::Error::AlreadyExists { .. }) => Err(self.held_now().await),
            Err(source) => Err(LeaseError::Store {
                location: marker.to_string(),
                source,
            }),
        }
    }

    /// Extend the lease to `now + ttl`. Fails with [`LeaseError::Lost`] when another holder
    /// has taken it over.
    pub async fn renew(&mut self, now: DateTime<Utc>) -> Result<(), LeaseError> {
        let previous = self.record.clone();
        self.record.renewed_at = now;
        self.record.expires_at = now + self.ttl;
        let result = match self.put(PutMode::Update(self.version.clone())).await {
            Err(LeaseError::Store {
                source: object_store::Error::NotImplemented { .. },
                ..
            }) => self.renew_by_overwrite().await,
            Err(LeaseError::Store {
                source: object_store::Error::Precondition { .. },
                ..
            }) => Err(self.lost().await),
            other => other,
        };
        if result.is_err() {
            self.record = previous;
        }
        result
    }

    async fn renew_by_overwrite(&mut self) -> Result<(), LeaseError> {
        match observe(self.store.as_ref(), &self.path).await? {
            Some(ObservedLease {
                record: Some(current),
                ..
            }) if current.holder == self.record.holder => self.put(PutMode::Overwrite).await,
            _ => Err(self.lost().await),
        }
    }

    /// Delete the lease if this holder still owns it.
    pub async fn release(self) -> Result<(), LeaseError> {
        let owned = matches!(
            observe(self.store.as_ref(), &self.path).await?,
            Some(ObservedLease { record: Some(current), .. }) if current.holder == self.record.holder
        );
        if !owned {
            tracing::warn!(holder = %self.record.holder, "The lease was no longer ours at release");
            return Ok(());
        }
        match self.store.delete(&self.path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(LeaseError::Store {
                location: self.path.to_string(),
                source,
            }),
        }
    }

    pub fn record(&self) -> &LeaseRecord {
        &self.record
    }

    /// How long the lease lasts without renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    async fn put(&mut self, mode: PutMode) -> Result<(), LeaseError> {
        let body = serde_json::to_vec_pretty(&self.record).unwrap_or_default();
        let result = self
            .store
            .put_opts(&self.path, body.into(), PutOptions::from(mode))
            .await
            .map_err(|source| LeaseError::Store {
                location: self.path.to_string(),
                source,
            })?;
        self.version = UpdateVersion {
            e_tag: result.e_tag,
            version: result.version,
        };
        Ok(())
    }

    fn held(&self, record: Option<LeaseRecord>) -> LeaseError {
        let (holder, expires_at) = record
            .map(|r| (r.holder, r.expires_at))
            .unwrap_or_else(|| ("an unknown holder".to_owned(), self.record.expires_at));
        LeaseError::Held {
            lake: self.lake_url.clone(),
            holder,
            expires_at,
        }
    }

    async fn held_now(&self) -> LeaseError {
        let current = observe(self.store.as_ref(), &self.path)
            .await
            .ok()
            .flatten()
            .and_then(|o| o.record);
        self.held(current)
    }

    async fn lost(&self) -> LeaseError {
        let holder = observe(self.store.as_ref(), &self.path)
            .await
            .ok()
            .flatten()
            .and_then(|o| o.record)
            .map(|r| r.holder)
            .unwrap_or_else(|| "nobody (the lease object is gone)".to_owned());
        LeaseError::Lost {
            lake: self.lake_url.clone(),
            holder,
        }
    }
}

fn held_by_a_churning_holder(lake: &Lake) -> LeaseError {
    LeaseError::Held {
        lake: lake.url().to_owned(),
        holder: "another run that keeps taking and releasing it".to_owned(),
        expires_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use object_store::local::LocalFileSystem;
    use object_store::memory::InMemory;

    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn memory_lake() -> Lake {
        Lake::new("memory://", Arc::new(InMemory::new()), Path::from("lake")).expect("lake")
    }

    fn local_lake(dir: &std::path::Path) -> Lake {
        let store = LocalFileSystem::new_with_prefix(dir).expect("local store");
        Lake::new(dir.display().to_string(), Arc::new(store), Path::default()).expect("lake")
    }

    async fn exclusive_while_live_then_taken_over(lake: Lake) {
        let mut first = Lease::acquire(&lake, "a", TTL, at(0)).await.expect("free");
        let observed = read_lease(&lake).await.expect("read").expect("present");
        assert_eq!(
            observed.record.as_ref().map(|r| r.holder.as_str()),
            Some("a")
        );
        assert_eq!(observed.record.as_ref().map(|r| r.expires_at), Some(at(60)));

        match Lease::acquire(&lake, "b", TTL, at(30)).await {
            Err(LeaseError::Held {
                holder, expires_at, ..
            }) => {
                assert_eq!(holder, "a");
                assert_eq!(expires_at, at(60));
            }
            other => panic!("expected Held, got {other:?}"),
        }

        first.renew(at(50)).await.expect("renewal while owned");
        assert!(matches!(
            Lease::acquire(&lake, "b", TTL, at(100)).await,
            Err(LeaseError::Held { expires_at, .. }) if expires_at == at(110)
        ));

        let second = Lease::acquire(&lake, "b", TTL, at(111))
            .await
            .expect("expired");
        assert_eq!(second.record().expires_at, at(171));
        match first.renew(at(112)).await {
            Err(LeaseError::Lost { holder, .. }) => assert_eq!(holder, "b"),
            other => panic!("expected Lost, got {other:?}"),
        }
        first
            .release()
            .await
            .expect("release of a lost lease is a no-op");
        assert!(read_lease(&lake).await.expect("read").is_some());

        second.release().await.expect("release");
        assert!(read_lease(&lake).await.expect("read").is_none());
        Lease::acquire(&lake, "c", TTL, at(112))
            .await
            .expect("free again after release");
    }

    async fn one_taker_of_an_expired_lease_wins(lake: Lake) {
        Lease::acquire(&lake, "crashed", TTL, at(0))
            .await
            .expect("free");
        let observed = read_lease(&lake).await.expect("read").expect("present");
        assert!(observed.expired(at(61)));
        assert!(!observed.expired(at(59)));

        let template = |holder: &str| Lease {
            lake_url: lake.url().to_owned(),
            store: lake.store().clone(),
            path: lease_path(&lake),
            markers: markers_path(&lake, "lease"),
            ttl: TTL,
            record: LeaseRecord {
                holder: holder.to_owned(),
                acquired_at: at(61),
                renewed_at: at(61),
                expires_at: at(121),
            },
            version: UpdateVersion {
                e_tag: None,
                version: None,
            },
        };
        let mut x = template("x");
        let mut y = template("y");
        x.take_over(&observed).await.expect("first taker wins");
        match y.take_over(&observed).await {
            Err(LeaseError::Held { holder, .. }) => assert_eq!(holder, "x"),
            other => panic!("expected Held, got {other:?}"),
        }
        let now = read_lease(&lake).await.expect("read").expect("present");
        assert_eq!(now.record.map(|r| r.holder), Some("x".to_owned()));
    }

    #[tokio::test]
    async fn lease_in_memory_uses_conditional_updates() {
        exclusive_while_live_then_taken_over(memory_lake()).await;
        one_taker_of_an_expired_lease_wins(memory_lake()).await;
    }

    #[tokio::test]
    async fn lease_on_local_disk_uses_takeover_markers() {
        let dir = tempfile::tempdir().expect("dir");
        exclusive_while_live_then_taken_over(local_lake(dir.path())).await;
        let dir = tempfile::tempdir().expect("dir");
        one_taker_of_an_expired_lease_wins(local_lake(dir.path())).await;
        let markers = std::fs::read_dir(dir.path().join("_lakewarden/takeover"))
            .expect("marker folder")
            .count();
        assert_eq!(markers, 1);
    }

    #[tokio::test]
    async fn an_unreadable_lease_counts_as_expired() {
        let lake = memory_lake();
        lake.store()
            .put(&lease_path(&lake), "{not json".into())
            .await
            .expect("put");
        let lease = Lease::acquire(&lake, "a", TTL, at(0)).await.expect("taken");
        assert_eq!(lease.record().holder, "a");
    }
}
