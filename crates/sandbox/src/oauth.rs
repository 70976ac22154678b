//! GoTo's OAuth server (`authentication.logmeininc.com`): the authorize endpoint, which
//! auto-approves as the sandbox's only admin, and the token endpoint with authorization_code
//! (+ PKCE S256) and rotating refresh_token grants.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::config::{CLIENT_ID, CLIENT_SECRET, PRINCIPAL};
use super::errors::OAuthError;
use super::state::{AuthCode, Scopes, Shared};
use super::time::now_ms;
use super::tokens::{Issued, issue};

/// Authorization codes are short-lived and single-use.
const CODE_LIFETIME_MS: i64 = 60_000;

/// Decodes a query string or form body; the first occurrence of a name wins.
pub(crate) fn decode_pairs(raw: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// `GET /oauth/authorize`
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = decode_pairs(raw.as_deref().unwrap_or("").as_bytes());
    if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return error_page("Unknown or missing client_id.");
    }
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| is_loopback_redirect(r))
    else {
        return error_page(
            "redirect_uri is missing or not registered (it must be http://127.0.0.1:PORT/path or http://localhost:PORT/path).",
        );
    };
    let state = params.get("state").map(String::as_str);
    match approve(&shared, &params, redirect_uri) {
        Ok(code) => redirect(redirect_uri, &[("code", &code)], state),
        Err((error, description)) => redirect(
            redirect_uri,
            &[("error", error), ("error_description", &description)],
            state,
        ),
    }
}

/// Checks the rest of the request and issues a code, or names the OAuth error to redirect with.
fn approve(
    shared: &Shared,
    params: &HashMap<String, String>,
    redirect_uri: &str,
) -> Result<String, (&'static str, String)> {
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return Err(("invalid_request", "response_type is required".into())),
        Some(other) => {
            return Err((
                "unsupported_response_type",
                format!("response_type {other} is not supported"),
            ));
        }
    }
    let scopes = Scopes::parse(params.get("scope").map(String::as_str).unwrap_or("")).ok_or((
        "invalid_scope",
        "scope names a scope this client does not have".to_string(),
    ))?;
    let challenge = params.get("code_challenge").cloned();
    if let Some(c) = &challenge {
        if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
            return Err((
                "invalid_request",
                "code_challenge_method must be S256".into(),
            ));
        }
        if c.len() != 43
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err((
                "invalid_request",
                "code_challenge must be a base64url SHA-256 digest".into(),
            ));
        }
    }
    let mut inner = shared.lock();
    if std::mem::take(&mut inner.deny_next_authorize) {
        return Err((
            "access_denied",
            "The user denied access (sandbox fault deny-next-authorize)".into(),
        ));
    }
    let code = inner.random_string(24);
    let expires_ms = now_ms() + CODE_LIFETIME_MS;
    let stored = AuthCode {
        redirect_uri: redirect_uri.to_string(),
        scopes,
        challenge,
        expires_ms,
    };
    inner.codes.insert(code.clone(), stored);
    Ok(code)
}

/// A loopback `http` redirect URI with a path, as GoTo requires for desktop clients.
fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    url.scheme() == "http"
        && matches!(url.host_str(), Some("127.0.0.1" | "localhost"))
        && url.fragment().is_none()
        && url.username().is_empty()
}

fn redirect(redirect_uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page("redirect_uri is not a valid URL.");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    // 302 Found, as GoTo answers (the official demo accepts only 302).
    let mut resp = Redirect::to(url.as_str()).into_response();
    *resp.status_mut() = StatusCode::FOUND;
    resp
}

fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html><title>Sandbox sign-in error</title><h1>Bad request</h1><p>{message}</p>"
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

/// `POST /oauth/token`
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token_inner(&shared, &headers, &body) {
        Ok(issued) => token_answer(&issued),
        Err(e) => e.into_response(),
    }
}

fn token_inner(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Issued, OAuthError> {
    check_client(headers)?;
    let form_ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_ok {
        return Err(OAuthError::bad(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form = decode_pairs(body);
    if form.get("client_id").is_some_and(|id| id != CLIENT_ID) {
        return Err(OAuthError::invalid_client(
            "client_id does not match the authenticated client",
        ));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(shared, &form),
        Some("refresh_token") => refresh(shared, &form),
        Some(other) => Err(OAuthError::bad(
            "unsupported_grant_type",
            format!("grant_type {other} is not supported"),
        )),
        None => Err(OAuthError::bad("invalid_request", "grant_type is required")),
    }
}

/// HTTP Basic client authentication, which GoTo's token endpoint requires.
fn check_client(headers: &HeaderMap) -> Result<(), OAuthError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some((scheme, encoded)) = value.and_then(|v| v.split_once(' ')) else {
        return Err(OAuthError::invalid_client(
            "client authentication (HTTP Basic) is required",
        ));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = decoded
        .as_deref()
        .and_then(|d| d.split_once(':'))
        .filter(|_| scheme.eq_ignore_ascii_case("basic"))
    else {
        return Err(OAuthError::invalid_client(
            "malformed HTTP Basic client authentication",
        ));
    };
    if id != CLIENT_ID {
        return Err(OAuthError::invalid_client("client not found"));
    }
    if secret != CLIENT_SECRET {
        return Err(OAuthError::invalid_client("bad client credentials"));
    }
    Ok(())
}

fn exchange_code(shared: &Shared, form: &HashMap<String, String>) -> Result<Issued, OAuthError> {
    let code = form
        .get("code")
        .ok_or_else(|| OAuthError::bad("invalid_request", "code is required"))?;
    let mut inner = shared.lock();
    // Single use: a code is spent by any exchange attempt, good or bad.
    let stored = inner.codes.remove(code).filter(|c| c.expires_ms > now_ms());
    let stored = stored.ok_or_else(|| {
        OAuthError::bad(
            "invalid_grant",
            "the authorization code is invalid, expired or already used",
        )
    })?;
    if form.get("redirect_uri") != Some(&stored.redirect_uri) {
        return Err(OAuthError::bad(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ));
    }
    if let Some(challenge) = &stored.challenge {
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        if verifier.is_empty() || digest != *challenge {
            return Err(OAuthError::bad(
                "invalid_grant",
                "code_verifier does not match the code_challenge",
            ));
        }
    }
    let lifetime = token_lifetime_ms(shared);
    Ok(issue(&mut inner, stored.scopes, lifetime, true))
}

fn refresh(shared: &Shared, form: &HashMap<String, String>) -> Result<Issued, OAuthError> {
    let token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::bad("invalid_request", "refresh_token is required"))?;
    let mut inner = shared.lock();
    // Rotation: the presented refresh token is spent and a new one is issued.
    let scopes = inner.refresh_tokens.remove(token).ok_or_else(|| {
        OAuthError::bad("invalid_grant", "the refresh token is invalid or revoked")
    })?;
    let lifetime = token_lifetime_ms(shared);
    Ok(issue(&mut inner, scopes, lifetime, true))
}

fn token_lifetime_ms(shared: &Shared) -> i64 {
    i64::try_from(shared.config.token_lifetime.as_millis()).unwrap_or(i64::MAX)
}

/// The success body: `token_swapped.json`'s fields plus `refresh_token`, in that order.
fn token_answer(issued: &Issued) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), json!(issued.access_token));
    body.insert("token_type".into(), json!("Bearer"));
    if let Some(rt) = &issued.refresh_token {
        body.insert("refresh_token".into(), json!(rt));
    }
    body.insert("expires_in".into(), json!(issued.expires_in));
    body.insert("scope".into(), json!(issued.scopes.as_string()));
    body.insert("principal".into(), json!(PRINCIPAL));
    body.insert("loa".into(), json!(3));
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}
