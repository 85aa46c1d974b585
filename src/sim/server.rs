//! Serving a simulator: bind 127.0.0.1:0, serve an axum router whose connections can be reset,
//! and stop gracefully. Shared by the Tableau and GitHub simulators.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::conn::{ConnKill, KillableListener};

/// How long `shutdown` waits for in-flight requests before it stops serving regardless.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A simulator serving in a background task. Dropping it stops the server too (gracefully, in
/// the background).
pub(super) struct SimServer {
    url: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

/// A bound, not yet serving, simulator address: the URL is known before the router is built
/// (the Tableau simulator writes it into `webpageUrl`s).
pub(super) struct Bound {
    name: &'static str,
    listener: TcpListener,
    url: String,
}

impl Bound {
    /// Binds 127.0.0.1:0; `name` labels log lines and errors.
    pub(super) async fn new(name: &'static str) -> anyhow::Result<Bound> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .with_context(|| format!("failed to bind the {name} simulator to 127.0.0.1"))?;
        let addr = listener
            .local_addr()
            .with_context(|| format!("failed to read the {name} simulator's address"))?;
        Ok(Bound {
            name,
            listener,
            url: format!("http://{addr}"),
        })
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Serves `router` in a background task.
    pub(super) fn serve(self, router: Router) -> SimServer {
        let Bound {
            name,
            listener,
            url,
        } = self;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(
                KillableListener(listener),
                router.into_make_service_with_connect_info::<ConnKill>(),
            )
            // Fires on `shutdown` and also when the sender is dropped with the simulator.
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::warn!(%error, "{name} sim: server stopped with an error");
            }
        });
        tracing::debug!(%url, "{name} sim: listening");
        SimServer { url, stop, server }
    }
}

impl SimServer {
    /// A server whose serving task was started elsewhere (the TLS front door): `stop` ends it.
    pub(super) fn spawned(url: String, stop: oneshot::Sender<()>, server: JoinHandle<()>) -> Self {
        Self { url, stop, server }
    }

    /// Where it listens, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Stop serving: open connections finish their requests (for up to 5 s), then the server ends.
    pub(super) async fn shutdown(self) {
        let Self { stop, server, .. } = self;
        let _ = stop.send(());
        let abort = server.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
            abort.abort();
        }
    }
}
