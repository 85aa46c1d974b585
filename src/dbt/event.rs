//! The dbt Cloud webhook event, parsed permissively: field-name drift, IDs as strings or numbers,
//! unknown fields ignored. Every value in it is untrusted text chosen by whoever signed the body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// The event type we act on.
pub const RUN_COMPLETED: &str = "job.run.completed";
/// dbt's run status code for a successful run.
pub const STATUS_SUCCESS: i64 = 10;

/// One webhook delivery. Only the fields we use or show are modelled.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    #[serde(default, deserialize_with = "id")]
    pub account_id: Option<String>,
    /// `webhooksID` in older documentation, `webhookId` in newer payloads.
    #[serde(default, alias = "webhooksID", deserialize_with = "id")]
    pub webhook_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub event_id: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub timestamp: Option<DateTime<Utc>>,
    pub event_type: String,
    #[serde(default)]
    pub webhook_name: Option<String>,
    #[serde(default)]
    pub data: RunData,
}

/// The `data` object: the run the event is about.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunData {
    #[serde(default, deserialize_with = "id")]
    pub job_id: Option<String>,
    #[serde(default)]
    pub job_name: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub project_id: Option<String>,
    #[serde(default)]
    pub project_name: Option<String>,
    #[serde(default)]
    pub environment_name: Option<String>,
    #[serde(default)]
    pub run_status: Option<String>,
    #[serde(default, deserialize_with = "status_code")]
    pub run_status_code: Option<i64>,
    #[serde(default)]
    pub run_status_message: Option<String>,
    #[serde(default)]
    pub run_reason: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub run_started_at: Option<DateTime<Utc>>,
    /// `runFinishedAt` on completed events, `runErroredAt` on errored ones.
    #[serde(default, alias = "runErroredAt", deserialize_with = "timestamp")]
    pub run_finished_at: Option<DateTime<Utc>>,
}

/// Why a body is not a dbt event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("the body is not a dbt Cloud webhook event: {0}")]
    Shape(String),
}

impl WebhookEvent {
    /// Parses raw webhook bytes. Duplicate keys are refused (serde's derive reports them), so a
    /// second `runStatus` can never override the first.
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let text = std::str::from_utf8(body).map_err(|_| EventError::NotUtf8)?;
        serde_json::from_str(text).map_err(|err| EventError::Shape(shape_message(&err)))
    }

    /// When the event happened: the signed `timestamp`, else the run's finish time.
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.timestamp.or(self.data.run_finished_at)
    }

    /// Whether the run succeeded. The numeric code wins when present (it does not depend on
    /// wording); otherwise the status text must be `Success`.
    pub fn run_succeeded(&self) -> bool {
        match self.data.run_status_code {
            Some(code) => code == STATUS_SUCCESS,
            None => self.data.run_status.as_deref() == Some("Success"),
        }
    }

    /// A short human label for the run status, for summaries.
    pub fn status_label(&self) -> String {
        match (&self.data.run_status, self.data.run_status_code) {
            (Some(text), Some(code)) => format!("{text} ({code})"),
            (Some(text), None) => text.clone(),
            (None, Some(code)) => format!("code {code}"),
            (None, None) => "unknown".into(),
        }
    }
}

/// serde_json's messages quote values from the input; keep only the category and position so a
/// hostile body cannot put text of its choosing into our logs.
fn shape_message(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Syntax => "invalid JSON",
        Category::Eof => "truncated JSON",
        Category::Data => return data_message(err),
        Category::Io => "unreadable",
    };
    format!("{what} at line {} column {}", err.line(), err.column())
}

fn data_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // Data errors name our own fields ("missing field `eventType`", "duplicate field `runStatus`"),
    // which is useful; anything with quotes from the input is cut off.
    let head = text.split(" at line").next().unwrap_or("unexpected value");
    let safe = head.contains("field `") && !head.contains('"');
    let head = if safe { head } else { "unexpected value" };
    format!("{head} at line {} column {}", err.line(), err.column())
}

/// An identifier sent as a string or a number; kept as text.
fn id<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        Uint(u64),
        Float(f64),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Raw>::deserialize(de)? {
        Some(Raw::Text(text)) => Some(text),
        Some(Raw::Int(n)) => Some(n.to_string()),
        Some(Raw::Uint(n)) => Some(n.to_string()),
        Some(Raw::Float(n)) => Some(n.to_string()),
        Some(Raw::Other(_)) | None => None,
    })
}

/// `runStatusCode`: a number, or a string holding one.
fn status_code<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(id(de)?.and_then(|text| text.trim().parse().ok()))
}

/// An RFC 3339 time; anything unparseable is treated as absent rather than failing the event.
fn timestamp<'de, D: Deserializer<'de>>(de: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(de)?
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS_EXAMPLE: &str = r#"{
      "accountId": 1, "webhooksID": "wsu_12345abcde", "eventId": "wev_2L6ZDoilyiWzKkSA59Gmc2d7FDD",
      "timestamp": "2023-01-31T19:29:35.789265936Z", "eventType": "job.run.completed",
      "webhookName": "test",
      "data": {"jobId": "123", "jobName": "Daily Job (dbt build)", "runId": "12345",
               "environmentId": "1234", "environmentName": "Production", "dbtVersion": "1.0.0",
               "projectName": "Snowflake Github Demo", "projectId": "167194",
               "runStatus": "Success", "runStatusCode": 10, "runStatusMessage": "None",
               "runReason": "Kicked off from UI by test@test.com",
               "runStartedAt": "2023-01-31T19:28:07Z", "runFinishedAt": "2023-01-31T19:29:32Z"}}"#;

    #[test]
    fn parses_the_documented_example() {
        let event = WebhookEvent::parse(DOCS_EXAMPLE.as_bytes()).expect("parses");
        assert_eq!(event.event_type, RUN_COMPLETED);
        assert_eq!(event.account_id.as_deref(), Some("1"));
        assert_eq!(event.webhook_id.as_deref(), Some("wsu_12345abcde"));
        assert_eq!(event.data.job_id.as_deref(), Some("123"));
        assert_eq!(event.data.run_id.as_deref(), Some("12345"));
        assert!(event.run_succeeded());
        let at = event.occurred_at().expect("timestamp");
        assert_eq!(at.to_rfc3339(), "2023-01-31T19:29:35.789265936+00:00");
    }

    #[test]
    fn accepts_field_drift_and_numbers_as_ids() {
        let body = br#"{"webhookId":"wsu_1","eventType":"job.run.errored","eventId":7,
            "data":{"jobId":123,"runId":456,"runStatus":"Errored","runStatusCode":"20",
                    "runErroredAt":"2025-10-01T10:00:00Z","extra":{"nested":[1,2]}}}"#;
        let event = WebhookEvent::parse(body).expect("parses");
        assert_eq!(event.webhook_id.as_deref(), Some("wsu_1"));
        assert_eq!(event.event_id.as_deref(), Some("7"));
        assert_eq!(event.data.job_id.as_deref(), Some("123"));
        assert_eq!(event.data.run_status_code, Some(20));
        assert!(!event.run_succeeded());
        assert!(event.occurred_at().is_some());
    }

    #[test]
    fn the_status_code_wins_over_the_text() {
        let body = br#"{"eventType":"job.run.completed","data":{"runStatus":"Success","runStatusCode":20}}"#;
        assert!(!WebhookEvent::parse(body).expect("parses").run_succeeded());
        let body = br#"{"eventType":"job.run.completed","data":{"runStatus":"Success"}}"#;
        assert!(WebhookEvent::parse(body).expect("parses").run_succeeded());
    }

    #[test]
    fn refuses_duplicate_keys_and_non_events_without_quoting_the_input() {
        let body = br#"{"eventType":"job.run.completed","data":{"runStatus":"Errored","runStatus":"Success"}}"#;
        let err = WebhookEvent::parse(body).expect_err("duplicate");
        assert!(
            err.to_string().contains("duplicate field `runStatus`"),
            "{err}"
        );

        let err = WebhookEvent::parse(br#"{"eventType": ["<script>"]}"#).expect_err("shape");
        assert!(!err.to_string().contains("script"), "{err}");
        assert!(WebhookEvent::parse(br#"{"data":{}}"#).is_err());
        assert!(WebhookEvent::parse(b"\xff\xfe").is_err());
        assert!(WebhookEvent::parse(b"[1,2").is_err());
    }
}
