//! GoTo's Recording API v1 (`goto-api/API.md` section 10): a download token for a recording,
//! the 302 from that token to the audio on the storage host, and the 302 to a transcript.
//! Before a recording is uploaded its content answers 400; unknown ids answer 404.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::ApiError;
use super::media_ids::MediaKind;
use super::media_state::{DownloadToken, MAX_TOKENS, MediaState, TokenShape};
use super::recordings::{Media, of_call, resolve};
use super::state::Shared;
use super::storage::signed_url;
use super::time::{fmt_ms, now_ms};
use super::tokens::{Need, check};

type ApiResult = Result<Response, ApiError>;

/// How long a download token works.
pub(crate) const TOKEN_LIFETIME_MS: i64 = 300_000;

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::not_found("NOT_FOUND", format!("No {what} found with id {id}"))
}

/// The recording an id names, 404 when there is none (or a fault made it gone).
fn recording(shared: &Shared, id: &str, now: i64) -> Result<Media, ApiError> {
    let media = resolve(shared, id, now)
        .filter(|m| m.kind != MediaKind::Transcript)
        .filter(|m| !shared.lock().media.is_gone(m.id));
    media.ok_or_else(|| not_found("recording", id))
}

/// `GET /recording/v1/recordings/{recordingId}/content`: a short-lived download token.
pub(crate) async fn content(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    check(&shared, &headers, Need::RecordingRead)?;
    let now = now_ms();
    let media = recording(&shared, &id, now)?;
    let mut inner = shared.lock();
    let ready_at = media
        .uploaded_ms
        .saturating_add(inner.media.faults.not_ready_ms);
    if now < ready_at {
        return Err(ApiError::bad_request(format!(
            "The recording {id} is not uploaded yet: tokens are issued only for UPLOADED recordings"
        )));
    }
    let token = inner.random_string(24);
    let expires_ms = now + TOKEN_LIFETIME_MS;
    let media_state = &mut inner.media;
    media_state.tokens.insert(
        token.clone(),
        DownloadToken {
            media: media.id,
            expires_ms,
        },
    );
    media_state.token_order.push_back(token.clone());
    while media_state.token_order.len() > MAX_TOKENS {
        if let Some(old) = media_state.token_order.pop_front() {
            media_state.tokens.remove(&old);
        }
    }
    let expires = fmt_ms(expires_ms);
    let body = match media.token_shape(media_state.token_shape) {
        TokenShape::Documented => json!({ "token": token, "expires": expires }),
        TokenShape::Live => {
            json!({ "token": { "token": token, "expires": expires }, "status": "UPLOADED" })
        }
    };
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// 302 to a signed storage URL.
fn found(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `GET /recording/v1/recordings/{recordingId}/content/{token}`: 302 to the audio.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check(&shared, &headers, Need::RecordingRead)?;
    let now = now_ms();
    let media = recording(&shared, &id, now)?;
    let mut inner = shared.lock();
    let known = inner.media.tokens.get(&token).cloned();
    let forced_expiry = MediaState::take(&mut inner.media.faults.expired_tokens);
    match known {
        Some(t) if t.media == media.id && t.expires_ms > now && !forced_expiry => {}
        Some(t) if t.media == media.id => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "DOWNLOAD_TOKEN_EXPIRED",
                "The download token has expired: ask for a new one",
            ));
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "DOWNLOAD_TOKEN_INVALID",
                "The download token is not valid for this recording",
            ));
        }
    }
    drop(inner);
    Ok(found(&signed_url(
        &shared,
        &format!("{}.wav", media.id_string()),
        now,
    )))
}

/// `GET /recording/v1/transcriptions/{transcriptId}`: 302 to the transcript JSON. A recording's
/// id works too (its `transcriptEnabled` is true), as GoTo's overview says "the same id" does.
pub(crate) async fn transcription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    check(&shared, &headers, Need::RecordingRead)?;
    let now = now_ms();
    let gone = |m: &Media| shared.lock().media.is_gone(m.id);
    let transcript = resolve(&shared, &id, now)
        .filter(|m| m.kind != MediaKind::Duplicate && m.uploaded_ms <= now && !gone(m))
        .and_then(|m| of_call(&shared, &m.call, MediaKind::Transcript))
        .filter(|t| !gone(t));
    let transcript = transcript.ok_or_else(|| not_found("transcript", &id))?;
    Ok(found(&signed_url(
        &shared,
        &format!("{}.json", transcript.id_string()),
        now,
    )))
}
