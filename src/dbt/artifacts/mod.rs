//! dbt's run artifacts and what they say about a run: `manifest.json` and `run_results.json`
//! (only the fields used), which nodes the run built, and which declared exposures that affects.

pub mod exposures;
pub mod load;
pub mod manifest;
pub mod run_results;
pub mod selection;

pub use manifest::{Exposure, Manifest, Node};
pub use run_results::{NodeResult, RunResults};
pub use selection::{Affected, Built, ExposureVerdict, affected_exposures, built_nodes};

/// Why an artifact could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read {what}: {message}")]
    Read { what: String, message: String },
    #[error("{what} is not a dbt {kind} ({message})")]
    Shape {
        what: String,
        kind: &'static str,
        message: String,
    },
}

/// serde_json's messages can quote values from the input; keep the category and position only.
fn shape_message(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax => format!(
            "invalid JSON at line {} column {}",
            err.line(),
            err.column()
        ),
        Category::Eof => "truncated JSON".into(),
        Category::Io => "unreadable".into(),
        // Data errors name our own fields (`missing field `results``), not input values.
        Category::Data => {
            let text = err.to_string();
            let cut = text.find(" at line").unwrap_or(text.len());
            text[..cut]
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect()
        }
    }
}
