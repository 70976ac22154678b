//! Recording notifications: when a call's recording (and a second one, when another device
//! rang) and its transcript are uploaded, channels subscribed to the account's recording events
//! hear `RECORDING_UPLOADED` / `RECORDING_TRANSCRIPT_UPLOADED` on their socket, in GoTo's
//! envelope, with the id spelled `recordingId` (documented) or `recording_id` (seen live).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::analysis::recording_upload_ms;
use super::calls::MAX_CALL_MS;
use super::history::find;
use super::media_ids::MediaKind;
use super::media_state::IdSpelling;
use super::recordings::{Media, of_call, upload_ms};
use super::socket_cmd::SocketCmd;
use super::state::Shared;
use super::time::{fmt_now_nanos, now_ms};

/// Never sleep longer than this, so wall-clock jumps are noticed.
const MAX_SLEEP_MS: i64 = 60_000;
/// Slots looked back at start at most, whatever the delays (recordings due later than that
/// after the sandbox started are not announced).
const MAX_BACK_SLOTS: i64 = 200_000;

/// A recording notification frame.
pub(crate) fn recording_frame(event_id: u64, kind: &str, id: &str, spelling: IdSpelling) -> String {
    let content = match spelling {
        IdSpelling::Camel => json!({ "recordingId": id }),
        IdSpelling::Snake => json!({ "recording_id": id }),
    };
    json!({
        "event": "Notification",
        "eventId": event_id,
        "timestamp": fmt_now_nanos(),
        "data": {
            "source": "recording-service",
            "type": kind,
            "usage": "VOIP",
            "timestamp": fmt_now_nanos(),
            "ttl": 3600,
            "bypassDoNotDisturb": false,
            "contentVersion": 1,
            "content": content,
        },
    })
    .to_string()
}

/// What a recorded call's upload announces, in order.
fn events(shared: &Shared, call_id: u128) -> Vec<(&'static str, Media)> {
    let Some(call) = find(shared, call_id) else {
        return Vec::new();
    };
    [
        (MediaKind::Recording, "RECORDING_UPLOADED"),
        (MediaKind::Duplicate, "RECORDING_UPLOADED"),
        (MediaKind::Transcript, "RECORDING_TRANSCRIPT_UPLOADED"),
    ]
    .into_iter()
    .filter_map(|(kind, event)| Some((event, of_call(shared, &call, kind)?)))
    .collect()
}

/// Sends a call's recording notifications to every channel subscribed to them.
pub(crate) fn announce(shared: &Shared, call_id: u128) {
    let events = events(shared, call_id);
    let inner = shared.lock();
    let account = &shared.dir.account_key;
    for channel in inner.channels.iter().filter(|c| !c.sockets.is_empty()) {
        let wants = |event: &str| {
            inner.media.subscriptions.iter().any(|s| {
                s.channel_id == channel.id
                    && s.account_key == *account
                    && s.event_types.iter().any(|t| t == event)
            })
        };
        for (event, media) in events.iter().filter(|(e, _)| wants(e)) {
            let spelling = media.id_spelling(inner.media.id_spelling);
            let frame =
                recording_frame(shared.next_event_id(), event, &media.id_string(), spelling);
            for tx in channel.sockets.values() {
                let _ = tx.send(SocketCmd::Text(frame.clone()));
            }
        }
    }
}

/// Announces uploads as they happen: scheduled calls' (queued as their slots open) and those of
/// calls placed by hand (handed over through the shared state). Uploads due before the sandbox
/// started are not announced.
pub(crate) async fn run_recording_notifier(shared: Arc<Shared>) {
    let Some(delay) = shared.config.analysis_delay_ms() else {
        return;
    };
    let start = now_ms();
    let schedule = shared.schedule.clone();
    let reach = MAX_CALL_MS.saturating_add(delay.saturating_mul(10));
    let mut next_slot = schedule.as_ref().map_or(0, |s| {
        s.slot_of(start.saturating_sub(reach))
            .max(s.slot_of(start) - MAX_BACK_SLOTS)
            .max(0)
    });
    let mut pending: BinaryHeap<Reverse<(i64, u128)>> = BinaryHeap::new();
    loop {
        let now = now_ms();
        if let Some(s) = &schedule {
            // Only calls placed by hand are recorded by force: a slot's call is as drawn.
            let recorded = shared.lock().media.unplaced();
            while next_slot.saturating_mul(s.every_ms()) <= now {
                let due = s
                    .call(&shared.dir, next_slot as u64)
                    .and_then(|c| Some((recording_upload_ms(&c, Some(delay), recorded)?, c.id)));
                if let Some((at, id)) = due.filter(|(at, _)| *at > start) {
                    pending.push(Reverse((at, id)));
                }
                next_slot += 1;
            }
        }
        let placed = std::mem::take(&mut shared.lock().media.placed);
        for id in placed {
            if let Some(at) = find(&shared, id).and_then(|c| upload_ms(&shared, &c)) {
                pending.push(Reverse((at, id)));
            }
        }
        while let Some(Reverse((at, id))) = pending.peek().copied() {
            if at > now {
                break;
            }
            pending.pop();
            announce(&shared, id);
        }
        let next_slot_at = schedule
            .as_ref()
            .map_or(i64::MAX, |s| next_slot.saturating_mul(s.every_ms()));
        let next_due = pending
            .peek()
            .map_or(i64::MAX, |Reverse((at, _))| *at)
            .min(next_slot_at);
        let wait = (next_due.saturating_sub(now_ms())).clamp(1, MAX_SLEEP_MS) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = shared.media_wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;
    use crate::media_state::TokenShape;
    use crate::recordings::resolve;

    /// A sandbox's world with a call every 10 s and GoTo's default delays, without a server.
    fn shared() -> Shared {
        let config = SandboxConfig {
            call_every: Some(Duration::from_secs(10)),
            ..SandboxConfig::default()
        };
        Shared::new(config, 1, 2)
    }

    #[test]
    fn a_call_two_devices_recorded_announces_two_recordings_and_one_transcript() {
        let shared = shared();
        let schedule = shared.schedule.clone().expect("a schedule");
        let call = (1_790_000_000u64..1_790_020_000)
            .filter_map(|i| schedule.call(&shared.dir, i))
            .find(|c| super::super::recordings::has_duplicate(c) && upload_ms(&shared, c).is_some())
            .expect("a recorded call that rang two devices");
        let events = events(&shared, call.id);
        let kinds: Vec<(&str, MediaKind)> = events.iter().map(|(e, m)| (*e, m.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("RECORDING_UPLOADED", MediaKind::Recording),
                ("RECORDING_UPLOADED", MediaKind::Duplicate),
                ("RECORDING_TRANSCRIPT_UPLOADED", MediaKind::Transcript),
            ]
        );
        let after = call.ended_ms + 86_400_000;
        for (_, media) in &events {
            let found = resolve(&shared, &media.id_string(), after).expect("resolves");
            assert_eq!((found.kind, found.call.id), (media.kind, call.id));
            assert!(
                resolve(&shared, &media.id_string(), call.ended_ms - 1).is_none(),
                "not before the call ended"
            );
        }
        let call_id = crate::rng::format_uuid(call.id);
        assert!(
            resolve(&shared, &call_id, after).is_none(),
            "a conversationSpaceId is no recording id"
        );
    }

    #[test]
    fn recordings_differ_in_token_shape_and_id_spelling_unless_a_knob_says() {
        let shared = shared();
        let schedule = shared.schedule.clone().expect("a schedule");
        let media: Vec<Media> = (1_790_000_000u64..1_790_000_400)
            .filter_map(|i| schedule.call(&shared.dir, i))
            .filter_map(|c| of_call(&shared, &c, MediaKind::Recording))
            .collect();
        assert!(media.len() > 30, "{}", media.len());
        let documented = media
            .iter()
            .filter(|m| m.token_shape(None) == TokenShape::Documented);
        let camel = media
            .iter()
            .filter(|m| m.id_spelling(None) == IdSpelling::Camel);
        let (documented, camel) = (documented.count(), camel.count());
        assert!(
            documented > 5 && documented < media.len() - 5,
            "{documented}"
        );
        assert!(camel > 5 && camel < media.len() - 5, "{camel}");
        for m in &media {
            assert_eq!(m.token_shape(Some(TokenShape::Live)), TokenShape::Live);
            assert_eq!(m.id_spelling(Some(IdSpelling::Snake)), IdSpelling::Snake);
        }
    }

    #[test]
    fn notifications_spell_the_id_as_asked() {
        let camel: serde_json::Value = serde_json::from_str(&recording_frame(
            1,
            "RECORDING_UPLOADED",
            "x",
            IdSpelling::Camel,
        ))
        .unwrap_or_default();
        assert_eq!(camel["data"]["content"], json!({ "recordingId": "x" }));
        assert_eq!(camel["data"]["usage"], "VOIP");
        let snake: serde_json::Value = serde_json::from_str(&recording_frame(
            2,
            "RECORDING_UPLOADED",
            "x",
            IdSpelling::Snake,
        ))
        .unwrap_or_default();
        assert_eq!(snake["data"]["content"], json!({ "recording_id": "x" }));
    }
}
