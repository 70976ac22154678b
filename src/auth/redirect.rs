//! The end of the browser login: the loopback listener GoTo redirects to, and the checks on the
//! redirect (`state`, `code`, `error=`), shared with `--no-browser`, where the user pastes it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Html;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

use crate::escape::terminal_safe;
use crate::secret::Secret;

/// Why a login did not produce a code.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("port {0} on 127.0.0.1 is already in use, so cer cannot receive the login redirect")]
    PortBusy(u16),
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Bind(u16, String),
    #[error(
        "the redirect's state does not match this login (a stale or forged redirect); no token was requested"
    )]
    StateMismatch,
    #[error("the redirect carries no authorization code")]
    MissingCode,
    #[error("GoTo did not authorize the login: {0}")]
    Denied(String),
    #[error("no login redirect arrived within {0} s")]
    Timeout(u64),
    #[error("no valid login redirect arrived within {0} s; cer rejected one because {1}")]
    OnlyInvalid(u64, String),
    #[error("{0}")]
    NotARedirect(String),
}

/// Checks a redirect's query parameters and returns the authorization code.
pub fn check_redirect<'a>(
    params: impl Iterator<Item = (String, String)> + 'a,
    expected_state: &Secret,
) -> Result<Secret, LoginError> {
    let (mut code, mut state, mut error, mut description) = (None, None, None, None);
    for (name, value) in params {
        match name.as_str() {
            "code" => code = Some(value),
            "state" => state = Some(value),
            "error" => error = Some(value),
            "error_description" => description = Some(value),
            _ => {}
        }
    }
    // Only this login's state proves a redirect came from GoTo: any local process or web page
    // can send the listener a request, with or without `error=` (SPEC 4).
    if state.as_deref() != Some(expected_state.expose()) {
        return Err(LoginError::StateMismatch);
    }
    if let Some(error) = error {
        let text = match description {
            Some(description) if !description.is_empty() => format!("{error} ({description})"),
            _ => error,
        };
        return Err(LoginError::Denied(terminal_safe(&text).into_owned()));
    }
    code.filter(|c| !c.is_empty())
        .map(Secret::new)
        .ok_or(LoginError::MissingCode)
}

/// Reads a redirect address the user pasted (`--no-browser`).
pub fn check_pasted(text: &str, expected_state: &Secret) -> Result<Secret, LoginError> {
    let text = text.trim();
    let query = match Url::parse(text) {
        Ok(url) => url.query().unwrap_or("").to_string(),
        Err(_) if text.contains("code=") || text.contains("error=") => {
            text.trim_start_matches('?').to_string()
        }
        Err(_) => {
            return Err(LoginError::NotARedirect(
                "that is not the address the browser was redirected to (it starts with the redirect URI and \
                    has ?code=…&state=…)".into(),
            ));
        }
    };
    check_redirect(
        url::form_urlencoded::parse(query.as_bytes()).into_owned(),
        expected_state,
    )
}

/// A bound listener waiting for the one redirect of this login.
pub struct RedirectListener {
    listener: TcpListener,
    path: String,
}

impl RedirectListener {
    /// Binds 127.0.0.1 on the redirect URI's port, before anything is printed.
    pub async fn bind(redirect: &Url) -> Result<Self, LoginError> {
        let port = redirect.port().unwrap_or(80);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(address).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                LoginError::PortBusy(port)
            } else {
                LoginError::Bind(port, e.to_string())
            }
        })?;
        Ok(Self {
            listener,
            path: redirect.path().to_string(),
        })
    }

    /// Serves until a valid redirect (or GoTo's refusal) arrives, or `timeout` passes. A
    /// redirect with a wrong state or no code gets an error page, and cer keeps waiting: it may
    /// come from a stale tab, and the right one may still follow.
    pub async fn wait(self, state: Secret, timeout: Duration) -> Result<Secret, LoginError> {
        let (done, outcome) = oneshot::channel();
        let shared = Arc::new(Waiter {
            path: self.path,
            state,
            done: Mutex::new(Some(done)),
            rejected: Mutex::new(None),
        });
        let waiter = Arc::clone(&shared);
        let app = Router::new().fallback(handle).with_state(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let server = tokio::spawn(async move { server.await });
        let result = match tokio::time::timeout(timeout, outcome).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LoginError::MissingCode),
            Err(_) => Err(match waiter.rejected.lock().ok().and_then(|r| r.clone()) {
                Some(why) => LoginError::OnlyInvalid(timeout.as_secs(), why),
                None => LoginError::Timeout(timeout.as_secs()),
            }),
        };
        let _ = stop.send(());
        // Give the browser its page before the listener goes away.
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
        result
    }
}

struct Waiter {
    path: String,
    state: Secret,
    done: Mutex<Option<oneshot::Sender<Result<Secret, LoginError>>>>,
    /// Why the last rejected redirect was rejected, for the timeout message.
    rejected: Mutex<Option<String>>,
}

async fn handle(State(waiter): State<Arc<Waiter>>, request: Request) -> (StatusCode, Html<String>) {
    if request.method() != Method::GET || request.uri().path() != waiter.path {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This is cer's login listener.",
        );
    }
    let query = request.uri().query().unwrap_or("");
    let result = check_redirect(
        url::form_urlencoded::parse(query.as_bytes()).into_owned(),
        &waiter.state,
    );
    if let Err(err @ LoginError::StateMismatch) = &result {
        // Not this login's redirect: it may not end the wait, whoever sent it.
        if let Ok(mut rejected) = waiter.rejected.lock() {
            *rejected = Some(err.to_string());
        }
        return page(StatusCode::BAD_REQUEST, "Login failed", &err.to_string());
    }
    let Some(done) = waiter.done.lock().ok().and_then(|mut slot| slot.take()) else {
        return page(
            StatusCode::GONE,
            "Already done",
            "This login is already finished.",
        );
    };
    let reply = match &result {
        Ok(_) => page(
            StatusCode::OK,
            "Logged in",
            "cer received the authorization. You can close this tab and go back to the terminal.",
        ),
        Err(err) => page(StatusCode::BAD_REQUEST, "Login failed", &err.to_string()),
    };
    let _ = done.send(result);
    reply
}

fn page(status: StatusCode, title: &str, text: &str) -> (StatusCode, Html<String>) {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>cer: {0}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{0}</h1><p>{1}</p></body></html>",
        escape(title),
        escape(text)
    );
    (status, Html(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn accepts_a_matching_state_and_code() {
        let code = check_redirect(params(&[("code", "c1"), ("state", "s")]), &Secret::new("s"));
        assert_eq!(code.unwrap().expose(), "c1");
    }

    #[test]
    fn rejects_wrong_or_missing_state() {
        let state = Secret::new("s");
        for pairs in [&[("code", "c"), ("state", "x")][..], &[("code", "c")]] {
            assert!(matches!(
                check_redirect(params(pairs), &state),
                Err(LoginError::StateMismatch)
            ));
        }
    }

    #[test]
    fn an_error_for_another_login_is_not_believed() {
        let err = check_redirect(
            params(&[("error", "access_denied"), ("state", "x")]),
            &Secret::new("s"),
        );
        assert!(matches!(err, Err(LoginError::StateMismatch)));
        // Regression: an `error=` without a state was believed and ended the login.
        let err = check_redirect(params(&[("error", "access_denied")]), &Secret::new("s"));
        assert!(matches!(err, Err(LoginError::StateMismatch)));
    }

    #[test]
    fn reports_the_servers_error() {
        let err = check_redirect(
            params(&[
                ("error", "access_denied"),
                ("error_description", "user said no"),
                ("state", "s"),
            ]),
            &Secret::new("s"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GoTo did not authorize the login: access_denied (user said no)"
        );
    }

    // Regression: the description reached the terminal raw.
    #[test]
    fn the_servers_description_is_escaped() {
        let err = check_redirect(
            params(&[
                ("error", "x"),
                ("error_description", "a\x1b]0;pwned\x07\nb"),
                ("state", "s"),
            ]),
            &Secret::new("s"),
        )
        .unwrap_err();
        assert!(!err.to_string().contains('\x1b'), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn a_missing_code_is_an_error() {
        let err = check_redirect(params(&[("state", "s")]), &Secret::new("s")).unwrap_err();
        assert!(matches!(err, LoginError::MissingCode));
    }

    #[test]
    fn pasted_addresses_are_checked_the_same_way() {
        let state = Secret::new("s");
        let url = "http://127.0.0.1:12021/app/redirect?code=abc&state=s";
        assert_eq!(check_pasted(url, &state).unwrap().expose(), "abc");
        assert_eq!(
            check_pasted("  code=abc&state=s\n", &state)
                .unwrap()
                .expose(),
            "abc"
        );
        assert!(matches!(
            check_pasted("hello", &state),
            Err(LoginError::NotARedirect(_))
        ));
        assert!(matches!(
            check_pasted(
                "http://127.0.0.1:12021/app/redirect?code=abc&state=t",
                &state
            ),
            Err(LoginError::StateMismatch)
        ));
    }
}
