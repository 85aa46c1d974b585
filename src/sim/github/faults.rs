//! Fault switches of the GitHub simulator: scripted answers per route (an error status with GitHub's
//! rate-limit headers, a latency spike, a reset connection), a fixed latency, and a "down" switch
//! that resets every connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::state::{State, lock};

/// An endpoint as seen by fault matching and the request log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /repos/{owner}/{repo}/dispatches`.
    Dispatch,
    /// `GET /repos/{owner}/{repo}/installation` (GitHub App).
    Installation,
    /// `POST /app/installations/{id}/access_tokens` (GitHub App).
    AccessToken,
    /// Matches every request when injecting; marks requests to no known endpoint in the log.
    Any,
}

impl Route {
    fn covers(self, actual: Route) -> bool {
        self == Route::Any || self == actual
    }
}

/// What a matching request gets instead of its normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// An error status with GitHub's JSON error body, and optionally the headers GitHub sends when
    /// it rate-limits: `Retry-After` (seconds) and `x-ratelimit-reset` (epoch seconds, sent with
    /// `x-ratelimit-remaining: 0`).
    Status {
        status: u16,
        retry_after: Option<String>,
        rate_limit_reset: Option<u64>,
    },
    /// A latency spike; the normal answer follows.
    Delay(Duration),
    /// The connection is closed without an answer.
    ResetConnection,
}

impl Fault {
    /// A plain error status.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            retry_after: None,
            rate_limit_reset: None,
        }
    }

    /// A rate-limit answer (429, or 403 for a secondary rate limit) asking to retry after `seconds`.
    pub fn rate_limited(status: u16, seconds: u64) -> Self {
        Self::Status {
            status,
            retry_after: Some(seconds.to_string()),
            rate_limit_reset: None,
        }
    }
}

/// Faults waiting for their requests, first injected first served.
#[derive(Debug, Default)]
pub(super) struct FaultQueue {
    entries: VecDeque<(Route, Fault, usize)>,
}

impl FaultQueue {
    /// The fault the next request on `route` must get, if any (consumes one of its count).
    pub(super) fn take(&mut self, route: Route) -> Option<Fault> {
        let index = self.entries.iter().position(|(r, _, _)| r.covers(route))?;
        let entry = self.entries.get_mut(index)?;
        entry.2 -= 1;
        let fault = entry.1.clone();
        if entry.2 == 0 {
            self.entries.remove(index);
        }
        Some(fault)
    }
}

/// A cheap handle on the simulator's fault switches; clones share the same state.
#[derive(Clone)]
pub struct FaultHandle {
    pub(super) state: Arc<Mutex<State>>,
}

impl FaultHandle {
    /// The next `count` requests matching `route` get `fault` instead of their normal answer.
    pub fn inject(&self, route: Route, fault: Fault, count: usize) {
        if count > 0 {
            lock(&self.state)
                .faults
                .entries
                .push_back((route, fault, count));
        }
    }

    /// While on, every request's connection is reset without an answer (GitHub unreachable).
    pub fn set_down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Latency added to every request from now on.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Drop queued faults, come back up, and remove the latency.
    pub fn clear(&self) {
        let mut state = lock(&self.state);
        state.faults.entries.clear();
        state.down = false;
        state.latency = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_serves_matching_faults_in_order_and_counts_down() {
        let mut queue = FaultQueue::default();
        queue
            .entries
            .push_back((Route::Dispatch, Fault::status(500), 2));
        queue
            .entries
            .push_back((Route::Any, Fault::ResetConnection, 1));
        assert!(matches!(
            queue.take(Route::AccessToken),
            Some(Fault::ResetConnection)
        ));
        assert!(queue.take(Route::AccessToken).is_none());
        for _ in 0..2 {
            assert!(matches!(
                queue.take(Route::Dispatch),
                Some(Fault::Status { status: 500, .. })
            ));
        }
        assert!(queue.take(Route::Dispatch).is_none());
    }
}
