//! Fault switches of the GitHub simulator: scripted answers per route (an error status with GitHub's
//! rate-limit headers, a latency spike, a reset connection), faults drawn at random for a share of
//! the requests (seeded, for soak runs), a fixed latency, and a "down" switch that resets every
//! connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::script::{RouteMatch, Script};
use super::state::{State, lock};

/// An endpoint as seen by fault matching and the request log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /repos/{owner}/{repo}/dispatches`.
    Dispatch,
    /// `GET /repos/{owner}/{repo}/installation` (GitHub App).
    Installation,
    /// `GET /repos/{owner}/{repo}`: the relay's start-up check.
    Repository,
    /// `POST /app/installations/{id}/access_tokens` (GitHub App).
    AccessToken,
    /// Matches every request when injecting; marks requests to no known endpoint in the log.
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

/// Faults drawn at random: each request on `route` gets one of `faults` (uniformly) with probability
/// `rate`. The generator is seeded, so a run with the same seed and the same order of requests
/// draws the same faults. Scripted faults ([`FaultHandle::inject`]) are served first.
#[derive(Clone, Debug)]
pub struct RandomFaults {
    pub route: Route,
    /// The share of matching requests that get a fault, from 0.0 to 1.0.
    pub rate: f64,
    pub faults: Vec<Fault>,
    pub seed: u64,
}

impl RandomFaults {
    /// GitHub failing in the ways it does: 500 and 502, a 429 asking to retry after 0 or 1 s, a
    /// secondary rate limit (403) asking for a minute (more than a relay's budget: it gives up and
    /// dbt retries later), a reset connection, and latency spikes of 50 and 300 ms.
    pub fn mixed(route: Route, rate: f64, seed: u64) -> Self {
        Self {
            route,
            rate,
            faults: vec![
                Fault::status(500),
                Fault::status(502),
                Fault::rate_limited(429, 0),
                Fault::rate_limited(429, 1),
                Fault::rate_limited(403, 60),
                Fault::ResetConnection,
                Fault::Delay(Duration::from_millis(50)),
                Fault::Delay(Duration::from_millis(300)),
            ],
            seed,
        }
    }
}

/// Faults waiting for their requests, first injected first served; then the random ones.
#[derive(Debug, Default)]
pub(super) struct FaultQueue {
    scripted: Script<Route, Fault>,
    random: Option<(RandomFaults, SplitMix64)>,
}

impl FaultQueue {
    /// The fault the next request on `route` must get, if any (consumes one of its count).
    pub(super) fn take(&mut self, route: Route) -> Option<Fault> {
        self.scripted.take(route)
    }

    /// A fault drawn at random for a request on `route`, when random faults are on.
    pub(super) fn draw(&mut self, route: Route) -> Option<Fault> {
        let (spec, rng) = self.random.as_mut()?;
        if !spec.route.covers(route) || spec.faults.is_empty() {
            return None;
        }
        if rng.unit() >= spec.rate {
            return None;
        }
        let index = (rng.next() % spec.faults.len() as u64) as usize;
        spec.faults.get(index).cloned()
    }
}

/// SplitMix64: a tiny, well-mixed generator, enough for drawing faults reproducibly.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
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
        lock(&self.state).faults.scripted.push(route, fault, count);
    }

    /// From now on, a random share of the requests get a fault (see [`RandomFaults`]); `None`
    /// turns random faults off. [`GitHubSimStats::random_faults`](super::GitHubSimStats) counts
    /// the faults drawn.
    pub fn set_random(&self, faults: Option<RandomFaults>) {
        lock(&self.state).faults.random = faults.map(|spec| {
            let rng = SplitMix64(spec.seed);
            (spec, rng)
        });
    }

    /// While on, every request's connection is reset without an answer (GitHub unreachable).
    pub fn set_down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Latency added to every request from now on.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Drop queued faults, stop random ones, come back up, and remove the latency.
    pub fn clear(&self) {
        let mut state = lock(&self.state);
        state.faults.scripted.clear();
        state.faults.random = None;
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
        queue.scripted.push(Route::Dispatch, Fault::status(500), 2);
        queue.scripted.push(Route::Any, Fault::ResetConnection, 1);
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

    #[test]
    fn random_faults_hit_about_their_rate_on_their_route_and_replay_with_the_seed() {
        let draws = |seed| {
            let mut queue = FaultQueue {
                random: Some((
                    RandomFaults::mixed(Route::Dispatch, 0.2, seed),
                    SplitMix64(seed),
                )),
                ..FaultQueue::default()
            };
            assert!(queue.draw(Route::AccessToken).is_none(), "other route");
            (0..10_000)
                .map(|_| queue.draw(Route::Dispatch).map(|f| format!("{f:?}")))
                .collect::<Vec<_>>()
        };
        let first = draws(7);
        let hits = first.iter().flatten().count();
        assert!((1_700..=2_300).contains(&hits), "{hits} of 10 000");
        let kinds: std::collections::HashSet<_> = first.iter().flatten().collect();
        assert_eq!(kinds.len(), 8, "every kind of fault is drawn");
        assert_eq!(first, draws(7), "same seed, same faults");
        assert_ne!(first, draws(8));
    }
}
