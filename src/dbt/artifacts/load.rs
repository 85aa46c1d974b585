//! Where a run's artifacts come from: a folder (`DBT_ARTIFACTS_DIR`, dbt Core's `target/`) or
//! the dbt Cloud run of the event, step by step. Either way the result is the manifest and what
//! the run built.

use std::path::Path;

use futures_util::StreamExt;

use super::manifest::Manifest;
use super::run_results::RunResults;
use super::selection::{Built, built_nodes};
use crate::dbt::cloud::{CloudClient, CloudError, step_builds};

/// The manifest and what the run built, with where they came from.
#[derive(Debug)]
pub struct RunArtifacts {
    pub manifest: Manifest,
    pub built: Built,
    /// For the report: "dbt Cloud run 318 (steps 4, 5)", "the folder target".
    pub source: String,
}

/// Why the artifacts could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The run has no artifacts to read (404, or no step that built anything): with `listed`
    /// targets the run goes on with a warning.
    #[error("{0}")]
    Missing(String),
    /// Anything else (token, permission, network, broken files): the run fails.
    #[error("{0}")]
    Failed(String),
}

/// Reads `manifest.json` and `run_results.json` from `dir`.
pub fn from_dir(dir: &Path) -> Result<RunArtifacts, LoadError> {
    let shown = dir.display();
    for name in ["manifest.json", "run_results.json"] {
        if !dir.join(name).is_file() {
            return Err(LoadError::Missing(format!(
                "{shown} has no {name}: point dbt-artifacts-dir (DBT_ARTIFACTS_DIR) at the \
                 target/ folder of the `dbt build` (or run/seed/snapshot) that ran before this step"
            )));
        }
    }
    let results = RunResults::from_path(&dir.join("run_results.json"))
        .map_err(|err| LoadError::Failed(err.to_string()))?;
    if !results.built_nodes() {
        return Err(LoadError::Missing(format!(
            "{shown}/run_results.json was written by `dbt {}`, which builds nothing (a `dbt docs \
             generate` rewrites it listing every node): run this step before docs generate, or \
             point dbt-artifacts-dir at a copy of target/ taken right after the build",
            results.command()
        )));
    }
    let manifest = Manifest::from_path(&dir.join("manifest.json"))
        .map_err(|err| LoadError::Failed(err.to_string()))?;
    let built = built_nodes([("run_results.json".to_string(), &results)]);
    Ok(RunArtifacts {
        manifest,
        built,
        source: format!("the folder {shown}"),
    })
}

/// How many artifact downloads run at once.
const CONCURRENT_DOWNLOADS: usize = 4;

/// Reads run `run` of `account` from dbt Cloud: Get Run for its steps, every step's
/// run_results.json (keeping those of commands that build), and the manifest of the last
/// building step. Every step number is tried because whether the artifacts' `step` counts dbt
/// Cloud's own steps (clone, profile) is not documented: asking each and reading `args.which`
/// is right either way, and the docs-generate step is recognised by its content.
pub async fn from_cloud(
    client: &CloudClient,
    account: &str,
    run: &str,
) -> Result<RunArtifacts, LoadError> {
    let details = client.run(account, run).await.map_err(failed)?;
    let count = details
        .run_steps
        .iter()
        .filter_map(|s| s.index)
        .max()
        .unwrap_or(0)
        .max(i64::try_from(details.run_steps.len()).unwrap_or(0));
    let steps: Vec<Option<u32>> = if count > 0 {
        (1..=u32::try_from(count).unwrap_or(0)).map(Some).collect()
    } else {
        vec![None]
    };
    let answers = futures_util::stream::iter(steps.iter().map(|&step| async move {
        let answer = client
            .artifact(account, run, "run_results.json", step)
            .await;
        (step, answer)
    }))
    .buffered(CONCURRENT_DOWNLOADS)
    .collect::<Vec<_>>()
    .await;
    let mut read: Vec<(Option<u32>, RunResults)> = Vec::new();
    for (step, answer) in answers {
        match answer {
            Ok(bytes) => {
                let label = step_label(step);
                let results =
                    RunResults::from_slice(&bytes, &format!("run_results.json of {label}"))
                        .map_err(|err| LoadError::Failed(err.to_string()))?;
                read.push((step, results));
            }
            Err(CloudError::NotFound(_)) => {}
            Err(err) => return Err(failed(err)),
        }
    }
    let building: Vec<Option<u32>> = read
        .iter()
        .filter(|(_, r)| r.built_nodes())
        .map(|(step, _)| *step)
        .collect();
    let Some(&last_build) = building.last() else {
        let named: Vec<String> = details
            .run_steps
            .iter()
            .filter_map(|s| s.name.as_deref())
            .filter(|name| step_builds(name))
            .map(|name| {
                format!(
                    "`{}`",
                    name.chars()
                        .filter(|c| !c.is_control())
                        .take(80)
                        .collect::<String>()
                )
            })
            .collect();
        let found = if read.is_empty() {
            "no run_results.json at all".to_string()
        } else {
            format!(
                "only results of {}",
                read.iter()
                    .map(|(step, r)| format!("`dbt {}` ({})", r.command(), step_label(*step)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(LoadError::Missing(format!(
            "dbt Cloud run {run} has {found}, so what it built is unknown{}. The job must run \
             `dbt build`, `dbt run`, `dbt seed` or `dbt snapshot`, and its artifacts must still \
             be kept (runs whose artifacts were not saved, or that failed before a build step, \
             have none){}",
            if named.is_empty() {
                String::new()
            } else {
                format!(" (steps that look like builds: {})", named.join(", "))
            },
            if details.artifacts_saved == Some(false) {
                "; dbt Cloud says this run saved no artifacts"
            } else {
                ""
            }
        )));
    };
    let manifest_bytes = client
        .artifact(account, run, "manifest.json", last_build)
        .await
        .map_err(|err| match err {
            CloudError::NotFound(what) => LoadError::Missing(format!(
                "dbt Cloud has no {what}: without the manifest the exposures are unknown"
            )),
            other => failed(other),
        })?;
    let manifest = Manifest::from_slice(
        &manifest_bytes,
        &format!("manifest.json of {}", step_label(last_build)),
    )
    .map_err(|err| LoadError::Failed(err.to_string()))?;
    drop(manifest_bytes);
    let built = built_nodes(read.iter().map(|(step, r)| (step_label(*step), r)));
    let steps = building
        .iter()
        .map(|s| s.map(|n| n.to_string()).unwrap_or_else(|| "last".into()))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(RunArtifacts {
        manifest,
        built,
        source: format!(
            "dbt Cloud run {run} ({} {steps})",
            if building.len() == 1 { "step" } else { "steps" }
        ),
    })
}

fn step_label(step: Option<u32>) -> String {
    match step {
        Some(step) => format!("step {step}"),
        None => "the last step".into(),
    }
}

fn failed(err: CloudError) -> LoadError {
    match err {
        CloudError::NotFound(what) => LoadError::Failed(format!(
            "dbt Cloud has no {what}: check that the event's account and run belong to the host \
             in DBT_CLOUD_URL (regional and single-tenant accounts have their own host)"
        )),
        other => LoadError::Failed(other.to_string()),
    }
}
