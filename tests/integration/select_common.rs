//! Shared by the `--select` tests (exposures and lineage): the dbt Cloud simulator, a signed
//! event that reads its artifacts, a dbt Core `target/` folder, and the targets a run selected.

use std::collections::BTreeSet;

use dbt_tableau_refresh::sim::dbt_cloud::{DbtCloudSim, DbtCloudSimConfig, SAMPLE_DBT_TOKEN};

use crate::common::{Invocation, Run, completed_body};

/// `(kind, name, selected_by)` of each target.
pub(crate) type Selected = BTreeSet<(String, String, Vec<String>)>;

pub(crate) async fn dbt(config: DbtCloudSimConfig) -> DbtCloudSim {
    DbtCloudSim::start(config)
        .await
        .expect("dbt cloud simulator starts")
}

/// A signed event for the sample run with `select`, artifacts from the dbt Cloud simulator at
/// `dbt_url`.
pub(crate) fn selecting(tableau_url: &str, dbt_url: &str, select: &str) -> Invocation {
    let body = completed_body("4242", "Success", 10);
    Invocation::refresh(tableau_url)
        .signed(&body)
        .env("TABLEAU_SELECT", select)
        .env("DBT_CLOUD_URL", dbt_url)
        .env("DBT_CLOUD_API_TOKEN", SAMPLE_DBT_TOKEN)
}

/// A folder with `manifest` and `run_results`, as a dbt Core `target/`.
pub(crate) fn artifacts_dir(
    manifest: &serde_json::Value,
    results: &serde_json::Value,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).expect("manifest");
    std::fs::write(dir.path().join("run_results.json"), results.to_string()).expect("results");
    dir
}

/// `(kind, name, selected_by)` of every job.
pub(crate) fn targets(run: &Run) -> Selected {
    run.jobs()
        .iter()
        .map(|job| {
            (
                job["kind"].as_str().unwrap_or_default().to_string(),
                job["name"].as_str().unwrap_or_default().to_string(),
                job["selected_by"]
                    .as_array()
                    .expect("selected_by is a list")
                    .iter()
                    .map(|s| s.as_str().unwrap_or_default().to_string())
                    .collect(),
            )
        })
        .collect()
}

pub(crate) fn target(kind: &str, name: &str, reasons: &[&str]) -> (String, String, Vec<String>) {
    (
        kind.to_string(),
        name.to_string(),
        reasons.iter().map(|r| r.to_string()).collect(),
    )
}
