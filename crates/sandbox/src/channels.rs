//! The Notification Channel API: WebSocket channels with a lifetime, refreshed by PUT, deleted by
//! DELETE, listed by GET; an expired channel takes its subscriptions and sockets with it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::errors::ApiError;
use super::request::{json_body, page_size, page_start, query_pairs, string_field};
use super::state::{Channel, Inner, Shared};
use super::time::now_ms;
use super::tokens::{Need, check};

type ApiResult = Result<Response, ApiError>;

/// GoTo's own guide sends `"WebSocket"`; its API and the screen-pop demo use `"WebSockets"`.
fn check_channel_type(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let body = json_body(headers, body)?;
    match string_field(&body, "channelType")? {
        "WebSockets" | "WebSocket" => Ok(()),
        "Webhook" => Err(ApiError::bad_field(
            "channelType",
            "Webhook channels are not supported by the sandbox",
        )),
        other => Err(ApiError::bad_field(
            "channelType",
            format!("unknown channel type {other}"),
        )),
    }
}

fn lifetime_ms(shared: &Shared) -> i64 {
    i64::try_from(shared.config.channel_lifetime.as_millis()).unwrap_or(i64::MAX)
}

/// A channel as the API shows it.
fn channel_json(shared: &Shared, c: &Channel) -> Value {
    json!({
        "channelId": c.id,
        "channelNickname": c.nickname,
        "channelData": {
            "channelType": "WebSockets",
            "channelURL": shared.channel_url(&c.nickname, &c.id),
            "isConnected": !c.sockets.is_empty(),
        },
        "channelLifetime": shared.config.channel_lifetime.as_secs_f64().ceil() as u64,
        "resourceURL": shared.resource_url(&c.nickname, &c.id),
        "doNotDisturbAware": false,
    })
}

/// Drops every channel whose lifetime is over (the keeper does this on time; handlers do it too
/// so an answer never shows a channel that should be gone).
pub(crate) fn purge_expired(inner: &mut Inner, now: i64) {
    let expired: Vec<String> = inner
        .channels
        .iter()
        .filter(|c| c.expires_ms <= now)
        .map(|c| c.id.clone())
        .collect();
    for id in expired {
        inner.remove_channel(&id, "Notification channel expired");
    }
}

/// `POST /notification-channel/v1/channels/{nickname}`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(nickname): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    if nickname.trim().is_empty() || nickname.len() > 255 {
        return Err(ApiError::bad_field(
            "channelNickname",
            "must be 1 to 255 characters",
        ));
    }
    check_channel_type(&headers, &body)?;
    let channel = {
        let mut inner = shared.lock();
        let raw: Vec<u8> = (0..8)
            .flat_map(|_| inner.rng.next_u64().to_le_bytes())
            .collect();
        let channel = Channel {
            id: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
            nickname,
            expires_ms: now_ms().saturating_add(lifetime_ms(&shared)),
            refresh_sent: false,
            retire_at_ms: None,
            sockets: HashMap::new(),
        };
        let answer = channel_json(&shared, &channel);
        inner.channels.push(channel);
        answer
    };
    shared.keeper_wake.notify_one();
    Ok((StatusCode::CREATED, axum::Json(channel)).into_response())
}

/// `PUT /notification-channel/v1/channels/{nickname}/{channelId}`: renews the lifetime.
pub(crate) async fn refresh(
    State(shared): State<Arc<Shared>>,
    Path((nickname, channel_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    check_channel_type(&headers, &body)?;
    let answer = {
        let mut inner = shared.lock();
        let now = now_ms();
        purge_expired(&mut inner, now);
        let lifetime = lifetime_ms(&shared);
        let Some(c) = inner
            .channel_mut(&channel_id)
            .filter(|c| c.nickname == nickname)
        else {
            return Err(ApiError::channel_not_found(&channel_id));
        };
        let renewed = now.saturating_add(lifetime);
        c.expires_ms = c.retire_at_ms.map_or(renewed, |retire| renewed.min(retire));
        c.refresh_sent = c.retire_at_ms.is_some();
        channel_json(&shared, c)
    };
    shared.keeper_wake.notify_one();
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

/// `DELETE /notification-channel/v1/channels/{nickname}/{channelId}`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((nickname, channel_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    let known = inner
        .channels
        .iter()
        .any(|c| c.id == channel_id && c.nickname == nickname);
    if !known {
        return Err(ApiError::channel_not_found(&channel_id));
    }
    inner.remove_channel(&channel_id, "Notification channel deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /notification-channel/v1/channels?pageSize&pageMarker`
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    let pairs = query_pairs(raw.as_deref());
    let size = page_size(&pairs)?;
    let start = page_start(&pairs, decode_marker)?;
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    let total = inner.channels.len();
    let items: Vec<Value> = inner
        .channels
        .iter()
        .skip(start)
        .take(size)
        .map(|c| channel_json(&shared, c))
        .collect();
    let mut answer = serde_json::Map::new();
    if start + size < total {
        answer.insert("nextPageMarker".into(), json!(encode_marker(start + size)));
    }
    answer.insert("items".into(), Value::Array(items));
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

fn encode_marker(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("channels:{offset}"))
}

fn decode_marker(marker: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("channels:")?
        .parse()
        .ok()
}
