//! GoTo's Recording API as cer uses it: a short-lived content token, then the audio behind a
//! redirect to a storage host, and transcripts behind the same kind of redirect. The token and
//! the address GoTo redirects to are secrets, and the bearer token goes to GoTo's API host only:
//! the redirect is followed by hand, bounded, with no `Authorization` header.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use url::Url;

use super::client::{ApiClient, ApiRequest};
use crate::net::ApiError;
use crate::net::body::{BodyError, MAX_API_BODY, read_capped};
use crate::net::describe_transport;
use crate::secret::Secret;

/// How many redirects a download follows after GoTo's own.
const MAX_REDIRECTS: usize = 5;
/// How long one download may take in all, body included.
const DOWNLOAD_TIME: Duration = Duration::from_secs(30 * 60);
/// How long a download may stall between two chunks.
const STALL: Duration = Duration::from_secs(60);
/// The largest recording cer downloads: hours of compressed audio are far below it.
pub const MAX_RECORDING_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// What a token must have encoded to be one path segment: all but RFC 3986's unreserved.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The longest ID cer accepts from GoTo (GoTo's are UUIDs).
const MAX_ID_LEN: usize = 128;

/// Why a recording or transcript could not be had.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// GoTo answered 400: the recording is not uploaded yet; try again later.
    #[error("GoTo has not finished uploading it yet")]
    NotReady,
    /// GoTo answered 404: it no longer has it (or never had it).
    #[error("GoTo no longer has it (404)")]
    Gone,
    /// The download was refused with the token GoTo gave: a new token is needed.
    #[error("the download token was refused")]
    TokenRefused,
    /// An ID from GoTo that is not a plain ID: refused, never used in a URL or a path.
    #[error(transparent)]
    BadId(#[from] BadId),
    /// The request to GoTo failed otherwise.
    #[error(transparent)]
    Api(ApiError),
    /// The storage host GoTo redirected to failed, or sent more than cer accepts.
    #[error("the download failed: {0}")]
    Download(String),
}

impl RecordingError {
    /// Whether trying again later may succeed (not ready, a server or network failure).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NotReady | Self::TokenRefused | Self::Download(_) => true,
            Self::Api(err) => err.is_transient(),
            Self::Gone | Self::BadId(_) => false,
        }
    }
}

/// An ID from GoTo that cannot be part of a path or URL.
#[derive(Debug, thiserror::Error)]
#[error("GoTo sent an ID that is not a plain ID ({}): refused", crate::escape::terminal_safe(.0))]
pub struct BadId(String);

/// An ID from GoTo checked to be plain: letters, digits, `-` and `_`, at most 128 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaId(String);

impl MediaId {
    /// Checks `text`; anything but a plain ID is refused.
    pub fn parse(text: &str) -> Result<Self, BadId> {
        let plain = !text.is_empty()
            && text.len() <= MAX_ID_LEN
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if plain {
            Ok(Self(text.to_string()))
        } else {
            let shown: String = text.chars().take(MAX_ID_LEN).collect();
            Err(BadId(shown))
        }
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MediaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a content token (a download token, a secret) in either shape GoTo has used: the
/// documented `{"token": "…", "expires": "…"}` and the one seen live,
/// `{"token": {"token": "…", "expires": "…"}, "status": "UPLOADED"}`. Its expiry is not read:
/// cer uses a token at once, and asks for a new one when the storage host refuses it.
pub fn parse_content_token(body: &[u8]) -> Result<Secret, ApiError> {
    let unreadable = || {
        ApiError::InvalidBody(
            "the content token answer has no token (neither {\"token\": \"…\"} nor \
             {\"token\": {\"token\": \"…\"}})"
                .to_string(),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| unreadable())?;
    let holder = match value.get("token") {
        Some(Value::Object(_)) => &value["token"],
        Some(Value::String(_)) => &value,
        _ => return Err(unreadable()),
    };
    let token = holder
        .get("token")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .ok_or_else(unreadable)?;
    Ok(Secret::new(token))
}

/// Asks GoTo for a download token of recording `id`.
pub async fn content_token(api: &ApiClient, id: &MediaId) -> Result<Secret, RecordingError> {
    let request = ApiRequest::get(format!("/recording/v1/recordings/{id}/content"));
    let response = api.send(&request).await.map_err(answer_error)?;
    parse_content_token(&response.body).map_err(RecordingError::Api)
}

/// What GoTo's errors mean for a recording: 400 not ready yet, 404 gone.
fn answer_error(err: ApiError) -> RecordingError {
    match err {
        ApiError::Rejected { status: 400, .. } => RecordingError::NotReady,
        ApiError::NotFound { .. } => RecordingError::Gone,
        other => RecordingError::Api(other),
    }
}

/// A download under way: its content type, announced length and body.
#[derive(Debug)]
pub struct Download {
    response: reqwest::Response,
    /// The content type the storage host announced (`application/octet-stream` if none).
    pub content_type: String,
    /// The length it announced, if any.
    pub length: Option<u64>,
    received: u64,
    limit: u64,
}

impl Download {
    fn new(response: reqwest::Response, limit: u64) -> Result<Self, RecordingError> {
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map_or("application/octet-stream", |v| v.trim())
            .to_string();
        let length = response.content_length();
        if length.is_some_and(|length| length > limit) {
            return Err(too_large(limit));
        }
        Ok(Self {
            response,
            content_type,
            length,
            received: 0,
            limit,
        })
    }

    /// The next piece of the body, `None` at its end; an error when it stalls, breaks or
    /// passes the size limit.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, RecordingError> {
        let next = tokio::time::timeout(STALL, self.response.chunk())
            .await
            .map_err(|_| RecordingError::Download(format!("stalled for {}s", STALL.as_secs())))?
            .map_err(|err| RecordingError::Download(describe_transport(&err)))?;
        if let Some(chunk) = &next {
            self.received += chunk.len() as u64;
            if self.received > self.limit {
                return Err(too_large(self.limit));
            }
        } else if self.length.is_some_and(|length| length != self.received) {
            return Err(RecordingError::Download(
                "the body was cut short".to_string(),
            ));
        }
        Ok(next)
    }
}

fn too_large(limit: u64) -> RecordingError {
    RecordingError::Download(format!("larger than {} MiB", limit / (1024 * 1024)))
}

/// Opens the audio of recording `id`: a token, GoTo's redirect, the storage host's answer.
/// A token refused is replaced by a new one, once.
pub async fn download_recording(
    api: &ApiClient,
    id: &MediaId,
    limit: u64,
) -> Result<Download, RecordingError> {
    let mut refused = false;
    loop {
        let opened = match recording_address(api, id).await {
            Ok(address) => open_recording(api.http(), address, limit).await,
            Err(err) => Err(err),
        };
        match opened {
            Err(RecordingError::TokenRefused) if !refused => {
                tracing::debug!(recording = %id, "download token refused; asking for a new one");
                refused = true;
            }
            other => return other,
        }
    }
}

/// Where the audio of recording `id` is now: a new download token, and the address GoTo
/// redirects it to (a secret: it may carry a signature). Only this part talks to GoTo.
pub async fn recording_address(api: &ApiClient, id: &MediaId) -> Result<Url, RecordingError> {
    let token = content_token(api, id).await?;
    let path = format!(
        "/recording/v1/recordings/{id}/content/{}",
        percent_encoding::utf8_percent_encode(token.expose(), PATH_SEGMENT)
    );
    let request = ApiRequest::get(path)
        .redirected()
        .shown_as(format!("/recording/v1/recordings/{id}/content/(token)"));
    let response = api.send(&request).await.map_err(|err| match err {
        ApiError::NotFound { .. } => RecordingError::Gone,
        ApiError::Unauthorized { .. }
        | ApiError::Forbidden { .. }
        | ApiError::Rejected {
            status: 400 | 410, ..
        } => RecordingError::TokenRefused,
        other => RecordingError::Api(other),
    })?;
    redirect_target(api, response.location.as_ref())
}

/// Opens the audio at `address` (from [`recording_address`]) with `http`, which sends no
/// `Authorization` header: the storage host never sees GoTo's bearer token.
pub async fn open_recording(
    http: &reqwest::Client,
    address: Url,
    limit: u64,
) -> Result<Download, RecordingError> {
    let answer = follow(http, address).await?;
    Download::new(answer, limit)
}

/// Where GoTo's redirect points, resolved against the API base: a secret.
fn redirect_target(api: &ApiClient, location: Option<&Secret>) -> Result<Url, RecordingError> {
    let location = location.ok_or_else(|| {
        RecordingError::Api(ApiError::InvalidBody(
            "GoTo answered without the redirect to the content".to_string(),
        ))
    })?;
    api.base()
        .join(location.expose())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| RecordingError::Download("GoTo redirected to an unusable address".into()))
}

/// GETs `url` with no `Authorization` header, following up to [`MAX_REDIRECTS`] more redirects
/// by hand. Errors never show the address (it may carry a signature), only its host.
async fn follow(http: &reqwest::Client, mut url: Url) -> Result<reqwest::Response, RecordingError> {
    for _ in 0..=MAX_REDIRECTS {
        let response = http
            .get(url.clone())
            .timeout(DOWNLOAD_TIME)
            .send()
            .await
            .map_err(|err| RecordingError::Download(describe_transport(&err)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.is_redirection() {
            url = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| url.join(v).ok())
                .filter(|next| matches!(next.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    RecordingError::Download("a redirect without a usable address".into())
                })?;
            continue;
        }
        let host = url.host_str().unwrap_or("?").to_string();
        return Err(match status.as_u16() {
            404 | 410 => RecordingError::Gone,
            401 | 403 => RecordingError::TokenRefused,
            _ => RecordingError::Download(format!("{host} answered {status}")),
        });
    }
    Err(RecordingError::Download(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// The transcript `id` (a transcript's id, or a recording's with `transcriptEnabled`), exactly
/// as GoTo's storage sent it; checked to be JSON.
pub async fn fetch_transcript(api: &ApiClient, id: &MediaId) -> Result<Bytes, RecordingError> {
    let request = ApiRequest::get(format!("/recording/v1/transcriptions/{id}")).redirected();
    let response = api.send(&request).await.map_err(answer_error)?;
    let body = match response.location {
        // Not documented, but harmless: the JSON itself instead of a redirect to it.
        None => response.body,
        Some(_) => {
            let url = redirect_target(api, response.location.as_ref())?;
            let answer = follow(api.http(), url).await?;
            read_capped(answer, MAX_API_BODY)
                .await
                .map_err(|err| match err {
                    BodyError::Transport(err) => RecordingError::Download(describe_transport(&err)),
                    too_large @ BodyError::TooLarge(_) => {
                        RecordingError::Download(too_large.to_string())
                    }
                })?
        }
    };
    serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(|err| {
        RecordingError::Api(ApiError::InvalidBody(format!(
            "the transcript is not JSON ({err})"
        )))
    })?;
    Ok(body)
}

#[cfg(test)]
mod tests;
