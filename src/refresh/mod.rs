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
use crate::cli::{Format, RefreshArgs, ReportArgs};
use crate::exit;
use report::Status;

/// Runs `refresh` and returns the exit code.
pub async fn command(args: RefreshArgs) -> u8 {
    let destinations = args.report.clone();
    let console = match destinations.format {
        Format::Json => Console::from_env().without_stdout(),
        Format::Text => Console::from_env(),
    };
    let config = match config::Config::from_args(args) {
        Ok(config) => config,
        Err(problems) => return usage::report(console, &problems, &destinations),
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
    let outputs = render::outputs(&report);
    if !deliver(console, &markdown, &outputs, &destinations) {
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
                "{failed} of {} did not refresh",
                crate::plural::count(report.targets.len(), "target", "targets")
            )
        });
        console.error("Tableau refresh failed", &reason);
    }
    print_result(&outputs, &destinations);
    code
}

/// Writes the summary and the outputs where they go: the job summary in Actions, else the
/// terminal; `--summary-file`; `$GITHUB_OUTPUT`. Returns false when a file could not be
/// written (said on the console).
fn deliver(
    console: Console,
    markdown: &str,
    outputs: &[(&'static str, String)],
    destinations: &ReportArgs,
) -> bool {
    let mut written = true;
    match actions::path_from_env("GITHUB_STEP_SUMMARY") {
        Some(path) => {
            if let Err(err) = actions::summary::append(&path, markdown) {
                console.error("Job summary", &format!("{err:#}"));
                written = false;
            }
        }
        None => console.report(markdown),
    }
    if let Some(path) = destinations
        .summary_file
        .as_deref()
        .filter(|path| !path.as_os_str().is_empty())
        && let Err(err) = actions::summary::write_file(path, markdown)
    {
        console.error("Summary file", &format!("{err:#}"));
        written = false;
    }
    if let Some(path) = actions::path_from_env("GITHUB_OUTPUT")
        && let Err(err) = actions::outputs::write(&path, outputs)
    {
        console.error("Step outputs", &format!("{err:#}"));
        written = false;
    }
    written
}

/// `--format json`: the outputs as one JSON document, the only line on standard output.
fn print_result(outputs: &[(&'static str, String)], destinations: &ReportArgs) {
    if destinations.format == Format::Json {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", actions::outputs::json_line(outputs));
        let _ = out.flush();
    }
}
