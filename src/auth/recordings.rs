//! Whether the current login may archive recordings (SPEC section 13 "Login"): the Recording
//! API needs scopes that cer's default login does not ask for, and `--archive` must say so
//! before anything starts rather than fail on every download.

use super::local_error::CredentialsError;
use super::oauth::RECORDING_SCOPES;
use super::tokens::Tokens;

/// What the current credentials allow with GoTo's Recording API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingAccess {
    /// `recording.v1.read`: recordings and transcripts can be downloaded.
    pub read: bool,
    /// `recording.v1.notifications.manage`: recording notifications can be subscribed to.
    pub notifications: bool,
}

impl RecordingAccess {
    /// From the scopes GoTo granted (space-separated). Scopes GoTo did not report are
    /// unknown: assumed granted, and GoTo's 403 says otherwise.
    pub fn of_scope(scope: Option<&str>) -> Self {
        let Some(scope) = scope else {
            return Self::ASSUMED;
        };
        let has = |wanted: &str| scope.split_whitespace().any(|s| s == wanted);
        Self {
            read: has(RECORDING_SCOPES[0]),
            notifications: has(RECORDING_SCOPES[1]),
        }
    }

    /// Both, for a token whose scopes cer cannot see.
    const ASSUMED: Self = Self {
        read: true,
        notifications: true,
    };

    /// Neither: not logged in (`cer login --recordings` is what is needed).
    const NONE: Self = Self {
        read: false,
        notifications: false,
    };
}

/// Whether the current credentials can read recordings and receive recording notifications:
/// from the scopes of the stored login; a `CER_TOKEN` (scopes unknown) is assumed to allow
/// both, and no login allows neither. `--archive` with `read` false is exit 4 naming
/// `cer login --recordings`; with only `notifications` false, archiving works from the
/// reports alone.
pub async fn recording_access(tokens: &Tokens) -> Result<RecordingAccess, CredentialsError> {
    if tokens.is_fixed() {
        return Ok(RecordingAccess::ASSUMED);
    }
    Ok(match tokens.stored_credentials().await? {
        Some((_, credentials)) => RecordingAccess::of_scope(credentials.scope.as_deref()),
        None => RecordingAccess::NONE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn reads_the_recording_scopes_from_what_goto_granted() {
        let access = |scope| RecordingAccess::of_scope(scope);
        let default = access(Some("cr.v1.read call-events.v1.notifications.manage"));
        assert_eq!(default, RecordingAccess::NONE);
        let all = "cr.v1.read call-events.v1.notifications.manage recording.v1.read \
                   recording.v1.notifications.manage";
        assert_eq!(access(Some(all)), RecordingAccess::ASSUMED);
        let read_only = access(Some("cr.v1.read recording.v1.read"));
        assert!(read_only.read && !read_only.notifications);
        // A prefix of a scope's name is not the scope.
        assert!(!access(Some("recording.v1.read.x")).read);
        assert_eq!(access(None), RecordingAccess::ASSUMED);
    }

    #[tokio::test]
    async fn a_cer_token_is_assumed_to_allow_both() {
        let tokens = Tokens::fixed(Secret::new("from-cer-token"));
        let access = recording_access(&tokens).await.unwrap();
        assert_eq!(access, RecordingAccess::ASSUMED);
    }
}
