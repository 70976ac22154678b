//! What the server pushes on channel sockets: REPORT_SUMMARY notifications for subscribed
//! channels, and the notification-websocket control messages, in GoTo's envelope.

use serde_json::{Value, json};

use super::rng::format_uuid;
use super::socket_cmd::SocketCmd;
use super::state::{Inner, Shared};
use super::time::fmt_now_nanos;

fn envelope(event_id: u64, data: Value) -> String {
    json!({
        "event": "Notification",
        "eventId": event_id,
        "timestamp": fmt_now_nanos(),
        "data": data,
    })
    .to_string()
}

/// `{"source":"call-events-report","type":"REPORT_SUMMARY",…}`
pub(crate) fn summary_frame(event_id: u64, conversation_space_id: &str) -> String {
    envelope(
        event_id,
        json!({
            "source": "call-events-report",
            "type": "REPORT_SUMMARY",
            "timestamp": fmt_now_nanos(),
            "content": { "conversationSpaceId": conversation_space_id },
            "bypassDoNotDisturb": null,
        }),
    )
}

/// `WEBSOCKET_REFRESH_REQUIRED` or `WEBSOCKET_TO_BE_CLOSED`.
pub(crate) fn control_frame(event_id: u64, kind: &str) -> String {
    envelope(
        event_id,
        json!({ "source": "notification-websocket", "type": kind, "content": {} }),
    )
}

/// A well-formed notification from a source cer does not know, which clients must ignore.
pub(crate) fn unknown_frame(event_id: u64) -> String {
    envelope(
        event_id,
        json!({
            "source": "sandbox-future-service",
            "type": "SOMETHING_NEW",
            "timestamp": fmt_now_nanos(),
            "content": { "note": "clients must ignore sources and types they do not know" },
        }),
    )
}

/// Tells every channel subscribed to REPORT_SUMMARY for the account that a call's report is
/// ready. Channels with no socket connected simply miss it, as with GoTo.
pub(crate) fn notify_call(shared: &Shared, id: u128) {
    let id = format_uuid(id);
    let inner = shared.lock();
    let account = &shared.dir.account_key;
    for channel in &inner.channels {
        let subscribed = inner.subscriptions.iter().any(|s| {
            s.channel_id == channel.id
                && s.account_key == *account
                && s.event_types.iter().any(|t| t == "REPORT_SUMMARY")
        });
        if subscribed && !channel.sockets.is_empty() {
            let frame = summary_frame(shared.next_event_id(), &id);
            for tx in channel.sockets.values() {
                let _ = tx.send(SocketCmd::Text(frame.clone()));
            }
        }
    }
}

/// Sends the same command to every socket of every channel.
pub(crate) fn to_every_socket(inner: &Inner, cmd: impl Fn() -> SocketCmd) {
    for tx in inner.channels.iter().flat_map(|c| c.sockets.values()) {
        let _ = tx.send(cmd());
    }
}

/// Sends a control frame on every socket of every channel (one event id per channel).
pub(crate) fn control_everywhere(shared: &Shared, kind: &str) {
    let inner = shared.lock();
    for channel in &inner.channels {
        let frame = control_frame(shared.next_event_id(), kind);
        for tx in channel.sockets.values() {
            let _ = tx.send(SocketCmd::Text(frame.clone()));
        }
    }
}
