//! `refresh` steps 3–5 against the Tableau simulator: version, one session, resolving references,
//! concurrent refreshes, 409093/409090, and waiting for jobs.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::sample::{
    CUSTOMERS_DATASOURCE_ID, FINANCE_PROJECT_ID, MARKETING_PROJECT_ID,
};
use dbt_tableau_refresh::sim::tableau::{Route, SimConfig, SimItem, SimJobBehaviour, TableauSim};

use crate::common::{Invocation, Run, completed_body};

const FAST: Duration = Duration::from_millis(20);

async fn start(config: SimConfig) -> TableauSim {
    TableauSim::start(config).await.expect("simulator starts")
}

async fn refresh(sim: &TableauSim, setup: impl FnOnce(Invocation) -> Invocation) -> Run {
    let body = completed_body("4242", "Success", 10);
    setup(Invocation::refresh(&sim.url()).signed(&body))
        .run()
        .await
}

/// A site with extra items whose jobs end in the given ways.
fn site_with_jobs() -> SimConfig {
    let mut config = SimConfig::sample().with_job_duration(FAST);
    config.workbooks.extend([
        SimItem::new(
            "1e000000-0000-4000-8000-000000000001",
            "Broken",
            Some(FINANCE_PROJECT_ID),
        )
        .with_job(SimJobBehaviour::failing(
            FAST,
            "com.tableausoftware.nativeapi.dll.DataSourceException: Login failed for user 'etl'.",
        )),
        SimItem::new(
            "1e000000-0000-4000-8000-000000000002",
            "Cancelled",
            Some(FINANCE_PROJECT_ID),
        )
        .with_job(SimJobBehaviour::finishing_with(FAST, 2)),
        SimItem::new(
            "1e000000-0000-4000-8000-000000000003",
            "Bridge",
            Some(MARKETING_PROJECT_ID),
        )
        .with_job(SimJobBehaviour::finishing_with(FAST, 3)),
        SimItem::new(
            "1e000000-0000-4000-8000-000000000004",
            "Slow",
            Some(MARKETING_PROJECT_ID),
        )
        .with_job(SimJobBehaviour::succeeding(Duration::from_secs(30))),
    ]);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detects_the_version_signs_in_once_and_signs_out() {
    let sim = start(SimConfig::sample().with_job_duration(FAST)).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&[
            "Finance/Revenue Dashboard",
            "Finance/Quarterly/P&L, Q1: Actuals",
        ])
        .datasources(&["Orders", CUSTOMERS_DATASOURCE_ID])
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.summary_text()
            .contains("REST API 3.24 (Tableau 2024.2.0)"),
        "{}",
        run.summary
    );
    let stats = sim.stats();
    // One round trip opens the session: serverinfo and the sign-in (at 3.6) go out together;
    // every later call uses the detected version.
    let mut opening: Vec<Route> = stats.requests[..2].iter().map(|r| r.route).collect();
    opening.sort_by_key(|route| *route != Route::ServerInfo);
    assert_eq!(opening, [Route::ServerInfo, Route::SignIn]);
    let sign_in = stats.requests.iter().find(|r| r.route == Route::SignIn);
    assert_eq!(
        sign_in.map(|r| r.path.as_str()),
        Some("/api/3.6/auth/signin")
    );
    assert!(
        stats.requests[2..]
            .iter()
            .all(|r| r.path.starts_with("/api/3.24/")),
        "{:?}",
        stats.requests
    );
    assert_eq!(stats.sign_ins, 1);
    assert_eq!(stats.sign_outs, 1);
    assert_eq!(stats.max_concurrent_sessions_per_pat, 1);
    assert_eq!(stats.sessions_killed_by_resignin, 0);
    assert_eq!(stats.active_sessions, 0);
    for reference in [
        "Finance/Revenue Dashboard",
        "Finance/Quarterly/P&L, Q1: Actuals",
        "Orders",
    ] {
        assert_eq!(run.outcome(reference), "succeeded", "{reference}");
    }
    assert_eq!(run.outcome(CUSTOMERS_DATASOURCE_ID), "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_version_skips_serverinfo_and_old_servers_are_refused() {
    let sim = start(SimConfig::sample().with_job_duration(FAST)).await;
    let run = refresh(&sim, |i| {
        i.datasources(&["Orders"])
            .env("TABLEAU_API_VERSION", "3.19")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        sim.stats()
            .requests
            .iter()
            .all(|r| r.route != Route::ServerInfo)
    );
    assert!(
        sim.stats()
            .requests
            .iter()
            .all(|r| r.path.starts_with("/api/3.19/"))
    );

    let old = start(SimConfig::sample().with_api_version("2.6")).await;
    let run = refresh(&old, |i| i.datasources(&["Orders"])).await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("needs 2.8 or later"),
        "{}",
        run.summary
    );
    assert_eq!(old.stats().sign_ins, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_resolved_exactly_with_wildcards_and_pages_of_1000() {
    let sim = start(SimConfig::sample().with_job_duration(FAST)).await;
    let run = refresh(&sim, |i| i.workbooks(&["P&L, Q1: Actuals"])).await;
    assert_eq!(
        run.outcome("P&L, Q1: Actuals"),
        "succeeded",
        "{}",
        run.stdout
    );
    let lists: Vec<_> = sim
        .stats()
        .requests
        .into_iter()
        .filter(|r| r.route == Route::QueryWorkbooks)
        .collect();
    assert_eq!(lists.len(), 1);
    assert!(
        lists[0].query.contains("pageSize=1000"),
        "{}",
        lists[0].query
    );
    assert!(
        lists[0]
            .query
            .contains("filter=name%3Aeq%3AP*L*+Q1*+Actuals"),
        "{}",
        lists[0].query
    );
    let jobs = run.jobs();
    assert_eq!(jobs[0]["project"], "Finance/Quarterly");
    assert_eq!(jobs[0]["name"], "P&L, Q1: Actuals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_and_missing_names_fail_naming_the_candidates() {
    let sim = start(SimConfig::sample().with_job_duration(FAST)).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["Revenue Dashboard", "Nope", "Finance/Scratchpad"])
            .datasources(&["Orders"])
    })
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.output("status"), "failed");
    assert_eq!(run.outcome("Revenue Dashboard"), "error");
    assert_eq!(run.outcome("Nope"), "not-found");
    assert_eq!(run.outcome("Finance/Scratchpad"), "not-found");
    // The others are still refreshed.
    assert_eq!(run.outcome("Orders"), "succeeded");
    assert!(
        run.summary_text().contains(
            "2 workbooks are named `Revenue Dashboard`, in projects `Finance`, `Marketing`"
        ),
        "{}",
        run.summary
    );
    assert_eq!(sim.stats().sign_outs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_are_requested_concurrently_with_an_empty_body() {
    let mut config = SimConfig::sample().with_job_duration(FAST);
    config.latency = Duration::from_millis(100);
    let sim = start(config).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&[
            "Finance/Revenue Dashboard",
            "Marketing/Revenue Dashboard",
            "Scratchpad",
        ])
        .datasources(&["Orders", "Customers"])
        .env("TABLEAU_WAIT", "false")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let stats = sim.stats();
    assert_eq!(stats.refresh_posts, 5);
    assert!(
        stats.refresh_bodies.iter().all(|body| body == "{}"),
        "{:?}",
        stats.refresh_bodies
    );
    assert!(
        stats.max_in_flight >= 4,
        "max in flight {}",
        stats.max_in_flight
    );
    assert!(run.jobs().iter().all(|job| job["outcome"] == "queued"));
    assert!(stats.job_polls.is_empty(), "wait=false must not poll");
    // Plain names are resolved together: one workbook query, one data source query.
    let lists: Vec<_> = stats
        .requests
        .iter()
        .filter(|r| matches!(r.route, Route::QueryWorkbooks | Route::QueryDatasources))
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(
        lists.iter().all(|r| r.query.contains("name%3Ain%3A%5B")),
        "{lists:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_needs_3_25() {
    let sim = start(
        SimConfig::sample()
            .with_job_duration(FAST)
            .with_api_version("3.25"),
    )
    .await;
    let run = refresh(&sim, |i| {
        i.datasources(&["Orders"])
            .env("TABLEAU_INCREMENTAL", "true")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        sim.stats().refresh_bodies,
        [r#"{"extractRefresh":{"incremental":true}}"#]
    );

    let old = start(SimConfig::sample().with_job_duration(FAST)).await;
    let run = refresh(&old, |i| i.datasources(&["Orders"]).arg("--incremental")).await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text()
            .contains("incremental refresh needs Tableau REST API 3.25"),
        "{}",
        run.summary
    );
    assert_eq!(old.stats().refresh_posts, 0);
    assert_eq!(old.stats().sign_outs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_queued_is_a_warning_and_not_refreshable_an_error_naming_the_item() {
    let sim = start(SimConfig::sample().with_job_duration(Duration::from_secs(5))).await;
    let first = refresh(&sim, |i| {
        i.datasources(&["Orders"]).env("TABLEAU_WAIT", "false")
    })
    .await;
    assert_eq!(first.outcome("Orders"), "queued");
    let run = refresh(&sim, |i| i.datasources(&["Orders"])).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("status"), "success");
    assert_eq!(run.outcome("Orders"), "already-queued");
    assert!(
        run.stdout
            .contains("::warning title=data source Finance/Orders already queued::"),
        "{}",
        run.stdout
    );

    let run = refresh(&sim, |i| i.workbooks(&["Live Sales"])).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.outcome("Live Sales"), "error");
    assert!(
        run.stdout
            .contains("::error title=workbook Marketing/Live Sales::"),
        "{}",
        run.stdout
    );
    assert!(
        run.summary_text().contains("cannot be refreshed"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_codes_map_to_outcomes_with_the_failure_notes() {
    let sim = start(site_with_jobs()).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["Broken", "Cancelled", "Bridge", "Scratchpad"])
    })
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.outcome("Broken"), "failed");
    assert_eq!(run.outcome("Cancelled"), "cancelled");
    assert_eq!(run.outcome("Bridge"), "succeeded");
    assert_eq!(run.outcome("Scratchpad"), "succeeded");
    let broken = run
        .jobs()
        .into_iter()
        .find(|j| j["reference"] == "Broken")
        .expect("row");
    assert_eq!(broken["finish_code"], 1);
    assert!(
        run.summary_text().contains("Login failed for user 'etl'"),
        "{}",
        run.summary
    );
    // Polled concurrently: each job was polled, none more than a few times.
    assert!(
        sim.stats()
            .job_polls
            .values()
            .all(|polls| (1..=3).contains(polls))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_stops_waiting_and_cancels_only_when_asked() {
    let sim = start(site_with_jobs()).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["Slow"]).env("TABLEAU_TIMEOUT", "1s")
    })
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.outcome("Slow"), "timed-out");
    assert!(
        run.summary_text().contains("left running on Tableau"),
        "{}",
        run.summary
    );
    assert!(sim.stats().cancels.is_empty());

    let sim = start(site_with_jobs()).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["Slow"])
            .env("TABLEAU_TIMEOUT", "1s")
            .env("TABLEAU_CANCEL_ON_TIMEOUT", "true")
    })
    .await;
    assert_eq!(run.outcome("Slow"), "timed-out");
    assert!(
        run.summary_text().contains("; cancelled"),
        "{}",
        run.summary
    );
    assert_eq!(sim.stats().cancels.len(), 1);
    assert_eq!(sim.stats().sign_outs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_resolves_and_refreshes_nothing() {
    let sim = start(SimConfig::sample()).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["Finance/Revenue Dashboard"]).arg("--dry-run")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Finance/Revenue Dashboard"), "dry-run");
    assert_eq!(sim.stats().refresh_posts, 0);
    assert_eq!(sim.stats().sign_outs, 1);
}
