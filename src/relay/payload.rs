//! The repository_dispatch request built from a verified webhook, as DESIGN.md fixes it: the raw
//! body as a JSON string (character for character, so the action can verify it again), the
//! signature, and a few fields for workflow `if:` conditions, within GitHub's limits.

use serde::Serialize;
use serde_json::{Value, json};

use crate::dbt::WebhookEvent;

/// GitHub's limit on `event_type`.
const MAX_EVENT_TYPE_CHARS: usize = 100;
/// GitHub's limit on `client_payload` top-level properties.
const MAX_PROPERTIES: usize = 10;
/// GitHub's limit on the size of `client_payload`, in characters.
const MAX_PAYLOAD_CHARS: usize = 65_535;

/// The body of `POST /repos/{owner}/{repo}/dispatches`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DispatchRequest {
    pub(crate) event_type: String,
    pub(crate) client_payload: Value,
}

/// Why a verified webhook cannot become a dispatch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error(
        "the dispatch would carry {0} characters, over GitHub's limit of {MAX_PAYLOAD_CHARS} \
         (JSON escaping makes a body with many quotes or control characters grow)"
    )]
    TooLarge(usize),
    #[error(
        "the dispatch event type would be longer than GitHub's {MAX_EVENT_TYPE_CHARS} characters"
    )]
    EventTypeTooLong,
}

/// `dbt-` plus the dbt event type with dots as dashes: `job.run.completed` → `dbt-job-run-completed`.
pub(crate) fn dispatch_event_type(dbt_event_type: &str) -> String {
    format!("dbt-{}", dbt_event_type.replace('.', "-"))
}

/// Builds the dispatch for a verified `body` (the exact text received), its `signature` (the
/// `Authorization` value, trimmed) and the event parsed from it.
pub(crate) fn build(
    body: &str,
    signature: &str,
    event: &WebhookEvent,
) -> Result<DispatchRequest, PayloadError> {
    let event_type = dispatch_event_type(&event.event_type);
    if event_type.chars().count() > MAX_EVENT_TYPE_CHARS {
        return Err(PayloadError::EventTypeTooLong);
    }
    let client_payload = json!({
        "body": body,
        "signature": signature,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "job_id": event.data.job_id,
        "run_id": event.data.run_id,
        "run_status": event.data.run_status,
    });
    debug_assert!(client_payload.as_object().map_or(0, |o| o.len()) <= MAX_PROPERTIES);
    let chars = client_payload.to_string().chars().count();
    if chars > MAX_PAYLOAD_CHARS {
        return Err(PayloadError::TooLarge(chars));
    }
    Ok(DispatchRequest {
        event_type,
        client_payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"eventId":"wev_1","eventType":"job.run.completed","data":{"jobId":42,"runId":"7","runStatus":"Success","note":"a \"quoted\" \/ é"}}"#;

    fn event(body: &str) -> WebhookEvent {
        WebhookEvent::parse(body.as_bytes()).expect("test body parses")
    }

    #[test]
    fn event_types_become_dispatch_types() {
        assert_eq!(
            dispatch_event_type("job.run.completed"),
            "dbt-job-run-completed"
        );
        assert_eq!(
            dispatch_event_type("job.run.errored"),
            "dbt-job-run-errored"
        );
    }

    #[test]
    fn the_payload_carries_the_exact_body_and_the_fields() {
        let sig = "ab".repeat(32);
        let request = build(BODY, &sig, &event(BODY)).expect("fits");
        assert_eq!(request.event_type, "dbt-job-run-completed");
        let payload = request.client_payload.as_object().expect("object");
        assert!(payload.len() <= MAX_PROPERTIES);
        // Through JSON and back, the body is the same text, escapes and all.
        let wire = serde_json::to_string(&request).expect("serialises");
        let decoded: Value = serde_json::from_str(&wire).expect("parses");
        assert_eq!(decoded["client_payload"]["body"].as_str(), Some(BODY));
        assert_eq!(
            decoded["client_payload"]["signature"].as_str(),
            Some(sig.as_str())
        );
        assert_eq!(decoded["client_payload"]["event_id"], "wev_1");
        assert_eq!(decoded["client_payload"]["event_type"], "job.run.completed");
        assert_eq!(decoded["client_payload"]["job_id"], "42");
        assert_eq!(decoded["client_payload"]["run_id"], "7");
        assert_eq!(decoded["client_payload"]["run_status"], "Success");
        assert_eq!(decoded["event_type"], "dbt-job-run-completed");
    }

    #[test]
    fn missing_fields_are_null() {
        let body = r#"{"eventType":"job.run.completed"}"#;
        let request = build(body, "sig", &event(body)).expect("fits");
        assert!(request.client_payload["run_id"].is_null());
        assert!(request.client_payload["event_id"].is_null());
    }

    #[test]
    fn a_body_that_grows_past_githubs_limit_is_refused() {
        // A 40 000-character body (well under the 60 000-byte body limit) made of `\"` pairs is
        // 80 000 characters once escaped again as a JSON string.
        let quotes = "\\\"".repeat(20_000);
        let body = format!(r#"{{"eventType":"job.run.completed","pad":"{quotes}"}}"#);
        let err = build(&body, "sig", &event(&body)).expect_err("too large");
        assert!(
            matches!(err, PayloadError::TooLarge(n) if n > MAX_PAYLOAD_CHARS),
            "{err}"
        );
        // The same length in plain letters fits.
        let letters = "x".repeat(30_000);
        let body = format!(r#"{{"eventType":"job.run.completed","pad":"{letters}"}}"#);
        assert!(build(&body, "sig", &event(&body)).is_ok());
    }
}
