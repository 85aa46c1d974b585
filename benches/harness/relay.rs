//! Benchmark 4, the relay: the real binary as its own process against the GitHub simulator in this
//! one; time from spawn until `/healthz` answers, verified webhooks forwarded per second, latency,
//! the relay's peak resident memory and CPU, and its memory under a flood of unfinished headers.

mod flood;
mod load;
mod process;

use std::time::Duration;

use anyhow::Context as _;
use dbt_tableau_refresh::sim::github::{GitHubSim, GitHubSimConfig};

use crate::measure::{
    cpu_time, grouped, machine_busy, median, mib, ms1, status_kib, ticks_per_second, us,
};
use crate::report::Section;
use load::{LoadResult, Pace};
use process::{Relay, start, stop};

const KEY: &str = "bench-webhook-key";
const REPO: &str = "acme/analytics";
const TOKEN: &str = "ghp_bench0123456789abcdefABCDEF012345";
/// Starts timed for readiness; the median is reported.
const STARTS: usize = 5;
/// Connections of the load generator (dbt Cloud sends far fewer; this is a flood).
const CONNECTIONS: usize = 32;
/// Requests before the measured runs, so that they start with the relay's connections to GitHub
/// open, as a relay that has been up for a while has them.
const WARM_UP: usize = 1_000;
/// The saturating run, and the run at the goal rate.
const REQUESTS: usize = 20_000;
const RATE: u32 = 2_000;
const PACED_REQUESTS: usize = 10_000;
/// No run lasts longer than this, whatever the relay does.
const CAP: Duration = Duration::from_secs(30);

/// One measured load run and what it cost.
struct Measured {
    result: LoadResult,
    /// Dispatches the simulator accepted during the run.
    dispatched: usize,
    /// CPU per answered request: the relay's, and this process's (load generator + simulator).
    relay_cpu: Duration,
    harness_cpu: Duration,
    /// Cores kept busy by other processes during the run (another build, say): the numbers are
    /// only as good as this is small.
    others: f64,
}

async fn measured_run(
    sim: &GitHubSim,
    relay: &Relay,
    prefix: &str,
    count: usize,
    pace: Pace,
) -> anyhow::Result<Measured> {
    let tick = ticks_per_second();
    let pid = relay.pid().to_string();
    // Built and signed before the clock starts: the generator's own cost is not measured.
    let webhooks = load::webhooks(KEY, prefix, count);
    let before = sim.stats().dispatches.len();
    let relay_before = cpu_time(&pid, tick).unwrap_or_default();
    let harness_before = cpu_time("self", tick).unwrap_or_default();
    let machine_before = machine_busy(tick).unwrap_or_default();
    let result = load::run(&format!("{}/", relay.url), webhooks, CONNECTIONS, pace, CAP).await?;
    let relay_cpu = cpu_time(&pid, tick)
        .unwrap_or_default()
        .saturating_sub(relay_before);
    let harness_cpu = cpu_time("self", tick)
        .unwrap_or_default()
        .saturating_sub(harness_before);
    let machine = machine_busy(tick)
        .unwrap_or_default()
        .saturating_sub(machine_before);
    let others = machine
        .saturating_sub(relay_cpu + harness_cpu)
        .as_secs_f64()
        / result.wall.as_secs_f64().max(f64::EPSILON);
    let dispatched = sim.stats().dispatches.len() - before;
    eprintln!(
        "relay: {prefix}: {}; other processes kept {others:.2} cores busy",
        result.distribution()
    );
    let per = |cpu: Duration| cpu / u32::try_from(result.answered.max(1)).unwrap_or(u32::MAX);
    Ok(Measured {
        relay_cpu: per(relay_cpu),
        harness_cpu: per(harness_cpu),
        result,
        dispatched,
        others,
    })
}

fn yes(met: bool) -> String {
    if met { "yes" } else { "no" }.into()
}

/// 4. The relay.
pub(crate) async fn relay(binary: &str) -> anyhow::Result<Section> {
    dbt_tableau_refresh::tls::install_crypto_provider();
    let sim = GitHubSim::start(GitHubSimConfig::new(REPO).with_token(TOKEN)).await?;
    let github_url = sim.url();

    // Readiness: fresh processes, each stopped before the next, the last kept for the load.
    let mut readies = Vec::new();
    let mut kept = None;
    for i in 0..STARTS {
        let (relay, ready) = start(binary, &github_url).await?;
        readies.push(ready);
        if i + 1 == STARTS {
            kept = Some(relay);
        } else {
            stop(relay).await?;
        }
    }
    let relay = kept.context("no relay was started")?;
    let pid = relay.pid().to_string();
    let idle_kib = status_kib(&pid, "VmRSS:").unwrap_or_default();
    let ready = median(readies.clone());

    let warm = load::run(
        &format!("{}/", relay.url),
        load::webhooks(KEY, "warm", WARM_UP),
        CONNECTIONS,
        Pace::Saturate,
        CAP,
    )
    .await?;
    anyhow::ensure!(
        warm.count(202) == WARM_UP,
        "the warm-up was not all 202: {}\n{}",
        warm.statuses_text(),
        relay.log_tail()
    );
    let flood = measured_run(&sim, &relay, "flood", REQUESTS, Pace::Saturate).await?;
    let paced = measured_run(&sim, &relay, "paced", PACED_REQUESTS, Pace::Rate(RATE)).await?;

    // The peak over the whole life of the process, read before it is stopped.
    let peak_kib = status_kib(&pid, "VmHWM:").unwrap_or_default();
    let log_tail = relay.log_tail();
    let (code, shutdown) = stop(relay).await?;
    eprintln!("relay: the header flood");
    let headers = flood::header_flood(binary, &github_url).await?;
    sim.shutdown().await;

    let throughput = flood.result.per_second();
    let flood_p99 = flood.result.percentile(99.0);
    let paced_p99 = paced.result.percentile(99.0);
    let all_202 = [&flood, &paced]
        .iter()
        .all(|m| m.result.count(202) == m.result.answered && !m.result.capped);
    let all_forwarded = [&flood, &paced]
        .iter()
        .all(|m| m.dispatched == m.result.count(202));
    let throughput_met = throughput >= 2_000.0;
    let paced_met = paced_p99 <= Duration::from_millis(10);
    let rss_met = peak_kib * 1024 <= 30_000_000;
    let ready_met = ready <= Duration::from_millis(100);
    let flood_rss_met = headers.peak_kib <= 100 * 1024;
    // 15 addresses fill the overall cap, so this is the distributed case: the goal is dbt's own
    // limit. (The one-address flood, where the goal is 3 s, is an integration test.)
    let flood_webhook_met =
        headers.webhook_status == 202 && headers.webhook_latency <= Duration::from_secs(10);
    if !all_202 {
        eprintln!("relay: not every answer was 202; the relay's log ends:\n{log_tail}");
    }

    // Counts as the goals write them: 2 000, 20 000.
    let (rate, warm_up, requests, paced_requests) = (
        grouped(f64::from(RATE)),
        grouped(WARM_UP as f64),
        grouped(REQUESTS as f64),
        grouped(PACED_REQUESTS as f64),
    );
    let readies_text: Vec<String> = readies.iter().map(|d| ms1(*d)).collect();
    let run_text = |m: &Measured| {
        format!(
            "{} webhooks in {:.2} s over {CONNECTIONS} connections{}",
            grouped(m.result.answered as f64),
            m.result.wall.as_secs_f64(),
            if m.result.capped {
                ", cut short by the 30 s cap"
            } else {
                ""
            }
        )
    };
    let rows = vec![
        vec![
            "ready: spawn → first 200 from `/healthz`".into(),
            format!(
                "{} (median of {STARTS}: {})",
                ms1(ready),
                readies_text.join(", ")
            ),
            "≤ 100 ms".into(),
            yes(ready_met),
        ],
        vec![
            "webhooks forwarded per second, flat out".into(),
            format!("{} /s ({})", grouped(throughput), run_text(&flood)),
            "≥ 2 000 /s".into(),
            yes(throughput_met),
        ],
        vec![
            "latency flat out, p50 / p99".into(),
            format!(
                "{} / {}",
                ms1(flood.result.percentile(50.0)),
                ms1(flood_p99)
            ),
            "none: with 32 requests always queued, this is mostly waiting".into(),
            "—".into(),
        ],
        vec![
            format!("latency at {rate} /s, p50 / p99"),
            format!(
                "{} / {} ({} /s achieved, {})",
                ms1(paced.result.percentile(50.0)),
                ms1(paced_p99),
                grouped(paced.result.per_second()),
                run_text(&paced)
            ),
            "p99 ≤ 10 ms".into(),
            yes(paced_met),
        ],
        vec![
            "answers".into(),
            format!(
                "flat out {}; at {rate} /s {}",
                flood.result.statuses_text(),
                paced.result.statuses_text()
            ),
            "all 202".into(),
            yes(all_202),
        ],
        vec![
            "dispatches the GitHub simulator accepted".into(),
            format!(
                "{} for {} answers 202 flat out; {} for {} at {rate} /s",
                grouped(flood.dispatched as f64),
                grouped(flood.result.count(202) as f64),
                grouped(paced.dispatched as f64),
                grouped(paced.result.count(202) as f64)
            ),
            "one per 202".into(),
            yes(all_forwarded),
        ],
        vec![
            "peak RSS (`VmHWM`) after both runs".into(),
            format!("{} (idle after start: {})", mib(peak_kib), mib(idle_kib)),
            "≤ 30 MB".into(),
            yes(rss_met),
        ],
        vec![
            "CPU per webhook: relay / load generator + simulator".into(),
            format!(
                "{} / {} flat out; {} / {} at {rate} /s (other processes kept {:.2} and {:.2} \
                 cores busy meanwhile)",
                us(flood.relay_cpu),
                us(flood.harness_cpu),
                us(paced.relay_cpu),
                us(paced.harness_cpu),
                flood.others,
                paced.others
            ),
            "—".into(),
            "—".into(),
        ],
        vec![
            format!(
                "peak RSS (`VmHWM`) of a fresh relay under a header flood: {} connections from {} \
                 addresses, each sending {} KB of headers that never end, for {} s",
                grouped(flood::CONNECTIONS as f64),
                flood::ADDRESSES,
                flood::HEADER_BYTES / 1000,
                flood::LENGTH.as_secs()
            ),
            format!(
                "{} (idle after start: {}; {} connections opened, most closed at once by the \
                 connection caps or after 16 KiB with 431)",
                mib(headers.peak_kib),
                mib(headers.idle_kib),
                grouped(headers.opened as f64)
            ),
            "< 100 MiB".into(),
            yes(flood_rss_met),
        ],
        vec![
            "a signed webhook from another address in the middle of that flood".into(),
            format!(
                "{} in {}",
                match headers.webhook_status {
                    0 => "no answer".to_string(),
                    status => status.to_string(),
                },
                ms1(headers.webhook_latency)
            ),
            "202 within 10 s (dbt's limit)".into(),
            yes(flood_webhook_met),
        ],
        vec![
            "SIGTERM → exit".into(),
            format!(
                "{} in {}",
                code.map_or_else(|| "no exit".into(), |c| format!("exit {c}")),
                ms1(shutdown)
            ),
            "—".into(),
            "—".into(),
        ],
    ];

    let missed: Vec<&str> = [
        (ready_met, "readiness"),
        (throughput_met, "throughput"),
        (paced_met, "p99 latency"),
        (rss_met, "memory"),
        (all_202, "every answer 202"),
        (all_forwarded, "one dispatch per 202"),
        (flood_rss_met, "memory under the header flood"),
        (
            flood_webhook_met,
            "a webhook answered during the header flood",
        ),
    ]
    .iter()
    .filter(|(met, _)| !met)
    .map(|(_, name)| *name)
    .collect();
    let outcome = if missed.is_empty() {
        "Every goal met.".to_string()
    } else {
        format!("Missed: {}.", missed.join(", "))
    };
    // What a relay with both cores to itself could do, from its CPU per request: a linear
    // estimate, so rounded to the thousand.
    let alone = (2.0 / flood.relay_cpu.as_secs_f64().max(1e-9) / 1000.0).round() * 1000.0;
    let busy = flood.others.max(paced.others);
    let noise = if busy >= 0.2 {
        format!(
            " Other processes kept up to {busy:.2} of the 2 cores busy during the runs, so these \
             numbers are lower than a quiet machine gives; re-run on a quiet one to compare."
        )
    } else {
        String::new()
    };
    let verdict = format!(
        "{outcome} Throughput: the load generator, the GitHub simulator and the relay share the \
         machine's 2 cores. Per webhook the relay used {} of CPU and the generator and simulator {}, \
         so {} /s is what the three manage together; with both cores to itself the relay would top \
         out at roughly {} /s.{noise} Latency: flat out, each of the {CONNECTIONS} connections always has a \
         request waiting, so latency there is mostly queueing ({CONNECTIONS} ÷ {} /s ≈ {}); at {rate} /s \
         the queue is short: p50 {}, p99 {}. CPU per webhook is higher at {rate} /s than flat out \
         because requests arrive one at a time, each paying for its own wake-ups and system calls \
         instead of sharing them with a batch. Memory: peak {} after {} distinct events, {} when idle \
         after start. Ready {} after spawn. Header flood: peak {} (issue 10 measured 544 MB for the \
         same flood before the relay capped connections at 512 in all and 128 per address, and each \
         header block at 16 KiB).",
        us(flood.relay_cpu),
        us(flood.harness_cpu),
        grouped(throughput),
        grouped(alone),
        grouped(throughput),
        ms1(Duration::from_secs_f64(
            CONNECTIONS as f64 / throughput.max(1.0)
        )),
        ms1(paced.result.percentile(50.0)),
        ms1(paced_p99),
        mib(peak_kib),
        grouped((WARM_UP + REQUESTS + PACED_REQUESTS) as f64),
        mib(idle_kib),
        ms1(ready),
        mib(headers.peak_kib),
    );
    Ok(Section {
        title: "4. The relay".into(),
        what: format!(
            "The real binary (`relay --listen 127.0.0.1:PORT`, token authentication) as its own process, \
             forwarding to the GitHub simulator running in the harness. Readiness: {STARTS} fresh starts, \
             `/healthz` polled every millisecond. Load: a small Rust client over {CONNECTIONS} connections \
             sends distinct, fresh, signed `job.run.completed` bodies (unique `eventId`, built and signed \
             before the clock starts), first {warm_up} to warm up, then {requests} as fast as the relay \
             answers, then {paced_requests} at a steady {rate} /s with latency counted from when each \
             request was due. Every run is capped at 30 s. Memory and CPU from `/proc`. Header flood: a \
             fresh relay; 1 500 tasks, 100 from each of 15 loopback addresses, each opening a connection, \
             sending headers of 1 000-byte lines up to 400 KB without ever ending them, waiting for the \
             relay to close it and opening the next, for 6 s; one signed webhook from 127.0.0.1 at 3 s."
        ),
        header: ["measure", "result", "goal", "goal met"]
            .map(String::from)
            .to_vec(),
        rows,
        goal: "≥ 2 000 requests/s, p99 ≤ 10 ms, ≤ 30 MB RSS, ready in ≤ 100 ms (on 2 cores); \
               under 100 MiB and a signed webhook answered 202 within dbt's 10 s under the header \
               flood (issue 10)"
            .into(),
        verdict,
    })
}
