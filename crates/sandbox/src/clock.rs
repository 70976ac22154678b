//! The two background clocks: the notifier, which announces each scheduled call at its callEnded
//! instant to the channels subscribed then, and the channel keeper, which asks for a refresh at
//! half-life and expires channels at end of life.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use super::calls::MAX_CALL_MS;
use super::channels::purge_expired;
use super::notify::{control_frame, csat_of, notify_call};
use super::socket_cmd::SocketCmd;
use super::state::Shared;
use super::time::now_ms;

/// Never sleep longer than this, so wall-clock jumps are noticed.
const MAX_SLEEP_MS: i64 = 60_000;

fn sleep_ms(ms: i64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(ms.clamp(1, MAX_SLEEP_MS) as u64))
}

/// Announces scheduled calls as they end. Calls that ended before the sandbox started are not
/// announced (nobody could have subscribed to them).
pub(crate) async fn run_notifier(shared: Arc<Shared>) {
    let Some(schedule) = shared.schedule.clone() else {
        return;
    };
    let start = now_ms();
    let every = schedule.every_ms();
    let mut next_slot = schedule.slot_of(start - MAX_CALL_MS).max(0);
    let mut pending: BinaryHeap<Reverse<(i64, u128)>> = BinaryHeap::new();
    loop {
        let now = now_ms();
        // A slot cannot create its call before the slot starts, so slots are queued as they open.
        while next_slot.saturating_mul(every) <= now {
            if let Some(call) = schedule.call(&shared.dir, next_slot as u64)
                && call.ended_ms > start
            {
                pending.push(Reverse((call.ended_ms, call.id)));
            }
            next_slot += 1;
        }
        while let Some(Reverse((ended, id))) = pending.peek().copied() {
            if ended > now {
                break;
            }
            pending.pop();
            notify_call(&shared, id, csat_of(id));
        }
        let next_end = pending.peek().map_or(i64::MAX, |Reverse((e, _))| *e);
        let next_due = next_end.min(next_slot.saturating_mul(every));
        sleep_ms(next_due - now_ms()).await;
    }
}

/// Keeps channel lifetimes: WEBSOCKET_REFRESH_REQUIRED once when half the lifetime is left,
/// expiry (sockets closed, subscriptions removed) at the end.
pub(crate) async fn run_keeper(shared: Arc<Shared>) {
    loop {
        let next = tick_channels(&shared, now_ms());
        let wait = next.map_or(MAX_SLEEP_MS, |t| t - now_ms());
        tokio::select! {
            _ = sleep_ms(wait) => {}
            _ = shared.keeper_wake.notified() => {}
        }
    }
}

/// Does what is due now; returns the next instant something will be due.
fn tick_channels(shared: &Shared, now: i64) -> Option<i64> {
    let half = i64::try_from(shared.config.channel_lifetime.as_millis() / 2).unwrap_or(i64::MAX);
    let mut inner = shared.lock();
    purge_expired(&mut inner, now);
    let mut next: Option<i64> = None;
    for c in &mut inner.channels {
        let refresh_at = c.expires_ms.saturating_sub(half);
        if !c.refresh_sent && now >= refresh_at {
            c.refresh_sent = true;
            let frame = control_frame(shared.next_event_id(), "WEBSOCKET_REFRESH_REQUIRED");
            for tx in c.sockets.values() {
                let _ = tx.send(SocketCmd::Text(frame.clone()));
            }
        }
        let due = if c.refresh_sent {
            c.expires_ms
        } else {
            refresh_at.min(c.expires_ms)
        };
        next = Some(next.map_or(due, |n| n.min(due)));
    }
    next
}
