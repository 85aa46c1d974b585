//! The start-up check: before serving, the relay reads the repository (`GET /repos/{owner}/{repo}`)
//! with the credential its dispatches will use, so that a wrong token, App or repository name fails
//! the deployment at once instead of the first dbt webhook (whose "Test endpoint" would only see a
//! 502). A definite refusal stops the relay; GitHub being unreachable or overloaded does not (the
//! relay serves, and each dispatch retries within its budget).

use std::time::Duration;

use super::RelayState;
use super::dispatch::Failure;

/// The whole check, including an App's installation lookup and token. The GitHub client's own
/// connect (3 s) and read (6 s) timeouts bound each call; this bounds them together.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartCheck {
    /// GitHub answered 2xx: the credential works and can see the repository.
    Ready,
    /// GitHub refused (401, 403, 404, or an App key that cannot sign): what to fix.
    Refused(String),
    /// No definite answer (5xx, a rate limit, a timeout, no connection): why.
    Unsure(String),
}

/// Runs the check and logs its outcome: info when ready, a warning when unsure. A refusal is left
/// to the caller, which prints it and exits 1. Nothing logged holds a credential: the messages are
/// built from the step, the status, GitHub's short error message and the repository name.
pub(crate) async fn check(state: &RelayState) -> StartCheck {
    let repository = state.config().repository.to_string();
    let outcome =
        match tokio::time::timeout(CHECK_TIMEOUT, state.0.dispatcher.check_repository()).await {
            Ok(Ok(())) => StartCheck::Ready,
            Ok(Err(Failure::Refused { fix, .. })) => StartCheck::Refused(fix),
            Ok(Err(Failure::Retry { why, .. })) => StartCheck::Unsure(why),
            Err(_) => StartCheck::Unsure(format!(
                "GitHub did not answer within {}s",
                CHECK_TIMEOUT.as_secs()
            )),
        };
    match &outcome {
        StartCheck::Ready => {
            tracing::info!(%repository, "GitHub accepts the credentials for the repository");
        }
        StartCheck::Unsure(why) => tracing::warn!(
            %repository,
            "cannot check the GitHub credentials now ({why}); serving anyway, and each dispatch \
             will retry"
        ),
        StartCheck::Refused(_) => {}
    }
    outcome
}
