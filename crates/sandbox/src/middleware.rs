//! Around every request: spoil it when a fault rule says so, then log it (debug, no secrets) and
//! record it for tests. Control endpoints and the WebSocket are never spoiled.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::ApiError;
use super::fault_rule::FaultKind;
use super::faults::{over_limit, take_rule};
use super::state::Shared;
use super::tokens::bearer;
use super::views::RequestRecord;

/// Bodies larger than this are not worth truncating gracefully.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) async fn observe(
    State(shared): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let has_bearer = bearer(req.headers()).is_some();
    let exempt = path.starts_with("/_sandbox") || path.starts_with("/notification-channel-ws/");
    let fault = if exempt {
        None
    } else {
        take_rule(&shared, &path).or_else(|| over_limit(&shared, &path))
    };
    let resp = match &fault {
        None => next.run(req).await,
        Some(FaultKind::Truncated) => truncate(next.run(req).await).await,
        Some(kind) => fault_response(kind, &path),
    };
    let status = resp.status().as_u16();
    tracing::debug!(%method, %path, status, fault = fault_label(&fault), "sandbox request");
    shared.lock().record(RequestRecord {
        method,
        path,
        query,
        status,
        bearer: has_bearer,
    });
    resp
}

fn fault_label(fault: &Option<FaultKind>) -> &'static str {
    match fault {
        None => "none",
        Some(FaultKind::RateLimit { .. }) => "rate-limit",
        Some(FaultKind::Fail { .. }) => "fail",
        Some(FaultKind::Garbage) => "garbage",
        Some(FaultKind::Truncated) => "truncated",
    }
}

/// The error a spoiled request gets, in the shape its API uses.
fn fault_response(kind: &FaultKind, path: &str) -> Response {
    let oauth = path.starts_with("/oauth/");
    let (status, code, message, retry_after) = match kind {
        FaultKind::RateLimit { retry_after } => {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            (
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                "Rate limit exceeded".to_string(),
                Some(secs),
            )
        }
        FaultKind::Fail { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            (
                status,
                "SANDBOX_FAULT",
                format!("{reason} (sandbox fault)"),
                None,
            )
        }
        FaultKind::Garbage => {
            let body = "<html><body><h1>502 Bad Gateway</h1>upstream sent garbage</body></html>";
            return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
        FaultKind::Truncated => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let mut resp = if oauth {
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            "slow_down"
        } else {
            "temporarily_unavailable"
        };
        (
            status,
            axum::Json(json!({ "error": error, "error_description": message })),
        )
            .into_response()
    } else {
        ApiError::new(status, code, message).into_response()
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// 200 with the first half of the real answer (or of a JSON opening when it had no body).
async fn truncate(resp: Response) -> Response {
    let bytes = to_bytes(resp.into_body(), MAX_BODY)
        .await
        .unwrap_or_default();
    let cut = if bytes.len() >= 2 {
        bytes.slice(..bytes.len() / 2)
    } else {
        axum::body::Bytes::from_static(b"{\"items\":[{\"")
    };
    let mut out = Response::new(Body::from(cut));
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}
