//! Running the relay: the binary's `command` (configuration ▸ listen ▸ serve until SIGTERM or
//! Ctrl-C), `start` for running it in-process, graceful shutdown, and the one log line per request.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::answer::LogFields;
use super::{RelayConfig, RelayState, app};
use crate::cli::RelayArgs;
use crate::dbt::decision::printable;
use crate::exit;

/// How long a shutdown waits for requests in flight. Each is bounded by the request timeout, so
/// this is only reached by a client that stalls its connection.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(12);

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
    shutdown_signal().await;
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
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// SIGTERM (container platforms, systemd) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
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
