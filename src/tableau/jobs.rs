//! Refresh jobs: "Update Now" requests, polling with capped backoff until `completedAt` (for a
//! Tableau Bridge data source, until its finishCode is past 0, "assigned"), and cancelling on
//! request.

use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::error::{TableauError, code};
use super::http::Retry;
use super::model::{Job, JobEnvelope};
use super::reference::Kind;
use super::session::Session;
use super::version::ApiVersion;

/// The incremental form of the refresh body exists from this version on.
pub const MIN_INCREMENTAL_VERSION: ApiVersion = ApiVersion::new(3, 25);
/// Shortest and longest pause between two polls of one job.
const MIN_POLL: Duration = Duration::from_millis(500);
const MAX_POLL: Duration = Duration::from_secs(30);
/// Polls that may fail in a row (after the transport's own retries) before we stop waiting.
const MAX_POLL_FAILURES: u32 = 3;

/// What asking for a refresh gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Queued {
        job_id: String,
    },
    /// 409093: a refresh of this item is already queued or running.
    AlreadyQueued(String),
    /// 409090: the item has no extract to refresh, or refreshing is not allowed.
    NotRefreshable(String),
    /// 429: Tableau throttled the request and asked for a wait longer than we retry for (or
    /// none); its budget is per site, so further refreshes in this run would be refused too.
    Throttled {
        message: String,
        /// Tableau's answer, for the rows that are then not queued.
        tableau: String,
    },
    Failed(String),
}

/// How waiting for a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Finished {
        finish_code: i64,
        error_note: bool,
        notes: Option<String>,
    },
    TimedOut {
        cancelled: Option<Result<(), String>>,
        /// A Tableau Bridge job was seen assigned to a Bridge client (finishCode 0), not done.
        bridge_assigned: bool,
    },
    /// Tableau no longer knows the job (completed jobs are purged quickly).
    Vanished(String),
    Failed(String),
}

/// The body of a refresh request: `{}` unless an incremental refresh is asked for.
pub fn refresh_body(incremental: bool) -> &'static str {
    if incremental {
        r#"{"extractRefresh":{"incremental":true}}"#
    } else {
        "{}"
    }
}

/// Asks Tableau to refresh one item now.
pub async fn start(session: &Session<'_>, kind: Kind, id: &str, incremental: bool) -> Start {
    let answer = session
        .call(
            Method::POST,
            &[kind.plural(), id, "refresh"],
            &[],
            Some(refresh_body(incremental)),
            Retry::OnlyIfNotActedOn,
        )
        .await;
    match answer {
        Ok(response) => match response.json::<JobEnvelope>("refresh answer") {
            Ok(envelope) => Start::Queued {
                job_id: envelope.job.id,
            },
            Err(err) => Start::Failed(format!(
                "Tableau accepted the refresh but its answer was unreadable ({err}); the job may be running"
            )),
        },
        Err(err) if err.has_code(code::ALREADY_QUEUED) => Start::AlreadyQueued(format!(
            "a refresh of this {} is already queued or running ({err})",
            kind.label()
        )),
        Err(err) if err.has_code(code::NOT_REFRESHABLE) => Start::NotRefreshable(format!(
            "this {} cannot be refreshed: it has no extract, or extract refresh is not allowed ({err})",
            kind.label()
        )),
        Err(err) if err.api().is_some_and(|api| api.status == 429) => Start::Throttled {
            message: format!(
                "throttled by Tableau, not queued: {err}. Tableau limits refresh requests per site \
                 (on Tableau Cloud, per hour); run again after the wait it asks for"
            ),
            tableau: err.to_string(),
        },
        Err(err) => Start::Failed(format!("the refresh request failed: {err}")),
    }
}

/// The pause before the next poll: a quarter of the time waited so far, within 0.5–30 s. Short
/// jobs are seen soon after they end; an hour-long job costs about 130 status calls.
pub fn poll_interval(waited: Duration) -> Duration {
    (waited / 4).clamp(MIN_POLL, MAX_POLL)
}

/// Waits for a job until it completes or `deadline` passes; `on_progress` sees each poll. The
/// poll schedule counts from `queued_at`, when the refresh was asked for. For a Tableau Bridge
/// target (`bridge`), finishCode 0 only means a Bridge client was assigned: the wait goes on
/// until 3 (completed), 1 or 2.
pub async fn wait(
    session: &Session<'_>,
    job_id: &str,
    queued_at: Instant,
    deadline: Instant,
    cancel_on_timeout: bool,
    bridge: bool,
    mut on_progress: impl FnMut(Option<i64>),
) -> End {
    let started = queued_at;
    let mut failures = 0;
    let mut bridge_assigned = false;
    // The first pause counts from the refresh request, so work done between the request and
    // the wait (a lineage target's lookup) does not delay the first poll; later pauses count
    // from the poll before.
    let mut first = true;
    loop {
        let pause = poll_interval(started.elapsed());
        let now = Instant::now();
        if now >= deadline {
            let cancelled = if cancel_on_timeout {
                Some(cancel(session, job_id).await.map_err(|err| err.to_string()))
            } else {
                None
            };
            return End::TimedOut {
                cancelled,
                bridge_assigned,
            };
        }
        let from = if first { queued_at } else { now };
        first = false;
        tokio::time::sleep_until((from + pause).max(now).min(deadline)).await;
        if Instant::now() >= deadline {
            continue;
        }
        match get(session, job_id).await {
            Ok(job) => {
                failures = 0;
                on_progress(job.progress);
                if bridge && job.completed_at.is_some() && job.finish_code == Some(0) {
                    bridge_assigned = true;
                    continue;
                }
                if job.completed_at.is_some() {
                    return End::Finished {
                        finish_code: job.finish_code.unwrap_or(-1),
                        error_note: job.has_error_note(),
                        notes: job.notes(),
                    };
                }
            }
            Err(err) if is_gone(&err) => {
                return End::Vanished(format!(
                    "Tableau no longer knows job {job_id} ({err}); completed jobs are purged quickly, \
                     so it most likely finished, but its result was not seen"
                ));
            }
            // A definite refusal (a scope the connected app is not granted, sign-in refused):
            // asking again cannot change the answer.
            Err(err @ TableauError::Refused(_)) => {
                return End::Failed(format!("stopped waiting: {err}"));
            }
            Err(err) => {
                failures += 1;
                if failures >= MAX_POLL_FAILURES {
                    return End::Failed(format!(
                        "stopped waiting after {failures} failed status checks: {err}"
                    ));
                }
            }
        }
    }
}

async fn get(session: &Session<'_>, job_id: &str) -> Result<Job, TableauError> {
    let response = session
        .call(Method::GET, &["jobs", job_id], &[], None, Retry::Safe)
        .await?;
    Ok(response.json::<JobEnvelope>("job answer")?.job)
}

/// `PUT /jobs/{id}` cancels a job.
pub async fn cancel(session: &Session<'_>, job_id: &str) -> Result<(), TableauError> {
    session
        .call(Method::PUT, &["jobs", job_id], &[], None, Retry::Safe)
        .await
        .map(|_| ())
}

fn is_gone(err: &TableauError) -> bool {
    err.api()
        .is_some_and(|api| api.status == 404 || api.has_code(code::JOB_QUERY_PROBLEM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_with_a_floor_and_a_cap() {
        assert_eq!(poll_interval(Duration::ZERO), MIN_POLL);
        assert_eq!(
            poll_interval(Duration::from_secs(8)),
            Duration::from_secs(2)
        );
        assert_eq!(poll_interval(Duration::from_secs(3_600)), MAX_POLL);
    }

    #[test]
    fn an_hour_of_waiting_stays_within_the_status_call_budget() {
        let mut waited = Duration::ZERO;
        let mut calls = 0;
        while waited < Duration::from_secs(3_600) {
            waited += poll_interval(waited);
            calls += 1;
        }
        assert!(calls <= 250, "{calls} calls in an hour");
        // ...and a 10 s job is seen within 3 s of finishing.
        let mut waited = Duration::ZERO;
        while waited < Duration::from_secs(10) {
            waited += poll_interval(waited);
        }
        assert!(waited <= Duration::from_secs(13), "{waited:?}");
    }

    #[test]
    fn bodies() {
        assert_eq!(refresh_body(false), "{}");
        assert_eq!(
            refresh_body(true),
            r#"{"extractRefresh":{"incremental":true}}"#
        );
    }
}
