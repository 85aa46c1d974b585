//! `--select lineage` (issue 11) end to end: what the dbt run built (the dbt Cloud simulator or a
//! folder) is followed through the Tableau simulator's Metadata API to the data sources and
//! workbooks to refresh, with the reasons and what was considered.

use std::collections::BTreeSet;
use std::time::Duration;

use dbt_tableau_refresh::sim::dbt_cloud::{DbtCloudSimConfig, SAMPLE_DBT_TOKEN, SimMode, project};
use dbt_tableau_refresh::sim::tableau::SimTable;
use dbt_tableau_refresh::sim::tableau::sample::{
    CUSTOMERS_DATASOURCE_ID, ORDERS_DATASOURCE_ID, PNL_WORKBOOK_ID,
};
use dbt_tableau_refresh::sim::tableau::{
    Fault, FaultBody, Route, SimConfig, SimJobBehaviour, TableauSim,
};
use serde_json::json;

use crate::common::{Invocation, Run, completed_body, redact};
use crate::select_common::{Selected, artifacts_dir, dbt, selecting as lineage, target, targets};

fn site() -> SimConfig {
    SimConfig::sample().with_job_duration(Duration::from_millis(20))
}

async fn tableau(config: SimConfig) -> TableauSim {
    TableauSim::start(config)
        .await
        .expect("tableau simulator starts")
}

fn build(results: &[(&str, &str)]) -> serde_json::Value {
    json!({
        "args": {"which": "build"},
        "results": results
            .iter()
            .map(|(id, status)| json!({"unique_id": id, "status": status}))
            .collect::<Vec<_>>(),
    })
}

/// What the sample run selects through lineage: Orders (it reads FCT_ORDERS, and DIM_CUSTOMERS
/// through custom SQL Tableau resolved) and the P&L workbook (its embedded extract reads
/// FCT_ORDERS directly).
fn sample_plan() -> Selected {
    [
        target(
            "datasource",
            "Orders",
            &[
                "lineage:analytics.marts.dim_customers",
                "lineage:analytics.marts.fct_orders",
            ],
        ),
        target(
            "workbook",
            "P&L, Q1: Actuals",
            &["lineage:analytics.marts.fct_orders"],
        ),
    ]
    .into_iter()
    .collect()
}

/// Each rule of the issue, on the sample run (fct_orders and dim_customers built, fct_revenue
/// failed, a docs-generate last step that lists every node as `success`), for both answers
/// Tableau may give to `downstreamWorkbooks` (direct or transitive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_refreshes_the_extracts_that_read_what_the_run_built_and_explains_the_rest() {
    for transitive in [false, true] {
        let mut config = site();
        config.metadata.transitive_downstream = transitive;
        let tableau = tableau(config).await;
        let cloud = dbt(DbtCloudSimConfig::sample()).await;
        let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
        assert_eq!(
            run.code, 0,
            "transitive {transitive}\n{}\n{}",
            run.stdout, run.summary
        );
        assert_eq!(targets(&run), sample_plan(), "transitive {transitive}");
        let summary = run.summary_text();
        for expected in [
            // A workbook that reads through a published data source: covered by it.
            "**workbook Revenue Dashboard** — reads Orders, which is refreshed",
            // Live content is skipped, and said so.
            "**workbook Live Sales** — a live connection to analytics.marts.fct_orders: nothing to refresh",
            // Custom SQL Tableau could not parse.
            "**custom SQL in data source Customers** — custom SQL lineage cannot see",
            "it mentions dim_customers",
            // The failed model's readers are not refreshed (and the docs step did not hide it).
            "**model analytics.marts.fct_revenue** — did not build in this run (error)",
            // Models of the run that nothing in Tableau reads.
            "nothing in Tableau reads them: analytics.marts.customer_orders",
            "| Selected by |",
        ] {
            assert!(
                summary.contains(expected),
                "transitive {transitive}: missing {expected}:\n{summary}"
            );
        }
        // The Revenue Dashboard's own extract reads FCT_REVENUE, which failed: not refreshed.
        assert!(
            !run.jobs().iter().any(|j| j["name"] == "Revenue Dashboard"),
            "{:?}",
            run.jobs()
        );
        assert!(!run.everything().contains(SAMPLE_DBT_TOKEN));
        if !transitive {
            insta::assert_snapshot!("lineage_summary", redact(&run.summary));
        }
        cloud.shutdown().await;
        tableau.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_built_in_the_run_reaches_tableau_through_a_view() {
    // customer_orders is a view over dim_customers (built); Tableau's Customers reads it.
    let mut config = site();
    let view_id = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a99";
    config.metadata.tables.push(SimTable::new(
        view_id,
        "snowflake",
        "ANALYTICS",
        "MARTS",
        "CUSTOMER_ORDERS",
    ));
    let customers = config
        .metadata
        .published
        .iter_mut()
        .find(|p| p.datasource_id == CUSTOMERS_DATASOURCE_ID)
        .expect("the sample has Customers' lineage");
    customers.tables.push(view_id.to_string());
    let tableau = tableau(config).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert!(
        targets(&run).contains(&target(
            "datasource",
            "Customers",
            &["lineage:analytics.marts.customer_orders"]
        )),
        "{:?}",
        targets(&run)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_artifacts_fail_the_lineage_run_unless_listed_gave_targets() {
    let tableau = tableau(site()).await;
    let cloud = dbt(DbtCloudSimConfig::sample().with_mode(SimMode::NoArtifacts)).await;
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    assert_eq!(run.code, 1, "{}", run.summary);
    assert!(
        run.summary_text()
            .contains("Failed while reading what the dbt run built"),
        "{}",
        run.summary
    );
    assert!(tableau.stats().requests.is_empty());
    let run = lineage(&tableau.url(), &cloud.url(), "listed,lineage")
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
    assert_eq!(tableau.faults().metadata_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_exposures_and_lineage_are_one_list_deduplicated_by_luid() {
    let tableau = tableau(site()).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = lineage(&tableau.url(), &cloud.url(), "listed,exposures,lineage")
        .workbooks(&[PNL_WORKBOOK_ID])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    let jobs = run.jobs();
    let named = |name: &str| -> Vec<&serde_json::Value> {
        jobs.iter().filter(|job| job["name"] == name).collect()
    };
    let pnl = named("P&L, Q1: Actuals");
    assert_eq!(pnl.len(), 1, "{jobs:?}");
    assert_eq!(
        pnl[0]["selected_by"],
        json!([
            "listed",
            "exposure:orders_dashboard",
            "lineage:analytics.marts.fct_orders"
        ])
    );
    let orders = named("Orders");
    assert_eq!(orders.len(), 1, "{jobs:?}");
    assert_eq!(
        orders[0]["selected_by"],
        json!([
            "exposure:orders_dashboard",
            "lineage:analytics.marts.dim_customers",
            "lineage:analytics.marts.fct_orders"
        ])
    );
    // Found once: lineage's items are not looked up again over REST.
    let lookups = tableau
        .stats()
        .requests
        .iter()
        .filter(|r| r.path.contains(PNL_WORKBOOK_ID) && r.method == "GET")
        .count();
    assert!(lookups <= 1, "{lookups} lookups of the P&L workbook");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_lineage_plan_and_refreshes_nothing() {
    let tableau = tableau(site()).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = lineage(&tableau.url(), &cloud.url(), "lineage")
        .env("TABLEAU_DRY_RUN", "true")
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert!(run.jobs().iter().all(|job| job["outcome"] == "dry-run"));
    assert_eq!(targets(&run), sample_plan());
    let everything = run.everything();
    assert!(
        everything.contains("Lineage: data source Orders ← lineage:analytics.marts.dim_customers"),
        "{everything}"
    );
    assert!(
        !tableau
            .stats()
            .requests
            .iter()
            .any(|r| r.path.ends_with("/refresh")),
        "a dry run refreshes nothing"
    );
}

/// The sample project's manifest with `database`, `schema` and `alias` spelt as `respell` says.
fn respelt_manifest(respell: impl Fn(&str, &str) -> String) -> serde_json::Value {
    let mut manifest = project::manifest();
    for node in manifest["nodes"]
        .as_object_mut()
        .expect("nodes")
        .values_mut()
    {
        for field in ["database", "schema", "alias"] {
            if let Some(text) = node[field].as_str() {
                node[field] = json!(respell(field, text));
            }
        }
    }
    manifest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_match_in_any_case_and_quoting() {
    let tableau = tableau(site()).await;
    let body = completed_body("4242", "Success", 10);
    for (label, respell) in [
        (
            "postgres-style quotes, lower case",
            Box::new(|_: &str, text: &str| format!("\"{}\"", text.to_lowercase()))
                as Box<dyn Fn(&str, &str) -> String>,
        ),
        (
            "brackets, upper-case alias",
            Box::new(|field: &str, text: &str| {
                if field == "alias" {
                    format!("[{}]", text.to_uppercase())
                } else {
                    format!("[{text}]")
                }
            }),
        ),
    ] {
        let dir = artifacts_dir(
            &respelt_manifest(respell),
            &build(&[("model.shop.fct_orders", "success")]),
        );
        let run = crate::common::Invocation::refresh(&tableau.url())
            .signed(&body)
            .env("TABLEAU_SELECT", "lineage")
            .env("DBT_ARTIFACTS_DIR", &dir.path().display().to_string())
            .run()
            .await;
        assert_eq!(run.code, 0, "{label}\n{}\n{}", run.stdout, run.summary);
        let names: BTreeSet<String> = targets(&run).into_iter().map(|(_, n, _)| n).collect();
        assert_eq!(
            names,
            ["Orders", "P&L, Q1: Actuals"]
                .into_iter()
                .map(String::from)
                .collect(),
            "{label}"
        );
        assert!(
            run.jobs()
                .iter()
                .all(|j| j["selected_by"] == json!(["lineage:analytics.marts.fct_orders"])),
            "{label}: the reason is lower-case without quotes: {:?}",
            run.jobs()
        );
    }
}

/// A manifest of `n` table models in ANALYTICS.MARTS, all built, plus the sample's fct_orders.
fn many_models(n: usize) -> (serde_json::Value, serde_json::Value) {
    let mut manifest = project::manifest();
    let nodes = manifest["nodes"].as_object_mut().expect("nodes");
    let mut results = vec![("model.shop.fct_orders".to_string(), "success")];
    for i in 0..n - 1 {
        let id = format!("model.shop.model_{i:03}");
        nodes.insert(
            id.clone(),
            json!({"resource_type": "model", "database": "ANALYTICS", "schema": "MARTS",
                   "alias": format!("model_{i:03}"), "config": {"materialized": "table"}}),
        );
        results.push((id, "success"));
    }
    let results: Vec<(&str, &str)> = results.iter().map(|(id, s)| (id.as_str(), *s)).collect();
    (manifest, build(&results))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_models_take_at_most_five_metadata_requests() {
    // Tableau knows every one of the 500 tables, and Customers reads the last one.
    let mut config = site();
    for i in 0..499 {
        config.metadata.tables.push(SimTable::new(
            format!("7a000000-0000-4000-8000-000000000{i:03}"),
            "snowflake",
            "ANALYTICS",
            "MARTS",
            format!("MODEL_{i:03}"),
        ));
    }
    // The same schema and name in the development database: found by the filters (a 501st
    // table, so a second page), never matched.
    config.metadata.tables.push(SimTable::new(
        "7a000000-0000-4000-8000-000000000999",
        "snowflake",
        "ANALYTICS_DEV",
        "MARTS",
        "FCT_ORDERS",
    ));
    config
        .metadata
        .published
        .iter_mut()
        .find(|p| p.datasource_id == CUSTOMERS_DATASOURCE_ID)
        .expect("the sample has Customers' lineage")
        .tables
        .push("7a000000-0000-4000-8000-000000000498".into());
    let tableau = tableau(config).await;
    let (manifest, results) = many_models(500);
    let dir = artifacts_dir(&manifest, &results);
    let body = completed_body("4242", "Success", 10);
    let run = Invocation::refresh(&tableau.url())
        .signed(&body)
        .env("TABLEAU_SELECT", "lineage")
        .env("DBT_ARTIFACTS_DIR", &dir.path().display().to_string())
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert!(
        targets(&run).contains(&target(
            "datasource",
            "Customers",
            &["lineage:analytics.marts.model_498"]
        )),
        "{:?}",
        targets(&run)
    );
    // Tables (one request, two pages of 500) and custom SQL together, then the workbooks.
    let requests = tableau.faults().metadata_requests();
    assert_eq!(requests, 4, "Metadata API requests for 500 models");
    assert!(
        run.summary_text().contains("498 models of this run"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_metadata_api_error_mode() {
    let cloud = dbt(DbtCloudSimConfig::sample()).await;

    // Tableau Server without metadata services: the lineage step fails and says how to enable it.
    let mut config = site();
    config.metadata.enabled = false;
    let tableau_off = tableau(config).await;
    let run = lineage(&tableau_off.url(), &cloud.url(), "lineage")
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.summary);
    let summary = run.summary_text();
    assert!(
        summary.contains("Failed while following Tableau lineage (Metadata API)"),
        "{summary}"
    );
    assert!(
        summary.contains("tsm maintenance metadata-services enable"),
        "{summary}"
    );
    assert_eq!(tableau_off.stats().sign_outs, 1, "signed out all the same");

    let tableau = tableau(site()).await;
    let faults = tableau.faults();

    // RATE_EXCEEDED twice: backed off, retried, and the plan is the same.
    faults.set_metadata_rate_exceeded(2);
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert_eq!(targets(&run), sample_plan());

    // BACKFILL_RUNNING: a warning, and the data is used.
    faults.set_metadata_backfill(true);
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    faults.set_metadata_backfill(false);
    assert_eq!(run.code, 0, "{}", run.summary);
    assert_eq!(targets(&run), sample_plan());
    assert!(
        run.summary_text().contains("results may be incomplete"),
        "{}",
        run.summary
    );

    // NODE_LIMIT_EXCEEDED: the requests are made smaller, and the plan is the same.
    let before = faults.metadata_requests();
    faults.set_metadata_node_limit(Some(10));
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    faults.set_metadata_node_limit(None);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert_eq!(targets(&run), sample_plan());
    assert!(
        faults.metadata_requests() - before > 3,
        "smaller requests, so more of them: {}",
        faults.metadata_requests() - before
    );

    // HTTP 429 from a proxy or the platform: retried with its Retry-After.
    faults.inject(
        Route::Metadata,
        Fault::Status {
            status: 429,
            body: FaultBody::Html,
            retry_after: Some("1".into()),
        },
        1,
    );
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert_eq!(targets(&run), sample_plan());

    // A refusal: the run fails with a clear message, and listed targets are still refreshed.
    faults.inject(
        Route::Metadata,
        Fault::Status {
            status: 403,
            body: FaultBody::Html,
            retry_after: None,
        },
        10,
    );
    let run = lineage(&tableau.url(), &cloud.url(), "listed,lineage")
        .workbooks(&["Scratchpad"])
        .run()
        .await;
    assert_eq!(run.code, 1, "{}", run.summary);
    let summary = run.summary_text();
    assert!(
        summary.contains("the Metadata API refused this session"),
        "{summary}"
    );
    assert_eq!(run.outcome("Scratchpad"), "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_through_a_connected_app() {
    use dbt_tableau_refresh::sim::tableau::sample::{
        SAMPLE_CLIENT_ID, SAMPLE_SECRET_ID, SAMPLE_SECRET_VALUE, SAMPLE_USERNAME,
    };
    // A JWT session can query jobs from REST API 3.25 on.
    let tableau = tableau(site().with_api_version("3.25")).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = lineage(&tableau.url(), &cloud.url(), "lineage")
        .without_env("TABLEAU_API_TOKEN_NAME")
        .without_env("TABLEAU_API_TOKEN_SECRET")
        .env("TABLEAU_CONNECTED_APP_CLIENT_ID", SAMPLE_CLIENT_ID)
        .env("TABLEAU_CONNECTED_APP_SECRET_ID", SAMPLE_SECRET_ID)
        .env("TABLEAU_CONNECTED_APP_SECRET_VALUE", SAMPLE_SECRET_VALUE)
        .env("TABLEAU_USERNAME", SAMPLE_USERNAME)
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert_eq!(targets(&run), sample_plan());
    assert!(tableau.faults().metadata_requests() > 0);
}

/// The `jobs` entry of the item named `name`.
fn job(run: &Run, name: &str) -> serde_json::Value {
    run.jobs()
        .into_iter()
        .find(|job| job["name"] == name)
        .unwrap_or_else(|| panic!("no job named {name}: {}", run.output("jobs")))
}

/// Lineage names an item by LUID with its leaf project only; the REST item, read alongside the
/// refresh request, gives the summary and the `jobs` output the full path and the link, as for a
/// listed target, and in a dry run too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lineage_found_workbook_shows_its_project_path_and_link() {
    let tableau = tableau(site()).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    for dry_run in ["false", "true"] {
        let run = lineage(&tableau.url(), &cloud.url(), "lineage")
            .env("TABLEAU_DRY_RUN", dry_run)
            .run()
            .await;
        assert_eq!(
            run.code, 0,
            "dry run {dry_run}\n{}\n{}",
            run.stdout, run.summary
        );
        let pnl = job(&run, "P&L, Q1: Actuals");
        assert_eq!(pnl["project"], "Finance/Quarterly", "dry run {dry_run}");
        let url = pnl["url"].as_str().expect("the workbook has a link");
        assert!(
            url.starts_with(&tableau.url()) && url.contains("/#/workbooks/"),
            "dry run {dry_run}: {url}"
        );
        let summary = run.summary_text();
        assert!(
            summary.contains(&format!("[P&L, Q1: Actuals]({url})")),
            "dry run {dry_run}: the name links to the workbook:\n{summary}"
        );
        assert!(
            summary.contains("| Finance/Quarterly |"),
            "dry run {dry_run}:\n{summary}"
        );
    }

    // If the REST item cannot be read, the partial details stay and the refresh is unaffected.
    tableau.faults().inject(
        Route::GetWorkbook,
        Fault::Status {
            status: 400,
            body: FaultBody::Xml("400000".into()),
            retry_after: None,
        },
        1,
    );
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    let pnl = job(&run, "P&L, Q1: Actuals");
    assert_eq!(pnl["outcome"], "succeeded");
    assert_eq!(pnl["project"], "Quarterly", "lineage's leaf project stays");
    assert!(pnl["url"].is_null(), "{pnl}");
    let log = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !log.contains("::error") && !log.contains("::warning"),
        "nothing alarming:\n{log}"
    );
    assert!(log.contains("showing what lineage gave"), "{log}");
    assert_eq!(job(&run, "Orders")["project"], "Finance");
    cloud.shutdown().await;
    tableau.shutdown().await;
}

/// The REST lookups go out with the refresh requests, not before them: with every answer held
/// for a long latency, the two refresh requests, the two item lookups and the project list are
/// all in flight at once, so completing the details adds no round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_details_are_read_alongside_the_refresh_requests() {
    let mut config = site();
    config.latency = Duration::from_millis(150);
    let tableau = tableau(config).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = lineage(&tableau.url(), &cloud.url(), "lineage")
        .env("TABLEAU_WAIT", "false")
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    let stats = tableau.stats();
    assert_eq!(stats.refresh_posts, 2);
    let count = |route: Route| stats.requests.iter().filter(|r| r.route == route).count();
    assert_eq!(count(Route::GetWorkbook), 1);
    assert_eq!(count(Route::GetDatasource), 1);
    assert_eq!(
        count(Route::QueryProjects),
        1,
        "the projects are listed once"
    );
    assert_eq!(stats.max_in_flight, 5);
    assert_eq!(job(&run, "Orders")["project"], "Finance");
    cloud.shutdown().await;
    tableau.shutdown().await;
}

/// A Tableau Bridge data source found by lineage: its job's finishCode 0 ("assigned to a Bridge
/// client") is waited past until 3 ("completed"), as for a listed one (docs/tableau-compat.md G4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lineage_found_bridge_data_source_is_waited_past_assigned() {
    let mut config = site();
    let orders = config
        .datasources
        .iter_mut()
        .find(|d| d.id == ORDERS_DATASOURCE_ID)
        .expect("the sample has Orders");
    *orders = orders
        .clone()
        .through_bridge()
        .with_job(SimJobBehaviour::via_bridge(
            Duration::from_millis(20),
            Duration::from_millis(1_500),
        ));
    let tableau = tableau(config).await;
    let cloud = dbt(DbtCloudSimConfig::sample()).await;
    let run = lineage(&tableau.url(), &cloud.url(), "lineage").run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    let orders = job(&run, "Orders");
    assert_eq!(orders["outcome"], "succeeded", "{orders}");
    assert_eq!(
        orders["finish_code"], 3,
        "waited past finishCode 0: {orders}"
    );
    // The workbook is no Bridge item: its finishCode 0 is the end.
    assert_eq!(job(&run, "P&L, Q1: Actuals")["finish_code"], 0);
    cloud.shutdown().await;
    tableau.shutdown().await;
}
