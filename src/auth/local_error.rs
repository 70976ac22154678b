//! Why a token could not be had for a reason on cer's side rather than GoTo's: the credential
//! store failed, or the OAuth client cannot be used. They travel inside
//! [`ApiError::Local`](crate::net::ApiError::Local) when an API call needed the token.

use std::path::PathBuf;
use std::time::Duration;

use super::store::TokenStoreError;
use crate::net::ApiError;

/// The stored credentials cannot be read, written or locked: exit 1, and `listen` stops (a
/// retry finds the same store).
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The keyring or the credentials file failed.
    #[error("cannot use the stored credentials: {0}")]
    Store(TokenStoreError),

    /// Another cer held the credentials lock file for longer than a refresh takes.
    #[error(
        "cannot use the stored credentials: another cer has held {} for over {} s (stuck or suspended?); stop \
            it, or delete the lock file if no cer runs",
        .path.display(),
        .waited.as_secs()
    )]
    LockHeld {
        /// The lock file.
        path: PathBuf,
        /// How long this cer waited for it.
        waited: Duration,
    },
}

/// The OAuth client cannot be used as configured: exit 2, with the hint to set
/// `OAUTH_CLIENT_ID` and `OAUTH_CLIENT_SECRET`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthClientError {
    /// The stored access token needs a refresh and there is no OAuth client to do it; the
    /// text says why there is none (for example `OAUTH_CLIENT_SECRET not set`).
    #[error("{0}, and the stored access token needs a refresh")]
    NeededForRefresh(String),

    /// The id or secret cannot go into an HTTP Basic `Authorization` header.
    #[error("OAUTH_CLIENT_ID or OAUTH_CLIENT_SECRET has characters a header cannot carry")]
    NotAHeader,
}

impl From<CredentialsError> for ApiError {
    fn from(err: CredentialsError) -> Self {
        Self::local(err)
    }
}

impl From<OAuthClientError> for ApiError {
    fn from(err: OAuthClientError) -> Self {
        Self::local(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The messages are the ones `ApiError::Credentials` and `ApiError::Configuration` carried
    // before these types existed; scripts may match them.
    #[test]
    fn messages_stay_as_they_were() {
        let store = CredentialsError::Store(TokenStoreError("OS keyring: locked".into()));
        assert_eq!(
            store.to_string(),
            "cannot use the stored credentials: OS keyring: locked"
        );
        let lock = CredentialsError::LockHeld {
            path: PathBuf::from("/c/credentials.lock"),
            waited: Duration::from_secs(10),
        };
        assert_eq!(
            lock.to_string(),
            "cannot use the stored credentials: another cer has held /c/credentials.lock for over 10 s (stuck \
                or suspended?); stop it, or delete the lock file if no cer runs"
        );
        let missing = OAuthClientError::NeededForRefresh("OAUTH_CLIENT_ID not set".into());
        assert_eq!(
            missing.to_string(),
            "OAUTH_CLIENT_ID not set, and the stored access token needs a refresh"
        );
    }
}
