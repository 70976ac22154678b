//! Waiting for a shutdown request, shared by the outer loop and each session's loop.

use tokio::sync::watch;

/// Resolves once shutdown is requested (or nobody can request it any more).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            // The sender is gone: nobody can stop us, so never resolve.
            std::future::pending::<()>().await;
        }
    }
}
