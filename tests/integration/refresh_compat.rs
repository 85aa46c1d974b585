//! The gaps docs/tableau-compat.md found between the client and the real Tableau (G1–G4), each
//! played by a simulator mode: a 403 after a session expiry, a long Tableau Cloud throttle, Tableau
//! Bridge jobs, and filters on servers below REST API 3.7.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::sample::FINANCE_PROJECT_ID;
use dbt_tableau_refresh::sim::tableau::{
    Fault, FaultBody, Route, SimConfig, SimItem, SimJobBehaviour, TableauSim,
};

use crate::common::{Invocation, Run, completed_body};

async fn start() -> TableauSim {
    TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("simulator starts")
}

async fn refresh(sim: &TableauSim, datasources: &[&str], extra: &[&str]) -> Run {
    let body = completed_body("4242", "Success", 10);
    let mut invocation = Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(datasources);
    for arg in extra {
        invocation = invocation.arg(arg);
    }
    invocation.run().await
}

fn forbidden() -> Fault {
    Fault::Status {
        status: 403,
        body: FaultBody::Json("403000".into()),
        retry_after: None,
    }
}

fn message(run: &Run, reference: &str) -> String {
    run.jobs()
        .iter()
        .find(|job| job["reference"] == reference)
        .and_then(|job| job["message"].as_str().map(str::to_string))
        .unwrap_or_default()
}

// G2: a 403 may be an expired session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_expiring_with_403_leads_to_one_new_sign_in() {
    let sim = start().await;
    sim.faults().expire_session_after_with_403(1);
    let run = refresh(&sim, &["Orders"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "succeeded");
    let stats = sim.stats();
    assert_eq!(stats.sign_ins, 2, "one new sign-in after the 403");
    assert_eq!(stats.max_concurrent_sessions_per_pat, 1);
    assert!(
        run.stdout
            .contains("::warning title=Tableau session lost::"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_again_after_a_new_sign_in_is_a_permission_error_and_later_403s_are_final() {
    let sim = start().await;
    // One call at a time, so the second refresh POST comes after the first is settled.
    sim.faults()
        .inject(Route::RefreshDatasource, forbidden(), 3);
    let run = refresh(&sim, &["Orders", "Customers"], &["--concurrency", "1"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "error");
    assert_eq!(run.outcome("Customers"), "error");
    let stats = sim.stats();
    assert_eq!(stats.sign_ins, 2, "only the first 403 signs in again");
    assert_eq!(stats.refresh_posts, 3);
    let messages = format!(
        "{}\n{}",
        message(&run, "Orders"),
        message(&run, "Customers")
    );
    assert!(messages.contains("permission error"), "{messages}");
    assert!(messages.contains("HTTP 403"), "{messages}");
}

// G3: a long Tableau Cloud throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_throttle_on_a_refresh_stops_queueing_without_waiting() {
    let sim = start().await;
    // Tableau Cloud's answer to a refresh past the site's hourly cap: 429000, no Retry-After.
    let throttle = Fault::Status {
        status: 429,
        body: FaultBody::Json("429000".into()),
        retry_after: None,
    };
    sim.faults().inject(Route::RefreshDatasource, throttle, 1);
    let run = refresh(&sim, &["Orders", "Customers"], &["--concurrency", "1"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        sim.stats().refresh_posts,
        1,
        "neither repeated nor continued"
    );
    assert_eq!(run.outcome("Orders"), "error");
    assert_eq!(run.outcome("Customers"), "error");
    let (first, second) = (message(&run, "Orders"), message(&run, "Customers"));
    assert!(first.contains("throttled by Tableau"), "{first}");
    assert!(first.contains("retry after 29 minutes"), "{first}");
    assert!(
        second.starts_with("not queued: Tableau throttled"),
        "{second}"
    );
    assert!(!run.stdout.contains("retrying in"), "{}", run.stdout);

    // A wait longer than we retry for, on a read: no retry either.
    let sim = start().await;
    let long = Fault::Status {
        status: 429,
        body: FaultBody::Html,
        retry_after: Some("1800".into()),
    };
    sim.faults().inject(Route::QueryDatasources, long, 1);
    let run = refresh(&sim, &["Orders"], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(!run.stdout.contains("retrying in"), "{}", run.stdout);
    assert_eq!(sim.stats().refresh_posts, 0);
}

// G4: Tableau Bridge jobs show finishCode 0 ("assigned") before 3 ("completed").
async fn start_with_bridge(assigned: Duration) -> TableauSim {
    let mut config = SimConfig::sample().with_job_duration(Duration::from_millis(20));
    config.datasources.push(
        SimItem::new(
            "d5e6f7a8-b9c0-4d1e-8f2a-3b4c5d6e7f09",
            "Plant Floor",
            Some(FINANCE_PROJECT_ID),
        )
        .through_bridge()
        .with_job(SimJobBehaviour::via_bridge(
            Duration::from_millis(20),
            assigned,
        )),
    );
    TableauSim::start(config).await.expect("simulator starts")
}

fn finish_code(run: &Run, reference: &str) -> Option<i64> {
    run.jobs()
        .iter()
        .find(|job| job["reference"] == reference)
        .and_then(|job| job["finish_code"].as_i64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_refresh_is_waited_for_past_assigned_until_completed() {
    let sim = start_with_bridge(Duration::from_millis(1_500)).await;
    let run = refresh(&sim, &["Plant Floor", "Orders"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Plant Floor"), "succeeded");
    assert_eq!(
        finish_code(&run, "Plant Floor"),
        Some(3),
        "{}",
        run.output("jobs")
    );
    // A data source not served by Bridge ends at finishCode 0 as before.
    assert_eq!(finish_code(&run, "Orders"), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_refresh_still_assigned_at_the_timeout_says_so() {
    let sim = start_with_bridge(Duration::from_secs(600)).await;
    let run = refresh(&sim, &["Plant Floor"], &["--timeout", "2s"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outcome("Plant Floor"), "timed-out");
    let text = message(&run, "Plant Floor");
    assert!(
        text.contains("assigned to a Bridge client, not seen to finish"),
        "{text}"
    );
}

// G1: below REST API 3.7 the filter goes out with its delimiters unencoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_on_a_server_below_3_7_are_sent_unencoded() {
    let mut config = SimConfig::sample().with_job_duration(Duration::from_millis(20));
    // Tableau Server 2019.4: the oldest that takes a personal access token.
    config.rest_api_version = "3.6".into();
    let sim = TableauSim::start(config).await.expect("simulator starts");
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(&["Orders", "Customers"])
        .workbooks(&["Finance/Quarterly/P&L, Q1: Actuals"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "succeeded");
    assert_eq!(run.outcome("Customers"), "succeeded");
    assert_eq!(
        run.outcome("Finance/Quarterly/P&L, Q1: Actuals"),
        "succeeded"
    );
    let filters: Vec<String> = sim
        .stats()
        .requests
        .iter()
        .filter(|r| r.query.contains("filter="))
        .map(|r| r.query.clone())
        .collect();
    assert!(
        filters
            .iter()
            .any(|q| q.contains("filter=name:in:[Orders,Customers]")),
        "{filters:?}"
    );
    assert!(filters.iter().all(|q| !q.contains("%3A")), "{filters:?}");
}
