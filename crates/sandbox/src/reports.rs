//! `GET /call-events-report/v1/reports/{conversationSpaceId}`: a call's full report once it has
//! ended and its report is ready; 404 before that, as GoTo does. What post-call analysis added
//! by the time of the request comes with it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use serde_json::Value;

use super::analysis::served;
use super::calls::CallFacts;
use super::errors::ApiError;
use super::history::find;
use super::report::report;
use super::rng::parse_uuid;
use super::state::Shared;
use super::time::now_ms;
use super::tokens::{Need, check};

/// The handler. A non-UUID id is a 400: GoTo types this path parameter as a UUID.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check(&shared, &headers, Need::Read)?;
    let Some(value) = parse_uuid(&id) else {
        return Err(ApiError::bad_field("conversationSpaceId", "must be a UUID"));
    };
    let not_found = || {
        ApiError::not_found(
            "NOT_FOUND",
            format!("No report found for conversationSpaceId {id}"),
        )
    };
    let call = find(&shared, value).ok_or_else(not_found)?;
    let delay = shared.lock().report_delay_ms;
    let now = now_ms();
    if call.ended_ms.saturating_add(delay) > now {
        return Err(not_found());
    }
    Ok((StatusCode::OK, axum::Json(current(&shared, &call, now))).into_response())
}

/// The call's report as GoTo would serve it at `now`, post-call analysis included.
pub(crate) fn current(shared: &Shared, call: &CallFacts, now: i64) -> Value {
    let (forced, record) = {
        let inner = shared.lock();
        let forced = inner.analysis.get(&call.id).cloned().unwrap_or_default();
        (forced, inner.media.recorded(call.id))
    };
    let delay = shared.config.analysis_delay_ms();
    served(
        report(&shared.dir, call),
        call,
        (delay, record),
        &forced,
        now,
    )
}
