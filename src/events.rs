//! What the listen engine and the workers beside it tell whoever renders them: typed events,
//! so none of it needs a terminal to test. A leaf: delivery, the service view and the output
//! read these without importing the engine.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::report::{FieldDigests, Report};

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
        /// The fields of the revision before it, read only for a renderer that describes the
        /// change (`listen --updates` on a terminal).
        previous: Option<FieldDigests>,
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
