//! Why the store could not be reached, in words a person can act on. The pool retries a
//! refused connection until its timeout and then only says it timed out, so one direct
//! attempt after that finds the real cause ("connection refused", a bad password, …).

use std::time::Duration;

use sqlx::{AnyConnection, Connection};

use super::StoreLocation;

/// How long the direct attempt may take; the pool has already waited its own timeout.
const ATTEMPT: Duration = Duration::from_secs(3);

/// What failed, for a person, without the connection string (secrets are hidden by the caller).
pub(super) async fn why_not(location: &StoreLocation, err: &sqlx::Error) -> String {
    if !matches!(err, sqlx::Error::PoolTimedOut) {
        return describe(err);
    }
    let attempt = AnyConnection::connect(&location.connect_url());
    match tokio::time::timeout(ATTEMPT, attempt).await {
        Ok(Err(err)) => describe(&err),
        Ok(Ok(connection)) => {
            // It answers now: it was starting up, or is overloaded.
            let _ = connection.close().await;
            "timed out connecting (it answers now; try again)".to_string()
        }
        Err(_) => "timed out connecting".to_string(),
    }
}

/// sqlx's error, without the connection string it may carry.
pub(super) fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the server running and listening there?)".to_string()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out connecting".to_string(),
        other => other.to_string(),
    }
}
