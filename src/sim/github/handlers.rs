//! Request handling: the pipeline (in-flight count ▸ "down" ▸ latency ▸ injected fault ▸ endpoint),
//! routing, GitHub's error bodies and rate-limit answers, and the request log.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::GitHubSimConfig;
use super::app::AppVerifier;
use super::endpoints::{access_token, dispatch, installation, repository};
use super::faults::{Fault, Route};
use super::state::{InFlight, SimRequest, State, lock};
use crate::sim::conn::ConnKill;

/// GitHub takes request bodies far larger than a dispatch; the simulator needs only this much.
const BODY_LIMIT: usize = 1024 * 1024;
const DOCS: &str = "https://docs.github.com/rest";

/// What every request handler can see.
pub(super) struct Shared {
    pub(super) config: GitHubSimConfig,
    pub(super) app: Option<AppVerifier>,
    pub(super) state: Arc<Mutex<State>>,
}

/// One answer, turned into an HTTP response at the edge.
pub(super) struct Reply {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(super) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    /// GitHub's error body: `{"message", "documentation_url", "status"}`.
    pub(super) fn error(status: StatusCode, message: &str) -> Self {
        Self::json(
            status,
            json!({"message": message, "documentation_url": DOCS, "status": status.as_str()}),
        )
    }

    pub(super) fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (self.status, axum::Json(body)).into_response(),
            None => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// The one axum handler (installed as the router's fallback).
pub(super) async fn entry(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let conn = ConnKill::of(&request);
    let (parts, body) = request.into_parts();
    let _in_flight = InFlight::enter(&shared.state);
    let route = classify(&parts.method, parts.uri.path()).0;
    let (down, latency) = {
        let state = lock(&shared.state);
        (state.down, state.latency)
    };
    let fault = if down {
        Some(Fault::ResetConnection)
    } else {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut state = lock(&shared.state);
        let scripted = state.faults.take(route);
        scripted.or_else(|| {
            let drawn = state.faults.draw(route);
            state.stats.random_faults += usize::from(drawn.is_some());
            drawn
        })
    };
    if let Some(Fault::Delay(spike)) = fault {
        // A latency spike: the normal answer follows.
        tokio::time::sleep(spike).await;
    }
    let reply = match fault {
        Some(Fault::ResetConnection) => None,
        Some(Fault::Status {
            status,
            retry_after,
            rate_limit_reset,
        }) => Some(status_reply(status, retry_after, rate_limit_reset)),
        Some(Fault::Delay(_)) | None => Some(
            answer(
                &shared,
                &parts.method,
                parts.uri.path(),
                &parts.headers,
                body,
            )
            .await,
        ),
    };
    let status = reply.as_ref().map_or(0, |r| r.status.as_u16());
    tracing::debug!(method = %parts.method, path = parts.uri.path(), status, "github sim");
    lock(&shared.state).stats.requests.push(SimRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        route,
        status,
    });
    match (reply, conn) {
        (Some(reply), _) => reply.into_response(),
        (None, Some(conn)) => {
            conn.kill();
            StatusCode::BAD_GATEWAY.into_response()
        }
        // Without a connection handle (never the case when served by `GitHubSim`), the closest
        // thing to a reset is a gateway error without a body.
        (None, None) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// The route of a request and the path parameters it carries.
fn classify<'p>(method: &Method, path: &'p str) -> (Route, Vec<&'p str>) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["repos", owner, repo, "dispatches"]) => {
            (Route::Dispatch, vec![*owner, *repo])
        }
        (&Method::GET, ["repos", owner, repo, "installation"]) => {
            (Route::Installation, vec![*owner, *repo])
        }
        (&Method::GET, ["repos", owner, repo]) => (Route::Repository, vec![*owner, *repo]),
        (&Method::POST, ["app", "installations", id, "access_tokens"]) => {
            (Route::AccessToken, vec![*id])
        }
        _ => (Route::Any, Vec::new()),
    }
}

/// The normal answer of an endpoint.
async fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Reply {
    let Ok(body) = to_bytes(body, BODY_LIMIT).await else {
        return Reply::error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    match classify(method, path) {
        (Route::Dispatch, params) => dispatch(shared, &params.join("/"), headers, &body),
        (Route::Installation, params) => installation(shared, &params.join("/"), headers),
        (Route::Repository, params) => repository(shared, &params.join("/"), headers),
        (Route::AccessToken, params) => access_token(
            shared,
            params.first().copied().unwrap_or(""),
            headers,
            &body,
        ),
        (Route::Any, _) => Reply::error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The answer of a [`Fault::Status`], with GitHub's messages and rate-limit headers.
fn status_reply(status: u16, retry_after: Option<String>, reset: Option<u64>) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let rate_limited = retry_after.is_some() || reset.is_some();
    let message = match status.as_u16() {
        403 if rate_limited => {
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try \
             again."
        }
        403 => "Resource not accessible by personal access token",
        429 => "API rate limit exceeded.",
        401 => "Bad credentials",
        404 => "Not Found",
        422 => "Validation Failed",
        500..=599 => "Server Error",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let mut reply = Reply::error(status, message);
    if let Some(seconds) = retry_after {
        reply.headers.push(("retry-after", seconds));
    }
    if let Some(reset) = reset {
        reply.headers.push(("x-ratelimit-remaining", "0".into()));
        reply.headers.push(("x-ratelimit-reset", reset.to_string()));
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_four_endpoints_only() {
        let post = Method::POST;
        assert_eq!(
            classify(&post, "/repos/acme/data/dispatches"),
            (Route::Dispatch, vec!["acme", "data"])
        );
        assert_eq!(
            classify(&Method::GET, "/repos/acme/data/installation").0,
            Route::Installation
        );
        assert_eq!(
            classify(&post, "/app/installations/7/access_tokens"),
            (Route::AccessToken, vec!["7"])
        );
        assert_eq!(
            classify(&Method::GET, "/repos/acme/data/dispatches").0,
            Route::Any
        );
        assert_eq!(
            classify(&Method::GET, "/repos/acme/data"),
            (Route::Repository, vec!["acme", "data"])
        );
        assert_eq!(classify(&post, "/repos/acme/data").0, Route::Any);
        assert_eq!(classify(&post, "/repos/acme/dispatches").0, Route::Any);
    }
}
