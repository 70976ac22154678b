//! Access and refresh tokens: issuing, rotating, and checking the Bearer header of every REST
//! call with GoTo's 401/403 semantics.

use axum::http::{HeaderMap, StatusCode, header};

use super::errors::ApiError;
use super::state::{AccessToken, Inner, Scopes, Shared};
use super::time::now_ms;

/// What the token endpoint hands out.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub scopes: Scopes,
}

/// Creates an access token (and a refresh token when asked) with the given lifetime.
pub(crate) fn issue(
    inner: &mut Inner,
    scopes: Scopes,
    lifetime_ms: i64,
    with_refresh: bool,
) -> Issued {
    let access_token = format!("sbx_at_{}", inner.random_string(32));
    let expires_ms = now_ms().saturating_add(lifetime_ms);
    inner.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            scopes,
            expires_ms,
            revoked: false,
        },
    );
    let refresh_token = with_refresh.then(|| {
        let t = format!("sbx_rt_{}", inner.random_string(32));
        inner.refresh_tokens.insert(t.clone(), scopes);
        t
    });
    let expires_in = u64::try_from(lifetime_ms.max(0))
        .unwrap_or(0)
        .div_ceil(1000);
    Issued {
        access_token,
        refresh_token,
        expires_in,
        scopes,
    }
}

/// The scope an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// `cr.v1.read`
    Read,
    /// `call-events.v1.notifications.manage`
    Manage,
    /// `recording.v1.read`
    RecordingRead,
    /// `recording.v1.notifications.manage`
    RecordingManage,
}

/// The token of an `Authorization: Bearer …` header, if that is what the header holds.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Lets a request through only with a live token carrying the needed scope.
pub(crate) fn check(shared: &Shared, headers: &HeaderMap, need: Need) -> Result<(), ApiError> {
    let unauthorized = |code: &'static str, message: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
            .with_header(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
    };
    let Some(token) = bearer(headers) else {
        return Err(if headers.contains_key(header::AUTHORIZATION) {
            unauthorized(
                "AUTHN_MALFORMED_TOKEN",
                "The Authorization header is not a Bearer token",
            )
        } else {
            unauthorized(
                "AUTHN_INVALID_TOKEN",
                "Missing Authorization: Bearer header",
            )
        });
    };
    let inner = shared.lock();
    let Some(found) = inner.access_tokens.get(token) else {
        return Err(unauthorized(
            "AUTHN_INVALID_TOKEN",
            "The access token is invalid",
        ));
    };
    if found.revoked {
        return Err(unauthorized(
            "AUTHN_INVALID_TOKEN",
            "The access token has been revoked",
        ));
    }
    if found.expires_ms <= now_ms() {
        return Err(unauthorized(
            "AUTHN_EXPIRED_TOKEN",
            "The access token has expired",
        ));
    }
    let (ok, scope) = match need {
        Need::Read => (found.scopes.read, "cr.v1.read"),
        Need::Manage => (found.scopes.manage, "call-events.v1.notifications.manage"),
        Need::RecordingRead => (found.scopes.recording_read, "recording.v1.read"),
        Need::RecordingManage => (
            found.scopes.recording_manage,
            "recording.v1.notifications.manage",
        ),
    };
    if !ok {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "AUTHZ_INSUFFICIENT_SCOPE",
            format!("The access token lacks the scope {scope}"),
        ));
    }
    Ok(())
}
