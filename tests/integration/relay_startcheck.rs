//! The relay's start-up check against the GitHub simulator: before serving, it reads the repository
//! (`GET /repos/{owner}/{repo}`) with the credential its dispatches use. A definite refusal (401,
//! 403, 404, an App not installed) exits 1 at once, saying what to fix and quoting no secret; a
//! transient failure (5xx, GitHub down, nothing listening) is a warning, and the relay serves.

use std::time::{Duration, Instant};

use dbt_tableau_refresh::sim::github::{Fault, GitHubSim, GitHubSimConfig, Route};

use crate::common::{Invocation, Run};
use crate::relay::{REPO, Relay, TOKEN, body_with_id, github, token_env};
use crate::relay_github::{app_env, app_sim_config};

/// Runs `relay --listen 127.0.0.1:0` with exactly `vars` to its end.
async fn run_relay(vars: &[(String, String)]) -> Run {
    let mut invocation = Invocation::command(&["relay", "--listen", "127.0.0.1:0"]);
    for (k, v) in vars {
        invocation = invocation.env(k, v);
    }
    invocation.run().await
}

fn replace(vars: &mut Vec<(String, String)>, name: &str, value: &str) {
    vars.retain(|(k, _)| k != name);
    vars.push((name.into(), value.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_at_start_exits_1_saying_what_to_fix_without_secrets() {
    const WRONG_TOKEN: &str = "ghp_wrongTokenValue0123456789abcdefABCD";
    let github = github().await;
    let mut wrong_token = token_env(&github.url());
    replace(&mut wrong_token, "GITHUB_TOKEN", WRONG_TOKEN);
    let mut wrong_repository = token_env(&github.url());
    replace(&mut wrong_repository, "GITHUB_REPOSITORY", "acme/typo");
    let cases = [
        (
            "a wrong token (401)",
            wrong_token,
            None,
            "GITHUB_TOKEN is wrong, expired or revoked",
        ),
        (
            "a repository the token cannot see (404)",
            wrong_repository,
            None,
            "check GITHUB_REPOSITORY",
        ),
        (
            "a token without the permission (403)",
            token_env(&github.url()),
            Some(403),
            "Contents: read & write",
        ),
    ];
    for (name, vars, fault, advice) in cases {
        if let Some(status) = fault {
            github
                .faults()
                .inject(Route::Repository, Fault::status(status), 1);
        }
        let before = github.stats().attempts(Route::Repository);
        let started = Instant::now();
        let run = run_relay(&vars).await;
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: fails fast"
        );
        let text = run.everything();
        assert!(text.contains(advice), "{name}: {text}");
        assert!(
            text.contains("acme/"),
            "{name} names the repository: {text}"
        );
        assert!(
            !text.contains("listening on"),
            "{name} never served: {text}"
        );
        for secret in [TOKEN, WRONG_TOKEN, crate::common::WEBHOOK_KEY] {
            assert!(!text.contains(secret), "{name} printed a secret: {text}");
        }
        assert_eq!(
            github.stats().attempts(Route::Repository),
            before + 1,
            "{name}: checked once, not retried"
        );
    }
    assert!(github.stats().dispatches.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_app_not_installed_on_the_repository_exits_1_at_start() {
    let github = GitHubSim::start(app_sim_config(&["acme/other"]))
        .await
        .expect("simulator");
    let run = run_relay(&app_env(&github, &[])).await;
    assert_eq!(run.code, 1, "{run:?}");
    let text = run.everything();
    assert!(
        text.contains("install the App on that repository"),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_start_reads_the_repository_once_with_the_dispatch_credential() {
    let github = github().await;
    let relay = Relay::start(&github);
    relay
        .wait_for_log("GitHub accepts the credentials for the repository")
        .await;
    assert_eq!(github.stats().attempts(Route::Repository), 1);

    // A GitHub App: the check finds the installation and mints its token, which the dispatch then
    // reuses (one lookup, one token in all).
    let github = GitHubSim::start(app_sim_config(&[REPO]))
        .await
        .expect("simulator");
    let relay = Relay::start_with(&app_env(&github, &[]), &[]);
    assert_eq!(
        relay
            .post_signed(&body_with_id("wev_check_app"))
            .await
            .status,
        202
    );
    let stats = github.stats();
    assert_eq!(stats.attempts(Route::Repository), 1);
    assert_eq!(stats.installation_lookups, [REPO]);
    assert_eq!(stats.token_requests.len(), 1);
    assert_eq!(stats.dispatches.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_at_start_is_a_warning_and_the_relay_serves() {
    let github = github().await;
    // A 5xx.
    github
        .faults()
        .inject(Route::Repository, Fault::status(503), 1);
    let relay = Relay::start(&github);
    let log = relay
        .wait_for_log("cannot check the GitHub credentials now")
        .await;
    assert!(log.contains("503"), "{log}");
    assert_eq!(
        relay
            .post_signed(&body_with_id("wev_after_503"))
            .await
            .status,
        202
    );
    drop(relay);

    // A rate limit is not a refusal either.
    github
        .faults()
        .inject(Route::Repository, Fault::rate_limited(403, 30), 1);
    let relay = Relay::start(&github);
    relay
        .wait_for_log("cannot check the GitHub credentials now")
        .await;
    drop(relay);

    // GitHub down (connections reset), then back.
    github.faults().set_down(true);
    let relay = Relay::start(&github);
    relay
        .wait_for_log("cannot check the GitHub credentials now")
        .await;
    github.faults().set_down(false);
    assert_eq!(
        relay
            .post_signed(&body_with_id("wev_after_down"))
            .await
            .status,
        202
    );
    drop(relay);

    // Nothing listening at the API address.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let relay = Relay::start_with(&token_env(&url), &[]);
    let log = relay
        .wait_for_log("cannot check the GitHub credentials now")
        .await;
    assert!(!log.contains(TOKEN), "{log}");
    assert_eq!(github.stats().dispatches.len(), 2);
}

#[test]
fn the_simulator_answers_the_repository_in_githubs_shape() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let github = GitHubSim::start(GitHubSimConfig::new(REPO).with_token(TOKEN))
            .await
            .expect("simulator");
        let client = crate::relay::client();
        let url = format!("{}/repos/{REPO}", github.url());
        let ok = client
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("answer")
            .bytes()
            .await
            .expect("body");
        let ok: serde_json::Value = serde_json::from_slice(&ok).expect("json");
        assert_eq!(ok["full_name"], REPO);
        assert_eq!(ok["name"], "analytics");
        assert_eq!(ok["owner"]["login"], "acme");
        assert_eq!(ok["default_branch"], "main");
        assert_eq!(ok["permissions"]["push"], true);
        let status = |token: &'static str, path: String| {
            let client = client.clone();
            async move {
                let mut request = client.get(path);
                if !token.is_empty() {
                    request = request.bearer_auth(token);
                }
                request.send().await.expect("answer").status().as_u16()
            }
        };
        assert_eq!(status("", url.clone()).await, 401);
        assert_eq!(status("ghp_other", url.clone()).await, 401);
        let missing = format!("{}/repos/acme/missing", github.url());
        assert_eq!(status(TOKEN, missing).await, 404);
    });
}
