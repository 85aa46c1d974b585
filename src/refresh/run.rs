//! The refresh run: verify ▸ decide ▸ sign in ▸ resolve ▸ refresh ▸ wait ▸ sign out, building the
//! report as it goes. Sign-out happens on every path once sign-in succeeded, including a
//! cancelled workflow (SIGINT/SIGTERM).

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::config::Config;
use super::event::{event_facts, verified_event};
use super::report::{Phase, Report};
use super::select::{self, ExposurePlan};
use super::targets::{Row, finish_row, refresh_targets};
use crate::actions::Console;
use crate::dbt::{Decision, WebhookEvent, decide};
use crate::tableau::Session;
use crate::tableau::auth::check_jobs_support;
use crate::tableau::http::{RetryPolicy, Transport};
use crate::tableau::jobs;
use crate::tableau::session::OpenStep;

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
    if let Some(notice) = &config.age_limit_lifted {
        console.notice("Re-run", notice);
    }
    if let Some(trigger) = &config.manual {
        // No dbt event: nothing to verify or decide on; the targets are refreshed as listed.
        console.info(&format!(
            "Manual refresh ({trigger}): no dbt event, so no signature or dbt checks."
        ));
        report.manual = Some(trigger.clone());
        select_and_refresh(config, None, console, &mut report).await;
    } else if let Some(event) = verified_event(config, console, &mut report) {
        report.event = Some(event_facts(&event, config));
        match decide(&event, &config.policy, now) {
            Decision::Skip(reason) => {
                console.notice("Skipped", &reason);
                report.skip(reason);
            }
            Decision::Refresh => {
                select_and_refresh(config, Some(&event), console, &mut report).await;
            }
        }
    }
    report.elapsed = started.elapsed();
    report.settle();
    report
}

/// Reads what the dbt run built when `select` asks for it (a manual run can read a folder), then
/// refreshes the targets; a run that reaches no Tableau item is skipped.
async fn select_and_refresh(
    config: &Config,
    event: Option<&WebhookEvent>,
    console: Console,
    report: &mut Report,
) {
    let Some(plan) = select::read_run(config, event, console, report).await else {
        return;
    };
    if plan.is_empty() && config.targets.is_empty() {
        let reason = if config.select.lineage {
            "nothing to refresh: this dbt run changed no relation, and no exposure downstream of \
             what it built names a Tableau item"
        } else {
            "nothing to refresh: no exposure downstream of what this dbt run built names a \
             Tableau item"
        }
        .to_string();
        console.notice("Skipped", &reason);
        report.skip(reason);
    } else {
        tableau(config, console, report, &plan).await;
    }
}

/// Everything that talks to Tableau.
async fn tableau(config: &Config, console: Console, report: &mut Report, plan: &ExposurePlan) {
    let transport = match Transport::with_overrides(
        console,
        RetryPolicy::default(),
        &config.ca_certs,
        &config.resolve,
    ) {
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
    if let Err(message) = check_jobs_support(
        &config.connection.credentials,
        session.version(),
        report.waited,
    ) {
        report.fail(Phase::Connect, message);
    } else if config.incremental && session.version() < jobs::MIN_INCREMENTAL_VERSION {
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
        let targets = select::targets(&session, config, plan, console, report).await;
        if targets.is_empty() && report.failed_phase.is_none() {
            let reason = "nothing to refresh: nothing in Tableau with an extract reads what this \
                          dbt run changed (see what was considered)"
                .to_string();
            console.notice("Skipped", &reason);
            report.skip(reason);
        }
        let config = &Config {
            targets,
            ..config.clone()
        };
        let rows: Vec<Mutex<Row>> = config
            .targets
            .iter()
            .map(|target| Mutex::new(Row::new(target.kind, target.text.clone())))
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
        for (target, wanted) in report.targets.iter_mut().zip(&config.targets) {
            target.selected_by = wanted.selected_by.clone();
        }
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
            "The Tableau session ended during the run; signed in again {}. If this \
             happens often, {}.",
            if renewed == 1 {
                "once".to_string()
            } else {
                crate::plural::count(renewed, "time", "times")
            },
            config.connection.credentials.session_lost_hint()
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
