//! The shape of a run's round trips, not its speed: which calls the simulator saw in flight
//! together. Every phase of a run waits for the one before it (sign in ▸ resolve ▸ refresh ▸ sign
//! out), so the most requests in flight at once tells which calls of one phase overlapped. The
//! simulator holds each request for a latency far longer than it takes the client to send the
//! rest of its phase. Times are measured in the benchmark harness (docs/BENCHMARKS.md), never here.

use std::time::Duration;

use dbt_tableau_refresh::refresh::config::DEFAULT_CONCURRENCY;
use dbt_tableau_refresh::sim::tableau::{Route, SimConfig, SimItem, SimProject, TableauSim};

use crate::common::{Invocation, Run, completed_body};

/// Long enough that every request of a phase is sent before the first is answered.
const LATENCY: Duration = Duration::from_millis(150);

async fn start(mut config: SimConfig) -> TableauSim {
    config.latency = LATENCY;
    TableauSim::start(config).await.expect("simulator starts")
}

async fn refresh(sim: &TableauSim, setup: impl FnOnce(Invocation) -> Invocation) -> Run {
    let body = completed_body("4242", "Success", 10);
    setup(Invocation::refresh(&sim.url()).signed(&body))
        .run()
        .await
}

const PROJECT_ID: &str = "c0000000-0000-4000-8000-000000000000";

/// A site with `n` workbooks, `Bench/Workbook 0` …, whose jobs would run for an hour.
fn site(n: usize) -> SimConfig {
    let mut config = SimConfig::sample();
    config.projects.push(SimProject::new(PROJECT_ID, "Bench"));
    config.workbooks.extend((0..n).map(|i| {
        SimItem::new(
            format!("c0000000-0000-4000-8000-{:012}", i + 1),
            format!("Workbook {i}"),
            Some(PROJECT_ID),
        )
    }));
    config
}

fn bench_workbooks(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("Bench/Workbook {i}")).collect()
}

fn count(sim: &TableauSim, route: Route) -> usize {
    sim.stats()
        .requests
        .iter()
        .filter(|r| r.route == route)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbooks_data_sources_and_projects_are_looked_up_together() {
    let sim = start(SimConfig::sample()).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["Finance/Revenue Dashboard", "Scratchpad"])
            .datasources(&["Orders"])
            .env("TABLEAU_DRY_RUN", "true")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    for reference in ["Finance/Revenue Dashboard", "Scratchpad", "Orders"] {
        assert_eq!(run.outcome(reference), "dry-run", "{reference}");
    }
    // One query per kind (names batched) and one page of projects…
    assert_eq!(count(&sim, Route::QueryWorkbooks), 1);
    assert_eq!(count(&sim, Route::QueryDatasources), 1);
    assert_eq!(count(&sim, Route::QueryProjects), 1);
    // …all three in flight at once: resolving costs one round trip. (Opening the session has at
    // most two calls in flight, serverinfo and sign-in, and a dry run sends nothing after.)
    assert_eq!(sim.stats().max_in_flight, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_default_concurrency_every_refresh_request_is_in_flight_at_once() {
    const N: usize = 12;
    assert!(usize::from(DEFAULT_CONCURRENCY) >= N);
    let sim = start(site(N)).await;
    let refs = bench_workbooks(N);
    let run = refresh(&sim, |i| {
        i.workbooks(&refs.iter().map(String::as_str).collect::<Vec<_>>())
            .env("TABLEAU_WAIT", "false")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let stats = sim.stats();
    assert_eq!(stats.refresh_posts, N);
    assert!(run.jobs().iter().all(|job| job["outcome"] == "queued"));
    // Resolving has two calls in flight (workbooks, projects); only the refresh requests reach N.
    assert_eq!(stats.max_in_flight, N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_setting_bounds_the_refresh_requests() {
    const N: usize = 12;
    let sim = start(site(N)).await;
    let refs = bench_workbooks(N);
    let run = refresh(&sim, |i| {
        i.workbooks(&refs.iter().map(String::as_str).collect::<Vec<_>>())
            .env("TABLEAU_WAIT", "false")
            .env("TABLEAU_CONCURRENCY", "5")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let stats = sim.stats();
    assert_eq!(stats.refresh_posts, N);
    assert!(run.jobs().iter().all(|job| job["outcome"] == "queued"));
    assert_eq!(stats.max_in_flight, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_after_the_first_are_read_together() {
    // 3 500 projects: four pages of at most 1 000. The workbook sits in the last one, so its path
    // is known only if every page was read.
    let mut config = SimConfig::sample();
    config.projects = (0..3_500)
        .map(|i| SimProject::new(format!("e0000000-0000-4000-8000-{i:012}"), format!("P{i}")))
        .collect();
    config.workbooks = vec![SimItem::new(
        "e1000000-0000-4000-8000-000000000001",
        "Deep",
        Some("e0000000-0000-4000-8000-000000003499"),
    )];
    config.datasources.clear();
    let sim = start(config).await;
    let run = refresh(&sim, |i| {
        i.workbooks(&["P3499/Deep"]).env("TABLEAU_DRY_RUN", "true")
    })
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("P3499/Deep"), "dry-run");
    let mut pages: Vec<String> = sim
        .stats()
        .requests
        .iter()
        .filter(|r| r.route == Route::QueryProjects)
        .map(|r| r.query.clone())
        .collect();
    pages.sort();
    assert_eq!(pages.len(), 4, "{pages:?}");
    for (number, query) in (1..=4).zip(&pages) {
        assert!(query.contains(&format!("pageNumber={number}")), "{pages:?}");
    }
    // Page 1 beside the workbook query (2 in flight), then pages 2–4 together (3); one after the
    // other they would never pass 2.
    assert_eq!(sim.stats().max_in_flight, 3);
}
