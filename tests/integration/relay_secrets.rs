//! No secret the relay holds (the dbt webhook key, the GitHub token, the GitHub App's private key,
//! the installation tokens GitHub issues to it) appears in anything it writes (stdout, stderr, at
//! the default level and with `RUST_LOG=trace`) or answers (status line, headers, body), on every
//! path a test can reach: start-up errors, 202/401/400/404/405/413/502 answers, GitHub's 401, 403,
//! 404 and 422 refusals, rate limits, resets and 5xx, GitHub App authentication failing at each
//! step, `--help`, and `Debug` of the configuration. (A panic is covered by a unit test in
//! src/relay/mod.rs: no request reaches one.)

use std::path::PathBuf;

use dbt_tableau_refresh::cli::RelayArgs;
use dbt_tableau_refresh::relay::RelayConfig;
use dbt_tableau_refresh::sim::github::{Fault, GitHubSim, Route};

use crate::common::{Invocation, Run, WEBHOOK_KEY, sign};
use crate::relay::{REPO, Relay, TOKEN, body_with_id, client, github, token_env};
use crate::relay_github::{APP_PRIVATE_KEY, INSTALLATION_ID, app_env, app_sim_config};

/// An App relay case: the repositories the App is installed on, extra settings, what the relay
/// must log, the expected status.
type AppCase<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>, &'a str, &'a str);
/// A start-up case: name, flags, environment, exit code, expected text.
type StartCase<'a> = (&'a str, Vec<&'a str>, Vec<(String, String)>, i32, &'a str);

/// A token GitHub refuses: still a secret, and it must not show either.
const WRONG_TOKEN: &str = "ghp_wrongButStillSecret9876543210abcdef";
/// Log levels every relay path runs at.
const LEVELS: [Option<&str>; 2] = [None, Some("trace")];

fn pem() -> String {
    std::fs::read_to_string(APP_PRIVATE_KEY).expect("the test App key")
}

/// The secrets to look for: the values, and every line of the App key's PEM body (one line showing
/// would be a leak).
fn secrets(extra: &[String]) -> Vec<String> {
    let mut all: Vec<String> = [WEBHOOK_KEY, TOKEN, WRONG_TOKEN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.extend(
        pem()
            .lines()
            .filter(|line| !line.starts_with("-----") && line.len() >= 16)
            .map(str::to_owned),
    );
    all.extend(extra.iter().cloned());
    all
}

fn assert_clean(label: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{label}: a secret ({}…) leaked in:\n{text}",
            secret.chars().take(8).collect::<String>()
        );
    }
}

/// The whole answer as text: status, headers, body.
async fn answer(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.expect("the relay answers");
    let head = format!("{} {:?}", response.status(), response.headers());
    let body = response.text().await.unwrap_or_default();
    format!("{head}\n{body}")
}

fn post(relay: &Relay, body: &str, signature: Option<&str>) -> reqwest::RequestBuilder {
    let request = client()
        .post(format!("{}/", relay.url))
        .body(body.to_owned());
    match signature {
        Some(signature) => request.header("authorization", signature),
        None => request,
    }
}

fn with_level(mut env: Vec<(String, String)>, level: Option<&str>) -> Vec<(String, String)> {
    if let Some(level) = level {
        env.push(("RUST_LOG".into(), level.into()));
    }
    env
}

/// Every answer path of a token relay, and GitHub failing in every way, with `level` logging.
async fn token_relay_paths(github: &GitHubSim, level: Option<&str>) -> (Relay, Vec<String>) {
    let relay = Relay::start_with(&with_level(token_env(&github.url()), level), &[]);
    let faults = github.faults();
    let mut answers = Vec::new();
    let body = |id: &str| body_with_id(id);
    let signed = |id: &str| {
        let body = body(id);
        let signature = sign(&body);
        (body, signature)
    };

    let (b, s) = signed("wev_leak_ok");
    answers.push(answer(post(&relay, &b, Some(&s))).await);
    let b = body("wev_leak_401");
    answers.push(answer(post(&relay, &b, Some(&sign("another body")))).await);
    answers.push(answer(post(&relay, &b, Some(WEBHOOK_KEY))).await);
    answers.push(answer(post(&relay, &b, Some(&format!("Bearer {TOKEN}")))).await);
    answers.push(answer(post(&relay, &b, None)).await);
    // A signed body that carries the key's text where the parser refuses it: not quoted back.
    let hostile = format!(r#"{{"eventType": ["{WEBHOOK_KEY}", "{TOKEN}"]}}"#);
    answers.push(answer(post(&relay, &hostile, Some(&sign(&hostile)))).await);
    let big = format!(r#"{{"eventType":"{}"}}"#, "x".repeat(70_000));
    answers.push(answer(post(&relay, &big, Some(&sign(&big)))).await);
    answers.push(answer(client().get(format!("{}/nope?token={TOKEN}", relay.url))).await);
    answers.push(answer(client().get(format!("{}/", relay.url))).await);

    // GitHub: configuration refusals, a rate limit longer than the budget, 5xx, a reset.
    for (n, fault) in [
        Fault::status(401),
        Fault::status(403),
        Fault::status(404),
        Fault::status(422),
        Fault::rate_limited(403, 60),
    ]
    .into_iter()
    .enumerate()
    {
        faults.inject(Route::Dispatch, fault, 1);
        let (b, s) = signed(&format!("wev_leak_refused_{n}"));
        answers.push(answer(post(&relay, &b, Some(&s))).await);
    }
    faults.inject(Route::Dispatch, Fault::status(500), 1);
    faults.inject(Route::Dispatch, Fault::ResetConnection, 1);
    faults.inject(Route::Dispatch, Fault::rate_limited(429, 0), 1);
    let (b, s) = signed("wev_leak_retried");
    answers.push(answer(post(&relay, &b, Some(&s))).await);
    faults.clear();
    (relay, answers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_relay_answer_or_log_line_holds_a_secret_with_a_token() {
    let secrets = secrets(&[]);
    for level in LEVELS {
        let label = format!("token relay, RUST_LOG={level:?}");
        let github = github().await;
        let (relay, answers) = token_relay_paths(&github, level).await;
        let statuses: Vec<&str> = answers.iter().map(|a| &a[..3]).collect();
        assert_eq!(
            statuses,
            [
                "202", "401", "401", "401", "401", "400", "413", "404", "405", "502", "502", "502",
                "502", "502", "202"
            ],
            "{label}"
        );
        for text in &answers {
            assert_clean(&label, text, &secrets);
        }
        // The advice for the refusals was logged, i.e. the log lines being checked exist.
        relay.wait_for_log("GITHUB_TOKEN is wrong").await;
        relay.wait_for_log("65 535 characters").await;
        relay.wait_for_log(r#"event_id="wev_leak_retried""#).await;
        if level.is_some() {
            // Trace logging is really on: hyper's and octocrab's own lines are in the log.
            relay.wait_for_log("TRACE").await;
        }
        assert_clean(&label, &relay.log(), &secrets);
        assert_eq!(github.stats().dispatches.len(), 2, "{label}");

        // A token GitHub refuses.
        let mut env = with_level(token_env(&github.url()), level);
        env.retain(|(name, _)| name != "GITHUB_TOKEN");
        env.push(("GITHUB_TOKEN".into(), WRONG_TOKEN.into()));
        crate::relay::let_the_start_check_through(&github);
        let relay = Relay::start_with(&env, &[]);
        let body = body_with_id("wev_leak_wrong_token");
        let text = answer(post(&relay, &body, Some(&sign(&body)))).await;
        assert!(text.starts_with("502"), "{label}: {text}");
        assert_clean(&label, &text, &secrets);
        relay.wait_for_log("GITHUB_TOKEN is wrong").await;
        assert_clean(&label, &relay.log(), &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_relay_answer_or_log_line_holds_a_secret_with_a_github_app() {
    for level in LEVELS {
        let label = format!("App relay, RUST_LOG={level:?}");
        let mut issued = Vec::new();
        let mut answers = Vec::new();
        let mut logs = Vec::new();
        let id = INSTALLATION_ID.to_string();
        let wrong_id = (INSTALLATION_ID + 1).to_string();
        // (installed on, extra settings, what the relay must log, expected status)
        let cases: [AppCase; 5] = [
            (&[REPO], vec![], "installation found", "202"),
            (
                &["acme/other"],
                vec![],
                "install the App on that repository",
                "502",
            ),
            (
                &[REPO],
                vec![("GITHUB_APP_ID", "4242")],
                "check GITHUB_APP_ID",
                "502",
            ),
            (
                &[REPO],
                vec![("GITHUB_APP_INSTALLATION_ID", wrong_id.as_str())],
                "check GITHUB_APP_INSTALLATION_ID",
                "502",
            ),
            (
                &["acme/other"],
                vec![("GITHUB_APP_INSTALLATION_ID", id.as_str())],
                "add the repository to the installation",
                "502",
            ),
        ];
        for (n, (installed_on, extra, logged, status)) in cases.iter().enumerate() {
            let github = GitHubSim::start(app_sim_config(installed_on))
                .await
                .expect("simulator");
            let mut env = app_env(&github, &[]);
            for (name, value) in extra {
                env.retain(|(k, _)| k != name);
                env.push((name.to_string(), value.to_string()));
            }
            if *status == "502" {
                crate::relay::let_the_start_check_through(&github);
            }
            let relay = Relay::start_with(&with_level(env, level), &[]);
            // The installation token endpoint fails once first: retried.
            github
                .faults()
                .inject(Route::AccessToken, Fault::status(500), 1);
            let body = body_with_id(&format!("wev_leak_app_{n}"));
            let text = answer(post(&relay, &body, Some(&sign(&body)))).await;
            assert!(text.starts_with(status), "{label} case {n}: {text}");
            relay.wait_for_log(logged).await;
            answers.push(text);
            logs.push(relay.log());
            issued.extend(github.stats().token_requests.into_iter().map(|t| t.token));
        }
        assert!(!issued.is_empty(), "the installation tokens to look for");
        // With the key given as text instead of a file.
        let github = GitHubSim::start(app_sim_config(&[REPO]))
            .await
            .expect("simulator");
        let mut env = app_env(&github, &[]);
        env.retain(|(k, _)| k != "GITHUB_APP_PRIVATE_KEY_FILE");
        env.push(("GITHUB_APP_PRIVATE_KEY".into(), pem()));
        let relay = Relay::start_with(&with_level(env, level), &[]);
        let body = body_with_id("wev_leak_app_text_key");
        let text = answer(post(&relay, &body, Some(&sign(&body)))).await;
        assert!(text.starts_with("202"), "{label}: {text}");
        relay
            .wait_for_log(r#"event_id="wev_leak_app_text_key""#)
            .await;
        answers.push(text);
        logs.push(relay.log());
        issued.extend(github.stats().token_requests.into_iter().map(|t| t.token));

        if level.is_some() {
            assert!(logs.iter().all(|log| log.contains("TRACE")), "{label}");
        }
        let secrets = secrets(&issued);
        for text in answers.iter().chain(&logs) {
            assert_clean(&label, text, &secrets);
        }
    }
}

#[test]
fn start_up_errors_and_help_print_no_secret_even_with_trace_logging() {
    let bad_key = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0S2V5Qm9keUxpbmU=\n-----END RSA PRIVATE KEY-----\n";
    let spaced_token = "ghp_spaced SecretTokenPart";
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_addr = busy.local_addr().expect("address").to_string();
    let pem = pem();
    let base = [
        ("DBT_WEBHOOK_KEY", WEBHOOK_KEY),
        ("GITHUB_REPOSITORY", REPO),
        ("GITHUB_TOKEN", TOKEN),
        ("RUST_LOG", "trace"),
    ];
    let app = [
        ("GITHUB_APP_ID", "91827"),
        ("GITHUB_APP_PRIVATE_KEY", pem.as_str()),
    ];
    let change = |add: &[(&'static str, &str)], remove: &[&str]| -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = base
            .iter()
            .filter(|(k, _)| !remove.contains(k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in add {
            vars.retain(|(n, _)| n != k);
            vars.push((k.to_string(), v.to_string()));
        }
        vars
    };
    let cases: Vec<StartCase> = vec![
        (
            "no repository",
            vec![],
            change(&[], &["GITHUB_REPOSITORY"]),
            2,
            "GITHUB_REPOSITORY",
        ),
        (
            "token and App",
            vec![],
            change(&app, &[]),
            2,
            "both GITHUB_TOKEN",
        ),
        (
            "a token with a space",
            vec![],
            change(&[("GITHUB_TOKEN", spaced_token)], &[]),
            2,
            "GITHUB_TOKEN contains",
        ),
        (
            "a broken App key",
            vec![],
            change(
                &[app[0], ("GITHUB_APP_PRIVATE_KEY", bad_key)],
                &["GITHUB_TOKEN"],
            ),
            2,
            "not an RSA private key",
        ),
        (
            "App id not a number",
            vec![],
            change(&[("GITHUB_APP_ID", "app-91827"), app[1]], &["GITHUB_TOKEN"]),
            2,
            "GITHUB_APP_ID must be",
        ),
        (
            "the port is taken",
            vec!["--listen", busy_addr.as_str()],
            change(&[], &[]),
            1,
            "cannot listen",
        ),
        (
            "help",
            vec!["--help"],
            change(&app, &[]),
            0,
            "DBT_WEBHOOK_KEY",
        ),
    ];
    let secrets = {
        let mut all = secrets(&[]);
        all.extend(["c2VjcmV0S2V5Qm9keUxpbmU", spaced_token, "SecretTokenPart"].map(String::from));
        all
    };
    for (name, args, vars, code, expected) in cases {
        let mut invocation = Invocation::command(&["relay"]);
        for arg in args {
            invocation = invocation.arg(arg);
        }
        for (k, v) in &vars {
            invocation = invocation.env(k, v);
        }
        let run: Run = invocation.run_blocking();
        assert_eq!(run.code, code, "{name}: {run:?}");
        assert!(run.everything().contains(expected), "{name}: {run:?}");
        assert_clean(name, &run.everything(), &secrets);
    }
    drop(busy);
}

#[test]
fn debug_of_the_configuration_shows_no_secret() {
    let args = RelayArgs {
        listen: Some("127.0.0.1:0".into()),
        repository: Some(REPO.into()),
        github_api_url: "https://api.github.com".into(),
        github_app_private_key_file: None::<PathBuf>,
        event_types: vec!["job.run.completed".into()],
        max_event_age: std::time::Duration::from_secs(3600),
        max_connections_per_client: 128,
        log_format: Default::default(),
    };
    let pem = pem();
    let token_env = [("DBT_WEBHOOK_KEY", WEBHOOK_KEY), ("GITHUB_TOKEN", TOKEN)];
    let app_env = [
        ("DBT_WEBHOOK_KEY", WEBHOOK_KEY),
        ("GITHUB_APP_ID", "91827"),
        ("GITHUB_APP_PRIVATE_KEY", pem.as_str()),
    ];
    let secrets = secrets(&[]);
    for vars in [&token_env[..], &app_env[..]] {
        let config = RelayConfig::from_args_and_env(&args, |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .expect("valid");
        let shown = format!("{config:?}\n{:?}\n{config:#?}", config.github);
        assert!(shown.contains("***"), "{shown}");
        assert_clean("Debug", &shown, &secrets);
    }
}
