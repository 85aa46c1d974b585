//! The `refresh` command: event ▸ plan ▸ run ▸ report, and where the report goes (job summary,
//! step outputs, terminal).

pub mod config;
mod credentials;
mod event;
pub mod lineage;
pub mod render;
pub mod report;
pub mod run;
mod select;
mod targets;
pub mod usage;

use crate::actions::{self, Console};
use crate::cli::RefreshArgs;
use crate::exit;
use report::Status;

/// Runs `refresh` and returns the exit code.
pub async fn command(args: RefreshArgs) -> u8 {
    let console = Console::from_env();
    let config = match config::Config::from_args(args) {
        Ok(config) => config,
        Err(problems) => return usage::report(console, &problems),
    };
    // Hide the secrets before anything from outside (the dbt event, Tableau's answers) is printed.
    // The runner already masks workflow secrets; this also covers values passed some other way.
    config.connection.credentials.mask(&console);
    for key in &config.keys {
        console.mask(key);
    }
    let report = run::run(&config, console, chrono::Utc::now()).await;
    let mut code = match report.status {
        Status::Success | Status::Skipped => exit::SUCCESS,
        Status::Failed => exit::FAILED,
    };
    let markdown = render::markdown(&report);
    match actions::path_from_env("GITHUB_STEP_SUMMARY") {
        Some(path) => {
            if let Err(err) = actions::summary::append(&path, &markdown) {
                console.error("Job summary", &format!("{err:#}"));
                code = exit::FAILED;
            }
        }
        None => console.report(&markdown),
    }
    if let Some(path) = actions::path_from_env("GITHUB_OUTPUT")
        && let Err(err) = actions::outputs::write(&path, &render::outputs(&report))
    {
        console.error("Step outputs", &format!("{err:#}"));
        code = exit::FAILED;
    }
    if report.status == Status::Failed {
        let reason = report.reason.clone().unwrap_or_else(|| {
            let failed = report
                .targets
                .iter()
                .filter(|t| t.outcome.is_failure())
                .count();
            format!(
                "{failed} of {} targets did not refresh",
                report.targets.len()
            )
        });
        console.error("Tableau refresh failed", &reason);
    }
    code
}
