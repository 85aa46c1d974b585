//! `POST /`: a verified webhook takes a slot, is filtered (event type, age), deduplicated by its dbt
//! event id, and dispatched. A 202 means GitHub accepted a dispatch of this event (now or earlier);
//! anything that could lose a verified event is a 5xx, so that dbt Cloud retries. Every wait ends
//! at one deadline, the dispatch budget counted from the request's arrival, and nothing cuts the
//! handler short once GitHub accepted: such a dispatch is always answered 202.

use std::sync::Arc;

use axum::extract::State;
use tokio::time::Instant;

use super::answer::Answer;
use super::dedupe::Claim;
use super::payload::{self, DispatchRequest, PayloadError};
use super::webhook::VerifiedWebhook;
use super::{RelayState, Shared};
use crate::dbt::decision::{freshness, printable};

pub(crate) async fn webhook(State(state): State<RelayState>, hook: VerifiedWebhook) -> Answer {
    let shared = Arc::clone(&state.0);
    let deadline = hook.arrival + shared.config.dispatch_budget;
    let event_id = hook.event.event_id.as_deref().map(printable);
    // A slot only now that the signature checked out: unsigned clients never hold one.
    let answer = match tokio::time::timeout_at(deadline, shared.slots.acquire()).await {
        Ok(Ok(_slot)) => decide(Arc::clone(&shared), &hook, deadline).await,
        // The semaphore is never closed; both mean no slot came free in time.
        Ok(Err(_)) | Err(_) => {
            Answer::busy("the relay is handling too many webhooks; dbt Cloud will retry".into())
        }
    };
    answer.with_event_id(event_id)
}

async fn decide(shared: Arc<Shared>, hook: &VerifiedWebhook, deadline: Instant) -> Answer {
    let event = &hook.event;
    if !shared.config.event_types.contains(&event.event_type) {
        return Answer::ignored(format!(
            "the event is `{}`; this relay forwards only {} (RELAY_EVENT_TYPES)",
            printable(&event.event_type),
            shared.config.event_types.join(", ")
        ));
    }
    if let Some(reason) = freshness(event, shared.config.max_event_age, chrono::Utc::now()) {
        return Answer::ignored(reason);
    }
    let request = match payload::build(&hook.body, &hook.signature, event) {
        Ok(request) => request,
        Err(err @ PayloadError::TooLarge(_)) => return Answer::too_large(err.to_string()),
        Err(err) => return Answer::invalid(err.to_string()),
    };
    let dispatched_as = request.event_type.clone();
    let Some(id) = event.event_id.as_deref() else {
        // Nothing to recognise a retry by: every delivery is dispatched.
        return match dispatch(&shared, request, deadline, None).await {
            Ok(()) => Answer::dispatched(dispatched_as),
            Err(answer) => answer,
        };
    };
    loop {
        match shared.dedupe.claim(id) {
            Claim::Duplicate => return Answer::duplicate(dispatched_as),
            Claim::First(ticket) => {
                return match dispatch(&shared, request, deadline, Some(ticket)).await {
                    Ok(()) => Answer::dispatched(dispatched_as),
                    Err(answer) => answer,
                };
            }
            Claim::Pending(pending) => {
                match tokio::time::timeout_at(deadline, pending.accepted()).await {
                    Ok(true) => return Answer::duplicate(dispatched_as),
                    // The other delivery failed: try this one.
                    Ok(false) => continue,
                    Err(_) => {
                        return Answer::not_dispatched(
                            "another delivery of this event is still being dispatched; retry later"
                                .into(),
                        );
                    }
                }
            }
        }
    }
}

/// Dispatches in a task of its own, so that a client hanging up cannot cancel a dispatch half-way
/// and lose the record that GitHub accepted it.
async fn dispatch(
    shared: &Arc<Shared>,
    request: DispatchRequest,
    deadline: Instant,
    ticket: Option<super::dedupe::Ticket>,
) -> Result<(), Answer> {
    let task_shared = Arc::clone(shared);
    let task = tokio::spawn(async move {
        let result = task_shared.dispatcher.dispatch(&request, deadline).await;
        if result.is_ok()
            && let Some(ticket) = ticket
        {
            ticket.dispatched();
        }
        result
    });
    let repo = &shared.config.repository;
    match task.await {
        Ok(Ok(attempts)) => {
            if attempts > 1 {
                tracing::info!(attempts, "dispatch accepted after retries");
            }
            Ok(())
        }
        Ok(Err(super::dispatch::DispatchError::Refused { status, fix })) => {
            tracing::error!(github_status = status, "dispatch to {repo} refused: {fix}");
            Err(Answer::not_dispatched(format!(
                "GitHub refused the dispatch ({status}); the relay's log says what to fix"
            )))
        }
        Ok(Err(super::dispatch::DispatchError::OutOfBudget { attempts, last })) => {
            tracing::error!(attempts, "dispatch to {repo} not accepted in time: {last}");
            Err(Answer::not_dispatched(format!(
                "GitHub did not accept the dispatch in time ({last}); dbt Cloud will retry"
            )))
        }
        Err(join_error) => {
            tracing::error!(panic = join_error.is_panic(), "the dispatch task failed");
            Err(Answer::not_dispatched(
                "the dispatch failed unexpectedly".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt as _;

    use crate::relay::app;
    use crate::relay::server::Arrival;
    use crate::relay::tests::{KEY, state};
    use crate::secret::Secret;

    /// The unit-test relay has a 1 s dispatch budget and a GitHub that refuses connections. A
    /// request that arrived 2 s ago has no budget left: the dispatch is cut at once ("did not
    /// answer within the time budget"). Counted from the start of the handler instead, the budget
    /// would still be whole, and the relay would retry the refused connection for a second.
    #[tokio::test]
    async fn the_dispatch_deadline_counts_from_the_requests_arrival() {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.9fZ");
        let body = format!(
            r#"{{"eventId":"wev_arrival","eventType":"job.run.completed","timestamp":"{now}","data":{{"jobId":"1","runId":"2","runStatus":"Success","runStatusCode":10}}}}"#
        );
        let signature = crate::dbt::signature::sign(&Secret::new(KEY), body.as_bytes());
        let arrived = tokio::time::Instant::now() - Duration::from_secs(2);
        let request = Request::post("/")
            .header(header::AUTHORIZATION, signature)
            .extension(Arrival(arrived))
            .body(Body::from(body))
            .expect("request");
        let response = app(state().await)
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let answer: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON answer");
        let reason = answer["reason"].as_str().expect("reason");
        assert!(
            reason.contains("did not answer within the time budget"),
            "{reason}"
        );
    }
}
