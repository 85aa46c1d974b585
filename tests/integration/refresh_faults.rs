//! `refresh` step 6: the faults Tableau is known for, injected in the simulator.

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::{Fault, FaultBody, Route, SimConfig, TableauSim};

use crate::common::{Invocation, Run, completed_body};

async fn start() -> TableauSim {
    TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
        .await
        .expect("simulator starts")
}

async fn refresh_orders(sim: &TableauSim) -> Run {
    let body = completed_body("4242", "Success", 10);
    Invocation::refresh(&sim.url())
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await
}

fn status(status: u16, body: FaultBody, retry_after: Option<&str>) -> Fault {
    Fault::Status {
        status,
        body,
        retry_after: retry_after.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_server_errors_and_dropped_connections_on_reads_are_retried() {
    let sim = start().await;
    let faults = sim.faults();
    faults.inject(Route::ServerInfo, Fault::ResetConnection, 1);
    faults.inject(
        Route::QueryDatasources,
        status(429, FaultBody::Html, Some("1")),
        1,
    );
    faults.inject(Route::QueryJob, status(503, FaultBody::Html, None), 2);
    faults.inject(Route::QueryJob, Fault::MalformedJson, 1);
    let run = refresh_orders(&sim).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "succeeded");
    assert!(
        run.stdout.contains("HTTP 429: 429 Too Many Requests"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("retrying in 1.0s"), "{}", run.stdout);
    assert!(run.stdout.contains("HTTP 503"), "{}", run.stdout);
    assert!(run.summary_text().contains("retried"), "{}", run.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_post_is_not_repeated() {
    let sim = start().await;
    sim.faults().inject(
        Route::RefreshDatasource,
        status(500, FaultBody::Html, None),
        1,
    );
    let run = refresh_orders(&sim).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.outcome("Orders"), "error");
    assert_eq!(
        sim.stats().refresh_posts,
        1,
        "the POST must not be sent twice"
    );
    assert!(run.summary_text().contains("HTTP 500"), "{}", run.summary);
    assert_eq!(sim.stats().sign_outs, 1);

    let sim = start().await;
    sim.faults()
        .inject(Route::RefreshDatasource, Fault::ResetConnection, 1);
    let run = refresh_orders(&sim).await;
    assert_eq!(run.outcome("Orders"), "error");
    assert_eq!(sim.stats().refresh_posts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_refresh_post_is_repeated_since_tableau_did_not_act_on_it() {
    let sim = start().await;
    sim.faults().inject(
        Route::RefreshDatasource,
        status(429, FaultBody::Html, Some("0")),
        1,
    );
    let run = refresh_orders(&sim).await;
    assert_eq!(run.outcome("Orders"), "succeeded", "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_leads_to_one_new_sign_in() {
    let sim = start().await;
    // serverinfo and sign-in are not authenticated; the list call succeeds, then the session dies.
    sim.faults().expire_session_after(1);
    let run = refresh_orders(&sim).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outcome("Orders"), "succeeded");
    let stats = sim.stats();
    assert_eq!(stats.sign_ins, 2);
    assert_eq!(stats.sign_outs, 1);
    assert_eq!(stats.max_concurrent_sessions_per_pat, 1);
    assert!(
        run.stdout
            .contains("::warning title=Tableau session lost::"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_in_xml_html_or_empty_still_read_well() {
    let sim = start().await;
    sim.faults().inject(
        Route::SignIn,
        status(401, FaultBody::Xml("401001".into()), None),
        1,
    );
    let run = refresh_orders(&sim).await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text()
            .contains("Failed while signing in to Tableau"),
        "{}",
        run.summary
    );
    assert!(run.summary_text().contains("401001"), "{}", run.summary);
    assert!(
        run.summary_text()
            .contains("Check inputs tableau-api-token-name and tableau-api-token-secret"),
        "{}",
        run.summary
    );
    assert_eq!(sim.stats().sign_outs, 0, "nothing to sign out of");

    let sim = start().await;
    sim.faults()
        .inject(Route::ServerInfo, status(502, FaultBody::Empty, None), 5);
    let run = refresh_orders(&sim).await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("HTTP 502: empty answer"),
        "{}",
        run.summary
    );
    // The sign-in went out together with serverinfo; the session it opened is closed again.
    let stats = sim.stats();
    assert_eq!(stats.sign_ins, stats.sign_outs);
    assert_eq!(stats.active_sessions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_with_what_to_check() {
    let sim = start().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&sim.url())
        .env("TABLEAU_API_TOKEN_SECRET", "wrong-secret")
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("sign-in refused"),
        "{}",
        run.summary
    );
    assert!(
        run.summary_text().contains("Signin Error"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_while_contacting_tableau() {
    let sim = start().await;
    let url = sim.url();
    sim.shutdown().await;
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&url)
        .signed(&body)
        .datasources(&["Orders"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text()
            .contains("Failed while contacting Tableau"),
        "{}",
        run.summary
    );
}
