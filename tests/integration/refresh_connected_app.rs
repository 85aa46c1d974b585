//! `refresh` signed in with a Tableau connected app (issue 12): the JWT sign-in, every refusal the
//! simulator knows (with what to check), a missing scope named without a sign-in loop, a new JWT
//! for every re-sign-in, the old-server rule for waiting, both-or-neither credentials as usage
//! errors, and no secret value or JWT in anything the binary writes.

use std::time::Duration;

use dbt_tableau_refresh::secret::Secret;
use dbt_tableau_refresh::sim::tableau::sample::{
    SAMPLE_CLIENT_ID, SAMPLE_PAT_SECRET, SAMPLE_SECRET_ID, SAMPLE_SECRET_VALUE, SAMPLE_USERNAME,
};
use dbt_tableau_refresh::sim::tableau::{SimConfig, SimConnectedApp, TableauSim};
use dbt_tableau_refresh::tableau::auth::{self, ConnectedApp, Scope};

use crate::common::{Invocation, Run, WEBHOOK_KEY, completed_body};

/// The sample site on a server whose Query Job accepts JWT sessions.
fn site() -> SimConfig {
    SimConfig::sample()
        .with_api_version("3.25")
        .with_job_duration(Duration::from_millis(20))
}

async fn start(config: SimConfig) -> TableauSim {
    TableauSim::start(config).await.expect("simulator starts")
}

/// `refresh` of Orders with the sample connected app instead of the PAT.
fn refresh(sim: &TableauSim) -> Invocation {
    let body = completed_body("4242", "Success", 10);
    Invocation::refresh(&sim.url())
        .without_env("TABLEAU_API_TOKEN_NAME")
        .without_env("TABLEAU_API_TOKEN_SECRET")
        .env("TABLEAU_CONNECTED_APP_CLIENT_ID", SAMPLE_CLIENT_ID)
        .env("TABLEAU_CONNECTED_APP_SECRET_ID", SAMPLE_SECRET_ID)
        .env("TABLEAU_CONNECTED_APP_SECRET_VALUE", SAMPLE_SECRET_VALUE)
        .env("TABLEAU_USERNAME", SAMPLE_USERNAME)
        .signed(&body)
        .datasources(&["Orders"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_app_signs_in_refreshes_waits_and_signs_out() {
    let sim = start(site()).await;
    let run = refresh(&sim).run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert_eq!(run.output("status"), "success");
    assert_eq!(run.outcome("Orders"), "succeeded");
    let stats = sim.stats();
    assert_eq!((stats.jwt_sign_ins, stats.sign_ins), (1, 1));
    assert_eq!(stats.sign_outs, 1);
    // The secret value is masked before anything else is written.
    assert_eq!(
        run.stdout.lines().next(),
        Some(format!("::add-mask::{SAMPLE_SECRET_VALUE}").as_str()),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refused_jwt_says_what_to_check() {
    let sim = start(site().tap_apps(|apps| {
        apps.push(
            SimConnectedApp::new("disabled-app", "kid", "value", &[SAMPLE_USERNAME]).disabled(),
        )
    }))
    .await;
    let cases = [
        (
            "TABLEAU_CONNECTED_APP_SECRET_VALUE",
            "not-the-secret",
            "LOGIN_FAILED",
            "its signature (TABLEAU_CONNECTED_APP_SECRET_VALUE)",
        ),
        (
            "TABLEAU_CONNECTED_APP_SECRET_ID",
            "no-such-secret",
            "COULD_NOT_FETCH_JWT_KEYS",
            "no secret with the ID in TABLEAU_CONNECTED_APP_SECRET_ID",
        ),
        (
            "TABLEAU_CONNECTED_APP_CLIENT_ID",
            "no-such-app",
            "CONNECTED_APP_NOT_FOUND",
            "no connected app with the client ID",
        ),
        (
            "TABLEAU_USERNAME",
            "Someone@example.com",
            "SYSTEM_USER_NOT_FOUND",
            "no user named in TABLEAU_USERNAME",
        ),
        (
            "TABLEAU_CONNECTED_APP_CLIENT_ID",
            "disabled-app",
            "CONNECTED_APP_DISABLED",
            "enable it",
        ),
    ];
    for (var, value, code, hint) in cases {
        let run = refresh(&sim).env(var, value).run().await;
        let summary = run.summary_text();
        assert_eq!(run.code, 1, "{var}={value}: {summary}");
        assert!(
            summary.contains("Failed while signing in to Tableau"),
            "{var}: {summary}"
        );
        for expected in [code, hint, "clock", "TABLEAU_USERNAME"] {
            assert!(
                summary.contains(expected),
                "{var}: no {expected:?} in {summary}"
            );
        }
    }
    let stats = sim.stats();
    assert_eq!(stats.jwt_sign_ins, 0);
    assert_eq!(stats.sign_outs, 0, "nothing to sign out of");
}

/// `POST /auth/signin` with `jwt`; the status and the error detail.
async fn sign_in_with(sim: &TableauSim, jwt: &str) -> (u16, String) {
    let body = serde_json::json!({"credentials": {"jwt": jwt, "site": {"contentUrl": ""}}});
    // reqwest is built with `rustls-no-provider`: a crypto provider must be installed first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(format!("{}/api/3.25/auth/signin", sim.url()))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, text)
}

fn app() -> ConnectedApp {
    ConnectedApp {
        client_id: SAMPLE_CLIENT_ID.into(),
        secret_id: SAMPLE_SECRET_ID.into(),
        secret_value: Secret::new(SAMPLE_SECRET_VALUE),
        username: SAMPLE_USERNAME.into(),
        scopes: vec![Scope::ContentRead],
    }
}

fn signed(app: &ConnectedApp, now: i64, jti: &str) -> String {
    auth::jwt(app, now, jti)
        .expect("signed")
        .expose()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_checks_every_claim_of_a_jwt() {
    let sim = start(site()).await;
    let now = chrono::Utc::now().timestamp();
    let fresh = || auth::new_jti().expect("jti");
    let with = |change: fn(&mut ConnectedApp)| {
        let mut app = app();
        change(&mut app);
        app
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bad signature",
            signed(
                &with(|a| a.secret_value = Secret::new("wrong")),
                now,
                &fresh(),
            ),
            "the signature does not match the secret",
        ),
        (
            "wrong kid",
            signed(&with(|a| a.secret_id = "other".into()), now, &fresh()),
            "COULD_NOT_FETCH_JWT_KEYS (10085)",
        ),
        (
            "wrong iss",
            signed(&with(|a| a.client_id = "other".into()), now, &fresh()),
            "CONNECTED_APP_NOT_FOUND (10089)",
        ),
        // `exp` is `now` + 5 minutes: a JWT made 6 minutes ago has expired…
        (
            "expired",
            signed(&app(), now - 360, &fresh()),
            "the JWT has expired",
        ),
        // …and one dated 6 minutes ahead expires more than 10 minutes from now.
        (
            "too far ahead",
            signed(&app(), now + 360, &fresh()),
            "exp is more than 10 minutes ahead",
        ),
        (
            "unknown sub",
            signed(
                &with(|a| a.username = "nobody@example.com".into()),
                now,
                &fresh(),
            ),
            "SYSTEM_USER_NOT_FOUND (5)",
        ),
    ];
    for (label, jwt, detail) in &cases {
        let (status, body) = sign_in_with(&sim, jwt).await;
        assert_eq!(status, 401, "{label}: {body}");
        assert!(body.contains("401001"), "{label}: {body}");
        assert!(body.contains(detail), "{label}: {body}");
    }
    let once = signed(&app(), now, &fresh());
    assert_eq!(
        sign_in_with(&sim, &once).await.0,
        200,
        "a valid JWT signs in"
    );
    let (status, body) = sign_in_with(&sim, &once).await;
    assert_eq!(status, 401, "a reused jti: {body}");
    assert!(body.contains("this jti was already used"), "{body}");
    assert_eq!(sim.stats().jwt_sign_ins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named_and_not_retried_in_a_loop() {
    let sim = start(site().tap_apps(|apps| {
        apps[0] = apps[0].clone().withholding("tableau:jobs:read");
    }))
    .await;
    let run = refresh(&sim)
        .datasources(&["Orders", "Customers"])
        .run()
        .await;
    let summary = run.summary_text();
    assert_eq!(run.code, 1, "{summary}");
    assert!(
        summary.contains("missing scope tableau:jobs:read"),
        "{summary}"
    );
    let stats = sim.stats();
    assert_eq!(stats.refresh_posts, 2, "both refreshes were queued");
    // One sign-in, one new sign-in to tell an expired session from a refused scope, no more.
    assert_eq!(stats.jwt_sign_ins, 2, "{summary}");
    assert!(
        stats.job_polls.values().all(|polls| *polls <= 2),
        "{:?}",
        stats.job_polls
    );
    assert_eq!(stats.sign_outs, 1);

    // The same for the refresh itself: named, not repeated past one new sign-in.
    let sim = start(site().tap_apps(|apps| {
        apps[0] = apps[0].clone().withholding("tableau:tasks:run");
    }))
    .await;
    let run = refresh(&sim).run().await;
    let summary = run.summary_text();
    assert_eq!(run.code, 1, "{summary}");
    assert!(
        summary.contains("missing scope tableau:tasks:run"),
        "{summary}"
    );
    assert_eq!(run.outcome("Orders"), "error");
    assert_eq!(sim.stats().jwt_sign_ins, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_signs_in_again_with_a_new_jwt() {
    let sim = start(site().with_job_duration(Duration::from_millis(1_500))).await;
    // Resolve and refresh pass; the session dies while the job is polled.
    sim.faults().expire_session_after(3);
    let run = refresh(&sim).run().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.summary);
    assert_eq!(run.outcome("Orders"), "succeeded");
    let stats = sim.stats();
    // The simulator refuses a reused jti, so the second sign-in carried a new JWT.
    assert_eq!(stats.jwt_sign_ins, 2);
    assert_eq!(stats.sign_outs, 1);
    assert!(
        run.stdout.contains("each new sign-in uses a new JWT"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_server_cannot_wait_on_a_connected_app_but_can_queue() {
    let sim = start(SimConfig::sample().with_job_duration(Duration::from_millis(20))).await;
    let run = refresh(&sim).run().await;
    let summary = run.summary_text();
    assert_eq!(run.code, 1, "{summary}");
    assert!(summary.contains("only from 3.25 on"), "{summary}");
    assert!(summary.contains("Set input wait to false"), "{summary}");
    assert_eq!(sim.stats().refresh_posts, 0, "nothing refreshed");
    assert_eq!(sim.stats().sign_outs, 1);

    let run = refresh(&sim).env("TABLEAU_WAIT", "false").run().await;
    assert_eq!(run.code, 0, "{}", run.summary);
    assert_eq!(run.outcome("Orders"), "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_or_neither_kind_of_credentials_is_a_usage_error_naming_every_variable() {
    let sim = start(site()).await;
    let neither = Invocation::refresh(&sim.url())
        .without_env("TABLEAU_API_TOKEN_NAME")
        .without_env("TABLEAU_API_TOKEN_SECRET")
        .signed(&completed_body("4242", "Success", 10))
        .datasources(&["Orders"])
        .run()
        .await;
    let both = refresh(&sim)
        .env("TABLEAU_API_TOKEN_NAME", "n")
        .env("TABLEAU_API_TOKEN_SECRET", "s")
        .run()
        .await;
    let partial = refresh(&sim)
        .without_env("TABLEAU_CONNECTED_APP_SECRET_ID")
        .env("TABLEAU_USERNAME", "  ")
        .run()
        .await;
    // In Actions, the action's inputs are named.
    let all = [
        "tableau-api-token-name",
        "tableau-api-token-secret",
        "tableau-connected-app-client-id",
        "tableau-connected-app-secret-id",
        "tableau-connected-app-secret-value",
        "tableau-username",
    ];
    for (label, run, expected) in [
        ("neither", &neither, &all[..]),
        ("both", &both, &all[..]),
        (
            "partial",
            &partial,
            &["tableau-connected-app-secret-id", "tableau-username"][..],
        ),
    ] {
        assert_eq!(run.code, 2, "{label}: {}", run.stdout);
        for name in expected {
            assert!(
                run.stdout.contains(name),
                "{label}: no {name}: {}",
                run.stdout
            );
        }
    }
    assert!(
        partial.stdout.contains(
            "the connected app is incomplete: inputs tableau-connected-app-secret-id and \
             tableau-username are not set"
        ),
        "{}",
        partial.stdout
    );
    assert!(!partial.stdout.contains("tableau-connected-app-client-id"));
    assert!(both.stdout.contains("keep one kind"), "{}", both.stdout);
    assert!(sim.stats().requests.is_empty(), "usage errors call nobody");
}

/// Asserts nothing but `::add-mask::` commands carries the secret value, the PAT secret, the
/// webhook key, a session token or a JWT.
fn assert_no_secret(label: &str, run: &Run) {
    let masked: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("::add-mask::"))
        .collect();
    let rest: String = run
        .everything()
        .lines()
        .filter(|line| !line.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [WEBHOOK_KEY, SAMPLE_PAT_SECRET, SAMPLE_SECRET_VALUE]
        .into_iter()
        .chain(masked.iter().copied())
    {
        assert!(!rest.contains(secret), "{label}: a secret leaked:\n{rest}");
    }
    // A JWT starts with the base64 of `{"`; none may show outside the mask commands.
    assert!(!rest.contains("eyJ"), "{label}: a JWT leaked:\n{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_or_jwt_reaches_any_output() {
    let sim = start(site().with_job_duration(Duration::from_millis(600))).await;
    let mut runs = vec![
        ("success", refresh(&sim).run().await),
        ("terminal", refresh(&sim).terminal().run().await),
        (
            "debug logging",
            refresh(&sim).env("RUST_LOG", "trace").run().await,
        ),
        (
            "wrong secret",
            refresh(&sim)
                .env("TABLEAU_CONNECTED_APP_SECRET_VALUE", "wrong")
                .run()
                .await,
        ),
        (
            "usage error",
            refresh(&sim)
                .env("TABLEAU_API_TOKEN_SECRET", SAMPLE_PAT_SECRET)
                .run()
                .await,
        ),
        (
            "help",
            Invocation::command(&["refresh", "--help"])
                .env("TABLEAU_CONNECTED_APP_SECRET_VALUE", SAMPLE_SECRET_VALUE)
                .run()
                .await,
        ),
    ];
    sim.faults().expire_session_after(3);
    runs.push(("session expiry", refresh(&sim).run().await));
    let withheld = start(site().tap_apps(|apps| {
        apps[0] = apps[0].clone().withholding("tableau:jobs:read");
    }))
    .await;
    runs.push(("missing scope", refresh(&withheld).run().await));
    for (label, run) in &runs {
        assert_no_secret(label, run);
    }
    let expiry = &runs
        .iter()
        .find(|(l, _)| *l == "session expiry")
        .expect("run")
        .1;
    let jwts = expiry
        .stdout
        .lines()
        .filter(|line| line.starts_with("::add-mask::eyJ"))
        .count();
    assert_eq!(jwts, 2, "each JWT is masked: {}", expiry.stdout);
}

/// Changes the simulator's connected apps in place.
trait TapApps {
    fn tap_apps(self, change: impl FnOnce(&mut Vec<SimConnectedApp>)) -> Self;
}

impl TapApps for SimConfig {
    fn tap_apps(mut self, change: impl FnOnce(&mut Vec<SimConnectedApp>)) -> Self {
        change(&mut self.connected_apps);
        self
    }
}
