//! The `relay` command: an HTTP server that takes dbt Cloud webhooks, verifies them, and sends them
//! to a GitHub repository as repository_dispatch events (DESIGN.md, the `relay` contract).
//!
//! `app` builds the router (tests drive it with `oneshot`); `start` binds and serves in the
//! background and returns a [`RelayHandle`] (the demo runs the relay in-process); `command` is the
//! binary's entry point: configuration from flags and environment, then serve until SIGTERM/Ctrl-C.
//!
//! ```no_run
//! # async fn demo(args: dbt_tableau_refresh::cli::RelayArgs) -> anyhow::Result<()> {
//! use dbt_tableau_refresh::relay::{RelayConfig, start};
//! let mut config = RelayConfig::from_args(&args)?;
//! config.listen = "127.0.0.1:0".parse()?;
//! let relay = start(config).await?;
//! println!("send webhooks to {}", relay.url());
//! relay.shutdown().await;
//! # Ok(()) }
//! ```

mod answer;
mod auth;
pub mod config;
mod credentials;
mod dedupe;
mod dispatch;
mod handler;
pub mod limits;
pub mod log;
mod payload;
mod server;
mod startcheck;
mod webhook;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;

pub use config::{ConfigError, RelayConfig, Repository};
pub use credentials::{AppCredentials, GitHubAuth};
pub use server::{HEADER_READ_TIMEOUT, MAX_HEADER_BYTES, RelayHandle, command, serve, start};
pub use webhook::{BODY_READ_TIMEOUT, MAX_BODY_BYTES};

use answer::Answer;
use dedupe::Dedupe;
use dispatch::Dispatcher;

/// What the handlers share: the configuration, the GitHub client, the memory of event ids and the
/// slots for verified webhooks.
#[derive(Clone)]
pub struct RelayState(Arc<Shared>);

pub(crate) struct Shared {
    config: RelayConfig,
    dispatcher: Dispatcher,
    dedupe: Arc<Dedupe>,
    /// `concurrency_limit` permits; a webhook takes one only once its signature checked out.
    slots: Semaphore,
}

impl RelayState {
    /// Builds the GitHub client. Must run inside a tokio runtime (octocrab starts a worker task).
    pub fn new(config: RelayConfig) -> Result<Self, ConfigError> {
        let client = auth::GitHubClient::new(&config)?;
        let dispatcher = Dispatcher::new(client, config.repository.clone());
        let dedupe = Dedupe::new(config.dedupe_window(), dedupe::CAPACITY);
        let slots = Semaphore::new(config.concurrency_limit.max(1));
        Ok(Self(Arc::new(Shared {
            config,
            dispatcher,
            dedupe,
            slots,
        })))
    }

    pub fn config(&self) -> &RelayConfig {
        &self.0.config
    }

    fn keys(&self) -> &[crate::secret::Secret] {
        &self.0.config.keys
    }
}

/// The relay's router: `POST /` (the webhook, with its body limit), `GET /healthz`, with the
/// request log and panic catching.
///
/// No timeout layer wraps the webhook: a timeout there could answer 503 after GitHub accepted the
/// dispatch (dbt would then retry and the event be sent twice). The handler keeps its own
/// deadlines instead, all counted from the request's arrival: the body within
/// [`BODY_READ_TIMEOUT`], then a slot, dedupe and the dispatch within the dispatch budget.
/// Concurrency is limited inside the handler too, after the signature check, so that unsigned
/// clients cannot hold the slots.
pub fn app(state: RelayState) -> Router {
    let webhook = post(handler::webhook)
        // The extractor checks the declared length first; this bounds the bytes actually read.
        .layer::<_, Infallible>(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let routes = Router::new()
        .route("/", webhook)
        .route("/healthz", get(healthz))
        .fallback(not_found);
    with_common_layers(routes).with_state(state)
}

/// The layers every route gets. They run outside-in from the last one added: log (which also
/// stamps the request's arrival) ▸ catch panics ▸ route. (A function of its own so that a test can
/// put a panicking route inside them.)
fn with_common_layers(routes: Router<RelayState>) -> Router<RelayState> {
    routes
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(server::access_log))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> Answer {
    Answer::not_found()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::secret::Secret;

    pub(crate) const KEY: &str = "relay-unit-test-key";

    /// A relay state whose GitHub is a closed port: fine for everything that never dispatches.
    pub(crate) async fn state() -> RelayState {
        let config = RelayConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            keys: vec![Secret::new(KEY)],
            repository: Repository::parse("acme/analytics").expect("repository"),
            github: GitHubAuth::Token(Secret::new("ghp_unit")),
            github_api_url: "http://127.0.0.1:9".into(),
            event_types: vec!["job.run.completed".into()],
            max_event_age: Some(Duration::from_secs(3600)),
            dispatch_budget: Duration::from_secs(1),
            concurrency_limit: 4,
            max_connections_per_client: limits::DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        };
        RelayState::new(config).expect("state")
    }

    #[tokio::test]
    async fn health_and_unknown_paths() {
        let app = app(state().await);
        let ok = app
            .clone()
            .oneshot(
                Request::get("/healthz")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(ok.status(), StatusCode::OK);
        let missing = app
            .clone()
            .oneshot(Request::get("/hook").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let wrong_method = app
            .oneshot(Request::get("/").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    /// No request reaches a panic in the relay's own code (the one known panic in octocrab's
    /// dispatch builder is avoided, see dispatch.rs), so this puts a panicking route inside the
    /// relay's layers: the answer is a bare 500 that holds nothing of the panic message, and the
    /// service keeps answering.
    #[tokio::test]
    async fn a_panic_becomes_a_500_that_shows_nothing_of_it_and_the_relay_keeps_serving() {
        const SECRET: &str = "ghp_panicMessageSecret0123456789";
        let state = state().await;
        let routes = Router::new()
            .route(
                "/panic",
                get(|| async {
                    if SECRET.starts_with("ghp_") {
                        panic!("simulated failure holding {SECRET}");
                    }
                    "unreachable"
                }),
            )
            .route("/healthz", get(healthz));
        let app = with_common_layers(routes).with_state(state.clone());
        let response = app
            .clone()
            .oneshot(Request::get("/panic").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let headers = format!("{:?}", response.headers());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.contains(SECRET) && !body.contains("simulated"),
            "{body}"
        );
        assert!(!headers.contains(SECRET), "{headers}");
        let ok = app
            .oneshot(
                Request::get("/healthz")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
