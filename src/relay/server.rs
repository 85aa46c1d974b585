//! Running the relay: the binary's `command` (configuration ▸ listen ▸ serve until SIGTERM or
//! Ctrl-C), `start` for running it in-process, the HTTP/1 server with its header-read timeout,
//! header-size cap and connection caps, graceful shutdown, and the one log line per request
//! (which also stamps each request's arrival).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::answer::LogFields;
use super::limits::{ConnectionLimits, MAX_CONNECTIONS, Refusal};
use super::startcheck::{self, StartCheck};
use super::{RelayConfig, RelayState, app};
use crate::cli::RelayArgs;
use crate::dbt::decision::printable;
use crate::exit;

/// How long a shutdown waits for requests in flight. Each webhook ends by its dispatch budget (8 s
/// from its arrival), so this is only reached by a client that stalls its connection.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(12);

/// How long a client may take to send a request's headers, and how long a kept-alive connection
/// may wait for its next request. dbt Cloud sends its few hundred bytes of headers at once, so
/// 5 s is generous; a client slower than that is broken or hostile. (Node's HTTP server closes
/// idle kept-alive connections after 5 s too.)
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// hyper's read buffer per connection, which bounds a request's line and headers: a bigger header
/// block is answered 431 and the connection closed. hyper's default (about 400 KB) let 1 500
/// connections that never finished their headers take the relay from 7 MB to 544 MB. dbt Cloud
/// sends well under 1 KiB of headers (a 64-digit signature among them), so 16 KiB is plenty.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// When a request arrived: its headers had been read and it reached the router. Every deadline of
/// the webhook counts from here (the body read, the slot, the dispatch), so that a slow upload
/// eats into the same 10 s dbt Cloud allows, instead of starting the clock again after it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arrival(pub(crate) Instant);

/// The binary's entry point. Exit status: 0 after a clean shutdown, 2 for a configuration error,
/// 1 when the relay cannot listen or GitHub refuses its credentials or repository at start.
///
/// The order: configuration, bind (a taken port is found without asking GitHub), the start-up
/// check against GitHub, then serve.
pub async fn command(args: RelayArgs) -> u8 {
    let config = match RelayConfig::from_args(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return exit::USAGE;
        }
    };
    let bound = async {
        let state = RelayState::new(config)?;
        let listener = bind(state.config().listen).await?;
        anyhow::Ok((state, listener))
    };
    let (state, listener) = match bound.await {
        Ok(bound) => bound,
        Err(err) => {
            eprintln!("error: {err:#}");
            return exit::FAILED;
        }
    };
    if let StartCheck::Refused(fix) = startcheck::check(&state).await {
        eprintln!("error: GitHub refused the relay's credentials at start: {fix}");
        return exit::FAILED;
    }
    let relay = match serve_on(state, listener) {
        Ok(relay) => relay,
        Err(err) => {
            eprintln!("error: {err:#}");
            return exit::FAILED;
        }
    };
    crate::signal::shutdown().await;
    tracing::info!("shutting down: finishing the requests in flight");
    relay.shutdown().await;
    tracing::info!("stopped");
    exit::SUCCESS
}

/// A relay serving in the background. Dropping the handle also stops it (gracefully, without
/// waiting); `shutdown` waits for the requests in flight.
pub struct RelayHandle {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

impl RelayHandle {
    /// The address it listens on (the real port when the configuration asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, where dbt Cloud (or a test) posts webhooks.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets the requests in flight finish, then returns.
    pub async fn shutdown(self) {
        let Self { stop, server, .. } = self;
        let _ = stop.send(());
        let abort = server.abort_handle();
        match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "the server stopped with an error"),
            Ok(Err(error)) => tracing::warn!(%error, "the server task failed"),
            Err(_) => {
                tracing::warn!("requests still in flight after the grace period were dropped");
                abort.abort();
            }
        }
    }
}

/// Validated configuration in, a listening relay out. Logs one "listening on ADDR" line. (No
/// start-up check: that is the binary's [`command`]; the demo and tests start relays directly.)
pub async fn start(config: RelayConfig) -> anyhow::Result<RelayHandle> {
    let state = RelayState::new(config)?;
    let listener = bind(state.config().listen).await?;
    serve_on(state, listener)
}

async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {listen}: {err}"))
}

/// Serves in the background on a bound listener.
fn serve_on(state: RelayState, listener: TcpListener) -> anyhow::Result<RelayHandle> {
    let repository = state.config().repository.to_string();
    let per_client = state.config().max_connections_per_client;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(state), per_client, async move {
        let _ = stopped.await;
    }));
    tracing::info!(%repository, "listening on {addr}");
    Ok(RelayHandle { addr, stop, server })
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
///
/// HTTP/1 through hyper directly rather than `axum::serve`: axum gives hyper no timer, so hyper's
/// header-read timeout is off there, and a client that trickles its headers (slowloris), or opens
/// a connection and sends nothing, holds a connection and a task for as long as it likes. Here
/// every connection must deliver a request's headers within [`HEADER_READ_TIMEOUT`], which also
/// closes kept-alive connections idle that long, and in at most [`MAX_HEADER_BYTES`]. At most
/// [`MAX_CONNECTIONS`] are open at once, and at most `max_connections_per_client` from one client
/// address (0: no per-client cap); a connection over either cap is closed as soon as it is
/// accepted. The rest matches `axum::serve`: accept errors (out of descriptors) pause the loop
/// instead of ending it, and a shutdown stops accepting, closes idle connections and waits for the
/// requests in flight.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    max_connections_per_client: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits::new(MAX_CONNECTIONS, max_connections_per_client);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    // Each connection task holds a receiver: `send` asks them to finish, `closed` waits for them.
    let (stopping, stop) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // axum's `Listener::accept`, not the inherent one: it retries after accept errors.
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let admitted = match limits.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                drop(stream);
                report_refusals(&limits, refusal, max_connections_per_client);
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(stop);
            drop(admitted);
        });
    }
    drop(listener);
    drop(stop);
    let _ = stopping.send(());
    stopping.closed().await;
    Ok(())
}

/// A warning, at most every few seconds, that connections are being refused: which cap, and how
/// many since the last warning. Never the addresses (they are the flood's, and many).
fn report_refusals(limits: &ConnectionLimits, last: Refusal, per_client: usize) {
    if let Some(refused) = limits.refusals_to_report(std::time::Instant::now()) {
        let cap = match last {
            Refusal::Full => format!("{MAX_CONNECTIONS} connections in all"),
            Refusal::ClientFull => {
                format!("{per_client} connections from one address (--max-connections-per-client)")
            }
        };
        tracing::warn!(
            refused,
            "refusing connections over the cap of {cap}; a flood, or a proxy whose clients all \
             share its address"
        );
    }
}

/// One line per request: method, path, status, latency, outcome and the dbt event id (once the
/// body was verified). Never the body, never a header. Health checks log at debug level, so that a
/// platform probing every few seconds does not drown the webhooks. It runs first, so it also
/// stamps the request's [`Arrival`].
pub(super) async fn access_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The earliest stamp wins (a test may stamp a request before it reaches the router).
    if request.extensions().get::<Arrival>().is_none() {
        request.extensions_mut().insert(Arrival(started));
    }
    let method = request.method().clone();
    let path = printable(request.uri().path());
    let response = next.run(request).await;
    let latency = format!("{:.1}ms", started.elapsed().as_secs_f64() * 1_000.0);
    let status = response.status().as_u16();
    let fields = response
        .extensions()
        .get::<LogFields>()
        .cloned()
        .unwrap_or_default();
    let event_id = fields.event_id.as_deref().unwrap_or("-");
    let outcome = match fields.outcome {
        "" if status == 503 => "timeout",
        "" if status >= 500 => "error",
        "" => "-",
        outcome => outcome,
    };
    if path == "/healthz" {
        tracing::debug!(%method, path, status, %latency, "request");
    } else {
        tracing::info!(%method, path, status, %latency, outcome, event_id, "request");
    }
    response
}
