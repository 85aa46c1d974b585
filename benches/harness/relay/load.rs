//! A small bounded HTTP load generator for the relay benchmark: signed webhook bodies built before
//! the clock starts, a fixed number of connections, a fixed number of requests and a wall-clock cap,
//! either as fast as the relay answers (closed loop) or at a fixed rate (open loop).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dbt_tableau_refresh::dbt::signature;
use dbt_tableau_refresh::secret::Secret;
use tokio::time::Instant;

/// One prepared request: the exact body and its signature.
pub(crate) struct Webhook {
    body: Vec<u8>,
    signature: String,
}

/// `count` distinct, fresh, signed `job.run.completed` bodies as dbt Cloud sends them. Each has its
/// own event id (`prefix` + number), so the relay's deduplication never short-cuts a dispatch, and
/// the current time, so none is refused as too old.
pub(crate) fn webhooks(key: &str, prefix: &str, count: usize) -> Vec<Webhook> {
    let key = Secret::new(key);
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string();
    (0..count)
        .map(|i| {
            let body = format!(
                r#"{{"accountId": 51798, "webhooksID": "wsu_2xq8mJk1", "eventId": "wev_{prefix}{i:07}", "timestamp": "{now}", "eventType": "job.run.completed", "webhookName": "tableau-refresh", "data": {{"jobId": "4242", "jobName": "Nightly build", "runId": "{run}", "environmentId": "218762", "environmentName": "Production", "dbtVersion": "2025.9.30+21d3fd7", "projectName": "Analytics", "projectId": "270542", "runStatus": "Success", "runStatusCode": 10, "runStatusMessage": "None", "runReason": "Kicked off by the scheduler", "runStartedAt": "{now}", "runFinishedAt": "{now}"}}}}"#,
                run = 318_275_016 + i,
            );
            let signature = signature::sign(&key, body.as_bytes());
            Webhook {
                body: body.into_bytes(),
                signature,
            }
        })
        .collect()
}

/// How requests are started.
#[derive(Clone, Copy)]
pub(crate) enum Pace {
    /// Each connection sends its next request as soon as the last is answered: the most the relay
    /// can take, where latency is mostly time spent queued behind the other connections.
    Saturate,
    /// Request `i` is due at `i ÷ rate` seconds; latency counts from when it was due, so a relay
    /// that falls behind is charged for the wait (no coordinated omission).
    Rate(u32),
}

/// What one load run saw.
pub(crate) struct LoadResult {
    /// Requests answered (any status) and how long the run took from the first send.
    pub(crate) answered: usize,
    pub(crate) wall: Duration,
    /// Answered requests by status; 0 counts transport errors (refused, reset, timed out).
    pub(crate) statuses: BTreeMap<u16, usize>,
    /// Sorted per-request latencies.
    latencies: Vec<Duration>,
    /// Whether the wall-clock cap cut the run short.
    pub(crate) capped: bool,
}

impl LoadResult {
    pub(crate) fn per_second(&self) -> f64 {
        self.answered as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`-th percentile (nearest rank).
    pub(crate) fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    /// p50 … max in one line, for the terminal when a tail needs explaining.
    pub(crate) fn distribution(&self) -> String {
        [50.0, 90.0, 99.0, 99.9, 100.0]
            .iter()
            .map(|p| {
                let ms = self.percentile(*p).as_secs_f64() * 1000.0;
                format!("p{p} {ms:.1} ms")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or_default()
    }

    /// `20 000 × 202`, or `19 990 × 202, 10 × 502` when some differ.
    pub(crate) fn statuses_text(&self) -> String {
        self.statuses
            .iter()
            .map(|(status, n)| {
                let n = crate::measure::grouped(*n as f64);
                match status {
                    0 => format!("{n} × no answer"),
                    status => format!("{n} × {status}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Posts every webhook to `url` over `connections` connections, paced by `pace`, stopping early
/// when `cap` has passed.
pub(crate) async fn run(
    url: &str,
    webhooks: Vec<Webhook>,
    connections: usize,
    pace: Pace,
    cap: Duration,
) -> anyhow::Result<LoadResult> {
    dbt_tableau_refresh::tls::install_crypto_provider();
    // Exactly one pooled connection per worker; Nagle off as any HTTP client does for small bodies.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()?;
    let total = webhooks.len();
    let webhooks = Arc::new(webhooks);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let stop_at = started + cap;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (client, webhooks, next, url) = (
                client.clone(),
                Arc::clone(&webhooks),
                Arc::clone(&next),
                url.to_string(),
            );
            tokio::spawn(async move {
                let mut seen: Vec<(Duration, u16)> = Vec::with_capacity(total / connections + 1);
                let mut capped = false;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(webhook) = webhooks.get(i) else {
                        break;
                    };
                    let mut sent = Instant::now();
                    if let Pace::Rate(rate) = pace {
                        let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate));
                        if sent < due {
                            // Early: the wait is the generator's, so time from when it woke. Late
                            // (every connection was busy): time from when it was due.
                            tokio::time::sleep_until(due).await;
                            sent = Instant::now();
                        } else {
                            sent = due;
                        }
                    }
                    if sent >= stop_at {
                        capped = true;
                        break;
                    }
                    let status = post(&client, &url, webhook).await;
                    seen.push((sent.elapsed(), status));
                }
                (seen, capped)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    let mut statuses = BTreeMap::new();
    let mut capped = false;
    for worker in workers {
        let (seen, worker_capped) = worker.await?;
        capped |= worker_capped;
        for (latency, status) in seen {
            latencies.push(latency);
            *statuses.entry(status).or_default() += 1;
        }
    }
    let wall = started.elapsed();
    latencies.sort_unstable();
    Ok(LoadResult {
        answered: latencies.len(),
        wall,
        statuses,
        latencies,
        capped,
    })
}

/// One webhook; the status, or 0 when no answer came. The body is read to the end, as dbt does.
pub(crate) async fn post(client: &reqwest::Client, url: &str, webhook: &Webhook) -> u16 {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", &webhook.signature)
        // A copy of some 700 bytes: noise beside the request itself.
        .body(webhook.body.clone())
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    }
}
