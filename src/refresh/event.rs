//! The first steps of a run: check the signature over the exact body, parse the dbt event, and
//! collect what the summary says about it.

use super::config::Config;
use super::report::{EventFacts, Phase, Report};
use crate::actions::Console;
use crate::dbt::WebhookEvent;
use crate::dbt::decision::printable;
use crate::dbt::signature;

/// Checks the signature over the exact body and parses the event.
pub(super) fn verified_event(
    config: &Config,
    console: Console,
    report: &mut Report,
) -> Option<WebhookEvent> {
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
            let hint = (err == signature::SignatureError::Mismatch)
                .then(|| {
                    signature::diagnose(
                        &config.keys,
                        body.as_bytes(),
                        config.event.signature.as_deref(),
                    )
                })
                .flatten()
                .map(|hint| format!(". Hint: {}", hint.message("the body")))
                .unwrap_or_default();
            report.fail(
                Phase::Signature,
                format!(
                    "{err}; the body in {source} is not trusted, so Tableau was not contacted{hint}"
                ),
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

pub(super) fn event_facts(event: &WebhookEvent, config: &Config) -> EventFacts {
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
        occurred_at: event.occurred_at().map(summary_time),
        run_url,
    }
}

/// How the summary words when the event happened: UTC to the second. dbt's timestamps carry
/// nanoseconds, which nobody reading a job summary needs.
fn summary_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_time_is_utc_to_the_second() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T00:05:44.430018597+01:00")
            .expect("a valid RFC 3339 time")
            .with_timezone(&chrono::Utc);
        assert_eq!(summary_time(at), "2026-12-01 23:05:44 UTC");
    }
}
