//! Why cer has no usable token: each case ends with exit 4 and the advice to log in.

/// A login is needed before cer can talk to GoTo.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Nothing stored, and no `CER_TOKEN`.
    #[error("not logged in")]
    NotLoggedIn,

    /// GoTo refused the stored refresh token (`invalid_grant`): expired or revoked.
    #[error("GoTo refused the stored refresh token{}", detail(.0))]
    RefreshRejected(String),

    /// GoTo refused the access token given in `CER_TOKEN`, which cer uses as is.
    #[error("GoTo refused the access token in CER_TOKEN (401 Unauthorized)")]
    TokenRefused,
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}
