//! The refresh run: verify ▸ decide ▸ sign in ▸ resolve ▸ refresh ▸ wait ▸ sign out, building the
//! report as it goes. Sign-out happens on every path once sign-in succeeded, including a
//! cancelled workflow (SIGINT/SIGTERM).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::config::Config;
use super::report::{EventFacts, Outcome, Phase, Report, TargetReport};
use crate::actions::Console;
use crate::dbt::decision::printable;
use crate::dbt::signature;
use crate::dbt::{Decision, WebhookEvent, decide};
use crate::duration::format_short;
use crate::tableau::Session;
use crate::tableau::content::{self, Resolution};
use crate::tableau::http::{RetryPolicy, Transport};
use crate::tableau::jobs::{self, End, Start};
use crate::tableau::session::OpenStep;

/// How often a long wait prints where it stands in a log, and redraws it on a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);
const LIVE_EVERY: Duration = Duration::from_millis(250);

/// Runs `refresh` and returns its report. Never panics on bad input; every failure lands in the
/// report with the phase it happened in.
pub async fn run(config: &Config, console: Console, now: DateTime<Utc>) -> Report {
    let started = Instant::now();
    let mut report = Report::new();
    report.dry_run = config.dry_run;
    report.incremental = config.incremental;
    report.waited = config.wait && !config.dry_run;
    for note in &config.notes {
        console.info(note);
    }
    if let Some(event) = verified_event(config, console, &mut report) {
        report.event = Some(event_facts(&event, config));
        match decide(&event, &config.policy, now) {
            Decision::Skip(reason) => {
                console.notice("Skipped", &reason);
                report.skip(reason);
            }
            Decision::Refresh => tableau(config, console, &mut report).await,
        }
    }
    report.elapsed = started.elapsed();
    report.settle();
    report
}

/// Checks the signature over the exact body and parses the event.
fn verified_event(config: &Config, console: Console, report: &mut Report) -> Option<WebhookEvent> {
    let _group = console.group("Verify the dbt Cloud event");
    let source = &config.event.source;
    let Some(body) = &config.event.body else {
        report.fail(
            Phase::Payload,
            format!(
                "{source} has no client_payload.body; trigger the workflow with the relay's \
                 repository_dispatch, or pass the payload input"
            ),
        );
        return None;
    };
    match signature::verify(
        &config.keys,
        body.as_bytes(),
        config.event.signature.as_deref(),
    ) {
        Ok(index) => {
            let which = if config.keys.len() > 1 {
                format!(" (key {} of {})", index + 1, config.keys.len())
            } else {
                String::new()
            };
            console.info(&format!(
                "Signature verified over the {}-byte body{which}.",
                body.len()
            ));
        }
        Err(err) => {
            report.fail(
                Phase::Signature,
                format!("{err}; the body in {source} is not trusted, so Tableau was not contacted"),
            );
            return None;
        }
    }
    match WebhookEvent::parse(body.as_bytes()) {
        Ok(event) => {
            console.info(&format!(
                "dbt event {} for job {} run {}: {}",
                printable(&event.event_type),
                printable(event.data.job_id.as_deref().unwrap_or("?")),
                printable(event.data.run_id.as_deref().unwrap_or("?")),
                printable(&event.status_label())
            ));
            Some(event)
        }
        Err(err) => {
            report.fail(
                Phase::Event,
                format!("the signed body is not a dbt event: {err}"),
            );
            None
        }
    }
}

fn event_facts(event: &WebhookEvent, config: &Config) -> EventFacts {
    let data = &event.data;
    let run_url = match (&event.account_id, &data.project_id, &data.run_id) {
        (Some(account), Some(project), Some(run)) => config
            .dbt_cloud_url
            .join(&format!("deploy/{account}/projects/{project}/runs/{run}"))
            .ok()
            .map(String::from),
        _ => None,
    };
    EventFacts {
        event_type: event.event_type.clone(),
        event_id: event.event_id.clone(),
        job_id: data.job_id.clone(),
        job_name: data.job_name.clone(),
        run_id: data.run_id.clone(),
        status: event.status_label(),
        project_name: data.project_name.clone(),
        environment: data.environment_name.clone(),
        occurred_at: event.occurred_at().map(|at| at.to_rfc3339()),
        run_url,
    }
}

/// Everything that talks to Tableau.
async fn tableau(config: &Config, console: Console, report: &mut Report) {
    let transport = match Transport::new(console, RetryPolicy::default(), &config.ca_certs) {
        Ok(transport) => transport,
        Err(err) => return report.fail(Phase::Connect, err.to_string()),
    };
    let session = {
        let _group = console.group("Sign in to Tableau");
        let opened = Session::open(
            &transport,
            console,
            config.connection.clone(),
            config.concurrency,
        )
        .await;
        match opened {
            Ok(session) => {
                let facts = session.facts();
                console.info(&format!(
                    "Signed in to {} site {} with REST API {}{}.",
                    facts.server,
                    facts.site,
                    facts.api_version,
                    facts
                        .product_version
                        .as_deref()
                        .map(|v| format!(" (Tableau {v})"))
                        .unwrap_or_default()
                ));
                report.server = Some(facts.clone());
                session
            }
            Err(err) => {
                let phase = match err.step {
                    OpenStep::ServerInfo => Phase::Connect,
                    OpenStep::SignIn => Phase::SignIn,
                };
                report.fail(phase, err.to_string());
                report.requests = transport.requests();
                report.retries = transport.retries();
                return;
            }
        }
    };
    if config.incremental && session.version() < jobs::MIN_INCREMENTAL_VERSION {
        report.fail(
            Phase::Refresh,
            format!(
                "incremental refresh needs Tableau REST API {} or later; this server offers {}. \
                 Turn incremental off or upgrade the server.",
                jobs::MIN_INCREMENTAL_VERSION,
                session.version()
            ),
        );
    } else {
        let rows: Vec<Mutex<Row>> = config
            .targets
            .iter()
            .map(|target| {
                let mut report =
                    TargetReport::new(target.kind, target.text.clone(), Outcome::Error);
                report.message = Some("not reached".into());
                Mutex::new(Row {
                    report,
                    progress: None,
                    started: None,
                    done: false,
                })
            })
            .collect();
        let interrupted = {
            let work = refresh_targets(&session, config, console, &rows);
            tokio::select! {
                () = work => None,
                signal = crate::signal::shutdown() => Some(signal),
            }
        };
        report.targets = rows
            .into_iter()
            .map(|row| {
                let row = row
                    .into_inner()
                    .unwrap_or_else(|poison| poison.into_inner());
                finish_row(row, interrupted)
            })
            .collect();
        if let Some(signal) = interrupted {
            report.fail(
                Phase::Wait,
                format!(
                    "the run was stopped by {signal}; jobs already queued keep running on Tableau"
                ),
            );
        }
    }
    let renewed = session.resignins();
    if renewed > 0 {
        report.warnings.push(format!(
            "The Tableau session ended during the run; signed in again {renewed} time(s). If this \
             happens often, another job may be using the same personal access token."
        ));
    }
    let _group = console.group("Sign out");
    match session.close().await {
        Ok(()) => console.info("Signed out of Tableau."),
        Err(err) => {
            let message = format!("sign-out failed: {err}; the session ends by itself when idle");
            console.warning("Tableau sign-out", &message);
            report.warnings.push(message);
        }
    }
    report.requests = transport.requests();
    report.retries = transport.retries();
}

/// A target's row while the run is under way.
struct Row {
    report: TargetReport,
    progress: Option<i64>,
    started: Option<Instant>,
    done: bool,
}

/// Closes a row after the work ended or was interrupted.
fn finish_row(row: Row, interrupted: Option<&'static str>) -> TargetReport {
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
async fn refresh_targets(
    session: &Session<'_>,
    config: &Config,
    console: Console,
    rows: &[Mutex<Row>],
) {
    {
        let _group = console.group("Find the workbooks and data sources");
        let wanted: Vec<_> = config
            .targets
            .iter()
            .map(|t| (t.kind, t.reference.clone()))
            .collect();
        let resolutions = content::resolve_all(session, &wanted, config.concurrency).await;
        for (row, resolution) in rows.iter().zip(resolutions) {
            let mut row = lock(row);
            let label = row.report.kind.label();
            let reference = row.report.reference.clone();
            match resolution {
                Resolution::Found(found) => {
                    row.report.name = Some(found.name);
                    row.report.project = found.project;
                    row.report.id = Some(found.id.clone());
                    row.report.url = found
                        .url
                        .filter(|url| url.starts_with("https://") || url.starts_with("http://"));
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
        "Resolved {} of {} target(s).",
        found.len(),
        rows.len()
    ));
    if config.dry_run {
        for row in &found {
            lock(row).report.outcome = Outcome::DryRun;
        }
        console.info(&format!(
            "Dry run: {} target(s) resolved, nothing refreshed.",
            found.len()
        ));
        return;
    }
    {
        let _group = console.group("Ask Tableau to refresh");
        let starts = futures_util::stream::iter(found.iter().map(|row| async move {
            let (kind, id) = {
                let row = lock(row);
                (row.report.kind, row.report.id.clone().unwrap_or_default())
            };
            let at = Instant::now();
            (
                row,
                at,
                jobs::start(session, kind, &id, config.incremental).await,
            )
        }))
        .buffer_unordered(config.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
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
                Start::NotRefreshable(message) | Start::Failed(message) => {
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
    console.info(&format!("Queued {queued} refresh(es)."));
    if !config.wait {
        return;
    }
    let waiting: Vec<&Mutex<Row>> = found
        .into_iter()
        .filter(|row| lock(row).report.job_id.is_some())
        .collect();
    if waiting.is_empty() {
        return;
    }
    let _group = console.group("Wait for the refresh jobs");
    console.info(&format!(
        "Waiting for {} job(s), at most {}.",
        waiting.len(),
        format_short(config.timeout)
    ));
    let deadline = Instant::now() + config.timeout;
    let all = futures_util::future::join_all(waiting.iter().map(|row| async move {
        let job_id = lock(row).report.job_id.clone().unwrap_or_default();
        let end = jobs::wait(
            session,
            &job_id,
            deadline,
            config.cancel_on_timeout,
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
        End::TimedOut { cancelled } => {
            report.outcome = Outcome::TimedOut;
            let what = match cancelled {
                None => "left running on Tableau".to_string(),
                Some(Ok(())) => "cancelled".to_string(),
                Some(Err(err)) => format!("cancelling it failed: {err}"),
            };
            report.message = Some(format!(
                "not finished after {}; {what}",
                format_short(timeout)
            ));
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
