//! The one place that turns an error into the contract's exit code and a short message with a
//! hint, so every command fails the same way.

use crate::auth::redirect::LoginError;
use crate::auth::{CredentialsError, OAuthClientError};
use crate::listen::first_connection::FirstConnectionFailed;
use crate::listen::{ListenError, NeedsStart};
use crate::net::ApiError;
use crate::net::AuthError;
use crate::output::Output;

/// A usage or configuration error, found before any network call: exit 2.
#[derive(Debug, thiserror::Error)]
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

/// The user pressed Ctrl-C a second time while cer was shutting down: exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// The command already told the person what went wrong (one line per item): exit with
/// `code` without another message.
#[derive(Debug, thiserror::Error)]
#[error("already reported")]
pub struct AlreadyReported(pub u8);

/// `--archive` with a token that lacks `recording.v1.read` (found before anything starts, or
/// told by GoTo's 403): exit 4. It says which.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NeedsRecordingScope(pub String);

/// Exit codes of the contract (SPEC section 3).
pub mod code {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const AUTH: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

/// How an error ends the process.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub code: u8,
    /// False for a closed pipe and an interrupt: cer then leaves quietly.
    pub print: bool,
    pub hint: Option<String>,
}

impl Verdict {
    fn quiet(code: u8) -> Self {
        Self {
            code,
            print: false,
            hint: None,
        }
    }

    fn loud(code: u8, hint: Option<&str>) -> Self {
        Self {
            code,
            print: true,
            hint: hint.map(str::to_string),
        }
    }
}

/// Decides the exit code and hint of an error by looking through its whole chain.
pub fn verdict(err: &anyhow::Error) -> Verdict {
    // A context, which `chain()` does not show as its own type.
    if let Some(first) = err.downcast_ref::<FirstConnectionFailed>() {
        return Verdict::loud(code::FAILURE, Some(first.hint));
    }
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return Verdict::quiet(0);
        }
        if let Some(AlreadyReported(code)) = cause.downcast_ref::<AlreadyReported>() {
            return Verdict::quiet(*code);
        }
        if cause.is::<Interrupted>() {
            return Verdict::quiet(code::INTERRUPTED);
        }
        if let Some(usage) = cause.downcast_ref::<UsageError>() {
            return Verdict::loud(code::USAGE, usage.hint.as_deref());
        }
        if cause.is::<NeedsRecordingScope>() {
            return Verdict::loud(code::AUTH, Some(RECORDINGS_HINT));
        }
        if let Some(auth) = cause.downcast_ref::<AuthError>() {
            return Verdict::loud(code::AUTH, Some(auth_hint(auth)));
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
            return Verdict::loud(code::FAILURE, login_hint(login));
        }
    }
    Verdict::loud(code::FAILURE, None)
}

/// For an OAuth client that is missing or cannot be used.
pub(crate) const OAUTH_CLIENT_HINT: &str = "set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (your OAuth client at \
    developer.goto.com) in the environment or in ./.env";

const RECORDINGS_HINT: &str = "run `cer login --recordings` to log in with the recording scopes \
                               (the OAuth client must have recording.v1.read)";

const NEEDS_START_HINT: &str =
    "run `cer listen --since DURATION` (e.g. --since 2h) to backfill from that long ago";

fn api_verdict(err: &ApiError) -> Verdict {
    let (code, hint) = match err {
        ApiError::Local(cause) => {
            let cause: &(dyn std::error::Error + 'static) = cause.as_ref();
            return local_verdict(cause).unwrap_or_else(|| Verdict::loud(code::FAILURE, None));
        }
        ApiError::Auth(auth) => (code::AUTH, Some(auth_hint(auth))),
        ApiError::Unauthorized { .. } => (code::AUTH, Some("run `cer login` to log in again")),
        ApiError::NotFound { .. } => (code::NOT_FOUND, None),
        ApiError::Forbidden { .. } => (
            code::FAILURE,
            Some(
                "the OAuth client needs the scopes cr.v1.read and call-events.v1.notifications.manage, and \
                    the user must be an admin of the account",
            ),
        ),
        ApiError::Transport(_) => (
            code::FAILURE,
            Some("check the network, HTTPS_PROXY and CER_API_BASE"),
        ),
        ApiError::RateLimited { .. } => (code::FAILURE, Some("try a lower --rate")),
        ApiError::Rejected { status: 401, .. } => (
            code::FAILURE,
            Some("check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET"),
        ),
        _ => (code::FAILURE, None),
    };
    Verdict::loud(code, hint)
}

fn listen_verdict(err: &ListenError) -> Verdict {
    match err {
        ListenError::Api(api) => api_verdict(api),
        ListenError::NeedsStart(_) => Verdict::loud(code::USAGE, Some(NEEDS_START_HINT)),
        ListenError::Store(_) => Verdict::loud(code::FAILURE, None),
    }
}

/// Errors of cer's own side, met alone or inside [`ApiError::Local`].
fn local_verdict(cause: &(dyn std::error::Error + 'static)) -> Option<Verdict> {
    if cause.is::<CredentialsError>() {
        Some(Verdict::loud(code::FAILURE, None))
    } else if cause.is::<OAuthClientError>() {
        Some(Verdict::loud(code::USAGE, Some(OAUTH_CLIENT_HINT)))
    } else if cause.is::<NeedsStart>() {
        Some(Verdict::loud(code::USAGE, Some(NEEDS_START_HINT)))
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

/// Prints the error (unless the verdict says to stay quiet) and returns the exit code.
pub fn report(err: &anyhow::Error, output: &Output) -> u8 {
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
    verdict.code
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn code_of(err: anyhow::Error) -> u8 {
        verdict(&err).code
    }

    #[test]
    fn finds_the_cause_under_context() {
        let err = Err::<(), _>(ApiError::NotFound {
            message: String::new(),
        })
        .context("fetching report x")
        .unwrap_err();
        assert_eq!(code_of(err), code::NOT_FOUND);
    }

    #[test]
    fn a_broken_pipe_is_a_quiet_success() {
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing output");
        assert_eq!(
            verdict(&err),
            Verdict {
                code: 0,
                print: false,
                hint: None
            }
        );
    }

    #[test]
    fn auth_problems_exit_4_with_the_login_hint() {
        let verdict = verdict(&anyhow::Error::new(AuthError::NotLoggedIn));
        assert_eq!(verdict.code, code::AUTH);
        assert!(verdict.hint.unwrap().contains("cer login"));
    }

    #[test]
    fn usage_errors_exit_2_and_keep_their_hint() {
        let err = UsageError::new("bad date").with_hint("use YYYY-MM-DD");
        let verdict = verdict(&anyhow::Error::new(err));
        assert_eq!(verdict.code, code::USAGE);
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
        assert_eq!(verdict_of_lock, Verdict::loud(code::FAILURE, None));
        let store = CredentialsError::Store(crate::auth::store::TokenStoreError("locked".into()));
        assert_eq!(code_of(anyhow::Error::new(store)), code::FAILURE);
        let missing = OAuthClientError::NeededForRefresh("OAUTH_CLIENT_SECRET not set".into());
        let err = Err::<(), _>(ApiError::local(missing))
            .context("cannot get an access token")
            .unwrap_err();
        assert_eq!(
            verdict(&err),
            Verdict::loud(code::USAGE, Some(OAUTH_CLIENT_HINT))
        );
        let header = ApiError::local(OAuthClientError::NotAHeader);
        assert_eq!(code_of(anyhow::Error::new(header)), code::USAGE);
    }

    #[test]
    fn listen_errors_keep_the_codes_of_their_causes() {
        let needs = ListenError::from(NeedsStart {
            unreadable: vec!["the store".into()],
        });
        let err = anyhow::Error::new(needs).context("listening stopped");
        assert_eq!(
            verdict(&err),
            Verdict::loud(code::USAGE, Some(NEEDS_START_HINT))
        );
        let missing = ListenError::from(ApiError::NotFound {
            message: String::new(),
        });
        assert_eq!(code_of(anyhow::Error::new(missing)), code::NOT_FOUND);
        let refused = ListenError::from(ApiError::from(AuthError::NotLoggedIn));
        assert_eq!(code_of(anyhow::Error::new(refused)), code::AUTH);
        let store = ListenError::from(crate::store::StoreError::Location("bad".into()));
        assert_eq!(code_of(anyhow::Error::new(store)), code::FAILURE);
    }

    #[test]
    fn anything_else_is_a_failure() {
        assert_eq!(code_of(anyhow::anyhow!("disk full")), code::FAILURE);
        assert_eq!(code_of(anyhow::Error::new(Interrupted)), code::INTERRUPTED);
    }
}
