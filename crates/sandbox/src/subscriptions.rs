//! Call Events Report subscriptions: which account's calls a channel is told about, and in which
//! event schema (`REPORT_SUMMARY`, or `LEGACY` when the client names none).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::channels::purge_expired;
use super::errors::ApiError;
use super::request::{json_body, query_pairs, required, single, string_field, string_list};
use super::state::{Shared, Subscription};
use super::time::now_ms;
use super::tokens::{Need, check};

type ApiResult = Result<Response, ApiError>;

/// The event types a subscription may ask for.
const EVENT_TYPES: [&str; 2] = ["REPORT_SUMMARY", "LEGACY"];

fn forbidden_account(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "AUTHZ_FORBIDDEN",
        format!("The authenticated user is not an admin of account {key}"),
    )
}

/// Checks the body of a subscription request: (channelId, accountKeys, eventTypes).
fn parse_create(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, Vec<String>, Vec<String>), ApiError> {
    let body = json_body(headers, body)?;
    let channel_id = string_field(&body, "channelId")?.to_string();
    let accounts = string_list(&body, "accountKeys")?.unwrap_or_default();
    if accounts.is_empty() {
        return Err(ApiError::bad_field(
            "accountKeys",
            "must list at least one account key",
        ));
    }
    let event_types = match string_list(&body, "eventTypes")? {
        None => vec!["LEGACY".to_string()],
        Some(v) if v.is_empty() => {
            return Err(ApiError::bad_field(
                "eventTypes",
                "must not be empty when given",
            ));
        }
        Some(v) => v,
    };
    if let Some(bad) = event_types
        .iter()
        .find(|t| !EVENT_TYPES.contains(&t.as_str()))
    {
        return Err(ApiError::bad_field(
            "eventTypes",
            format!("unknown event type {bad}"),
        ));
    }
    Ok((channel_id, accounts, event_types))
}

/// `POST /call-events-report/v1/subscriptions`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    let (channel_id, accounts, event_types) = parse_create(&headers, &body)?;
    if let Some(foreign) = accounts.iter().find(|k| **k != shared.dir.account_key) {
        return Err(forbidden_account(foreign));
    }
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    if !inner.channels.iter().any(|c| c.id == channel_id) {
        return Err(ApiError::channel_not_found(&channel_id));
    }
    let mut items = Vec::new();
    for account in &accounts {
        let pos = inner
            .subscriptions
            .iter()
            .position(|s| s.channel_id == channel_id && s.account_key == *account);
        let pos = match pos {
            Some(p) => p,
            None => {
                let id = inner.random_uuid();
                let sub = Subscription {
                    id,
                    channel_id: channel_id.clone(),
                    account_key: account.clone(),
                    event_types: vec![],
                };
                inner.subscriptions.push(sub);
                inner.subscriptions.len() - 1
            }
        };
        let sub = &mut inner.subscriptions[pos];
        for t in &event_types {
            if !sub.event_types.contains(t) {
                sub.event_types.push(t.clone());
            }
        }
        items.push(json!({
            "id": sub.id,
            "channelId": sub.channel_id,
            "value": sub.account_key,
            "eventTypes": sub.event_types,
        }));
    }
    Ok((StatusCode::CREATED, axum::Json(json!({ "items": items }))).into_response())
}

/// `GET /call-events-report/v1/subscriptions?channelId=…[&eventType=…]`
pub(crate) async fn read(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    let pairs = query_pairs(raw.as_deref());
    let channel_id = required(&pairs, "channelId")?;
    let event_type = single(&pairs, "eventType")?;
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    let accounts: Vec<Value> = inner
        .subscriptions
        .iter()
        .filter(|s| s.channel_id == channel_id)
        .filter(|s| event_type.is_none_or(|t| s.event_types.iter().any(|e| e == t)))
        .map(|s| json!(s.account_key))
        .collect();
    let answer =
        json!({ "accountKeys": accounts, "userKeys": [], "lineIds": [], "phoneNumberIds": [] });
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

/// `DELETE /call-events-report/v1/subscriptions?channelId=…&accountKey=…[&eventType=…]`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    check(&shared, &headers, Need::Manage)?;
    let pairs = query_pairs(raw.as_deref());
    let channel_id = required(&pairs, "channelId")?;
    let account = required(&pairs, "accountKey")?;
    let event_type = single(&pairs, "eventType")?;
    let mut inner = shared.lock();
    purge_expired(&mut inner, now_ms());
    let mut matched = false;
    for s in &mut inner.subscriptions {
        if s.channel_id != channel_id || s.account_key != account {
            continue;
        }
        match event_type {
            None => {
                matched = true;
                s.event_types.clear();
            }
            Some(t) => {
                let before = s.event_types.len();
                s.event_types.retain(|e| e != t);
                matched |= s.event_types.len() != before;
            }
        }
    }
    inner.subscriptions.retain(|s| !s.event_types.is_empty());
    if !matched {
        return Err(ApiError::not_found(
            "SUBSCRIPTION_NOT_FOUND",
            "No subscription matches these parameters",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
