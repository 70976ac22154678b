//! Read-only snapshots the [`super::Sandbox`] handle hands to tests and the CLI.

use jiff::Timestamp;

/// A call placed by hand with [`super::Sandbox::place_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    /// The id that summaries, reports and REPORT_SUMMARY notifications carry.
    pub conversation_space_id: String,
    /// `callCreated`, to the millisecond.
    pub call_created: Timestamp,
    /// `callEnded`: the moment the call was placed.
    pub call_ended: Timestamp,
}

/// One request the simulator saw (never its headers or body, which may hold secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The status the simulator answered (101 for a WebSocket upgrade).
    pub status: u16,
    /// Whether an `Authorization: Bearer …` header came with it.
    pub bearer: bool,
}

/// A notification channel that is alive now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    /// The `{channelNickname}` it was created with.
    pub nickname: String,
    /// The `channelId` the simulator gave it.
    pub channel_id: String,
    /// Open WebSocket connections on its channelURL.
    pub connected_sockets: usize,
    /// When it expires unless refreshed.
    pub expires_at: Timestamp,
}

/// A Call Events Report subscription that is alive now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    /// The subscription's id.
    pub id: String,
    /// The channel its notifications go to.
    pub channel_id: String,
    /// The account whose calls it reports.
    pub account_key: String,
    /// `REPORT_SUMMARY` and/or `LEGACY` (what a subscription without `eventTypes` gets).
    pub event_types: Vec<String>,
}

/// One request the storage host (the second address, where recordings and transcripts are
/// downloaded from) saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRequest {
    /// The path, without the signed query.
    pub path: String,
    /// The status it answered.
    pub status: u16,
    /// Whether an `Authorization` header came with it (a client must never send GoTo's bearer
    /// token to the storage host; the host refuses such requests with 400, as S3 does).
    pub authorization: bool,
}
