//! Runtime fault switches: which requests get a fault instead of their normal answer (429 pages, 5xx,
//! XML or empty error bodies, dropped connections, latency spikes, truncated JSON), the per-request
//! latency, and session expiry after N calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use super::super::script::{RouteMatch, Script};

use super::reply::{self, JSON, Reply, XML};
use super::state::{State, lock};

/// An endpoint as seen by fault matching and the request log: the method plus the path with its
/// `/api/{v}` prefix stripped. `Any` matches every request when injecting, and marks requests that hit
/// no known endpoint in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    ServerInfo,
    SignIn,
    SignOut,
    QueryWorkbooks,
    QueryDatasources,
    /// `GET /sites/{site}/projects` (an addition to the original list).
    QueryProjects,
    GetWorkbook,
    GetDatasource,
    RefreshWorkbook,
    RefreshDatasource,
    QueryJob,
    CancelJob,
    /// `POST /api/metadata/graphql` (the Metadata API).
    Metadata,
    Any,
}

impl RouteMatch for Route {
    fn covers(self, actual: Route) -> bool {
        self == Route::Any || self == actual
    }
}

/// What a matching request gets instead of its normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// An error status with the given body, e.g. Tableau Cloud's 429 HTML page or a proxy's 502.
    Status {
        status: u16,
        body: FaultBody,
        retry_after: Option<String>,
    },
    /// The connection is closed without an answer; the client sees a connection/body error.
    ResetConnection,
    /// A latency spike; the normal answer follows.
    Delay(Duration),
    /// 200 with a JSON body cut off in the middle.
    MalformedJson,
}

/// The body of a [`Fault::Status`].
#[derive(Clone, Debug)]
pub enum FaultBody {
    /// A small HTML error page (`text/html`), as load balancers and Cloud's 429 send.
    Html,
    Empty,
    /// Tableau's XML error document with this code (`application/xml`).
    Xml(String),
    /// Tableau's JSON error with this code.
    Json(String),
}

/// Faults waiting for their requests, first injected first served.
pub(super) type FaultQueue = Script<Route, Fault>;

/// A cheap handle on the simulator's fault switches; clones share the same state.
#[derive(Clone)]
pub struct FaultHandle {
    pub(super) state: Arc<Mutex<State>>,
}

impl FaultHandle {
    /// Latency added to every request from now on (replaces `SimConfig::latency`).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// The next `count` requests matching `route` get `fault` instead of their normal answer.
    pub fn inject(&self, route: Route, fault: Fault, count: usize) {
        lock(&self.state).faults.push(route, fault, count);
    }

    /// After `n` more authenticated calls (sign-out included), the session making the next call
    /// expires: that call and every later one with its token get 401002 until a new sign-in.
    pub fn expire_session_after(&self, n: usize) {
        let mut state = lock(&self.state);
        state.expire_after = Some(n);
        state.expire_with_403 = false;
    }

    /// Like [`FaultHandle::expire_session_after`], but the expired session answers 403 (a
    /// generic `403000`), as Tableau sometimes does (KB 001498381).
    pub fn expire_session_after_with_403(&self, n: usize) {
        let mut state = lock(&self.state);
        state.expire_after = Some(n);
        state.expire_with_403 = true;
    }

    /// Drop queued faults and a pending expiry, and go back to the configured latency.
    pub fn clear(&self) {
        let mut state = lock(&self.state);
        state.faults.clear();
        state.expire_after = None;
        state.latency = state.base_latency;
        let requests = state.metadata.requests;
        state.metadata = super::metadata::Runtime {
            requests,
            ..Default::default()
        };
    }

    /// The next `times` Metadata API requests (after authentication) answer `RATE_EXCEEDED`, as
    /// Tableau Cloud does when a site's query budget is spent.
    pub fn set_metadata_rate_exceeded(&self, times: usize) {
        lock(&self.state).metadata.rate_exceeded = times;
    }

    /// While on, Metadata API answers carry their data plus a `BACKFILL_RUNNING` warning in
    /// `errors[]` (the metadata store is still being built: results may be incomplete).
    pub fn set_metadata_backfill(&self, on: bool) {
        lock(&self.state).metadata.backfill = on;
    }

    /// The most nodes (objects) one answer may hold before it is cut and answers
    /// `NODE_LIMIT_EXCEEDED`; `None` = Tableau's default of 20 000.
    pub fn set_metadata_node_limit(&self, limit: Option<usize>) {
        lock(&self.state).metadata.node_limit = limit;
    }

    /// Metadata API requests received so far (refused and faulted ones included).
    pub fn metadata_requests(&self) -> usize {
        lock(&self.state).metadata.requests
    }
}

/// The answer of a [`Fault::Status`].
pub(super) fn status_reply(status: u16, body: &FaultBody, retry_after: Option<&str>) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut answer = match body {
        FaultBody::Html => {
            let title = format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error")
            );
            Reply::raw(
                status,
                Some("text/html"),
                format!(
                    "<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
                ),
            )
        }
        FaultBody::Empty => Reply::raw(status, None, String::new()),
        // The two fixed-dialect bodies: what a client gets when the server ignores its `Accept`.
        FaultBody::Xml(code) => Reply::raw(status, Some(XML), error_xml(code)),
        FaultBody::Json(code) => {
            let (summary, detail) = reply::describe(code);
            let error = json!({"error": {"summary": summary, "detail": detail, "code": code}});
            Reply::raw(status, Some(JSON), error.to_string())
        }
    };
    answer.retry_after = retry_after.map(str::to_owned);
    answer
}

/// Tableau's XML error document for `code`, whatever the request's `Accept`.
fn error_xml(code: &str) -> String {
    let (summary, detail) = reply::describe(code);
    let document = json!({"error": {"summary": summary, "detail": detail, "code": code}});
    super::xml::render(&document, "3.24")
}

/// A 200 whose JSON stops mid-way, shaped like the start of the route's real answer so that a client
/// which sniffs the first key still has to cope with the parse error.
pub(super) fn malformed_json_reply(route: Route) -> Reply {
    let start = match route {
        Route::ServerInfo => r#"{"serverInfo":{"productVersion":{"value":"20"#,
        Route::SignIn => r#"{"credentials":{"site":{"id":""#,
        Route::QueryWorkbooks => r#"{"pagination":{"pageNumber":"1","pageSize":"100","totalAv"#,
        Route::QueryDatasources | Route::QueryProjects => r#"{"pagination":{"pageNumber":"1","#,
        Route::GetWorkbook => r#"{"workbook":{"id":""#,
        Route::GetDatasource => r#"{"datasource":{"id":""#,
        Route::RefreshWorkbook | Route::RefreshDatasource | Route::QueryJob | Route::CancelJob => {
            r#"{"job":{"id":""#
        }
        Route::Metadata => r#"{"data":{"databaseTablesConnection":{"nodes":[{"id":""#,
        Route::SignOut | Route::Any => r#"{"#,
    };
    Reply::raw(StatusCode::OK, Some(JSON), start.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tableau::reply::Payload;

    #[test]
    fn queue_serves_matching_faults_in_order_and_counts_down() {
        let mut queue = FaultQueue::default();
        queue.push(Route::QueryJob, Fault::MalformedJson, 2);
        queue.push(Route::Any, Fault::ResetConnection, 1);
        assert!(matches!(
            queue.take(Route::SignIn),
            Some(Fault::ResetConnection)
        ));
        assert!(queue.take(Route::SignIn).is_none());
        assert!(matches!(
            queue.take(Route::QueryJob),
            Some(Fault::MalformedJson)
        ));
        assert!(matches!(
            queue.take(Route::QueryJob),
            Some(Fault::MalformedJson)
        ));
        assert!(queue.take(Route::QueryJob).is_none());
    }

    #[test]
    fn xml_fault_carries_the_code() {
        let reply = status_reply(401, &FaultBody::Xml("401002".into()), None);
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let Payload::Raw { content_type, body } = reply.payload else {
            panic!("an XML fault is a raw body");
        };
        assert!(body.contains("<error code=\"401002\"><summary>"));
        assert_eq!(content_type, Some(XML));
    }
}
