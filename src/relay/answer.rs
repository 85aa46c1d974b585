//! The relay's answers to dbt Cloud: a status code fixed by the contract and a small JSON body that
//! says what happened (dbt shows it in the webhook's delivery log). Each answer also carries the
//! fields of the request's log line.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Attached to every response for the access log: what happened, and the dbt event id when the
/// body was verified (never before: an unverified body is not read for logging).
#[derive(Clone, Debug, Default)]
pub(crate) struct LogFields {
    pub(crate) outcome: &'static str,
    pub(crate) event_id: Option<String>,
}

/// One answer.
#[derive(Debug)]
pub(crate) struct Answer {
    status: StatusCode,
    body: AnswerBody,
    /// Send `Connection: close`.
    close: bool,
}

#[derive(Debug, Serialize)]
struct AnswerBody {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    /// The repository_dispatch `event_type` sent (or that would have been sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    dispatched_as: Option<String>,
}

impl Answer {
    fn new(status: StatusCode, word: &'static str, reason: Option<String>) -> Self {
        Self {
            status,
            close: false,
            body: AnswerBody {
                status: word,
                reason,
                event_id: None,
                dispatched_as: None,
            },
        }
    }

    /// 202: GitHub accepted the dispatch.
    pub(crate) fn dispatched(dispatched_as: String) -> Self {
        let mut answer = Self::new(StatusCode::ACCEPTED, "dispatched", None);
        answer.body.dispatched_as = Some(dispatched_as);
        answer
    }

    /// 202: this event was already dispatched (a retry by dbt, or a second delivery).
    pub(crate) fn duplicate(dispatched_as: String) -> Self {
        let reason = "this event was already dispatched; not sent again".to_owned();
        let mut answer = Self::new(StatusCode::ACCEPTED, "duplicate", Some(reason));
        answer.body.dispatched_as = Some(dispatched_as);
        answer
    }

    /// 200: valid, deliberately not forwarded.
    pub(crate) fn ignored(reason: String) -> Self {
        Self::new(StatusCode::OK, "ignored", Some(reason))
    }

    /// 401: no configured key signed this body.
    pub(crate) fn unauthorized(reason: String) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", Some(reason))
    }

    /// 413: the body (or the dispatch it would make) is too large.
    pub(crate) fn too_large(reason: String) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", Some(reason))
    }

    /// 400: verified, but not UTF-8 JSON or not a dbt event.
    pub(crate) fn invalid(reason: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", Some(reason))
    }

    /// 408: the body did not arrive within its deadline. The connection is closed after it (the
    /// rest of the body may still be coming).
    pub(crate) fn body_timeout(reason: String) -> Self {
        let mut answer = Self::new(StatusCode::REQUEST_TIMEOUT, "timeout", Some(reason));
        answer.close = true;
        answer
    }

    /// 503: no slot for a verified webhook came free within the dispatch budget; dbt Cloud retries.
    pub(crate) fn busy(reason: String) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", Some(reason))
    }

    /// 502: GitHub did not accept the dispatch; dbt Cloud retries.
    pub(crate) fn not_dispatched(reason: String) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "not_dispatched", Some(reason))
    }

    /// 404 for any path but `/` and `/healthz`.
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            Some("dbt Cloud webhooks go to POST /".into()),
        )
    }

    /// Adds the dbt event id (already made printable by the caller).
    pub(crate) fn with_event_id(mut self, event_id: Option<String>) -> Self {
        self.body.event_id = event_id;
        self
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let fields = LogFields {
            outcome: self.body.status,
            event_id: self.body.event_id.clone(),
        };
        let mut response = (self.status, Json(self.body)).into_response();
        if self.close {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response.extensions_mut().insert(fields);
        response
    }
}
