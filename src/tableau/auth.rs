//! How the client proves who it is to Tableau: a personal access token or a connected app (direct
//! trust), the sign-in body of each, the short-lived JWT a connected app signs itself, the scopes a
//! run asks for, and the messages for a refused JWT or a call outside the JWT's scopes.

use crate::inputs::{self, Naming};
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::Serialize;

use super::error::{ApiError, TableauError, code};
use super::version::ApiVersion;
use crate::actions::Console;
use crate::secret::Secret;

/// Personal access token sign-in needs this API version.
pub const MIN_PAT_VERSION: ApiVersion = ApiVersion::new(3, 6);
/// JWT (connected app) sign-in needs this API version (Tableau Server 2022.3).
pub const MIN_JWT_VERSION: ApiVersion = ApiVersion::new(3, 17);
/// Query Job accepts a JWT session from this API version on; an older server answers 401002.
pub const MIN_JWT_JOBS_VERSION: ApiVersion = ApiVersion::new(3, 25);
/// How long a JWT is valid. Tableau refuses more than 10 minutes; 5 leaves room for clock skew.
pub const JWT_LIFETIME_S: i64 = 5 * 60;
/// The `aud` claim Tableau expects.
pub const JWT_AUDIENCE: &str = "tableau";

/// A JWT scope (`tableau:<resource>:<action>`), as Tableau's "Access Scopes for Connected Apps"
/// names them. The run asks for the ones it needs and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// GETs on content: Query Workbooks/Data Sources/Projects, and the Metadata API.
    ContentRead,
    /// Update Workbook Now, Update Data Source Now.
    TasksRun,
    /// Query Job.
    JobsRead,
    /// Cancel Job.
    JobsUpdate,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ContentRead => "tableau:content:read",
            Scope::TasksRun => "tableau:tasks:run",
            Scope::JobsRead => "tableau:jobs:read",
            Scope::JobsUpdate => "tableau:jobs:update",
        }
    }

    /// The Tableau methods the run calls with this scope, for messages.
    fn methods(self) -> &'static str {
        match self {
            Scope::ContentRead => {
                "Query Workbooks / Query Data Sources / Query Projects / the Metadata API"
            }
            Scope::TasksRun => "Update Workbook Now / Update Data Source Now",
            Scope::JobsRead => "Query Job",
            Scope::JobsUpdate => "Cancel Job",
        }
    }

    /// The scope a call under `/sites/{site-id}/` needs; `None` when we do not know the method.
    pub fn for_call(method: &Method, path: &[&str]) -> Option<Scope> {
        match (method.as_str(), path) {
            ("GET", ["jobs", _]) => Some(Scope::JobsRead),
            ("PUT", ["jobs", _]) => Some(Scope::JobsUpdate),
            ("POST", [_, _, "refresh"]) => Some(Scope::TasksRun),
            ("GET", _) => Some(Scope::ContentRead),
            _ => None,
        }
    }
}

/// The scopes a run needs: lists (and the Metadata API of `select: lineage`) always; refreshes
/// unless it is a dry run; Query Job when it waits; Cancel Job when it may cancel at the timeout.
pub fn scopes_for_run(wait: bool, dry_run: bool, cancel_on_timeout: bool) -> Vec<Scope> {
    let mut scopes = vec![Scope::ContentRead];
    if !dry_run {
        scopes.push(Scope::TasksRun);
        if wait {
            scopes.push(Scope::JobsRead);
            if cancel_on_timeout {
                scopes.push(Scope::JobsUpdate);
            }
        }
    }
    scopes
}

/// A Tableau connected app with direct trust, and the user the run acts as.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub client_id: String,
    pub secret_id: String,
    pub secret_value: Secret,
    /// `sub`: the Tableau user name (the email on Tableau Cloud; case-sensitive).
    pub username: String,
    pub scopes: Vec<Scope>,
}

/// How the run signs in.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A personal access token: one session per token (a second sign-in ends the first).
    Pat { name: String, secret: Secret },
    /// A connected app: a new JWT for every sign-in.
    ConnectedApp(ConnectedApp),
}

/// A sign-in request body, and the JWT inside it (to be masked) when there is one.
pub struct SignInBody {
    pub body: String,
    pub jwt: Option<Secret>,
}

impl Credentials {
    pub fn is_connected_app(&self) -> bool {
        matches!(self, Credentials::ConnectedApp(_))
    }

    /// The oldest API version that accepts this kind of sign-in.
    pub fn min_version(&self) -> ApiVersion {
        match self {
            Credentials::Pat { .. } => MIN_PAT_VERSION,
            Credentials::ConnectedApp(_) => MIN_JWT_VERSION,
        }
    }

    /// "personal access token sign-in" / "connected-app (JWT) sign-in", for messages.
    pub fn sign_in_name(&self) -> &'static str {
        match self {
            Credentials::Pat { .. } => "personal access token sign-in",
            Credentials::ConnectedApp(_) => "connected-app (JWT) sign-in",
        }
    }

    /// Asks the runner to hide the secret (PAT secret or connected-app secret value) from the log,
    /// before anything else is printed. The runner masks GitHub secrets already; this also covers
    /// a value passed some other way.
    pub fn mask(&self, console: &Console) {
        match self {
            Credentials::Pat { secret, .. } => console.mask(secret),
            Credentials::ConnectedApp(app) => console.mask(&app.secret_value),
        }
    }

    /// The `POST /auth/signin` body for `site` (its content URL). A connected app signs a new JWT
    /// each time, so a sign-in after a lost session never reuses a `jti`.
    pub fn sign_in_body(&self, site: &str) -> Result<SignInBody, TableauError> {
        match self {
            Credentials::Pat { name, secret } => Ok(SignInBody {
                body: serde_json::json!({"credentials": {
                    "personalAccessTokenName": name,
                    "personalAccessTokenSecret": secret.expose(),
                    "site": {"contentUrl": site},
                }})
                .to_string(),
                jwt: None,
            }),
            Credentials::ConnectedApp(app) => {
                let jwt = jwt(app, unix_now(), &new_jti()?)?;
                Ok(SignInBody {
                    body: serde_json::json!({"credentials": {
                        "jwt": jwt.expose(),
                        "site": {"contentUrl": site},
                    }})
                    .to_string(),
                    jwt: Some(jwt),
                })
            }
        }
    }

    /// The scope a call needs, when it is a JWT session (a PAT session has no scopes).
    pub fn scope_for_call(&self, method: &Method, path: &[&str]) -> Option<Scope> {
        match self {
            Credentials::Pat { .. } => None,
            Credentials::ConnectedApp(_) => Scope::for_call(method, path),
        }
    }

    /// Why a session may be lost, for the re-sign-in warning.
    pub fn session_lost_hint(&self) -> &'static str {
        match self {
            Credentials::Pat { .. } => {
                "another process may be using the same personal access token (a second sign-in \
                 ends the first session)"
            }
            Credentials::ConnectedApp(_) => {
                "the session expired or was revoked on Tableau; each new sign-in uses a new JWT"
            }
        }
    }

    /// Turns a refused sign-in (401001, or any 401) into a message that says what to check.
    pub fn sign_in_refused(&self, api: &ApiError) -> String {
        match self {
            Credentials::Pat { .. } => {
                let naming = Naming::from_env();
                format!(
                    "sign-in refused ({api}). Check {}, and {} (the site's content URL, empty for \
                     the default site). A PAT expires after 15 days unused.",
                    naming.list(
                        &[
                            inputs::env_only("TABLEAU_API_TOKEN_NAME"),
                            inputs::env_only("TABLEAU_API_TOKEN_SECRET")
                        ],
                        "and"
                    ),
                    naming.of(&inputs::SITE_NAME)
                )
            }
            Credentials::ConnectedApp(app) => {
                let specific = connected_app_hint(api)
                    .map(|hint| format!(" {hint}"))
                    .unwrap_or_default();
                format!(
                    "connected-app sign-in refused ({api}).{specific} Check: \
                     TABLEAU_CONNECTED_APP_CLIENT_ID (`{}`) is the app's client ID; \
                     TABLEAU_CONNECTED_APP_SECRET_ID (`{}`) and TABLEAU_CONNECTED_APP_SECRET_VALUE \
                     are a secret of that app; TABLEAU_USERNAME (`{}`) is a user on the site (the \
                     email on Tableau Cloud, case-sensitive); the app is enabled and its access \
                     level covers that user's project; TABLEAU_SITE_NAME is the site the app \
                     belongs to; this machine's clock is right (the JWT is valid for 5 minutes).",
                    app.client_id, app.secret_id, app.username
                )
            }
        }
    }
}

/// Tableau's connected-app error codes ("Troubleshoot Connected Apps – Direct Trust"), matched by
/// their names or numbers where the answer's summary or detail carries them.
const CONNECTED_APP_CODES: &[(&str, &str, &str)] = &[
    (
        "5",
        "SYSTEM_USER_NOT_FOUND",
        "Tableau knows no user named in TABLEAU_USERNAME (`sub`): on Tableau Cloud it is the email, and it is case-sensitive.",
    ),
    (
        "16",
        "LOGIN_FAILED",
        "Tableau refused the JWT: its signature (TABLEAU_CONNECTED_APP_SECRET_VALUE), its user, its expiry (at most 10 minutes ahead, so check this machine's clock) or a reused `jti`.",
    ),
    (
        "126",
        "CONNECTED_APP_NOT_FOUND",
        "Tableau found no enabled connected app with the client ID in TABLEAU_CONNECTED_APP_CLIENT_ID.",
    ),
    (
        "127",
        "CONNECTED_APP_SECRET_NOT_FOUND",
        "Tableau found no such secret: check TABLEAU_CONNECTED_APP_SECRET_ID and TABLEAU_CONNECTED_APP_SECRET_VALUE.",
    ),
    (
        "10083",
        "BAD_JWT",
        "The JWT header lacks `kid` (secret ID) or `iss` (client ID): check both are set.",
    ),
    (
        "10084",
        "JWT_PARSE_ERROR",
        "Tableau could not accept the JWT's claims (`aud`, `sub`, times): check TABLEAU_USERNAME and this machine's clock.",
    ),
    (
        "10085",
        "COULD_NOT_FETCH_JWT_KEYS",
        "Tableau found no secret with the ID in TABLEAU_CONNECTED_APP_SECRET_ID (the JWT's `kid`).",
    ),
    (
        "10087",
        "BLOCKLISTED_JWS_ALGORITHM_USED_TO_SIGN",
        "The server blocks the HS256 signing algorithm (vizportal.oauth.external_authorization_server.blocklisted_jws_algorithms).",
    ),
    (
        "10089",
        "CONNECTED_APP_NOT_FOUND",
        "Tableau found no connected app with the client ID in TABLEAU_CONNECTED_APP_CLIENT_ID (the JWT's `iss`).",
    ),
    (
        "10090",
        "CONNECTED_APP_DISABLED",
        "The connected app is disabled: enable it on the site's Connected Apps page.",
    ),
];

/// The specific hint for a connected-app code named in the answer, if any. Numbers count only as
/// whole words of three or more digits (a bare `5` or `16` is too common); names always count.
fn connected_app_hint(api: &ApiError) -> Option<&'static str> {
    let text = [
        api.code.as_deref(),
        api.summary.as_deref(),
        api.detail.as_deref(),
        api.excerpt.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    // Numbers first: two codes share the name CONNECTED_APP_NOT_FOUND.
    let by_number = CONNECTED_APP_CODES
        .iter()
        .find(|(number, _, _)| number.len() >= 3 && words.contains(number));
    by_number
        .or_else(|| {
            CONNECTED_APP_CODES
                .iter()
                .find(|(_, name, _)| words.contains(name))
        })
        .map(|(_, _, hint)| *hint)
}

/// The error for a call a fresh JWT session was refused (401002): the scope is missing or not
/// honoured for that method on this server. Signing in again would not help.
pub fn missing_scope(scope: Scope, api: &ApiError) -> TableauError {
    let what_to_do = match scope {
        Scope::JobsRead => format!(
            "Query Job accepts a JWT session from REST API {MIN_JWT_JOBS_VERSION} on. Set {} to \
             false to queue the refreshes without waiting, or use a personal access token.",
            Naming::from_env().of(&inputs::WAIT)
        ),
        Scope::JobsUpdate => format!(
            "Set {} to false, or use a personal access token.",
            Naming::from_env().of(&inputs::CANCEL_ON_TIMEOUT)
        ),
        Scope::ContentRead | Scope::TasksRun => "Check that the connected app's access level \
             covers the projects of the targets and that TABLEAU_USERNAME may refresh them, or \
             use a personal access token."
            .into(),
    };
    TableauError::Refused(format!(
        "missing scope {}: Tableau refused {} for this connected-app session ({api}) even after a \
         new sign-in with a JWT that asks for it, so this Tableau does not grant it to the \
         session. {what_to_do}",
        scope.as_str(),
        scope.methods(),
    ))
}

/// A connected app on a server older than [`MIN_JWT_JOBS_VERSION`] cannot query jobs. When the run
/// is to wait, it stops before refreshing anything rather than queue jobs it cannot follow.
pub fn check_jobs_support(
    credentials: &Credentials,
    version: ApiVersion,
    waits: bool,
) -> Result<(), String> {
    if credentials.is_connected_app() && waits && version < MIN_JWT_JOBS_VERSION {
        return Err(format!(
            "this Tableau offers REST API {version}; a connected-app (JWT) session can query refresh \
             jobs only from {MIN_JWT_JOBS_VERSION} on, so the run could not wait for them. Nothing \
             was refreshed. Set {} to false to queue the refreshes without waiting, or sign in \
             with a personal access token.",
            Naming::from_env().of(&inputs::WAIT)
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    iat: i64,
    exp: i64,
    scp: Vec<&'static str>,
}

/// The direct-trust JWT: HS256 over the secret value; header `kid` = secret ID, `iss` = client
/// ID, `typ` = JWT; claims `iss`, `sub`, `aud`, `jti`, `iat`, `exp` = `now` + 5 min, `scp`.
pub fn jwt(app: &ConnectedApp, now: i64, jti: &str) -> Result<Secret, TableauError> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(app.secret_id.clone());
    // Tableau's samples put the client ID in the header too; its BAD_JWT (10083) names it.
    header.extras.insert("iss".into(), app.client_id.clone());
    let claims = Claims {
        iss: &app.client_id,
        sub: &app.username,
        aud: JWT_AUDIENCE,
        jti,
        iat: now,
        exp: now + JWT_LIFETIME_S,
        scp: app.scopes.iter().map(|s| s.as_str()).collect(),
    };
    let key = jsonwebtoken::EncodingKey::from_secret(app.secret_value.expose().as_bytes());
    jsonwebtoken::encode(&header, &claims, &key)
        .map(Secret::new)
        .map_err(|err| {
            TableauError::Refused(format!("could not sign the connected-app JWT: {err}"))
        })
}

/// A random (version 4) UUID for `jti`, from the operating system's generator.
pub fn new_jti() -> Result<String, TableauError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|err| TableauError::Refused(format!("no randomness for the JWT's jti: {err}")))?;
    Ok(uuid_v4_text(bytes))
}

/// Sixteen bytes as a version 4 UUID in its usual text form (`8-4-4-4-12` hex digits): the
/// version and variant bits are set here. Also the shape of Tableau's LUIDs (the simulator's).
pub fn uuid_v4_text(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Seconds since the Unix epoch, for `iat` and `exp`.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `true` when a session-lost answer (401002) came back to a JWT session: the code Tableau uses
/// both for an expired session and for a call outside the JWT's scopes.
pub fn is_scope_or_session_refusal(api: &ApiError) -> bool {
    api.status == 401 && api.has_code(code::SESSION_EXPIRED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(scopes: Vec<Scope>) -> ConnectedApp {
        ConnectedApp {
            client_id: "client-1".into(),
            secret_id: "secret-1".into(),
            secret_value: Secret::new("value-1"),
            username: "ci@example.com".into(),
            scopes,
        }
    }

    fn decode(token: &str) -> (serde_json::Value, serde_json::Value) {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<serde_json::Value>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(b"value-1"),
            &validation,
        )
        .expect("a valid HS256 token signed with the secret value");
        let header = serde_json::to_value(&data.header).expect("header json");
        (header, data.claims)
    }

    #[test]
    fn the_jwt_has_the_header_and_claims_tableau_documents() {
        let token = jwt(&app(scopes_for_run(true, false, false)), 1_000, "jti-1").expect("jwt");
        let (header, claims) = decode(token.expose());
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], "secret-1");
        assert_eq!(header["iss"], "client-1");
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "ci@example.com");
        assert_eq!(claims["aud"], "tableau");
        assert_eq!(claims["jti"], "jti-1");
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["exp"], 1_300);
        assert_eq!(
            claims["scp"],
            serde_json::json!([
                "tableau:content:read",
                "tableau:tasks:run",
                "tableau:jobs:read"
            ])
        );
    }

    #[test]
    fn scopes_are_only_what_the_run_needs() {
        let names = |scopes: Vec<Scope>| scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>();
        assert_eq!(
            names(scopes_for_run(true, true, true)),
            ["tableau:content:read"]
        );
        assert_eq!(
            names(scopes_for_run(false, false, true)),
            ["tableau:content:read", "tableau:tasks:run"]
        );
        assert_eq!(
            names(scopes_for_run(true, false, true)),
            [
                "tableau:content:read",
                "tableau:tasks:run",
                "tableau:jobs:read",
                "tableau:jobs:update"
            ]
        );
    }

    #[test]
    fn every_sign_in_body_carries_a_new_jwt() {
        let credentials = Credentials::ConnectedApp(app(vec![Scope::ContentRead]));
        let first = credentials.sign_in_body("marketing").expect("body");
        let second = credentials.sign_in_body("marketing").expect("body");
        let jwt_of = |body: &SignInBody| body.jwt.as_ref().expect("jwt").expose().to_string();
        assert_ne!(jwt_of(&first), jwt_of(&second));
        let (_, a) = decode(&jwt_of(&first));
        let (_, b) = decode(&jwt_of(&second));
        assert_ne!(a["jti"], b["jti"]);
        let body: serde_json::Value = serde_json::from_str(&first.body).expect("json");
        assert_eq!(body["credentials"]["site"]["contentUrl"], "marketing");
        assert_eq!(body["credentials"]["jwt"], jwt_of(&first).as_str());
        assert!(!first.body.contains("value-1"));
    }

    #[test]
    fn jti_is_a_version_4_uuid() {
        let jti = new_jti().expect("jti");
        let groups: Vec<usize> = jti.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&jti[14..15], "4");
        assert_ne!(jti, new_jti().expect("jti"));
    }

    #[test]
    fn calls_map_to_scopes() {
        assert_eq!(
            Scope::for_call(&Method::GET, &["jobs", "j"]),
            Some(Scope::JobsRead)
        );
        assert_eq!(
            Scope::for_call(&Method::PUT, &["jobs", "j"]),
            Some(Scope::JobsUpdate)
        );
        assert_eq!(
            Scope::for_call(&Method::POST, &["datasources", "d", "refresh"]),
            Some(Scope::TasksRun)
        );
        assert_eq!(
            Scope::for_call(&Method::GET, &["workbooks"]),
            Some(Scope::ContentRead)
        );
        assert_eq!(Scope::for_call(&Method::DELETE, &["workbooks", "w"]), None);
    }

    #[test]
    fn refused_jwts_say_what_to_check() {
        let credentials = Credentials::ConnectedApp(app(vec![Scope::ContentRead]));
        let api = ApiError::from_response(
            401,
            Some("application/json"),
            br#"{"error":{"code":"401001","summary":"Signin Error","detail":"Error signing in to Tableau Server: COULD_NOT_FETCH_JWT_KEYS (10085)"}}"#,
        );
        let message = credentials.sign_in_refused(&api);
        assert!(
            message.contains("TABLEAU_CONNECTED_APP_SECRET_ID"),
            "{message}"
        );
        assert!(message.contains("(the JWT's `kid`)"), "{message}");
        assert!(message.contains("clock"), "{message}");
        assert!(!message.contains("value-1"), "{message}");
        let disabled = ApiError::from_response(
            401,
            None,
            br#"{"error":{"code":"401001","detail":"10090"}}"#,
        );
        assert!(credentials.sign_in_refused(&disabled).contains("disabled"));
    }

    #[test]
    fn waiting_needs_jobs_support_only_for_a_connected_app() {
        let jwt = Credentials::ConnectedApp(app(vec![]));
        let pat = Credentials::Pat {
            name: "n".into(),
            secret: Secret::new("s"),
        };
        let old = ApiVersion::new(3, 24);
        assert!(check_jobs_support(&jwt, old, true).is_err());
        assert!(check_jobs_support(&jwt, old, false).is_ok());
        assert!(check_jobs_support(&jwt, MIN_JWT_JOBS_VERSION, true).is_ok());
        assert!(check_jobs_support(&pat, old, true).is_ok());
    }
}
