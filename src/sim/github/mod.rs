//! A GitHub REST API simulator on 127.0.0.1 with the endpoints the relay uses: repository
//! dispatches (with GitHub's authentication, limits and 422s), the repository (`GET
//! /repos/{owner}/{repo}`, the relay's start-up check), and for GitHub App authentication the
//! repository installation lookup and installation access tokens (the app JWT's RS256 signature and
//! `iss` are checked). Fault switches script answers per route (5xx, rate limits with `Retry-After`
//! or `x-ratelimit-reset`, latency, reset connections), draw them at random for a share of the
//! requests (seeded), and can take the whole API "down".
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use dbt_tableau_refresh::sim::github::{Fault, GitHubSim, GitHubSimConfig, Route};
//! let sim = GitHubSim::start(GitHubSimConfig::new("acme/analytics").with_token("ghp_test")).await?;
//! sim.faults().inject(Route::Dispatch, Fault::status(500), 1);
//! // … point the relay at sim.url() …
//! assert_eq!(sim.stats().dispatches.len(), 1);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod app;
mod endpoints;
mod faults;
mod handlers;
mod state;

use std::sync::{Arc, Mutex};

use axum::Router;

pub use faults::{Fault, FaultHandle, RandomFaults, Route};
pub use state::{GitHubSimStats, SimAuth, SimDispatch, SimRequest, SimTokenRequest};

use super::server::{Bound, SimServer};
use handlers::Shared;
use state::{State, lock};

/// GitHub's limit on `event_type`.
pub const MAX_EVENT_TYPE_CHARS: usize = 100;
/// GitHub's limit on the top-level properties of `client_payload`.
pub const MAX_CLIENT_PAYLOAD_PROPERTIES: usize = 10;
/// GitHub's limit on the size of `client_payload` (as serialised JSON, in characters).
pub const MAX_CLIENT_PAYLOAD_CHARS: usize = 65_535;
/// How long installation tokens live, as on GitHub.
const ONE_HOUR: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// What the simulated GitHub knows.
#[derive(Clone, Debug, Default)]
pub struct GitHubSimConfig {
    /// Repositories that exist, as `owner/name`.
    pub repositories: Vec<String>,
    /// Tokens (PATs) accepted for dispatches to every repository above.
    pub tokens: Vec<String>,
    /// A GitHub App, for installation-token authentication.
    pub app: Option<SimApp>,
}

/// A GitHub App and its one installation.
#[derive(Clone, Debug)]
pub struct SimApp {
    pub app_id: u64,
    /// The app's public key (PEM, `BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`): JWTs must be signed
    /// with the matching private key.
    pub public_key_pem: String,
    pub installation_id: u64,
    /// Repositories (`owner/name`) the installation covers.
    pub installed_on: Vec<String>,
}

impl GitHubSimConfig {
    /// One repository, no credentials yet.
    pub fn new(repository: &str) -> Self {
        Self {
            repositories: vec![repository.to_owned()],
            ..Self::default()
        }
    }

    /// Also accept this token.
    pub fn with_token(mut self, token: &str) -> Self {
        self.tokens.push(token.to_owned());
        self
    }

    /// Add a GitHub App.
    pub fn with_app(mut self, app: SimApp) -> Self {
        self.app = Some(app);
        self
    }
}

/// A running simulator. Dropping it stops the server too (gracefully, in the background).
pub struct GitHubSim {
    server: SimServer,
    state: Arc<Mutex<State>>,
}

impl GitHubSim {
    /// Bind 127.0.0.1:0 and serve in a background tokio task.
    pub async fn start(config: GitHubSimConfig) -> anyhow::Result<GitHubSim> {
        let app = config.app.as_ref().map(app::AppVerifier::new).transpose()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::new(Shared {
            config,
            app,
            state: Arc::clone(&state),
        });
        let router = Router::new().fallback(handlers::entry).with_state(shared);
        let server = Bound::new("github").await?.serve(router);
        Ok(GitHubSim { server, state })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash): the relay's
    /// `--github-api-url`.
    pub fn url(&self) -> String {
        self.server.url().to_owned()
    }

    /// Runtime fault switches; clones share the simulator's state.
    pub fn faults(&self) -> FaultHandle {
        FaultHandle {
            state: Arc::clone(&self.state),
        }
    }

    /// A snapshot of what the simulator saw.
    pub fn stats(&self) -> GitHubSimStats {
        lock(&self.state).stats.clone()
    }

    /// Stop serving: open connections finish their requests (for up to 5 s), then the server ends.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
