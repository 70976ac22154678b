//! The errors a GoTo API call can end with, typed so callers can decide: retry, refresh, report.

use std::time::Duration;

use super::AuthError;

/// What went wrong talking to a GoTo API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the access token was refused, even after one refresh.
    #[error("GoTo refused the access token (401 Unauthorized){}", detail(.message))]
    Unauthorized {
        /// GoTo's error text (`errorCode: message`), escaped; empty when it sent none.
        message: String,
    },

    /// 403: the token lacks a scope, or the user is not an admin of the account.
    #[error("GoTo denied access (403 Forbidden){}", detail(.message))]
    Forbidden {
        /// GoTo's error text (`errorCode: message`), escaped; empty when it sent none.
        message: String,
    },

    /// 404: no such resource, or a report that is not ready yet.
    #[error("not found (404){}", detail(.message))]
    NotFound {
        /// GoTo's error text (`errorCode: message`), escaped; empty when it sent none.
        message: String,
    },

    /// Another 4xx: GoTo rejected what cer sent.
    #[error("GoTo rejected the request ({status}){}", detail(.message))]
    Rejected {
        /// The HTTP status (0 when cer refused the request before sending it).
        status: u16,
        /// GoTo's error text (`errorCode: message`), escaped; empty when it sent none.
        message: String,
    },

    /// 429 that outlasted the retries.
    #[error("GoTo kept answering 429 Too Many Requests")]
    RateLimited {
        /// The last `Retry-After`, when GoTo sent one.
        retry_after: Option<Duration>,
    },

    /// 5xx that outlasted the retries.
    #[error("GoTo answered {status}{}", detail(.message))]
    Server {
        /// The HTTP status, 500 to 599.
        status: u16,
        /// GoTo's error text (`errorCode: message`), escaped; empty when it sent none.
        message: String,
    },

    /// The request never got an HTTP answer: DNS, connect, TLS, timeout, reset.
    #[error("could not reach GoTo: {0}")]
    Transport(String),

    /// No usable token: a login is needed.
    #[error(transparent)]
    Auth(#[from] AuthError),

    /// The call could not be made for a reason on cer's own side, not GoTo's: the credential
    /// store failed, or the OAuth client is unusable as configured. The token side (`auth`)
    /// puts its own typed errors here, boxed because `net`, below `auth`, cannot name them;
    /// `errors` (exit code, hint) and `listen` (whether to stop) downcast to tell them apart.
    #[error(transparent)]
    Local(Box<dyn std::error::Error + Send + Sync + 'static>),

    /// An answer cer cannot read: not JSON, truncated, or missing a field cer needs.
    #[error("GoTo sent an answer cer cannot read: {0}")]
    InvalidBody(String),
}

impl ApiError {
    /// Builds the error for a non-success status, with GoTo's message when the body has one.
    pub fn from_status(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Self {
        Self::from_status_message(status, retry_after, error_message(body))
    }

    /// Builds the error for a non-success status whose message is already known.
    pub fn from_status_message(
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    ) -> Self {
        match status {
            401 => Self::Unauthorized { message },
            403 => Self::Forbidden { message },
            404 => Self::NotFound { message },
            429 => Self::RateLimited { retry_after },
            500..=599 => Self::Server { status, message },
            _ => Self::Rejected { status, message },
        }
    }

    /// Wraps an error of cer's own side (see [`ApiError::Local`]).
    pub fn local(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Local(Box::new(cause))
    }

    /// The cause of a [`ApiError::Local`] error, as its own type when it is a `T`.
    pub fn local_cause<T: std::error::Error + 'static>(&self) -> Option<&T> {
        match self {
            Self::Local(cause) => cause.downcast_ref::<T>(),
            _ => None,
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Transport(_)
        )
    }
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// GoTo's error text from a body: `message` and `errorCode` of REST errors, `error` and
/// `error_description` of OAuth errors, else a short prefix of the text itself. The body is
/// the server's, so the text comes with control characters escaped (it reaches stderr).
pub fn error_message(body: &[u8]) -> String {
    crate::escape::terminal_safe(&raw_error_message(body)).into_owned()
}

fn raw_error_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return text.trim().chars().take(200).collect();
    };
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let (code, text) = if value.get("error").is_some() {
        (field("error"), field("error_description"))
    } else {
        (field("errorCode"), field("message"))
    };
    let violations = constraint_violations(&value);
    match (code.is_empty(), text.is_empty()) {
        (false, false) => format!("{code}: {text}{violations}"),
        (false, true) => format!("{code}{violations}"),
        (true, false) => format!("{text}{violations}"),
        (true, true) => violations.trim_start_matches("; ").to_string(),
    }
}

fn constraint_violations(value: &serde_json::Value) -> String {
    let Some(list) = value.get("constraintViolations").and_then(|v| v.as_array()) else {
        return String::new();
    };
    list.iter()
        .filter_map(|v| {
            let field = v.get("field").and_then(|f| f.as_str());
            let message = v.get("message").and_then(|m| m.as_str());
            match (field, message) {
                (Some(f), Some(m)) => Some(format!("; {f}: {m}")),
                (None, Some(m)) => Some(format!("; {m}")),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_goto_rest_error_bodies() {
        let body = concat!(
            r#"{"reference":"r","constraintViolations":[],"#,
            r#""errorCode":"RTC-NOTIFICATION-CHANNEL-NOT-FOUND","#,
            r#""message":"Notification channel does not exist"}"#,
        )
        .as_bytes();
        assert_eq!(
            error_message(body),
            "RTC-NOTIFICATION-CHANNEL-NOT-FOUND: Notification channel does not exist"
        );
    }

    #[test]
    fn reads_oauth_error_bodies() {
        let body = br#"{"error":"invalid_client","error_description":"client not found"}"#;
        assert_eq!(error_message(body), "invalid_client: client not found");
    }

    #[test]
    fn names_violated_fields() {
        let body = concat!(
            r#"{"errorCode":"INVALID","message":"bad","#,
            r#""constraintViolations":[{"field":"startTime","message":"must be a date"}]}"#,
        )
        .as_bytes();
        assert_eq!(
            error_message(body),
            "INVALID: bad; startTime: must be a date"
        );
    }

    #[test]
    fn keeps_a_short_prefix_of_non_json_bodies() {
        let body = "x".repeat(500);
        assert_eq!(error_message(body.as_bytes()).len(), 200);
    }

    // Regression: an error body with `ESC[2J` or a newline cleared the screen or faked a line.
    #[test]
    fn escapes_control_characters_of_the_server() {
        let body = br#"{"errorCode":"X\u001b[2J","message":"a\nerror: fake"}"#;
        let text = error_message(body);
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(!error_message(b"plain \x1b]0;t\x07").contains('\x1b'));
    }

    #[test]
    fn maps_statuses_to_kinds() {
        assert!(matches!(
            ApiError::from_status(404, None, b""),
            ApiError::NotFound { .. }
        ));
        assert!(ApiError::from_status(503, None, b"").is_transient());
        assert!(ApiError::from_status(429, None, b"").is_transient());
        assert!(!ApiError::from_status(400, None, b"").is_transient());
    }
}
