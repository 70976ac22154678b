//! What the server pushes on channel sockets: REPORT_SUMMARY notifications for subscribed
//! channels, and the notification-websocket control messages, in GoTo's envelope.

use serde_json::{Value, json};

use super::rng::{format_uuid, hash};
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

/// `{"source":"call-events-report","type":"REPORT_SUMMARY",…}`, with the call's satisfaction
/// score and feedback when it has them.
pub(crate) fn summary_frame(
    event_id: u64,
    conversation_space_id: &str,
    csat: Option<Value>,
) -> String {
    let mut content = json!({ "conversationSpaceId": conversation_space_id });
    if let (Some(csat), Some(obj)) = (csat, content.as_object_mut()) {
        obj.insert("csat".into(), csat);
    }
    envelope(
        event_id,
        json!({
            "source": "call-events-report",
            "type": "REPORT_SUMMARY",
            "timestamp": fmt_now_nanos(),
            "content": content,
            "bypassDoNotDisturb": null,
        }),
    )
}

const D_CSAT: u64 = 0xC5A7;
const FEEDBACK: [&str; 3] = ["Friendly and quick.", "", "Nobody called me back."];

/// GoTo (2025-12): REPORT_SUMMARY notifications carry the call's CSAT score and open feedback.
/// The field names were not published: `csat.score`, `csat.feedback` are a guess, so clients
/// meet a notification carrying more than `conversationSpaceId` and must pass it by. A call of
/// the history has them one time in four; a call placed by hand never does.
pub(crate) fn csat_of(id: u128) -> Option<Value> {
    let bits = hash(&[id as u64, (id >> 64) as u64, D_CSAT]);
    bits.is_multiple_of(4).then(|| {
        json!({
            "score": 1 + (bits >> 8) % 5,
            "feedback": FEEDBACK[((bits >> 16) % 3) as usize],
        })
    })
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
pub(crate) fn notify_call(shared: &Shared, id: u128, csat: Option<Value>) {
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
            let frame = summary_frame(shared.next_event_id(), &id, csat.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_the_history_carries_csat_and_every_frame_names_its_call() {
        let with = (0..400u128).filter(|k| csat_of(k * 7919).is_some()).count();
        assert!((60..140).contains(&with), "{with} of 400");
        let id = (0..u128::MAX).find(|k| csat_of(*k).is_some()).unwrap();
        let frame: Value = serde_json::from_str(&summary_frame(1, "x", csat_of(id))).unwrap();
        let content = &frame["data"]["content"];
        assert_eq!(content["conversationSpaceId"], "x");
        assert!(
            content["csat"]["score"]
                .as_u64()
                .is_some_and(|s| (1..=5).contains(&s))
        );
        assert_eq!(csat_of(id), csat_of(id), "the same call, the same score");
    }
}
