//! A bounded in-memory memory of recently dispatched dbt event ids, so that dbt's retries (it
//! retries when an answer is slow or lost) are not dispatched twice.
//!
//! An id is recorded only once GitHub has accepted its dispatch: a failed dispatch leaves nothing
//! behind, so dbt's retry is dispatched normally. Two deliveries of the same id at the same time
//! must not both dispatch, and the second must not answer 2xx before anything was accepted, so the
//! second waits for the first's result. The memory is per process: several replicas may each
//! dispatch an event once, which the action side tolerates (Tableau answers 409093 for a refresh
//! already queued).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The most ids remembered; the oldest are forgotten first. Real dbt accounts send a few webhooks an
/// hour, so this only bounds memory under a flood of validly signed events.
pub(crate) const CAPACITY: usize = 10_000;

pub(crate) struct Dedupe {
    window: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Dispatched ids and when.
    done: HashMap<String, Instant>,
    /// `done` in insertion order, for expiry and the capacity bound. An id dispatched again after it
    /// expired appears twice; the stale entry is recognised by its time.
    order: VecDeque<(Instant, String)>,
    /// Ids whose dispatch is under way; the receiver turns `true` once GitHub accepted it.
    in_flight: HashMap<String, watch::Receiver<bool>>,
}

/// What a delivery of an id should do.
pub(crate) enum Claim {
    /// Nobody has this id: dispatch it, then report through the ticket.
    First(Ticket),
    /// Already dispatched within the window.
    Duplicate,
    /// Another delivery is dispatching it right now.
    Pending(Pending),
}

/// The right (and duty) to dispatch an id. Dropping it without [`Ticket::dispatched`] means the
/// dispatch failed: the id is released and waiters try again.
pub(crate) struct Ticket {
    dedupe: Arc<Dedupe>,
    id: String,
    accepted: watch::Sender<bool>,
}

/// A wait on another delivery's dispatch.
pub(crate) struct Pending(watch::Receiver<bool>);

impl Pending {
    /// `true` once the other delivery's dispatch was accepted; `false` if it failed (or was
    /// abandoned), in which case the caller should claim again.
    pub(crate) async fn accepted(mut self) -> bool {
        self.0.wait_for(|accepted| *accepted).await.is_ok()
    }
}

impl Dedupe {
    pub(crate) fn new(window: Duration, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            window,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Claims `id` for a delivery arriving now.
    pub(crate) fn claim(self: &Arc<Self>, id: &str) -> Claim {
        self.claim_at(id, Instant::now())
    }

    fn claim_at(self: &Arc<Self>, id: &str, now: Instant) -> Claim {
        let mut inner = self.lock();
        inner.expire(now, self.window, self.capacity);
        if inner.done.contains_key(id) {
            return Claim::Duplicate;
        }
        if let Some(receiver) = inner.in_flight.get(id) {
            return Claim::Pending(Pending(receiver.clone()));
        }
        let (accepted, receiver) = watch::channel(false);
        inner.in_flight.insert(id.to_owned(), receiver);
        Claim::First(Ticket {
            dedupe: Arc::clone(self),
            id: id.to_owned(),
            accepted,
        })
    }

    /// How many dispatched ids are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.lock().done.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Plain data: a panic elsewhere cannot leave it inconsistent in a harmful way.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Forgets ids older than the window, then the oldest ones beyond the capacity.
    fn expire(&mut self, now: Instant, window: Duration, capacity: usize) {
        while let Some((at, id)) = self.order.front() {
            let expired = now.saturating_duration_since(*at) > window;
            if !expired && self.done.len() <= capacity {
                break;
            }
            if self.done.get(id) == Some(at) {
                self.done.remove(id);
            }
            self.order.pop_front();
        }
    }
}

impl Ticket {
    /// GitHub accepted the dispatch: remember the id and release the waiters as duplicates.
    pub(crate) fn dispatched(self) {
        self.dispatched_at(Instant::now());
    }

    fn dispatched_at(self, now: Instant) {
        {
            let mut inner = self.dedupe.lock();
            inner.in_flight.remove(&self.id);
            inner.done.insert(self.id.clone(), now);
            inner.order.push_back((now, self.id.clone()));
            let (window, capacity) = (self.dedupe.window, self.dedupe.capacity);
            inner.expire(now, window, capacity);
        }
        // No receiver left is fine: nobody was waiting.
        let _ = self.accepted.send(true);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !*self.accepted.borrow() {
            self.dedupe.lock().in_flight.remove(&self.id);
        }
        // Dropping the sender wakes the waiters; without a `true` they claim again.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn first(claim: Claim) -> Ticket {
        match claim {
            Claim::First(ticket) => ticket,
            _ => panic!("expected to be first"),
        }
    }

    #[test]
    fn a_dispatched_id_is_a_duplicate_until_it_expires() {
        let dedupe = Dedupe::new(HOUR, CAPACITY);
        let t0 = Instant::now();
        first(dedupe.claim_at("wev_1", t0)).dispatched_at(t0);
        assert!(matches!(
            dedupe.claim_at("wev_1", t0 + HOUR),
            Claim::Duplicate
        ));
        assert!(matches!(
            dedupe.claim_at("wev_2", t0 + HOUR),
            Claim::First(_)
        ));
        let later = t0 + HOUR + Duration::from_secs(1);
        assert!(matches!(dedupe.claim_at("wev_1", later), Claim::First(_)));
        assert_eq!(dedupe.remembered(), 0);
    }

    #[test]
    fn a_failed_dispatch_leaves_nothing_behind() {
        let dedupe = Dedupe::new(HOUR, CAPACITY);
        drop(first(dedupe.claim("wev_1")));
        assert!(matches!(dedupe.claim("wev_1"), Claim::First(_)));
    }

    #[test]
    fn the_oldest_ids_go_beyond_the_capacity() {
        let dedupe = Dedupe::new(HOUR, 2);
        let t0 = Instant::now();
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            let at = t0 + Duration::from_secs(i as u64);
            first(dedupe.claim_at(id, at)).dispatched_at(at);
        }
        assert_eq!(dedupe.remembered(), 2);
        assert!(matches!(dedupe.claim_at("a", t0), Claim::First(_)));
        assert!(matches!(dedupe.claim_at("c", t0), Claim::Duplicate));
    }

    #[test]
    fn a_flood_of_new_ids_keeps_the_memory_at_its_cap() {
        let dedupe = Dedupe::new(HOUR, CAPACITY);
        let t0 = Instant::now();
        let flood = CAPACITY + 500;
        for i in 0..flood {
            let at = t0 + Duration::from_millis(i as u64);
            first(dedupe.claim_at(&format!("wev_{i}"), at)).dispatched_at(at);
            assert!(dedupe.remembered() <= CAPACITY, "{i}");
        }
        {
            let inner = dedupe.lock();
            assert_eq!(inner.done.len(), CAPACITY);
            assert_eq!(
                inner.order.len(),
                CAPACITY,
                "the order queue is bounded too"
            );
            assert!(inner.in_flight.is_empty());
        }
        let now = t0 + Duration::from_millis(flood as u64);
        // The newest are remembered, the oldest forgotten.
        let newest = format!("wev_{}", flood - 1);
        assert!(matches!(dedupe.claim_at(&newest, now), Claim::Duplicate));
        assert!(matches!(dedupe.claim_at("wev_0", now), Claim::First(_)));
    }

    #[tokio::test]
    async fn a_concurrent_delivery_waits_for_the_first_result() {
        let dedupe = Dedupe::new(HOUR, CAPACITY);
        let ticket = first(dedupe.claim("wev_1"));
        let Claim::Pending(pending) = dedupe.claim("wev_1") else {
            panic!("the second delivery must wait")
        };
        let waiter = tokio::spawn(pending.accepted());
        ticket.dispatched();
        assert!(waiter.await.expect("waiter"), "accepted");
        assert!(matches!(dedupe.claim("wev_1"), Claim::Duplicate));

        let ticket = first(dedupe.claim("wev_2"));
        let Claim::Pending(pending) = dedupe.claim("wev_2") else {
            panic!("the second delivery must wait")
        };
        let waiter = tokio::spawn(pending.accepted());
        drop(ticket);
        assert!(!waiter.await.expect("waiter"), "the first failed");
        assert!(matches!(dedupe.claim("wev_2"), Claim::First(_)));
    }
}
