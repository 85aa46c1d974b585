//! `run_results.json`, reduced to the command that wrote it (`args.which`) and each node's status.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::{ArtifactError, shape_message};

/// The commands whose results mean "this node was (re)built". `retry` re-runs the failed nodes
/// of a `build`/`run` (dbt Cloud's "rerun from failure"). Never `generate` (`dbt docs generate`),
/// `compile`, `test`, `list`: their run_results list nodes that were not built.
pub const BUILDING_COMMANDS: [&str; 5] = ["run", "build", "seed", "snapshot", "retry"];

#[derive(Debug, Default, Deserialize)]
pub struct RunResults {
    #[serde(default)]
    pub args: Args,
    #[serde(default)]
    pub results: Vec<NodeResult>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Args {
    /// `build`, `run`, `generate` (docs generate), … Missing in run_results before dbt 1.0.
    #[serde(default)]
    pub which: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NodeResult {
    pub unique_id: String,
    /// `success`, `error`, `skipped`, `partial success`, `no-op`; tests: `pass`, `fail`, `warn`.
    #[serde(default)]
    pub status: String,
}

impl RunResults {
    pub fn from_slice(bytes: &[u8], what: &str) -> Result<RunResults, ArtifactError> {
        serde_json::from_slice(bytes).map_err(|err| shape(err, what))
    }

    pub fn from_reader(reader: impl Read, what: &str) -> Result<RunResults, ArtifactError> {
        serde_json::from_reader(std::io::BufReader::new(reader)).map_err(|err| shape(err, what))
    }

    /// Reads `path` whole, then parses it (faster than a reader, as for the manifest).
    pub fn from_path(path: &Path) -> Result<RunResults, ArtifactError> {
        let what = path.display().to_string();
        let bytes = super::manifest::read_file(path, &what)?;
        Self::from_slice(&bytes, &what)
    }

    /// The command that wrote it, as typed after `dbt` (`args.which` is `generate` for
    /// `dbt docs generate`), `?` when unknown.
    pub fn command(&self) -> &str {
        match self.args.which.as_deref() {
            Some("generate") => "docs generate",
            Some(which) => which,
            None => "?",
        }
    }

    /// Whether its results are nodes this command built.
    pub fn built_nodes(&self) -> bool {
        self.args
            .which
            .as_deref()
            .is_some_and(|which| BUILDING_COMMANDS.contains(&which))
    }
}

fn shape(err: serde_json::Error, what: &str) -> ArtifactError {
    ArtifactError::Shape {
        what: what.to_string(),
        kind: "run_results",
        message: shape_message(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_generate_is_not_a_build() {
        let build = RunResults::from_slice(
            br#"{"metadata":{},"args":{"which":"build","select":[]},"results":[{"unique_id":"model.a.b","status":"success","timing":[]}],"elapsed_time":1.0}"#,
            "t",
        )
        .expect("parses");
        assert!(build.built_nodes());
        assert_eq!(build.results[0].status, "success");
        let docs = RunResults::from_slice(
            br#"{"args":{"which":"generate"},"results":[{"unique_id":"model.a.b","status":"success"}]}"#,
            "t",
        )
        .expect("parses");
        assert!(!docs.built_nodes());
        let old = RunResults::from_slice(br#"{"results":[]}"#, "t").expect("parses");
        assert!(!old.built_nodes());
        assert_eq!(old.command(), "?");
    }
}
