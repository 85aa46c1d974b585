//! The Tableau work of a run, target by target: resolve, ask for refreshes, wait for the jobs
//! (polled concurrently, with a progress line), and map how each ended onto its row.

use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use super::config::Config;
use super::report::{Outcome, TargetReport};
use crate::actions::Console;
use crate::duration::format_short;
use crate::plural::count;
use crate::tableau::content::{self, Resolution};
use crate::tableau::jobs::{self, End, Start};
use crate::tableau::{Kind, Session};

/// How often a long wait prints where it stands in a log, and redraws it on a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);
const LIVE_EVERY: Duration = Duration::from_millis(250);

/// A target's row while the run is under way.
pub(super) struct Row {
    report: TargetReport,
    progress: Option<i64>,
    started: Option<Instant>,
    done: bool,
    /// A Tableau Bridge data source: its finishCode 0 is "assigned", not "done".
    bridge: bool,
    /// Found by lineage with partial details (leaf project, no link, Bridge unknown): completed
    /// over REST while its refresh is requested.
    partial: bool,
}

impl Row {
    /// A row for a target not reached yet: if the run stops before it, that is what it says.
    pub(super) fn new(kind: Kind, reference: String) -> Self {
        let mut report = TargetReport::new(kind, reference, Outcome::Error);
        report.message = Some("not reached".into());
        Self {
            report,
            progress: None,
            started: None,
            done: false,
            bridge: false,
            partial: false,
        }
    }
}

/// Closes a row after the work ended or was interrupted.
pub(super) fn finish_row(row: Row, interrupted: Option<&'static str>) -> TargetReport {
    let mut report = row.report;
    if let Some(signal) = interrupted
        && report.outcome == Outcome::Queued
        && report.job_id.is_some()
    {
        report.outcome = Outcome::Error;
        report.message = Some(format!(
            "stopped by {signal} while waiting; the job may still run"
        ));
        report.duration = row.started.map(|at| at.elapsed());
    }
    report
}

fn lock(row: &Mutex<Row>) -> std::sync::MutexGuard<'_, Row> {
    row.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Resolve, refresh and wait, updating `rows` in place so an interruption keeps what is known.
pub(super) async fn refresh_targets(
    session: &Session<'_>,
    config: &Config,
    console: Console,
    rows: &[Mutex<Row>],
) {
    {
        let _group = console.group("Find the workbooks and data sources");
        // Targets selection already found (or lineage named by LUID) are not looked up again.
        let wanted: Vec<_> = config
            .targets
            .iter()
            .filter(|t| t.resolved.is_none())
            .map(|t| (t.kind, t.reference.clone()))
            .collect();
        let mut looked_up = if wanted.is_empty() {
            Vec::new()
        } else {
            content::resolve_all(session, &wanted, config.concurrency).await
        }
        .into_iter();
        let resolutions: Vec<Resolution> = config
            .targets
            .iter()
            .map(|t| match &t.resolved {
                Some(found) => Resolution::Found(found.clone()),
                None => looked_up
                    .next()
                    .unwrap_or_else(|| Resolution::Failed("not looked up".into())),
            })
            .collect();
        for (row, resolution) in rows.iter().zip(resolutions) {
            let mut row = lock(row);
            let label = row.report.kind.label();
            let reference = row.report.reference.clone();
            match resolution {
                Resolution::Found(found) => {
                    row.report.name = Some(found.name);
                    row.report.project = found.project;
                    row.report.id = Some(found.id.clone());
                    row.bridge = found.bridge;
                    row.partial = found.partial;
                    row.report.url = found.url.filter(|url| is_link(url));
                    row.report.message = None;
                    row.report.outcome = Outcome::Queued;
                    console.info(&format!(
                        "Found {label} {} ({}).",
                        row.report.display_name(),
                        found.id
                    ));
                }
                Resolution::NotFound(message) => {
                    row.report.outcome = Outcome::NotFound;
                    console.error(&format!("{label} not found"), &message);
                    row.report.message = Some(message);
                }
                Resolution::Ambiguous(message) | Resolution::Failed(message) => {
                    row.report.outcome = Outcome::Error;
                    console.error(&format!("{label} `{reference}`"), &message);
                    row.report.message = Some(message);
                }
            }
        }
    }
    let found: Vec<&Mutex<Row>> = rows
        .iter()
        .filter(|row| lock(row).report.id.is_some())
        .collect();
    console.info(&format!(
        "Resolved {} of {}.",
        found.len(),
        count(rows.len(), "target", "targets")
    ));
    let details = content::Details::new(session, config.concurrency);
    if config.dry_run {
        // No refresh request to go alongside: the lookups are the dry run's only calls after
        // resolving, so the plan shows full project paths.
        complete_details(&details, console, &found).await;
        for row in &found {
            lock(row).report.outcome = Outcome::DryRun;
        }
        console.info(&format!(
            "Dry run: {} resolved, nothing refreshed.",
            count(found.len(), "target", "targets")
        ));
        return;
    }
    {
        let _group = console.group("Ask Tableau to refresh");
        // Once Tableau throttles a refresh request for long, the rest are not asked for: the
        // budget is the site's, so they would be refused too (docs/tableau-compat.md, G3).
        let throttled: Mutex<Option<String>> = Mutex::new(None);
        let throttled = &throttled;
        let starts = futures_util::stream::iter(found.iter().map(|row| async move {
            let (kind, id) = {
                let row = lock(row);
                (row.report.kind, row.report.id.clone().unwrap_or_default())
            };
            let at = Instant::now();
            let earlier = throttled.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let start = match earlier {
                Some(tableau) => Start::Failed(format!(
                    "not queued: Tableau throttled an earlier refresh request of this run \
                     ({tableau}); run again later"
                )),
                None => jobs::start(session, kind, &id, config.incremental).await,
            };
            if let Start::Throttled { tableau, .. } = &start {
                throttled
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(|| tableau.clone());
            }
            (row, at, start)
        }))
        .buffer_unordered(config.concurrency.max(1))
        .collect::<Vec<_>>();
        // Without waiting, the lookups of lineage's targets run alongside the refresh requests;
        // the requests are polled first, so they are first in line for the session's concurrency
        // slots. When waiting, each target's lookup runs in the pause before its first poll
        // instead (below): the refresh requests then have every slot, and no round trip is added.
        let lookups = async {
            if !config.wait {
                complete_details(&details, console, &found).await;
            }
        };
        let (starts, ()) = tokio::join!(starts, lookups);
        for (row, at, start) in starts {
            let mut row = lock(row);
            let label = row.report.kind.label();
            let name = row.report.display_name();
            row.started = Some(at);
            match start {
                Start::Queued { job_id } => {
                    console.info(&format!("Queued refresh of {label} {name}: job {job_id}."));
                    row.report.job_id = Some(job_id);
                    row.report.outcome = Outcome::Queued;
                }
                Start::AlreadyQueued(message) => {
                    console.warning(&format!("{label} {name} already queued"), &message);
                    row.report.outcome = Outcome::AlreadyQueued;
                    row.report.message = Some(message);
                }
                Start::NotRefreshable(message)
                | Start::Throttled { message, .. }
                | Start::Failed(message) => {
                    console.error(&format!("{label} {name}"), &message);
                    row.report.outcome = Outcome::Error;
                    row.report.message = Some(message);
                }
            }
        }
    }
    let queued = found
        .iter()
        .filter(|row| lock(row).report.job_id.is_some())
        .count();
    console.info(&format!(
        "Queued {}.",
        count(queued, "refresh", "refreshes")
    ));
    if !config.wait {
        return;
    }
    let (waiting, not_waiting): (Vec<&Mutex<Row>>, Vec<&Mutex<Row>>) = found
        .into_iter()
        .partition(|row| lock(row).report.job_id.is_some());
    if waiting.is_empty() {
        complete_details(&details, console, &not_waiting).await;
        return;
    }
    let _group = console.group("Wait for the refresh jobs");
    console.info(&format!(
        "Waiting for {}, at most {}.",
        count(waiting.len(), "job", "jobs"),
        format_short(config.timeout)
    ));
    let deadline = Instant::now() + config.timeout;
    let details = &details;
    let each = futures_util::future::join_all(waiting.iter().map(|row| async move {
        // A lineage target's details (and Bridge flag) are read before its first poll, within
        // the pause the poll schedule keeps after the refresh request anyway.
        complete_details(details, console, &[*row]).await;
        let (job_id, bridge, queued_at) = {
            let row = lock(row);
            (
                row.report.job_id.clone().unwrap_or_default(),
                row.bridge,
                row.started.unwrap_or_else(Instant::now),
            )
        };
        let end = jobs::wait(
            session,
            &job_id,
            queued_at,
            deadline,
            config.cancel_on_timeout,
            bridge,
            |progress| {
                lock(row).progress = progress;
            },
        )
        .await;
        let mut row = lock(row);
        apply_end(&mut row, end, config.timeout);
        let line = format!(
            "{} {} {}: {}{}",
            row.report.outcome.icon(),
            row.report.kind.label(),
            row.report.display_name(),
            row.report.outcome.as_str(),
            row.report
                .duration
                .map(|d| format!(" after {}", format_short(d)))
                .unwrap_or_default()
        );
        match row.report.outcome {
            Outcome::Succeeded => console.info(&line),
            outcome if outcome.is_failure() => console.error(
                &format!("{} {}", row.report.kind.label(), row.report.display_name()),
                &format!(
                    "{}: {}",
                    outcome.as_str(),
                    row.report.message.as_deref().unwrap_or("no details")
                ),
            ),
            _ => console.warning(
                &format!("{} {}", row.report.kind.label(), row.report.display_name()),
                &format!(
                    "{}: {}",
                    row.report.outcome.as_str(),
                    row.report.message.as_deref().unwrap_or("")
                ),
            ),
        }
    }));
    let all = async {
        tokio::join!(each, complete_details(details, console, &not_waiting));
    };
    let started = Instant::now();
    let progress = async {
        let mut logged = Instant::now();
        loop {
            tokio::time::sleep(if console.is_live() {
                LIVE_EVERY
            } else {
                PROGRESS_EVERY
            })
            .await;
            let line = progress_line(&waiting, started.elapsed());
            if console.is_live() {
                console.live(&line);
            }
            if logged.elapsed() >= PROGRESS_EVERY {
                console.info(&line);
                logged = Instant::now();
            }
        }
    };
    tokio::select! {
        _ = all => {}
        () = progress => {}
    }
    console.live("");
}

/// Fills in the project path, link and Bridge flag of the targets lineage found, from their REST
/// items (read concurrently, bounded by the session's concurrency). A lookup that fails leaves the
/// partial details: they name the item well enough, and the refresh does not depend on them.
async fn complete_details(
    details: &content::Details<'_, '_>,
    console: Console,
    rows: &[&Mutex<Row>],
) {
    let partial: Vec<&Mutex<Row>> = rows
        .iter()
        .copied()
        .filter(|row| lock(row).partial)
        .collect();
    futures_util::future::join_all(partial.into_iter().map(|row| async move {
        let (kind, id) = {
            let row = lock(row);
            (row.report.kind, row.report.id.clone().unwrap_or_default())
        };
        let looked_up = details.of(kind, &id).await;
        let mut row = lock(row);
        match looked_up {
            Ok(Some(found)) => {
                row.partial = false;
                row.bridge = found.bridge;
                row.report.project = found.project.or(row.report.project.take());
                row.report.url = found.url.filter(|url| is_link(url));
            }
            Ok(None) => console.info(&format!(
                "Details of {} {} ({id}) not found over REST; showing what lineage gave.",
                kind.label(),
                row.report.display_name()
            )),
            Err(err) => console.info(&format!(
                "Details of {} {} ({id}) not read ({err}); showing what lineage gave.",
                kind.label(),
                row.report.display_name()
            )),
        }
    }))
    .await;
}

/// Links in the summary are web addresses, never another scheme.
fn is_link(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Maps how waiting ended onto the row.
fn apply_end(row: &mut Row, end: End, timeout: Duration) {
    row.done = true;
    row.report.duration = row.started.map(|at| at.elapsed());
    let report = &mut row.report;
    match end {
        End::Finished {
            finish_code,
            error_note,
            notes,
        } => {
            report.finish_code = Some(finish_code);
            report.outcome = match finish_code {
                0 | 3 if !error_note => Outcome::Succeeded,
                0 | 3 | 1 => Outcome::Failed,
                2 => Outcome::Cancelled,
                _ => Outcome::Error,
            };
            report.message = match report.outcome {
                Outcome::Succeeded => None,
                Outcome::Error => Some(format!(
                    "Tableau reported an unknown finishCode {finish_code}"
                )),
                Outcome::Cancelled => {
                    Some(notes.unwrap_or_else(|| "the job was cancelled on Tableau".into()))
                }
                _ => Some(notes.unwrap_or_else(|| "Tableau gave no notes".into())),
            };
        }
        End::TimedOut {
            cancelled,
            bridge_assigned,
        } => {
            report.outcome = Outcome::TimedOut;
            let what = match cancelled {
                None => "left running on Tableau".to_string(),
                Some(Ok(())) => "cancelled".to_string(),
                Some(Err(err)) => format!("cancelling it failed: {err}"),
            };
            let state = if bridge_assigned {
                "assigned to a Bridge client, not seen to finish"
            } else {
                "not finished"
            };
            report.message = Some(format!("{state} after {}; {what}", format_short(timeout)));
        }
        End::Vanished(message) => {
            report.outcome = Outcome::Queued;
            report.message = Some(message);
        }
        End::Failed(message) => {
            report.outcome = Outcome::Error;
            report.message = Some(message);
        }
    }
}

/// `Waiting 1m 30s: 2 of 5 done; Finance/Revenue 40%, Sales 0%`.
fn progress_line(rows: &[&Mutex<Row>], elapsed: Duration) -> String {
    let mut running = Vec::new();
    let mut done = 0;
    for row in rows {
        let row = lock(row);
        if !row.done {
            let progress = row.progress.map(|p| format!(" {p}%")).unwrap_or_default();
            running.push(format!("{}{progress}", row.report.display_name()));
        } else {
            done += 1;
        }
    }
    format!(
        "Waiting {}: {done} of {} done; running: {}",
        format_short(elapsed),
        rows.len(),
        running.join(", ")
    )
}
