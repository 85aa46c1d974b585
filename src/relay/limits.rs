//! Caps on open connections: overall, and per client address, so that one address flooding the
//! relay with connections (stalled uploads, unfinished headers) leaves room for dbt Cloud's.
//!
//! A connection over a cap is accepted and closed at once, without reading from it: that keeps the
//! kernel's accept queue moving, so a connection from another address that arrives while a flood
//! is going on is taken as soon as it is in front, rather than waiting behind the flood's.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Open connections in all. dbt Cloud sends a few webhooks an hour, and the benchmark's flood uses
/// 32 connections, so 512 is far above any real load. It is the bound on memory: an open
/// connection holds at most a 16 KiB header buffer (`server::MAX_HEADER_BYTES`) or a 60 000-byte
/// body plus hyper's and tokio's per-connection state, about 100 KB at worst, so 512 of them stay
/// near 50 MB over an idle relay's 8 MB, inside the 100 MiB the relay must stay under.
pub const MAX_CONNECTIONS: usize = 512;

/// Open connections from one client address, unless `--max-connections-per-client` says
/// otherwise. A quarter of [`MAX_CONNECTIONS`]: one address cannot take more than that, so a
/// flood from a single address leaves 384 connections for everyone else. It is generous on
/// purpose: behind a proxy or load balancer (Cloud Run, an ALB, Caddy on the same VM) every
/// client arrives from the proxy's few addresses, and this cap then bounds the proxy's connections
/// to the relay. 128 is above Cloud Run's default of 80 concurrent requests per instance, so with
/// the platform's defaults it never refuses a legitimate request there.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 128;

/// How often, at most, a warning about refused connections is logged: a flood must not flood the
/// log too.
const REFUSAL_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// The counts of open connections.
pub(crate) struct ConnectionLimits {
    total: usize,
    /// `None`: no per-client cap (`--max-connections-per-client 0`).
    per_client: Option<usize>,
    inner: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
    /// Refusals since the last warning, and when that was.
    refused: u64,
    reported: Option<Instant>,
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// [`MAX_CONNECTIONS`] are open.
    Full,
    /// The client's address has its share open.
    ClientFull,
}

/// One admitted connection; dropping it gives its place back.
pub(crate) struct Admitted {
    limits: Arc<ConnectionLimits>,
    client: IpAddr,
}

impl ConnectionLimits {
    /// `per_client` 0 means no per-client cap.
    pub(crate) fn new(total: usize, per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            total: total.max(1),
            per_client: (per_client > 0).then_some(per_client),
            inner: Mutex::new(Open::default()),
        })
    }

    /// Admits a connection from `peer`, or says which cap it would break.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refusal> {
        let client = client_key(peer);
        let mut open = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let refusal = if open.total >= self.total {
            Some(Refusal::Full)
        } else if self
            .per_client
            .is_some_and(|cap| open.by_client.get(&client).copied().unwrap_or(0) >= cap)
        {
            Some(Refusal::ClientFull)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            open.refused += 1;
            return Err(refusal);
        }
        open.total += 1;
        *open.by_client.entry(client).or_insert(0) += 1;
        Ok(Admitted {
            limits: Arc::clone(self),
            client,
        })
    }

    /// The refusals to report now (at most once per [`REFUSAL_REPORT_INTERVAL`]), if any.
    pub(crate) fn refusals_to_report(&self, now: Instant) -> Option<u64> {
        let mut open = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let due = open
            .reported
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_REPORT_INTERVAL);
        if open.refused == 0 || !due {
            return None;
        }
        open.reported = Some(now);
        Some(std::mem::take(&mut open.refused))
    }

    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        let open = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (open.total, open.by_client.len())
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

/// The address a client is counted under. An IPv4 address is itself (also when it arrives mapped
/// into IPv6); an IPv6 address counts as its /64, because one host is routinely given a whole /64
/// and could otherwise open each connection from a new address.
fn client_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn one_address_gets_its_share_and_others_still_get_in() {
        let limits = ConnectionLimits::new(10, 3);
        let flood: Vec<Admitted> = (0..3)
            .map(|_| limits.admit(ip("127.0.0.2")).expect("within the share"))
            .collect();
        assert_eq!(
            limits.admit(ip("127.0.0.2")).err(),
            Some(Refusal::ClientFull)
        );
        let dbt = limits
            .admit(ip("127.0.0.1"))
            .expect("another address gets in");
        assert_eq!(limits.open(), (4, 2));
        drop(flood);
        assert_eq!(limits.open(), (1, 1));
        assert!(limits.admit(ip("127.0.0.2")).is_ok(), "the share is back");
        drop(dbt);
    }

    #[test]
    fn the_total_cap_holds_across_addresses_and_is_given_back() {
        let limits = ConnectionLimits::new(4, 3);
        let held: Vec<Admitted> = (1..=4)
            .map(|n| limits.admit(ip(&format!("10.0.0.{n}"))).expect("room"))
            .collect();
        assert_eq!(limits.admit(ip("10.0.0.9")).err(), Some(Refusal::Full));
        drop(held);
        assert_eq!(limits.open(), (0, 0), "nothing is left counted");
        assert!(limits.admit(ip("10.0.0.9")).is_ok());
    }

    #[test]
    fn zero_turns_the_per_client_cap_off() {
        let limits = ConnectionLimits::new(5, 0);
        let held: Vec<Admitted> = (0..5)
            .map(|_| limits.admit(ip("10.1.1.1")).expect("no per-client cap"))
            .collect();
        assert_eq!(limits.admit(ip("10.1.1.1")).err(), Some(Refusal::Full));
        drop(held);
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let limits = ConnectionLimits::new(10, 2);
        let _a = limits.admit(ip("2001:db8:1:2::1")).expect("first");
        let _b = limits.admit(ip("2001:db8:1:2:ffff::9")).expect("second");
        assert_eq!(
            limits.admit(ip("2001:db8:1:2:aaaa::7")).err(),
            Some(Refusal::ClientFull),
            "the same /64"
        );
        assert!(limits.admit(ip("2001:db8:1:3::1")).is_ok(), "another /64");
        let _c = limits.admit(ip("::ffff:192.0.2.1")).expect("mapped");
        let _d = limits.admit(ip("192.0.2.1")).expect("plain");
        assert_eq!(
            limits.admit(ip("192.0.2.1")).err(),
            Some(Refusal::ClientFull)
        );
    }

    #[test]
    fn refusals_are_reported_at_most_every_ten_seconds() {
        let limits = ConnectionLimits::new(1, 1);
        let start = Instant::now();
        assert_eq!(limits.refusals_to_report(start), None, "nothing refused");
        let _held = limits.admit(ip("127.0.0.1")).expect("room");
        for _ in 0..5 {
            assert!(limits.admit(ip("127.0.0.2")).is_err());
        }
        assert_eq!(limits.refusals_to_report(start), Some(5));
        assert!(limits.admit(ip("127.0.0.2")).is_err());
        assert_eq!(
            limits.refusals_to_report(start + Duration::from_secs(1)),
            None
        );
        assert_eq!(
            limits.refusals_to_report(start + REFUSAL_REPORT_INTERVAL),
            Some(1)
        );
    }
}
