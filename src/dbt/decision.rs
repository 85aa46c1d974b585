//! Whether a verified dbt event should lead to refreshes: event type, run status, dbt job, age.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::{RUN_COMPLETED, WebhookEvent};

/// How far in the future an event time may lie before we call the sender's clock wrong.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What the user configured about which events to act on.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Events older than this are not acted on; `None` = no limit.
    pub max_age: Option<Duration>,
    /// Only runs of these dbt jobs; empty = every job.
    pub job_ids: Vec<String>,
}

/// The verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Refresh,
    /// Valid, but not acted on; the reason is shown to people.
    Skip(String),
}

/// Decides whether `event` (already verified) should trigger refreshes at time `now`.
pub fn decide(event: &WebhookEvent, policy: &Policy, now: DateTime<Utc>) -> Decision {
    if event.event_type != RUN_COMPLETED {
        return Decision::Skip(format!(
            "the event is `{}`; only `{RUN_COMPLETED}` triggers refreshes",
            printable(&event.event_type)
        ));
    }
    if !event.run_succeeded() {
        return Decision::Skip(format!(
            "the dbt run did not succeed (status {}), so the data was not refreshed",
            printable(&event.status_label())
        ));
    }
    if !policy.job_ids.is_empty() {
        let job = event.data.job_id.as_deref().unwrap_or_default();
        if !policy.job_ids.iter().any(|id| id == job) {
            return Decision::Skip(format!(
                "dbt job {} is not one of the selected jobs ({})",
                printable(if job.is_empty() { "(none)" } else { job }),
                policy.job_ids.join(", ")
            ));
        }
    }
    if let Some(reason) = freshness(event, policy.max_age, now) {
        return Decision::Skip(reason);
    }
    Decision::Refresh
}

/// Some(reason) when the event is too old or dated in the future.
pub fn freshness(
    event: &WebhookEvent,
    max_age: Option<Duration>,
    now: DateTime<Utc>,
) -> Option<String> {
    let max_age = max_age.filter(|age| !age.is_zero())?;
    let Some(at) = event.occurred_at() else {
        return Some("the event carries no timestamp, so its age cannot be checked".into());
    };
    let age = now.signed_duration_since(at);
    if let Ok(ahead) = (-age).to_std()
        && ahead > CLOCK_SKEW
    {
        return Some(format!(
            "the event is dated {} in the future ({at}); check the clocks",
            crate::duration::format_short(ahead)
        ));
    }
    match age.to_std() {
        Ok(age) if age > max_age => Some(format!(
            "the event is {} old, older than the limit of {} ({})",
            crate::duration::format_short(age),
            crate::duration::format_short(max_age),
            crate::inputs::Naming::from_env().of(&crate::inputs::MAX_EVENT_AGE)
        )),
        _ => None,
    }
}

/// Untrusted text shortened and stripped of control characters before it reaches a message.
pub fn printable(text: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str) -> WebhookEvent {
        WebhookEvent::parse(body.as_bytes()).expect("test body parses")
    }

    fn completed(at: &str) -> WebhookEvent {
        event(&format!(
            r#"{{"eventType":"job.run.completed","timestamp":"{at}",
                "data":{{"jobId":"42","runStatus":"Success","runStatusCode":10}}}}"#
        ))
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn day() -> Policy {
        Policy {
            max_age: Some(Duration::from_secs(86_400)),
            job_ids: vec![],
        }
    }

    #[test]
    fn a_fresh_successful_completed_run_is_refreshed() {
        let decision = decide(&completed("2026-11-26T11:00:00Z"), &day(), now());
        assert_eq!(decision, Decision::Refresh);
    }

    #[test]
    fn other_events_and_failed_runs_are_skipped_with_reasons() {
        let started = event(r#"{"eventType":"job.run.started","data":{"runStatusCode":3}}"#);
        let Decision::Skip(reason) = decide(&started, &Policy::default(), now()) else {
            panic!("started must be skipped")
        };
        assert!(reason.contains("job.run.started"), "{reason}");

        let failed = event(
            r#"{"eventType":"job.run.completed","data":{"runStatus":"Errored","runStatusCode":20}}"#,
        );
        let Decision::Skip(reason) = decide(&failed, &Policy::default(), now()) else {
            panic!("failed run must be skipped")
        };
        assert!(reason.contains("Errored (20)"), "{reason}");
    }

    #[test]
    fn job_selection() {
        let policy = Policy {
            job_ids: vec!["7".into(), "42".into()],
            ..day()
        };
        assert_eq!(
            decide(&completed("2026-11-26T11:00:00Z"), &policy, now()),
            Decision::Refresh
        );
        let policy = Policy {
            job_ids: vec!["7".into()],
            ..day()
        };
        let decision = decide(&completed("2026-11-26T11:00:00Z"), &policy, now());
        assert!(matches!(decision, Decision::Skip(r) if r.contains("dbt job 42")));
    }

    #[test]
    fn age_limits() {
        let old = completed("2026-11-24T11:00:00Z");
        assert!(
            matches!(decide(&old, &day(), now()), Decision::Skip(r) if r.contains("older than"))
        );
        let no_limit = Policy {
            max_age: Some(Duration::ZERO),
            ..day()
        };
        assert_eq!(decide(&old, &no_limit, now()), Decision::Refresh);
        let future = completed("2026-11-26T13:00:00Z");
        assert!(
            matches!(decide(&future, &day(), now()), Decision::Skip(r) if r.contains("future"))
        );
        let undated = event(r#"{"eventType":"job.run.completed","data":{"runStatusCode":10}}"#);
        assert!(
            matches!(decide(&undated, &day(), now()), Decision::Skip(r) if r.contains("no timestamp"))
        );
    }

    #[test]
    fn printable_strips_control_characters_and_shortens() {
        assert_eq!(printable("a\nb\u{1b}[31m"), "ab[31m");
        assert_eq!(printable(&"x".repeat(100)).chars().count(), 81);
    }
}
