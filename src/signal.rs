//! Waiting for the signals that ask us to stop: Ctrl-C (SIGINT) and SIGTERM, which is how GitHub
//! cancels a step and how container platforms stop a service.

/// Resolves on Ctrl-C or SIGTERM and names the signal for messages.
pub async fn shutdown() -> &'static str {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => "an interrupt (SIGINT)",
        () = terminate => "a termination request (SIGTERM)",
    }
}
