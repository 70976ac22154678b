//! Recording subscriptions (`/recording/v1/subscriptions`): which channel hears of an account's
//! uploaded recordings and transcripts. One per channel and account (a second is 409); listed
//! with GoTo's documented `{NextPageMarker, items}` (capital N); deleted by id.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::channels::purge_expired;
use super::errors::ApiError;
use super::media_state::RecordingSubscription;
use super::request::{json_body, page_start, query_pairs, single, string_field, string_list};
use super::state::Shared;
use super::time::{fmt_ms, now_ms};
use super::tokens::{Need, check};

type ApiResult = Result<Response, ApiError>;

/// The event types a recording subscription may ask for.
pub(crate) const RECORDING_EVENTS: [&str; 2] =
    ["RECORDING_UPLOADED", "RECORDING_TRANSCRIPT_UPLOADED"];

fn subscription_json(s: &RecordingSubscription) -> Value {
    json!({
        "id": s.id,
        "accountKey": s.account_key,
        "channelId": s.channel_id,
        "timestamp": s.timestamp,
        "eventTypes": s.event_types,
    })
}

/// (accountKey, channelId, eventTypes) of a create request.
fn parse_create(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, String, Vec<String>), ApiError> {
    let body = json_body(headers, body)?;
    let account = string_field(&body, "accountKey")?.to_string();
    let channel = string_field(&body, "channelId")?.to_string();
    let events = match string_list(&body, "eventTypes")? {
        None => RECORDING_EVENTS.map(String::from).to_vec(),
        Some(v) if v.is_empty() => {
            return Err(ApiError::bad_field(
                "eventTypes",
                "must not be empty when given",
            ));
        }
        Some(v) => v,
    };
    if let Some(bad) = events
        .iter()
        .find(|t| !RECORDING_EVENTS.contains(&t.as_str()))
    {
        return Err(ApiError::bad_field(
            "eventTypes",
            format!("unknown event type {bad}"),
        ));
    }
    Ok((account, channel, events))
}

/// `POST /recording/v1/subscriptions`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check(&shared, &headers, Need::RecordingManage)?;
    let (account, channel, events) = parse_create(&headers, &body)?;
    if account != shared.dir.account_key {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "AUTHZ_FORBIDDEN",
            format!("The authenticated user is not an admin of account {account}"),
        ));
    }
    let now = now_ms();
    let mut inner = shared.lock();
    purge_expired(&mut inner, now);
    if !inner.channels.iter().any(|c| c.id == channel) {
        return Err(ApiError::channel_not_found(&channel));
    }
    let exists = inner
        .media
        .subscriptions
        .iter()
        .any(|s| s.channel_id == channel && s.account_key == account);
    if exists {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "CONFLICT",
            "A recording subscription for this channel and account already exists",
        ));
    }
    let sub = RecordingSubscription {
        id: inner.random_uuid(),
        account_key: account,
        channel_id: channel,
        timestamp: fmt_ms(now),
        event_types: events,
    };
    let answer = subscription_json(&sub);
    inner.media.subscriptions.push(sub);
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

/// `pageSize`: 0..=100, default 50, as documented.
fn page_size(pairs: &[(String, String)]) -> Result<usize, ApiError> {
    match single(pairs, "pageSize")? {
        None => Ok(50),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| ApiError::bad_field("pageSize", "must be an integer between 0 and 100")),
    }
}

fn encode_marker(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("recording-subscriptions:{offset}"))
}

fn decode_marker(marker: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("recording-subscriptions:")?
        .parse()
        .ok()
}

/// `GET /recording/v1/subscriptions?pageMarker&pageSize`
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    check(&shared, &headers, Need::RecordingManage)?;
    let pairs = query_pairs(raw.as_deref());
    let size = page_size(&pairs)?;
    let start = page_start(&pairs, decode_marker)?;
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    let all = &inner.media.subscriptions;
    let items: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(subscription_json)
        .collect();
    let mut answer = Map::new();
    if size > 0 && start + size < all.len() {
        answer.insert("NextPageMarker".into(), json!(encode_marker(start + size)));
    }
    answer.insert("items".into(), Value::Array(items));
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

/// `DELETE /recording/v1/subscriptions/{subscriptionId}`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    check(&shared, &headers, Need::RecordingManage)?;
    let mut inner = shared.lock();
    let before = inner.media.subscriptions.len();
    inner.media.subscriptions.retain(|s| s.id != id);
    if inner.media.subscriptions.len() == before {
        return Err(ApiError::not_found(
            "NOT_FOUND",
            format!("No recording subscription with id {id}"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
