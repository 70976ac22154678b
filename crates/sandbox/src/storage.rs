//! The storage host: a second loopback address, like the object store GoTo redirects recording
//! downloads to, serving the audio and transcripts at short-lived signed URLs. It must never see
//! GoTo's bearer token: a request with an `Authorization` header is refused (400, as S3 refuses
//! a second authentication) and logged, so tests can prove a client does not send it there.
//! Slow and cut downloads are its faults.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::BytesMut;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::media::{AUDIO_CONTENT_TYPE, AudioReader};
use super::media_ids::MediaKind;
use super::media_state::MediaState;
use super::recordings::resolve;
use super::request::query_pairs;
use super::state::Shared;
use super::time::now_ms;
use super::views::StorageRequest;

/// How long a signed URL works.
pub(crate) const URL_LIFETIME_MS: i64 = 60_000;
/// Bytes per piece of a download at full speed.
const PIECE: usize = 64 * 1024;
/// A cut download waits this long after its last byte before dropping the connection.
const CUT_GRACE: Duration = Duration::from_millis(50);
/// A slow download sends a piece this often.
const SLOW_TICK: Duration = Duration::from_millis(100);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/media/{name}", get(download))
        .fallback(|| async {
            s3_error(StatusCode::NOT_FOUND, "NoSuchKey", "The key does not exist")
        })
        .with_state(shared)
}

fn signature(shared: &Shared, name: &str, expires: i64) -> String {
    let mut h = Sha256::new();
    h.update(shared.storage_key);
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(expires.to_string().as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A signed URL for `name` (`ID.wav` or `ID.json`) that works until `now + URL_LIFETIME_MS`.
pub(crate) fn signed_url(shared: &Shared, name: &str, now: i64) -> String {
    let expires = (now + URL_LIFETIME_MS) / 1000;
    let sig = signature(shared, name, expires);
    format!(
        "{}/media/{name}?X-Sandbox-Expires={expires}&X-Sandbox-Signature={sig}",
        shared.storage_base
    )
}

/// An error in S3's XML shape: the storage host is not GoTo's API.
#[derive(Debug, Clone, Copy)]
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

fn s3_error(status: StatusCode, code: &'static str, message: &'static str) -> S3Error {
    S3Error {
        status,
        code,
        message,
    }
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
            self.code, self.message
        );
        (
            self.status,
            [(header::CONTENT_TYPE, "application/xml")],
            body,
        )
            .into_response()
    }
}

/// What a download serves: the audio, made piece by piece, or a transcript's bytes.
#[derive(Debug, Clone)]
enum Source {
    Audio(Arc<AudioReader>),
    Json(Bytes),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Audio(a) => a.total_len(),
            Source::Json(b) => b.len() as u64,
        }
    }
}

/// Audio pieces made before a buffer is used again: more than the server holds for the socket
/// at once, so a buffer's memory is usually free again when its turn comes. Correctness does
/// not depend on it: a buffer whose piece is still held is given new memory instead.
const BUFFERS: usize = 8;

/// The buffers a download's audio pieces are made in, used in turn. A piece allocated afresh
/// each time cost the simulator most of its CPU for a 100 MB download (the allocator gave the
/// freed pieces back to the kernel and faulted new pages in for the next), on the two cores
/// it shares with the client it serves.
struct Pieces {
    source: Source,
    buffers: [BytesMut; BUFFERS],
    next: usize,
}

impl Pieces {
    fn new(source: Source) -> Self {
        Self {
            source,
            buffers: Default::default(),
            next: 0,
        }
    }

    /// Bytes `from..from + len` of the source (fewer at its end).
    fn read(&mut self, from: u64, len: usize) -> Bytes {
        match &self.source {
            Source::Audio(audio) => {
                let buffer = &mut self.buffers[self.next];
                self.next = (self.next + 1) % BUFFERS;
                // Takes the buffer's memory back when the piece last made in it is gone.
                buffer.reserve(len);
                audio.read_into(from, len, buffer);
                buffer.split().freeze()
            }
            Source::Json(b) => {
                let start = (from as usize).min(b.len());
                b.slice(start..b.len().min(start.saturating_add(len)))
            }
        }
    }
}

/// `GET /media/{name}?X-Sandbox-Expires&X-Sandbox-Signature`
async fn download(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let authorization = headers.contains_key(header::AUTHORIZATION);
    let now = now_ms();
    let answer = check_url(&shared, &name, authorization, raw.as_deref(), now)
        .and_then(|()| plan(&shared, &name, now));
    let status = answer
        .as_ref()
        .map_or_else(|e| e.status, |_| StatusCode::OK);
    shared.lock().media.log_storage(StorageRequest {
        path: format!("/media/{name}"),
        status: status.as_u16(),
        authorization,
    });
    match answer {
        Ok((source, rate, cut)) => stream(source, Serving::new(shared), rate, cut),
        Err(refusal) => refusal.into_response(),
    }
}

/// Refuses a request that carries an `Authorization` header, is not signed for `name`, or has
/// expired (or is made to, by a fault).
fn check_url(
    shared: &Shared,
    name: &str,
    authorization: bool,
    raw: Option<&str>,
    now: i64,
) -> Result<(), S3Error> {
    if authorization {
        let m = "Only one auth mechanism allowed; \
                 only the signed query string or the Authorization header may be given";
        return Err(s3_error(StatusCode::BAD_REQUEST, "InvalidArgument", m));
    }
    let pairs = query_pairs(raw);
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let expires = value("X-Sandbox-Expires").and_then(|v| v.parse::<i64>().ok());
    let signed = expires
        .is_some_and(|e| value("X-Sandbox-Signature") == Some(signature(shared, name, e).as_str()));
    let Some(expires) = expires.filter(|_| signed) else {
        let m = "The request signature we calculated does not match the signature you provided";
        return Err(s3_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", m));
    };
    let forced_expiry = MediaState::take(&mut shared.lock().media.faults.expired_urls);
    if forced_expiry || expires.saturating_mul(1000) < now {
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        ));
    }
    Ok(())
}

/// What to stream for `name` (`ID.wav` or `ID.json`): the source, a rate, a cut point.
fn plan(
    shared: &Shared,
    name: &str,
    now: i64,
) -> Result<(Source, Option<u64>, Option<u64>), S3Error> {
    let no_key = || {
        s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    };
    let (id, ext) = name.split_once('.').ok_or_else(no_key)?;
    let media = resolve(shared, id, now)
        .filter(|m| m.uploaded_ms <= now)
        .filter(|m| match m.kind {
            MediaKind::Recording | MediaKind::Duplicate => ext == "wav",
            MediaKind::Transcript => ext == "json",
        })
        .ok_or_else(no_key)?;
    let (size, rate, cut) = {
        let mut inner = shared.lock();
        let m = &mut inner.media;
        if m.is_gone(media.id) {
            return Err(no_key());
        }
        let cut = m.faults.cut.map(|(after, _)| after);
        if let Some((_, n)) = &mut m.faults.cut {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.faults.cut = None;
            }
        }
        (
            (m.max_bytes, m.recording_bytes),
            m.faults.bytes_per_second,
            cut,
        )
    };
    let source = match media.kind {
        MediaKind::Recording | MediaKind::Duplicate => {
            Source::Audio(Arc::new(media.audio(size.0, size.1).reader()))
        }
        MediaKind::Transcript => Source::Json(Bytes::from(media.transcript_bytes())),
    };
    Ok((source, rate, cut))
}

/// One download being sent, counted from its answer until it is dropped (sent whole, cut, or
/// its client gone), so tests can see how many a client downloads at once.
struct Serving(Arc<Shared>);

impl Serving {
    fn new(shared: Arc<Shared>) -> Self {
        {
            let mut inner = shared.lock();
            let (now, most) = &mut inner.media.downloads;
            *now += 1;
            *most = (*most).max(*now);
        }
        Self(shared)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let now = &mut self.0.lock().media.downloads.0;
        *now = now.saturating_sub(1);
    }
}

/// The 200 with its body made piece by piece: at `rate` bytes a second when slowed, and the
/// connection dropped after `cut` bytes when cut (the Content-Length promised more).
fn stream(source: Source, serving: Serving, rate: Option<u64>, cut: Option<u64>) -> Response {
    let total = source.len();
    let content_type = match source {
        Source::Audio(_) => AUDIO_CONTENT_TYPE,
        Source::Json(_) => "application/json",
    };
    let sending = Sending {
        total,
        stop: cut.unwrap_or(total).min(total),
        rate,
        piece: rate.map_or(PIECE, |r| ((r / 10).max(1) as usize).min(PIECE)),
    };
    let pieces = (0u64, Pieces::new(source));
    let body = futures_util::stream::unfold(pieces, move |(pos, pieces)| sending.next(pos, pieces))
        // The body owns the count of this download: it ends when the body is dropped.
        .map(move |piece| {
            let _counted = &serving;
            piece
        });
    let mut resp = Response::new(axum::body::Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    resp
}

/// How a download's body is sent: its length, where it stops (short of `total` when cut), its
/// pace and piece size.
#[derive(Debug, Clone, Copy)]
struct Sending {
    total: u64,
    stop: u64,
    rate: Option<u64>,
    piece: usize,
}

type Step = (std::io::Result<Bytes>, (u64, Pieces));

impl Sending {
    /// The piece at `pos`, or the cut, or the end.
    async fn next(self, pos: u64, mut pieces: Pieces) -> Option<Step> {
        if pos >= self.stop {
            if pos >= self.total {
                return None;
            }
            // Let the headers and the bytes so far reach the client before the connection
            // drops, as with a transfer that breaks mid-way.
            tokio::time::sleep(CUT_GRACE).await;
            let cut = std::io::Error::other("download cut (sandbox fault)");
            return Some((Err(cut), (self.total, pieces)));
        }
        if self.rate.is_some() {
            tokio::time::sleep(SLOW_TICK).await;
        }
        let len = self.piece.min((self.stop - pos) as usize);
        let bytes = pieces.read(pos, len);
        Some((Ok(bytes), (pos + len as u64, pieces)))
    }
}

#[cfg(test)]
#[path = "storage_tests.rs"]
mod tests;
