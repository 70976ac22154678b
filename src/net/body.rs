//! Reading answers with a size cap: a server that sends an endless or huge body must end in a
//! clear error, not grow cer until the allocator aborts. The caps are generous: far above any
//! answer GoTo documents, far below what hurts a machine.

use bytes::{Bytes, BytesMut};

/// A REST answer: one report (kilobytes) or one page of at most 1,000 summaries (a few MB).
pub const MAX_API_BODY: usize = 32 * 1024 * 1024;
/// An OAuth token answer: a few kilobytes of JSON.
pub const MAX_TOKEN_BODY: usize = 1024 * 1024;
/// One WebSocket message or frame: notifications are small JSON objects.
pub const MAX_WEBSOCKET_MESSAGE: usize = 4 * 1024 * 1024;

/// Why a capped body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body passed this many bytes.
    #[error("the answer is larger than {} MiB, more than GoTo ever sends", .0 / (1024 * 1024))]
    TooLarge(usize),
    /// The connection failed while the body was read.
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// The whole body of `response`, or [`BodyError::TooLarge`] as soon as it passes `limit`
/// (before reading anything when `Content-Length` already says so).
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
