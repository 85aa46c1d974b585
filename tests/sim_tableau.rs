//! The Tableau simulator itself, over HTTP: the real server's behaviour (and quirks) that the client's
//! tests rely on, and the fault switches.

// A test that cannot reach or parse the simulator should fail right there.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use dbt_tableau_refresh::sim::tableau::sample::{
    FINANCE_PROJECT_ID, LIVE_WORKBOOK_ID, ORDERS_DATASOURCE_ID, PNL_WORKBOOK_ID,
    REVENUE_FINANCE_WORKBOOK_ID, SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET,
};
use dbt_tableau_refresh::sim::tableau::{
    Fault, FaultBody, Route, SimConfig, SimItem, SimJobBehaviour, TableauSim,
};
use serde_json::{Value, json};

const V: &str = "3.24";
const JSON: &str = "application/json";

/// A reqwest client. reqwest is built with `rustls-no-provider`, so a crypto provider must be installed
/// even though the simulator speaks plain HTTP.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Percent-encode everything but unreserved characters, as a client encodes a query value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A signed-in client of one simulator.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    site_id: String,
    version: &'static str,
}

impl Api {
    async fn sign_in(sim: &TableauSim) -> Api {
        let http = client();
        let response = sign_in_raw(&http, &sim.url(), SAMPLE_PAT_SECRET, "").await;
        assert_eq!(response.status(), 200);
        let body: Value = json_of(response).await;
        Api {
            http,
            base: sim.url(),
            token: body["credentials"]["token"].as_str().unwrap().to_owned(),
            site_id: body["credentials"]["site"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            version: V,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/api/{}/sites/{}/{rest}",
            self.base, self.version, self.site_id
        )
    }

    /// (status, parsed JSON body or Null)
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .header("X-Tableau-Auth", &self.token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, rest: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(rest))).await
    }

    async fn refresh(&self, rest: &str, body: &str) -> (u16, Value) {
        let request = self.http.post(self.url(rest)).body(body.to_owned());
        self.send(request.header("Content-Type", "application/json"))
            .await
    }
}

async fn sign_in_raw(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    site: &str,
) -> reqwest::Response {
    let body = json!({"credentials": {
        "personalAccessTokenName": SAMPLE_PAT_NAME,
        "personalAccessTokenSecret": secret,
        "site": {"contentUrl": site},
    }});
    http.post(format!("{base}/api/{V}/auth/signin"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// The sample with jobs short enough for tests.
async fn start() -> TableauSim {
    let config = SimConfig::sample().with_job_duration(Duration::from_millis(40));
    TableauSim::start(config).await.unwrap()
}

/// reqwest is built without its `json` feature here.
async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn serverinfo_answers_without_auth_and_unknown_versions_are_404003() {
    let sim = start().await;
    let http = client();
    for path in [
        "/api/3.24/serverinfo",
        "/api/2.4/serverInfo",
        "/api/3.9/serverinfo",
    ] {
        let response = http
            .get(format!("{}{path}", sim.url()))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = json_of(response).await;
        assert_eq!(body["serverInfo"]["restApiVersion"], "3.24");
        assert_eq!(body["serverInfo"]["productVersion"]["value"], "2024.2.0");
    }
    // 3.100 > 3.24 numerically, although "3.100" < "3.24" as text.
    for version in ["3.25", "3.100", "2.3", "-"] {
        let url = format!("{}/api/{version}/serverinfo", sim.url());
        let response = http.get(url).header("Accept", JSON).send().await.unwrap();
        assert_eq!(response.status(), 404, "{version}");
        let body: Value = json_of(response).await;
        assert_eq!(code(&body), "404003");
        let detail = body["error"]["detail"].as_str().unwrap();
        assert_eq!(
            detail,
            format!("Unknown resource '/{version}/serverinfo' specified in URI.")
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn sign_in_checks_pat_and_site_and_a_second_sign_in_kills_the_first() {
    let sim = start().await;
    let http = client();
    for (secret, site) in [("wrong", ""), (SAMPLE_PAT_SECRET, "no-such-site")] {
        let response = sign_in_raw(&http, &sim.url(), secret, site).await;
        assert_eq!(response.status(), 401);
        let body: Value = json_of(response).await;
        assert_eq!(code(&body), "401001");
        assert_eq!(body["error"]["summary"], "Signin Error");
    }
    let malformed = http
        .post(format!("{}/api/{V}/auth/signin", sim.url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    let first = Api::sign_in(&sim).await;
    assert_eq!(first.token.len(), 32);
    assert_eq!(first.get("workbooks").await.0, 200);
    let second = Api::sign_in(&sim).await;
    let (status, body) = first.get("workbooks").await;
    assert_eq!((status, code(&body)), (401, "401002"));
    assert_eq!(second.get("workbooks").await.0, 200);

    let anonymous = http
        .get(second.url("workbooks"))
        .header("Accept", JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = json_of(anonymous).await;
    assert_eq!(code(&body), "401000");

    let signout = format!("{}/api/{V}/auth/signout", sim.url());
    let (status, _) = second.send(second.http.post(&signout)).await;
    assert_eq!(status, 204);
    assert_eq!(second.get("workbooks").await.0, 401);

    let stats = sim.stats();
    assert_eq!(stats.sign_ins, 2);
    assert_eq!(stats.sign_outs, 1);
    assert_eq!(stats.sessions_killed_by_resignin, 1);
    assert_eq!(stats.max_concurrent_sessions_per_pat, 2);
    assert_eq!(stats.active_sessions, 0);
}

#[tokio::test]
async fn filters_match_exactly_with_star_wildcards_and_reject_separators() {
    let sim = start().await;
    let api = Api::sign_in(&sim).await;
    let names = |body: &Value| -> Vec<String> {
        body["workbooks"]["workbook"]
            .as_array()
            .map(|items| {
                let name = |w: &Value| w["name"].as_str().unwrap().to_owned();
                items.iter().map(name).collect()
            })
            .unwrap_or_default()
    };

    let wildcard = format!("workbooks?filter={}", enc("name:eq:P*L* Q1* Actuals"));
    let (status, body) = api.get(&wildcard).await;
    assert_eq!(status, 200);
    assert_eq!(names(&body), ["P&L, Q1: Actuals"]);
    assert_eq!(body["workbooks"]["workbook"][0]["id"], PNL_WORKBOOK_ID);
    assert_eq!(body["pagination"]["totalAvailable"], "1");

    // Even percent-encoded, `,` `&` `:` in a value break the expression list.
    let encoded = format!("workbooks?filter={}", enc("name:eq:P&L, Q1: Actuals"));
    let (status, body) = api.get(&encoded).await;
    assert_eq!((status, code(&body)), (400, "400065"));

    let same_name = format!("workbooks?filter={}", enc("name:eq:Revenue Dashboard"));
    assert_eq!(names(&api.get(&same_name).await.1).len(), 2);
    let with_project = enc("name:eq:Revenue Dashboard,projectName:eq:Finance");
    let (_, body) = api.get(&format!("workbooks?filter={with_project}")).await;
    assert_eq!(
        body["workbooks"]["workbook"][0]["id"],
        REVENUE_FINANCE_WORKBOOK_ID
    );
    assert_eq!(
        body["workbooks"]["workbook"][0]["project"]["name"],
        "Finance"
    );
    let in_list = enc("name:in:[Live Sales,Scratchpad]");
    let (_, body) = api.get(&format!("workbooks?filter={in_list}")).await;
    assert_eq!(names(&body), ["Live Sales", "Scratchpad"]);
    // The personal-space workbook has no project key at all.
    assert!(body["workbooks"]["workbook"][1].get("project").is_none());

    let (status, body) = api.get("workbooks?filter=name:eq:Nothing").await;
    assert_eq!(status, 200);
    assert_eq!(body["workbooks"], json!({}));
    assert_eq!(body["pagination"]["totalAvailable"], "0");
}

#[tokio::test]
async fn items_projects_and_path_errors_look_like_the_real_server() {
    let sim = start().await;
    let api = Api::sign_in(&sim).await;

    let (status, body) = api.get("datasources").await;
    assert_eq!(status, 200);
    let orders = &body["datasources"]["datasource"][0];
    assert_eq!(orders["id"], ORDERS_DATASOURCE_ID);
    assert_eq!(
        (&orders["type"], &orders["hasExtracts"]),
        (&json!("hyper"), &json!("true"))
    );

    let (status, body) = api.get(&format!("workbooks/{PNL_WORKBOOK_ID}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["workbook"]["project"]["name"], "Quarterly");
    assert_eq!(body["workbook"]["size"], "1");
    let (status, body) = api
        .get("workbooks/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!((status, code(&body)), (404, "404006"));
    let (status, body) = api
        .get("datasources/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!((status, code(&body)), (404, "404011"));

    let (status, body) = api.get("projects?filter=name:eq:Quarterly").await;
    assert_eq!(status, 200);
    let quarterly = &body["projects"]["project"][0];
    assert_eq!(quarterly["parentProjectId"], FINANCE_PROJECT_ID);
    let (_, body) = api.get("projects?filter=name:eq:Finance").await;
    assert!(
        body["projects"]["project"][0]
            .get("parentProjectId")
            .is_none()
    );

    // The site segment must be the session's site LUID, not its contentUrl.
    let wrong_site = format!("{}/api/{V}/sites/finance/workbooks", api.base);
    let (status, _) = api.send(api.http.get(wrong_site)).await;
    assert_eq!(status, 403);
    let (status, body) = api.get("views").await;
    assert_eq!((status, code(&body)), (404, "404000"));
    let (status, _) = api.send(api.http.delete(api.url("workbooks"))).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn pages_of_one_walk_three_items_and_sizes_are_bounded() {
    let config = SimConfig {
        pats: SimConfig::sample().pats,
        workbooks: ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                SimItem::new(
                    format!("00000000-0000-4000-8000-00000000000{i}"),
                    *name,
                    None,
                )
            })
            .collect(),
        ..SimConfig::default()
    };
    let sim = TableauSim::start(config).await.unwrap();
    let api = Api::sign_in(&sim).await;
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (status, body) = api
            .get(&format!("workbooks?pageSize=1&pageNumber={page}"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body["pagination"],
            json!({"pageNumber": page.to_string(), "pageSize": "1", "totalAvailable": "3"})
        );
        let items = body["workbooks"]["workbook"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        seen.push(items[0]["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["a", "b", "c"]);
    let (_, past_end) = api.get("workbooks?pageSize=1&pageNumber=4").await;
    assert_eq!(past_end["workbooks"], json!({}));
    let (status, _) = api.get("workbooks?pageSize=1001").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn refresh_queues_a_job_that_runs_to_its_finish_code() {
    // A job that outlives the test, to see it pending without racing the clock, and a short one.
    let mut config = SimConfig::sample().with_job_duration(Duration::from_millis(40));
    config.workbooks[0].job = SimJobBehaviour::succeeding(Duration::from_secs(60));
    let sim = TableauSim::start(config).await.unwrap();
    let api = Api::sign_in(&sim).await;
    let slow = format!("workbooks/{REVENUE_FINANCE_WORKBOOK_ID}/refresh");

    let (status, body) = api.refresh(&slow, "{}").await;
    assert_eq!(status, 202);
    assert_eq!(body["job"]["type"], "RefreshExtract");
    assert_eq!(body["job"]["mode"], "Asynchronous");
    assert_eq!(
        body["job"]["extractRefreshJob"]["workbook"]["id"],
        REVENUE_FINANCE_WORKBOOK_ID
    );
    let slow_job = body["job"]["id"].as_str().unwrap().to_owned();
    let (status, body) = api.refresh(&slow, "").await;
    assert_eq!((status, code(&body)), (409, "409093"));
    assert_eq!(body["error"]["summary"], "Resource Conflict");
    let (_, running) = api.get(&format!("jobs/{slow_job}")).await;
    assert!(running["job"]["progress"].is_string());
    assert!(running["job"].get("completedAt").is_none());
    assert!(running["job"].get("finishCode").is_none());

    let quick = format!("workbooks/{PNL_WORKBOOK_ID}/refresh");
    let (_, body) = api.refresh(&quick, "").await;
    let quick_job = body["job"]["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let done = loop {
        let (_, body) = api.get(&format!("jobs/{quick_job}")).await;
        if body["job"].get("completedAt").is_some() {
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job never completed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["job"]["finishCode"], "0");
    assert_eq!(done["job"]["progress"], "100");
    // Done: the next refresh is accepted again.
    assert_eq!(api.refresh(&quick, "").await.0, 202);

    let live = format!("workbooks/{LIVE_WORKBOOK_ID}/refresh");
    let (status, body) = api.refresh(&live, "{}").await;
    assert_eq!((status, code(&body)), (409, "409090"));
    assert_eq!(
        body["error"]["detail"],
        "Extract operation for the workbook 'Live Sales' is not allowed."
    );
    // The incremental body needs 3.25; this server is 3.24.
    let incremental = r#"{"extractRefresh":{"incremental":true}}"#;
    let (status, body) = api.refresh(&quick, incremental).await;
    assert_eq!((status, code(&body)), (400, "400000"));
    let unknown = "workbooks/00000000-0000-4000-8000-000000000000/refresh";
    assert_eq!(api.refresh(unknown, "").await.0, 404);

    let stats = sim.stats();
    assert_eq!(stats.refresh_posts, 7);
    assert_eq!(stats.refresh_bodies[..2], ["{}", ""]);
    assert_eq!(stats.job_polls[&slow_job], 1);
    assert!(stats.job_polls[&quick_job] >= 1);
}

#[tokio::test]
async fn incremental_refresh_bodies_are_accepted_from_3_25() {
    let config = SimConfig::sample().with_api_version("3.25");
    let sim = TableauSim::start(config).await.unwrap();
    let mut api = Api::sign_in(&sim).await;
    api.version = "3.25";
    let refresh = format!("datasources/{ORDERS_DATASOURCE_ID}/refresh");
    let (status, body) = api
        .refresh(&refresh, r#"{"extractRefresh":{"incremental":true}}"#)
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        body["job"]["extractRefreshJob"]["datasource"]["name"],
        "Orders"
    );
}

#[tokio::test]
async fn failed_jobs_carry_notes_and_running_jobs_can_be_cancelled() {
    let mut config = SimConfig::sample();
    config.workbooks[0].job =
        SimJobBehaviour::failing(Duration::ZERO, "Login failed for user 'etl'");
    config.workbooks[2].job = SimJobBehaviour::succeeding(Duration::from_secs(60));
    let sim = TableauSim::start(config).await.unwrap();
    let api = Api::sign_in(&sim).await;

    let (_, queued) = api
        .refresh(
            &format!("workbooks/{REVENUE_FINANCE_WORKBOOK_ID}/refresh"),
            "",
        )
        .await;
    let failed_id = queued["job"]["id"].as_str().unwrap();
    let (_, failed) = api.get(&format!("jobs/{failed_id}")).await;
    assert_eq!(failed["job"]["finishCode"], "1");
    assert_eq!(
        failed["job"]["extractRefreshJob"]["notes"],
        "Login failed for user 'etl'"
    );
    assert_eq!(
        failed["job"]["statusNotes"]["statusNote"][0]["type"],
        "errorCode"
    );

    let (_, queued) = api
        .refresh(&format!("workbooks/{PNL_WORKBOOK_ID}/refresh"), "")
        .await;
    let slow_id = queued["job"]["id"].as_str().unwrap().to_owned();
    let cancel = || api.send(api.http.put(api.url(&format!("jobs/{slow_id}"))));
    let (status, cancelled) = cancel().await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["job"]["finishCode"], "2");
    let (status, body) = cancel().await;
    assert_eq!((status, code(&body)), (409, "409000"));
    assert_eq!(sim.stats().cancels, [slow_id]);
    let (status, body) = api.get("jobs/00000000-0000-4000-8000-000000000000").await;
    assert_eq!((status, code(&body)), (404, "404031"));
}

#[tokio::test]
async fn injected_faults_replace_the_answer_then_stop() {
    let sim = start().await;
    let api = Api::sign_in(&sim).await;
    let faults = sim.faults();
    let throttled = Fault::Status {
        status: 429,
        body: FaultBody::Html,
        retry_after: Some("2".into()),
    };
    faults.inject(Route::QueryWorkbooks, throttled, 1);
    let response = api
        .http
        .get(api.url("workbooks"))
        .header("X-Tableau-Auth", &api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.headers()["content-type"], "text/html");
    assert!(response.text().await.unwrap().starts_with("<html>"));
    assert_eq!(api.get("workbooks").await.0, 200);

    // A one-off 401002 leaves the session alive.
    let expired = Fault::Status {
        status: 401,
        body: FaultBody::Json("401002".into()),
        retry_after: None,
    };
    faults.inject(Route::Any, expired, 1);
    let (status, body) = api.get("datasources").await;
    assert_eq!((status, code(&body)), (401, "401002"));
    assert_eq!(api.get("datasources").await.0, 200);

    let xml = Fault::Status {
        status: 503,
        body: FaultBody::Xml("503000".into()),
        retry_after: None,
    };
    faults.inject(Route::GetWorkbook, xml, 1);
    let response = api
        .http
        .get(api.url(&format!("workbooks/{PNL_WORKBOOK_ID}")))
        .header("X-Tableau-Auth", &api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/xml;charset=UTF-8"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"<error code="503000">"#)
    );

    // A delay is followed by the normal answer.
    faults.inject(
        Route::QueryDatasources,
        Fault::Delay(Duration::from_millis(50)),
        1,
    );
    assert_eq!(api.get("datasources").await.0, 200);

    faults.inject(Route::QueryJob, Fault::MalformedJson, 1);
    let (status, body) = api.get("jobs/whatever").await;
    assert_eq!((status, body), (200, Value::Null));
}

#[tokio::test]
async fn a_reset_connection_is_a_client_error_and_queues_nothing() {
    let sim = start().await;
    let api = Api::sign_in(&sim).await;
    sim.faults()
        .inject(Route::RefreshWorkbook, Fault::ResetConnection, 1);
    let refresh = api.url(&format!("workbooks/{REVENUE_FINANCE_WORKBOOK_ID}/refresh"));
    let result = api
        .http
        .post(&refresh)
        .header("X-Tableau-Auth", &api.token)
        .body("{}")
        .send()
        .await;
    assert!(
        result.is_err(),
        "expected a connection error, got {result:?}"
    );
    let stats = sim.stats();
    assert_eq!(stats.refresh_posts, 1);
    assert_eq!(stats.requests.last().map(|r| r.status), Some(0));
    // No job was queued, so the next POST is accepted.
    let refresh = format!("workbooks/{REVENUE_FINANCE_WORKBOOK_ID}/refresh");
    assert_eq!(api.refresh(&refresh, "{}").await.0, 202);
}

#[tokio::test]
async fn sessions_expire_after_n_calls_until_the_next_sign_in() {
    let sim = start().await;
    let api = Api::sign_in(&sim).await;
    sim.faults().expire_session_after(1);
    assert_eq!(api.get("workbooks").await.0, 200);
    let (status, body) = api.get("workbooks").await;
    assert_eq!((status, code(&body)), (401, "401002"));
    assert_eq!(api.get("workbooks").await.0, 401);
    let again = Api::sign_in(&sim).await;
    assert_eq!(again.get("workbooks").await.0, 200);
    assert_eq!(sim.stats().sessions_killed_by_resignin, 0);
}

#[tokio::test]
async fn latency_is_per_request_not_serialised() {
    let sim = start().await;
    sim.faults().set_latency(Duration::from_millis(400));
    let http = client();
    let url = format!("{}/api/{V}/serverinfo", sim.url());
    let calls: Vec<_> = (0..4)
        .map(|_| tokio::spawn(http.get(&url).send()))
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status(), 200);
    }
    assert!(
        sim.stats().max_in_flight >= 4,
        "{:?}",
        sim.stats().max_in_flight
    );
}

/// The value of `attribute` on the first `<element …>` in an XML answer.
fn xml_attr(xml: &str, element: &str, attribute: &str) -> String {
    let pattern = format!(r#"<{element}\b[^>]*\s{attribute}="([^"]*)""#);
    let found = regex::Regex::new(&pattern).unwrap().captures(xml);
    found
        .unwrap_or_else(|| panic!("no {element}@{attribute} in {xml}"))
        .get(1)
        .unwrap()
        .as_str()
        .to_owned()
}

const XML: &str = "application/xml;charset=UTF-8";

/// (status, Content-Type, body) of a request, no `Accept` unless the builder has one.
async fn exchange(request: reqwest::RequestBuilder) -> (u16, String, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn answers_are_xml_unless_accept_asks_for_json() {
    let sim = start().await;
    let http = client();
    let info = format!("{}/api/{V}/serverInfo", sim.url());
    for accept in [
        None,
        Some("*/*"),
        Some("application/xml"),
        Some("text/html"),
    ] {
        let mut request = http.get(&info);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let (status, content_type, body) = exchange(request).await;
        assert_eq!((status, content_type.as_str()), (200, XML), "{accept:?}");
        assert!(body.starts_with(
            "<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns=\"http://tableau.com/api\""
        ));
        assert!(
            body.contains("<restApiVersion>3.24</restApiVersion>"),
            "{body}"
        );
        assert_eq!(
            xml_attr(&body, "productVersion", "build"),
            "20242.24.0711.1636"
        );
        assert!(body.contains(">2024.2.0</productVersion>"), "{body}");
    }
    let (_, content_type, body) = exchange(
        http.get(&info)
            .header("Accept", "application/json, text/plain, */*"),
    )
    .await;
    assert_eq!(content_type, JSON);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["serverInfo"]["restApiVersion"], "3.24");

    // Errors follow the same rule: TSC parses `<error code>` out of the XML.
    let (status, content_type, body) =
        exchange(http.get(format!("{}/api/2.3/serverInfo", sim.url()))).await;
    assert_eq!((status, content_type.as_str()), (404, XML));
    assert!(
        body.contains(
            "<error code=\"404003\"><summary>Resource Not Found</summary>\
         <detail>Unknown resource '/2.3/serverInfo' specified in URI.</detail></error>"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn an_xml_client_signs_in_lists_refreshes_polls_and_signs_out() {
    let sim = TableauSim::start(
        SimConfig::sample()
            .with_job_duration(Duration::from_millis(40))
            .with_api_version("3.25"),
    )
    .await
    .unwrap();
    let http = client();
    let api = format!("{}/api/3.25", sim.url());
    let signin = format!(
        "<tsRequest><credentials personalAccessTokenName=\"{SAMPLE_PAT_NAME}\" \
         personalAccessTokenSecret=\"{SAMPLE_PAT_SECRET}\"><site contentUrl=\"\"/></credentials></tsRequest>"
    );
    let (status, content_type, body) = exchange(
        http.post(format!("{api}/auth/signin"))
            .header("Content-Type", "text/xml")
            .body(signin),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, XML), "{body}");
    let token = xml_attr(&body, "credentials", "token");
    let site = xml_attr(&body, "site", "id");
    assert_eq!(xml_attr(&body, "site", "contentUrl"), "");
    assert_eq!(token.len(), 32);

    let list = format!(
        "{api}/sites/{site}/workbooks?filter={}",
        enc("name:eq:P*L* Q1* Actuals")
    );
    let (status, _, body) = exchange(http.get(&list).header("X-Tableau-Auth", &token)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"<pagination pageNumber="1" pageSize="100" totalAvailable="1"/>"#),
        "{body}"
    );
    // `&` escaped in the attribute; the project is a child element.
    assert_eq!(xml_attr(&body, "workbook", "name"), "P&amp;L, Q1: Actuals");
    assert_eq!(xml_attr(&body, "project", "name"), "Quarterly");

    // `<tsRequest/>` (any version) and `<extractRefresh/>` (3.25+) are refresh bodies TSC sends.
    let refresh = |id: &str| format!("{api}/sites/{site}/workbooks/{id}/refresh");
    let bodies = [
        (REVENUE_FINANCE_WORKBOOK_ID, "<tsRequest/>"),
        (
            PNL_WORKBOOK_ID,
            "<tsRequest><extractRefresh incremental=\"true\" /></tsRequest>",
        ),
    ];
    let mut job = String::new();
    for (id, request) in bodies {
        let (status, content_type, body) = exchange(
            http.post(refresh(id))
                .header("X-Tableau-Auth", &token)
                .header("Content-Type", "text/xml")
                .body(request),
        )
        .await;
        assert_eq!(
            (status, content_type.as_str()),
            (202, XML),
            "{request}: {body}"
        );
        assert_eq!(xml_attr(&body, "job", "type"), "RefreshExtract");
        assert_eq!(xml_attr(&body, "workbook", "id"), id);
        job = xml_attr(&body, "job", "id");
    }
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (status, _, body) = exchange(
        http.get(format!("{api}/sites/{site}/jobs/{job}"))
            .header("X-Tableau-Auth", &token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(xml_attr(&body, "job", "finishCode"), "0");
    assert_eq!(xml_attr(&body, "job", "progress"), "100");

    // TSC signs out with an empty text/xml body.
    let (status, _, body) = exchange(
        http.post(format!("{api}/auth/signout"))
            .header("X-Tableau-Auth", &token)
            .header("Content-Type", "text/xml"),
    )
    .await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(sim.stats().active_sessions, 0);
}

#[tokio::test]
async fn bodies_of_types_the_server_does_not_read_get_406000() {
    let sim = start().await;
    let http = client();
    let signin = format!("{}/api/{V}/auth/signin", sim.url());
    let json_body = json!({"credentials": {
        "personalAccessTokenName": SAMPLE_PAT_NAME,
        "personalAccessTokenSecret": SAMPLE_PAT_SECRET,
        "site": {"contentUrl": ""},
    }})
    .to_string();
    let (status, content_type, body) = exchange(
        http.post(&signin)
            .header("Content-Type", "text/plain")
            .body(json_body.clone()),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (406, XML));
    assert!(
        body.contains(
            "<error code=\"406000\"><summary>Bad Request</summary>\
         <detail>Content type 'text/plain' not supported</detail></error>"
        ),
        "{body}"
    );
    // A JSON body labelled as XML (the default type) is malformed XML: 400000.
    let (status, _, body) = exchange(http.post(&signin).body(json_body.clone())).await;
    assert_eq!(status, 400);
    assert!(body.contains("<error code=\"400000\">"), "{body}");
    assert_eq!(sim.stats().sign_ins, 0);

    let api = Api::sign_in(&sim).await;
    let refresh = api.url(&format!("workbooks/{REVENUE_FINANCE_WORKBOOK_ID}/refresh"));
    let (status, body) = api
        .send(
            api.http
                .post(&refresh)
                .header("Content-Type", "multipart/form-data; boundary=x")
                .body("--x--"),
        )
        .await;
    assert_eq!((status, code(&body)), (406, "406000"));
    assert_eq!(
        body["error"]["detail"],
        "Content type 'multipart/form-data; boundary=x' not supported"
    );
    // Nothing was queued: a proper empty refresh goes through.
    let rest = format!("workbooks/{REVENUE_FINANCE_WORKBOOK_ID}/refresh");
    assert_eq!(api.refresh(&rest, "").await.0, 202);
}

#[tokio::test]
async fn an_expired_session_may_answer_403() {
    let sim = start().await;
    let api = Api::sign_in(&sim).await;
    sim.faults().expire_session_after_with_403(0);
    let (status, body) = api.get("workbooks").await;
    assert_eq!((status, code(&body)), (403, "403000"));
    assert_eq!(api.get("workbooks").await.0, 403);
    let again = Api::sign_in(&sim).await;
    assert_eq!(again.get("workbooks").await.0, 200);
}

#[tokio::test]
async fn a_bridge_job_shows_finish_code_0_while_assigned_then_3_in_json_and_xml() {
    const BRIDGED: &str = "d5e6f7a8-b9c0-4d1e-8f2a-3b4c5d6e7f09";
    let mut config = SimConfig::sample();
    config.datasources.push(
        SimItem::new(BRIDGED, "Plant Floor", Some(FINANCE_PROJECT_ID))
            .through_bridge()
            .with_job(SimJobBehaviour::via_bridge(
                Duration::from_millis(20),
                Duration::from_millis(400),
            )),
    );
    let sim = TableauSim::start(config).await.unwrap();
    let api = Api::sign_in(&sim).await;
    let (_, item) = api.get(&format!("datasources/{BRIDGED}")).await;
    assert_eq!(item["datasource"]["useRemoteQueryAgent"], "true");
    let (status, queued) = api
        .refresh(&format!("datasources/{BRIDGED}/refresh"), "{}")
        .await;
    assert_eq!(status, 202, "{queued}");
    let job = queued["job"]["id"].as_str().unwrap().to_owned();
    let xml = || {
        exchange(
            api.http
                .get(api.url(&format!("jobs/{job}")))
                .header("X-Tableau-Auth", &api.token),
        )
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Assigned to a Bridge client: completedAt is there, finishCode is 0.
    let (_, assigned) = api.get(&format!("jobs/{job}")).await;
    assert!(assigned["job"]["completedAt"].is_string(), "{assigned}");
    assert_eq!(assigned["job"]["finishCode"], "0");
    let (_, _, body) = xml().await;
    assert_eq!(xml_attr(&body, "job", "finishCode"), "0");
    assert!(!xml_attr(&body, "job", "completedAt").is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, done) = api.get(&format!("jobs/{job}")).await;
    assert_eq!(done["job"]["finishCode"], "3");
    let (_, _, body) = xml().await;
    assert_eq!(xml_attr(&body, "job", "finishCode"), "3");
}

#[tokio::test]
async fn a_server_below_3_7_refuses_an_encoded_filter_with_400065() {
    let mut config = SimConfig::sample();
    config.rest_api_version = "3.6".into();
    let sim = TableauSim::start(config).await.unwrap();
    let http = client();
    let body = json!({"credentials": {
        "personalAccessTokenName": SAMPLE_PAT_NAME,
        "personalAccessTokenSecret": SAMPLE_PAT_SECRET,
        "site": {"contentUrl": ""},
    }});
    let response = http
        .post(format!("{}/api/3.6/auth/signin", sim.url()))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let signed_in = json_of(response).await;
    let api = Api {
        http,
        base: sim.url(),
        token: signed_in["credentials"]["token"]
            .as_str()
            .unwrap()
            .to_owned(),
        site_id: signed_in["credentials"]["site"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        version: "3.6",
    };
    let (status, body) = api
        .get(&format!("datasources?filter={}", enc("name:eq:Orders")))
        .await;
    assert_eq!((status, code(&body)), (400, "400065"));
    let (status, body) = api.get("datasources?filter=name:eq:Orders").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["datasources"]["datasource"][0]["name"], "Orders");
}
