//! Usage errors of `refresh` (exit 2) where a workflow can see them: one error annotation per
//! problem, a short job summary naming every problem, and `status=failed` with empty `jobs`, so
//! `if: steps.refresh.outputs.status == 'failed'` catches them like any other failure.

use clap::CommandFactory as _;
use clap::error::{ContextKind, ContextValue};

use super::config::UsageError;
use super::render::md;
use crate::actions::{self, Console};
use crate::cli::{Cli, ReportArgs};
use crate::exit;
use crate::inputs::{self, Input, Naming};

/// Reports `problems` on the console and, in Actions, in the summary and outputs; also to
/// `--summary-file` and, with `--format json`, as the JSON result. Returns exit 2.
pub fn report(console: Console, problems: &[UsageError], destinations: &ReportArgs) -> u8 {
    let problems: Vec<String> = problems.iter().map(|problem| problem.0.clone()).collect();
    for problem in &problems {
        console.error("Invalid input", problem);
    }
    record(console, &problems, destinations);
    exit::USAGE
}

/// Writes the summary and the outputs for `problems` where they go: the Actions files when set
/// (no report on the terminal, where the problems were just said), `--summary-file`, the JSON
/// result. A file that cannot be written is said on the console; the exit code stays 2.
pub fn record(console: Console, problems: &[String], destinations: &ReportArgs) {
    let markdown = markdown(problems);
    if let Some(path) = actions::path_from_env("GITHUB_STEP_SUMMARY")
        && let Err(err) = actions::summary::append(&path, &markdown)
    {
        console.error("Job summary", &format!("{err:#}"));
    }
    if let Some(path) = destinations
        .summary_file
        .as_deref()
        .filter(|path| !path.as_os_str().is_empty())
        && let Err(err) = actions::summary::write_file(path, &markdown)
    {
        console.error("Summary file", &format!("{err:#}"));
    }
    let outputs = outputs();
    if let Some(path) = actions::path_from_env("GITHUB_OUTPUT")
        && let Err(err) = actions::outputs::write(&path, &outputs)
    {
        console.error("Step outputs", &format!("{err:#}"));
    }
    super::print_result(&outputs, destinations);
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
    named_from_clap(err, Naming::from_env())
}

/// [`from_clap`], with the option named as `naming` says: a malformed value may have come from
/// the environment or an action input, so `'--timeout <DUR>'` becomes `input timeout` in Actions
/// and `--timeout (TABLEAU_TIMEOUT)` elsewhere.
pub fn named_from_clap(err: &clap::Error, naming: Naming) -> String {
    let text = clap_text(err, naming);
    let head = text.split("\n\n").next().unwrap_or_default().trim();
    head.strip_prefix("error: ").unwrap_or(head).to_string()
}

/// clap's whole error text (plain, no colour), with the option named as in [`named_from_clap`].
pub fn clap_text(err: &clap::Error, naming: Naming) -> String {
    let problem = err.render().to_string();
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return problem;
    };
    let flag = arg.split([' ', '=']).next().unwrap_or_default();
    let command = Cli::command();
    let option = command.find_subcommand("refresh").and_then(|refresh| {
        refresh.get_arguments().find(|option| {
            option
                .get_long()
                .is_some_and(|long| flag == format!("--{long}"))
        })
    });
    let Some(env) = option
        .and_then(|option| option.get_env())
        .and_then(|env| env.to_str())
    else {
        return problem;
    };
    let name = naming.of(&Input {
        flag: Some(flag),
        env: Some(env),
        action: inputs::action_input_of(env),
    });
    problem.replacen(&format!("'{arg}'"), &name, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

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

    #[test]
    fn a_malformed_value_names_the_input_where_it_was_given() {
        let err = Cli::try_parse_from(["dbt-tableau-refresh", "refresh", "--timeout", "soon"])
            .expect_err("not a duration");
        let actions = named_from_clap(&err, Naming::actions());
        assert!(
            actions.starts_with("invalid value 'soon' for input timeout: `soon` is not a duration"),
            "{actions}"
        );
        let laptop = named_from_clap(&err, Naming::command_line());
        assert!(
            laptop.starts_with("invalid value 'soon' for --timeout (TABLEAU_TIMEOUT): "),
            "{laptop}"
        );
        // An option the action has no input for keeps its command-line name in Actions.
        let err = Cli::try_parse_from(["dbt-tableau-refresh", "refresh", "--concurrency", "99"])
            .expect_err("out of range");
        let actions = named_from_clap(&err, Naming::actions());
        assert!(
            actions.starts_with("invalid value '99' for --concurrency (TABLEAU_CONCURRENCY)"),
            "{actions}"
        );
        // No option to name: the message as clap wrote it.
        let err = Cli::try_parse_from(["dbt-tableau-refresh", "refresh", "--bogus"])
            .expect_err("unknown");
        assert_eq!(
            named_from_clap(&err, Naming::actions()),
            "unexpected argument '--bogus' found"
        );
    }
}
