//! The `refresh` command: event ▸ plan ▸ run ▸ report, and where the report goes (job summary,
//! step outputs, terminal).

pub mod config;
mod event;
pub mod render;
pub mod report;
pub mod run;
mod select;
mod targets;

use crate::actions::{self, Console};
use crate::cli::RefreshArgs;
use crate::exit;
use report::Status;

/// Runs `refresh` and returns the exit code.
pub async fn command(args: RefreshArgs) -> u8 {
    let console = Console::from_env();
    let config = match config::Config::from_args(args) {
        Ok(config) => config,
        Err(err) => {
            console.error("Invalid input", &err.0);
            return exit::USAGE;
        }
    };
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
        None => println!("{markdown}"),
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
