//! Refresh jobs: "Update Workbook/Data Source Now" (body rules, 409090 without extracts, 409093 while a
//! job is pending), Query Job (progress, then completedAt + finishCode + notes) and Cancel Job.

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::content::{Catalog, ContentKind, timestamp};
use super::reply::Reply;
use super::state::{Job, JobPhase, Session, State, random_luid};

/// The `extractRefresh` request element exists from REST API 3.25 (reference §5).
const EXTRACT_REFRESH_BODY_SINCE: (u32, u32) = (3, 25);

/// `POST /sites/{site}/{workbooks|datasources}/{id}/refresh`.
pub(super) fn refresh(
    catalog: &Catalog,
    state: &mut State,
    session: &Session,
    kind: ContentKind,
    id: &str,
    body: Option<&Value>,
    version: (u32, u32),
) -> Reply {
    if !refresh_body_accepted(body, version) {
        return Reply::bad_payload();
    }
    let Some(entry) = catalog.find(kind, &session.site, id) else {
        return kind.not_found();
    };
    let item = &entry.item;
    if !item.has_extracts {
        // Yes: HTTP 409 with the summary "Bad Request" (TSC issue #1531).
        return Reply::error(
            StatusCode::CONFLICT,
            "409090",
            "Bad Request",
            &format!(
                "Extract operation for the {} '{}' is not allowed.",
                kind.label(),
                item.name
            ),
        );
    }
    let now = Instant::now();
    let pending = state.jobs.values().any(|job| {
        job.kind == kind
            && job.site == session.site
            && job.item_id == item.id
            && job.is_running(now)
    });
    if pending {
        // The error does not say which job is pending; clients cannot learn its id (TSC #1090).
        return Reply::canned("409093");
    }
    let job = Job {
        id: random_luid(),
        site: session.site.clone(),
        kind,
        item_id: item.id.clone(),
        item_name: item.name.clone(),
        behaviour: item.job.clone(),
        started: now,
        created_at: Utc::now(),
        cancelled_at: None,
    };
    let answer = json!({"job": {
        "id": job.id,
        "mode": "Asynchronous",
        "type": "RefreshExtract",
        "createdAt": timestamp(job.created_at),
        "extractRefreshJob": item_ref(&job),
    }});
    state.jobs.insert(job.id.clone(), job);
    Reply::document(StatusCode::ACCEPTED, &answer)
}

/// Empty, `{}` (`<tsRequest/>`), or from 3.25 on `{"extractRefresh":{}}` with an optional `incremental`
/// flag. Anything else is refused, as the server refused TSC 0.35's data source refresh body (TSC
/// #1553). XML bodies arrive here already mapped onto the JSON shape.
fn refresh_body_accepted(body: Option<&Value>, version: (u32, u32)) -> bool {
    let Some(body) = body else {
        return true;
    };
    let Value::Object(top) = body else {
        return false;
    };
    if top.is_empty() {
        return true;
    }
    if version < EXTRACT_REFRESH_BODY_SINCE || top.len() != 1 {
        return false;
    }
    let Some(Value::Object(refresh)) = top.get("extractRefresh") else {
        return false;
    };
    // JSON maps onto XML attributes, so the flag may arrive as a boolean or as its string form.
    refresh.iter().all(|(key, value)| {
        let flag = matches!(value, Value::Bool(_))
            || value.as_str().is_some_and(|s| s == "true" || s == "false");
        key == "incremental" && flag
    })
}

/// `GET /sites/{site}/jobs/{id}`.
pub(super) fn query(state: &State, session: &Session, id: &str) -> Reply {
    match find(state, session, id) {
        Some(job) => Reply::document(
            StatusCode::OK,
            &json!({"job": job_json(job, Instant::now())}),
        ),
        None => Reply::canned("404031"),
    }
}

/// `PUT /sites/{site}/jobs/{id}`: a running job ends now with finishCode 2.
pub(super) fn cancel(state: &mut State, session: &Session, id: &str) -> Reply {
    let now = Instant::now();
    let Some(job) = state
        .jobs
        .get_mut(id)
        .filter(|job| job.site == session.site)
    else {
        return Reply::canned("404031");
    };
    if !job.is_running(now) {
        return Reply::error(
            StatusCode::CONFLICT,
            "409000",
            "Conflict",
            &format!("Job '{id}' has already completed and cannot be cancelled."),
        );
    }
    job.cancelled_at = Some(Utc::now());
    let answer = json!({"job": job_json(job, now)});
    state.stats.cancels.push(id.to_owned());
    Reply::document(StatusCode::OK, &answer)
}

/// Jobs are visible only from a session on their own site.
fn find<'a>(state: &'a State, session: &Session, id: &str) -> Option<&'a Job> {
    state.jobs.get(id).filter(|job| job.site == session.site)
}

fn item_ref(job: &Job) -> Value {
    json!({ job.kind.singular(): {"id": job.item_id, "name": job.item_name} })
}

/// The job as Query Job shows it at `now`: no completedAt/finishCode while it runs.
fn job_json(job: &Job, now: Instant) -> Value {
    let mut extract_job = item_ref(job);
    let mut answer = json!({
        "id": job.id,
        "mode": "Asynchronous",
        "type": "RefreshExtract",
        "createdAt": timestamp(job.created_at),
        "startedAt": timestamp(job.created_at),
    });
    match job.phase(now) {
        JobPhase::Running(percent) => {
            answer["progress"] = json!(percent.to_string());
        }
        JobPhase::Done {
            finish_code,
            completed_at,
        } => {
            answer["progress"] = json!("100");
            answer["completedAt"] = json!(timestamp(completed_at));
            answer["updatedAt"] = json!(timestamp(completed_at));
            answer["finishCode"] = json!(finish_code.to_string());
            let notes = job.behaviour.notes.as_deref().filter(|_| finish_code != 2);
            if let Some(notes) = notes {
                extract_job["notes"] = json!(notes);
            }
            if finish_code == 1 {
                answer["statusNotes"] = json!({"statusNote": [{
                    "type": "errorCode",
                    "value": "TableauException",
                    "text": notes.unwrap_or("The extract refresh failed."),
                }]});
            }
        }
    }
    answer["extractRefreshJob"] = extract_job;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_bodies_follow_the_version_rules() {
        let old = (3, 24);
        let new = (3, 25);
        let accepted = |body: Value, version| refresh_body_accepted(Some(&body), version);
        assert!(refresh_body_accepted(None, old));
        assert!(accepted(json!({}), old));
        assert!(!accepted(json!({"extractRefresh": {}}), old));
        assert!(accepted(json!({"extractRefresh": {}}), new));
        assert!(accepted(
            json!({"extractRefresh": {"incremental": true}}),
            new
        ));
        assert!(accepted(
            json!({"extractRefresh": {"incremental": "true"}}),
            new
        ));
        assert!(!accepted(
            json!({"extractRefresh": {"incremental": 1}}),
            new
        ));
        assert!(!accepted(json!({"extractRefresh": {"full": "true"}}), new));
        assert!(!accepted(
            json!({"workbook": {"id": "x", "incremental": true}}),
            new
        ));
        assert!(!accepted(json!([]), new));
    }
}
