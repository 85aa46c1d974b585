//! A Tableau session: server info and API version, sign-in (PAT: one session per token; connected
//! app: a new JWT each time, see `auth`), calls under the site with one re-sign-in when the session
//! is lost, and sign-out.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Method, Url};
use tokio::sync::{Mutex, RwLock, Semaphore};

use super::auth::{self, Credentials, Scope};
use super::error::{TableauError, code};
use super::http::{Response, Retry, Transport};
use super::model::{CredentialsEnvelope, ServerInfo, ServerInfoEnvelope};
use super::version::ApiVersion;
use crate::actions::Console;
use crate::secret::Secret;

/// Update Workbook Now / Update Data Source Now need this API version.
pub const MIN_REFRESH_VERSION: ApiVersion = ApiVersion::new(2, 8);
/// Personal access token sign-in needs this API version.
pub const MIN_PAT_VERSION: ApiVersion = ApiVersion::new(3, 6);
/// The version used to ask `serverinfo` (introduced in 2.4, still served by every later server).
const PROBE_VERSION: &str = "2.4";
/// How many times one run may sign in again after losing its session.
const MAX_RESIGNINS: u32 = 3;

/// Where and as whom to sign in.
#[derive(Debug, Clone)]
pub struct Connection {
    pub server: Url,
    pub site: String,
    pub credentials: Credentials,
    pub pinned_version: Option<ApiVersion>,
}

/// The step of [`Session::open`] that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStep {
    /// Reading `serverinfo` or checking the version.
    ServerInfo,
    SignIn,
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct OpenError {
    pub step: OpenStep,
    pub error: TableauError,
}

/// What the summary shows about the server.
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    pub server: String,
    pub site: String,
    pub api_version: String,
    pub product_version: Option<String>,
}

/// A signed-in session.
pub struct Session<'t> {
    transport: &'t Transport,
    console: Console,
    connection: Connection,
    /// The server base, which a sign-in redirect (Tableau Cloud pods) may change.
    base: Url,
    version: ApiVersion,
    facts: ServerFacts,
    auth: RwLock<Auth>,
    resignin: Mutex<()>,
    resignins: AtomicU32,
    /// Scopes a fresh JWT session was refused (401002 after a new sign-in): later calls needing
    /// them fail at once instead of signing in again.
    refused_scopes: std::sync::Mutex<BTreeSet<Scope>>,
    /// Bounds the calls in flight, so many targets never flood the site (Tableau Cloud answers
    /// 429 past 20 concurrent long requests).
    in_flight: Semaphore,
}

struct Auth {
    token: Secret,
    site_id: String,
    generation: u64,
    signed_in: bool,
}

impl<'t> Session<'t> {
    /// Reads the server version (unless pinned) and signs in. At most `concurrency` calls run at once.
    pub async fn open(
        transport: &'t Transport,
        console: Console,
        connection: Connection,
        concurrency: usize,
    ) -> Result<Session<'t>, OpenError> {
        let at = |step| move |error| OpenError { step, error };
        let base = connection.server.clone();
        let mut facts = ServerFacts {
            server: base.as_str().trim_end_matches('/').to_string(),
            site: display_site(&connection.site),
            ..ServerFacts::default()
        };
        let version = match connection.pinned_version {
            Some(version) => version,
            None => {
                let info = server_info(transport, &base)
                    .await
                    .map_err(at(OpenStep::ServerInfo))?;
                facts.product_version = info.product_version.and_then(|p| p.value);
                ApiVersion::parse(&info.rest_api_version)
                    .ok_or_else(|| {
                        TableauError::Decode(format!(
                            "serverinfo reported an API version we cannot read: {:?}",
                            info.rest_api_version
                        ))
                    })
                    .map_err(at(OpenStep::ServerInfo))?
            }
        };
        facts.api_version = version.to_string();
        check_version(version, &connection.credentials).map_err(at(OpenStep::ServerInfo))?;
        let session = Session {
            transport,
            console,
            connection,
            base,
            version,
            facts,
            auth: RwLock::new(Auth {
                token: Secret::new(""),
                site_id: String::new(),
                generation: 0,
                signed_in: false,
            }),
            resignin: Mutex::new(()),
            resignins: AtomicU32::new(0),
            refused_scopes: std::sync::Mutex::new(BTreeSet::new()),
            in_flight: Semaphore::new(concurrency.max(1)),
        };
        session.sign_in().await.map_err(at(OpenStep::SignIn))?;
        Ok(session)
    }

    pub fn version(&self) -> ApiVersion {
        self.version
    }

    pub fn facts(&self) -> &ServerFacts {
        &self.facts
    }

    /// How many times the session was lost and signed in again.
    pub fn resignins(&self) -> u32 {
        self.resignins.load(Ordering::Relaxed)
    }

    /// Calls `path` under `/api/{v}/sites/{site-id}/`, signing in again once if the session was lost.
    pub async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&str>,
        retry: Retry,
    ) -> Result<Response, TableauError> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| TableauError::Refused("the session is closed".into()))?;
        let (token, site_id, generation) = {
            let auth = self.auth.read().await;
            (auth.token.clone(), auth.site_id.clone(), auth.generation)
        };
        let url = self.site_url(&site_id, path, query);
        let first = self
            .transport
            .send(method.clone(), &url, Some(&token), body, retry)
            .await;
        match first {
            Err(TableauError::Api(error)) if error.is_session_lost() => {
                // On a JWT session 401002 also means "outside the JWT's scopes"; once a fresh
                // session was refused the same call, signing in again cannot help.
                let scope = self
                    .connection
                    .credentials
                    .scope_for_call(&method, path)
                    .filter(|_| auth::is_scope_or_session_refusal(&error));
                if let Some(scope) = scope
                    && self.scope_refused(scope)
                {
                    return Err(auth::missing_scope(scope, &error));
                }
                let (token, site_id) = self.renew(generation, &error.to_string()).await?;
                let url = self.site_url(&site_id, path, query);
                let second = self
                    .transport
                    .send(method, &url, Some(&token), body, retry)
                    .await;
                match (scope, second) {
                    (Some(scope), Err(TableauError::Api(again)))
                        if auth::is_scope_or_session_refusal(&again) =>
                    {
                        self.refuse_scope(scope);
                        Err(auth::missing_scope(scope, &again))
                    }
                    (_, second) => second,
                }
            }
            other => other,
        }
    }

    fn scope_refused(&self, scope: Scope) -> bool {
        self.refused_scopes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&scope)
    }

    fn refuse_scope(&self, scope: Scope) {
        self.refused_scopes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(scope);
    }

    /// Signs out. Safe to call more than once; failures are reported, not fatal.
    pub async fn close(&self) -> Result<(), TableauError> {
        let token = {
            let mut auth = self.auth.write().await;
            if !auth.signed_in {
                return Ok(());
            }
            auth.signed_in = false;
            auth.token.clone()
        };
        let url = self.api_url(&["auth", "signout"]);
        self.transport
            .send(Method::POST, &url, Some(&token), Some(""), Retry::Safe)
            .await
            .map(|_| ())
    }

    /// Signs in again unless another task already did since `seen_generation` failed.
    async fn renew(
        &self,
        seen_generation: u64,
        why: &str,
    ) -> Result<(Secret, String), TableauError> {
        let _one_at_a_time = self.resignin.lock().await;
        {
            let auth = self.auth.read().await;
            if auth.generation != seen_generation {
                return Ok((auth.token.clone(), auth.site_id.clone()));
            }
        }
        let hint = self.connection.credentials.session_lost_hint();
        if self.resignins.fetch_add(1, Ordering::Relaxed) >= MAX_RESIGNINS {
            return Err(TableauError::Refused(format!(
                "the Tableau session was lost again ({why}) after {MAX_RESIGNINS} new sign-ins; {hint}"
            )));
        }
        self.console.warning(
            "Tableau session lost",
            &format!("the session ended ({why}); signing in again. If this repeats, {hint}"),
        );
        self.sign_in().await?;
        let auth = self.auth.read().await;
        Ok((auth.token.clone(), auth.site_id.clone()))
    }

    async fn sign_in(&self) -> Result<(), TableauError> {
        let credentials = &self.connection.credentials;
        let auth::SignInBody { body, jwt } = credentials.sign_in_body(&self.connection.site)?;
        if let Some(jwt) = &jwt {
            self.console.mask(jwt);
        }
        let mut url = self.api_url(&["auth", "signin"]);
        let mut response = self
            .transport
            .send(Method::POST, &url, None, Some(&body), Retry::Safe)
            .await
            .map_err(|err| sign_in_error(err, credentials))?;
        if (300..400).contains(&response.status) {
            // Tableau Cloud answers 301 from the generic host with the pod's address; repeat the
            // POST there, but only within the same domain so the PAT never leaves Tableau.
            let target = redirect_target(&url, response.location.as_deref())?;
            url = target;
            response = self
                .transport
                .send(Method::POST, &url, None, Some(&body), Retry::Safe)
                .await
                .map_err(|err| sign_in_error(err, credentials))?;
        }
        let credentials: CredentialsEnvelope = response.json("sign-in answer")?;
        let token = Secret::new(credentials.credentials.token);
        self.console.mask(&token);
        let mut auth = self.auth.write().await;
        auth.token = token;
        auth.site_id = credentials.credentials.site.id;
        auth.generation += 1;
        auth.signed_in = true;
        Ok(())
    }

    fn api_url(&self, path: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push("api")
                .push(&self.version.to_string());
            segments.extend(path);
        }
        url
    }

    fn site_url(&self, site_id: &str, path: &[&str], query: &[(&str, String)]) -> Url {
        let mut full = vec!["sites", site_id];
        full.extend_from_slice(path);
        let mut url = self.api_url(&full);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        url
    }
}

/// `GET /api/2.4/serverinfo`, unauthenticated.
async fn server_info(transport: &Transport, base: &Url) -> Result<ServerInfo, TableauError> {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend(["api", PROBE_VERSION, "serverinfo"]);
    }
    let response = transport
        .send(Method::GET, &url, None, None, Retry::Safe)
        .await
        .map_err(|err| match err {
            TableauError::Api(api) if api.has_code(code::UNKNOWN_RESOURCE) || api.status == 404 => {
                TableauError::Refused(format!(
                    "{} has no Tableau REST API serverinfo ({api}); check tableau-site-url, or set \
                     api-version if this is a very old Tableau Server",
                    display_base(base)
                ))
            }
            other => other,
        })?;
    Ok(response
        .json::<ServerInfoEnvelope>("serverinfo answer")?
        .server_info)
}

fn check_version(version: ApiVersion, credentials: &Credentials) -> Result<(), TableauError> {
    if version < MIN_REFRESH_VERSION {
        return Err(TableauError::Refused(format!(
            "Tableau REST API {version} is too old: refreshing extracts needs {MIN_REFRESH_VERSION} or later"
        )));
    }
    let min = credentials.min_version();
    if version < min {
        return Err(TableauError::Refused(format!(
            "Tableau REST API {version} is too old: {} needs {min} or later",
            credentials.sign_in_name()
        )));
    }
    Ok(())
}

/// Turns sign-in failures into messages that say what to check.
fn sign_in_error(err: TableauError, credentials: &Credentials) -> TableauError {
    match err {
        TableauError::Api(api) if api.has_code(code::SIGN_IN_FAILED) || api.status == 401 => {
            TableauError::Refused(credentials.sign_in_refused(&api))
        }
        TableauError::Api(api) if api.has_code(code::UNKNOWN_RESOURCE) => {
            TableauError::Refused(format!(
                "the server does not offer this API version ({api}); unset api-version to detect it"
            ))
        }
        other => other,
    }
}

/// Accepts a sign-in redirect only to https (or the same scheme) on the same registrable domain.
fn redirect_target(from: &Url, location: Option<&str>) -> Result<Url, TableauError> {
    let refuse = |why: &str| {
        TableauError::Refused(format!(
            "sign-in was redirected {why}; set tableau-site-url to the address the browser shows"
        ))
    };
    let location = location.ok_or_else(|| refuse("without a Location"))?;
    let target = from
        .join(location)
        .map_err(|_| refuse("to an unreadable address"))?;
    let same_scheme = target.scheme() == from.scheme() || target.scheme() == "https";
    let domain = |url: &Url| {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let labels: Vec<&str> = host.rsplitn(3, '.').take(2).collect();
        labels.join(".")
    };
    if !same_scheme || domain(&target) != domain(from) {
        return Err(refuse(&format!(
            "to another domain ({})",
            target.host_str().unwrap_or("?")
        )));
    }
    Ok(target)
}

fn display_site(site: &str) -> String {
    if site.is_empty() {
        "(default site)".into()
    } else {
        site.to_string()
    }
}

fn display_base(base: &Url) -> String {
    base.as_str().trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_below_the_minimums_are_refused_with_the_reason() {
        let pat = Credentials::Pat {
            name: "n".into(),
            secret: Secret::new("s"),
        };
        let err = check_version(ApiVersion::new(2, 6), &pat).expect_err("too old");
        assert!(err.to_string().contains("needs 2.8"), "{err}");
        let err = check_version(ApiVersion::new(3, 4), &pat).expect_err("no PAT");
        assert!(err.to_string().contains("needs 3.6"), "{err}");
        assert!(check_version(ApiVersion::new(3, 24), &pat).is_ok());
        let app = Credentials::ConnectedApp(auth::ConnectedApp {
            client_id: "c".into(),
            secret_id: "i".into(),
            secret_value: Secret::new("v"),
            username: "u".into(),
            scopes: vec![Scope::ContentRead],
        });
        let err = check_version(ApiVersion::new(3, 16), &app).expect_err("no JWT");
        assert!(err.to_string().contains("JWT) sign-in needs 3.17"), "{err}");
        assert!(check_version(ApiVersion::new(3, 17), &app).is_ok());
    }

    #[test]
    fn redirects_stay_within_the_domain() {
        let from = Url::parse("https://online.tableau.com/api/3.24/auth/signin").expect("url");
        let to = redirect_target(
            &from,
            Some("https://prod-useast-b.online.tableau.com/api/3.24/auth/signin"),
        )
        .expect("pod redirect");
        assert_eq!(to.host_str(), Some("prod-useast-b.online.tableau.com"));
        assert!(redirect_target(&from, Some("https://evil.example/api")).is_err());
        assert!(redirect_target(&from, Some("http://online.tableau.com/x")).is_err());
        assert!(redirect_target(&from, None).is_err());
    }
}
