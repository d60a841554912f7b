//! An HTTP client for one OCI Distribution registry: authentication on demand, retries of
//! 429 and 5xx answers honouring `Retry-After`, and bounded response bodies.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use url::Url;

use super::auth::{Challenge, OciAuth, Secret, TokenCache, TokenResponse, parse_challenges};

/// The largest body read from a registry: manifests, image configs and listing pages are
/// small JSON documents (Distribution refuses manifests over 4 MiB), so anything bigger is
/// refused rather than held in memory.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Why a registry request failed; messages name the URL.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("GET {url}: {message}")]
    Http { url: String, message: String },
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: HTTP 401, {message}")]
    Unauthorized { url: String, message: String },
    #[error("GET {url}: {message}")]
    Invalid { url: String, message: String },
}

impl OciError {
    /// Whether the error is a 404, which for a manifest or blob means it is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }
}

/// A successful response.
#[derive(Debug)]
pub struct Fetched {
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First wait between attempts; it doubles each time.
    pub initial_backoff: Duration,
    /// Longest wait between attempts, also the most a `Retry-After` is honoured for.
    pub max_backoff: Duration,
}

/// A client for one registry.
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: Url,
    host: String,
    auth: OciAuth,
    tokens: TokenCache,
    /// Set once the registry asked for basic credentials, so later requests send them
    /// first instead of taking a 401 each.
    basic: AtomicBool,
    retry: RetryPolicy,
    calls: AtomicU32,
    retries: AtomicU32,
    /// The first throttling or server error seen, for the coverage row.
    last_retry_reason: Mutex<Option<String>>,
}

impl RegistryClient {
    pub fn new(
        base: Url,
        auth: OciAuth,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, OciError> {
        let host = match (base.host_str(), base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => {
                return Err(OciError::Invalid {
                    url: base.to_string(),
                    message: "the registry URL has no host".to_owned(),
                });
            }
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("lakewarden/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()
            .map_err(|e| OciError::Http {
                url: base.to_string(),
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            base,
            host,
            auth,
            tokens: TokenCache::default(),
            basic: AtomicBool::new(false),
            retry,
            calls: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            last_retry_reason: Mutex::new(None),
        })
    }

    /// The registry host with its port, as image references name it (`ghcr.io`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// HTTP requests sent so far, retries and token requests included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Why the first retried request was retried (`HTTP 429`), if any was.
    pub fn first_retry_reason(&self) -> Option<String> {
        self.last_retry_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A path (`/v2/...`) or an absolute URL from a `Link` header, resolved on the base.
    pub fn url(&self, path: &str) -> Result<Url, OciError> {
        self.base.join(path).map_err(|e| OciError::Invalid {
            url: path.to_owned(),
            message: format!("not a URL: {e}"),
        })
    }

    /// GET a URL of the registry with the permissions of `scope`
    /// (`repository:<name>:pull`, `registry:catalog:*`), answering one authentication
    /// challenge if the registry sends it.
    pub async fn get(&self, url: &Url, scope: &str, accept: &str) -> Result<Fetched, OciError> {
        let mut challenged = false;
        loop {
            let response = self
                .send(url, || {
                    let mut request = self.http.get(url.clone());
                    if !accept.is_empty() {
                        request = request.header(ACCEPT, accept);
                    }
                    if let Some(value) = self.authorization(scope) {
                        request = request.header(AUTHORIZATION, value);
                    }
                    request
                })
                .await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                if challenged {
                    return Err(OciError::Unauthorized {
                        url: url.to_string(),
                        message: "the credentials were refused".to_owned(),
                    });
                }
                challenged = true;
                let challenges = challenges_of(response.headers());
                self.answer(url, scope, &challenges).await?;
                continue;
            }
            if !response.status().is_success() {
                return Err(OciError::Status {
                    url: url.to_string(),
                    status: response.status().as_u16(),
                });
            }
            let final_url = response.url().clone();
            let headers = response.headers().clone();
            let body = read_bounded(url, response).await?;
            return Ok(Fetched {
                url: final_url,
                headers,
                body,
            });
        }
    }

    fn authorization(&self, scope: &str) -> Option<String> {
        if let Some(token) = self.tokens.get(scope, Instant::now()) {
            return Some(format!("Bearer {}", token.expose()));
        }
        match &self.auth {
            OciAuth::Basic { username, password } if self.basic.load(Ordering::Relaxed) => {
                Some(basic_header(username, password))
            }
            _ => None,
        }
    }

    /// Meet a 401's challenge: fetch a bearer token for the scope, or switch to basic
    /// credentials.
    async fn answer(
        &self,
        url: &Url,
        scope: &str,
        challenges: &[Challenge],
    ) -> Result<(), OciError> {
        let unauthorized = |message: &str| OciError::Unauthorized {
            url: url.to_string(),
            message: message.to_owned(),
        };
        if let Some(bearer) = challenges.iter().find(|c| c.is("bearer")) {
            let token_url = token_url(url, bearer, scope)?;
            let (token, lifetime) = self.fetch_token(&token_url).await?;
            self.tokens.put(scope, token, lifetime, Instant::now());
            return Ok(());
        }
        if challenges.iter().any(|c| c.is("basic")) {
            return match &self.auth {
                OciAuth::Basic { .. } => {
                    self.basic.store(true, Ordering::Relaxed);
                    Ok(())
                }
                OciAuth::Anonymous => Err(unauthorized(
                    "the registry asks for basic credentials and none are configured",
                )),
            };
        }
        Err(unauthorized(
            "the registry sent no Bearer or Basic challenge",
        ))
    }

    async fn fetch_token(&self, token_url: &Url) -> Result<(Secret, Duration), OciError> {
        let response = self
            .send(token_url, || {
                let request = self.http.get(token_url.clone());
                match &self.auth {
                    OciAuth::Basic { username, password } => {
                        request.header(AUTHORIZATION, basic_header(username, password))
                    }
                    OciAuth::Anonymous => request,
                }
            })
            .await?;
        // The token URL's query holds only service and scope, never credentials.
        let shown = token_url.to_string();
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(OciError::Unauthorized {
                url: shown,
                message: "the token service refused the credentials".to_owned(),
            });
        }
        if !response.status().is_success() {
            return Err(OciError::Status {
                url: shown,
                status: response.status().as_u16(),
            });
        }
        let body = read_bounded(token_url, response).await?;
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| OciError::Invalid {
                url: shown.clone(),
                message: format!("the token response is not JSON: {e}"),
            })?;
        parsed
            .token_and_lifetime()
            .ok_or_else(|| OciError::Invalid {
                url: shown,
                message: "the token response holds no token".to_owned(),
            })
    }

    /// Send a request, retrying connection failures, 429 and 5xx with exponential backoff
    /// (or the server's `Retry-After`, capped at the longest backoff).
    async fn send(
        &self,
        url: &Url,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OciError> {
        let mut attempt = 1;
        loop {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = build().send().await;
            let (reason, wait) = match &result {
                Ok(response) if retryable_status(response.status()) => (
                    format!("HTTP {}", response.status().as_u16()),
                    retry_after(response.headers()),
                ),
                Ok(_) => return Ok(result.expect("matched Ok")),
                Err(error) if error.is_connect() || error.is_timeout() => (error.to_string(), None),
                Err(error) => {
                    return Err(OciError::Http {
                        url: url.to_string(),
                        message: error.to_string(),
                    });
                }
            };
            if attempt >= self.retry.max_attempts {
                return match result {
                    Ok(response) => Err(OciError::Status {
                        url: url.to_string(),
                        status: response.status().as_u16(),
                    }),
                    Err(error) => Err(OciError::Http {
                        url: url.to_string(),
                        message: error.to_string(),
                    }),
                };
            }
            let wait = wait
                .unwrap_or_else(|| backoff(&self.retry, attempt))
                .min(self.retry.max_backoff);
            tracing::debug!(
                registry = %self.host,
                url = %without_query(url),
                attempt,
                reason = %reason,
                wait_ms = wait.as_millis() as u64,
                "Retrying a registry request"
            );
            self.retries.fetch_add(1, Ordering::Relaxed);
            self.last_retry_reason
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(reason);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// A URL without its query and fragment, to show in logs and messages: a presigned
/// download URL carries a signature and an access key id in its query.
pub fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Where to ask for a bearer token: the challenge's realm with its service, and the scope
/// the challenge names (else the one the request needs).
pub fn token_url(url: &Url, bearer: &Challenge, scope: &str) -> Result<Url, OciError> {
    let realm = bearer
        .param("realm")
        .ok_or_else(|| OciError::Unauthorized {
            url: url.to_string(),
            message: "the Bearer challenge names no realm".to_owned(),
        })?;
    let mut token_url = Url::parse(realm).map_err(|e| OciError::Invalid {
        url: realm.to_owned(),
        message: format!("the token realm is not a URL: {e}"),
    })?;
    {
        let mut query = token_url.query_pairs_mut();
        if let Some(service) = bearer.param("service") {
            query.append_pair("service", service);
        }
        query.append_pair("scope", bearer.param("scope").unwrap_or(scope));
    }
    Ok(token_url)
}

fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

fn basic_header(username: &str, password: &Secret) -> String {
    let pair = format!("{username}:{}", password.expose());
    format!("Basic {}", STANDARD.encode(pair))
}

fn challenges_of(headers: &HeaderMap) -> Vec<Challenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

/// The wait a `Retry-After` header asks for: delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// `initial × 2^(attempt-1)`, with up to a quarter of jitter so retrying clients spread.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let base = policy
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let jitter = {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(attempt);
        (hasher.finish() % 1000) as f64 / 4000.0
    };
    base.mul_f64(1.0 + jitter)
}

async fn read_bounded(url: &Url, mut response: reqwest::Response) -> Result<Bytes, OciError> {
    let too_big = || OciError::Invalid {
        url: url.to_string(),
        message: format!("the response is larger than {MAX_BODY} bytes"),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| OciError::Http {
        url: url.to_string(),
        message: e.to_string(),
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).expect("header"),
        );
        let wait = retry_after(&headers).expect("a date");
        assert!(
            wait > Duration::from_secs(115) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        };
        for (attempt, base) in [(1, 100), (2, 200), (3, 400)] {
            let wait = backoff(&policy, attempt).as_millis();
            assert!(wait >= base && wait <= base * 5 / 4, "{attempt}: {wait}");
        }
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!retryable_status(StatusCode::NOT_FOUND));
        assert!(!retryable_status(StatusCode::NOT_IMPLEMENTED));
    }

    /// The token flow is shown from recorded challenges and token bodies (here and in
    /// `auth.rs`), not against a registry: token auth in Distribution needs a token
    /// service, which the tests would have to provide.
    #[test]
    fn token_urls_from_recorded_challenges() {
        let url = Url::parse("https://registry-1.docker.io/v2/library/alpine/manifests/3.20")
            .expect("URL");
        // Challenges as Docker Hub and GHCR send them for a pull of a public image.
        let hub = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        );
        assert_eq!(
            token_url(&url, &hub[0], "repository:other:pull")
                .expect("a token URL")
                .as_str(),
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Falpine%3Apull"
        );
        let ghcr = parse_challenges(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull""#,
        );
        assert_eq!(
            token_url(&url, &ghcr[0], "unused").expect("URL").as_str(),
            "https://ghcr.io/token?service=ghcr.io&scope=repository%3Auser%2Fimage%3Apull"
        );
        // A challenge that names no scope (a catalog request to Harbor): the request's
        // own scope, after a query the realm already has.
        let harbor = parse_challenges(
            r#"Bearer realm="https://harbor.example/service/token?client=x",service="harbor-registry""#,
        );
        assert_eq!(
            token_url(&url, &harbor[0], "registry:catalog:*")
                .expect("URL")
                .as_str(),
            "https://harbor.example/service/token?client=x&service=harbor-registry&scope=registry%3Acatalog%3A*"
        );
        let no_realm = parse_challenges(r#"Bearer service="quay.io""#);
        let error = token_url(&url, &no_realm[0], "s").expect_err("no realm");
        assert!(
            matches!(&error, OciError::Unauthorized { message, .. } if message == "the Bearer challenge names no realm"),
            "{error}"
        );
        let relative = parse_challenges(r#"Bearer realm="/token""#);
        assert!(token_url(&url, &relative[0], "s").is_err());
    }

    #[tokio::test]
    async fn connection_failures_are_retried_then_reported() {
        // A port nothing listens on: every attempt is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base = Url::parse(&format!("http://127.0.0.1:{port}")).expect("URL");
        let client = RegistryClient::new(
            base.clone(),
            OciAuth::Anonymous,
            RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            },
            Duration::from_secs(5),
        )
        .expect("a client");
        let url = client.url("/v2/_catalog?n=2").expect("URL");
        let error = client
            .get(&url, "registry:catalog:*", "application/json")
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, OciError::Http { url: shown, .. } if *shown == url.to_string()),
            "{error}"
        );
        assert_eq!((client.calls(), client.retries()), (3, 2));
        assert!(client.first_retry_reason().is_some());
    }
}
