//! Error answers in the two shapes GoTo uses: the REST APIs'
//! `{reference, constraintViolations, errorCode, message}` (`spiritai-channel_not_found.json`)
//! and the OAuth server's `{error, error_description}` (`spiritai-token_invalid_client.json`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::rng::mix;

/// A REST API error.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `(field, message)` pairs for 400s about a parameter or body field.
    pub violations: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            violations: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 400 naming the offending field.
    pub(crate) fn bad_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = ApiError::new(
            StatusCode::BAD_REQUEST,
            "CONSTRAINT_VIOLATION",
            format!("{field}: {message}"),
        );
        e.violations.push((field.to_string(), message));
        e
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub(crate) fn channel_not_found(channel_id: &str) -> Self {
        ApiError::not_found(
            "RTC-NOTIFICATION-CHANNEL-NOT-FOUND",
            format!("Notification channel does not exist {channel_id}"),
        )
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn body(&self) -> Value {
        let violations: Vec<Value> = self
            .violations
            .iter()
            .map(|(field, message)| json!({ "field": field, "message": message }))
            .collect();
        json!({
            "reference": reference(),
            "constraintViolations": violations,
            "errorCode": self.code,
            "message": self.message,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// A token-endpoint error (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn bad(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, error, description)
    }

    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\""),
            );
        }
        resp
    }
}

/// A 32-character support reference, unique per error like GoTo's.
fn reference() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{:016x}{:016x}",
        mix(n ^ nanos),
        mix(nanos.rotate_left(17) ^ n)
    )
}
