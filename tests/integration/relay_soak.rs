//! Nothing lost under load: signed webhooks from a bounded concurrent client on 127.0.0.1 to the
//! real relay binary, with the GitHub simulator failing a random 20 % of dispatch attempts in mixed
//! ways (500, 502, 429 with `Retry-After` 0 or 1, a 403 secondary rate limit asking for a minute,
//! reset connections, latency spikes). The client behaves like dbt Cloud: after a non-2xx answer
//! (or none) it delivers the same event again, up to 5 times; some events are also delivered a
//! second time after a 2xx (an answer lost on the way) or twice at once.
//!
//! The fast variant (1 000 webhooks) runs in `cargo test`. The full one:
//!
//! ```text
//! cargo test --test integration -- --ignored soak --nocapture
//! ```
//!
//! `SOAK_WEBHOOKS` changes its count (default 10 000) and `SOAK_SEED` the fault sequence.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dbt_tableau_refresh::sim::github::{GitHubSim, RandomFaults, Route};
use futures_util::StreamExt as _;

use crate::common::sign;
use crate::relay::{Relay, body_with_id, github};

const FAST_WEBHOOKS: usize = 1_000;
const FULL_WEBHOOKS: usize = 10_000;
/// Webhooks in flight at once.
const CONCURRENCY: usize = 32;
/// The share of dispatch attempts that GitHub fails.
const FAULT_RATE: f64 = 0.2;
const DEFAULT_SEED: u64 = 0x5EED_0001;
/// dbt Cloud retries a delivery up to 5 times after a failure.
const DBT_RETRIES: usize = 5;
/// Far above the relay's own 10 s: a bound on the test, not a measurement.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_1_000_webhooks_with_20_percent_github_faults_loses_and_duplicates_nothing() {
    soak(FAST_WEBHOOKS, seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full soak (about 30 s): cargo test --test integration -- --ignored soak"]
async fn soak_full_10_000_webhooks_with_20_percent_github_faults() {
    let webhooks = std::env::var("SOAK_WEBHOOKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(FULL_WEBHOOKS);
    soak(webhooks, seed()).await;
}

fn seed() -> u64 {
    std::env::var("SOAK_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// One delivery of an event and the relay's answer; status 0 when there was none.
#[derive(Debug, Clone)]
struct Delivery {
    status: u16,
    outcome: String,
    latency: Duration,
}

impl Delivery {
    fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How dbt delivers one event in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    /// Once, and again after every failure.
    Plain,
    /// Also once more after the 2xx, as if the answer had been lost.
    AnswerLost,
    /// The first delivery twice at the same time.
    Overlapping,
}

fn pattern(i: usize) -> Pattern {
    match i % 25 {
        0 => Pattern::AnswerLost,
        1 => Pattern::Overlapping,
        _ => Pattern::Plain,
    }
}

async fn deliver(http: &reqwest::Client, url: &str, body: &str, signature: &str) -> Delivery {
    let started = Instant::now();
    let sent = http
        .post(url)
        .header("authorization", signature)
        .body(body.to_owned())
        .send()
        .await;
    let (status, outcome) = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            (status, json["status"].as_str().unwrap_or("-").to_owned())
        }
        Err(_) => (0, "no answer".to_owned()),
    };
    Delivery {
        status,
        outcome,
        latency: started.elapsed(),
    }
}

/// Every delivery of event `i`, as dbt Cloud would make them.
async fn dbt_delivers(http: reqwest::Client, url: Arc<str>, i: usize) -> (String, Vec<Delivery>) {
    let id = format!("wev_soak_{i:05}");
    let body = body_with_id(&id);
    let signature = sign(&body);
    let mut deliveries = Vec::new();
    if pattern(i) == Pattern::Overlapping {
        let (a, b) = tokio::join!(
            deliver(&http, &url, &body, &signature),
            deliver(&http, &url, &body, &signature)
        );
        deliveries.extend([a, b]);
    }
    while !deliveries.iter().any(Delivery::accepted) && deliveries.len() <= DBT_RETRIES {
        deliveries.push(deliver(&http, &url, &body, &signature).await);
    }
    if pattern(i) == Pattern::AnswerLost && deliveries.iter().any(Delivery::accepted) {
        deliveries.push(deliver(&http, &url, &body, &signature).await);
    }
    (id, deliveries)
}

/// `VmHWM` (peak resident memory) of a process, in kB, where /proc has it.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn soak(webhooks: usize, seed: u64) {
    let github: GitHubSim = github().await;
    let relay = Relay::start(&github);
    github
        .faults()
        .set_random(Some(RandomFaults::mixed(Route::Dispatch, FAULT_RATE, seed)));
    let http = {
        dbt_tableau_refresh::tls::install_crypto_provider();
        reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .expect("client")
    };
    let url: Arc<str> = Arc::from(format!("{}/", relay.url).as_str());

    let started = Instant::now();
    let results: Vec<(String, Vec<Delivery>)> = futures_util::stream::iter(0..webhooks)
        .map(|i| dbt_delivers(http.clone(), Arc::clone(&url), i))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let duration = started.elapsed();
    // A dispatch still being delayed by the simulator would be counted late.
    while github.stats().in_flight > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let peak_kb = peak_rss_kb(relay.pid());
    let stats = github.stats();

    // What GitHub accepted, by event id.
    let mut dispatched: HashMap<String, usize> = HashMap::new();
    for dispatch in &stats.dispatches {
        let id = dispatch
            .client_payload
            .as_ref()
            .and_then(|payload| payload["event_id"].as_str())
            .expect("every dispatch carries its event id");
        *dispatched.entry(id.to_owned()).or_default() += 1;
    }

    let mut latencies = Vec::new();
    let (mut deliveries, mut dispatched_answers, mut duplicates, mut failures, mut lost) =
        (0, 0, 0, 0, 0);
    let mut retried_events = 0;
    for (id, answers) in &results {
        let accepted = answers.iter().any(Delivery::accepted);
        let count = dispatched.get(id).copied().unwrap_or(0);
        assert!(count <= 1, "{id} was dispatched {count} times: {answers:?}");
        assert_eq!(
            accepted,
            count == 1,
            "{id}: a 2xx answer if and only if GitHub accepted one dispatch: {answers:?}"
        );
        for answer in answers {
            deliveries += 1;
            latencies.push(answer.latency);
            if answer.accepted() {
                assert_eq!(answer.status, 202, "{id}: {answer:?}");
                match answer.outcome.as_str() {
                    "dispatched" => dispatched_answers += 1,
                    "duplicate" => duplicates += 1,
                    other => {
                        panic!("{id}: a 2xx that is neither dispatched nor duplicate: {other}")
                    }
                }
            } else {
                // dbt retries anything but a 2xx; the relay must only fail in ways that say so.
                assert!(
                    answer.status == 0 || answer.status >= 500,
                    "{id}: {answer:?}"
                );
                failures += 1;
            }
        }
        if answers.iter().filter(|a| !a.accepted()).count() > 0 {
            retried_events += 1;
        }
        if !accepted {
            lost += 1;
        }
    }
    // Each dispatch GitHub accepted was answered "dispatched" exactly once: no dispatch happened
    // without a 2xx (a retry of the same event id found it remembered, answered "duplicate").
    assert_eq!(dispatched_answers, stats.dispatches.len());
    assert_eq!(lost, 0, "every event got through within dbt's retries");

    latencies.sort();
    let attempts = stats.attempts(Route::Dispatch);
    let report = [
        ("webhooks (events)", webhooks.to_string()),
        ("deliveries (with dbt's retries)", deliveries.to_string()),
        ("concurrency", CONCURRENCY.to_string()),
        ("fault seed", seed.to_string()),
        ("dispatch attempts at GitHub", attempts.to_string()),
        (
            "faults injected",
            format!(
                "{} ({:.1} % of attempts)",
                stats.random_faults,
                100.0 * stats.random_faults as f64 / attempts.max(1) as f64
            ),
        ),
        ("2xx answers", (dispatched_answers + duplicates).to_string()),
        ("  dispatched", dispatched_answers.to_string()),
        ("  duplicate (not sent again)", duplicates.to_string()),
        ("non-2xx answers (dbt retried)", failures.to_string()),
        ("events that needed a dbt retry", retried_events.to_string()),
        (
            "dispatches accepted by GitHub",
            stats.dispatches.len().to_string(),
        ),
        (
            "events dispatched twice",
            dispatched.values().filter(|n| **n > 1).count().to_string(),
        ),
        ("events lost", lost.to_string()),
        (
            "p50 latency",
            format!("{:.1?}", percentile(&latencies, 50.0)),
        ),
        (
            "p95 latency",
            format!("{:.1?}", percentile(&latencies, 95.0)),
        ),
        (
            "p99 latency",
            format!("{:.1?}", percentile(&latencies, 99.0)),
        ),
        (
            "max latency",
            format!("{:.1?}", percentile(&latencies, 100.0)),
        ),
        (
            "relay peak RSS (VmHWM)",
            peak_kb.map_or("n/a".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0)),
        ),
        ("duration", format!("{:.1?}", duration)),
    ];
    println!("relay soak:");
    for (name, value) in report {
        println!("  {name:<34} {value}");
    }
    // Memory stays bounded: the event-id memory has a cap (dedupe::CAPACITY, 10 000). A bound on
    // the test, not a target: the relay uses a few MB.
    if let Some(kb) = peak_kb {
        assert!(kb < 256 * 1024, "the relay grew to {kb} kB");
    }
}
