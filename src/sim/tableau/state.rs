//! The simulator's mutable state behind one mutex: sessions (one per PAT, like the real server), refresh
//! jobs and their clock, fault switches, and the counters reported as [`SimStats`]. Also the id
//! generators (session tokens, job LUIDs, stable site/user LUIDs).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::content::ContentKind;
use super::faults::{FaultQueue, Route};
use super::model::SimJobBehaviour;
use super::reply::Reply;

/// A snapshot of what the simulator saw; see `TableauSim::stats`.
///
/// Requests answered by an injected fault count everywhere (`requests`, `refresh_posts`,
/// `refresh_bodies`, `job_polls`): they reached the server, which is what a "did the client retry?"
/// assertion needs.
#[derive(Clone, Debug, Default)]
pub struct SimStats {
    /// Every request, in the order the answers were decided.
    pub requests: Vec<SimRequest>,
    pub sign_ins: usize,
    pub sign_outs: usize,
    /// Sessions neither signed out nor expired nor killed by a later sign-in.
    pub active_sessions: usize,
    /// The most sessions one PAT tried to hold at once, counted at each sign-in as the PAT's live
    /// sessions plus the new one. The server then kills the older ones (see below), so this is 1 for a
    /// client that signs out (or lost its session) before signing in again, and 2+ otherwise.
    pub max_concurrent_sessions_per_pat: usize,
    /// Live sessions ended because the same PAT signed in again (the real server's behaviour).
    pub sessions_killed_by_resignin: usize,
    pub refresh_posts: usize,
    /// Raw bodies of refresh POSTs, in order.
    pub refresh_bodies: Vec<String>,
    /// Job id (as written in the URL) -> number of GETs.
    pub job_polls: BTreeMap<String, usize>,
    /// Job ids cancelled by `PUT /jobs/{id}` (only cancels that stopped a running job).
    pub cancels: Vec<String>,
    /// The most requests being served at the same moment.
    pub max_in_flight: usize,
    /// Sign-ins with a connected app's JWT (also counted in `sign_ins`).
    pub jwt_sign_ins: usize,
}

/// One line of the request log.
#[derive(Clone, Debug)]
pub struct SimRequest {
    pub method: String,
    /// The full path, `/api/{v}/…` included.
    pub path: String,
    /// The raw (still percent-encoded) query string, `""` if none.
    pub query: String,
    /// The HTTP status sent; 0 when the connection was dropped by a `ResetConnection` fault.
    pub status: u16,
    pub route: Route,
}

/// A signed-in session. Only live sessions are stored: signing out, expiry and a re-sign-in with the
/// same PAT remove them, so their tokens answer 401002 from then on.
#[derive(Clone, Debug)]
pub(super) struct Session {
    pub(super) pat_name: String,
    pub(super) site: String,
    pub(super) site_luid: String,
}

/// A refresh job. Its state is derived from the clock on every read, so nothing has to tick.
#[derive(Clone, Debug)]
pub(super) struct Job {
    pub(super) id: String,
    pub(super) site: String,
    pub(super) kind: ContentKind,
    pub(super) item_id: String,
    pub(super) item_name: String,
    pub(super) behaviour: SimJobBehaviour,
    pub(super) started: Instant,
    pub(super) created_at: DateTime<Utc>,
    /// Wall-clock time of a cancel that stopped the job while it ran.
    pub(super) cancelled_at: Option<DateTime<Utc>>,
}

/// Where a job stands at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JobPhase {
    /// 0..=99 percent.
    Running(u8),
    Done {
        finish_code: u8,
        completed_at: DateTime<Utc>,
    },
}

impl Job {
    pub(super) fn phase(&self, now: Instant) -> JobPhase {
        if let Some(completed_at) = self.cancelled_at {
            return JobPhase::Done {
                finish_code: 2,
                completed_at,
            };
        }
        let elapsed = now.saturating_duration_since(self.started);
        let duration = self.behaviour.duration;
        if elapsed >= duration {
            let completed_at = self.created_at
                + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::zero());
            // A Bridge job shows completedAt with finishCode 0 while a client is assigned.
            let finish_code = match self.behaviour.bridge_assigned {
                Some(assigned) if elapsed < duration.saturating_add(assigned) => 0,
                _ => self.behaviour.finish_code,
            };
            return JobPhase::Done {
                finish_code,
                completed_at,
            };
        }
        // Real progress moves in jumps; a linear ramp capped at 99 is close enough for a poller.
        let percent = elapsed.as_secs_f64() / duration.as_secs_f64() * 100.0;
        JobPhase::Running(percent.clamp(0.0, 99.0) as u8)
    }

    pub(super) fn is_running(&self, now: Instant) -> bool {
        matches!(self.phase(now), JobPhase::Running(_))
    }
}

/// Everything that changes while the simulator runs. Locked briefly, never across an `.await`.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) latency: Duration,
    /// `SimConfig::latency`, restored by `FaultHandle::clear`.
    pub(super) base_latency: Duration,
    pub(super) faults: FaultQueue,
    /// Authenticated calls left before the calling session expires.
    pub(super) expire_after: Option<usize>,
    /// The expiry answers 403 instead of 401002 (Tableau KB 001498381: an expired session may
    /// show as an intermittent 403).
    pub(super) expire_with_403: bool,
    /// Tokens that expired answering 403: they keep answering 403, not 401002.
    pub(super) expired_403: std::collections::HashSet<String>,
    /// Live sessions by token.
    pub(super) sessions: HashMap<String, Session>,
    pub(super) jobs: BTreeMap<String, Job>,
    pub(super) in_flight: usize,
    pub(super) stats: SimStats,
    /// Connected-app JWTs seen and the scopes of JWT sessions.
    pub(super) jwt: super::connected_app::JwtState,
    /// The Metadata API's fault switches and request counter.
    pub(super) metadata: super::metadata::Runtime,
}

/// Lock the state; a panic elsewhere must not take the simulator down with it, so poison is ignored.
pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(super) fn new(latency: Duration) -> Self {
        Self {
            latency,
            base_latency: latency,
            ..Self::default()
        }
    }

    /// Open a session; earlier live sessions of the same PAT die, as on the real server (KB-PAT).
    pub(super) fn sign_in(&mut self, pat_name: &str, site: &str, site_luid: &str) -> String {
        let before = self.sessions.len();
        self.sessions.retain(|_, s| s.pat_name != pat_name);
        let killed = before - self.sessions.len();
        self.stats.sessions_killed_by_resignin += killed;
        self.stats.max_concurrent_sessions_per_pat =
            self.stats.max_concurrent_sessions_per_pat.max(killed + 1);
        self.stats.sign_ins += 1;
        let token = random_token();
        self.sessions.insert(
            token.clone(),
            Session {
                pat_name: pat_name.to_owned(),
                site: site.to_owned(),
                site_luid: site_luid.to_owned(),
            },
        );
        token
    }

    /// Check `X-Tableau-Auth`; counts the call toward a pending `expire_session_after`.
    pub(super) fn authenticate(&mut self, token: Option<&str>) -> Result<Session, Reply> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(Reply::canned("401000"));
        };
        let Some(session) = self.sessions.get(token).cloned() else {
            if self.expired_403.contains(token) {
                return Err(expired_as_403());
            }
            return Err(Reply::canned("401002"));
        };
        match self.expire_after {
            Some(0) => {
                self.expire_after = None;
                self.sessions.remove(token);
                if self.expire_with_403 {
                    self.expired_403.insert(token.to_owned());
                    return Err(expired_as_403());
                }
                Err(Reply::canned("401002"))
            }
            Some(n) => {
                self.expire_after = Some(n - 1);
                Ok(session)
            }
            None => Ok(session),
        }
    }

    pub(super) fn sign_out(&mut self, token: &str) {
        if self.sessions.remove(token).is_some() {
            self.stats.sign_outs += 1;
        }
    }

    pub(super) fn snapshot(&self) -> SimStats {
        SimStats {
            active_sessions: self.sessions.len(),
            ..self.stats.clone()
        }
    }
}

/// The 403 of an expired session: Tableau documents no code for it, so a generic one.
fn expired_as_403() -> Reply {
    Reply::error(
        axum::http::StatusCode::FORBIDDEN,
        "403000",
        "Forbidden",
        "Access to this resource is forbidden.",
    )
}

/// Fill `buf` from the OS; should that ever fail, fall back to a time-seeded SplitMix64 so the
/// simulator keeps working (its ids need to be unique, not secret).
fn random_bytes(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut seed = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    for chunk in buf.chunks_mut(8) {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
}

/// A 32-character alphanumeric credentials token, like the real server's.
pub(super) fn random_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A fresh version-4 LUID (8-4-4-4-12 lowercase hex).
pub(super) fn random_luid() -> String {
    let mut bytes = [0u8; 16];
    random_bytes(&mut bytes);
    crate::tableau::auth::uuid_v4_text(bytes)
}

/// A LUID derived from `seed` (FNV-1a), so site and user ids are the same in every run.
pub(super) fn stable_luid(seed: &str) -> String {
    let fnv = |basis: u64| {
        seed.bytes().fold(basis, |hash, b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fnv(0xCBF2_9CE4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&fnv(0x8422_2325_CBF2_9CE4).to_be_bytes());
    crate::tableau::auth::uuid_v4_text(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resignin_kills_the_earlier_session_and_is_counted() {
        let mut state = State::new(Duration::ZERO);
        let first = state.sign_in("pat", "", "site-luid");
        assert!(state.authenticate(Some(&first)).is_ok());
        let second = state.sign_in("pat", "", "site-luid");
        assert!(state.authenticate(Some(&first)).is_err());
        assert!(state.authenticate(Some(&second)).is_ok());
        let stats = state.snapshot();
        assert_eq!(stats.sessions_killed_by_resignin, 1);
        assert_eq!(stats.max_concurrent_sessions_per_pat, 2);
        assert_eq!(stats.active_sessions, 1);
    }

    #[test]
    fn expiry_lets_n_calls_through_then_answers_401002() {
        let mut state = State::new(Duration::ZERO);
        let token = state.sign_in("pat", "", "site-luid");
        state.expire_after = Some(2);
        assert!(state.authenticate(Some(&token)).is_ok());
        assert!(state.authenticate(Some(&token)).is_ok());
        let err = state.authenticate(Some(&token)).expect_err("expired");
        assert_eq!(err.code(), Some("401002"));
        assert!(state.authenticate(Some(&token)).is_err());
    }

    #[test]
    fn an_expiry_may_answer_403_and_keeps_answering_it() {
        let mut state = State::new(Duration::ZERO);
        let token = state.sign_in("pat", "", "site-luid");
        state.expire_after = Some(0);
        state.expire_with_403 = true;
        for _ in 0..2 {
            let err = state.authenticate(Some(&token)).expect_err("expired");
            assert_eq!(err.status.as_u16(), 403);
            assert_eq!(err.code(), Some("403000"));
        }
        let fresh = state.sign_in("pat", "", "site-luid");
        assert!(state.authenticate(Some(&fresh)).is_ok());
    }

    #[test]
    fn ids_have_the_right_shape() {
        assert_eq!(random_token().len(), 32);
        let luid = random_luid();
        let groups: Vec<usize> = luid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(stable_luid("marketing"), stable_luid("marketing"));
        assert_ne!(stable_luid("marketing"), stable_luid(""));
    }
}
