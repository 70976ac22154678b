//! The one place that turns an error into the contract's exit code and a short message with a
//! hint, so every command fails the same way.

use crate::auth::redirect::LoginError;
use crate::auth::{CredentialsError, OAuthClientError};
use crate::exit_status::ExitStatus;
use crate::listen::first_connection::FirstConnectionFailed;
use crate::listen::{ListenError, NeedsStart};
use crate::net::ApiError;
use crate::net::AuthError;
use crate::output::Output;

/// A usage or configuration error, found before any network call: exit 2.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    message: String,
    hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the line that tells the user what to do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// `--archive` with a token that lacks `recording.v1.read` (found before anything starts, or
/// told by GoTo's 403): exit 4. It says which.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NeedsRecordingScope(pub String);

/// How an error ends the process.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: ExitStatus,
    /// False for a closed pipe: cer then leaves quietly.
    pub print: bool,
    pub hint: Option<String>,
}

impl Verdict {
    fn silent(status: ExitStatus) -> Self {
        Self {
            status,
            print: false,
            hint: None,
        }
    }

    fn printed(status: ExitStatus, hint: Option<&str>) -> Self {
        Self {
            status,
            print: true,
            hint: hint.map(str::to_string),
        }
    }
}

/// Decides the exit code and hint of an error by looking through its whole chain.
pub fn verdict(err: &anyhow::Error) -> Verdict {
    // A context, which `chain()` does not show as its own type.
    if let Some(first) = err.downcast_ref::<FirstConnectionFailed>() {
        return Verdict::printed(ExitStatus::Failure, Some(first.hint));
    }
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return Verdict::silent(ExitStatus::Success);
        }
        if let Some(usage) = cause.downcast_ref::<UsageError>() {
            return Verdict::printed(ExitStatus::Usage, usage.hint.as_deref());
        }
        if cause.is::<NeedsRecordingScope>() {
            return Verdict::printed(ExitStatus::Auth, Some(RECORDINGS_HINT));
        }
        if let Some(auth) = cause.downcast_ref::<AuthError>() {
            return Verdict::printed(ExitStatus::Auth, Some(auth_hint(auth)));
        }
        if let Some(api) = cause.downcast_ref::<ApiError>() {
            return api_verdict(api);
        }
        if let Some(listen) = cause.downcast_ref::<ListenError>() {
            return listen_verdict(listen);
        }
        if let Some(verdict) = local_verdict(cause) {
            return verdict;
        }
        if let Some(login) = cause.downcast_ref::<LoginError>() {
            return Verdict::printed(ExitStatus::Failure, login_hint(login));
        }
    }
    Verdict::printed(ExitStatus::Failure, None)
}

/// For an OAuth client that is missing or cannot be used.
pub(crate) const OAUTH_CLIENT_HINT: &str = "set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (your OAuth client at \
    developer.goto.com) in the environment or in ./.env";

const RECORDINGS_HINT: &str = "run `cer login --recordings` to log in with the recording scopes \
                               (the OAuth client must have recording.v1.read)";

const NEEDS_START_HINT: &str =
    "run `cer listen --since DURATION` (e.g. --since 2h) to backfill from that long ago";

fn api_verdict(err: &ApiError) -> Verdict {
    let (status, hint) = match err {
        ApiError::Local(cause) => {
            let cause: &(dyn std::error::Error + 'static) = cause.as_ref();
            return local_verdict(cause)
                .unwrap_or_else(|| Verdict::printed(ExitStatus::Failure, None));
        }
        ApiError::Auth(auth) => (ExitStatus::Auth, Some(auth_hint(auth))),
        ApiError::Unauthorized { .. } => {
            (ExitStatus::Auth, Some("run `cer login` to log in again"))
        }
        ApiError::NotFound { .. } => (ExitStatus::NotFound, None),
        ApiError::Forbidden { .. } => (
            ExitStatus::Failure,
            Some(
                "the OAuth client needs the scopes cr.v1.read and call-events.v1.notifications.manage, and \
                    the user must be an admin of the account",
            ),
        ),
        ApiError::Transport(_) => (
            ExitStatus::Failure,
            Some("check the network, HTTPS_PROXY and CER_API_BASE"),
        ),
        ApiError::RateLimited { .. } => (ExitStatus::Failure, Some("try a lower --rate")),
        ApiError::Rejected { status: 401, .. } => (
            ExitStatus::Failure,
            Some("check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET"),
        ),
        _ => (ExitStatus::Failure, None),
    };
    Verdict::printed(status, hint)
}

fn listen_verdict(err: &ListenError) -> Verdict {
    match err {
        ListenError::Api(api) => api_verdict(api),
        ListenError::NeedsStart(_) => Verdict::printed(ExitStatus::Usage, Some(NEEDS_START_HINT)),
        ListenError::Store(_) => Verdict::printed(ExitStatus::Failure, None),
    }
}

/// Errors of cer's own side, met alone or inside [`ApiError::Local`].
fn local_verdict(cause: &(dyn std::error::Error + 'static)) -> Option<Verdict> {
    if cause.is::<CredentialsError>() {
        Some(Verdict::printed(ExitStatus::Failure, None))
    } else if cause.is::<OAuthClientError>() {
        Some(Verdict::printed(ExitStatus::Usage, Some(OAUTH_CLIENT_HINT)))
    } else if cause.is::<NeedsStart>() {
        Some(Verdict::printed(ExitStatus::Usage, Some(NEEDS_START_HINT)))
    } else {
        None
    }
}

fn auth_hint(err: &AuthError) -> &'static str {
    match err {
        AuthError::TokenRefused => {
            "CER_TOKEN is used as is and never refreshed: set a valid token in it, or unset it to use the \
                tokens of `cer login`"
        }
        AuthError::NotLoggedIn => "run `cer login` to log in (or set CER_TOKEN to an access token)",
        _ => "run `cer login` to log in again",
    }
}

fn login_hint(err: &LoginError) -> Option<&'static str> {
    match err {
        LoginError::PortBusy(_) | LoginError::Bind(..) => Some(
            "stop what uses the port, or run `cer login --no-browser` and paste the redirect address",
        ),
        LoginError::Timeout(_) => Some("run `cer login` again (--timeout SECS waits longer)"),
        LoginError::OnlyInvalid(..) => {
            Some("run `cer login` again and open the newest URL it prints")
        }
        LoginError::StateMismatch | LoginError::MissingCode | LoginError::NotARedirect(_) => {
            Some("run `cer login` again and use the newest URL it prints")
        }
        LoginError::Denied(_) => {
            Some("log in with a GoTo admin of the account and approve the access")
        }
    }
}

/// Prints the error (unless the verdict says to stay quiet) and returns the exit status.
pub fn report(err: &anyhow::Error, output: &Output) -> ExitStatus {
    let verdict = verdict(err);
    if verdict.print && output.json_logs() {
        tracing::error!(hint = verdict.hint.as_deref(), "{err:#}");
    } else if verdict.print {
        let palette = output.stderr_palette();
        // Messages quote servers and files: shown inert, whatever they contain.
        let message = crate::escape::terminal_safe(&format!("{err:#}")).into_owned();
        let mut text = format!("{} {message}\n", palette.error("error:"));
        if let Some(hint) = &verdict.hint {
            text.push_str(&format!("{} {hint}\n", palette.hint("hint:")));
        }
        output.say(text);
    }
    verdict.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn status_of(err: anyhow::Error) -> ExitStatus {
        verdict(&err).status
    }

    #[test]
    fn finds_the_cause_under_context() {
        let err = Err::<(), _>(ApiError::NotFound {
            message: String::new(),
        })
        .context("fetching report x")
        .unwrap_err();
        assert_eq!(status_of(err), ExitStatus::NotFound);
    }

    #[test]
    fn a_broken_pipe_is_a_quiet_success() {
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing output");
        assert_eq!(
            verdict(&err),
            Verdict {
                status: ExitStatus::Success,
                print: false,
                hint: None
            }
        );
    }

    #[test]
    fn auth_problems_exit_4_with_the_login_hint() {
        let verdict = verdict(&anyhow::Error::new(AuthError::NotLoggedIn));
        assert_eq!(verdict.status, ExitStatus::Auth);
        assert!(verdict.hint.unwrap().contains("cer login"));
    }

    #[test]
    fn usage_errors_exit_2_and_keep_their_hint() {
        let err = UsageError::new("bad date").with_hint("use YYYY-MM-DD");
        let verdict = verdict(&anyhow::Error::new(err));
        assert_eq!(verdict.status, ExitStatus::Usage);
        assert_eq!(verdict.hint.as_deref(), Some("use YYYY-MM-DD"));
    }

    // The variants `ApiError` lost kept their exit codes and hints as typed errors of their own.
    #[test]
    fn errors_of_cers_own_side_keep_their_codes_and_hints() {
        let lock = CredentialsError::LockHeld {
            path: "/c/credentials.lock".into(),
            waited: std::time::Duration::from_secs(10),
        };
        let verdict_of_lock = verdict(&anyhow::Error::new(ApiError::local(lock)));
        assert_eq!(verdict_of_lock, Verdict::printed(ExitStatus::Failure, None));
        let store = CredentialsError::Store(crate::auth::store::TokenStoreError("locked".into()));
        assert_eq!(status_of(anyhow::Error::new(store)), ExitStatus::Failure);
        let missing = OAuthClientError::NeededForRefresh("OAUTH_CLIENT_SECRET not set".into());
        let err = Err::<(), _>(ApiError::local(missing))
            .context("cannot get an access token")
            .unwrap_err();
        assert_eq!(
            verdict(&err),
            Verdict::printed(ExitStatus::Usage, Some(OAUTH_CLIENT_HINT))
        );
        let header = ApiError::local(OAuthClientError::NotAHeader);
        assert_eq!(status_of(anyhow::Error::new(header)), ExitStatus::Usage);
    }

    #[test]
    fn listen_errors_keep_the_codes_of_their_causes() {
        let needs = ListenError::from(NeedsStart {
            unreadable: vec!["the store".into()],
        });
        let err = anyhow::Error::new(needs).context("listening stopped");
        assert_eq!(
            verdict(&err),
            Verdict::printed(ExitStatus::Usage, Some(NEEDS_START_HINT))
        );
        let missing = ListenError::from(ApiError::NotFound {
            message: String::new(),
        });
        assert_eq!(status_of(anyhow::Error::new(missing)), ExitStatus::NotFound);
        let refused = ListenError::from(ApiError::from(AuthError::NotLoggedIn));
        assert_eq!(status_of(anyhow::Error::new(refused)), ExitStatus::Auth);
        let store = ListenError::from(crate::store::StoreError::Location("bad".into()));
        assert_eq!(status_of(anyhow::Error::new(store)), ExitStatus::Failure);
    }

    #[test]
    fn anything_else_is_a_failure() {
        assert_eq!(status_of(anyhow::anyhow!("disk full")), ExitStatus::Failure);
    }
}
