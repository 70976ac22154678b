//! `/_sandbox/*`: runtime control for people running `cer sandbox` (place a call, add post-call
//! analysis to a report, trigger a fault, look at the state) with plain curl. Loopback only, so no auth; never spoiled by faults.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::analysis::default_fields;
use super::calls::{CallFacts, placed_call};
use super::channels::purge_expired;
use super::faults::{FAULTS, FaultError, Faults};
use super::history::find;
use super::notify::notify_call;
use super::payloads::summary;
use super::reports::current;
use super::request::query_pairs;
use super::rng::{hash, mix, parse_uuid};
use super::state::{Scopes, Shared};
use super::time::{fmt_ms, now_ms};
use super::tokens::issue;

/// Draws tried for an answered call before settling for whatever came (two in three calls are
/// answered, so this never runs out in practice).
const ANSWERED_TRIES: usize = 64;

/// Places a call that ends now and notifies subscribed channels; `None` draws a 5 s–3 min length.
/// A `recorded` call is answered and recorded (its recording and transcript come with the
/// analysis delay's schedule), whatever the draws would say.
pub(crate) fn place(shared: &Shared, duration_ms: Option<i64>, recorded: bool) -> CallFacts {
    let now = now_ms();
    let mut inner = shared.lock();
    let draw = |inner: &mut super::state::Inner| {
        let nonce = hash(&[inner.rng.next_u64(), inner.placed.len() as u64, now as u64]);
        let duration = duration_ms.unwrap_or(5_000 + (mix(nonce) % 175_000) as i64);
        placed_call(&shared.dir, shared.config.seed, nonce, now, duration)
    };
    let mut call = draw(&mut inner);
    for _ in 1..ANSWERED_TRIES {
        if call.connected || !recorded {
            break;
        }
        call = draw(&mut inner);
    }
    let key = (call.created_ms, call.id);
    inner.placed_index.insert(call.id, key);
    inner.placed.insert(key, call.clone());
    if recorded {
        inner.media.recorded.insert(call.id);
    }
    inner.media.placed.push(call.id);
    drop(inner);
    shared.media_wake.notify_one();
    notify_call(shared, call.id, None);
    call
}

fn bad(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// The optional `seconds` parameter; `Err` when it is not a number from 0 to 7200.
fn seconds_param(pairs: &[(String, String)]) -> Result<Option<f64>, ()> {
    match pairs.iter().find(|(k, _)| k == "seconds") {
        None => Ok(None),
        Some((_, v)) => v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=7200.0).contains(s))
            .map(Some)
            .ok_or(()),
    }
}

fn bad_seconds() -> Response {
    bad(
        StatusCode::BAD_REQUEST,
        "seconds must be a number from 0 to 7200",
    )
}

/// `POST /_sandbox/calls[?seconds=N][&recorded=true]`: answers the new call's summary.
pub(crate) async fn place_call(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs = query_pairs(raw.as_deref());
    let Ok(seconds) = seconds_param(&pairs) else {
        return bad_seconds();
    };
    let recorded = match pairs
        .iter()
        .find(|(k, _)| k == "recorded")
        .map(|(_, v)| v.as_str())
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return bad(StatusCode::BAD_REQUEST, "recorded must be true or false"),
    };
    let call = place(&shared, seconds.map(|s| (s * 1000.0) as i64), recorded);
    (StatusCode::CREATED, axum::Json(summary(&shared.dir, &call))).into_response()
}

/// `POST /_sandbox/token[?seconds=N][&scope=…]`: an access token for curl, with every scope
/// (the Recording API's too) or those of a space-separated `scope`.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let pairs = query_pairs(raw.as_deref());
    let default = shared.config.token_lifetime.as_secs_f64();
    let seconds = match seconds_param(&pairs) {
        Ok(s) => s.unwrap_or(default),
        Err(()) => return bad_seconds(),
    };
    let scopes = match pairs.iter().find(|(k, _)| k == "scope") {
        None => Scopes::EVERY,
        Some((_, v)) => match Scopes::parse(v) {
            Some(s) if !v.trim().is_empty() => s,
            _ => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "scope names a scope the sandbox does not know",
                );
            }
        },
    };
    let issued = issue(&mut shared.lock(), scopes, (seconds * 1000.0) as i64, false);
    let body = json!({ "access_token": issued.access_token, "expires_in": issued.expires_in });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `POST /_sandbox/recording-options?token_shape=…&id_spelling=…&bytes=…`: GoTo's answer shapes
/// (`documented`, `live` or `mixed`; `camel`, `snake` or `mixed`) and the size of every
/// recording's audio (`natural`: follows the talk time).
pub(crate) async fn recording_options(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut inner = shared.lock();
    for (k, v) in query_pairs(raw.as_deref()) {
        if inner.media.set_option(&k, &v).is_err() {
            let why = format!("unknown option {k}={v} ({})", super::media_state::OPTIONS);
            return bad(StatusCode::BAD_REQUEST, why);
        }
    }
    axum::Json(inner.media.options()).into_response()
}

/// `GET /_sandbox/faults`: the catalogue.
pub(crate) async fn list_faults() -> Response {
    let items: Vec<Value> = FAULTS
        .iter()
        .map(|f| json!({ "name": f.name, "params": f.params, "summary": f.summary }))
        .collect();
    axum::Json(json!({ "faults": items })).into_response()
}

/// `POST /_sandbox/faults/{name}?key=value…`
pub(crate) async fn apply_fault(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let faults = Faults { shared };
    match faults.apply(&name, &query_pairs(raw.as_deref())) {
        Ok(result) => axum::Json(json!({ "fault": name, "result": result })).into_response(),
        Err(e @ FaultError::UnknownFault(_)) => bad(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => bad(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `GET /_sandbox/state`
pub(crate) async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    let channels: Vec<Value> = inner
        .channels
        .iter()
        .map(|c| {
            json!({
                "nickname": c.nickname,
                "channelId": c.id,
                "connectedSockets": c.sockets.len(),
                "expiresAt": fmt_ms(c.expires_ms),
            })
        })
        .collect();
    let subscriptions: Vec<Value> = inner
        .subscriptions
        .iter()
        .map(|s| json!({ "id": s.id, "channelId": s.channel_id, "accountKey": s.account_key, "eventTypes": s.event_types }))
        .collect();
    let body = json!({
        "baseUrl": shared.base_url,
        "accountKey": shared.dir.account_key,
        "seed": shared.config.seed,
        "channels": channels,
        "subscriptions": subscriptions,
        "storageBaseUrl": shared.storage_base,
        "recordingSubscriptions": inner.media.subscriptions.len(),
        "storageRequests": inner.media.storage_log.len(),
        "placedCalls": inner.placed.len(),
        "requestCount": inner.request_count,
        "pendingFaultRules": inner.rules.len(),
    });
    axum::Json(body).into_response()
}

/// How many hand-made additions one call keeps: more is a test gone wrong, not a use.
const MAX_ADDITIONS_PER_CALL: usize = 100;

/// How many calls may have hand-made additions, so a loop gone wrong cannot eat the memory.
const MAX_ANALYSED_CALLS: usize = 100_000;

/// Why [`add_analysis`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnalysisError {
    #[error("no such call")]
    UnknownCall,
    #[error(
        "too many additions: {MAX_ADDITIONS_PER_CALL} per call, {MAX_ANALYSED_CALLS} calls at most"
    )]
    TooMany,
}

/// Adds post-call analysis fields to a call's report now (`None`: its `callReason` and
/// `aiAnalysis`); answers the report as served from now on.
pub(crate) fn add_analysis(
    shared: &Shared,
    id: u128,
    fields: Option<Map<String, Value>>,
) -> Result<Value, AnalysisError> {
    let call = find(shared, id).ok_or(AnalysisError::UnknownCall)?;
    let fields = fields.unwrap_or_else(|| default_fields(&call));
    let now = now_ms();
    {
        let mut inner = shared.lock();
        if inner.analysis.len() >= MAX_ANALYSED_CALLS && !inner.analysis.contains_key(&id) {
            return Err(AnalysisError::TooMany);
        }
        let log = inner.analysis.entry(id).or_default();
        if log.len() >= MAX_ADDITIONS_PER_CALL {
            return Err(AnalysisError::TooMany);
        }
        log.push((now, fields));
    }
    Ok(current(shared, &call, now))
}

/// The body of the analysis endpoint: nothing (or `null`), or a JSON object of fields to add.
fn analysis_fields(body: &[u8]) -> Result<Option<Map<String, Value>>, ()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(Some(fields)),
        Ok(Value::Null) => Ok(None),
        _ => Err(()),
    }
}

/// `POST /_sandbox/reports/{id}/analysis` with an optional JSON object of fields.
pub(crate) async fn analysis(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(value) = parse_uuid(&id) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "the id must be a conversationSpaceId",
        );
    };
    let Ok(fields) = analysis_fields(&body) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "the body must be empty or a JSON object of fields to add",
        );
    };
    match add_analysis(&shared, value, fields) {
        Ok(report) => (StatusCode::OK, axum::Json(report)).into_response(),
        Err(e @ AnalysisError::UnknownCall) => bad(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ AnalysisError::TooMany) => bad(StatusCode::CONFLICT, e.to_string()),
    }
}
