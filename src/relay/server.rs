//! Running the relay: the binary's `command` (configuration ▸ listen ▸ serve until SIGTERM or
//! Ctrl-C), `start` for running it in-process, the HTTP/1 server with its header-read timeout,
//! graceful shutdown, and the one log line per request.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::answer::LogFields;
use super::{RelayConfig, RelayState, app};
use crate::cli::RelayArgs;
use crate::dbt::decision::printable;
use crate::exit;

/// How long a shutdown waits for requests in flight. Each is bounded by the request timeout, so
/// this is only reached by a client that stalls its connection.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(12);

/// How long a client may take to send a request's headers, and how long a kept-alive connection
/// may wait for its next request. dbt Cloud sends its few hundred bytes of headers at once, so
/// 5 s is generous; a client slower than that is broken or hostile. (Node's HTTP server closes
/// idle kept-alive connections after 5 s too.)
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The binary's entry point. Exit status: 0 after a clean shutdown, 2 for a configuration error,
/// 1 when the relay cannot listen.
pub async fn command(args: RelayArgs) -> u8 {
    let config = match RelayConfig::from_args(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return exit::USAGE;
        }
    };
    let relay = match start(config).await {
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

/// Validated configuration in, a listening relay out. Logs one "listening on ADDR" line.
pub async fn start(config: RelayConfig) -> anyhow::Result<RelayHandle> {
    let listen = config.listen;
    let repository = config.repository.to_string();
    let state = RelayState::new(config)?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {listen}: {err}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(state), async move {
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
/// closes kept-alive connections idle that long. The rest matches `axum::serve`: accept errors
/// (out of descriptors) pause the loop instead of ending it, and a shutdown stops accepting, closes
/// idle connections and waits for the requests in flight.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // Each connection task holds a receiver: `send` asks them to finish, `closed` waits for them.
    let (stopping, stop) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            // axum's `Listener::accept`, not the inherent one: it retries after accept errors.
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
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
        });
    }
    drop(listener);
    drop(stop);
    let _ = stopping.send(());
    stopping.closed().await;
    Ok(())
}

/// One line per request: method, path, status, latency, outcome and the dbt event id (once the
/// body was verified). Never the body, never a header. Health checks log at debug level, so that a
/// platform probing every few seconds does not drown the webhooks.
pub(super) async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
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
