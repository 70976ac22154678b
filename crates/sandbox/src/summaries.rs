//! `GET /call-events-report/v1/report-summaries`: strict parameter checks (GoTo answers 400 for a
//! missing or doubled selector, a bad date, a range over 31 days, a bad enum, page size or marker)
//! and keyset paging newest first.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::calls::OUTCOME_NAMES;
use super::errors::ApiError;
use super::history::{Filter, PageQuery, Selector, decode_marker, encode_marker, page};
use super::payloads::summary;
use super::request::{page_size, query_pairs, required, single};
use super::state::Shared;
use super::time::{now_ms, parse_utc};
use super::tokens::{Need, check};

/// GoTo rejects windows longer than this.
const MAX_RANGE_MS: i64 = 31 * 24 * 3600 * 1000;
const SELECTORS: [&str; 4] = ["accountKey", "userKey", "lineId", "phoneNumberId"];

/// The handler.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    check(&shared, &headers, Need::Read)?;
    let pairs = query_pairs(raw.as_deref());
    let query = parse(&shared, &pairs)?;
    let (items, next) = page(&shared, &query, now_ms());
    let mut answer = Map::new();
    answer.insert("pageSize".into(), json!(query.size));
    if let Some(k) = next {
        answer.insert(
            "nextPageMarker".into(),
            json!(encode_marker(shared.config.seed, k)),
        );
    }
    let items: Vec<Value> = items.iter().map(|c| summary(&shared.dir, c)).collect();
    answer.insert("items".into(), Value::Array(items));
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

fn parse(shared: &Shared, pairs: &[(String, String)]) -> Result<PageQuery, ApiError> {
    let selector = parse_selector(shared, pairs)?;
    let virtual_participant = pairs
        .iter()
        .any(|(k, v)| k == "virtualParticipantId" && !v.is_empty());
    let start_ms = parse_time(pairs, "startTime")?;
    let end_ms = parse_time(pairs, "endTime")?;
    if end_ms <= start_ms {
        return Err(ApiError::bad_field("endTime", "must be after startTime"));
    }
    if end_ms - start_ms > MAX_RANGE_MS {
        return Err(ApiError::bad_field(
            "endTime",
            "must be at most 31 days after startTime",
        ));
    }
    let internal = match single(pairs, "conversationScope")? {
        None => None,
        Some("INTERNAL") => Some(true),
        Some("EXTERNAL") => Some(false),
        Some(_) => {
            return Err(ApiError::bad_field(
                "conversationScope",
                "must be INTERNAL or EXTERNAL",
            ));
        }
    };
    let outcome = match single(pairs, "conversationCallerOutcome")? {
        None => None,
        Some(o) if OUTCOME_NAMES.contains(&o) => Some(o.to_string()),
        Some(_) => {
            let allowed = OUTCOME_NAMES.join(", ");
            return Err(ApiError::bad_field(
                "conversationCallerOutcome",
                format!("must be one of {allowed}"),
            ));
        }
    };
    let size = page_size(pairs)?;
    let after = match single(pairs, "pageMarker")? {
        None => None,
        Some(m) => Some(
            decode_marker(shared.config.seed, m)
                .ok_or_else(|| ApiError::bad_field("pageMarker", "is not a valid page marker"))?,
        ),
    };
    let filter = Filter {
        selector,
        virtual_participant,
        internal,
        outcome,
    };
    Ok(PageQuery {
        start_ms,
        end_ms,
        filter,
        size,
        after,
    })
}

/// Exactly one selector kind (repeatable values); a foreign account is forbidden, not empty.
fn parse_selector(shared: &Shared, pairs: &[(String, String)]) -> Result<Selector, ApiError> {
    let present: Vec<&str> = SELECTORS
        .into_iter()
        .filter(|s| pairs.iter().any(|(k, _)| k == s))
        .collect();
    let kind = match present.as_slice() {
        [one] => *one,
        [] => {
            return Err(ApiError::bad_field(
                "accountKey",
                "one of accountKey, userKey, lineId or phoneNumberId is required",
            ));
        }
        _ => {
            return Err(ApiError::bad_field(
                present[1],
                "only one of accountKey, userKey, lineId or phoneNumberId may be given",
            ));
        }
    };
    let values: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, v)| v.clone())
        .collect();
    if values.iter().any(|v| v.is_empty()) {
        return Err(ApiError::bad_field(kind, "must not be empty"));
    }
    Ok(match kind {
        "accountKey" => {
            if let Some(foreign) = values.iter().find(|v| **v != shared.dir.account_key) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "AUTHZ_FORBIDDEN",
                    format!("The authenticated user is not an admin of account {foreign}"),
                ));
            }
            Selector::Account
        }
        "userKey" => Selector::UserKeys(values),
        "lineId" => Selector::LineIds(values),
        _ => Selector::PhoneNumberIds(values),
    })
}

fn parse_time(pairs: &[(String, String)], name: &str) -> Result<i64, ApiError> {
    let raw = required(pairs, name)?;
    parse_utc(raw).ok_or_else(|| {
        ApiError::bad_field(
            name,
            "must be an ISO-8601 UTC date-time like 2024-07-01T00:00:00Z",
        )
    })
}
