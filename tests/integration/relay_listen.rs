//! `relay --listen` in the forms people type (`:PORT`, `localhost:PORT`), and the relay's log as
//! JSON lines (`RELAY_LOG_FORMAT=json`).

use serde_json::Value;

use crate::common::{Invocation, WEBHOOK_KEY};
use crate::relay::{REPO, Relay, TOKEN, body_with_id, github, token_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_takes_a_bare_port_for_every_interface_and_localhost_for_the_loopback() {
    let github = github().await;
    for (listen, bound) in [(":0", "0.0.0.0:"), ("localhost:0", "127.0.0.1:")] {
        let relay = Relay::start_with(&token_env(&github.url()), &["--listen", listen]);
        let log = relay.wait_for_log("listening on").await;
        assert!(
            log.contains(&format!("listening on {bound}")),
            "{listen}: {log}"
        );
        let answer = relay
            .post_signed(&body_with_id(&format!("wev_listen_{bound}")))
            .await;
        assert_eq!(answer.status, 202, "{listen}: {answer:?}");
    }
    assert_eq!(github.stats().dispatches.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_log_format_json_writes_one_json_object_per_line_with_the_request_fields() {
    let github = github().await;
    let mut vars = token_env(&github.url());
    vars.push(("RELAY_LOG_FORMAT".into(), "json".into()));
    let relay = Relay::start_with(&vars, &[]);
    let answer = relay.post_signed(&body_with_id("wev_json_log")).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let bad = relay.post(b"{}".to_vec(), Some("nope")).await;
    assert_eq!(bad.status, 401);
    let log = relay.wait_for_log(r#""outcome":"unauthorized""#).await;
    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"))
        })
        .collect();
    let find = |predicate: &dyn Fn(&Value) -> bool| {
        lines
            .iter()
            .find(|line| predicate(line))
            .unwrap_or_else(|| panic!("no such line in {log}"))
            .clone()
    };
    let ready = find(&|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("GitHub accepts"))
    });
    assert_eq!(ready["repository"], REPO);
    let listening = find(&|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("listening on"))
    });
    assert_eq!(listening["level"], "INFO");
    let request = find(&|l| l["event_id"] == "wev_json_log");
    assert_eq!(request["message"], "request");
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["severity"], "INFO");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/");
    assert_eq!(request["status"], 202);
    assert_eq!(request["outcome"], "dispatched");
    assert!(
        request["latency"]
            .as_str()
            .is_some_and(|l| l.ends_with("ms")),
        "{request}"
    );
    let time = request["time"].as_str().expect("a time");
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    let refused = find(&|l| l["outcome"] == "unauthorized");
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["event_id"], "-");
    for secret in [TOKEN, WEBHOOK_KEY] {
        assert!(!log.contains(secret), "a secret in the log: {log}");
    }
}

#[test]
fn an_unknown_relay_log_format_is_a_configuration_error() {
    for (how, invocation) in [
        (
            "variable",
            Invocation::command(&["relay"]).env("RELAY_LOG_FORMAT", "xml"),
        ),
        (
            "flag",
            Invocation::command(&["relay", "--log-format", "xml"]),
        ),
    ] {
        let run = invocation
            .env("DBT_WEBHOOK_KEY", WEBHOOK_KEY)
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", "http://127.0.0.1:9")
            .run_blocking();
        assert_eq!(run.code, 2, "{how}: {run:?}");
        assert!(
            run.stderr.contains("RELAY_LOG_FORMAT must be text or json"),
            "{how}: {run:?}"
        );
        assert!(!run.everything().contains(TOKEN), "{how}");
    }
}
