//! Why the listen engine stopped for good: GoTo or the token side failed in a way retrying
//! cannot cure, no start is known, or the store failed when the engine opened it itself.

use crate::auth::CredentialsError;
use crate::net::ApiError;
use crate::store::StoreError;

/// The end of [`Engine::run`](super::Engine::run) when it is not a requested shutdown.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// An API call failed for good (authentication, a rejected request before `Ready`, the
    /// credential store).
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The saved cursor is unreadable and `--since` was not given.
    #[error(transparent)]
    NeedsStart(#[from] NeedsStart),

    /// The store could not be opened or read; the `listen` command loads it before running,
    /// so this is only seen by callers that leave the loading to the engine.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `listen` cannot know where to resume and must be told with `--since`: exit 2, with the
/// hint to give it. Guessing "now" would silently lose the calls that ended while cer was down.
#[derive(Debug, thiserror::Error)]
#[error(
    "the listen cursor could not be read from {}, so where to backfill from is unknown",
    .unreadable.join(", ")
)]
pub struct NeedsStart {
    /// Where the unreadable cursors are (the store, a cursor file), as shown to the person.
    pub unreadable: Vec<String>,
}

/// An error that retrying cannot cure: authentication always; before the first `Ready`, also
/// a request GoTo rejects outright (a wrong account key, a missing scope), which a person must
/// fix, rather than retrying it forever.
pub fn is_fatal(err: &ApiError, ready: bool) -> bool {
    match err {
        ApiError::Auth(_) | ApiError::Unauthorized { .. } => true,
        // The credential store fails the same way next time; an OAuth client missing for a
        // refresh is not fatal: another cer may refresh the stored tokens meanwhile.
        ApiError::Local(_) => err.local_cause::<CredentialsError>().is_some(),
        ApiError::Forbidden { .. } => !ready,
        ApiError::Rejected { status, .. } => {
            !ready && (400..500).contains(status) && *status != 408
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::OAuthClientError;

    #[test]
    fn a_failing_credential_store_is_fatal_a_missing_oauth_client_is_not() {
        let lock = CredentialsError::LockHeld {
            path: "/c/credentials.lock".into(),
            waited: std::time::Duration::from_secs(10),
        };
        assert!(is_fatal(&ApiError::local(lock), true));
        let missing = OAuthClientError::NeededForRefresh("OAUTH_CLIENT_ID not set".into());
        assert!(!is_fatal(&ApiError::local(missing), true));
        assert!(is_fatal(
            &ApiError::from(crate::net::AuthError::NotLoggedIn),
            true
        ));
    }

    #[test]
    fn needs_start_names_every_unreadable_cursor() {
        let err = ListenError::from(NeedsStart {
            unreadable: vec!["the store".into(), "/s/cursor.json".into()],
        });
        assert_eq!(
            err.to_string(),
            "the listen cursor could not be read from the store, /s/cursor.json, so where to backfill from is unknown"
        );
    }
}
