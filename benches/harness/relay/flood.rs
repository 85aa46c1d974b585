//! The relay under a header flood (issue 10, finding 4): 1 500 connections from 15 loopback
//! addresses, each sending 400 KB of headers that never end and opening again whenever the relay
//! closes it, for a fixed time. Measured: the relay's peak resident memory, and a signed webhook
//! from another address sent in the middle of it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::process::{Relay, start, stop};
use super::{KEY, load};
use crate::measure::status_kib;

/// The reproduction's numbers: 1 500 connections, 400 KB of headers each.
pub(super) const CONNECTIONS: usize = 1_500;
pub(super) const HEADER_BYTES: usize = 400_000;
/// From this many addresses (127.0.0.10 and up), 100 each: the per-address cap (128) lets all of
/// one address's connections in, so the overall cap (512) is what turns the rest away.
pub(super) const ADDRESSES: u8 = 15;
/// How long the flood lasts; the signed webhook goes out at its middle.
pub(super) const LENGTH: Duration = Duration::from_secs(6);

/// What the flood did and what it cost.
pub(super) struct HeaderFlood {
    pub(super) idle_kib: u64,
    pub(super) peak_kib: u64,
    /// Connections the flood opened in all (each worker opens again when the relay closes one).
    pub(super) opened: usize,
    /// The signed webhook's status (0: no answer) and latency.
    pub(super) webhook_status: u16,
    pub(super) webhook_latency: Duration,
}

async fn connect_from(source: Ipv4Addr, relay: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(relay).await
}

/// One flooding connection after another from `source` until `until`: a request line, then header
/// lines of 1 000 bytes up to `HEADER_BYTES`, never the blank line that ends them, then silence
/// until the relay closes the connection.
async fn worker(relay: SocketAddr, source: Ipv4Addr, until: Instant, opened: Arc<AtomicUsize>) {
    let line = format!("X-Pad: {}\r\n", "x".repeat(991));
    while Instant::now() < until {
        let Ok(Ok(mut stream)) = tokio::time::timeout_at(until, connect_from(source, relay)).await
        else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        let mut written = 0;
        if stream
            .write_all(b"POST / HTTP/1.1\r\nHost: relay\r\n")
            .await
            .is_ok()
        {
            while written < HEADER_BYTES {
                match tokio::time::timeout_at(until, stream.write_all(line.as_bytes())).await {
                    Ok(Ok(())) => written += line.len(),
                    _ => break,
                }
            }
        }
        let mut buffer = [0u8; 1024];
        let _ = tokio::time::timeout_at(until, stream.read(&mut buffer)).await;
    }
}

/// Starts a fresh relay, floods it for [`LENGTH`], sends one signed webhook from 127.0.0.1 in the
/// middle, and reads the relay's peak memory before stopping it.
pub(super) async fn header_flood(binary: &str, github_url: &str) -> anyhow::Result<HeaderFlood> {
    let (relay, _ready) = start(binary, github_url).await?;
    let result = run(&relay).await;
    stop(relay).await?;
    result
}

async fn run(relay: &Relay) -> anyhow::Result<HeaderFlood> {
    let pid = relay.pid().to_string();
    let idle_kib = status_kib(&pid, "VmRSS:").unwrap_or_default();
    let addr: SocketAddr = relay.url.trim_start_matches("http://").parse()?;
    let until = Instant::now() + LENGTH;
    let opened = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for n in 0..CONNECTIONS {
        let source = Ipv4Addr::new(127, 0, 0, 10 + (n % usize::from(ADDRESSES)) as u8);
        workers.spawn(worker(addr, source, until, Arc::clone(&opened)));
    }
    tokio::time::sleep(LENGTH / 2).await;
    dbt_tableau_refresh::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .timeout(Duration::from_secs(10))
        .build()?;
    let webhook = load::webhooks(KEY, "header-flood", 1);
    let sent = Instant::now();
    let webhook_status = load::post(&client, &format!("{}/", relay.url), &webhook[0]).await;
    let webhook_latency = sent.elapsed();
    while workers.join_next().await.is_some() {}
    // The peak over the relay's life, which began just before the flood.
    let peak_kib = status_kib(&pid, "VmHWM:").unwrap_or_default();
    Ok(HeaderFlood {
        idle_kib,
        peak_kib,
        opened: opened.load(Ordering::Relaxed),
        webhook_status,
        webhook_latency,
    })
}
