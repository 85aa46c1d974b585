//! The simulator's connected apps (direct trust): JWT sign-in checked the way Tableau documents it
//! (HS256 signed with the app's secret value, `kid` = that secret's ID, `iss` = the client ID,
//! `aud` = `tableau`, `exp` not past and at most 10 minutes ahead, `sub` a known user, `jti` never
//! seen before), and the scope check of JWT sessions on every endpoint (401002 when missing).
//!
//! A refused JWT answers 401001 like any refused sign-in; the detail names Tableau's connected-app
//! error (e.g. `COULD_NOT_FETCH_JWT_KEYS (10085)`), the codes of "Troubleshoot Connected Apps".

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::handlers::Shared;
use super::reply::Reply;
use super::routes::Endpoint;
use super::state::{State, lock, stable_luid};

/// Tableau refuses a JWT whose `exp` is further ahead than this.
const MAX_EXP_AHEAD_S: i64 = 10 * 60;
/// Query Job and Cancel Job accept a JWT session from this API version on (older: 401002).
const JOBS_VERSION: (u32, u32) = (3, 25);

/// A connected app (direct trust) the simulated site trusts.
#[derive(Clone, Debug)]
pub struct SimConnectedApp {
    pub client_id: String,
    pub secret_id: String,
    pub secret_value: String,
    /// A disabled app refuses every JWT (10090).
    pub enabled: bool,
    /// User names (`sub`) that exist on every site; compared case-sensitively, as Tableau does.
    pub users: Vec<String>,
    /// Scopes this server does not grant a JWT session even when the JWT asks for them: calls that
    /// need them answer 401002 (as Query Job did on Tableau Cloud in 2023, TSC issue #1320).
    pub withheld_scopes: Vec<String>,
}

impl SimConnectedApp {
    /// An enabled app with one secret and these users.
    pub fn new(
        client_id: impl Into<String>,
        secret_id: impl Into<String>,
        secret_value: impl Into<String>,
        users: &[&str],
    ) -> Self {
        Self {
            client_id: client_id.into(),
            secret_id: secret_id.into(),
            secret_value: secret_value.into(),
            enabled: true,
            users: users.iter().map(|u| (*u).to_owned()).collect(),
            withheld_scopes: Vec::new(),
        }
    }

    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }

    /// Grant JWT sessions everything but this scope.
    pub fn withholding(mut self, scope: impl Into<String>) -> Self {
        self.withheld_scopes.push(scope.into());
        self
    }
}

/// JWT bookkeeping, inside the simulator's one state mutex.
#[derive(Debug, Default)]
pub(super) struct JwtState {
    /// Every `jti` accepted so far: a JWT signs in once.
    seen: HashSet<String>,
    /// Live JWT sessions by token: the app's client ID and the scopes the JWT asked for.
    sessions: HashMap<String, (String, Vec<String>)>,
}

/// Why a JWT was refused: Tableau's connected-app code and name, and what was wrong.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) why: String,
}

fn refuse(code: &'static str, name: &'static str, why: impl Into<String>) -> Refusal {
    Refusal {
        code,
        name,
        why: why.into(),
    }
}

/// What an accepted JWT carries.
#[derive(Debug)]
pub(super) struct Accepted {
    pub(super) client_id: String,
    pub(super) user: String,
    pub(super) jti: String,
    pub(super) scopes: Vec<String>,
}

/// `POST /auth/signin` with `{"credentials": {"jwt": …}}`.
pub(super) fn sign_in(shared: &Shared, jwt: &str, site: &str, site_luid: Option<String>) -> Reply {
    let now = chrono::Utc::now().timestamp();
    let mut state = lock(&shared.state);
    let checked = verify(&shared.config.connected_apps, &state.jwt.seen, jwt, now);
    let (accepted, site_luid) = match (checked, site_luid) {
        (Ok(accepted), Some(luid)) => (accepted, luid),
        (Ok(_), None) => return Reply::canned("401001"),
        (Err(refusal), _) => {
            return Reply::error(
                StatusCode::UNAUTHORIZED,
                "401001",
                "Signin Error",
                &format!(
                    "Error signing in to Tableau Server: {} ({}): {}",
                    refusal.name, refusal.code, refusal.why
                ),
            );
        }
    };
    state.jwt.seen.insert(accepted.jti.clone());
    // A session of its own per JWT: unlike a PAT, a later sign-in does not end it.
    let token = state.sign_in(&format!("jwt:{}", accepted.jti), site, &site_luid);
    state.stats.jwt_sign_ins += 1;
    state
        .jwt
        .sessions
        .insert(token.clone(), (accepted.client_id, accepted.scopes));
    Reply::document(
        StatusCode::OK,
        &json!({"credentials": {
            "site": {"id": site_luid, "contentUrl": site},
            "user": {"id": stable_luid(&format!("user:{}", accepted.user))},
            "token": token,
            "estimatedTimeToExpiration": "177:05:38",
        }}),
    )
}

/// The scope check of every authenticated call: a JWT session may call an endpoint only with the
/// scope it needs (wildcard actions such as `tableau:jobs:*` count). PAT sessions have no scopes.
pub(super) fn authorize(
    shared: &Shared,
    state: &State,
    token: Option<&str>,
    endpoint: &Endpoint,
) -> Result<(), Reply> {
    let Some((client_id, granted)) = token.and_then(|t| state.jwt.sessions.get(t)) else {
        return Ok(());
    };
    let Some(needed) = required_scope(endpoint) else {
        return Ok(());
    };
    let jobs_refused = matches!(endpoint, Endpoint::QueryJob(..) | Endpoint::CancelJob(..))
        && shared.version < JOBS_VERSION;
    let withheld = shared
        .config
        .connected_apps
        .iter()
        .filter(|app| app.client_id == *client_id)
        .any(|app| app.withheld_scopes.iter().any(|s| s == needed));
    if jobs_refused || withheld || !granted.iter().any(|scope| grants(scope, needed)) {
        return Err(Reply::canned("401002"));
    }
    Ok(())
}

/// The scope each endpoint needs on a JWT session (Tableau's "Access Scopes for Connected Apps").
fn required_scope(endpoint: &Endpoint) -> Option<&'static str> {
    match endpoint {
        Endpoint::List(..) | Endpoint::ListProjects(_) | Endpoint::Get(..) | Endpoint::Metadata => {
            Some("tableau:content:read")
        }
        Endpoint::Refresh(..) => Some("tableau:tasks:run"),
        Endpoint::QueryJob(..) => Some("tableau:jobs:read"),
        Endpoint::CancelJob(..) => Some("tableau:jobs:update"),
        _ => None,
    }
}

/// `tableau:jobs:*` grants `tableau:jobs:read`; otherwise the scope must match exactly.
fn grants(granted: &str, needed: &str) -> bool {
    granted == needed
        || granted
            .strip_suffix('*')
            .is_some_and(|prefix| prefix.ends_with(':') && needed.starts_with(prefix))
}

/// Checks a JWT against the trusted apps, in the order Tableau's codes suggest: shape, header,
/// app, secret, signature, audience, expiry, user, replay.
pub(super) fn verify(
    apps: &[SimConnectedApp],
    seen: &HashSet<String>,
    jwt: &str,
    now: i64,
) -> Result<Accepted, Refusal> {
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Value>(jwt)
        .map_err(|err| refuse("10084", "JWT_PARSE_ERROR", format!("unreadable JWT: {err}")))?;
    let (header, claims) = (unverified.header, unverified.claims);
    if header.alg != jsonwebtoken::Algorithm::HS256 {
        return Err(refuse(
            "10087",
            "BLOCKLISTED_JWS_ALGORITHM_USED_TO_SIGN",
            format!("direct trust signs with HS256, not {:?}", header.alg),
        ));
    }
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let Some(kid) = header.kid.as_deref() else {
        return Err(refuse("10083", "BAD_JWT", "the header has no kid"));
    };
    let Some(issuer) = claim("iss").or(header.extras.get("iss").map(String::as_str)) else {
        return Err(refuse("10083", "BAD_JWT", "the JWT names no issuer"));
    };
    let app = apps
        .iter()
        .find(|app| app.client_id == issuer)
        .ok_or_else(|| {
            refuse(
                "10089",
                "CONNECTED_APP_NOT_FOUND",
                "no app with that client ID",
            )
        })?;
    if header.extras.get("iss").is_some_and(|h| h != issuer) {
        return Err(refuse(
            "10083",
            "BAD_JWT",
            "the header and claim iss differ",
        ));
    }
    if !app.enabled {
        return Err(refuse(
            "10090",
            "CONNECTED_APP_DISABLED",
            "the app is disabled",
        ));
    }
    if kid != app.secret_id {
        return Err(refuse(
            "10085",
            "COULD_NOT_FETCH_JWT_KEYS",
            "the app has no secret with that kid",
        ));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let key = jsonwebtoken::DecodingKey::from_secret(app.secret_value.as_bytes());
    jsonwebtoken::decode::<Value>(jwt, &key, &validation).map_err(|_| {
        refuse(
            "16",
            "LOGIN_FAILED",
            "the signature does not match the secret",
        )
    })?;
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == "tableau",
        Some(Value::Array(auds)) => auds.iter().any(|a| a == "tableau"),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse("10084", "JWT_PARSE_ERROR", "aud is not \"tableau\""));
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(refuse("10084", "JWT_PARSE_ERROR", "no numeric exp"));
    };
    if exp <= now {
        return Err(refuse("16", "LOGIN_FAILED", "the JWT has expired"));
    }
    if exp > now + MAX_EXP_AHEAD_S {
        return Err(refuse(
            "16",
            "LOGIN_FAILED",
            "exp is more than 10 minutes ahead",
        ));
    }
    let Some(user) = claim("sub").filter(|sub| app.users.iter().any(|u| u == sub)) else {
        return Err(refuse(
            "5",
            "SYSTEM_USER_NOT_FOUND",
            "sub names no user of the site",
        ));
    };
    let Some(jti) = claim("jti").filter(|jti| !jti.is_empty()) else {
        return Err(refuse("10084", "JWT_PARSE_ERROR", "no jti"));
    };
    if seen.contains(jti) {
        return Err(refuse("16", "LOGIN_FAILED", "this jti was already used"));
    }
    let scopes = claims
        .get("scp")
        .and_then(Value::as_array)
        .map(|scopes| {
            scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Accepted {
        client_id: app.client_id.clone(),
        user: user.to_owned(),
        jti: jti.to_owned(),
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn app() -> SimConnectedApp {
        SimConnectedApp::new("client", "kid-1", "secret-value", &["ci@example.com"])
    }

    /// A JWT from `claims` overrides of a valid one, signed with `secret`, header `kid`.
    fn token(kid: Option<&str>, secret: &str, overrides: Value) -> String {
        let mut claims = json!({
            "iss": "client", "sub": "ci@example.com", "aud": "tableau", "jti": "jti-1",
            "iat": NOW, "exp": NOW + 300, "scp": ["tableau:content:read"],
        });
        if let (Some(claims), Some(overrides)) = (claims.as_object_mut(), overrides.as_object()) {
            for (key, value) in overrides {
                claims.insert(key.clone(), value.clone());
            }
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        jsonwebtoken::encode(&header, &claims, &key).expect("signed")
    }

    fn code(jwt: &str) -> &'static str {
        match verify(&[app()], &HashSet::new(), jwt, NOW) {
            Ok(_) => "accepted",
            Err(refusal) => refusal.code,
        }
    }

    #[test]
    fn a_valid_jwt_is_accepted_with_its_scopes() {
        let accepted = verify(
            &[app()],
            &HashSet::new(),
            &token(Some("kid-1"), "secret-value", json!({})),
            NOW,
        )
        .expect("accepted");
        assert_eq!(accepted.user, "ci@example.com");
        assert_eq!(accepted.scopes, ["tableau:content:read"]);
    }

    #[test]
    fn each_refusal_has_its_code() {
        let ok = |overrides| token(Some("kid-1"), "secret-value", overrides);
        assert_eq!(code(&token(Some("kid-1"), "wrong", json!({}))), "16");
        assert_eq!(
            code(&token(Some("kid-2"), "secret-value", json!({}))),
            "10085"
        );
        assert_eq!(code(&token(None, "secret-value", json!({}))), "10083");
        assert_eq!(code(&ok(json!({"iss": "other"}))), "10089");
        assert_eq!(code(&ok(json!({"aud": "tableau-cloud"}))), "10084");
        assert_eq!(code(&ok(json!({"exp": NOW - 1}))), "16");
        assert_eq!(code(&ok(json!({"exp": NOW + 601}))), "16");
        assert_eq!(code(&ok(json!({"exp": NOW + 600}))), "accepted");
        assert_eq!(code(&ok(json!({"sub": "CI@example.com"}))), "5");
        assert_eq!(code("not.a.jwt"), "10084");
        let seen = HashSet::from(["jti-1".to_owned()]);
        let reused = verify(&[app()], &seen, &ok(json!({})), NOW).expect_err("reused");
        assert_eq!(reused.why, "this jti was already used");
        let disabled = verify(&[app().disabled()], &HashSet::new(), &ok(json!({})), NOW);
        assert_eq!(disabled.expect_err("disabled").code, "10090");
    }

    #[test]
    fn wildcards_grant_their_resource_only() {
        assert!(grants("tableau:jobs:*", "tableau:jobs:read"));
        assert!(grants("tableau:jobs:read", "tableau:jobs:read"));
        assert!(!grants("tableau:jobs:*", "tableau:tasks:run"));
        assert!(!grants("tableau:jobs:update", "tableau:jobs:read"));
    }
}
