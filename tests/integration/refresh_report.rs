//! `refresh` steps 7–8: the job summary, the outputs and the log, in Actions and in a terminal.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::sample::{FINANCE_PROJECT_ID, SAMPLE_PAT_SECRET};
use dbt_tableau_refresh::sim::tableau::{SimConfig, SimItem, SimJobBehaviour, TableauSim};

use crate::common::{Invocation, WEBHOOK_KEY, completed_body, redact};

async fn start() -> TableauSim {
    let mut config = SimConfig::sample().with_job_duration(Duration::from_millis(20));
    config.workbooks.push(
        SimItem::new(
            "1e000000-0000-4000-8000-000000000001",
            "Broken | <b>bold",
            Some(FINANCE_PROJECT_ID),
        )
        .with_job(SimJobBehaviour::failing(
            Duration::from_millis(20),
            "DataSourceException: Login failed for user 'etl'.",
        )),
    );
    TableauSim::start(config).await.expect("simulator starts")
}

fn mixed(url: &str) -> Invocation {
    let body = completed_body("4242", "Success", 10);
    Invocation::refresh(url)
        .signed(&body)
        .workbooks(&[
            "Finance/Quarterly/P&L, Q1: Actuals",
            "Broken | <b>bold",
            "Revenue Dashboard",
            "Live Sales",
            "Missing Workbook",
        ])
        .datasources(&["Orders"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_summary_and_outputs() {
    let sim = start().await;
    let run = mixed(&sim.url()).run().await;
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("summary_mixed", redact(&run.summary));
    let jobs: serde_json::Value = serde_json::from_str(run.output("jobs")).expect("json");
    insta::assert_snapshot!(
        "jobs_mixed",
        redact(&serde_json::to_string_pretty(&jobs).expect("json"))
    );
    assert_eq!(run.output("status"), "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_has_groups_annotations_and_masks_the_session_token() {
    let sim = start().await;
    let run = mixed(&sim.url()).run().await;
    for expected in [
        "::group::Verify the dbt Cloud event",
        "::group::Sign in to Tableau",
        "::group::Find the workbooks and data sources",
        "::group::Ask Tableau to refresh",
        "::group::Wait for the refresh jobs",
        "::endgroup::",
        "::error title=workbook not found::",
        "::error title=workbook `Revenue Dashboard`::",
        "::error title=Tableau refresh failed::",
        // Several targets: plural words.
        "Resolved 4 of 6 targets.",
        "targets did not refresh",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected}:\n{}",
            run.stdout
        );
    }
    let masks: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("::add-mask::"))
        .collect();
    // The PAT secret and the webhook key first, then the session token.
    assert_eq!(masks.len(), 3, "{}", run.stdout);
    assert_eq!(masks[..2], [SAMPLE_PAT_SECRET, WEBHOOK_KEY]);
    assert!(masks[2].len() >= 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_actions_the_report_goes_to_the_terminal() {
    let sim = start().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .terminal()
        .env("DBT_WEBHOOK_PAYLOAD", &body)
        .env("DBT_WEBHOOK_SIGNATURE", &crate::common::sign(&body))
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.summary.is_empty() && run.outputs.is_empty());
    assert!(
        !run.stdout.contains("::"),
        "no workflow commands off Actions"
    );
    assert!(
        run.stdout.starts_with("## ✅ Tableau refresh: success"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("Signed in to"), "{}", run.stderr);
    // One target: singular words, the lines the benchmark harness waits for.
    for line in [
        "Resolved 1 of 1 target.",
        "Queued 1 refresh.",
        "Waiting for 1 job,",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("(s)"), "{}", run.stderr);
    assert!(
        run.stderr.contains("data source Finance/Orders: succeeded"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_links_the_dbt_run() {
    let sim = start().await;
    let run = mixed(&sim.url())
        .env("DBT_CLOUD_URL", "https://emea.dbt.com")
        .run()
        .await;
    assert!(
        run.summary_text().contains(
            "[run 318275016](https://emea.dbt.com/deploy/51798/projects/270542/runs/318275016)"
        ),
        "{}",
        run.summary
    );
}
