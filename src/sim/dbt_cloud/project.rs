//! The sample dbt project the dbt Cloud simulator serves: a small shop (jaffle-shop-like) on
//! Snowflake with staging views, an ephemeral model, marts, a seed, a snapshot, and exposures
//! with `meta.tableau`, with Tableau URLs (on the Tableau simulator's sample site; one names a
//! workbook that is not there) and with none; and one run of it whose steps are clone, profile,
//! deps, seed, build (one model fails) and docs generate (whose run_results lists every node as
//! `success`: the trap).

use serde_json::{Value, json};

/// Exposure names of the sample, for tests and the demo.
pub const ORDERS_DASHBOARD: &str = "orders_dashboard";
pub const CUSTOMER_HEALTH: &str = "customer_health";
pub const PAYMENTS_OVERVIEW: &str = "payments_overview";
pub const REVENUE_FORECAST: &str = "revenue_forecast";
pub const CHURN_NOTEBOOK: &str = "churn_notebook";
pub const LEGACY_REPORT: &str = "legacy_report";
pub const FINANCE_KPIS: &str = "finance_kpis";

/// One step of the sample run.
#[derive(Debug, Clone)]
pub struct SimStep {
    /// As dbt Cloud names it: "Invoke dbt with `dbt build`".
    pub name: String,
    /// Whether dbt ran in it (only those steps have artifacts).
    pub dbt_command: bool,
    /// Its run_results.json, when it writes one.
    pub run_results: Option<Value>,
}

fn node(
    kind: &str,
    name: &str,
    materialized: &str,
    schema: &str,
    parents: &[&str],
) -> (String, Value) {
    let unique_id = format!("{kind}.shop.{name}");
    let relation = (materialized != "ephemeral").then(|| format!("ANALYTICS.{schema}.{name}"));
    (
        unique_id.clone(),
        json!({
            "resource_type": kind,
            "unique_id": unique_id,
            "name": name,
            "package_name": "shop",
            "database": "ANALYTICS",
            "schema": schema,
            "alias": name,
            "relation_name": relation,
            "raw_code": format!("select * from {{{{ ref('{name}') }}}}"),
            "columns": {},
            "config": {"enabled": true, "materialized": materialized, "tags": []},
            "depends_on": {"nodes": parents, "macros": []},
            "fqn": ["shop", name],
        }),
    )
}

fn exposure(
    name: &str,
    kind: &str,
    url: Option<&str>,
    meta: Value,
    parents: &[&str],
) -> (String, Value) {
    let unique_id = format!("exposure.shop.{name}");
    (
        unique_id.clone(),
        json!({
            "name": name,
            "unique_id": unique_id,
            "resource_type": "exposure",
            "type": kind,
            "url": url,
            "owner": {"name": "BI team", "email": "bi@example.com"},
            "maturity": "high",
            "depends_on": {"nodes": parents, "macros": []},
            "meta": meta,
            "config": {"enabled": true, "meta": meta, "tags": []},
            "tags": [],
        }),
    )
}

/// The sample project's manifest (v12 shape, dbt 1.9).
pub fn manifest() -> Value {
    let nodes = [
        node("seed", "payment_methods", "seed", "RAW", &[]),
        node("seed", "country_codes", "seed", "RAW", &[]),
        node(
            "model",
            "stg_orders",
            "view",
            "STAGING",
            &["source.shop.raw.orders"],
        ),
        node(
            "model",
            "stg_customers",
            "view",
            "STAGING",
            &["source.shop.raw.customers"],
        ),
        node(
            "model",
            "stg_payments",
            "view",
            "STAGING",
            &["source.shop.raw.payments", "seed.shop.payment_methods"],
        ),
        node(
            "model",
            "int_order_payments",
            "ephemeral",
            "STAGING",
            &["model.shop.stg_orders", "model.shop.stg_payments"],
        ),
        node(
            "model",
            "payments_v",
            "view",
            "MARTS",
            &["model.shop.int_order_payments"],
        ),
        node(
            "model",
            "fct_orders",
            "table",
            "MARTS",
            &["model.shop.int_order_payments"],
        ),
        node(
            "model",
            "dim_customers",
            "table",
            "MARTS",
            &["model.shop.stg_customers", "model.shop.fct_orders"],
        ),
        node(
            "model",
            "customer_orders",
            "view",
            "MARTS",
            &["model.shop.dim_customers"],
        ),
        node(
            "model",
            "fct_revenue",
            "incremental",
            "MARTS",
            &["model.shop.fct_orders"],
        ),
        node(
            "model",
            "dim_regions",
            "table",
            "MARTS",
            &["seed.shop.country_codes"],
        ),
        node(
            "snapshot",
            "customers_snapshot",
            "snapshot",
            "SNAPSHOTS",
            &["source.shop.raw.customers"],
        ),
        node(
            "test",
            "not_null_fct_orders_order_id",
            "test",
            "MARTS",
            &["model.shop.fct_orders"],
        ),
    ];
    let exposures = [
        exposure(
            ORDERS_DASHBOARD,
            "dashboard",
            Some("https://10ax.online.tableau.com/#/workbooks/103/views"),
            json!({"tableau": {"workbook": "Finance/Quarterly/P&L, Q1: Actuals", "datasource": "Orders"}}),
            &["model.shop.fct_orders"],
        ),
        exposure(
            CUSTOMER_HEALTH,
            "dashboard",
            // Another pod's host than the configured one: only the site and the number count.
            Some(
                "https://prod-useast-a.online.tableau.com/#/datasources/107?:origin=card_share_link",
            ),
            json!({}),
            &["model.shop.customer_orders"],
        ),
        exposure(
            PAYMENTS_OVERVIEW,
            "dashboard",
            Some("https://10ax.online.tableau.com/#/views/RevenueDashboard/Overview?:iid=1"),
            json!({}),
            &["model.shop.payments_v"],
        ),
        exposure(
            REVENUE_FORECAST,
            "dashboard",
            None,
            json!({"tableau": {"workbooks": ["Marketing/Revenue Dashboard"]}}),
            &["model.shop.fct_revenue"],
        ),
        exposure(
            CHURN_NOTEBOOK,
            "notebook",
            Some("https://jupyter.example.com/user/bi/churn.ipynb"),
            json!({}),
            &["model.shop.dim_customers"],
        ),
        exposure(
            FINANCE_KPIS,
            "dashboard",
            // A workbook that was deleted (or that the token cannot see): reported, not refreshed.
            Some("https://10ax.online.tableau.com/#/workbooks/999/views"),
            json!({}),
            &["model.shop.fct_orders"],
        ),
        exposure(
            LEGACY_REPORT,
            "analysis",
            None,
            json!({"tableau": {"workbook": "Live Sales"}}),
            &["model.shop.dim_regions"],
        ),
    ];
    let mut parent_map = serde_json::Map::new();
    for (id, value) in nodes.iter().chain(exposures.iter()) {
        parent_map.insert(id.clone(), value["depends_on"]["nodes"].clone());
    }
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.9.4",
            "adapter_type": "snowflake",
            "project_name": "shop",
        },
        "nodes": nodes.into_iter().collect::<serde_json::Map<_, _>>(),
        "sources": {},
        "macros": {"macro.shop.cents_to_dollars": {"macro_sql": "{% macro cents_to_dollars(c) %}{{ c }} / 100{% endmacro %}"}},
        "docs": {},
        "exposures": exposures.into_iter().collect::<serde_json::Map<_, _>>(),
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": parent_map,
        "child_map": {},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
    })
}

fn run_results(which: &str, results: &[(&str, &str)]) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|(id, status)| {
            json!({
                "unique_id": id,
                "status": status,
                "message": if *status == "error" { "Database Error in model fct_revenue: division by zero" } else { "SUCCESS 1" },
                "execution_time": 1.25,
                "timing": [],
                "thread_id": "Thread-1",
                "adapter_response": {},
                "failures": null,
                "relation_name": null,
            })
        })
        .collect();
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.9.4",
            "generated_at": "2026-01-15T06:12:00Z",
        },
        "results": results,
        "elapsed_time": 42.0,
        "args": {"which": which, "select": [], "target": "prod"},
    })
}

/// The `dbt build` step's results: fct_orders and dim_customers built, fct_revenue failed, the
/// snapshot taken, a test passed. Staging views and dim_regions are not part of the run.
pub fn build_results() -> Value {
    run_results(
        "build",
        &[
            ("model.shop.fct_orders", "success"),
            ("test.shop.not_null_fct_orders_order_id", "pass"),
            ("model.shop.dim_customers", "success"),
            ("model.shop.fct_revenue", "error"),
            ("snapshot.shop.customers_snapshot", "success"),
        ],
    )
}

/// The `dbt docs generate` step's results: every node `success`, none built.
pub fn docs_results() -> Value {
    let manifest = manifest();
    let ids: Vec<String> = manifest["nodes"]
        .as_object()
        .map(|nodes| nodes.keys().cloned().collect())
        .unwrap_or_default();
    let results: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "success")).collect();
    run_results("generate", &results)
}

/// The sample run's steps, as dbt Cloud lists them.
pub fn steps() -> Vec<SimStep> {
    let step = |name: &str, dbt_command: bool, run_results: Option<Value>| SimStep {
        name: name.to_string(),
        dbt_command,
        run_results,
    };
    vec![
        step("Clone git repository", false, None),
        step("Create profile from connection Snowflake", false, None),
        step("Invoke dbt with `dbt deps`", true, None),
        step(
            "Invoke dbt with `dbt seed --select payment_methods`",
            true,
            Some(run_results(
                "seed",
                &[("seed.shop.payment_methods", "success")],
            )),
        ),
        step(
            "Invoke dbt with `dbt build --select tag:nightly`",
            true,
            Some(build_results()),
        ),
        step(
            "Invoke dbt with `dbt docs generate`",
            true,
            Some(docs_results()),
        ),
    ]
}
