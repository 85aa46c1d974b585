//! Usage errors of `refresh` (exit 2) where a workflow can see them: one error annotation per
//! problem, a short job summary naming every problem, and `status=failed` with empty `jobs`, so
//! `if: steps.refresh.outputs.status == 'failed'` catches them like any other failure.

use super::config::UsageError;
use super::render::md;
use crate::actions::{self, Console};
use crate::exit;

/// Reports `problems` on the console and, in Actions, in the summary and outputs. Returns exit 2.
pub fn report(console: Console, problems: &[UsageError]) -> u8 {
    let problems: Vec<String> = problems.iter().map(|problem| problem.0.clone()).collect();
    for problem in &problems {
        console.error("Invalid input", problem);
    }
    record(console, &problems);
    exit::USAGE
}

/// Writes the summary and the outputs for `problems`, where the Actions files are set. A file
/// that cannot be written is said on the console; the exit code stays 2.
pub fn record(console: Console, problems: &[String]) {
    if let Some(path) = actions::path_from_env("GITHUB_STEP_SUMMARY")
        && let Err(err) = actions::summary::append(&path, &markdown(problems))
    {
        console.error("Job summary", &format!("{err:#}"));
    }
    if let Some(path) = actions::path_from_env("GITHUB_OUTPUT")
        && let Err(err) = actions::outputs::write(&path, &outputs())
    {
        console.error("Step outputs", &format!("{err:#}"));
    }
}

/// The job summary of a usage error.
pub fn markdown(problems: &[String]) -> String {
    let mut out = String::from("## ❌ Tableau refresh: failed\n\n");
    let fix = if problems.len() == 1 {
        "Fix this input".to_string()
    } else {
        format!("Fix these {} inputs", problems.len())
    };
    out.push_str(&format!(
        "**The step's inputs are not usable**, so nothing was done (exit code 2). {fix}:\n\n"
    ));
    for problem in problems {
        out.push_str(&format!("- {}\n", md(problem)));
    }
    out.push('\n');
    out
}

/// The step outputs of a usage error: failed, no targets, no dbt event.
pub fn outputs() -> Vec<(&'static str, String)> {
    vec![
        ("status", "failed".to_string()),
        ("jobs", "[]".to_string()),
        ("dbt-job-id", String::new()),
        ("dbt-run-id", String::new()),
    ]
}

/// The problem in a command-line error from clap (unknown flag, malformed value): its first
/// paragraph, without the `error: ` prefix, the usage and the help pointer.
pub fn from_clap(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let head = text.split("\n\n").next().unwrap_or_default().trim();
    head.strip_prefix("error: ").unwrap_or(head).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_gets_a_line_and_markdown_is_escaped() {
        let text = markdown(&["A is not set".into(), "B `x|y` is <bad>".into()]);
        assert!(
            text.starts_with("## ❌ Tableau refresh: failed\n\n"),
            "{text}"
        );
        assert!(text.contains("Fix these 2 inputs:"), "{text}");
        assert!(text.contains("- A is not set\n"), "{text}");
        assert!(text.contains("- B \\`x\\|y\\` is \\<bad\\>\n"), "{text}");
        assert_eq!(outputs()[0], ("status", "failed".to_string()));
    }
}
