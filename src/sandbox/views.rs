//! Read-only snapshots the [`super::Sandbox`] handle hands to tests and the CLI.

use jiff::Timestamp;

/// A call placed by hand with [`super::Sandbox::place_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub conversation_space_id: String,
    pub call_created: Timestamp,
    pub call_ended: Timestamp,
}

/// One request the simulator saw (never its headers or body, which may hold secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    pub status: u16,
    /// Whether an `Authorization: Bearer …` header came with it.
    pub bearer: bool,
}

/// A notification channel that is alive now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub nickname: String,
    pub channel_id: String,
    pub connected_sockets: usize,
    pub expires_at: Timestamp,
}

/// A Call Events Report subscription that is alive now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    pub id: String,
    pub channel_id: String,
    pub account_key: String,
    pub event_types: Vec<String>,
}
