//! Benchmark 7, `--select lineage` for N built models: the Metadata API requests it takes, and
//! the round trips it adds to a run, against `--select listed` naming the same targets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dbt_tableau_refresh::sim::tableau::sample::{SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET};
use dbt_tableau_refresh::sim::tableau::{Route, TableauSim};

use crate::lineage_site::{self, Site};
use crate::measure::{self, median, ms};
use crate::phases::Phases;
use crate::report::Section;
use dbt_tableau_refresh::tableau::metadata::Relation;
use dbt_tableau_refresh::tableau::metadata::fetch::{PAGE_SIZE, RELATIONS_PER_REQUEST};
use dbt_tableau_refresh::tableau::metadata::names::{RelationIndex, TableName};

/// Long enough that the client's own work (reading 2000 models, building the queries) is a small
/// part of one round trip, so the wall time divided by it counts round trips.
const LATENCY: Duration = Duration::from_millis(200);
const REPEATS: usize = 3;
const SIZES: [usize; 3] = [50, 500, 2000];
/// The size the goal names.
const GOAL_N: usize = 500;
const GOAL_REQUESTS: usize = 5;
const GOAL_ADDED: f64 = 2.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lineage,
    Listed,
}

impl Mode {
    fn select(self) -> &'static str {
        match self {
            Mode::Lineage => "lineage",
            Mode::Listed => "listed",
        }
    }
}

/// A span in round trips of [`LATENCY`].
fn trips(span: Duration) -> f64 {
    span.as_secs_f64() / LATENCY.as_secs_f64()
}

/// One run of one mode, measured.
struct Measured {
    phases: Phases,
    /// The binary's user + system CPU (GNU time), and the harness process's over the run: the
    /// simulator's work, plus the little the harness does while it waits.
    client_cpu: Option<Duration>,
    sim_cpu: Option<Duration>,
    metadata_requests: usize,
    requests: usize,
    targets_queued: usize,
    /// Each request the simulator answered, with when (since the first answer) it was seen.
    timeline: Vec<(Duration, Route)>,
}

async fn run_once(
    binary: &str,
    site: &Site,
    dir: &std::path::Path,
    mode: Mode,
    ticks: f64,
) -> anyhow::Result<Measured> {
    let mut config = site.config.clone();
    config.latency = LATENCY;
    let sim = TableauSim::start(config).await?;
    let mut args: Vec<String> = ["refresh", "--no-event", "--select", mode.select()]
        .map(String::from)
        .to_vec();
    let mut env: Vec<(String, String)> = vec![
        ("TABLEAU_SITE_URL".into(), sim.url()),
        ("TABLEAU_API_TOKEN_NAME".into(), SAMPLE_PAT_NAME.into()),
        ("TABLEAU_API_TOKEN_SECRET".into(), SAMPLE_PAT_SECRET.into()),
        ("TABLEAU_WAIT".into(), "true".into()),
    ];
    match mode {
        Mode::Lineage => {
            args.push("--dbt-artifacts-dir".into());
            args.push(dir.display().to_string());
        }
        Mode::Listed => {
            env.push(("TABLEAU_DATASOURCES".into(), site.datasources.join("\n")));
            env.push(("TABLEAU_WORKBOOKS".into(), site.workbooks.join("\n")));
        }
    }
    // The simulator logs a request when its answer is decided, after the latency: watching the
    // log from here dates each answer to within the polling period.
    let done = AtomicBool::new(false);
    let watch = async {
        let mut seen: Vec<(Instant, Route)> = Vec::new();
        loop {
            let finished = done.load(Ordering::Relaxed);
            let requests = sim.stats().requests;
            let now = Instant::now();
            seen.extend(requests[seen.len()..].iter().map(|r| (now, r.route)));
            if finished {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let harness_cpu = || measure::cpu_time("self", ticks);
    let cpu_before = harness_cpu();
    let traced = async {
        let run = measure::run_traced_costed(binary, &args, &env).await;
        done.store(true, Ordering::Relaxed);
        run
    };
    let (run, seen) = tokio::join!(traced, watch);
    let sim_cpu = harness_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let run = run?;
    anyhow::ensure!(
        run.code == 0,
        "refresh --select {} failed:\n{}\n{}",
        mode.select(),
        run.stdout,
        run.lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let phases = Phases::of(&run)?;
    let stats = sim.stats();
    let metadata_requests = sim.faults().metadata_requests();
    sim.shutdown().await;
    let first = seen.first().map(|(at, _)| *at);
    let timeline = seen
        .iter()
        .map(|(at, route)| {
            (
                first.map_or(Duration::ZERO, |f| at.duration_since(f)),
                *route,
            )
        })
        .collect();
    Ok(Measured {
        phases,
        client_cpu: run.cpu,
        sim_cpu,
        metadata_requests,
        requests: stats.requests.len(),
        targets_queued: stats.refresh_posts,
        timeline,
    })
}

/// The timeline as rounds: the requests answered about one round trip apart, grouped.
/// Returns how many rounds there were, and the rounds written out.
fn rounds(timeline: &[(Duration, Route)]) -> (usize, String) {
    let mut rounds: Vec<(f64, Vec<(Route, usize)>)> = Vec::new();
    for (at, route) in timeline {
        let round = trips(*at);
        match rounds.last_mut() {
            Some((start, routes)) if round - *start < 0.5 => {
                match routes.iter_mut().find(|(r, _)| r == route) {
                    Some((_, count)) => *count += 1,
                    None => routes.push((*route, 1)),
                }
            }
            _ => rounds.push((round, vec![(*route, 1)])),
        }
    }
    let text = rounds
        .iter()
        .map(|(at, routes)| {
            let what = routes
                .iter()
                .map(|(route, count)| {
                    let name = route_name(*route);
                    if *count == 1 {
                        name.to_string()
                    } else {
                        format!("{name} ×{count}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" + ");
            format!("{at:.1}: {what}")
        })
        .collect::<Vec<_>>()
        .join(" · ");
    (rounds.len(), text)
}

fn route_name(route: Route) -> &'static str {
    match route {
        Route::ServerInfo => "serverinfo",
        Route::SignIn => "sign-in",
        Route::SignOut => "sign-out",
        Route::QueryWorkbooks => "list workbooks",
        Route::QueryDatasources => "list data sources",
        Route::QueryProjects => "list projects",
        Route::GetWorkbook => "get workbook",
        Route::GetDatasource => "get data source",
        Route::RefreshWorkbook => "refresh workbook",
        Route::RefreshDatasource => "refresh data source",
        Route::QueryJob => "job status",
        Route::CancelJob => "cancel job",
        Route::Metadata => "Metadata API",
        Route::Any => "other",
    }
}

/// The medians of several runs of one mode.
struct Runs {
    phases: Phases,
    client_cpu: Option<Duration>,
    sim_cpu: Option<Duration>,
    /// The last run, for its counts and timeline.
    last: Measured,
}

async fn runs(
    binary: &str,
    site: &Site,
    dir: &std::path::Path,
    mode: Mode,
    ticks: f64,
) -> anyhow::Result<Runs> {
    let mut all = Vec::new();
    for _ in 0..REPEATS {
        all.push(run_once(binary, site, dir, mode, ticks).await?);
    }
    let phases: Vec<Phases> = all.iter().map(|m| m.phases).collect();
    let cpu = |f: fn(&Measured) -> Option<Duration>| -> Option<Duration> {
        let values: Option<Vec<Duration>> = all.iter().map(f).collect();
        values.map(median)
    };
    let client_cpu = cpu(|m| m.client_cpu);
    let sim_cpu = cpu(|m| m.sim_cpu);
    let last = all.pop().ok_or_else(|| anyhow::anyhow!("no run"))?;
    Ok(Runs {
        phases: Phases::median(&phases),
        client_cpu,
        sim_cpu,
        last,
    })
}

/// The longest time between two answers of one run, less one round trip: how long the client
/// held its next request back, doing its own work (or the simulator building an answer).
fn longest_pause(timeline: &[(Duration, Route)]) -> Duration {
    timeline
        .windows(2)
        .map(|pair| pair[1].0.saturating_sub(pair[0].0))
        .max()
        .unwrap_or_default()
        .saturating_sub(LATENCY)
}

/// Matching `n` relations against the `n` tables Tableau answers with, as `refresh::lineage`
/// does (the relations indexed by schema and name once, then one lookup per table), timed in
/// the harness: the client's share of a pause, measured on its own.
fn matching(n: usize) -> Duration {
    let relations: Vec<Relation> = (0..n)
        .map(|i| Relation::new(Some("ANALYTICS"), "MARTS", &format!("model_{i:04}")))
        .collect();
    // As the simulator answers: the separate fields, and `fullName` as `[schema].[name]`.
    let tables: Vec<TableName> = (0..n)
        .map(|i| TableName {
            database: Some("ANALYTICS".into()),
            schema: Some("MARTS".into()),
            name: Some(format!("MODEL_{i:04}")),
            full_name: Some(format!("[MARTS].[MODEL_{i:04}]")),
        })
        .collect();
    let started = Instant::now();
    let index = RelationIndex::new(&relations);
    let matched: usize = tables.iter().map(|table| index.labels(table).len()).sum();
    let elapsed = started.elapsed();
    assert_eq!(matched, n, "each table is one relation");
    elapsed
}

/// Whether every request count is one page per request: ⌈N ÷ RELATIONS_PER_REQUEST⌉ tables
/// requests (every relation's table is in the answer, at most PAGE_SIZE of them), one for the
/// site's custom SQL, one for the workbooks.
fn paging(requests: &[(usize, usize)]) -> String {
    let expected = |n: usize| n.div_ceil(RELATIONS_PER_REQUEST) + 2;
    let one_page = RELATIONS_PER_REQUEST <= PAGE_SIZE as usize
        && requests.iter().all(|(n, got)| *got == expected(*n));
    if !one_page {
        return String::new();
    }
    format!(
        " No request here needed a second page: a tables request names up to \
         {RELATIONS_PER_REQUEST} relations and gets their tables in one page of {PAGE_SIZE}, so \
         the count is ⌈N ÷ {RELATIONS_PER_REQUEST}⌉ tables requests (concurrent) + the site's \
         custom SQL + the workbooks: {}.",
        requests
            .iter()
            .map(|(n, got)| format!("{got} for N = {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The rounds lineage adds at the goal's N, and what the pauses are when matching accounts for
/// most of the largest one.
fn cause(pauses: &[(usize, Duration, Duration, i64)]) -> String {
    let Some((n, pause, matched, _)) = pauses.iter().max_by_key(|(n, ..)| *n) else {
        return String::new();
    };
    if matched.as_secs_f64() < pause.as_secs_f64() / 2.0 {
        return String::new();
    }
    let goal = pauses.iter().find(|(n, ..)| *n == GOAL_N);
    let at_goal = goal
        .map(|(_, pause, ..)| {
            format!(
                " At 50 ms a request, N = {GOAL_N}'s pause alone would be {:.1} round trips.",
                pause.as_secs_f64() / 0.05
            )
        })
        .unwrap_or_default();
    let rounds = goal
        .map(|(.., added)| {
            format!(
                " At N = {GOAL_N} lineage adds {added:+} round(s) of requests (the tables and \
                 custom SQL queries together, then the workbooks query, where listed names need \
                 one round of lookups)."
            )
        })
        .unwrap_or_default();
    format!(
        "{rounds} The rest of the added time is the client's CPU between those two rounds \
         (N = {n}: a {} pause in one run; the matching alone, timed in the harness, {}): \
         it does not shrink with the latency.{at_goal}",
        ms(*pause),
        ms(*matched)
    )
}

fn cpu_text(cpu: Option<Duration>) -> String {
    cpu.map_or_else(|| "—".to_string(), ms)
}

/// 7. Lineage for N built models.
pub(crate) async fn lineage(binary: &str) -> anyhow::Result<Section> {
    let mut rows = Vec::new();
    let mut missed = Vec::new();
    let mut timelines = Vec::new();
    let mut pauses = Vec::new();
    // (N, Metadata API requests) of each size, against what one page per request makes.
    let mut requests = Vec::new();
    let ticks = measure::ticks_per_second();
    for n in SIZES {
        eprintln!("  {n} built models");
        let site = lineage_site::site(n);
        let dir = tempfile::tempdir()?;
        site.write_artifacts(dir.path())?;
        let lineage_runs = runs(binary, &site, dir.path(), Mode::Lineage, ticks).await?;
        let listed_runs = runs(binary, &site, dir.path(), Mode::Listed, ticks).await?;
        let (lineage, lineage_last) = (lineage_runs.phases, &lineage_runs.last);
        let (listed, listed_last) = (listed_runs.phases, &listed_runs.last);
        let matched =
            tokio::task::block_in_place(|| median((0..REPEATS).map(|_| matching(n)).collect()));
        let pause = longest_pause(&lineage_last.timeline);

        let expected = site.datasources.len() + site.workbooks.len();
        anyhow::ensure!(
            lineage_last.targets_queued == expected && listed_last.targets_queued == expected,
            "N = {n}: lineage queued {}, listed {}, expected {expected}",
            lineage_last.targets_queued,
            listed_last.targets_queued
        );
        let added = trips(lineage.tableau()) - trips(listed.tableau());
        let (lineage_rounds, lineage_timeline) = rounds(&lineage_last.timeline);
        let (listed_rounds, listed_timeline) = rounds(&listed_last.timeline);
        let added_rounds = lineage_rounds as i64 - listed_rounds as i64;
        pauses.push((n, pause, matched, added_rounds));
        requests.push((n, lineage_last.metadata_requests));
        let requests_met = lineage_last.metadata_requests <= GOAL_REQUESTS;
        // In time: the run may be at most two round trips longer, with half a round trip for
        // the client's own work and measuring noise. Rounds of requests are not the measure:
        // lineage's REST lookups run in the pause before the first poll, as rounds that add no
        // time.
        let added_met = added <= GOAL_ADDED + 0.5;
        if n == GOAL_N && !(requests_met && added_met) {
            missed.push(format!("N = {n}"));
        }
        timelines.push(format!(
            "N = {n}, lineage: {lineage_timeline}. Listed: {listed_timeline}."
        ));
        rows.push(vec![
            n.to_string(),
            format!("**{}**", lineage_last.metadata_requests),
            format!("{} / {}", lineage_last.requests, listed_last.requests),
            format!("{:.1}", trips(lineage.queued.saturating_sub(lineage.open))),
            format!("{:.1}", trips(listed.queued.saturating_sub(listed.open))),
            format!("{:.1}", trips(lineage.tableau())),
            format!("{:.1}", trips(listed.tableau())),
            format!("{lineage_rounds} / {listed_rounds} (**{added_rounds:+}**)"),
            format!("**{added:+.1}**"),
            ms(pause),
            ms(matched),
            format!(
                "{} / {}",
                cpu_text(lineage_runs.client_cpu),
                cpu_text(listed_runs.client_cpu)
            ),
            format!(
                "{} / {}",
                cpu_text(lineage_runs.sim_cpu),
                cpu_text(listed_runs.sim_cpu)
            ),
            if n == GOAL_N {
                if requests_met && added_met {
                    "yes"
                } else {
                    "no"
                }
                .into()
            } else {
                "—".into()
            },
        ]);
    }
    Ok(Section {
        title: "7. Lineage for N built models".into(),
        what: format!(
            "`--select lineage` (issue 11) for a dbt run that built N table models, against the \
             Tableau simulator with {} ms per request. Run on its own with `cargo bench --bench \
             harness -- lineage` (add `--write` to replace this section). The harness writes the \
             artifacts of a `dbt build` of N models (benches/harness/lineage_site.rs; \
             tests/lineage_bench_site.rs checks the world) and gives Tableau's Metadata API a \
             table for every one, each read by exactly one of 30 readers: {} published data \
             sources with extracts, {} workbooks with an embedded extract, {} live published data \
             sources and {} live workbooks. So every N selects the same {} targets, queued in one \
             round at the default concurrency. The release binary runs `refresh --no-event \
             --select lineage --dbt-artifacts-dir DIR`, waiting for the jobs (which the simulator ends \
             at once, so the first poll, 0.5 s after each refresh request, sees them done), and for \
             comparison `refresh --no-event --select listed` with `TABLEAU_DATASOURCES` and \
             `TABLEAU_WORKBOOKS` naming the same {} targets as `Bench/Name` (median of {REPEATS} \
             runs each, a fresh simulator per run). **Metadata API requests** is the \
             simulator's counter for one lineage run; **requests** all requests of one run, \
             lineage / listed. The round trips are times from the run's progress lines divided \
             by the latency: **signed in → queued** from `Signed in to …` to `Queued n \
             refreshes.` (where lineage or the name lookups happen), **Tableau phase** from the \
             `Sign in to Tableau` heading (just before the first request) to the exit, after \
             sign-out. **Rounds of requests** counts the rounds in the simulator's request log \
             (its answers, dated by polling the log every 2 ms; answers within half a round trip \
             of each other are one round), including lineage's REST lookups of its targets, which run in the pause before the \
             first poll and so add requests but no time; **added \
             round trips (time)** is the Tableau phase of lineage less that of listed, which \
             also holds the client's own work. **Longest pause** is the longest time between \
             two answers of a lineage run less one round trip: time the client (or the \
             simulator) kept the next request back. **Matching in-process** times, in the harness, \
             how `refresh::lineage` finds the run's relations among the tables Tableau answers: \
             the relations indexed by schema and name once, one lookup per table (median of \
             {REPEATS}). **Client CPU** is the binary's user + system time from GNU \
             time; **simulator CPU** the harness process's over the run (the simulator, the log \
             polling).",
            LATENCY.as_millis(),
            lineage_site::PUBLISHED_EXTRACTS,
            lineage_site::EMBEDDED_EXTRACTS,
            lineage_site::LIVE_DATASOURCES,
            lineage_site::LIVE_WORKBOOKS,
            lineage_site::PUBLISHED_EXTRACTS + lineage_site::EMBEDDED_EXTRACTS,
            lineage_site::PUBLISHED_EXTRACTS + lineage_site::EMBEDDED_EXTRACTS,
        ),
        header: [
            "N built models",
            "Metadata API requests",
            "requests (lineage / listed)",
            "signed in → queued, lineage",
            "signed in → queued, listed",
            "Tableau phase, lineage",
            "Tableau phase, listed",
            "rounds of requests (lineage / listed)",
            "added round trips (time)",
            "longest pause, lineage",
            "matching in-process",
            "client CPU (lineage / listed)",
            "simulator CPU (lineage / listed)",
            "goal met",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        goal: format!(
            "lineage for {GOAL_N} built models takes ≤ {GOAL_REQUESTS} Metadata API requests on \
             top of paging, and adds at most {GOAL_ADDED:.0} round trips to the run (issue 11; \
             met when the run is at most {} round trips longer than the same refresh of listed \
             targets, half a round trip allowed for the client's own work and noise)",
            GOAL_ADDED + 0.5
        ),
        verdict: format!(
            "{}{}{} Where the round trips go, from one run of each (the simulator's request log, \
             dated by polling it; round trips since the first answer, requests answered within \
             half a round trip grouped): {} {}",
            if missed.is_empty() {
                format!("Met for N = {GOAL_N}.")
            } else {
                format!("Missed for {}.", missed.join(", "))
            },
            paging(&requests),
            cause(&pauses),
            timelines.join(" "),
            pauses
                .iter()
                .map(|(n, pause, matched, _)| format!(
                    "N = {n}: after the tables' answers the client held its next request (the \
                     workbooks query) back {} ({:.1} round trips); matching its {n} relations \
                     against {n} tables, as `refresh::lineage` does, takes {} on its own.",
                    ms(*pause),
                    trips(*pause),
                    ms(*matched)
                ))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    })
}
