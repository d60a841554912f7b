//! Token buckets per API call family, account and region, sized to AWS's published rates,
//! so a run stays under each API's limit instead of leaning on throttling retries.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A sustained rate and a burst, in calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub const fn new(per_second: f64, burst: f64) -> Self {
        Self { per_second, burst }
    }
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Take a token, returning how long the caller must wait for it. A token may be
    /// borrowed ahead (the count goes negative), which queues callers fairly.
    fn take(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate.per_second)
        }
    }
}

/// (account id, region, API family).
type BucketKey = (String, String, String);

/// The rate limits of one run, shared by every source, account and region.
#[derive(Debug)]
pub struct RateLimits {
    rates: BTreeMap<String, Rate>,
    default: Rate,
    buckets: Mutex<HashMap<BucketKey, Arc<Mutex<Bucket>>>>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(BTreeMap::new(), Rate::new(10.0, 20.0))
    }
}

impl RateLimits {
    /// `rates` is keyed by API family as `service:Action` (`securityhub:GetFindings`);
    /// families not listed get `default`. A rate of zero or less means unlimited.
    pub fn new(rates: BTreeMap<String, Rate>, default: Rate) -> Self {
        Self {
            rates,
            default,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn rate(&self, api: &str) -> Rate {
        self.rates.get(api).copied().unwrap_or(self.default)
    }

    /// Wait until a call of `api` in this account and region is within its rate.
    pub async fn acquire(&self, account_id: &str, region: &str, api: &str) {
        let rate = self.rate(api);
        if rate.per_second <= 0.0 {
            return;
        }
        let bucket = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            buckets
                .entry((account_id.to_owned(), region.to_owned(), api.to_owned()))
                .or_insert_with(|| {
                    Arc::new(Mutex::new(Bucket {
                        rate,
                        tokens: rate.burst.max(1.0),
                        last: Instant::now(),
                    }))
                })
                .clone()
        };
        let wait = bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(Instant::now());
        if !wait.is_zero() {
            tracing::trace!(
                api,
                wait_ms = wait.as_millis() as u64,
                "Waiting for the API's rate"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_spaces_calls_at_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket {
            rate: Rate::new(2.0, 3.0),
            tokens: 3.0,
            last: start,
        };
        let waits: Vec<u128> = (0..5).map(|_| bucket.take(start).as_millis()).collect();
        assert_eq!(waits, [0, 0, 0, 500, 1000]);
        // Two seconds later the debt of two calls is paid and one more token has come.
        assert_eq!(bucket.take(start + Duration::from_secs(2)), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_per_account_region_and_api() {
        let limits = RateLimits::new(
            BTreeMap::from([("svc:Slow".to_owned(), Rate::new(1.0, 1.0))]),
            Rate::new(0.0, 0.0),
        );
        let start = tokio::time::Instant::now();
        limits.acquire("1", "r", "svc:Slow").await;
        limits.acquire("2", "r", "svc:Slow").await;
        limits.acquire("1", "r", "svc:Other").await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "separate buckets, unlimited default"
        );
        limits.acquire("1", "r", "svc:Slow").await;
        assert!(
            start.elapsed() >= Duration::from_millis(999),
            "{:?}",
            start.elapsed()
        );
    }
}
