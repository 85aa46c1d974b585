//! The lineage rules on parsed Metadata API answers.

use serde_json::json;

use super::*;

fn relations() -> Vec<Relation> {
    vec![
        Relation::new(Some("ANALYTICS"), "MARTS", "fct_orders"),
        Relation::new(Some("ANALYTICS"), "MARTS", "dim_regions"),
    ]
}

fn changed() -> Changed {
    Changed {
        relations: relations(),
        ..Changed::default()
    }
}

/// fct_orders as Snowflake shows it, read by Orders (extract) and Orders Live (live); the
/// workbooks: Sales (embedded extract on the table), Live Sales (embedded live), Orders Report
/// (through Orders). `transitive`: Tableau lists Orders Report under the table too.
fn tables(transitive: bool) -> Vec<Table> {
    let mut workbooks = vec![
        json!({"luid": "wb-sales", "name": "Sales"}),
        json!({"luid": "wb-live", "name": "Live Sales"}),
    ];
    if transitive {
        workbooks.push(json!({"luid": "wb-report", "name": "Orders Report"}));
    }
    serde_json::from_value(json!([
        {"id": "t-orders", "name": "FCT_ORDERS", "schema": "MARTS", "fullName": "[ANALYTICS].[MARTS].[FCT_ORDERS]",
         "database": {"name": "ANALYTICS"},
         "downstreamDatasources": [
            {"__typename": "PublishedDatasource", "id": "d1", "name": "Orders", "luid": "ds-orders",
             "hasExtracts": true, "projectName": "Finance",
             "downstreamWorkbooks": [{"luid": "wb-report", "name": "Orders Report"}]},
            {"__typename": "PublishedDatasource", "id": "d2", "name": "Orders Live", "luid": "ds-live", "hasExtracts": false},
            {"__typename": "EmbeddedDatasource", "id": "e1", "name": "Sales data"}],
         "downstreamWorkbooks": workbooks},
        {"id": "t-dev", "name": "fct_orders", "schema": "MARTS", "database": {"name": "ANALYTICS_DEV"},
         "downstreamDatasources": [{"__typename": "PublishedDatasource", "id": "d9", "name": "Dev Orders",
            "luid": "ds-dev", "hasExtracts": true}]}
    ]))
    .expect("tables")
}

/// `transitive`: the embedded data source of Orders Report lists the table behind Orders among its
/// upstream tables.
fn workbooks(transitive: bool) -> Vec<Workbook> {
    serde_json::from_value(json!([
        {"luid": "wb-sales", "name": "Sales", "projectName": "Finance", "embeddedDatasources": [
            {"id": "e1", "name": "Sales data", "hasExtracts": true, "upstreamTables": [{"id": "t-orders"}], "upstreamDatasources": []}]},
        {"luid": "wb-live", "name": "Live Sales", "embeddedDatasources": [
            {"id": "e2", "hasExtracts": false, "upstreamTables": [{"id": "t-orders"}]}]},
        {"luid": "wb-report", "name": "Orders Report", "embeddedDatasources": [
            {"id": "e3", "hasExtracts": true, "upstreamTables": if transitive { json!([{"id": "t-orders"}]) } else { json!([]) },
             "upstreamDatasources": [{"luid": "ds-orders", "name": "Orders", "hasExtracts": true}]}]}
    ]))
    .expect("workbooks")
}

fn plan(transitive: bool, sql: &[CustomSql]) -> Outcome {
    let changed = changed();
    let reached = first_pass(&changed.relations, &tables(transitive), sql);
    second_pass(&changed, reached, &workbooks(transitive))
}

fn item(kind: Kind, luid: &str, name: &str, project: Option<&str>) -> Item {
    Item {
        kind,
        luid: luid.into(),
        name: name.into(),
        project: project.map(str::to_string),
        reasons: vec!["lineage:analytics.marts.fct_orders".into()],
    }
}

fn reason_for<'a>(outcome: &'a Outcome, subject: &str) -> &'a str {
    outcome
        .considered
        .iter()
        .find(|c| c.subject == subject)
        .map(|c| c.reason.as_str())
        .unwrap_or_else(|| panic!("no {subject}: {:?}", outcome.considered))
}

#[test]
fn the_published_extract_and_the_embedded_extract_are_refreshed_whatever_downstream_workbooks_says()
{
    for transitive in [true, false] {
        let outcome = plan(transitive, &[]);
        assert_eq!(
            outcome.items,
            [
                item(Kind::Datasource, "ds-orders", "Orders", Some("Finance")),
                item(Kind::Workbook, "wb-sales", "Sales", Some("Finance")),
            ],
            "transitive: {transitive}"
        );
        // A workbook through a published data source is covered by it, not refreshed.
        assert_eq!(
            reason_for(&outcome, "workbook Orders Report"),
            "reads Orders, which is refreshed"
        );
        // Live content is skipped and said so.
        assert!(reason_for(&outcome, "workbook Live Sales").contains("live connection"));
        assert!(reason_for(&outcome, "data source Orders Live").contains("live connection"));
        // The same schema and name in another database is not ours.
        assert!(!outcome.items.iter().any(|i| i.luid == "ds-dev"));
        assert_eq!(
            reason_for(&outcome, "1 model of this run"),
            "nothing in Tableau reads them: analytics.marts.dim_regions"
        );
    }
}

#[test]
fn custom_sql_tableau_resolved_counts_and_what_it_could_not_parse_is_reported() {
    let sql: Vec<CustomSql> = serde_json::from_value(json!([
        {"id": "c1", "name": "Custom SQL Query", "query": "select * from analytics.marts.dim_regions",
         "isUnsupportedCustomSql": false,
         "tables": [{"id": "t-regions", "name": "DIM_REGIONS", "schema": "MARTS", "database": {"name": "ANALYTICS"}}],
         "downstreamDatasources": [{"__typename": "PublishedDatasource", "id": "d5", "name": "Regions",
            "luid": "ds-regions", "hasExtracts": true}]},
        {"id": "c2", "name": "Custom SQL Query", "query": "with x as (select * from MARTS.FCT_ORDERS qualify …) select 1",
         "isUnsupportedCustomSql": true, "tables": [],
         "downstreamDatasources": [{"__typename": "PublishedDatasource", "id": "d6", "name": "Weird Orders",
            "luid": "ds-weird", "hasExtracts": true}]},
        {"id": "c3", "query": "select * from fct_orders_archive", "isUnsupportedCustomSql": true, "tables": []}
    ]))
    .expect("custom sql");
    let outcome = plan(true, &sql);
    let regions = outcome
        .items
        .iter()
        .find(|i| i.luid == "ds-regions")
        .expect("resolved custom SQL leads to its data source");
    assert_eq!(regions.reasons, ["lineage:analytics.marts.dim_regions"]);
    let weird = reason_for(&outcome, "custom SQL in data source Weird Orders");
    assert!(
        weird.starts_with("custom SQL lineage cannot see"),
        "{weird}"
    );
    assert!(weird.contains("mentions fct_orders"), "{weird}");
    // fct_orders_archive is another name: not mentioned.
    assert_eq!(
        outcome
            .considered
            .iter()
            .filter(|c| c.subject.starts_with("custom SQL"))
            .count(),
        1
    );
    assert!(
        !outcome
            .considered
            .iter()
            .any(|c| c.reason.starts_with("nothing in Tableau reads"))
    );
}

#[test]
fn relations_are_the_built_ones_and_views_over_them_not_failed_or_untouched_tables() {
    let manifest = Manifest::from_slice(
        br#"{"nodes":{
          "model.s.fct_orders":{"resource_type":"model","database":"ANALYTICS","schema":"MARTS","alias":"fct_orders","config":{"materialized":"table"}},
          "model.s.eph":{"resource_type":"model","database":"ANALYTICS","schema":"MARTS","alias":"eph","config":{"materialized":"ephemeral"},"depends_on":{"nodes":["model.s.fct_orders"]}},
          "model.s.orders_v":{"resource_type":"model","database":"ANALYTICS","schema":"MARTS","alias":"Orders_V","config":{"materialized":"view"},"depends_on":{"nodes":["model.s.eph"]}},
          "model.s.fct_revenue":{"resource_type":"model","database":"ANALYTICS","schema":"MARTS","alias":"fct_revenue","config":{"materialized":"table"},"depends_on":{"nodes":["model.s.fct_orders"]}},
          "model.s.revenue_v":{"resource_type":"model","database":"ANALYTICS","schema":"MARTS","alias":"revenue_v","config":{"materialized":"view"},"depends_on":{"nodes":["model.s.fct_revenue"]}},
          "test.s.t":{"resource_type":"test","database":"ANALYTICS","schema":"MARTS","alias":"t","config":{"materialized":"test"}}}}"#,
        "m",
    )
    .expect("manifest");
    let results = crate::dbt::artifacts::RunResults::from_slice(
        br#"{"args":{"which":"build"},"results":[
          {"unique_id":"model.s.fct_orders","status":"success"},
          {"unique_id":"model.s.fct_revenue","status":"error"},
          {"unique_id":"test.s.t","status":"pass"}]}"#,
        "r",
    )
    .expect("results");
    let built = crate::dbt::artifacts::built_nodes([("step 1".to_string(), &results)]);
    let changed = changed_relations(&manifest, &built);
    let labels: Vec<&str> = changed.relations.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        ["analytics.marts.fct_orders", "analytics.marts.orders_v"]
    );
    assert_eq!(
        changed.views["analytics.marts.orders_v"],
        ["model.s.fct_orders"]
    );
    assert_eq!(
        changed.not_built,
        [(
            "analytics.marts.fct_revenue".to_string(),
            "error".to_string()
        )]
    );
}
