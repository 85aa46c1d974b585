//! `--select exposures` (issue 11): what the dbt run built, read from the dbt Cloud simulator or
//! a folder, selects the Tableau items of the exposures downstream of it.

use std::time::Duration;

use dbt_tableau_refresh::sim::dbt_cloud::{
    DbtCloudSimConfig, SAMPLE_DBT_TOKEN, SimMode, StepNumbering, project,
};
use dbt_tableau_refresh::sim::tableau::sample::PNL_WORKBOOK_ID;
use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, completed_body};
use crate::select_common::{self, Selected, dbt, selecting as exposures, target, targets};

async fn tableau() -> TableauSim {
    TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("tableau simulator starts")
}

/// What the sample run selects: fct_orders (meta.tableau), dim_customers through the view
/// customer_orders (a url on another pod's host), the seed through views and an ephemeral model
/// (a views/ url); not revenue_forecast (fct_revenue failed), not legacy_report (untouched), and
/// nothing from the docs-generate step that lists every node as `success`.
fn sample_selection() -> Selected {
    [
        target(
            "workbook",
            "P&L, Q1: Actuals",
            &["exposure:orders_dashboard"],
        ),
        target("datasource", "Orders", &["exposure:orders_dashboard"]),
        target("datasource", "Customers", &["exposure:customer_health"]),
        target(
            "workbook",
            "Revenue Dashboard",
            &["exposure:payments_overview"],
        ),
    ]
    .into_iter()
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposures_downstream_of_what_the_dbt_cloud_run_built_are_refreshed() {
    let tableau = tableau().await;
    for numbering in [StepNumbering::AllSteps, StepNumbering::DbtCommandsOnly] {
        let cloud = dbt(DbtCloudSimConfig::sample().with_numbering(numbering)).await;
        let run = exposures(&tableau.url(), &cloud.url(), "exposures")
            .run()
            .await;
        assert_eq!(
            run.code, 0,
            "{numbering:?}\n{}\n{}",
            run.stdout, run.summary
        );
        assert_eq!(targets(&run), sample_selection(), "{numbering:?}");
        let revenue = run
            .jobs()
            .into_iter()
            .find(|job| job["name"] == "Revenue Dashboard")
            .expect("revenue");
        assert_eq!(
            revenue["project"], "Finance",
            "the views/ url names contentUrl RevenueDashboard"
        );
        let summary = run.summary_text();
        for expected in [
            "Considered, not refreshed",
            "exposure revenue_forecast",
            "fct_revenue (error)",
            "exposure churn_notebook",
            "names no Tableau item",
            "**1 exposure** — nothing upstream of them was built",
            "| Selected by |",
            "exposure:customer_health",
            "**exposure finance_kpis** — the workbook number 999 of its url is not on this site",
        ] {
            assert!(summary.contains(expected), "missing {expected}:\n{summary}");
        }
        let requests = cloud.stats().requests;
        assert!(
            requests.iter().any(|r| r.contains("include_related")),
            "{requests:?}"
        );
        assert!(
            requests
                .iter()
                .all(|r| !r.contains("/artifacts/") || r.contains("step=")),
            "every artifact is asked for by step: {requests:?}"
        );
        assert!(
            !run.everything().contains(SAMPLE_DBT_TOKEN),
            "the dbt token leaked"
        );
        cloud.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_and_exposure_targets_are_one_list_deduplicated_by_luid() {
    let tableau = tableau().await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = exposures(&tableau.url(), &cloud.url(), "listed,\nexposures")
        .workbooks(&[PNL_WORKBOOK_ID, "Scratchpad"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    let jobs = run.jobs();
    let pnl: Vec<_> = jobs
        .iter()
        .filter(|job| job["name"] == "P&L, Q1: Actuals")
        .collect();
    assert_eq!(pnl.len(), 1, "{jobs:?}");
    assert_eq!(
        pnl[0]["selected_by"],
        serde_json::json!(["listed", "exposure:orders_dashboard"])
    );
    assert_eq!(pnl[0]["reference"], PNL_WORKBOOK_ID);
    let scratch = jobs
        .iter()
        .find(|job| job["name"] == "Scratchpad")
        .expect("listed target kept");
    assert_eq!(scratch["selected_by"], serde_json::json!(["listed"]));
    assert_eq!(jobs.len(), 5, "{jobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_artifacts_fail_with_what_to_enable_unless_listed_gave_targets() {
    let tableau = tableau().await;
    let cloud = dbt(DbtCloudSimConfig::sample().with_mode(SimMode::NoArtifacts)).await;

    let run = exposures(&tableau.url(), &cloud.url(), "exposures")
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.summary);
    let summary = run.summary_text();
    assert!(
        summary.contains("Failed while reading what the dbt run built"),
        "{summary}"
    );
    assert!(summary.contains("`dbt build`"), "{summary}");
    assert!(
        tableau.stats().requests.is_empty(),
        "Tableau is not contacted when nothing can be selected"
    );

    let run = exposures(&tableau.url(), &cloud.url(), "listed,exposures")
        .workbooks(&["Finance/Quarterly/P&L, Q1: Actuals"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.summary);
    assert!(
        run.summary_text()
            .contains("Refreshing the listed targets only"),
        "{}",
        run.summary
    );
    assert!(
        run.stdout.contains("::warning title=No dbt artifacts::"),
        "{}",
        run.stdout
    );
    assert_eq!(run.jobs()[0]["selected_by"], serde_json::json!(["listed"]));
    assert_eq!(
        run.outcome("Finance/Quarterly/P&L, Q1: Actuals"),
        "succeeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_says_what_to_fix() {
    let tableau = tableau().await;
    for (mode, expected) in [
        (SimMode::Forbidden, "Job Viewer"),
        (SimMode::Unauthorized, "HTTP 401"),
    ] {
        let cloud = dbt(DbtCloudSimConfig::sample().with_mode(mode)).await;
        // Even with listed targets: a token problem is a configuration error to fix.
        let run = exposures(&tableau.url(), &cloud.url(), "listed,exposures")
            .workbooks(&["Scratchpad"])
            .run()
            .await;
        assert_eq!(run.code, 1, "{mode:?}: {}", run.summary);
        assert!(
            run.summary_text().contains(expected),
            "{mode:?}: {}",
            run.summary
        );
        assert!(!run.everything().contains(SAMPLE_DBT_TOKEN));
        cloud.shutdown().await;
    }
    // A wrong token gets dbt's 401 too.
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = exposures(&tableau.url(), &cloud.url(), "exposures")
        .env("DBT_CLOUD_API_TOKEN", "dbtc_wrong")
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("refused the token"),
        "{}",
        run.summary
    );
}

/// Writes a dbt `target/` folder: the sample manifest and the run_results of `results`.
fn artifacts_dir(results: &serde_json::Value) -> tempfile::TempDir {
    select_common::artifacts_dir(&project::manifest(), results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbt_artifacts_dir_selects_from_a_dbt_core_target_folder() {
    let tableau = tableau().await;
    let dir = artifacts_dir(&project::build_results());
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&tableau.url())
        .signed(&body)
        .env("TABLEAU_SELECT", "exposures")
        .env("DBT_ARTIFACTS_DIR", &dir.path().display().to_string())
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    // Only the build's results: the seed (payments_overview) was not part of this run.
    let mut expected = sample_selection();
    expected.retain(|(_, name, _)| name != "Revenue Dashboard");
    assert_eq!(targets(&run), expected);

    let docs = artifacts_dir(&project::docs_results());
    let run = Invocation::refresh(&tableau.url())
        .signed(&body)
        .env("TABLEAU_SELECT", "exposures")
        .env("DBT_ARTIFACTS_DIR", &docs.path().display().to_string())
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.summary);
    assert!(
        run.summary_text()
            .contains("`dbt docs generate`, which builds nothing"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_with_reasons() {
    let tableau = tableau().await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = exposures(&tableau.url(), &cloud.url(), "exposures")
        .env("TABLEAU_DRY_RUN", "true")
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.summary);
    for expected in [
        "Exposure orders_dashboard: fct_orders built in this run → data source Orders, workbook Finance/Quarterly/P&L, Q1: Actuals.",
        "Exposure customer_health: dim_customers built in this run, read through customer_orders → data source number 107 of its url.",
        "Exposure customer_health: dim_customers built in this run, read through customer_orders",
        "Exposure revenue_forecast: not refreshed, its upstream did not build: fct_revenue (error).",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected}:\n{}",
            run.stdout
        );
    }
    assert!(run.jobs().iter().all(|job| job["outcome"] == "dry-run"));
    assert_eq!(tableau.stats().refresh_posts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_usage_errors() {
    for (select, env, expected) in [
        ("listed,everything", None, "unknown source `everything`"),
        (
            "lineage",
            None,
            "`lineage` in input select needs the dbt run's artifacts",
        ),
        ("exposures", None, "needs the dbt run's artifacts"),
        (
            "exposures",
            Some(("DBT_ARTIFACTS_DIR", "/nonexistent/target")),
            "is not a folder",
        ),
        (
            "exposures",
            Some(("DBT_CLOUD_URL", "http://dbt.example.com")),
            "must be an https address",
        ),
    ] {
        let body = completed_body("4242", "Success", 10);
        let mut invocation = Invocation::refresh("http://127.0.0.1:9")
            .signed(&body)
            .workbooks(&["Scratchpad"])
            .env("TABLEAU_SELECT", select);
        if let Some((name, value)) = env {
            invocation = invocation.env(name, value);
            if name == "DBT_CLOUD_URL" {
                invocation = invocation.env("DBT_CLOUD_API_TOKEN", SAMPLE_DBT_TOKEN);
            }
        }
        let run = invocation.run().await;
        assert_eq!(run.code, 2, "{select}: {}", run.stdout);
        assert!(
            run.everything().contains(expected),
            "{select}: missing {expected}:\n{}",
            run.everything()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_reaches_no_tableau_item_is_skipped_without_contacting_tableau() {
    let tableau = tableau().await;
    // Only the snapshot was taken: nothing in Tableau reads it.
    let dir = artifacts_dir(&serde_json::json!({
        "args": {"which": "snapshot"},
        "results": [{"unique_id": "snapshot.shop.customers_snapshot", "status": "success"}],
    }));
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&tableau.url())
        .signed(&body)
        .env("TABLEAU_SELECT", "exposures")
        .env("DBT_ARTIFACTS_DIR", &dir.path().display().to_string())
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.summary);
    assert_eq!(run.output("status"), "skipped");
    assert_eq!(run.output("jobs"), "[]");
    let summary = run.summary_text();
    assert!(summary.contains("no exposure downstream"), "{summary}");
    assert!(
        summary.contains("**7 exposures** — nothing upstream"),
        "{summary}"
    );
    assert!(tableau.stats().requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_run_steps_the_docs_generate_last_step_is_not_taken_for_the_build() {
    let tableau = tableau().await;
    let cloud = dbt(DbtCloudSimConfig::sample().without_run_steps()).await;
    let run = exposures(&tableau.url(), &cloud.url(), "exposures")
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.summary);
    let summary = run.summary_text();
    assert!(
        summary.contains("only results of `dbt docs generate` (the last step)"),
        "{summary}"
    );
    assert!(tableau.stats().requests.is_empty());
    let requests = cloud.stats().requests;
    assert!(
        requests
            .iter()
            .any(|r| r.ends_with("/artifacts/run_results.json")),
        "{requests:?}"
    );
}
