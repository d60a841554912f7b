//! Authentication to OCI registries: `WWW-Authenticate` challenges, the bearer-token flow
//! with a cache per scope, basic credentials, and credentials from a Docker `config.json`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// A secret read from the config, an environment variable or a Docker config file. Its
/// `Debug` never shows the value, so logging a config cannot leak it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Credentials for one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OciAuth {
    /// No credentials; anonymous bearer tokens are still fetched when the registry asks.
    #[default]
    Anonymous,
    /// A user name and password (or personal access token), sent as HTTP basic
    /// credentials to the registry or to its token service.
    Basic { username: String, password: Secret },
}

/// One challenge of a `WWW-Authenticate` header: a scheme and its parameters, names in
/// lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parse a `WWW-Authenticate` value (RFC 9110 §11.6.1): one or more challenges, each a
/// scheme followed by comma-separated `name=value` parameters whose values are tokens or
/// quoted strings (with `\` escapes; a scope such as `repository:a/b:pull,push` holds a
/// comma inside the quotes). A token68 credential after the scheme is skipped.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim_start();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let (word, after) = split_token(rest);
        if word.is_empty() {
            // Not a token: skip one character so malformed input cannot loop.
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
            continue;
        }
        let after_ws = after.trim_start_matches([' ', '\t']);
        if let Some(value_part) = after_ws.strip_prefix('=')
            && !value_part.starts_with('=')
            && let Some(current) = challenges.last_mut()
        {
            // A parameter of the current challenge.
            let (value, remaining) = parse_value(value_part.trim_start_matches([' ', '\t']));
            current.params.insert(word.to_ascii_lowercase(), value);
            rest = remaining;
            continue;
        }
        // A new challenge; a token68 (`Basic abc==`) right after it carries no parameters.
        challenges.push(Challenge {
            scheme: word.to_owned(),
            params: BTreeMap::new(),
        });
        rest = after_ws;
        let (candidate, after_candidate) = split_token68(rest);
        let next = after_candidate.trim_start_matches([' ', '\t']);
        let token68 = !candidate.is_empty() && !candidate.trim_end_matches('=').contains('=');
        if token68 && (next.is_empty() || next.starts_with(',')) {
            rest = next;
        }
    }
    challenges
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn split_token(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !is_tchar(c)).unwrap_or(s.len());
    s.split_at(end)
}

fn split_token68(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(c)))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// A parameter value: a quoted string (unescaped) or a token. Returns it and the rest.
fn parse_value(s: &str) -> (String, &str) {
    if let Some(body) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, &body[i + 1..]),
                _ => value.push(c),
            }
        }
        // An unterminated quote: take everything.
        return (value, "");
    }
    let (token, rest) = split_token(s);
    (token.to_owned(), rest)
}

/// What a token service answers (Docker's token protocol; OAuth2 servers send
/// `access_token`).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub access_token: Option<Secret>,
    /// Seconds the token is valid for; the protocol says 60 when absent.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token to send, and how long to keep it: its lifetime less a tenth (at least a
    /// second), so a token is never sent just as it expires.
    pub fn token_and_lifetime(self) -> Option<(Secret, Duration)> {
        let token = self
            .token
            .filter(|t| !t.expose().is_empty())
            .or(self.access_token.filter(|t| !t.expose().is_empty()))?;
        let lifetime = self.expires_in.unwrap_or(60).max(1);
        let margin = (lifetime / 10).max(1);
        Some((token, Duration::from_secs(lifetime.saturating_sub(margin))))
    }
}

/// Bearer tokens of one registry, keyed by scope, each kept until shortly before expiry.
#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, (Secret, Instant)>>,
}

impl TokenCache {
    pub fn get(&self, scope: &str, now: Instant) -> Option<Secret> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        match tokens.get(scope) {
            Some((token, until)) if now < *until => Some(token.clone()),
            Some(_) => {
                tokens.remove(scope);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, scope: &str, token: Secret, lifetime: Duration, now: Instant) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(scope.to_owned(), (token, now + lifetime));
    }
}

/// Why credentials could not be read from a Docker config file.
#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    #[error("Docker config {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
}

/// The credentials a Docker `config.json` holds for a registry host, from
/// `auths.<host>.auth` (base64 of `user:password`) or its `username`/`password`. Keys may
/// be a bare host or a URL (`https://index.docker.io/v1/`); Docker Hub's hosts match its
/// index key. `None` when the file has nothing for the host.
pub fn docker_config_auth(
    path: &str,
    text: &str,
    host: &str,
) -> Result<Option<OciAuth>, DockerConfigError> {
    let invalid = |message: String| DockerConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    let config: DockerConfig =
        serde_json::from_str(text).map_err(|e| invalid(format!("not a Docker config: {e}")))?;
    let wanted = docker_hosts(host);
    let entry = config.auths.iter().find(|(key, _)| {
        let key_host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        wanted.iter().any(|w| w.eq_ignore_ascii_case(key_host))
    });
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = STANDARD
            .decode(auth.trim())
            .map_err(|_| invalid(format!("auths.{key}.auth is not base64")))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| invalid(format!("auths.{key}.auth is not UTF-8")))?;
        let Some((username, password)) = decoded.split_once(':') else {
            return Err(invalid(format!(
                "auths.{key}.auth does not hold user:password"
            )));
        };
        return Ok(Some(OciAuth::Basic {
            username: username.to_owned(),
            password: Secret::new(password),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) => Ok(Some(OciAuth::Basic {
            username: username.clone(),
            password: password.clone(),
        })),
        _ => Ok(None),
    }
}

/// The config keys a registry host may be stored under.
fn docker_hosts(host: &str) -> Vec<&str> {
    match host {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => {
            vec!["index.docker.io", "docker.io", "registry-1.docker.io"]
        }
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn docker_hub_challenge_is_parsed_with_its_scope() {
        // As registry-1.docker.io sends it for a manifest of library/alpine.
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
        assert_eq!(
            parse_challenges(header),
            vec![Challenge {
                scheme: "Bearer".to_owned(),
                params: params(&[
                    ("realm", "https://auth.docker.io/token"),
                    ("service", "registry.docker.io"),
                    ("scope", "repository:library/alpine:pull"),
                ]),
            }]
        );
    }

    #[test]
    fn commas_and_escapes_inside_quotes_and_several_challenges() {
        let header = r#"Bearer realm="https://ghcr.io/token", service="ghcr.io", scope="repository:org/app:pull,push", error="insufficient_scope", Basic realm="say \"hi\"""#;
        let challenges = parse_challenges(header);
        assert_eq!(challenges.len(), 2, "{challenges:?}");
        assert!(challenges[0].is("bearer"));
        assert_eq!(
            challenges[0].param("scope"),
            Some("repository:org/app:pull,push")
        );
        assert_eq!(challenges[0].param("error"), Some("insufficient_scope"));
        assert!(challenges[1].is("Basic"));
        assert_eq!(challenges[1].param("realm"), Some(r#"say "hi""#));
    }

    #[test]
    fn distribution_basic_challenge_and_token68_and_garbage() {
        // What Distribution's htpasswd auth answers.
        let basic = parse_challenges(r#"Basic realm="Registry Realm""#);
        assert_eq!(basic.len(), 1);
        assert_eq!(basic[0].param("realm"), Some("Registry Realm"));
        let token68 = parse_challenges("Negotiate abc+/def==, Bearer realm=x");
        assert_eq!(token68.len(), 2, "{token68:?}");
        assert!(token68[0].params.is_empty());
        assert_eq!(token68[1].param("realm"), Some("x"));
        // Unterminated quotes and stray characters end the parse without a panic.
        let odd = parse_challenges("Bearer realm=\"https://x/token, ;;; service");
        assert_eq!(odd[0].param("realm"), Some("https://x/token, ;;; service"));
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn token_response_lifetime_and_cache_expiry() {
        // A Docker Hub token response (token shortened).
        let hub: TokenResponse = serde_json::from_str(
            r#"{"token":"eyJhbGciOi.hub","access_token":"eyJhbGciOi.hub","expires_in":300,"issued_at":"2026-12-04T16:00:00.123456789Z"}"#,
        )
        .expect("parses");
        let (token, lifetime) = hub.token_and_lifetime().expect("a token");
        assert_eq!(token.expose(), "eyJhbGciOi.hub");
        assert_eq!(lifetime, Duration::from_secs(270));
        // An OAuth2-style answer with only access_token and no lifetime: 60 s less 6.
        let oauth: TokenResponse =
            serde_json::from_str(r#"{"access_token":"djE6b3JnL2FwcA=="}"#).expect("parses");
        let (token, lifetime) = oauth.token_and_lifetime().expect("a token");
        assert_eq!(token.expose(), "djE6b3JnL2FwcA==");
        assert_eq!(lifetime, Duration::from_secs(54));
        let empty: TokenResponse = serde_json::from_str(r#"{"token":""}"#).expect("parses");
        assert!(empty.token_and_lifetime().is_none());

        let cache = TokenCache::default();
        let start = Instant::now();
        cache.put("repository:a:pull", Secret::new("t1"), lifetime, start);
        assert_eq!(
            cache.get("repository:a:pull", start + Duration::from_secs(53)),
            Some(Secret::new("t1"))
        );
        assert_eq!(cache.get("repository:b:pull", start), None);
        assert_eq!(
            cache.get("repository:a:pull", start + Duration::from_secs(54)),
            None
        );
        assert_eq!(cache.get("repository:a:pull", start), None, "evicted");
    }

    #[test]
    fn docker_config_credentials_by_host() {
        let text = r#"{"auths":{
            "https://index.docker.io/v1/":{"auth":"aHVidXNlcjpodWJwYXNz"},
            "ghcr.io":{"username":"octo","password":"ghp_example"},
            "127.0.0.1:5000":{"auth":"bm9jb2xvbg=="}
        }}"#;
        assert_eq!(
            docker_config_auth("c.json", text, "registry-1.docker.io").expect("valid"),
            Some(OciAuth::Basic {
                username: "hubuser".to_owned(),
                password: Secret::new("hubpass"),
            })
        );
        assert_eq!(
            docker_config_auth("c.json", text, "ghcr.io").expect("valid"),
            Some(OciAuth::Basic {
                username: "octo".to_owned(),
                password: Secret::new("ghp_example"),
            })
        );
        assert_eq!(
            docker_config_auth("c.json", text, "quay.io").expect("valid"),
            None
        );
        let err = docker_config_auth("c.json", text, "127.0.0.1:5000").expect_err("no colon");
        assert!(err.to_string().contains("c.json"), "{err}");
        assert!(
            format!("{:?}", Secret::new("hubpass"))
                .find("hubpass")
                .is_none()
        );
    }
}
