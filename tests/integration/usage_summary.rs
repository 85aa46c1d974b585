//! Usage errors in Actions (exit 2) still write a job summary naming every problem and
//! `status=failed`, so a workflow's `if: steps.refresh.outputs.status == 'failed'` sees them.

use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, completed_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_missing_secrets_are_named_together_with_status_failed() {
    let sim = TableauSim::start(SimConfig::sample())
        .await
        .expect("simulator starts");
    let run = Invocation::refresh(&sim.url())
        .signed(&completed_body("4242", "Success", 10))
        .env("DBT_WEBHOOK_KEY", "")
        .env("TABLEAU_SITE_URL", "")
        .env("TABLEAU_API_TOKEN_NAME", "")
        .env("TABLEAU_API_TOKEN_SECRET", "")
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.output("status"), "failed");
    assert_eq!(run.output("jobs"), "[]");
    assert_eq!(run.output("dbt-job-id"), "");
    let summary = run.summary_text();
    assert!(summary.contains("Tableau refresh: failed"), "{summary}");
    // The two token variables are one problem (no credentials), which also names the
    // connected-app alternative.
    assert!(summary.contains("Fix these 3 inputs"), "{summary}");
    let credentials = summary
        .lines()
        .find(|line| line.starts_with("- no Tableau credentials"))
        .unwrap_or_else(|| panic!("a credentials line: {summary}"));
    for name in [
        "TABLEAU_API_TOKEN_NAME",
        "TABLEAU_API_TOKEN_SECRET",
        "TABLEAU_CONNECTED_APP_CLIENT_ID",
    ] {
        assert!(credentials.contains(name), "{name}: {credentials}");
    }
    for name in ["DBT_WEBHOOK_KEY", "TABLEAU_SITE_URL"] {
        assert_eq!(
            summary
                .lines()
                .filter(|line| line.starts_with(&format!("- {name} is not set")))
                .count(),
            1,
            "{name}: {summary}"
        );
        assert!(
            run.stdout
                .contains(&format!("::error title=Invalid input::{name} is not set")),
            "{name}: {}",
            run.stdout
        );
    }
    assert!(sim.stats().requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_of_different_inputs_are_named_together() {
    let run = Invocation::refresh("not a url")
        .signed(&completed_body("4242", "Success", 10))
        .env("DBT_JOB_IDS", "Nightly build")
        .env("TABLEAU_API_VERSION", "three")
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.output("status"), "failed");
    let summary = run.summary_text();
    for problem in [
        "dbt-job-ids entry `Nightly build`",
        "tableau-site-url `not a url` is not a URL",
        "api-version `three`",
        "nothing to refresh",
    ] {
        assert!(summary.contains(problem), "{problem}: {summary}");
    }
    assert!(summary.contains("Fix these 4 inputs"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_value_caught_by_the_parser_writes_the_summary_too() {
    let run = Invocation::refresh("https://tableau.example.com")
        .env("TABLEAU_TIMEOUT", "soon")
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.output("status"), "failed");
    assert!(
        run.summary_text()
            .contains("`soon` is not a duration like 90s, 60m or 24h"),
        "{}",
        run.summary
    );
    assert!(
        run.stdout
            .contains("::error title=Invalid input::invalid value 'soon'"),
        "{}",
        run.stdout
    );

    // Help is not an error: no summary, no outputs.
    let run = Invocation::refresh("https://tableau.example.com")
        .arg("--help")
        .run()
        .await;
    assert_eq!(run.code, 0);
    assert!(run.summary.is_empty(), "{}", run.summary);
    assert!(run.outputs.is_empty(), "{:?}", run.outputs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_laptop_a_usage_error_names_every_problem_on_stderr() {
    let run = Invocation::refresh("")
        .terminal()
        .without_env("TABLEAU_API_TOKEN_NAME")
        .without_env("TABLEAU_API_TOKEN_SECRET")
        .arg("--no-event")
        .workbooks(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // The site URL, and the credentials (one problem for the token pair).
    assert_eq!(
        run.stderr.matches("error: Invalid input:").count(),
        2,
        "{}",
        run.stderr
    );
}
