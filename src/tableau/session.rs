//! A Tableau session: server info and API version, sign-in (PAT: one session per token; connected
//! app: a new JWT each time, see `auth`), calls under the site with one re-sign-in when the
//! session is lost, and sign-out.
//!
//! Opening takes one round trip: `serverinfo` and the sign-in go out together. Sign-in is sent at
//! the first REST API version that takes the credentials (3.6 for a personal access token, 3.17
//! for a connected app), which every server that can take them still serves; the version
//! `serverinfo` reports is used for every later call (the session token does not depend on the
//! version it was obtained at). Should a server no longer serve that version, the sign-in is
//! repeated at the detected version. Both calls follow redirects as [`super::address`] allows,
//! and the session keeps the final host for every later call.

use crate::inputs::{self, Naming};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Method, Url};
use tokio::sync::{Mutex, RwLock, Semaphore};

use super::address::{self, MAX_REDIRECTS};
use super::auth::{self, Credentials, Scope};
use super::error::{TableauError, code};
use super::http::{Response, Retry, Transport};
use super::model::{CredentialsEnvelope, ServerInfo};
use super::server_info;
use super::version::ApiVersion;
use crate::actions::Console;
use crate::secret::Secret;

/// Update Workbook Now / Update Data Source Now need this API version.
pub const MIN_REFRESH_VERSION: ApiVersion = ApiVersion::new(2, 8);
/// Personal access token sign-in needs this API version.
pub const MIN_PAT_VERSION: ApiVersion = auth::MIN_PAT_VERSION;
/// The version used to ask `serverinfo`: the oldest that has it (Tableau Server 10.1), so that an
/// old server still tells its version and gets a clear "too old" instead of a 404. Current
/// servers and Tableau Cloud still answer it; its answer may be XML (see `server_info`).
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
    /// `TABLEAU_ALLOW_INSECURE_HTTP`: plain http to a host that is not loopback.
    pub allow_insecure_http: bool,
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
    /// The server the session ended on, after redirects (e.g. a Tableau Cloud pod).
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
    version: ApiVersion,
    facts: ServerFacts,
    auth: RwLock<Auth>,
    resignin: Mutex<()>,
    resignins: AtomicU32,
    /// Scopes a fresh JWT session was refused (401002 after a new sign-in): later calls needing
    /// them fail at once instead of signing in again.
    refused_scopes: std::sync::Mutex<BTreeSet<Scope>>,
    /// Whether a 403 may still lead to a new sign-in (see [`Forbidden`]).
    forbidden: std::sync::Mutex<Forbidden>,
    /// Bounds the calls in flight, so many targets never flood the site (its size is
    /// `--concurrency`; see `refresh::config::DEFAULT_CONCURRENCY` for the documented limits).
    in_flight: Semaphore,
}

/// A 403 may be an expired session (Tableau KB 001498381: intermittent 401 *or 403*), but it is
/// usually a permission error, so only the first 403 of a run leads to a new sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forbidden {
    /// No 403 yet.
    Unused,
    /// The 403s of the session of this generation are being renewed (concurrent calls that met
    /// the same expired session share the one new sign-in).
    Renewed(u64),
    /// Every later 403 is final.
    Final,
}

struct Auth {
    /// The server base every call goes to: the final host of the last sign-in's redirects.
    base: Url,
    token: Secret,
    site_id: String,
    generation: u64,
    signed_in: bool,
}

/// What one sign-in gave.
struct SignedIn {
    base: Url,
    token: Secret,
    site_id: String,
}

impl<'t> Session<'t> {
    /// Reads the server version (unless pinned) while signing in. At most `concurrency` calls
    /// run at once afterwards.
    pub async fn open(
        transport: &'t Transport,
        console: Console,
        connection: Connection,
        concurrency: usize,
    ) -> Result<Session<'t>, OpenError> {
        let at = |step| move |error| OpenError { step, error };
        address::check_scheme(&connection.server, connection.allow_insecure_http)
            .map_err(|message| at(OpenStep::ServerInfo)(TableauError::Refused(message)))?;
        let base = connection.server.clone();
        let mut facts = ServerFacts {
            site: display_site(&connection.site),
            ..ServerFacts::default()
        };
        let credentials = &connection.credentials;
        // The sign-in sent together with `serverinfo`, before the server's version is known: the
        // first version that takes these credentials.
        let sign_in_version = credentials.min_version();
        let (version, signed_in) = match connection.pinned_version {
            Some(version) => {
                check_version(version, &connection.credentials)
                    .map_err(at(OpenStep::ServerInfo))?;
                let signed_in = sign_in(transport, console, &base, version, &connection)
                    .await
                    .map_err(|err| at(OpenStep::SignIn)(sign_in_error(err, credentials)))?;
                (version, signed_in)
            }
            None => {
                let (info, early) = tokio::join!(
                    server_info(transport, &base),
                    sign_in(transport, console, &base, sign_in_version, &connection),
                );
                let detected = info.and_then(|info| {
                    facts.product_version = info.product_version.clone().and_then(|p| p.value);
                    detected_version(&info, credentials)
                });
                let version = match detected {
                    Ok(version) => version,
                    Err(error) => {
                        if let Ok(signed_in) = early {
                            sign_out(transport, &signed_in, sign_in_version).await.ok();
                        }
                        return Err(at(OpenStep::ServerInfo)(error));
                    }
                };
                let signed_in = match early {
                    Ok(signed_in) => signed_in,
                    // This server no longer serves the first version: sign in at its own.
                    Err(TableauError::Api(api)) if api.status == 404 => {
                        sign_in(transport, console, &base, version, &connection)
                            .await
                            .map_err(|err| at(OpenStep::SignIn)(sign_in_error(err, credentials)))?
                    }
                    Err(err) => return Err(at(OpenStep::SignIn)(sign_in_error(err, credentials))),
                };
                (version, signed_in)
            }
        };
        if signed_in.base != base {
            console.info(&format!(
                "Tableau at {} redirected to {}; every call goes there (set {} to it to skip the \
                 redirect).",
                display_base(&base),
                display_base(&signed_in.base),
                address::site_url()
            ));
        }
        facts.server = display_base(&signed_in.base);
        facts.api_version = version.to_string();
        Ok(Session {
            transport,
            console,
            connection,
            version,
            facts,
            auth: RwLock::new(Auth {
                base: signed_in.base,
                token: signed_in.token,
                site_id: signed_in.site_id,
                generation: 1,
                signed_in: true,
            }),
            resignin: Mutex::new(()),
            resignins: AtomicU32::new(0),
            refused_scopes: std::sync::Mutex::new(BTreeSet::new()),
            forbidden: std::sync::Mutex::new(Forbidden::Unused),
            in_flight: Semaphore::new(concurrency.max(1)),
        })
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
        let (base, token, site_id, generation) = {
            let auth = self.auth.read().await;
            (
                auth.base.clone(),
                auth.token.clone(),
                auth.site_id.clone(),
                auth.generation,
            )
        };
        let url = site_url(&base, self.version, &site_id, path, query);
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
                let (base, token, site_id) = self.renew(generation, &error.to_string()).await?;
                let url = site_url(&base, self.version, &site_id, path, query);
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
            // Never reached for sign-in: `call` only sends calls under `/sites/{id}/`.
            Err(TableauError::Api(error)) if error.status == 403 => {
                if !self.may_renew_for_403(generation) {
                    return Err(TableauError::Api(error));
                }
                let why = format!("{error}, which may mean an expired session");
                let (base, token, site_id) = self.renew(generation, &why).await?;
                let url = site_url(&base, self.version, &site_id, path, query);
                let second = self
                    .transport
                    .send(method, &url, Some(&token), body, retry)
                    .await;
                match second {
                    Err(TableauError::Api(again)) if again.status == 403 => {
                        self.set_forbidden(Forbidden::Final);
                        Err(TableauError::Refused(format!(
                            "{again}; refused again after a new sign-in, so this is a permission \
                             error, not an expired session: check that the token's user may do \
                             this on the site"
                        )))
                    }
                    second => second,
                }
            }
            other => other,
        }
    }

    /// `POST {server}/api/metadata/graphql` (the Metadata API, outside `/sites/`) with this
    /// session's token, at the final host of the sign-in. A GraphQL query is a read, so it is
    /// retried like a GET (429 with `Retry-After`, 5xx); a lost session (401) signs in again once.
    pub async fn metadata(&self, body: &str) -> Result<Response, TableauError> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| TableauError::Refused("the session is closed".into()))?;
        let (base, token, generation) = {
            let auth = self.auth.read().await;
            (auth.base.clone(), auth.token.clone(), auth.generation)
        };
        let url = metadata_url(&base);
        let first = self
            .transport
            .send(Method::POST, &url, Some(&token), Some(body), Retry::Safe)
            .await;
        match first {
            Err(TableauError::Api(error)) if error.is_session_lost() => {
                let (base, token, _) = self.renew(generation, &error.to_string()).await?;
                self.transport
                    .send(
                        Method::POST,
                        &metadata_url(&base),
                        Some(&token),
                        Some(body),
                        Retry::Safe,
                    )
                    .await
            }
            other => other,
        }
    }

    /// Whether a 403 met by a call made with the session of `generation` may sign in again.
    fn may_renew_for_403(&self, generation: u64) -> bool {
        let mut forbidden = self
            .forbidden
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *forbidden {
            Forbidden::Unused => {
                *forbidden = Forbidden::Renewed(generation);
                true
            }
            Forbidden::Renewed(seen) => seen == generation,
            Forbidden::Final => false,
        }
    }

    fn set_forbidden(&self, state: Forbidden) {
        *self
            .forbidden
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = state;
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
        let (base, token) = {
            let mut auth = self.auth.write().await;
            if !auth.signed_in {
                return Ok(());
            }
            auth.signed_in = false;
            (auth.base.clone(), auth.token.clone())
        };
        let url = api_url(&base, self.version, &["auth", "signout"]);
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
    ) -> Result<(Url, Secret, String), TableauError> {
        let _one_at_a_time = self.resignin.lock().await;
        let base = {
            let auth = self.auth.read().await;
            if auth.generation != seen_generation {
                return Ok((auth.base.clone(), auth.token.clone(), auth.site_id.clone()));
            }
            auth.base.clone()
        };
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
        // At the final host of the first sign-in, never back at the front door.
        let signed_in = sign_in(
            self.transport,
            self.console,
            &base,
            self.version,
            &self.connection,
        )
        .await
        .map_err(|err| sign_in_error(err, &self.connection.credentials))?;
        let mut auth = self.auth.write().await;
        auth.base = signed_in.base;
        auth.token = signed_in.token;
        auth.site_id = signed_in.site_id;
        auth.generation += 1;
        auth.signed_in = true;
        Ok((auth.base.clone(), auth.token.clone(), auth.site_id.clone()))
    }
}

/// `POST /api/{version}/auth/signin` at `base`, following redirects the policy allows (re-sent
/// as a POST with its body, never as a GET). The token is masked as soon as it is known.
async fn sign_in(
    transport: &Transport,
    console: Console,
    base: &Url,
    version: ApiVersion,
    connection: &Connection,
) -> Result<SignedIn, TableauError> {
    // A new body (for a connected app, a new JWT) for every sign-in, the re-sign-in too.
    let auth::SignInBody { body, jwt } = connection.credentials.sign_in_body(&connection.site)?;
    if let Some(jwt) = &jwt {
        console.mask(jwt);
    }
    let url = api_url(base, version, &["auth", "signin"]);
    let (response, landed) = send_following(transport, Method::POST, &url, Some(&body)).await?;
    let credentials: CredentialsEnvelope = response.json("sign-in answer")?;
    let token = Secret::new(credentials.credentials.token);
    console.mask(&token);
    Ok(SignedIn {
        base: base_after_redirects(base, &url, &landed),
        token,
        site_id: credentials.credentials.site.id,
    })
}

/// Ends a session opened by [`sign_in`] that will not be used (the server turned out too old).
async fn sign_out(
    transport: &Transport,
    signed_in: &SignedIn,
    version: ApiVersion,
) -> Result<(), TableauError> {
    let url = api_url(&signed_in.base, version, &["auth", "signout"]);
    transport
        .send(
            Method::POST,
            &url,
            Some(&signed_in.token),
            Some(""),
            Retry::Safe,
        )
        .await
        .map(|_| ())
}

/// Sends an unauthenticated call, following at most [`MAX_REDIRECTS`] redirects, each checked
/// before anything is sent to it. Returns the answer and the URL that gave it.
async fn send_following(
    transport: &Transport,
    method: Method,
    url: &Url,
    body: Option<&str>,
) -> Result<(Response, Url), TableauError> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let response = transport
            .send(method.clone(), &url, None, body, Retry::Safe)
            .await?;
        if !address::is_redirect(response.status) {
            return Ok((response, url));
        }
        url = address::redirect_target(&url, response.location.as_deref())?;
    }
    Err(TableauError::Refused(format!(
        "more than {MAX_REDIRECTS} redirects, the last to {}; set {} to the final address",
        address::origin(&url),
        address::site_url()
    )))
}

/// The server base after a call to `asked` ended at `landed`: the new scheme, host and port, and
/// the base's path prefix as the redirect kept it.
fn base_after_redirects(base: &Url, asked: &Url, landed: &Url) -> Url {
    if asked == landed {
        return base.clone();
    }
    let base_path = base.path().trim_end_matches('/');
    let suffix = asked.path().strip_prefix(base_path).unwrap_or(asked.path());
    let prefix = landed
        .path()
        .strip_suffix(suffix)
        .unwrap_or(base_path)
        .to_string();
    let mut moved = landed.clone();
    moved.set_path(&prefix);
    moved.set_query(None);
    moved.set_fragment(None);
    moved
}

/// `GET /api/2.4/serverinfo`, unauthenticated, in JSON or XML.
async fn server_info(transport: &Transport, base: &Url) -> Result<ServerInfo, TableauError> {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend(["api", PROBE_VERSION, "serverinfo"]);
    }
    let (response, _) = send_following(transport, Method::GET, &url, None)
        .await
        .map_err(|err| match err {
            TableauError::Api(api) if api.has_code(code::UNKNOWN_RESOURCE) || api.status == 404 => {
                TableauError::Refused(format!(
                    "{} has no Tableau REST API serverinfo ({api}); check {}, or set {} if this \
                     is a very old Tableau Server",
                    display_base(base),
                    address::site_url(),
                    Naming::from_env().of(&inputs::API_VERSION)
                ))
            }
            other => other,
        })?;
    server_info::parse(
        response.status,
        response.content_type.as_deref(),
        &response.body,
    )
}

/// The version `serverinfo` reported, checked against what the refresh needs.
fn detected_version(
    info: &ServerInfo,
    credentials: &Credentials,
) -> Result<ApiVersion, TableauError> {
    let version = ApiVersion::parse(&info.rest_api_version).ok_or_else(|| {
        TableauError::Decode(format!(
            "serverinfo reported an API version we cannot read: {:?}",
            info.rest_api_version
        ))
    })?;
    check_version(version, credentials)?;
    Ok(version)
}

fn api_url(base: &Url, version: ApiVersion, path: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .push("api")
            .push(&version.to_string());
        segments.extend(path);
    }
    url
}

/// The Metadata API's address under the server base.
fn metadata_url(base: &Url) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend(["api", "metadata", "graphql"]);
    }
    url
}

fn site_url(
    base: &Url,
    version: ApiVersion,
    site_id: &str,
    path: &[&str],
    query: &[(&str, String)],
) -> Url {
    let mut full = vec!["sites", site_id];
    full.extend_from_slice(path);
    let mut url = api_url(base, version, &full);
    if query.is_empty() {
        return url;
    }
    if version < FILTER_ENCODING_VERSION {
        // Servers before 2020.1 read `filter` before decoding it: an encoded `:` or `,` is not a
        // separator there, and the request fails with 400065 (TSC #732, #753; TSC sends it as
        // is below 3.7 since 0.14.1).
        let written: Vec<String> = query
            .iter()
            .map(|(name, value)| {
                format!("{}={}", old_server_encode(name), old_server_encode(value))
            })
            .collect();
        url.set_query(Some(&written.join("&")));
    } else {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in query {
            pairs.append_pair(name, value);
        }
    }
    url
}

/// From this REST API version (Tableau Server 2020.1) the server decodes `filter` before reading
/// it, so the usual form encoding works.
const FILTER_ENCODING_VERSION: ApiVersion = ApiVersion::new(3, 7);

/// A query value for a server below [`FILTER_ENCODING_VERSION`]: the filter's own delimiters
/// (`:` `,` `[` `]`) and the `*` wildcard stay literal; everything else but ASCII letters, digits
/// and `-._~` is percent-encoded (space as `%20`, never `+`, which such servers read as a plus).
fn old_server_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:,[]*".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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
                "the server does not offer this API version ({api}); unset {} to detect it",
                Naming::from_env().of(&inputs::API_VERSION)
            ))
        }
        other => other,
    }
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
    fn filters_below_3_7_keep_their_delimiters_and_encode_the_rest() {
        let base = Url::parse("https://tableau.acme.com").expect("url");
        let query = [
            (
                "filter",
                "name:in:[Sales 2024,a+b,100%,#1,Umsätze]".to_string(),
            ),
            ("pageSize", "1000".to_string()),
        ];
        let old = site_url(&base, ApiVersion::new(3, 6), "s", &["workbooks"], &query);
        assert_eq!(
            old.query(),
            Some("filter=name:in:[Sales%202024,a%2Bb,100%25,%231,Ums%C3%A4tze]&pageSize=1000")
        );
        let new = site_url(&base, ApiVersion::new(3, 7), "s", &["workbooks"], &query);
        assert_eq!(
            new.query(),
            Some(
                "filter=name%3Ain%3A%5BSales+2024%2Ca%2Bb%2C100%25%2C%231%2CUms%C3%A4tze%5D&pageSize=1000"
            )
        );
        // What the server decodes is the filter as written.
        let decoded: Vec<(String, String)> = old.query_pairs().into_owned().collect();
        assert_eq!(decoded[0].1, "name:in:[Sales 2024,a+b,100%,#1,Umsätze]");
    }

    #[test]
    fn the_base_follows_the_host_and_keeps_the_path_prefix() {
        let url = |s: &str| Url::parse(s).expect("url");
        let base = url("https://online.tableau.com");
        let asked = api_url(&base, MIN_PAT_VERSION, &["auth", "signin"]);
        assert_eq!(
            asked.as_str(),
            "https://online.tableau.com/api/3.6/auth/signin"
        );
        let landed = url("https://10ax.online.tableau.com/api/3.6/auth/signin");
        assert_eq!(
            display_base(&base_after_redirects(&base, &asked, &landed)),
            "https://10ax.online.tableau.com"
        );
        let base = url("http://tableau.acme.com/tableau");
        let asked = api_url(&base, MIN_PAT_VERSION, &["auth", "signin"]);
        let landed = url("https://tableau.acme.com:8443/tableau/api/3.6/auth/signin?x=1");
        assert_eq!(
            display_base(&base_after_redirects(&base, &asked, &landed)),
            "https://tableau.acme.com:8443/tableau"
        );
        // A redirect that rewrote the path keeps ours.
        let landed = url("https://tableau.acme.com/elsewhere");
        assert_eq!(
            display_base(&base_after_redirects(&base, &asked, &landed)),
            "https://tableau.acme.com/tableau"
        );
        assert_eq!(base_after_redirects(&base, &asked, &asked), base);
    }
}
