//! A Tableau REST API simulator on 127.0.0.1 that behaves like the real server as
//! `reference/tableau-rest.md` describes it, quirks included (XML unless `Accept: application/json`,
//! XML or JSON request bodies, one session per PAT, `{}` for empty lists, numbers as strings, 409093
//! while a refresh is pending, 400065 for `,` `&` `:` in filters), with runtime fault injection for the
//! client's tests, the demo and the benchmarks. The official Python client runs against it in
//! `tests/tsc_client.rs`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use dbt_tableau_refresh::sim::tableau::{Fault, FaultBody, Route, SimConfig, TableauSim};
//! let sim = TableauSim::start(SimConfig::sample()).await?;
//! let throttled = Fault::Status { status: 429, body: FaultBody::Html, retry_after: Some("1".into()) };
//! sim.faults().inject(Route::QueryJob, throttled, 1);
//! // … point the client at sim.url() …
//! assert_eq!(sim.stats().sessions_killed_by_resignin, 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod connected_app;
mod content;
mod dialect;
mod faults;
mod filter;
pub mod front_door;
mod handlers;
mod jobs;
mod metadata;
mod model;
mod reply;
mod routes;
pub mod sample;
mod state;
mod xml;

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::Router;

pub use connected_app::SimConnectedApp;
pub use faults::{Fault, FaultBody, FaultHandle, Route};
pub use metadata::{
    SimCustomSql, SimEmbeddedDatasource, SimMetadata, SimPublishedLineage, SimTable,
};
pub use model::{SimConfig, SimItem, SimJobBehaviour, SimProject};
pub use state::{SimRequest, SimStats};

use super::server::{Bound, SimServer};
use handlers::Shared;
use state::{State, lock};

/// A running simulator. Dropping it stops the server too (gracefully, in the background).
pub struct TableauSim {
    server: SimServer,
    state: Arc<Mutex<State>>,
}

impl TableauSim {
    /// Bind 127.0.0.1:0 and serve in a background tokio task.
    pub async fn start(config: SimConfig) -> anyhow::Result<TableauSim> {
        let bound = Bound::new("tableau").await?;
        let (app, state) = app(config, bound.url())?;
        Ok(TableauSim {
            server: bound.serve(app),
            state,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash); for a
    /// [`front_door::TableauCloudSim`], the front door (`https://online.tableau.com:PORT`).
    pub fn url(&self) -> String {
        self.server.url().to_owned()
    }

    /// Runtime fault switches; clones share the simulator's state.
    pub fn faults(&self) -> FaultHandle {
        FaultHandle {
            state: Arc::clone(&self.state),
        }
    }

    /// A snapshot of the counters and the request log.
    pub fn stats(&self) -> SimStats {
        lock(&self.state).snapshot()
    }

    /// Stop serving: open connections finish their requests (for up to 5 s), then the server ends.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The simulator's router and state, answering as the server at `url` (used in `webpageUrl`s).
/// [`TableauSim::start`] serves it on plain HTTP; `front_door` wraps it and serves it over TLS.
fn app(config: SimConfig, url: &str) -> anyhow::Result<(Router, Arc<Mutex<State>>)> {
    config
        .validate()
        .context("invalid Tableau simulator config")?;
    let version = routes::parse_version(&config.rest_api_version)
        .context("rest_api_version is not MAJOR.MINOR")?;
    let state = Arc::new(Mutex::new(State::new(config.latency)));
    let shared = Arc::new(Shared {
        catalog: content::Catalog::new(&config, url),
        metadata: metadata::Service::new(&config)
            .context("could not build the Metadata API schema")?,
        version,
        config,
        state: Arc::clone(&state),
    });
    // One fallback handler: routing, versions and error bodies follow Tableau, not axum.
    let app = Router::new().fallback(handlers::entry).with_state(shared);
    Ok((app, state))
}
