//! `POST /`: a verified webhook is filtered (event type, age), deduplicated by its dbt event id, and
//! dispatched. A 2xx means GitHub accepted a dispatch of this event (now or earlier); anything that
//! could lose a verified event is a 502, so that dbt Cloud retries.

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
    let deadline = Instant::now() + shared.config.dispatch_budget;
    let event = &hook.event;
    let event_id = event.event_id.as_deref().map(printable);
    let answer = decide(shared, &hook, deadline).await;
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

/// Dispatches in a task of its own, so that a client hanging up (or the request timeout) cannot
/// cancel a dispatch half-way and lose the record that GitHub accepted it.
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
