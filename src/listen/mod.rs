//! The listen engine: keeps a channel, its subscriptions and a WebSocket alive forever, fetches
//! each finished call's report, backfills gaps from report summaries and dedupes, and tells a
//! renderer about it through typed [`ListenEvent`]s, so none of it needs a terminal to test.

mod backfill;
pub mod cursor_rules;
mod engine;
mod error;
pub mod first_connection;
mod flood;
mod gap;
mod ledger;
mod outbox;
mod pump;
mod session;
pub(crate) mod set_aside;
mod timing;

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::oneshot;

use crate::report::Report;

pub use engine::Engine;
pub use error::{ListenError, NeedsStart};
pub use ledger::{OVERLAP, REMEMBER_AT_MOST};
pub use outbox::{LiveWork, Outbox};
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

/// How a report reached cer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// GoTo announced the call on the WebSocket.
    Notification,
    /// Found in the report summaries after a gap (or at start), not announced.
    Backfill,
}

/// What the engine tells its renderer.
#[derive(Debug)]
pub enum ListenEvent {
    /// Channel, subscriptions and WebSocket are all up for the first time.
    Ready {
        /// The accounts now subscribed to.
        account_keys: Vec<String>,
        /// GoTo's id of the notification channel.
        channel_id: String,
    },
    /// A report to print. The engine records it as emitted once `printed` is answered (or
    /// dropped), so a crash between the two repeats a report rather than losing one.
    Report {
        /// The report as GoTo sent it, every field in GoTo's order.
        report: Report,
        /// Whether it was announced or found by a backfill.
        origin: Origin,
        /// Answered by the renderer once the report is written out.
        printed: oneshot::Sender<()>,
    },
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Failures in a row so far, counting this one (1 for the first).
        attempt: u32,
        /// The backoff before the next attempt.
        delay: Duration,
        /// What was lost or failed, for a person.
        reason: String,
    },
    /// Up again after a reconnect.
    Reconnected,
    /// Reports of calls that ended while cer was not listening are about to be printed, in
    /// `callEnded` order; live ones wait until they are out.
    CatchingUp {
        /// How many reports are about to be printed.
        calls: usize,
        /// True for the calls from before this run started (`--since` or a saved cursor),
        /// false for a gap after a reconnect.
        at_start: bool,
    },
    /// The catch-up announced by [`ListenEvent::CatchingUp`] is done: reports are live again.
    CaughtUp,
    /// Something a person should know, that does not stop listening.
    Warning(String),
    /// A re-fetch found the report changed (post-call analysis came): a new revision is
    /// stored and queued for delivery. Printed only with `--updates`.
    Revision {
        /// The report as GoTo has it now.
        report: Report,
        /// Its revision number (2 for the first change).
        revision: i64,
        /// The revision before it.
        previous: String,
    },
    /// GoTo's Recording API says a recording (or a transcript) was uploaded (`listen
    /// --archive` with the notifications scope); the id is checked plain.
    MediaUploaded {
        /// A transcript's id, else a recording's.
        transcript: bool,
        /// GoTo's id of it.
        id: String,
    },
    /// A re-fetch came to this (`cer_refetches_total{result}`).
    Refetched(RefetchResult),
    /// A report the store refused for good (not a passing failure) was set aside in a file
    /// instead, so it is neither lost nor a reason to stall.
    SetAside {
        /// The call.
        conversation_space_id: String,
        /// Where the report was written.
        path: PathBuf,
        /// Why the store refused it.
        reason: String,
    },
    /// The result of one attempt to deliver a report to a `--forward-to` target.
    Delivery {
        /// The call whose report was forwarded.
        conversation_space_id: String,
        /// The report's revision that was forwarded (1 for the report as first stored).
        revision: i64,
        /// The `--forward-to` target as shown ([`crate::target::ForwardTarget::shown`]).
        target: String,
        /// What the attempt came to.
        result: DeliveryResult,
    },
}

/// What a re-fetch came to, for `cer_refetches_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefetchResult {
    /// A new revision was stored.
    Changed,
    /// GoTo's report is the one stored.
    Unchanged,
    /// No usable answer (404, 5xx, timeout, too big, another call's report).
    Error,
}

impl RefetchResult {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
            Self::Error => "error",
        }
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryResult {
    /// A 2xx answer.
    Delivered {
        /// The receiver's HTTP status.
        status: u16,
        /// From sending the request to its answer.
        elapsed: Duration,
    },
    /// It failed; the next try comes after `next_in`.
    WillRetry {
        /// Why it failed (`answered 503`, a transport error).
        error: String,
        /// How long the attempt took.
        elapsed: Duration,
        /// The wait before the next attempt.
        next_in: Duration,
    },
    /// `--forward-for` has passed: the delivery is marked failed.
    Failed {
        /// Why the last attempt failed.
        error: String,
    },
}

/// The wall clock, injectable so tests can place "now" where they need it.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
