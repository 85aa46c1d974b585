//! Sending the repository_dispatch, with retries inside a time budget. Server errors, rate limits
//! and connection errors are retried with backoff (a rate limit waits as long as GitHub asks, when
//! that fits the budget); 401/403/404/422 are configuration errors that no retry fixes, reported
//! once with what to fix. Either way, a failure means dbt gets a 502 and retries later.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use tokio::time::Instant;

use super::auth::{GitHubClient, Stage};
use super::config::Repository;
use super::payload::DispatchRequest;

/// The first backoff; it doubles per attempt up to [`MAX_BACKOFF`], with jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Not worth starting an attempt with less time than this left.
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// The dispatch was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DispatchError {
    /// GitHub refused it for a reason no retry fixes; `fix` is the log line's advice.
    Refused { status: u16, fix: String },
    /// Still failing when the budget ran out; `last` is the last failure.
    OutOfBudget { attempts: u32, last: String },
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    Retry { why: String, wait: Option<Duration> },
    Refused { status: u16, fix: String },
}

pub(crate) struct Dispatcher {
    client: GitHubClient,
    repository: Repository,
}

impl Dispatcher {
    pub(crate) fn new(client: GitHubClient, repository: Repository) -> Self {
        Self { client, repository }
    }

    /// Sends `request` until GitHub accepts it or `deadline` comes. Returns the number of attempts.
    pub(crate) async fn dispatch(
        &self,
        request: &DispatchRequest,
        deadline: Instant,
    ) -> Result<u32, DispatchError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match tokio::time::timeout_at(deadline, self.attempt(request)).await {
                Ok(Ok(())) => return Ok(attempts),
                Ok(Err(failure)) => failure,
                Err(_) => {
                    let last = "GitHub did not answer within the time budget".to_owned();
                    return Err(DispatchError::OutOfBudget { attempts, last });
                }
            };
            let (why, wait) = match failure {
                Failure::Refused { status, fix } => {
                    return Err(DispatchError::Refused { status, fix });
                }
                Failure::Retry { why, wait } => (why, wait),
            };
            let asked = wait.is_some();
            let wait = wait.unwrap_or_else(|| backoff(attempts));
            let left = deadline.saturating_duration_since(Instant::now());
            if wait + MIN_ATTEMPT > left {
                let last = if asked {
                    format!("{why}; GitHub asked to wait {}s", wait.as_secs())
                } else {
                    why
                };
                return Err(DispatchError::OutOfBudget { attempts, last });
            }
            tracing::warn!(
                attempt = attempts,
                retry_in_ms = wait.as_millis() as u64,
                "dispatch not accepted yet: {why}"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One `GET /repos/{owner}/{repo}` with the credential the dispatches use (for an App, after
    /// finding its installation and minting a token): the start-up check. No retry; a failure
    /// GitHub may get over is a [`Failure::Retry`].
    pub(crate) async fn check_repository(&self) -> Result<(), Failure> {
        let crab = self
            .client
            .client()
            .await
            .map_err(|(stage, err)| self.classify(stage, &err))?;
        let Repository { owner, name } = &self.repository;
        let response = crab
            ._get(format!("/repos/{owner}/{name}"))
            .await
            .map_err(|err| self.classify(Stage::Repository, &err))?;
        // A 2xx passes through as it is; anything else becomes GitHub's error.
        octocrab::map_github_error(response)
            .await
            .map(drop)
            .map_err(|err| self.classify(Stage::Repository, &err))
    }

    async fn attempt(&self, request: &DispatchRequest) -> Result<(), Failure> {
        let crab = self
            .client
            .client()
            .await
            .map_err(|(stage, err)| self.classify(stage, &err))?;
        let Repository { owner, name } = &self.repository;
        // `_post` rather than `dispatches().create(..).send()`: that builder panics (`unwrap_err`)
        // when GitHub answers a 2xx other than 204, and release builds abort on panic. Any 2xx
        // means GitHub accepted the event.
        let response = crab
            ._post(format!("/repos/{owner}/{name}/dispatches"), Some(request))
            .await
            .map_err(|err| self.classify(Stage::Dispatch, &err))?;
        // A 2xx passes through as it is; anything else becomes GitHub's error.
        octocrab::map_github_error(response)
            .await
            .map(drop)
            .map_err(|err| self.classify(Stage::Dispatch, &err))
    }

    /// Sorts an error into retry or refusal, with words for the log. Nothing from the request (the
    /// token, the payload) is in them; GitHub's own message is shown shortened.
    fn classify(&self, stage: Stage, err: &octocrab::Error) -> Failure {
        let octocrab::Error::GitHub { source, .. } = err else {
            return match err {
                octocrab::Error::JWT { .. } => Failure::Refused {
                    status: 0,
                    fix: "the GitHub App private key cannot sign a token: check \
                          GITHUB_APP_PRIVATE_KEY"
                        .into(),
                },
                // Connection refused or reset, timeouts, TLS.
                octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => Failure::Retry {
                    why: format!("cannot reach GitHub ({})", transport_summary(err)),
                    wait: None,
                },
                // An answer that does not parse. Its text is not shown: a serde message can quote
                // the answer, and the installation-token answer holds a token.
                _ => Failure::Retry {
                    why: "GitHub's answer could not be read".into(),
                    wait: None,
                },
            };
        };
        let status = source.status_code;
        let headers = source.headers.clone().unwrap_or_default();
        let message = crate::dbt::decision::printable(&source.message);
        let hint = wait_hint(&headers, chrono::Utc::now().timestamp());
        let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN
                && (hint.is_some() || message.to_ascii_lowercase().contains("rate limit")));
        if rate_limited {
            return Failure::Retry {
                why: match news(status, &message) {
                    Some(message) => format!("GitHub rate limit ({status}: {message})"),
                    None => format!("GitHub rate limit ({status})"),
                },
                wait: hint,
            };
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Failure::Retry {
                why: format!("GitHub answered {status}"),
                wait: hint,
            };
        }
        Failure::Refused {
            status: status.as_u16(),
            fix: advice(
                stage,
                status,
                &message,
                &self.repository,
                self.client.is_app(),
            ),
        }
    }
}

/// GitHub's message when it adds to the status: `404 Not Found (Not Found)` says it twice, so a
/// message that only repeats the status's name (or is empty) is left out.
fn news(status: StatusCode, message: &str) -> Option<&str> {
    let words = message.trim().trim_end_matches('.');
    let repeats = status
        .canonical_reason()
        .is_some_and(|name| name.eq_ignore_ascii_case(words));
    (!words.is_empty() && !repeats).then_some(message)
}

/// What to fix for a refusal, by step and status.
fn advice(stage: Stage, status: StatusCode, message: &str, repo: &Repository, app: bool) -> String {
    let said = match news(status, message) {
        Some(message) => format!("GitHub answered {status} ({message})"),
        None => format!("GitHub answered {status}"),
    };
    match (stage, status.as_u16()) {
        (Stage::FindInstallation, 404) => format!(
            "{said} looking for the GitHub App's installation on {repo}: install the App on that \
             repository, or set GITHUB_APP_INSTALLATION_ID"
        ),
        (Stage::FindInstallation | Stage::InstallationToken, 401) => format!(
            "{said} for the GitHub App's token: check GITHUB_APP_ID and that \
             GITHUB_APP_PRIVATE_KEY is a current key of that App (and the relay's clock)"
        ),
        (Stage::InstallationToken, 404) => format!(
            "{said} for the installation: check GITHUB_APP_INSTALLATION_ID, or unset it to look \
             it up"
        ),
        (Stage::InstallationToken, 422) => format!(
            "{said}: the GitHub App installation cannot reach {repo}; add the repository to the \
             installation"
        ),
        (Stage::FindInstallation | Stage::InstallationToken, _) => {
            format!("{said} for the GitHub App's installation token on {repo}")
        }
        (Stage::Dispatch, 401) if app => format!(
            "{said}: the installation token was refused; check the App's installation on {repo}"
        ),
        (Stage::Dispatch, 401) => {
            format!("{said}: GITHUB_TOKEN is wrong, expired or revoked; create a new one")
        }
        (Stage::Dispatch, 403) if app => format!(
            "{said}: give the GitHub App the repository permission Contents: read & write, and \
             accept the new permission on the installation"
        ),
        (Stage::Dispatch, 403) => format!(
            "{said}: the token may not dispatch to {repo}; a fine-grained token needs Contents: \
             read & write on it, a classic one the repo scope"
        ),
        (Stage::Dispatch, 404) => format!(
            "{said}: check the repository name {repo} (GITHUB_REPOSITORY), and that the token \
             can see it (a fine-grained token must list it)"
        ),
        (Stage::Dispatch, 422) => format!(
            "{said}: GitHub refused the dispatch as invalid (event_type over 100 characters, or \
             client_payload over 10 properties or 65 535 characters)"
        ),
        (Stage::Dispatch, _) => format!("{said} for the dispatch to {repo}"),
        (Stage::Repository, 401) if app => format!(
            "{said} reading {repo} with the GitHub App's installation token: check the App's \
             installation on {repo}"
        ),
        (Stage::Repository, 401) => format!(
            "{said} reading {repo}: GITHUB_TOKEN is wrong, expired or revoked; create a new one \
             (fine-grained: Contents read & write on {repo}; classic: the repo scope)"
        ),
        (Stage::Repository, 403) if app => format!(
            "{said} reading {repo}: give the GitHub App the repository permissions Contents: read \
             & write and Metadata: read, and accept them on the installation"
        ),
        (Stage::Repository, 403) => format!(
            "{said} reading {repo}: GITHUB_TOKEN may not use it; a fine-grained token needs \
             access to {repo} with Contents: read & write (Metadata: read comes with it), a \
             classic one the repo scope; an organisation may also have to approve the \
             fine-grained token, or authorise the classic one for SAML SSO"
        ),
        (Stage::Repository, 404) if app => format!(
            "{said}: the GitHub App's installation cannot see {repo}; check GITHUB_REPOSITORY and \
             add the repository to the installation"
        ),
        (Stage::Repository, 404) => format!(
            "{said}: GITHUB_TOKEN cannot see {repo}; check GITHUB_REPOSITORY (--repository), and \
             that the token can see it (a fine-grained token must list it and belong to its \
             owner; a classic one needs the repo scope for a private repository)"
        ),
        (Stage::Repository, _) => format!("{said} reading {repo}"),
    }
}

/// How long GitHub asked to wait: `Retry-After` seconds, else the `x-ratelimit-reset` time when
/// `x-ratelimit-remaining` is 0.
fn wait_hint(headers: &HeaderMap, now_epoch_s: i64) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if header("x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())
    {
        let seconds = reset.saturating_sub(now_epoch_s).max(0).unsigned_abs();
        // The reset is a whole second; waiting one more makes sure it has passed.
        return Some(Duration::from_secs(seconds + 1));
    }
    None
}

/// Exponential backoff with ±25 % jitter, so that replicas retrying together spread out.
fn backoff(attempt: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let base = doubled.min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => f64::from(byte[0]) / 255.0 * 0.5 - 0.25,
        Err(_) => 0.0,
    };
    base.mul_f64(1.0 + jitter)
}

/// A short description of a transport error: its innermost cause (connection refused, timed out),
/// which names the failure, never a header or a body.
fn transport_summary(err: &octocrab::Error) -> String {
    use std::error::Error as _;
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text = inner.to_string();
        source = inner.source();
    }
    crate::dbt::decision::printable(&text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_github_message_that_repeats_the_status_is_not_repeated() {
        use super::{StatusCode, news};
        assert_eq!(news(StatusCode::NOT_FOUND, "Not Found"), None);
        assert_eq!(news(StatusCode::UNAUTHORIZED, "unauthorized."), None);
        assert_eq!(news(StatusCode::UNAUTHORIZED, " "), None);
        assert_eq!(
            news(StatusCode::UNAUTHORIZED, "Bad credentials"),
            Some("Bad credentials")
        );
    }

    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn rate_limit_headers_say_how_long_to_wait() {
        assert_eq!(
            wait_hint(&headers(&[("retry-after", "3")]), 0),
            Some(Duration::from_secs(3))
        );
        let reset = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1005"),
        ]);
        assert_eq!(wait_hint(&reset, 1_000), Some(Duration::from_secs(6)));
        assert_eq!(wait_hint(&reset, 2_000), Some(Duration::from_secs(1)));
        let not_exhausted = headers(&[
            ("x-ratelimit-remaining", "12"),
            ("x-ratelimit-reset", "1005"),
        ]);
        assert_eq!(wait_hint(&not_exhausted, 1_000), None);
        assert_eq!(wait_hint(&headers(&[("retry-after", "soon")]), 0), None);
    }

    #[test]
    fn backoff_grows_to_a_cap_with_jitter() {
        for attempt in 1..=20 {
            let wait = backoff(attempt);
            let base = FIRST_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(10))
                .min(MAX_BACKOFF);
            assert!(
                wait >= base.mul_f64(0.74) && wait <= base.mul_f64(1.26),
                "{attempt}: {wait:?}"
            );
        }
        assert!(backoff(30) <= MAX_BACKOFF.mul_f64(1.26));
    }

    #[test]
    fn advice_names_what_to_fix() {
        let repo = Repository {
            owner: "acme".into(),
            name: "data".into(),
        };
        let say = |stage, status: u16, app| {
            advice(
                stage,
                StatusCode::from_u16(status).expect("status"),
                "msg",
                &repo,
                app,
            )
        };
        assert!(say(Stage::Dispatch, 401, false).contains("GITHUB_TOKEN"));
        assert!(say(Stage::Dispatch, 403, false).contains("Contents: read & write"));
        assert!(say(Stage::Dispatch, 404, false).contains("acme/data"));
        assert!(say(Stage::Dispatch, 422, false).contains("65 535"));
        assert!(say(Stage::FindInstallation, 404, true).contains("install the App"));
        assert!(say(Stage::InstallationToken, 401, true).contains("GITHUB_APP_ID"));
        assert!(say(Stage::InstallationToken, 422, true).contains("add the repository"));
        assert!(say(Stage::Repository, 401, false).contains("GITHUB_TOKEN is wrong"));
        assert!(say(Stage::Repository, 403, false).contains("Contents: read & write"));
        assert!(say(Stage::Repository, 403, true).contains("Contents: read & write"));
        assert!(say(Stage::Repository, 404, false).contains("GITHUB_REPOSITORY"));
        assert!(say(Stage::Repository, 404, true).contains("add the repository"));
    }
}
