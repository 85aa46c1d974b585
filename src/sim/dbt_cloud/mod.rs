//! A dbt Cloud Administrative API v2 simulator on 127.0.0.1: Get Run with its steps
//! (`include_related=["run_steps"]`) and run artifacts per step (`step` parameter; omitted = the
//! last step), with dbt's token check (`Authorization: Token …` or `Bearer …`) and its error
//! bodies, and switches for 401, 403 and missing artifacts (404). It serves the sample project of
//! [`project`]; whether the artifacts' `step` counts dbt Cloud's own steps is not documented, so
//! both numberings can be played.

pub mod project;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::server::{Bound, SimServer};
pub use project::SimStep;

/// The token the sample accepts.
pub const SAMPLE_DBT_TOKEN: &str = "dbtc_sim_service_token";
/// Account and run of the sample (the integration tests' webhook bodies use these).
pub const SAMPLE_ACCOUNT_ID: u64 = 51798;
pub const SAMPLE_RUN_ID: u64 = 318_275_016;

/// Which answer the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimMode {
    #[default]
    Normal,
    /// Every call: 401 (a token of another account or host).
    Unauthorized,
    /// Every call: 403 (a token without the permission).
    Forbidden,
    /// Get Run works; every artifact is 404 (a job that saved none).
    NoArtifacts,
}

/// How the artifacts' `step` parameter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepNumbering {
    /// `step=N` is `run_steps[].index` N (clone and profile count).
    #[default]
    AllSteps,
    /// `step=N` is the N-th step that ran dbt.
    DbtCommandsOnly,
}

#[derive(Debug, Clone)]
pub struct DbtCloudSimConfig {
    pub account_id: u64,
    pub run_id: u64,
    pub token: String,
    pub mode: SimMode,
    pub numbering: StepNumbering,
    pub manifest: Value,
    pub steps: Vec<SimStep>,
    /// Answer Get Run without `run_steps` even when asked (an API that ignores
    /// `include_related`): the client can then only ask for the last step's artifacts.
    pub hide_run_steps: bool,
}

impl DbtCloudSimConfig {
    /// The sample project and run, the sample token, normal answers.
    pub fn sample() -> Self {
        Self {
            account_id: SAMPLE_ACCOUNT_ID,
            run_id: SAMPLE_RUN_ID,
            token: SAMPLE_DBT_TOKEN.into(),
            mode: SimMode::Normal,
            numbering: StepNumbering::AllSteps,
            manifest: project::manifest(),
            steps: project::steps(),
            hide_run_steps: false,
        }
    }

    pub fn with_mode(mut self, mode: SimMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn without_run_steps(mut self) -> Self {
        self.hide_run_steps = true;
        self
    }

    pub fn with_numbering(mut self, numbering: StepNumbering) -> Self {
        self.numbering = numbering;
        self
    }
}

/// What the simulator saw.
#[derive(Debug, Clone, Default)]
pub struct DbtCloudSimStats {
    /// Path and query of every request, in order.
    pub requests: Vec<String>,
}

struct Shared {
    config: DbtCloudSimConfig,
    stats: Mutex<DbtCloudSimStats>,
}

/// A running simulator.
pub struct DbtCloudSim {
    server: SimServer,
    shared: Arc<Shared>,
}

impl DbtCloudSim {
    pub async fn start(config: DbtCloudSimConfig) -> anyhow::Result<DbtCloudSim> {
        let bound = Bound::new("dbt cloud").await?;
        let shared = Arc::new(Shared {
            config,
            stats: Mutex::new(DbtCloudSimStats::default()),
        });
        let app = Router::new()
            .fallback(entry)
            .with_state(Arc::clone(&shared));
        Ok(DbtCloudSim {
            server: bound.serve(app),
            shared,
        })
    }

    /// e.g. `http://127.0.0.1:41234`: what `DBT_CLOUD_URL` is set to.
    pub fn url(&self) -> String {
        self.server.url().to_owned()
    }

    pub fn stats(&self) -> DbtCloudSimStats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// dbt's error envelope.
fn error(status: StatusCode, user_message: &str) -> Response {
    let body = json!({
        "status": {"code": status.as_u16(), "is_success": false, "user_message": user_message, "developer_message": null},
        "data": null,
    });
    (status, axum::Json(body)).into_response()
}

fn success(data: Value) -> Response {
    let body = json!({
        "status": {"code": 200, "is_success": true, "user_message": "Success!", "developer_message": ""},
        "data": data,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn entry(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    shared
        .stats
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .requests
        .push(uri.to_string());
    let config = &shared.config;
    let authorised = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Token ")
                .or_else(|| v.strip_prefix("Bearer "))
        })
        .is_some_and(|token| token == config.token);
    if !authorised || config.mode == SimMode::Unauthorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "Invalid token or missing authentication header.",
        );
    }
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (account, run, rest) = match parts.as_slice() {
        ["api", "v2", "accounts", account, "runs", run, rest @ ..] => (*account, *run, rest),
        _ => return error(StatusCode::NOT_FOUND, "Not found."),
    };
    if config.mode == SimMode::Forbidden {
        return error(
            StatusCode::FORBIDDEN,
            "You do not have permission to perform this action.",
        );
    }
    if account != config.account_id.to_string() || run != config.run_id.to_string() {
        return error(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        );
    }
    match rest {
        [] => get_run(config, &query),
        ["artifacts", name] => artifact(config, name, &query),
        _ => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

fn get_run(config: &DbtCloudSimConfig, query: &HashMap<String, String>) -> Response {
    let mut data = json!({
        "id": config.run_id,
        "account_id": config.account_id,
        "job_definition_id": 4242,
        "status": 10,
        "status_humanized": "Success",
        "in_progress": false,
        "is_complete": true,
        "is_success": true,
        "artifacts_saved": config.mode != SimMode::NoArtifacts,
        "has_docs_generated": true,
        "trigger": null,
    });
    // Steps come only when asked for (`include_related=["run_steps"]`, URL-encoded or not).
    if !config.hide_run_steps
        && query
            .get("include_related")
            .is_some_and(|related| related.contains("run_steps"))
    {
        let steps: Vec<Value> = config
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                json!({
                    "id": 90_000 + i,
                    "run_id": config.run_id,
                    "account_id": config.account_id,
                    "index": i + 1,
                    "status": 10,
                    "status_humanized": "Success",
                    "name": step.name,
                    "logs": "",
                    "duration": "00:00:05",
                })
            })
            .collect();
        data["run_steps"] = Value::Array(steps);
    }
    success(data)
}

fn artifact(config: &DbtCloudSimConfig, name: &str, query: &HashMap<String, String>) -> Response {
    let missing = || {
        error(
            StatusCode::NOT_FOUND,
            "The requested artifact was not found.",
        )
    };
    if config.mode == SimMode::NoArtifacts {
        return missing();
    }
    let step_param = query.get("step").map(|n| n.parse::<usize>());
    let step = match step_param {
        Some(Ok(n)) if n >= 1 => match config.numbering {
            StepNumbering::AllSteps => config.steps.get(n - 1),
            StepNumbering::DbtCommandsOnly => {
                config.steps.iter().filter(|s| s.dbt_command).nth(n - 1)
            }
        },
        Some(_) => return error(StatusCode::BAD_REQUEST, "step must be a positive integer."),
        None => config.steps.last(),
    };
    let Some(step) = step else { return missing() };
    let Some(results) = &step.run_results else {
        return missing();
    };
    match name {
        "run_results.json" => (StatusCode::OK, axum::Json(results.clone())).into_response(),
        "manifest.json" => (StatusCode::OK, axum::Json(config.manifest.clone())).into_response(),
        _ => missing(),
    }
}
