//! `relay`: the real binary on 127.0.0.1 against the GitHub simulator. This file holds the harness
//! and what happens to a webhook (verify, limit, parse, filter, deduplicate, dispatch);
//! `relay_github.rs` covers GitHub's faults, App authentication, shutdown and the chain to `refresh`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use dbt_tableau_refresh::sim::github::{Fault, GitHubSim, GitHubSimConfig, Route};
use serde_json::Value;

use crate::common::{WEBHOOK_KEY, completed_body, sign};

pub(crate) const REPO: &str = "acme/analytics";
pub(crate) const TOKEN: &str = "ghp_relayTest0123456789abcdefABCDEF0123";

/// A GitHub simulator that knows the repository and accepts the test token.
pub(crate) async fn github() -> GitHubSim {
    GitHubSim::start(GitHubSimConfig::new(REPO).with_token(TOKEN))
        .await
        .expect("GitHub simulator starts")
}

/// Lets a relay whose credentials GitHub refuses start serving, to show what a webhook then meets:
/// its start-up check gets a 503 (not a refusal, so the relay serves).
pub(crate) fn let_the_start_check_through(github: &GitHubSim) {
    github.faults().inject(Route::Any, Fault::status(503), 1);
}

/// Requests GitHub received after the relay's start-up check (`GET /repos/{owner}/{repo}`, which
/// is answered before the relay listens): those the webhooks caused.
pub(crate) fn received_after_start(github: &GitHubSim) -> usize {
    let stats = github.stats();
    stats.received - stats.attempts(Route::Repository)
}

/// A completed, successful run with this event id, dated now.
pub(crate) fn body_with_id(event_id: &str) -> String {
    completed_body("4242", "Success", 10).replace("wev_2uR9xTt4dQ0Lz1pVbN", event_id)
}

/// A relay process: `relay --listen 127.0.0.1:0` with a scrubbed environment.
pub(crate) struct Relay {
    child: Child,
    pub(crate) url: String,
    log: Arc<Mutex<String>>,
}

/// The relay's answer to one request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) json: Value,
    pub(crate) elapsed: Duration,
}

impl Answer {
    pub(crate) fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or_default()
    }
}

/// The environment a relay starts with, before a test changes it.
pub(crate) fn token_env(github_url: &str) -> Vec<(String, String)> {
    [
        ("DBT_WEBHOOK_KEY", WEBHOOK_KEY),
        ("GITHUB_REPOSITORY", REPO),
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_API_URL", github_url),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Relay {
    /// A relay with token authentication against `github`.
    pub(crate) fn start(github: &GitHubSim) -> Relay {
        Self::start_with(&token_env(&github.url()), &[])
    }

    /// A relay with exactly this environment (plus nothing from the test process) and extra flags.
    /// `url` is where it listens, with an unspecified address (`0.0.0.0`) reached on 127.0.0.1.
    pub(crate) fn start_with(env: &[(String, String)], args: &[&str]) -> Relay {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbt-tableau-refresh"));
        command.env_clear().arg("relay");
        // Loopback on a free port, unless the test gives its own --listen.
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the relay");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        // The relay prints nothing on stdout; whatever it would print goes into the log too, so
        // that the leak checks see it.
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (ready, address) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let addr = line.split("listening on ").nth(1);
                // Text (`listening on ADDR repository=…`) or JSON (`"message":"listening on ADDR"`).
                let addr = addr
                    .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next());
                if let Some(addr) = addr {
                    let _ = ready.send(addr.to_string());
                }
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = address
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the relay did not listen: {}",
                    log.lock().expect("log lock")
                )
            });
        let addr = addr.replace("0.0.0.0:", "127.0.0.1:");
        Relay {
            child,
            url: format!("http://{addr}"),
            log,
        }
    }

    /// POST `body` to `/`, with `Authorization: signature` when given.
    pub(crate) async fn post(&self, body: impl Into<Vec<u8>>, signature: Option<&str>) -> Answer {
        let mut request = client().post(format!("{}/", self.url)).body(body.into());
        if let Some(signature) = signature {
            request = request.header("authorization", signature);
        }
        let started = Instant::now();
        let response = request.send().await.expect("the relay answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("answer body");
        Answer {
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            elapsed: started.elapsed(),
        }
    }

    /// POST `body` signed with the test key.
    pub(crate) async fn post_signed(&self, body: &str) -> Answer {
        self.post(body, Some(&sign(body))).await
    }

    /// Everything the relay wrote (stderr and stdout) so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits for a log line containing `text` (log lines are written after the answer is sent).
    pub(crate) async fn wait_for_log(&self, text: &str) -> String {
        for _ in 0..200 {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no `{text}` in the relay's log:\n{}", self.log())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit on its own; its exit code.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reqwest client (built without a TLS provider of its own, so one is installed first).
pub(crate) fn client() -> reqwest::Client {
    dbt_tableau_refresh::tls::install_crypto_provider();
    reqwest::Client::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_is_dispatched_once_with_the_exact_body_and_signature() {
    let github = github().await;
    let relay = Relay::start_with(
        &[
            token_env(&github.url()),
            vec![("RELAY_MAX_EVENT_AGE".into(), "0".into())],
        ]
        .concat(),
        &[],
    );
    // Spacing, `\/`, `\u00e9`, non-ASCII and key order that re-serialising would change.
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/webhook-tricky-bytes.json"
    ))
    .expect("fixture");
    let signature = sign(&body).to_uppercase();

    let answer = relay.post(body.clone(), Some(&signature)).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.json["status"], "dispatched");
    assert_eq!(answer.json["dispatched_as"], "dbt-job-run-completed");
    assert_eq!(answer.json["event_id"], "wev_tricky/bytes");

    let stats = github.stats();
    assert_eq!(stats.dispatches.len(), 1);
    let dispatch = &stats.dispatches[0];
    assert_eq!(dispatch.repository, REPO);
    assert_eq!(dispatch.event_type, "dbt-job-run-completed");
    let payload = dispatch.client_payload.as_ref().expect("client_payload");
    // After JSON decoding, the body is the very text dbt signed, byte for byte.
    let sent = payload["body"].as_str().expect("body is a string");
    assert_eq!(sent.as_bytes(), body.as_bytes());
    assert_eq!(payload["signature"], signature.as_str());
    assert_eq!(payload["event_id"], "wev_tricky/bytes");
    assert_eq!(payload["event_type"], "job.run.completed");
    assert_eq!(payload["job_id"], "4242");
    assert_eq!(payload["run_id"], "318275016");
    assert_eq!(payload["run_status"], "Success");
    assert!(payload.as_object().expect("object").len() <= 10);

    let log = relay.wait_for_log(r#"event_id="wev_tricky/bytes""#).await;
    assert!(log.contains("status=202"), "{log}");
    assert!(
        !log.contains(&signature) && !log.contains("Ünïcödé") && !log.contains(TOKEN),
        "the log holds no header value or body: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_missing_bearer_and_truncated_signatures_get_401_and_nothing_is_dispatched() {
    let github = github().await;
    let relay = Relay::start(&github);
    let body = body_with_id("wev_unsigned");
    let good = sign(&body);
    let wrong_key = dbt_tableau_refresh::dbt::signature::sign(
        &dbt_tableau_refresh::secret::Secret::new("not-the-key"),
        body.as_bytes(),
    );
    let cases: [(&str, Option<String>, &str); 6] = [
        ("wrong key", Some(wrong_key), "does not match"),
        ("missing", None, "no signature"),
        ("bearer", Some(format!("Bearer {good}")), "Bearer"),
        (
            "truncated",
            Some(good[..63].to_string()),
            "not a hex SHA-256",
        ),
        ("sha256= prefix", Some(format!("sha256={good}")), "sha256="),
        ("another body's", Some(sign("{}")), "does not match"),
    ];
    for (name, signature, reason) in &cases {
        let answer = relay.post(body.clone(), signature.as_deref()).await;
        assert_eq!(answer.status, 401, "{name}: {answer:?}");
        assert!(answer.reason().contains(reason), "{name}: {answer:?}");
        if let Some(signature) = signature {
            assert!(
                !answer.json.to_string().contains(signature.as_str()),
                "{name}: echoed"
            );
        }
    }
    assert_eq!(
        crate::relay::received_after_start(&github),
        0,
        "GitHub must not be contacted"
    );
    let log = relay.wait_for_log(r#"outcome="unauthorized""#).await;
    assert!(!log.contains(&good[..63]), "no signature in the log: {log}");
    assert!(
        !log.contains("wev_unsigned"),
        "an unverified body is not read: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_gets_413_and_bodies_that_are_not_dbt_events_get_400() {
    let github = github().await;
    let relay = Relay::start(&github);
    let limit = dbt_tableau_refresh::relay::MAX_BODY_BYTES;

    // Exactly at the limit: a real event padded with an unknown field is accepted.
    let base = body_with_id("wev_at_limit");
    let filler = limit - base.len() - r#","pad":"""#.len();
    let at_limit = format!(
        r#"{},"pad":"{}"}}"#,
        &base[..base.len() - 1],
        "x".repeat(filler)
    );
    assert_eq!(at_limit.len(), limit);
    let answer = relay.post_signed(&at_limit).await;
    assert_eq!(answer.status, 202, "{answer:?}");

    // One byte over: 413, signed or not, and nothing more is dispatched.
    let over = format!("{at_limit} ");
    assert_eq!(relay.post_signed(&over).await.status, 413);
    assert_eq!(relay.post(over.clone(), None).await.status, 413);

    for (name, body) in [
        ("not JSON", b"event=job.run.completed".to_vec()),
        (
            "not UTF-8",
            b"{\"eventType\":\"job.run.completed\xff\"}".to_vec(),
        ),
        ("not a dbt event", br#"{"data":{"jobId":"1"}}"#.to_vec()),
        (
            "truncated JSON",
            br#"{"eventType":"job.run.completed""#.to_vec(),
        ),
    ] {
        let signature = dbt_tableau_refresh::dbt::signature::sign(
            &dbt_tableau_refresh::secret::Secret::new(WEBHOOK_KEY),
            &body,
        );
        let answer = relay.post(body, Some(&signature)).await;
        assert_eq!(answer.status, 400, "{name}: {answer:?}");
        assert_eq!(answer.json["status"], "invalid", "{name}");
    }
    assert_eq!(github.stats().dispatches.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_event_id_is_not_dispatched_twice_even_when_deliveries_overlap() {
    let github = github().await;
    let relay = Relay::start(&github);

    // dbt's retry of a delivered event.
    let body = body_with_id("wev_retried");
    assert_eq!(relay.post_signed(&body).await.status, 202);
    let again = relay.post_signed(&body).await;
    assert_eq!(again.status, 202, "{again:?}");
    assert_eq!(again.json["status"], "duplicate");
    assert_eq!(github.stats().dispatches.len(), 1);

    // Two deliveries of one event at the same time, while GitHub is slow: one dispatch, and both
    // answers come after it was accepted.
    github.faults().set_latency(Duration::from_millis(800));
    let body = body_with_id("wev_concurrent");
    let (first, second) = tokio::join!(relay.post_signed(&body), relay.post_signed(&body));
    let mut statuses = [
        first.json["status"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        second.json["status"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    ];
    statuses.sort();
    assert_eq!((first.status, second.status), (202, 202));
    assert_eq!(statuses, ["dispatched", "duplicate"]);
    let stats = github.stats();
    assert_eq!(stats.dispatches.len(), 2);
    assert_eq!(stats.attempts(Route::Dispatch), 2);

    // Another event is dispatched as usual.
    github.faults().clear();
    assert_eq!(
        relay.post_signed(&body_with_id("wev_other")).await.status,
        202
    );
    assert_eq!(github.stats().dispatches.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_events_and_other_event_types_get_200_and_are_not_forwarded() {
    let github = github().await;
    let relay = Relay::start(&github);

    let two_hours_ago = (chrono::Utc::now() - chrono::TimeDelta::hours(2))
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string();
    let body = body_with_id("wev_stale");
    let now = body
        .split(r#""timestamp": ""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("timestamp in body")
        .to_string();
    let stale = body.replace(&now, &two_hours_ago);
    let answer = relay.post_signed(&stale).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json["status"], "ignored");
    assert!(answer.reason().contains("older than"), "{answer:?}");

    let started = body_with_id("wev_started").replace("job.run.completed", "job.run.started");
    let answer = relay.post_signed(&started).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.reason().contains("job.run.started"), "{answer:?}");
    assert_eq!(crate::relay::received_after_start(&github), 0);

    // With the type configured, it is forwarded under its own dispatch type.
    let github2 = self::github().await;
    let relay = Relay::start_with(
        &[
            token_env(&github2.url()),
            vec![(
                "RELAY_EVENT_TYPES".into(),
                "job.run.completed,job.run.errored".into(),
            )],
        ]
        .concat(),
        &[],
    );
    let errored = body_with_id("wev_errored").replace("job.run.completed", "job.run.errored");
    assert_eq!(relay.post_signed(&errored).await.status, 202);
    assert_eq!(
        github2.stats().dispatches[0].event_type,
        "dbt-job-run-errored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_answers_200() {
    let github = github().await;
    let relay = Relay::start(&github);
    let response = client()
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
}
