//! Manual runs (no dbt event): any Actions trigger but repository_dispatch without a payload, or
//! `--no-event` elsewhere; the re-run that lifts the age limit; dbt job ids that must be numbers.

use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, completed_body, stale_completed_body};

async fn sim() -> TableauSim {
    TableauSim::start(SimConfig::sample().with_job_duration(std::time::Duration::from_millis(20)))
        .await
        .expect("simulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_dispatch_without_payload_refreshes_by_hand_without_a_webhook_key() {
    let sim = sim().await;
    let run = Invocation::refresh(&sim.url())
        .without_env("DBT_WEBHOOK_KEY")
        .event_file(
            r#"{"inputs":{"workbooks":"Finance/Revenue Dashboard"},"ref":"refs/heads/main"}"#,
        )
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("GITHUB_ACTOR", "octocat")
        .env("DBT_JOB_IDS", "4242")
        .workbooks(&["Finance/Revenue Dashboard"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("status"), "success");
    assert_eq!(run.outcome("Finance/Revenue Dashboard"), "succeeded");
    assert!(
        run.summary_text()
            .contains("Manual refresh (workflow_dispatch by @octocat)"),
        "{}",
        run.summary
    );
    assert_eq!(run.output("dbt-job-id"), "");
    assert_eq!(run.output("dbt-run-id"), "");
    assert!(!run.stdout.contains("Signature"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("A manual run has no dbt event to check: input dbt-job-ids is not used."),
        "{}",
        run.stdout
    );
    assert!(
        !run.summary_text().contains("dbt Cloud:"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_push_and_workflow_run_are_manual_runs_too() {
    let sim = sim().await;
    for event in ["schedule", "push", "workflow_run"] {
        let run = Invocation::refresh(&sim.url())
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_ACTOR", "dependabot[bot]")
            .env("TABLEAU_DRY_RUN", "true")
            .datasources(&["Orders"])
            .run()
            .await;
        assert_eq!(run.code, 0, "{event}: {}", run.stdout);
        assert_eq!(run.output("status"), "success", "{event}");
        assert!(
            run.summary_text()
                .contains(&format!("Manual refresh ({event} by @dependabot[bot])")),
            "{event}: {}",
            run.summary
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_dispatch_with_a_payload_still_verifies_it() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("DBT_WEBHOOK_PAYLOAD", &body)
        .env("DBT_WEBHOOK_SIGNATURE", &"0".repeat(64))
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.summary_text().contains("does not match"),
        "{}",
        run.summary
    );
    assert!(sim.stats().requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_dispatch_never_skips_the_signature() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .dispatch(&body, "")
        .env("DBT_NO_EVENT", "true")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("always verifies the signed dbt event"),
        "{}",
        run.stdout
    );

    let run = Invocation::refresh(&sim.url())
        .dispatch(&body, "")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.summary_text().contains("has no signature"),
        "{}",
        run.summary
    );
    assert!(sim.stats().requests.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_laptop_no_event_refreshes_and_without_it_the_error_names_the_flag() {
    let sim = sim().await;
    let run = Invocation::refresh(&sim.url())
        .terminal()
        .without_env("DBT_WEBHOOK_KEY")
        .arg("--no-event")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Manual refresh (--no-event)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Tableau refresh: success"),
        "{}",
        run.stdout
    );

    let run = Invocation::refresh(&sim.url())
        .terminal()
        .without_env("DBT_WEBHOOK_KEY")
        .env("DBT_NO_EVENT", "true")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let run = Invocation::refresh(&sim.url())
        .terminal()
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--no-event"), "{}", run.stderr);

    let run = Invocation::refresh(&sim.url())
        .terminal()
        .arg("--no-event")
        .arg("--payload")
        .arg("{}")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("exclude each other"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_run_does_not_apply_the_age_limit_and_says_so() {
    let sim = sim().await;
    let stale = stale_completed_body();
    let first = Invocation::refresh(&sim.url())
        .signed(&stale)
        .env("GITHUB_RUN_ATTEMPT", "1")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(first.code, 0, "{}", first.stdout);
    assert_eq!(first.output("status"), "skipped");
    assert!(!first.stdout.contains("Re-run"), "{}", first.stdout);

    let rerun = Invocation::refresh(&sim.url())
        .signed(&stale)
        .env("GITHUB_RUN_ATTEMPT", "2")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(rerun.code, 0, "{}", rerun.stdout);
    assert_eq!(rerun.output("status"), "success");
    assert_eq!(rerun.outcome("Orders"), "succeeded");
    assert!(
        rerun
            .stdout
            .contains("::notice title=Re-run::This is attempt 2")
            && rerun
                .stdout
                .contains("age limit of 24h 00m (input max-event-age) is not applied"),
        "{}",
        rerun.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbt_job_ids_must_be_numbers() {
    let sim = sim().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .env("DBT_JOB_IDS", "4242\nNightly build")
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("`Nightly build` in input dbt-job-ids is not a dbt job id"),
        "{}",
        run.stdout
    );
    assert!(sim.stats().requests.is_empty());
}
