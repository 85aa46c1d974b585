//! The GitHub simulator's mutable state behind one mutex: the installation tokens it has issued, the
//! fault switches, and what it saw (dispatches, token requests, the request log) reported as
//! [`GitHubSimStats`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;

use super::faults::{FaultQueue, Route};

/// A snapshot of what the simulator saw; see `GitHubSim::stats`.
#[derive(Clone, Debug, Default)]
pub struct GitHubSimStats {
    /// Requests that arrived, counted before latency and faults (so a test can wait for a request
    /// that is still being delayed).
    pub received: usize,
    /// Requests being served right now.
    pub in_flight: usize,
    /// Every answered request, in the order the answers were decided.
    pub requests: Vec<SimRequest>,
    /// Every dispatch GitHub accepted (answered 204), in order.
    pub dispatches: Vec<SimDispatch>,
    /// Every installation access token issued, in order.
    pub token_requests: Vec<SimTokenRequest>,
    /// Repositories (`owner/name`) whose installation was looked up successfully.
    pub installation_lookups: Vec<String>,
    /// Faults drawn by the random fault mode (`FaultHandle::set_random`), delays included.
    pub random_faults: usize,
}

impl GitHubSimStats {
    /// How many requests on `route` were answered (faulted ones included), i.e. the client's attempts.
    pub fn attempts(&self, route: Route) -> usize {
        self.requests.iter().filter(|r| r.route == route).count()
    }
}

/// One line of the request log.
#[derive(Clone, Debug)]
pub struct SimRequest {
    pub method: String,
    pub path: String,
    pub route: Route,
    /// The HTTP status sent; 0 when the connection was reset by a fault or the "down" switch.
    pub status: u16,
}

/// An accepted `POST /repos/{owner}/{repo}/dispatches`.
#[derive(Clone, Debug)]
pub struct SimDispatch {
    /// `owner/name` from the URL.
    pub repository: String,
    pub event_type: String,
    /// `None` when the request had no `client_payload`.
    pub client_payload: Option<Value>,
    /// The request body exactly as received.
    pub raw_body: String,
    /// Who sent it.
    pub auth: SimAuth,
}

/// The credential a dispatch was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimAuth {
    /// One of `GitHubSimConfig::tokens` (a PAT or a workflow's `GITHUB_TOKEN`).
    Token,
    /// An installation access token issued by this simulator for this installation.
    Installation(u64),
}

/// An issued installation access token (`POST /app/installations/{id}/access_tokens`).
#[derive(Clone, Debug)]
pub struct SimTokenRequest {
    pub installation_id: u64,
    /// The token issued (`ghs_…`), so that tests can check it never shows up where it must not.
    pub token: String,
    /// The `repositories` the token was limited to (names without the owner, as GitHub takes
    /// them); `None` = every repository of the installation.
    pub repositories: Option<Vec<String>>,
}

/// What an issued installation token may reach.
#[derive(Clone, Debug)]
pub(super) struct IssuedToken {
    pub(super) installation_id: u64,
    pub(super) repositories: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) stats: GitHubSimStats,
    pub(super) faults: FaultQueue,
    /// Every request's connection is reset: GitHub unreachable.
    pub(super) down: bool,
    pub(super) latency: Duration,
    /// Issued installation tokens by value.
    pub(super) tokens: HashMap<String, IssuedToken>,
}

/// Locks the state. A panic while it was held (a bug in a handler) leaves plain data behind, which
/// is still fine to read, so poisoning is ignored.
pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts a request as in flight for as long as it lives.
pub(super) struct InFlight<'a>(&'a Mutex<State>);

impl<'a> InFlight<'a> {
    pub(super) fn enter(state: &'a Mutex<State>) -> Self {
        let mut guard = lock(state);
        guard.stats.received += 1;
        guard.stats.in_flight += 1;
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(self.0).stats.in_flight -= 1;
    }
}
