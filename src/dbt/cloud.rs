//! The dbt Cloud Administrative API v2, as far as target selection needs it: Get Run with its
//! steps, and one run artifact of one step. Token auth (`Authorization: Token …`), retries on
//! 429/5xx/connection errors for these read-only calls, and errors that say what to fix.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::http_text::{parse_retry_after, transport_message};
use crate::secret::Secret;

/// Attempts per call (the first plus retries).
const ATTEMPTS: u32 = 3;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Why a dbt Cloud call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// 401: the token is wrong, expired, or sent to another host.
    #[error(
        "dbt Cloud refused the token (HTTP 401{0}): set DBT_CLOUD_API_TOKEN (input \
         dbt-cloud-api-token) to a service token or personal access token of this account, and \
         DBT_CLOUD_URL to the account's host (e.g. https://emea.dbt.com, or the Access URL of \
         the account)"
    )]
    Unauthorized(String),
    /// 403: the token lacks a permission.
    #[error(
        "dbt Cloud denied {what} (HTTP 403{detail}): the token needs read access to the job's \
         runs and artifacts: on Enterprise plans a service token with the Job Viewer permission \
         set (or Job Admin) on this project; on legacy Team plans Read-Only or Job Admin; on \
         Starter and Developer plans a personal access token (their service tokens carry only \
         Semantic Layer permissions) of a user who can see the job"
    )]
    Forbidden { what: String, detail: String },
    /// 404.
    #[error("dbt Cloud has no {0}")]
    NotFound(String),
    #[error("dbt Cloud answered HTTP {status} for {what}{detail}")]
    Http {
        status: u16,
        what: String,
        detail: String,
    },
    #[error("could not reach dbt Cloud for {what}: {message}")]
    Transport { what: String, message: String },
    #[error("dbt Cloud's answer for {what} is not what the API documents: {message}")]
    Decode { what: String, message: String },
}

/// A run, with the fields used.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Run {
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(default)]
    pub artifacts_saved: Option<bool>,
    #[serde(default)]
    pub has_docs_generated: Option<bool>,
    #[serde(default)]
    pub run_steps: Vec<RunStep>,
}

/// One step of a run (`run_steps` of `include_related`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunStep {
    #[serde(default)]
    pub index: Option<i64>,
    /// e.g. "Invoke dbt with `dbt build`".
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<i64>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
}

#[derive(Deserialize)]
struct StatusEnvelope {
    status: Option<StatusBlock>,
}

#[derive(Deserialize)]
struct StatusBlock {
    #[serde(default)]
    user_message: Option<String>,
}

/// A dbt Cloud API client for one host and token.
pub struct CloudClient {
    client: reqwest::Client,
    base: Url,
    token: Secret,
    requests: AtomicU64,
}

impl CloudClient {
    /// `base` is `DBT_CLOUD_URL` (`https://cloud.getdbt.com`, a regional host, or an Access URL).
    pub fn new(base: Url, token: Secret) -> Result<Self, CloudError> {
        crate::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .user_agent(concat!("dbt-tableau-refresh/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            // Manifests of large projects are 10–100 MB.
            .timeout(Duration::from_secs(180))
            .build()
            .map_err(|err| CloudError::Transport {
                what: "the HTTP client".into(),
                message: err.to_string(),
            })?;
        Ok(Self {
            client,
            base,
            token,
            requests: AtomicU64::new(0),
        })
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Get Run with its steps.
    pub async fn run(&self, account: &str, run: &str) -> Result<Run, CloudError> {
        let what = format!("run {run} of account {account}");
        let url = self.url(account, run, &[], &what)?;
        let mut url = url;
        url.query_pairs_mut()
            .append_pair("include_related", r#"["run_steps"]"#);
        let body = self.get(&url, &what).await?;
        let envelope: Envelope<Run> =
            serde_json::from_slice(&body).map_err(|err| CloudError::Decode {
                what: what.clone(),
                message: short(&err),
            })?;
        envelope.data.ok_or_else(|| CloudError::Decode {
            what,
            message: "no `data`".into(),
        })
    }

    /// One artifact (`manifest.json`, `run_results.json`) of `step` (1 = first; `None` = the
    /// last step).
    pub async fn artifact(
        &self,
        account: &str,
        run: &str,
        name: &str,
        step: Option<u32>,
    ) -> Result<Vec<u8>, CloudError> {
        let what = match step {
            Some(step) => format!("{name} for step {step} of run {run}"),
            None => format!("{name} for run {run}"),
        };
        let mut url = self.url(account, run, &["artifacts", name], &what)?;
        if let Some(step) = step {
            url.query_pairs_mut().append_pair("step", &step.to_string());
        }
        self.get(&url, &what).await
    }

    /// `{base}/api/v2/accounts/{account}/runs/{run}/…` with a trailing slash, as dbt documents.
    fn url(&self, account: &str, run: &str, rest: &[&str], what: &str) -> Result<Url, CloudError> {
        for id in [account, run] {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(CloudError::Decode {
                    what: what.to_string(),
                    message: "the event's account and run ids must be numbers".into(),
                });
            }
        }
        let mut url = self.base.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|()| CloudError::Decode {
                what: what.to_string(),
                message: "DBT_CLOUD_URL cannot be a base URL".into(),
            })?;
            segments.pop_if_empty();
            segments.extend(["api", "v2", "accounts", account, "runs", run]);
            segments.extend(rest);
            if rest.is_empty() {
                segments.push("");
            }
        }
        Ok(url)
    }

    async fn get(&self, url: &Url, what: &str) -> Result<Vec<u8>, CloudError> {
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let (result, wait) = self.get_once(url, what).await;
            match result {
                Err(err) if attempt < ATTEMPTS && wait.is_some() => {
                    tracing::debug!(%err, "dbt Cloud: retrying");
                    tokio::time::sleep(wait.unwrap_or_default()).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// One try; the delay is `Some` when the failure is worth retrying.
    async fn get_once(
        &self,
        url: &Url,
        what: &str,
    ) -> (Result<Vec<u8>, CloudError>, Option<Duration>) {
        let backoff = Duration::from_millis(500);
        let mut value = match HeaderValue::from_str(&format!("Token {}", self.token.expose())) {
            Ok(value) => value,
            Err(_) => {
                return (
                    Err(CloudError::Unauthorized(
                        ": the token holds characters a header cannot carry".into(),
                    )),
                    None,
                );
            }
        };
        value.set_sensitive(true);
        let response = match self
            .client
            .get(url.clone())
            .header(AUTHORIZATION, value)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => {
                return (
                    Err(CloudError::Transport {
                        what: what.to_string(),
                        message: transport_message(&err),
                    }),
                    Some(backoff),
                );
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after)
            .map(|wait| wait.min(MAX_RETRY_AFTER));
        let body = match read_body(response).await {
            Ok(body) => body,
            Err(err) => {
                return (
                    Err(CloudError::Transport {
                        what: what.to_string(),
                        message: format!("the answer was cut off ({})", transport_message(&err)),
                    }),
                    Some(backoff),
                );
            }
        };
        if status.is_success() {
            return (Ok(body), None);
        }
        let detail = user_message(&body)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        let error = match status {
            StatusCode::UNAUTHORIZED => CloudError::Unauthorized(detail),
            StatusCode::FORBIDDEN => CloudError::Forbidden {
                what: what.to_string(),
                detail,
            },
            StatusCode::NOT_FOUND => CloudError::NotFound(what.to_string()),
            _ => CloudError::Http {
                status: status.as_u16(),
                what: what.to_string(),
                detail,
            },
        };
        let retry = (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
            .then(|| retry_after.unwrap_or(backoff));
        (Err(error), retry)
    }
}

/// The whole body, chunk by chunk into one buffer sized from `Content-Length`. `bytes()` gathers
/// the chunks then copies them into one, and a `Vec` of that is another copy: a 100 MB manifest
/// peaked at 272 MiB that way, at 136 MiB this way (docs/BENCHMARKS.md §6).
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    // Content-Length is the server's word: reserving is free until written, but stay sane.
    let expected = response.content_length().unwrap_or(0).min(1 << 29);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// dbt's `status.user_message`, printable and short. It is dbt's text, not ours: it goes through
/// the console's sanitising path like everything else.
fn user_message(body: &[u8]) -> Option<String> {
    let envelope: StatusEnvelope = serde_json::from_slice(body).ok()?;
    let message = envelope.status?.user_message?;
    let message: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    (!message.trim().is_empty()).then_some(message)
}

fn short(err: &serde_json::Error) -> String {
    format!(
        "{:?} at line {} column {}",
        err.classify(),
        err.line(),
        err.column()
    )
}

/// Whether a step's name says it ran a command that builds nodes. dbt Cloud names steps
/// "Invoke dbt with `dbt build …`".
pub fn step_builds(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "dbt build",
        "dbt run",
        "dbt seed",
        "dbt snapshot",
        "dbt retry",
    ]
    .iter()
    .any(|command| {
        lower.match_indices(command).any(|(at, _)| {
            let next = lower[at + command.len()..].chars().next();
            // `dbt run` but not `dbt run-operation`.
            !matches!(next, Some(c) if c.is_alphanumeric() || c == '-' || c == '_')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_documented_paths() {
        let client = CloudClient::new(
            Url::parse("https://emea.dbt.com/").expect("url"),
            Secret::new("t"),
        )
        .expect("client");
        let url = client.url("51798", "318", &[], "x").expect("url");
        assert_eq!(
            url.as_str(),
            "https://emea.dbt.com/api/v2/accounts/51798/runs/318/"
        );
        let url = client
            .url("51798", "318", &["artifacts", "run_results.json"], "x")
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://emea.dbt.com/api/v2/accounts/51798/runs/318/artifacts/run_results.json"
        );
        assert!(client.url("51798", "../x", &[], "x").is_err());
    }

    #[test]
    fn building_steps_are_told_apart_by_name() {
        assert!(step_builds(
            "Invoke dbt with `dbt build --select tag:nightly`"
        ));
        assert!(step_builds("Invoke dbt with `dbt run`"));
        assert!(step_builds("Invoke dbt with `dbt seed`"));
        assert!(!step_builds("Invoke dbt with `dbt docs generate`"));
        assert!(!step_builds("Invoke dbt with `dbt run-operation grant`"));
        assert!(!step_builds("Clone git repository"));
    }
}
