//! `relay` against a misbehaving or differently configured GitHub: retries within the budget,
//! configuration errors, GitHub App authentication, graceful shutdown, start-up validation, and the
//! chain relay ▸ repository_dispatch event ▸ `refresh` ▸ Tableau.

use std::time::{Duration, Instant};

use dbt_tableau_refresh::sim::github::{Fault, GitHubSim, GitHubSimConfig, Route, SimApp, SimAuth};
use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{Invocation, WEBHOOK_KEY};
use crate::relay::{REPO, Relay, body_with_id, github, token_env};

pub(crate) const APP_ID: u64 = 91_827;
pub(crate) const INSTALLATION_ID: u64 = 55_501;
pub(crate) const APP_PRIVATE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/github-app-test-only.private-key.pem"
);
const APP_PUBLIC_KEY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/github-app-test-only.public-key.pem"
));

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_500_then_204_ends_in_one_dispatch_and_202() {
    let github = github().await;
    let relay = Relay::start(&github);
    github
        .faults()
        .inject(Route::Dispatch, Fault::status(500), 1);
    let answer = relay.post_signed(&body_with_id("wev_500")).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let stats = github.stats();
    assert_eq!(stats.attempts(Route::Dispatch), 2, "retried once");
    assert_eq!(stats.dispatches.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_retried_when_the_wait_fits_the_budget_and_refused_when_it_does_not() {
    let github = github().await;
    let relay = Relay::start(&github);

    github
        .faults()
        .inject(Route::Dispatch, Fault::rate_limited(429, 1), 1);
    let answer = relay.post_signed(&body_with_id("wev_429")).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(github.stats().attempts(Route::Dispatch), 2);

    // A secondary rate limit asking for a minute: no point waiting, dbt retries later.
    github
        .faults()
        .inject(Route::Dispatch, Fault::rate_limited(403, 60), 1);
    let answer = relay.post_signed(&body_with_id("wev_403")).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    assert!(answer.reason().contains("asked to wait 60s"), "{answer:?}");
    assert_eq!(
        github.stats().attempts(Route::Dispatch),
        3,
        "no second attempt"
    );
    // Nothing was recorded for the refused event: dbt's retry is dispatched.
    let retry = relay.post_signed(&body_with_id("wev_403")).await;
    assert_eq!(retry.status, 202, "{retry:?}");
    assert_eq!(retry.json["status"], "dispatched");
    assert_eq!(github.stats().dispatches.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_down_longer_than_the_budget_ends_in_502_within_10_s_and_dbts_retry_gets_through() {
    let github = github().await;
    let relay = Relay::start(&github);
    github.faults().set_down(true);
    let body = body_with_id("wev_down");
    let answer = relay.post_signed(&body).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    assert!(
        answer.elapsed < Duration::from_secs(10),
        "dbt counts an answer after 10 s as failed: {:?}",
        answer.elapsed
    );
    assert!(
        answer.reason().contains("dbt Cloud will retry"),
        "{answer:?}"
    );
    let stats = github.stats();
    assert!(stats.attempts(Route::Dispatch) >= 3, "retried: {stats:?}");
    assert!(stats.dispatches.is_empty());

    github.faults().set_down(false);
    let retry = relay.post_signed(&body).await;
    assert_eq!(retry.status, 202, "{retry:?}");
    assert_eq!(github.stats().dispatches.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_get_502_at_once_and_a_log_line_saying_what_to_fix() {
    let github = github().await;
    let cases = [
        (
            "GITHUB_TOKEN",
            "ghp_revoked",
            "GITHUB_TOKEN is wrong, expired or revoked",
        ),
        (
            "GITHUB_REPOSITORY",
            "acme/typo",
            "check the repository name acme/typo",
        ),
    ];
    for (name, value, advice) in cases {
        let mut vars = token_env(&github.url());
        vars.retain(|(k, _)| k != name);
        vars.push((name.into(), value.into()));
        // The start-up check would refuse these at once (relay_startcheck.rs); a 503 there makes
        // the relay serve, so that the dispatch meets the refusal.
        github
            .faults()
            .inject(Route::Repository, Fault::status(503), 1);
        let relay = Relay::start_with(&vars, &[]);
        let before = github.stats().attempts(Route::Dispatch);
        let answer = relay.post_signed(&body_with_id("wev_config")).await;
        assert_eq!(answer.status, 502, "{name}: {answer:?}");
        assert_eq!(
            github.stats().attempts(Route::Dispatch),
            before + 1,
            "{name}: not retried"
        );
        let log = relay.wait_for_log(advice).await;
        assert!(!log.contains("ghp_revoked"), "no token in the log: {log}");
    }

    let relay = Relay::start(&github);
    github
        .faults()
        .inject(Route::Dispatch, Fault::status(422), 1);
    assert_eq!(
        relay.post_signed(&body_with_id("wev_422")).await.status,
        502
    );
    relay.wait_for_log("65 535 characters").await;
    github
        .faults()
        .inject(Route::Dispatch, Fault::status(403), 1);
    assert_eq!(
        relay.post_signed(&body_with_id("wev_403")).await.status,
        502
    );
    relay.wait_for_log("Contents: read & write").await;
    assert!(github.stats().dispatches.is_empty());
}

pub(crate) fn app_sim_config(installed_on: &[&str]) -> GitHubSimConfig {
    GitHubSimConfig {
        repositories: vec![REPO.into(), "acme/other".into()],
        tokens: Vec::new(),
        app: Some(SimApp {
            app_id: APP_ID,
            public_key_pem: APP_PUBLIC_KEY.into(),
            installation_id: INSTALLATION_ID,
            installed_on: installed_on.iter().map(|r| r.to_string()).collect(),
        }),
    }
}

pub(crate) fn app_env(github: &GitHubSim, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = env(&[
        ("DBT_WEBHOOK_KEY", WEBHOOK_KEY),
        ("GITHUB_REPOSITORY", REPO),
        ("GITHUB_API_URL", &github.url()),
        ("GITHUB_APP_ID", &APP_ID.to_string()),
        ("GITHUB_APP_PRIVATE_KEY_FILE", APP_PRIVATE_KEY),
    ]);
    vars.extend(env(extra));
    vars
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_authentication_obtains_an_installation_token_for_the_one_repository_and_uses_it() {
    let github = GitHubSim::start(app_sim_config(&[REPO, "acme/other"]))
        .await
        .expect("simulator");
    let relay = Relay::start_with(&app_env(&github, &[]), &[]);
    for id in ["wev_app_1", "wev_app_2"] {
        let answer = relay.post_signed(&body_with_id(id)).await;
        assert_eq!(answer.status, 202, "{answer:?}");
    }
    let stats = github.stats();
    assert_eq!(stats.installation_lookups, [REPO], "looked up once");
    assert_eq!(stats.token_requests.len(), 1, "the token is cached");
    let token = &stats.token_requests[0];
    assert_eq!(token.installation_id, INSTALLATION_ID);
    assert_eq!(
        token.repositories.as_deref(),
        Some(&["analytics".to_string()][..]),
        "limited to the one repository"
    );
    assert_eq!(stats.dispatches.len(), 2);
    assert!(
        stats
            .dispatches
            .iter()
            .all(|d| d.auth == SimAuth::Installation(INSTALLATION_ID)),
        "{:?}",
        stats.dispatches
    );

    // With the installation id given, there is no lookup; the key can also come as text.
    let github = GitHubSim::start(app_sim_config(&[REPO]))
        .await
        .expect("simulator");
    let pem = std::fs::read_to_string(APP_PRIVATE_KEY).expect("key");
    let mut vars = app_env(&github, &[("GITHUB_APP_INSTALLATION_ID", "55501")]);
    vars.retain(|(k, _)| k != "GITHUB_APP_PRIVATE_KEY_FILE");
    vars.push(("GITHUB_APP_PRIVATE_KEY".into(), pem.clone()));
    let relay = Relay::start_with(&vars, &[]);
    assert_eq!(
        relay.post_signed(&body_with_id("wev_app_3")).await.status,
        202
    );
    let stats = github.stats();
    assert!(stats.installation_lookups.is_empty());
    assert_eq!(stats.dispatches.len(), 1);
    assert!(!relay.log().contains("PRIVATE KEY"), "{}", relay.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_not_installed_on_the_repository_gets_502_and_says_so() {
    let github = GitHubSim::start(app_sim_config(&["acme/other"]))
        .await
        .expect("simulator");
    // The start-up check would refuse this at once (relay_startcheck.rs); a 503 for its
    // installation lookup makes the relay serve, so that the webhook meets the refusal.
    github
        .faults()
        .inject(Route::Installation, Fault::status(503), 1);
    let relay = Relay::start_with(&app_env(&github, &[]), &[]);
    let answer = relay.post_signed(&body_with_id("wev_app_missing")).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    relay
        .wait_for_log("install the App on that repository")
        .await;
    assert!(github.stats().dispatches.is_empty());
}

// SIGTERM is how container platforms stop the relay; Windows has no such signal.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let github = github().await;
    let mut relay = Relay::start(&github);
    github.faults().inject(
        Route::Dispatch,
        Fault::Delay(Duration::from_millis(1_500)),
        1,
    );
    let url = relay.url.clone();
    let body = body_with_id("wev_in_flight");
    let in_flight = tokio::spawn(async move {
        crate::relay::client()
            .post(format!("{url}/"))
            .header("authorization", crate::common::sign(&body))
            .body(body)
            .send()
            .await
            .map(|response| response.status().as_u16())
    });
    // Wait until the dispatch is at GitHub (and being delayed), then ask the relay to stop.
    let started = Instant::now();
    while crate::relay::received_after_start(&github) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no dispatch reached GitHub"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &relay.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());

    let status = in_flight
        .await
        .expect("task")
        .expect("the in-flight request is answered");
    assert_eq!(status, 202);
    assert_eq!(github.stats().dispatches.len(), 1);
    let code = tokio::task::block_in_place(|| relay.wait_exit(Duration::from_secs(10)));
    assert_eq!(code, Some(0), "{}", relay.log());
    let log = relay.log();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
}

/// Environment variables as pairs.
type Vars<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn start_up_fails_fast_with_exit_2_and_a_clear_message_without_secrets() {
    let key_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        key_file.path(),
        "-----BEGIN RSA PRIVATE KEY-----\nc2VrcmV0\n",
    )
    .expect("write");
    let key_path = key_file.path().display().to_string();
    let base = [
        ("DBT_WEBHOOK_KEY", "whk-secret-value"),
        ("GITHUB_REPOSITORY", REPO),
        ("GITHUB_TOKEN", "ghp_secretTokenValue"),
    ];
    let without = |name: &str| -> Vec<(&str, &str)> {
        base.iter().copied().filter(|(k, _)| *k != name).collect()
    };
    let with = |pairs: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut vars = base.to_vec();
        for (k, v) in pairs {
            vars.retain(|(n, _)| n != k);
            vars.push((k, v));
        }
        vars
    };
    let app_with_bad_key: Vec<(&str, &str)> = vec![
        base[0],
        base[1],
        ("GITHUB_APP_ID", "1"),
        ("GITHUB_APP_PRIVATE_KEY_FILE", key_path.as_str()),
    ];
    let cases: Vec<(&str, Vars, &str)> = vec![
        (
            "missing key",
            without("DBT_WEBHOOK_KEY"),
            "DBT_WEBHOOK_KEY is not set",
        ),
        (
            "missing repository",
            without("GITHUB_REPOSITORY"),
            "GITHUB_REPOSITORY",
        ),
        (
            "malformed repository",
            with(&[("GITHUB_REPOSITORY", "acme")]),
            "not OWNER/REPO",
        ),
        (
            "no credentials",
            without("GITHUB_TOKEN"),
            "no GitHub credentials",
        ),
        (
            "unreadable App key",
            app_with_bad_key,
            "is not an RSA private key",
        ),
        (
            "unknown event type",
            with(&[("RELAY_EVENT_TYPES", "job.run.done")]),
            "job.run.done",
        ),
        (
            "malformed PORT",
            with(&[("PORT", "eighty")]),
            "PORT `eighty`",
        ),
        (
            "malformed age",
            with(&[("RELAY_MAX_EVENT_AGE", "soon")]),
            "soon",
        ),
    ];
    for (name, vars, message) in cases {
        let mut invocation = Invocation::command(&["relay"]);
        for (k, v) in &vars {
            invocation = invocation.env(k, v);
        }
        let run = invocation.run_blocking();
        assert_eq!(run.code, 2, "{name}: {run:?}");
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        for secret in ["whk-secret-value", "ghp_secretTokenValue", "c2VrcmV0"] {
            assert!(
                !run.everything().contains(secret),
                "{name} printed a secret"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_relay_dispatched_is_accepted_by_refresh_which_refreshes_tableau() {
    let github = github().await;
    let relay = Relay::start(&github);
    let tableau =
        TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_millis(20)))
            .await
            .expect("Tableau simulator");

    let answer = relay.post_signed(&body_with_id("wev_chain")).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let dispatch = github.stats().dispatches.remove(0);
    // The event file GitHub Actions writes for a repository_dispatch.
    let event = serde_json::json!({
        "action": dispatch.event_type,
        "client_payload": dispatch.client_payload,
        "repository": {"full_name": REPO},
    });
    let run = Invocation::refresh(&tableau.url())
        .event_file(&event.to_string())
        .workbooks(&["Finance/Revenue Dashboard"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.output("status"), "success");
    assert_eq!(run.outcome("Finance/Revenue Dashboard"), "succeeded");
    assert_eq!(run.output("dbt-job-id"), "4242");
    assert_eq!(tableau.stats().refresh_posts, 1);
}
