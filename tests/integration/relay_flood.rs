//! The relay under connection floods from one client address (issue 10, findings 2 and 4): the real
//! binary on 127.0.0.1, the flood from another loopback address (127.0.0.0/8 is all loopback on
//! Linux), bounded in connections and time, and stopping by itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::relay::{Relay, body_with_id, github, token_env};

/// Where the flood comes from, and where dbt Cloud's webhook comes from.
const FLOOD_FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const DBT_FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

fn relay_addr(relay: &Relay) -> SocketAddr {
    relay
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("the relay's address")
}

/// A TCP connection to the relay from `source`.
async fn connect_from(source: Ipv4Addr, relay: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(relay).await
}

/// An unsigned upload that declares 1 000 bytes, sends a dozen and stalls: it holds its
/// connection until the relay closes it or `until` comes.
async fn stalled_upload(relay: SocketAddr, until: Instant) {
    let Ok(mut stream) = connect_from(FLOOD_FROM, relay).await else {
        return;
    };
    let head = "POST / HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
                Content-Length: 1000\r\n\r\n{\"eventType\":";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut buffer = [0u8; 1024];
    // Until the relay answers or closes; then this connection is done and the flood opens another.
    let _ = tokio::time::timeout_at(until, stream.read(&mut buffer)).await;
}

/// Opens `burst` new stalled uploads from [`FLOOD_FROM`] every 250 ms for `length` (as the
/// reproduction did: a few hundred every half second), never more than `budget` in all; each holds
/// its connection until the relay closes it or the flood ends, when all are dropped. Returns how
/// many it opened.
async fn flood(relay: SocketAddr, burst: usize, length: Duration, budget: usize) -> usize {
    let until = Instant::now() + length;
    let mut uploads = JoinSet::new();
    let mut opened = 0;
    while Instant::now() < until {
        while uploads.try_join_next().is_some() {}
        for _ in 0..burst.min(budget - opened) {
            uploads.spawn(stalled_upload(relay, until));
            opened += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    uploads.shutdown().await;
    opened
}

/// Finding 2. Before the fix, the concurrency limit (256) was taken before the body was read, so
/// the flood's stalled uploads held every slot and queued for the next ones, and a signed webhook
/// waited until they timed out (9.5 s) or the flood stopped (here after 5 s). Now the flood's
/// address gets at most its share of connections (128), a stalled body is cut off after 2 s, and a
/// slot is taken only by a verified webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_stalled_unsigned_uploads_from_one_address_leaves_a_signed_webhook_202_within_3_s()
 {
    const BURST: usize = 100;
    const LENGTH: Duration = Duration::from_secs(5);
    const BUDGET: usize = 2_000;
    let github = github().await;
    let relay = Relay::start(&github);
    let addr = relay_addr(&relay);
    let flooding = tokio::spawn(flood(addr, BURST, LENGTH, BUDGET));
    // Let the flood take hold first: 400 uploads by then, more than the old 256 slots.
    tokio::time::sleep(Duration::from_secs(1)).await;

    dbt_tableau_refresh::tls::install_crypto_provider();
    let dbt = reqwest::Client::builder()
        .local_address(IpAddr::V4(DBT_FROM))
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let body = body_with_id("wev_during_flood");
    let started = Instant::now();
    let response = dbt
        .post(format!("{}/", relay.url))
        .header("authorization", crate::common::sign(&body))
        .body(body)
        .send()
        .await;
    let elapsed = started.elapsed();
    let opened = flooding.await.expect("the flood task");
    let status = response.map(|r| r.status().as_u16());
    eprintln!(
        "signed webhook during the flood: {status:?} after {elapsed:?}; {opened} flood connections"
    );
    assert!(opened >= 400, "the flood opened only {opened} connections");
    assert_eq!(status.ok(), Some(202), "{}", relay.log());
    assert!(
        elapsed < Duration::from_secs(3),
        "the signed webhook waited {elapsed:?}"
    );
    assert_eq!(github.stats().dispatches.len(), 1);
}

/// Finding 2, the per-address cap on its own, made small with `RELAY_MAX_CONNECTIONS_PER_CLIENT`:
/// an address with its share open gets its next connection closed at once, another address still
/// gets in, and the share comes back when the connections close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_address_cap_are_closed_and_another_address_still_gets_in() {
    const CAP: usize = 8;
    let github = github().await;
    let mut env = token_env(&github.url());
    env.push(("RELAY_MAX_CONNECTIONS_PER_CLIENT".into(), CAP.to_string()));
    let relay = Relay::start_with(&env, &[]);
    let addr = relay_addr(&relay);

    // CAP connections that have started their headers and wait (the header timeout is 5 s).
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut stream = connect_from(FLOOD_FROM, addr).await.expect("connect");
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: relay\r\n")
            .await
            .expect("start the headers");
        held.push(stream);
    }
    // Accepted connections are counted in order; give the relay a moment to count these.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut over = connect_from(FLOOD_FROM, addr).await.expect("connect");
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(2), over.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "connection {} from one address was not closed at once: {read:?}",
        CAP + 1
    );

    let answer = relay.post_signed(&body_with_id("wev_other_address")).await;
    assert_eq!(answer.status, 202, "{answer:?}");

    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = connect_from(FLOOD_FROM, addr).await.expect("connect");
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), again.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let log = relay
        .wait_for_log("refusing connections over the cap")
        .await;
    assert!(log.contains("--max-connections-per-client"), "{log}");
}
