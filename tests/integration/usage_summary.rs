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
    // In Actions the action's inputs are named, not the variables behind them.
    assert!(
        credentials.contains(
            "set inputs tableau-api-token-name and tableau-api-token-secret for a personal access \
             token, or inputs tableau-connected-app-client-id,"
        ),
        "{credentials}"
    );
    assert!(!summary.contains("TABLEAU_"), "{summary}");
    for name in ["input dbt-webhook-key", "input tableau-site-url"] {
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
        "`Nightly build` in input dbt-job-ids",
        "input tableau-site-url `not a url` is not a URL",
        "input api-version `three`",
        "nothing to refresh: list workbooks or data sources in inputs workbooks or datasources",
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
            .contains("::error title=Invalid input::invalid value 'soon' for input timeout:"),
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
    // Off Actions, the flags and variables are named, never the action's inputs.
    for named in [
        "--site-url (TABLEAU_SITE_URL) is not set",
        "set TABLEAU_API_TOKEN_NAME and TABLEAU_API_TOKEN_SECRET for a personal access token",
    ] {
        assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("input "), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_laptop_every_problem_names_the_flag_or_variable() {
    let run = Invocation::refresh("not a url")
        .terminal()
        .env(
            "DBT_WEBHOOK_PAYLOAD",
            &completed_body("4242", "Success", 10),
        )
        .env("DBT_JOB_IDS", "Nightly build")
        .env("TABLEAU_TIMEOUT", "60m")
        .arg("--api-version")
        .arg("three")
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    for problem in [
        "`Nightly build` in --dbt-job-id (DBT_JOB_IDS) is not a dbt job id",
        "--site-url (TABLEAU_SITE_URL) `not a url` is not a URL",
        "--api-version (TABLEAU_API_VERSION) `three`",
        "nothing to refresh: list workbooks or data sources in --workbook (TABLEAU_WORKBOOKS) or \
         --datasource (TABLEAU_DATASOURCES)",
    ] {
        assert!(run.stderr.contains(problem), "{problem}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("input "), "{}", run.stderr);

    // A malformed value the parser catches: named by flag and variable, since it may have come
    // from either.
    let run = Invocation::refresh("https://tableau.example.com")
        .terminal()
        .env("TABLEAU_TIMEOUT", "soon")
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("invalid value 'soon' for --timeout (TABLEAU_TIMEOUT)"),
        "{}",
        run.stderr
    );
}
