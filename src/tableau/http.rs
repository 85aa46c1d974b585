//! The HTTP transport to Tableau: one reqwest client, JSON headers, and the retry rules.
//!
//! Safe calls (GETs, sign-in, sign-out) are retried on 429 (honouring `Retry-After`), 5xx and
//! transport errors with capped exponential backoff. A 429 asking for a longer wait than
//! `max_retry_after`, or a refresh POST throttled with `429000` and no wait given, is not retried:
//! Tableau Cloud's hourly caps do not heal within a run. A refresh POST is retried only when we know
//! Tableau did not act on it: a 429 throttle answer or a connection that was never made. A lost
//! answer to a sent POST is not retried, since a second POST would meet our own job as 409093.
//! What cannot heal is never retried: a refused TLS handshake (untrusted certificate, a plain-http
//! server behind an https address) or a name that does not resolve fails at once, naming the host
//! and what to check.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};

use super::error::{ApiError, TableauError, code};
use crate::actions::Console;
use crate::http_text::{parse_retry_after, transport_message};
use crate::secret::Secret;

/// How a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Repeating the call is harmless.
    Safe,
    /// Repeat only when the call surely did not take effect.
    OnlyIfNotActedOn,
}

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// Longest `Retry-After` we wait for; a 429 asking for longer is not retried.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A successful (or redirect) answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, TableauError> {
        serde_json::from_slice(&self.body).map_err(|err| {
            TableauError::Decode(format!(
                "{what}: {} (HTTP {})",
                short_json_error(&err),
                self.status
            ))
        })
    }
}

/// The client plus counters shown in the summary.
pub struct Transport {
    client: reqwest::Client,
    policy: RetryPolicy,
    console: Console,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl Transport {
    /// `extra_roots` are trusted besides the operating system's roots (a private CA of a
    /// self-hosted Tableau Server). Certificate checks cannot be turned off.
    pub fn new(
        console: Console,
        policy: RetryPolicy,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Self, TableauError> {
        Self::with_overrides(console, policy, extra_roots, &[])
    }

    /// Like [`Transport::new`], with names that connect to fixed addresses instead of DNS: for
    /// the simulator playing Tableau Cloud on loopback only (see `refresh::config`). The name is
    /// still what the certificate must match, so this changes where to connect, never whom to
    /// trust.
    pub fn with_overrides(
        console: Console,
        policy: RetryPolicy,
        extra_roots: &[reqwest::Certificate],
        resolve: &[(String, SocketAddr)],
    ) -> Result<Self, TableauError> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder();
        for (name, addr) in resolve {
            builder = builder.resolve(name, *addr);
        }
        let client = builder
            .tls_certs_merge(extra_roots.iter().cloned())
            .user_agent(concat!("dbt-tableau-refresh/", env!("CARGO_PKG_VERSION")))
            // Sign-in redirects are handled by hand: a redirected POST must stay a POST.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|err| {
                TableauError::Transport(format!("cannot build the HTTP client: {err}"))
            })?;
        Ok(Self {
            client,
            policy,
            console,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Sends a request, retrying as `retry` allows. Answers below 400 are returned; others become
    /// `TableauError::Api`.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        token: Option<&Secret>,
        body: Option<&str>,
        retry: Retry,
    ) -> Result<Response, TableauError> {
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.send_once(method.clone(), url, token, body).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let Some(wait) = self.retry_delay(&failure, retry, attempt) else {
                return Err(failure.into_error());
            };
            self.console.info(&format!(
                "  Tableau: {} for {method} {}; retrying in {} (attempt {} of {})",
                failure.describe(),
                url.path(),
                crate::duration::format_short(wait),
                attempt + 1,
                self.policy.attempts
            ));
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        token: Option<&Secret>,
        body: Option<&str>,
    ) -> Result<Response, Failure> {
        let mut request = self
            .client
            .request(method, url.clone())
            .header(ACCEPT, "application/json");
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                Failure::Refused("the session token is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            request = request.header("X-Tableau-Auth", value);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|err| {
            if let Some(message) = permanent_failure(&err, url) {
                return Failure::Permanent(message);
            }
            Failure::Transport {
                message: transport_message(&err),
                unsent: err.is_connect(),
            }
        })?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE);
        let retry_after = header(RETRY_AFTER);
        let location = header(reqwest::header::LOCATION);
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::Transport {
                message: format!("the answer was cut off ({})", transport_message(&err)),
                unsent: false,
            })?
            .to_vec();
        if status >= 400 {
            return Err(Failure::Status {
                error: ApiError::from_response(status, content_type.as_deref(), &body),
                retry_after,
            });
        }
        Ok(Response {
            status,
            location,
            content_type,
            body,
        })
    }

    /// How long to wait before the next attempt, or `None` to give up.
    fn retry_delay(&self, failure: &Failure, retry: Retry, attempt: u32) -> Option<Duration> {
        if attempt >= self.policy.attempts {
            return None;
        }
        let backoff = self
            .policy
            .base
            .saturating_mul(2u32.saturating_pow(attempt - 1))
            .min(self.policy.cap);
        match failure {
            Failure::Refused(_) | Failure::Permanent(_) => None,
            Failure::Transport { unsent, .. } => {
                (retry == Retry::Safe || *unsent).then_some(backoff)
            }
            Failure::Status { error, retry_after } => {
                let throttled = error.status == 429;
                let server_error = matches!(error.status, 500 | 502 | 503 | 504);
                let allowed = throttled || (server_error && retry == Retry::Safe);
                if !allowed {
                    return None;
                }
                let hinted = retry_after.as_deref().and_then(parse_retry_after);
                if throttled {
                    // Tableau Cloud's hourly caps answer `429000` and may ask for half an hour
                    // (TSC #952): waiting that out, or repeating a refresh without a word on when,
                    // only burns the run. The caller says "throttled" instead.
                    let long = hinted.is_some_and(|wait| wait > self.policy.max_retry_after);
                    let unhinted_refresh = hinted.is_none()
                        && retry == Retry::OnlyIfNotActedOn
                        && error.has_code(code::THROTTLED);
                    if long || unhinted_refresh {
                        return None;
                    }
                }
                Some(hinted.unwrap_or(backoff))
            }
        }
    }
}

/// One failed attempt.
enum Failure {
    Status {
        error: ApiError,
        retry_after: Option<String>,
    },
    Transport {
        message: String,
        /// The request never left (connection refused, DNS): safe to repeat even a POST.
        unsent: bool,
    },
    Refused(String),
    /// A failure that repeating cannot heal: the TLS handshake was refused, or the name does not
    /// resolve. The message names the host and what to check.
    Permanent(String),
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::Status { error, .. } => error.to_string(),
            Failure::Transport { message, .. } => format!("no answer ({message})"),
            Failure::Refused(message) | Failure::Permanent(message) => message.clone(),
        }
    }

    fn into_error(self) -> TableauError {
        match self {
            Failure::Status { error, .. } => TableauError::Api(error),
            Failure::Transport { message, .. } => TableauError::Transport(message),
            Failure::Refused(message) => TableauError::Refused(message),
            Failure::Permanent(message) => TableauError::Transport(message),
        }
    }
}

/// A message for a failure that repeating cannot heal, or `None` if it may be transient.
fn permanent_failure(err: &reqwest::Error, url: &Url) -> Option<String> {
    let host = url.host_str().unwrap_or("?");
    let address = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    if let Some(tls) = rustls_error(err) {
        // Not transient: repeating the handshake gives the same verdict.
        return Some(match tls {
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                format!(
                    "{address}: the TLS certificate was refused ({tls}); for a private \
                     certificate authority, pass it with {}",
                    crate::inputs::Naming::from_env().of(&crate::inputs::CA_CERT)
                )
            }
            rustls::Error::InvalidMessage(_) => format!(
                "{address} did not answer in TLS ({tls}): is it a plain-http server, or the \
                 wrong port? Check the scheme and port of {}",
                super::address::site_url()
            ),
            other => format!(
                "the TLS handshake with {address} failed ({other}); check {} and that the server \
                 accepts TLS 1.2 or 1.3",
                super::address::site_url()
            ),
        });
    }
    if is_dns_error(err) {
        return Some(format!(
            "the name {host} does not resolve ({}); check {} for a typo, and that \
             this runner can see the host (a Tableau Server on a private network needs a \
             self-hosted runner inside it)",
            transport_message(err),
            super::address::site_url()
        ));
    }
    None
}

/// The rustls error somewhere in the error's chain. It sits inside `io::Error`s (nested), whose
/// `source` skips their payload, so each payload is opened as well.
fn rustls_error(err: &reqwest::Error) -> Option<&rustls::Error> {
    use std::error::Error;
    let mut cause: Option<&(dyn Error + 'static)> = err.source();
    while let Some(inner) = cause {
        if let Some(rustls_error) = inner.downcast_ref::<rustls::Error>() {
            return Some(rustls_error);
        }
        cause = match inner.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|payload| payload as &(dyn Error + 'static)),
            None => inner.source(),
        };
    }
    None
}

/// Whether the name lookup failed: hyper-util's connector reports it as a `dns error` whose
/// source is the resolver's.
fn is_dns_error(err: &reqwest::Error) -> bool {
    use std::error::Error;
    if !err.is_connect() {
        return false;
    }
    let mut cause: Option<&(dyn Error + 'static)> = err.source();
    while let Some(inner) = cause {
        if inner.to_string().starts_with("dns error") {
            return true;
        }
        cause = inner.source();
    }
    false
}

fn short_json_error(err: &serde_json::Error) -> String {
    format!(
        "not the expected JSON at line {} column {}",
        err.line(),
        err.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> Transport {
        Transport::new(Console::plain(), RetryPolicy::default(), &[]).expect("client")
    }

    fn status(status: u16, retry_after: Option<&str>) -> Failure {
        Failure::Status {
            error: ApiError::from_response(status, None, b""),
            retry_after: retry_after.map(str::to_string),
        }
    }

    #[test]
    fn safe_calls_retry_on_throttle_server_errors_and_transport() {
        let t = transport();
        assert_eq!(
            t.retry_delay(&status(503, None), Retry::Safe, 1),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            t.retry_delay(&status(500, None), Retry::Safe, 3),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            t.retry_delay(&status(429, Some("7")), Retry::Safe, 1),
            Some(Duration::from_secs(7))
        );
        // A wait longer than `max_retry_after` is not waited for.
        assert_eq!(
            t.retry_delay(&status(429, Some("1800")), Retry::Safe, 1),
            None
        );
        assert_eq!(
            t.retry_delay(&status(429, Some("60")), Retry::Safe, 1),
            Some(Duration::from_secs(60))
        );
        let lost = Failure::Transport {
            message: "reset".into(),
            unsent: false,
        };
        assert!(t.retry_delay(&lost, Retry::Safe, 1).is_some());
        assert_eq!(t.retry_delay(&status(503, None), Retry::Safe, 5), None);
        assert_eq!(t.retry_delay(&status(400, None), Retry::Safe, 1), None);
        assert_eq!(t.retry_delay(&status(401, None), Retry::Safe, 1), None);
    }

    #[test]
    fn a_refresh_post_is_repeated_only_when_it_surely_did_nothing() {
        let t = transport();
        let r = Retry::OnlyIfNotActedOn;
        assert!(t.retry_delay(&status(429, None), r, 1).is_some());
        assert_eq!(t.retry_delay(&status(503, None), r, 1), None);
        let lost = Failure::Transport {
            message: "reset".into(),
            unsent: false,
        };
        assert_eq!(t.retry_delay(&lost, r, 1), None);
        let refused = Failure::Transport {
            message: "refused".into(),
            unsent: true,
        };
        assert!(t.retry_delay(&refused, r, 1).is_some());
    }

    #[test]
    fn a_cloud_throttle_on_a_refresh_without_a_short_wait_is_not_repeated() {
        let t = transport();
        let throttled = |retry_after: Option<&str>| {
            Failure::Status {
            error: ApiError::from_response(
                429,
                Some("application/json"),
                br#"{"error":{"code":"429000","summary":"Too Many Requests","detail":"Please retry after 29 minutes"}}"#,
            ),
            retry_after: retry_after.map(str::to_string),
        }
        };
        let r = Retry::OnlyIfNotActedOn;
        assert_eq!(t.retry_delay(&throttled(None), r, 1), None);
        assert_eq!(t.retry_delay(&throttled(Some("1740")), r, 1), None);
        assert_eq!(
            t.retry_delay(&throttled(Some("2")), r, 1),
            Some(Duration::from_secs(2))
        );
        // A read without a hint backs off as before.
        assert!(t.retry_delay(&throttled(None), Retry::Safe, 1).is_some());
    }
}
