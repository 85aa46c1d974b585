//! Request handling: the per-request pipeline (in-flight count ▸ latency ▸ injected fault ▸ API version
//! ▸ authentication ▸ site ▸ endpoint ▸ answer in the dialect the request asked for), serverinfo,
//! sign-in and sign-out, and the request log.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Query, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use axum::response::Response;
use serde_json::{Value, json};

use super::connected_app;
use super::content::Catalog;
use super::dialect;
use super::faults::{self, Fault};
use super::filter;
use super::jobs;
use super::model::SimConfig;
use super::reply::Reply;
use super::routes::{Endpoint, classify, parse_version};
use super::state::{SimRequest, State, lock, stable_luid};
use crate::sim::conn::ConnKill;

/// Request bodies the simulator reads (sign-in and refresh bodies are tiny).
const BODY_LIMIT: usize = 64 * 1024;
/// GraphQL bodies: a batch of hundreds of table names in one filter.
const METADATA_BODY_LIMIT: usize = 1024 * 1024;
/// The oldest version with `serverinfo` (reference §3); below it everything is 404003.
const OLDEST_VERSION: (u32, u32) = (2, 4);

/// What every request handler can see.
pub(super) struct Shared {
    pub(super) config: SimConfig,
    pub(super) version: (u32, u32),
    pub(super) catalog: Catalog,
    pub(super) metadata: super::metadata::Service,
    pub(super) state: Arc<Mutex<State>>,
}

impl Shared {
    fn site_luid(&self, content_url: &str) -> Option<String> {
        self.config
            .sites
            .iter()
            .any(|s| s == content_url)
            .then(|| stable_luid(&format!("site:{content_url}")))
    }
}

/// The one axum handler (installed as the router's fallback).
pub(super) async fn entry(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let conn = ConnKill::of(&request);
    let format = dialect::response_format(request.headers());
    let api_version = shared.config.rest_api_version.clone();
    let (parts, body) = request.into_parts();
    // Like the real server, finish the work even if the client hangs up mid-request (a refresh POST
    // whose answer is lost still queues a job): run it in a task of its own.
    match tokio::spawn(process(shared, parts, body, conn)).await {
        Ok(reply) => reply.render(format, &api_version),
        Err(_) => Reply::canned("500000").render(format, &api_version),
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a Mutex<State>);

impl<'a> InFlight<'a> {
    fn enter(state: &'a Mutex<State>) -> Self {
        let mut guard = lock(state);
        guard.in_flight += 1;
        guard.stats.max_in_flight = guard.stats.max_in_flight.max(guard.in_flight);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(self.0).in_flight -= 1;
    }
}

async fn process(shared: Arc<Shared>, parts: Parts, body: Body, conn: Option<ConnKill>) -> Reply {
    let _in_flight = InFlight::enter(&shared.state);
    let (version, endpoint) = classify(&parts.method, parts.uri.path());
    let route = endpoint.route();
    let limit = if endpoint == Endpoint::Metadata {
        METADATA_BODY_LIMIT
    } else {
        BODY_LIMIT
    };
    let body = to_bytes(body, limit).await;
    let latency = {
        let mut state = lock(&shared.state);
        // Counted on arrival, faulted or not: "did the client retry?" needs every attempt.
        match &endpoint {
            Endpoint::Refresh(..) => {
                state.stats.refresh_posts += 1;
                let text = body
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                state.stats.refresh_bodies.push(text.unwrap_or_default());
            }
            Endpoint::QueryJob(_, id) => *state.stats.job_polls.entry(id.clone()).or_default() += 1,
            Endpoint::Metadata => state.metadata.requests += 1,
            _ => {}
        }
        state.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = lock(&shared.state).faults.take(route);
    let mut reset = false;
    let reply = match fault {
        Some(Fault::Status {
            status,
            body,
            retry_after,
        }) => faults::status_reply(status, &body, retry_after.as_deref()),
        Some(Fault::MalformedJson) => faults::malformed_json_reply(route),
        Some(Fault::ResetConnection) => {
            reset = true;
            // Without a connection handle (never the case when served by `TableauSim`), the
            // closest thing is a gateway error without a body.
            Reply::raw(StatusCode::BAD_GATEWAY, None, String::new())
        }
        Some(Fault::Delay(spike)) => {
            tokio::time::sleep(spike).await;
            respond(&shared, version, &endpoint, &parts, body).await
        }
        None => respond(&shared, version, &endpoint, &parts, body).await,
    };
    let reset = reset.then_some(conn).flatten();
    let status = if reset.is_some() {
        0
    } else {
        reply.status.as_u16()
    };
    tracing::debug!(method = %parts.method, path = parts.uri.path(), status, "tableau sim");
    lock(&shared.state).stats.requests.push(SimRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        status,
        route,
    });
    if let Some(conn) = reset {
        conn.kill();
    }
    reply
}

/// The normal answer: the Metadata API's (authentication ▸ GraphQL), or a REST one.
async fn respond(
    shared: &Shared,
    version: Option<&str>,
    endpoint: &Endpoint,
    parts: &Parts,
    body: Result<Bytes, axum::Error>,
) -> Reply {
    match endpoint {
        Endpoint::Metadata => {}
        // Only the Metadata API's path has no version segment and a method it refuses.
        Endpoint::WrongMethod if version.is_none() => return Reply::canned("405000"),
        _ => return answer(shared, version, endpoint, parts, body),
    }
    let Ok(body) = body else {
        return Reply::bad_payload();
    };
    // The same session token and the same 401s as the REST routes (docs/metadata-sim.md).
    let site = {
        let token = auth_token(&parts.headers);
        let mut state = lock(&shared.state);
        let session = match state.authenticate(token) {
            Ok(session) => session,
            Err(reply) => return reply,
        };
        if let Err(reply) = connected_app::authorize(shared, &state, token, endpoint) {
            return reply;
        }
        session.site
    };
    shared.metadata.serve(&shared.state, &site, &body).await
}

/// The normal answer: version ▸ authentication ▸ site ▸ endpoint.
fn answer(
    shared: &Shared,
    version: Option<&str>,
    endpoint: &Endpoint,
    parts: &Parts,
    body: Result<Bytes, axum::Error>,
) -> Reply {
    let Some(version) = version else {
        return Reply::unknown_route(parts.uri.path());
    };
    let path = parts.uri.path().strip_prefix("/api").unwrap_or_default();
    let version = match parse_version(version) {
        Some(v) if (OLDEST_VERSION..=shared.version).contains(&v) => v,
        _ => return Reply::unknown_resource(path),
    };
    let Ok(body) = body else {
        return Reply::bad_payload();
    };
    match endpoint {
        Endpoint::Unknown => return Reply::unknown_route(path),
        Endpoint::WrongMethod => return Reply::canned("405000"),
        Endpoint::ServerInfo => return server_info(&shared.config),
        Endpoint::SignIn => {
            return match dialect::read_body(&parts.headers, &body) {
                Ok(request) => sign_in(shared, request.as_ref()),
                Err(refused) => refused,
            };
        }
        _ => {}
    }
    let token = auth_token(&parts.headers);
    let mut state = lock(&shared.state);
    if *endpoint == Endpoint::SignOut && token.is_none() {
        // Sign-out without a token is an invalid-token error, not "no credentials".
        return Reply::canned("401002");
    }
    let session = match state.authenticate(token) {
        Ok(session) => session,
        Err(reply) => return reply,
    };
    if let Err(reply) = connected_app::authorize(shared, &state, token, endpoint) {
        return reply;
    }
    if endpoint
        .site()
        .is_some_and(|site| site != session.site_luid)
    {
        return Reply::canned("403000");
    }
    if matches!(endpoint, Endpoint::List(..) | Endpoint::ListProjects(_))
        && let Some(refused) =
            filter::refuse_encoded_on_old_server(shared.version, parts.uri.query())
    {
        return refused;
    }
    let params = || Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|q| q.0);
    let catalog = &shared.catalog;
    match endpoint {
        Endpoint::SignOut => {
            // The body means nothing here, but a body of a type the server cannot read is refused.
            if let Err(refused) = dialect::read_body(&parts.headers, &body) {
                return refused;
            }
            state.sign_out(token.unwrap_or_default());
            Reply::no_content()
        }
        Endpoint::List(_, kind) => match params() {
            Ok(params) => catalog.list(&state, *kind, &session.site, &params),
            Err(_) => Reply::bad_payload(),
        },
        Endpoint::ListProjects(_) => match params() {
            Ok(params) => catalog.list_projects(&params),
            Err(_) => Reply::bad_payload(),
        },
        Endpoint::Get(_, kind, id) => catalog.get(&state, *kind, &session.site, id),
        Endpoint::Refresh(_, kind, id) => match dialect::read_body(&parts.headers, &body) {
            Ok(request) => jobs::refresh(
                catalog,
                &mut state,
                &session,
                *kind,
                id,
                request.as_ref(),
                version,
            ),
            Err(refused) => refused,
        },
        Endpoint::QueryJob(_, id) => jobs::query(&state, &session, id),
        Endpoint::CancelJob(_, id) => jobs::cancel(&mut state, &session, id),
        Endpoint::ServerInfo
        | Endpoint::SignIn
        | Endpoint::WrongMethod
        | Endpoint::Unknown
        | Endpoint::Metadata => Reply::canned("404000"),
    }
}

fn auth_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-tableau-auth")
        .and_then(|value| value.to_str().ok())
        .filter(|token| !token.is_empty())
}

fn server_info(config: &SimConfig) -> Reply {
    Reply::document(
        StatusCode::OK,
        &json!({"serverInfo": {
            "productVersion": {"value": config.product_version, "build": build_of(&config.product_version)},
            "restApiVersion": config.rest_api_version,
        }}),
    )
}

/// A build number shaped like the real ones: "2024.2.0" -> "20242.24.0711.1636".
fn build_of(product_version: &str) -> String {
    let mut parts = product_version.split('.');
    let year = parts.next().unwrap_or("2024");
    let release = parts.next().unwrap_or("1");
    let short_year = year.get(2..).unwrap_or("24");
    format!("{year}{release}.{short_year}.0711.1636")
}

/// `POST /auth/signin` with a PAT, its body read from JSON or XML into one shape (`None` = empty).
/// A wrong PAT and an unknown site both answer 401001, as on the real server; JWT and password
/// credentials are never accepted here.
fn sign_in(shared: &Shared, request: Option<&Value>) -> Reply {
    let Some(request) = request else {
        return Reply::bad_payload();
    };
    let Some(credentials) = request.get("credentials").filter(|c| c.is_object()) else {
        return Reply::bad_payload();
    };
    let Some(site) = credentials
        .get("site")
        .and_then(|s| s.get("contentUrl"))
        .and_then(Value::as_str)
    else {
        return Reply::bad_payload();
    };
    let field = |key: &str| credentials.get(key).and_then(Value::as_str);
    if let Some(jwt) = field("jwt") {
        return connected_app::sign_in(shared, jwt, site, shared.site_luid(site));
    }
    let pat = match (
        field("personalAccessTokenName"),
        field("personalAccessTokenSecret"),
    ) {
        (Some(name), Some(secret)) => shared
            .config
            .pats
            .iter()
            .find(|(n, s)| n == name && s == secret)
            .map(|(n, _)| n.clone()),
        _ if ["jwt", "name", "password"]
            .iter()
            .any(|k| field(k).is_some()) =>
        {
            None
        }
        _ => return Reply::bad_payload(),
    };
    let (Some(pat_name), Some(site_luid)) = (pat, shared.site_luid(site)) else {
        return Reply::canned("401001");
    };
    let token = lock(&shared.state).sign_in(&pat_name, site, &site_luid);
    Reply::document(
        StatusCode::OK,
        &json!({"credentials": {
            "site": {"id": site_luid, "contentUrl": site},
            "user": {"id": stable_luid(&format!("user:{pat_name}"))},
            "token": token,
            "estimatedTimeToExpiration": "177:05:38",
        }}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_number_looks_real() {
        assert_eq!(build_of("2024.2.0"), "20242.24.0711.1636");
    }
}
