//! The Tableau simulator's Metadata API over HTTP: schema validation as the real server does it,
//! the dbt-aware queries (reference dbt-aware.md §4) answered consistently with the REST content,
//! filters, cursor paging, interfaces, both lineage modes, and each error mode.

// A test that cannot reach or parse the simulator should fail right there.
#![allow(clippy::unwrap_used)]

use dbt_tableau_refresh::sim::tableau::sample::{
    CUSTOMERS_DATASOURCE_ID, FCT_ORDERS_TABLE_ID, LIVE_WORKBOOK_ID, ORDERS_DATASOURCE_ID,
    PNL_WORKBOOK_ID, REVENUE_MARKETING_WORKBOOK_ID, SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET,
};
use dbt_tableau_refresh::sim::tableau::{SimConfig, SimTable, TableauSim};
use serde_json::{Value, json};

/// The tables query of dbt-aware.md §4, as written there.
const TABLES_QUERY: &str = r#"
query T($names:[String], $schemas:[String], $first:Int, $after:String) {
  databaseTablesConnection(first:$first, after:$after,
      filter:{nameWithin:$names, schemaWithin:$schemas}) {
    nodes { id name schema fullName connectionType database { name }
      downstreamDatasources { __typename id name
        ... on PublishedDatasource { luid hasExtracts extractLastRefreshTime } }
      downstreamWorkbooks { luid name } }
    pageInfo { hasNextPage endCursor } } }"#;

/// The workbooks query of dbt-aware.md §4, as written there.
const WORKBOOKS_QUERY: &str = r#"
query W($luids:[String]) {
  workbooks(filter:{luidWithin:$luids}) { luid name
    embeddedDatasources { id name hasExtracts
      upstreamTables { id }
      upstreamDatasources { luid hasExtracts } } } }"#;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A session on the default site and the way to post GraphQL with it.
struct Meta {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Meta {
    async fn sign_in(sim: &TableauSim) -> Meta {
        let http = client();
        let body = json!({"credentials": {
            "personalAccessTokenName": SAMPLE_PAT_NAME,
            "personalAccessTokenSecret": SAMPLE_PAT_SECRET,
            "site": {"contentUrl": ""},
        }});
        let response = http
            .post(format!("{}/api/3.24/auth/signin", sim.url()))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        Meta {
            http,
            url: format!("{}/api/metadata/graphql", sim.url()),
            token: answer["credentials"]["token"].as_str().unwrap().to_owned(),
        }
    }

    /// (HTTP status, answer) of a query.
    async fn post_with(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(&self.url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(json!({"query": query, "variables": variables}).to_string());
        if let Some(token) = token {
            request = request.header("X-Tableau-Auth", token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A query that must succeed: its `data`.
    async fn data(&self, query: &str, variables: Value) -> Value {
        let (status, answer) = self.post_with(Some(&self.token), query, variables).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer.get("errors").is_none(), "{answer}");
        answer["data"].clone()
    }

    async fn answer(&self, query: &str, variables: Value) -> Value {
        let (status, answer) = self.post_with(Some(&self.token), query, variables).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

async fn sample_with(change: impl FnOnce(&mut SimConfig)) -> (TableauSim, Meta) {
    let mut config = SimConfig::sample();
    change(&mut config);
    let sim = TableauSim::start(config).await.unwrap();
    let meta = Meta::sign_in(&sim).await;
    (sim, meta)
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn code_of(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn a_misspelt_field_fails_validation_with_no_data() {
    let (_sim, meta) = sample_with(|_| {}).await;
    let answer = meta
        .answer("{ databaseTables { id nmae } }", json!({}))
        .await;
    assert!(answer["data"].is_null(), "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nmae"), "{message}");
    assert_eq!(
        answer["errors"][0]["extensions"]["classification"],
        "ValidationError"
    );
    // A wrong argument and a wrong filter field are refused the same way.
    let answer = meta
        .answer(
            r#"{ databaseTables(filter: {databaseName: "ANALYTICS"}) { id } }"#,
            json!({}),
        )
        .await;
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("databaseName")
    );
}

#[tokio::test]
async fn the_tables_query_finds_what_reads_fct_orders() {
    let (_sim, meta) = sample_with(|_| {}).await;
    let data = meta
        .data(
            TABLES_QUERY,
            json!({"names": ["FCT_ORDERS"], "schemas": ["MARTS"], "first": 100}),
        )
        .await;
    let connection = &data["databaseTablesConnection"];
    assert_eq!(connection["pageInfo"]["hasNextPage"], false);
    let nodes = connection["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{data}");
    let table = &nodes[0];
    assert_eq!(table["id"], FCT_ORDERS_TABLE_ID);
    assert_eq!(table["schema"], "MARTS");
    assert_eq!(table["fullName"], "[MARTS].[FCT_ORDERS]");
    assert_eq!(table["connectionType"], "snowflake");
    assert_eq!(table["database"]["name"], "ANALYTICS");
    let datasources = table["downstreamDatasources"].as_array().unwrap();
    assert_eq!(datasources.len(), 1, "{table}");
    assert_eq!(datasources[0]["__typename"], "PublishedDatasource");
    assert_eq!(datasources[0]["luid"], ORDERS_DATASOURCE_ID);
    assert_eq!(datasources[0]["name"], "Orders");
    assert_eq!(datasources[0]["hasExtracts"], true);
    assert!(datasources[0]["extractLastRefreshTime"].is_string());
    // Direct readers only (the default lineage mode): P&L's extract and the live workbook.
    assert_eq!(
        names(&table["downstreamWorkbooks"]),
        ["Live Sales", "P&L, Q1: Actuals"]
    );
}

#[tokio::test]
async fn the_workbooks_query_tells_direct_readers_from_readers_of_orders() {
    let (_sim, meta) = sample_with(|_| {}).await;
    let luids = [
        PNL_WORKBOOK_ID,
        LIVE_WORKBOOK_ID,
        REVENUE_MARKETING_WORKBOOK_ID,
    ];
    let data = meta.data(WORKBOOKS_QUERY, json!({"luids": luids})).await;
    let workbooks = data["workbooks"].as_array().unwrap();
    assert_eq!(workbooks.len(), 3, "{data}");
    let by_luid = |luid: &str| {
        workbooks
            .iter()
            .find(|w| w["luid"] == luid)
            .unwrap()
            .clone()
    };
    let pnl = by_luid(PNL_WORKBOOK_ID);
    assert_eq!(pnl["name"], "P&L, Q1: Actuals");
    let embedded = &pnl["embeddedDatasources"][0];
    assert_eq!(embedded["hasExtracts"], true);
    assert_eq!(
        embedded["upstreamTables"],
        json!([{"id": FCT_ORDERS_TABLE_ID}])
    );
    assert_eq!(embedded["upstreamDatasources"], json!([]));

    let live = by_luid(LIVE_WORKBOOK_ID);
    assert_eq!(live["embeddedDatasources"][0]["hasExtracts"], false);

    let revenue = by_luid(REVENUE_MARKETING_WORKBOOK_ID);
    let embedded = revenue["embeddedDatasources"].as_array().unwrap();
    let through_orders = embedded.iter().find(|e| e["name"] == "Orders").unwrap();
    assert_eq!(
        through_orders["upstreamDatasources"],
        json!([{"luid": ORDERS_DATASOURCE_ID, "hasExtracts": true}])
    );
    assert_eq!(through_orders["upstreamTables"], json!([]));
    assert_eq!(through_orders["hasExtracts"], false);
}

#[tokio::test]
async fn published_data_sources_and_workbooks_match_the_rest_content() {
    let config = SimConfig::sample();
    let (_sim, meta) = sample_with(|_| {}).await;
    let data = meta
        .data(
            "{ publishedDatasources { luid name projectName hasExtracts downstreamWorkbooks { luid } }
               workbooksConnection { totalCount nodes { luid name } } }",
            json!({}),
        )
        .await;
    let published = data["publishedDatasources"].as_array().unwrap();
    assert_eq!(published.len(), config.datasources.len());
    for item in &config.datasources {
        let found = published
            .iter()
            .find(|p| p["luid"] == item.id.as_str())
            .unwrap();
        assert_eq!(found["name"], item.name.as_str());
        assert_eq!(found["hasExtracts"], item.has_extracts);
    }
    let orders = published
        .iter()
        .find(|p| p["luid"] == ORDERS_DATASOURCE_ID)
        .unwrap();
    assert_eq!(orders["projectName"], "Finance");
    assert_eq!(
        orders["downstreamWorkbooks"],
        json!([{"luid": REVENUE_MARKETING_WORKBOOK_ID}])
    );
    let workbooks = &data["workbooksConnection"];
    assert_eq!(workbooks["totalCount"], config.workbooks.len());
    for item in &config.workbooks {
        let nodes = workbooks["nodes"].as_array().unwrap();
        let found = nodes
            .iter()
            .find(|w| w["luid"] == item.id.as_str())
            .unwrap();
        assert_eq!(found["name"], item.name.as_str());
    }
}

#[tokio::test]
async fn filters_match_exactly_and_case_sensitively() {
    let (_sim, meta) = sample_with(|_| {}).await;
    let count = |filter: Value| {
        let meta = &meta;
        async move {
            let data = meta
                .data(
                    "query($f: DatabaseTable_Filter) { databaseTablesConnection(filter: $f) { totalCount } }",
                    json!({"f": filter}),
                )
                .await;
            data["databaseTablesConnection"]["totalCount"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(count(json!({"nameWithin": ["FCT_ORDERS"]})).await, 1);
    assert_eq!(count(json!({"nameWithin": ["fct_orders"]})).await, 0);
    assert_eq!(count(json!({"name": "FCT_ORDER"})).await, 0);
    assert_eq!(count(json!({"schema": "marts"})).await, 0);
    assert_eq!(count(json!({"schemaWithin": ["MARTS"]})).await, 3);
    assert_eq!(
        count(json!({"nameWithin": ["FCT_ORDERS", "FCT_REVENUE"], "schema": "MARTS"})).await,
        2
    );
    assert_eq!(count(json!({"idWithin": [FCT_ORDERS_TABLE_ID]})).await, 1);
    assert_eq!(
        count(json!({"fullNameWithin": ["[MARTS].[DIM_CUSTOMERS]"]})).await,
        1
    );
    // Workbooks and published data sources filter on their REST LUIDs.
    let data = meta
        .data(
            "query($l: [String]) { publishedDatasources(filter: {luidWithin: $l}) { name } }",
            json!({"l": [CUSTOMERS_DATASOURCE_ID]}),
        )
        .await;
    assert_eq!(data["publishedDatasources"], json!([{"name": "Customers"}]));
}

#[tokio::test]
async fn cursors_page_through_tables_and_after_with_offset_is_refused() {
    let (_sim, meta) = sample_with(|config| {
        config.metadata.tables = (0..250)
            .map(|i| {
                SimTable::new(
                    format!("00000000-0000-4000-8000-{i:012}"),
                    "snowflake",
                    "ANALYTICS",
                    "MARTS",
                    format!("T{i:03}"),
                )
            })
            .collect();
        config.metadata.published.clear();
        config.metadata.embedded.clear();
        config.metadata.custom_sql.clear();
    })
    .await;
    let query = "query($first: Int, $after: String) { databaseTablesConnection(first: $first, after: $after, orderBy: {field: NAME, direction: ASC}) {
        totalCount nodes { name } pageInfo { hasNextPage endCursor } } }";
    // Default page: 100.
    let data = meta.data(query, json!({})).await;
    let page = &data["databaseTablesConnection"];
    assert_eq!(page["nodes"].as_array().unwrap().len(), 100);
    assert_eq!(page["totalCount"], 250);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let data = meta
            .data(query, json!({"first": 120, "after": after}))
            .await;
        let page = &data["databaseTablesConnection"];
        for node in page["nodes"].as_array().unwrap() {
            seen.push(node["name"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..250).map(|i| format!("T{i:03}")).collect();
    assert_eq!(seen, expected);

    let answer = meta
        .answer(
            "query($after: String) { databaseTablesConnection(after: $after, offset: 5) { totalCount } }",
            json!({"after": after}),
        )
        .await;
    assert_eq!(code_of(&answer), "INVALID_ARGUMENT", "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
    // A cursor of another type is refused too.
    let answer = meta
        .answer(
            "query($after: String) { workbooksConnection(after: $after) { totalCount } }",
            json!({"after": after}),
        )
        .await;
    assert_eq!(code_of(&answer), "INVALID_ARGUMENT", "{answer}");
}

#[tokio::test]
async fn typename_and_inline_fragments_work_on_interfaces() {
    let (_sim, meta) = sample_with(|_| {}).await;
    let data = meta
        .data(
            "{ embeddedDatasourcesConnection { nodes { __typename name
                 ... on EmbeddedDatasource { workbook { luid } }
                 ... on Datasource { hasExtracts } } }
               customSQLTablesConnection { nodes { __typename isUnsupportedCustomSql query
                 tables { name }
                 database { __typename ... on DatabaseServer { connectionType } name }
                 downstreamDatasources { name } } } }",
            json!({}),
        )
        .await;
    let embedded = data["embeddedDatasourcesConnection"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(embedded.len(), 4);
    for node in embedded {
        assert_eq!(node["__typename"], "EmbeddedDatasource");
        assert!(node["workbook"]["luid"].is_string(), "{node}");
        assert!(node["hasExtracts"].is_boolean(), "{node}");
    }
    let sql = data["customSQLTablesConnection"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(sql.len(), 2, "{data}");
    let resolved = sql
        .iter()
        .find(|n| n["isUnsupportedCustomSql"] == false)
        .unwrap();
    assert_eq!(resolved["__typename"], "CustomSQLTable");
    assert_eq!(names(&resolved["tables"]), ["DIM_CUSTOMERS", "FCT_ORDERS"]);
    assert_eq!(resolved["database"]["__typename"], "DatabaseServer");
    assert_eq!(resolved["database"]["connectionType"], "snowflake");
    assert_eq!(
        resolved["downstreamDatasources"],
        json!([{"name": "Orders"}])
    );
    let unsupported = sql
        .iter()
        .find(|n| n["isUnsupportedCustomSql"] == true)
        .unwrap();
    assert_eq!(unsupported["tables"], json!([]));
    assert!(unsupported["database"].is_null());
    assert_eq!(
        unsupported["downstreamDatasources"],
        json!([{"name": "Customers"}])
    );
}

#[tokio::test]
async fn transitive_mode_reaches_past_published_data_sources() {
    let query = "query($n: [String]) { databaseTables(filter: {nameWithin: $n}) {
          downstreamDatasources { name } downstreamWorkbooks { name } }
        embeddedDatasources(filter: {name: \"Orders\"}) { upstreamTables { name } } }";
    let vars = json!({"n": ["FCT_ORDERS"]});
    for transitive in [false, true] {
        let (_sim, meta) =
            sample_with(|config| config.metadata.transitive_downstream = transitive).await;
        let data = meta.data(query, vars.clone()).await;
        let table = &data["databaseTables"][0];
        // Only published data sources, in both modes: the field is `[PublishedDatasource!]!`.
        assert_eq!(names(&table["downstreamDatasources"]), ["Orders"]);
        let workbooks = names(&table["downstreamWorkbooks"]);
        let behind_orders = names(&data["embeddedDatasources"][0]["upstreamTables"]);
        if transitive {
            assert_eq!(
                workbooks,
                ["Live Sales", "P&L, Q1: Actuals", "Revenue Dashboard"]
            );
            assert_eq!(behind_orders, ["DIM_CUSTOMERS", "FCT_ORDERS"]);
        } else {
            assert_eq!(workbooks, ["Live Sales", "P&L, Q1: Actuals"]);
            assert!(behind_orders.is_empty());
        }
    }
}

#[tokio::test]
async fn a_server_without_metadata_services_answers_feature_disabled() {
    let (_sim, meta) = sample_with(|config| config.metadata.enabled = false).await;
    let answer = meta.answer("{ workbooks { luid } }", json!({})).await;
    assert_eq!(code_of(&answer), "FEATURE_DISABLED", "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["severity"], "ERROR");
    assert!(answer["data"].is_null());
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tsm maintenance metadata-services enable")
    );
}

#[tokio::test]
async fn rate_exceeded_refuses_the_next_requests_then_answers() {
    let (sim, meta) = sample_with(|_| {}).await;
    sim.faults().set_metadata_rate_exceeded(2);
    for _ in 0..2 {
        let answer = meta.answer("{ workbooks { luid } }", json!({})).await;
        assert_eq!(code_of(&answer), "RATE_EXCEEDED", "{answer}");
        assert!(answer["data"].is_null());
    }
    let data = meta.data("{ workbooks { luid } }", json!({})).await;
    assert_eq!(data["workbooks"].as_array().unwrap().len(), 5);
    assert_eq!(sim.faults().metadata_requests(), 3);
}

#[tokio::test]
async fn backfill_warns_beside_the_data() {
    let (sim, meta) = sample_with(|_| {}).await;
    sim.faults().set_metadata_backfill(true);
    let answer = meta
        .answer(
            TABLES_QUERY,
            json!({"names": ["FCT_ORDERS"], "schemas": ["MARTS"]}),
        )
        .await;
    assert_eq!(code_of(&answer), "BACKFILL_RUNNING", "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["severity"], "WARNING");
    let nodes = answer["data"]["databaseTablesConnection"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), 1);
    sim.faults().set_metadata_backfill(false);
    meta.data("{ workbooks { luid } }", json!({})).await;
}

#[tokio::test]
async fn over_the_node_limit_the_answer_is_cut_and_says_so() {
    let (sim, meta) = sample_with(|_| {}).await;
    let query = "{ workbooks { luid embeddedDatasources { name } } }";
    // 5 workbooks + 4 embedded data sources = 9 nodes.
    sim.faults().set_metadata_node_limit(Some(9));
    meta.data(query, json!({})).await;
    sim.faults().set_metadata_node_limit(Some(3));
    let answer = meta.answer(query, json!({})).await;
    assert_eq!(code_of(&answer), "NODE_LIMIT_EXCEEDED", "{answer}");
    assert_eq!(
        answer["errors"][0]["extensions"]["properties"]["nodeLimit"],
        3
    );
    let workbooks = answer["data"]["workbooks"].as_array().unwrap();
    let nodes: usize = workbooks
        .iter()
        .map(|w| 1 + w["embeddedDatasources"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(nodes <= 3, "{answer}");
    sim.faults().set_metadata_node_limit(None);
    meta.data(query, json!({})).await;
}

#[tokio::test]
async fn without_a_valid_token_the_api_answers_401() {
    let (sim, meta) = sample_with(|_| {}).await;
    let (status, answer) = meta
        .post_with(None, "{ workbooks { luid } }", json!({}))
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "401000");
    let (status, answer) = meta
        .post_with(Some("not-a-token"), "{ workbooks { luid } }", json!({}))
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "401002");
    // Refused requests count too.
    assert_eq!(sim.faults().metadata_requests(), 2);
}

#[tokio::test]
async fn injected_http_faults_reach_the_graphql_endpoint_and_get_is_refused() {
    use dbt_tableau_refresh::sim::tableau::{Fault, FaultBody, Route};
    let (sim, meta) = sample_with(|_| {}).await;
    let throttled = Fault::Status {
        status: 503,
        body: FaultBody::Html,
        retry_after: Some("2".into()),
    };
    sim.faults().inject(Route::Metadata, throttled, 1);
    let (status, _) = meta
        .post_with(Some(&meta.token), "{ workbooks { luid } }", json!({}))
        .await;
    assert_eq!(status, 503);
    meta.data("{ workbooks { luid } }", json!({})).await;
    let response = meta
        .http
        .get(&meta.url)
        .header("X-Tableau-Auth", &meta.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(sim.faults().metadata_requests(), 2);
}
