//! The Tableau Metadata API (`POST /api/metadata/graphql`): a real GraphQL schema for the subset
//! of Tableau's the project uses (names, arguments and nullability as Tableau publishes them, so
//! a misspelt field fails validation as on the server), its lineage derived from the simulator's
//! REST content plus [`SimMetadata`], and the API's error modes (`FEATURE_DISABLED`,
//! `RATE_EXCEEDED`, `BACKFILL_RUNNING`, `NODE_LIMIT_EXCEEDED`) switched at run time through
//! [`super::FaultHandle`]. docs/metadata-sim.md lists what is served and where each fact comes from.

mod answer;
mod config;
mod lineage;
mod paging;
mod resolve;
mod schema;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub(super) use config::validate;
pub use config::{SimCustomSql, SimEmbeddedDatasource, SimMetadata, SimPublishedLineage, SimTable};

use super::model::SimConfig;
use super::reply::{JSON, Reply};
use super::state::{State, lock};

/// The schema and lineage, built once at start-up.
pub(super) struct Service {
    schema: async_graphql::dynamic::Schema,
    enabled: bool,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// The run-time switches and counter behind `FaultHandle::set_metadata_*`.
#[derive(Debug, Default)]
pub(super) struct Runtime {
    /// GraphQL requests still to refuse with `RATE_EXCEEDED`.
    pub(super) rate_exceeded: usize,
    pub(super) backfill: bool,
    /// `None` = Tableau's default of 20 000.
    pub(super) node_limit: Option<usize>,
    /// GraphQL requests received (faulted, refused and unauthenticated ones included).
    pub(super) requests: usize,
}

impl Service {
    /// Build from a config that passed `validate`.
    pub(super) fn new(config: &SimConfig) -> anyhow::Result<Self> {
        let graph = Arc::new(lineage::Graph::new(config));
        Ok(Self {
            schema: schema::build(resolve::Data { graph })?,
            enabled: config.metadata.enabled,
        })
    }

    /// The schema in SDL, for tests that compare it with Tableau's.
    #[cfg(test)]
    fn sdl(&self) -> String {
        self.schema.sdl()
    }

    /// Answer an authenticated GraphQL request from a session on the site `site` (contentUrl).
    pub(super) async fn serve(
        &self,
        state: &std::sync::Mutex<State>,
        site: &str,
        body: &Bytes,
    ) -> Reply {
        let request: async_graphql::Request = match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(error) => {
                let answer =
                    json!({"errors": [{"message": format!("Invalid request body: {error}")}]});
                return Reply::raw(StatusCode::BAD_REQUEST, Some(JSON), answer.to_string());
            }
        };
        if !self.enabled {
            return ok(&answer::feature_disabled());
        }
        let (backfill, node_limit) = {
            let mut state = lock(state);
            let runtime = &mut state.metadata;
            if runtime.rate_exceeded > 0 {
                runtime.rate_exceeded -= 1;
                return ok(&answer::rate_exceeded());
            }
            (runtime.backfill, runtime.node_limit)
        };
        let response = self
            .schema
            .execute(request.data(resolve::Site(site.to_owned())))
            .await;
        let mut answer = match serde_json::to_value(&response) {
            Ok(Value::Object(map)) => map,
            _ => return Reply::canned("500000"),
        };
        answer::classify_request_errors(&mut answer);
        answer::enforce_node_limit(
            &mut answer,
            node_limit.unwrap_or(answer::DEFAULT_NODE_LIMIT),
        );
        if backfill {
            answer::push_error(&mut answer, answer::backfill_running());
        }
        ok(&Value::Object(answer))
    }
}

/// GraphQL answers, errors included, come with HTTP 200.
fn ok(answer: &Value) -> Reply {
    Reply::raw(StatusCode::OK, Some(JSON), answer.to_string())
}

#[cfg(test)]
mod tests;
