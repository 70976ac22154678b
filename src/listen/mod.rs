//! The listen engine: keeps a channel, its subscriptions and a WebSocket alive forever, fetches
//! each finished call's report, backfills gaps from report summaries and dedupes, and tells a
//! renderer about it through typed [`ListenEvent`](crate::events::ListenEvent)s, so none of it
//! needs a terminal to test.

mod backfill;
mod engine;
mod error;
pub(crate) mod first_connection;
mod flood;
mod gap;
mod handoff;
mod ledger;
mod pump;
mod session;
mod timing;

use std::path::PathBuf;
use std::time::Duration;

pub use crate::clock::{Clock, SystemClock};
pub use engine::Engine;
pub use error::{ListenError, NeedsStart};
pub use handoff::{Handoff, LiveWork};
pub use ledger::{OVERLAP, REMEMBER_AT_MOST};
pub use timing::Timing;

/// Everything the engine needs to know, resolved from flags and settings.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// The accounts to subscribe to and backfill (`--account-key`, else `ACCOUNT_KEY`).
    pub account_keys: Vec<String>,
    /// The Call Events Report event types to subscribe to (`--event-types`, upper case;
    /// `REPORT_SUMMARY` by default).
    pub event_types: Vec<String>,
    /// Where the first backfill starts.
    pub start: StartFrom,
    /// Backfill after reconnects (and at start); `--no-backfill` turns it off.
    pub backfill: bool,
    /// The longest call expected (`--max-call-duration`, 4 h by default): a backfill looks
    /// this far behind its start for calls that began earlier and ended inside the gap.
    pub max_call_duration: Duration,
    /// `CER_STATE_DIR`: the default store lives here, and cursor files of older versions are
    /// imported from here.
    pub state_dir: PathBuf,
    /// The nickname the notification channel is created under (`cer`).
    pub channel_nickname: String,
    /// Reconnect backoff, keep-alive and shutdown limits, shrunk by `CER_TIME_SCALE` in tests.
    pub timing: Timing,
    /// `HTTPS_PROXY` / `NO_PROXY` for the WebSocket.
    pub proxy: Option<crate::api::proxy::ProxyConfig>,
    /// The most recent IDs each account remembers in memory ([`REMEMBER_AT_MOST`]; tests
    /// set fewer); the store answers for the rest.
    pub remember_at_most: usize,
    /// Also subscribe the channel to uploaded recordings and transcripts (`--archive` with
    /// the scope `recording.v1.notifications.manage`).
    pub recording_notifications: bool,
}

/// Where the first backfill starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// From the saved cursor, if there is one; else only calls that end from now on.
    Cursor,
    /// From this long ago (`--since`).
    Since(Duration),
}
