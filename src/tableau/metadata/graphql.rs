//! One Metadata API request: `POST {server}/api/metadata/graphql` with the REST session's token,
//! the answer's `data`, and its `errors[]` (which come with HTTP 200, with or without `data`)
//! sorted into what stops the step, what a smaller request may avoid, what waiting may heal,
//! and warnings (results may be incomplete).
//!
//! Tableau documents the error names (Metadata API "Common Errors"); where it puts them is
//! `errors[].extensions.code` (with `extensions.severity`), as the Metadata API answers and
//! DataHub's client reads them. A code found in `errors[].code` or only in the message is
//! read too.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::tableau::{Session, TableauError};

/// Why the Metadata API gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// `FEATURE_DISABLED`: Tableau Server without metadata services.
    #[error(
        "the Tableau Metadata API is not enabled on this server ({0}). A Tableau Server \
         administrator enables it with `tsm maintenance metadata-services enable` (Tableau Cloud \
         has it on); until then use select: listed or exposures"
    )]
    FeatureDisabled(String),
    /// `NODE_LIMIT_EXCEEDED` / `TIME_LIMIT_EXCEEDED`: the request must be made smaller.
    #[error("the Metadata API query was too large even when split ({0})")]
    TooLarge(String),
    /// `RATE_EXCEEDED` (or HTTP 429) after the bounded retries.
    #[error("the Metadata API kept refusing for its rate limit ({0}); run again later")]
    RateExceeded(String),
    /// `ACCESS_DENIED`, `FILTER_REQUIRED`, HTTP 401/403.
    #[error(
        "the Metadata API refused this session ({0}). Lineage needs the Metadata API for the \
         signed-in user (a connected app also needs the scope tableau:content:read)"
    )]
    AccessDenied(String),
    #[error("the Metadata API failed: {0}")]
    Failed(String),
}

/// How RATE_EXCEEDED is waited out: `attempts` tries in all, waits doubling from `base`, and a
/// wait the answer asks for honoured up to `max_wait`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub base: Duration,
    pub max_wait: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// Sends Metadata API queries over a signed-in session, counting them and gathering warnings.
pub struct Client<'s, 't> {
    session: &'s Session<'t>,
    backoff: Backoff,
    requests: AtomicUsize,
    warnings: Mutex<Vec<String>>,
}

/// What one answer's `errors[]` amount to.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Data(Value),
    RateExceeded {
        message: String,
        wait: Option<Duration>,
    },
    Error(MetadataError),
    /// Split the request (or ask for smaller pages) and try again.
    TooLarge(String),
}

impl<'s, 't> Client<'s, 't> {
    pub fn new(session: &'s Session<'t>, backoff: Backoff) -> Self {
        Self {
            session,
            backoff,
            requests: AtomicUsize::new(0),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Requests sent (each retry counts).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Warnings the answers carried (e.g. BACKFILL_RUNNING), each once.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn warn(&self, text: String) {
        let mut warnings = self
            .warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !warnings.contains(&text) {
            warnings.push(text);
        }
    }

    /// Sends `query` with `variables` and returns `data`. `Err(None)` means "too large": the
    /// caller splits the request.
    pub async fn query(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<Value, Option<MetadataError>> {
        let body = serde_json::json!({"query": query, "variables": variables}).to_string();
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let verdict = match self.session.metadata(&body).await {
                Ok(response) => match serde_json::from_slice::<Value>(&response.body) {
                    Ok(answer) => read_answer(answer, &mut |w| self.warn(w)),
                    Err(_) => Verdict::Error(MetadataError::Failed(format!(
                        "the answer (HTTP {}) is not JSON",
                        response.status
                    ))),
                },
                Err(err) => http_error(&err),
            };
            match verdict {
                Verdict::Data(data) => return Ok(data),
                Verdict::TooLarge(_) => return Err(None),
                Verdict::Error(error) => return Err(Some(error)),
                Verdict::RateExceeded { message, wait } => {
                    if attempt >= self.backoff.attempts {
                        return Err(Some(MetadataError::RateExceeded(message)));
                    }
                    let backoff = self
                        .backoff
                        .base
                        .saturating_mul(2u32.saturating_pow(attempt - 1));
                    let wait = wait.unwrap_or(backoff).min(self.backoff.max_wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Codes that stop the lineage step, by what they mean.
fn classify(code: &str, message: &str) -> Option<Verdict> {
    let described = || {
        if message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {message}")
        }
    };
    Some(match code {
        "FEATURE_DISABLED" => Verdict::Error(MetadataError::FeatureDisabled(described())),
        "NODE_LIMIT_EXCEEDED" | "TIME_LIMIT_EXCEEDED" => Verdict::TooLarge(described()),
        "RATE_EXCEEDED" => Verdict::RateExceeded {
            message: described(),
            wait: None,
        },
        "ACCESS_DENIED" | "FILTER_REQUIRED" | "PERMISSIONS_MODE_SWITCHED" => {
            Verdict::Error(MetadataError::AccessDenied(described()))
        }
        _ => return None,
    })
}

/// Codes that only warn: the data that came is used.
fn warning_text(code: &str, message: &str) -> Option<String> {
    match code {
        "BACKFILL_RUNNING" => Some(
            "Tableau is still building its Metadata API store (BACKFILL_RUNNING): lineage \
             results may be incomplete"
                .into(),
        ),
        "INHERITANCE_INCOMPLETE" => Some(format!(
            "Metadata API: results may be incomplete ({code}: {message})"
        )),
        _ => None,
    }
}

const KNOWN_CODES: [&str; 9] = [
    "FEATURE_DISABLED",
    "NODE_LIMIT_EXCEEDED",
    "TIME_LIMIT_EXCEEDED",
    "RATE_EXCEEDED",
    "ACCESS_DENIED",
    "FILTER_REQUIRED",
    "PERMISSIONS_MODE_SWITCHED",
    "BACKFILL_RUNNING",
    "INHERITANCE_INCOMPLETE",
];

/// An error's code: `extensions.code`, else `code`, else a known name in its message.
fn error_code(error: &Value) -> Option<String> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    error
        .pointer("/extensions/code")
        .and_then(text)
        .or_else(|| error.get("code").and_then(text))
        .or_else(|| error.pointer("/extensions/errorCode").and_then(text))
        .or_else(|| {
            let message = error.get("message").and_then(Value::as_str)?;
            KNOWN_CODES
                .iter()
                .find(|code| message.contains(*code))
                .map(|code| code.to_string())
        })
}

/// A short, single-line message from Tableau (printed only through the console's sanitising
/// path and the summary's escaping).
fn short(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    match flat.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat.to_string(),
    }
}

/// Reads a 200 answer: `{data, errors}`.
fn read_answer(answer: Value, warn: &mut dyn FnMut(String)) -> Verdict {
    let errors = answer
        .get("errors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let data = answer.get("data").filter(|d| !d.is_null()).cloned();
    let mut stop: Option<Verdict> = None;
    let mut unknown: Vec<String> = Vec::new();
    for error in &errors {
        let message = short(error.get("message").and_then(Value::as_str).unwrap_or(""));
        let code = error_code(error);
        if let Some(code) = &code {
            if let Some(verdict) = classify(code, &message) {
                let verdict = match verdict {
                    Verdict::RateExceeded { message, .. } => Verdict::RateExceeded {
                        message,
                        wait: retry_after(error),
                    },
                    other => other,
                };
                // The first stop wins, except that a definite error outranks a retryable one.
                let replace = match (&stop, &verdict) {
                    (None, _) => true,
                    (Some(Verdict::Error(_)), _) => false,
                    (Some(_), Verdict::Error(_)) => true,
                    _ => false,
                };
                if replace {
                    stop = Some(verdict);
                }
                continue;
            }
            if let Some(text) = warning_text(code, &message) {
                warn(text);
                continue;
            }
        }
        let severity = error
            .pointer("/extensions/severity")
            .and_then(Value::as_str)
            .unwrap_or("");
        let described = match &code {
            Some(code) => format!("{code}: {message}"),
            None => message.clone(),
        };
        if severity.eq_ignore_ascii_case("warning") {
            warn(format!("Metadata API warning: {described}"));
        } else {
            unknown.push(described);
        }
    }
    if let Some(stop) = stop {
        return stop;
    }
    match data {
        Some(data) => {
            if !unknown.is_empty() {
                // Partial data (a truncated answer shows as NullValueInNonNullableField): use it,
                // and say the results may be incomplete.
                warn(format!(
                    "The Metadata API answered with errors; lineage results may be incomplete: {}",
                    unknown.join("; ")
                ));
            }
            Verdict::Data(data)
        }
        None if unknown.is_empty() => {
            Verdict::Error(MetadataError::Failed("the answer has no data".into()))
        }
        None => Verdict::Error(MetadataError::Failed(unknown.join("; "))),
    }
}

/// A wait an error asks for, in seconds (`extensions.retryAfter` or its `properties`).
fn retry_after(error: &Value) -> Option<Duration> {
    [
        "/extensions/retryAfter",
        "/extensions/properties/retryAfter",
    ]
    .iter()
    .find_map(|path| error.pointer(path))
    .and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()))
    .filter(|s| s.is_finite() && *s >= 0.0)
    .map(Duration::from_secs_f64)
}

/// An answer the transport refused (status 400 and above, after its own retries on 429/5xx).
fn http_error(err: &TableauError) -> Verdict {
    let Some(api) = err.api() else {
        return Verdict::Error(MetadataError::Failed(err.to_string()));
    };
    // A body with GraphQL errors may name the code.
    let text = [&api.code, &api.summary, &api.detail, &api.excerpt]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(verdict) = KNOWN_CODES
        .iter()
        .find(|code| text.contains(*code))
        .and_then(|code| classify(code, &format!("HTTP {}", api.status)))
    {
        return match verdict {
            // The transport already waited out 429s as long as it may.
            Verdict::RateExceeded { message, .. } => {
                Verdict::Error(MetadataError::RateExceeded(message))
            }
            other => other,
        };
    }
    Verdict::Error(match api.status {
        429 => MetadataError::RateExceeded(api.to_string()),
        401 | 403 => MetadataError::AccessDenied(api.to_string()),
        404 => MetadataError::Failed(format!(
            "{api}: this Tableau has no Metadata API at /api/metadata/graphql (Tableau Server \
             2019.3 or later has it)"
        )),
        _ => MetadataError::Failed(api.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(answer: Value) -> (Verdict, Vec<String>) {
        let mut warnings = Vec::new();
        let verdict = read_answer(answer, &mut |w| warnings.push(w));
        (verdict, warnings)
    }

    #[test]
    fn codes_are_read_from_extensions_or_the_error_or_its_message() {
        let (verdict, _) = read(json!({"errors": [{"message": "off",
            "extensions": {"severity": "ERROR", "code": "FEATURE_DISABLED"}}], "data": null}));
        let Verdict::Error(MetadataError::FeatureDisabled(text)) = &verdict else {
            panic!("{verdict:?}")
        };
        assert!(text.contains("FEATURE_DISABLED"), "{text}");
        let message = MetadataError::FeatureDisabled(text.clone()).to_string();
        assert!(
            message.contains("tsm maintenance metadata-services enable"),
            "{message}"
        );
        let (verdict, _) =
            read(json!({"errors": [{"message": "x", "code": "NODE_LIMIT_EXCEEDED"}]}));
        assert!(matches!(verdict, Verdict::TooLarge(_)), "{verdict:?}");
        let (verdict, _) = read(json!({"errors": [{"message": "RATE_EXCEEDED: slow down"}]}));
        assert!(
            matches!(verdict, Verdict::RateExceeded { wait: None, .. }),
            "{verdict:?}"
        );
        let (verdict, _) = read(json!({"errors": [{"message": "no",
            "extensions": {"code": "ACCESS_DENIED"}}], "data": {"x": 1}}));
        assert!(
            matches!(verdict, Verdict::Error(MetadataError::AccessDenied(_))),
            "{verdict:?}"
        );
    }

    #[test]
    fn backfill_is_a_warning_and_the_data_is_used() {
        let (verdict, warnings) = read(json!({"data": {"a": 1},
            "errors": [{"message": "Still creating the store",
                "extensions": {"severity": "WARNING", "code": "BACKFILL_RUNNING"}}]}));
        assert_eq!(verdict, Verdict::Data(json!({"a": 1})));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("may be incomplete"), "{warnings:?}");
    }

    #[test]
    fn unknown_errors_with_data_warn_and_without_data_fail() {
        let (verdict, warnings) = read(json!({"data": {"a": null},
            "errors": [{"message": "NullValueInNonNullableField\nat a.b"}]}));
        assert_eq!(verdict, Verdict::Data(json!({"a": null})));
        assert!(
            warnings[0].contains("NullValueInNonNullableField at a.b"),
            "{warnings:?}"
        );
        let (verdict, _) =
            read(json!({"errors": [{"message": "Validation error: field 'x' undefined"}]}));
        let Verdict::Error(MetadataError::Failed(text)) = verdict else {
            panic!("fails")
        };
        assert!(text.contains("field 'x'"), "{text}");
    }

    #[test]
    fn rate_exceeded_may_say_how_long_to_wait() {
        let (verdict, _) = read(json!({"errors": [{"message": "m",
            "extensions": {"code": "RATE_EXCEEDED", "retryAfter": 2}}]}));
        assert_eq!(
            verdict,
            Verdict::RateExceeded {
                message: "RATE_EXCEEDED: m".into(),
                wait: Some(Duration::from_secs(2))
            }
        );
        // A definite error outranks a retryable one in the same answer.
        let (verdict, _) = read(json!({"errors": [
            {"message": "m", "extensions": {"code": "RATE_EXCEEDED"}},
            {"message": "n", "extensions": {"code": "FEATURE_DISABLED"}}]}));
        assert!(matches!(
            verdict,
            Verdict::Error(MetadataError::FeatureDisabled(_))
        ));
    }

    #[test]
    fn http_refusals_are_named() {
        let api = |status, body: &str| {
            TableauError::Api(crate::tableau::ApiError::from_response(
                status,
                Some("application/json"),
                body.as_bytes(),
            ))
        };
        assert!(matches!(
            http_error(&api(429, "")),
            Verdict::Error(MetadataError::RateExceeded(_))
        ));
        assert!(matches!(
            http_error(&api(403, "")),
            Verdict::Error(MetadataError::AccessDenied(_))
        ));
        assert!(matches!(
            http_error(&api(
                400,
                r#"{"errors":[{"message":"x","extensions":{"code":"FEATURE_DISABLED"}}]}"#
            )),
            Verdict::Error(MetadataError::FeatureDisabled(_))
        ));
    }
}
