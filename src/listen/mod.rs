//! The listen engine: keeps a channel, its subscriptions and a WebSocket alive forever, fetches
//! each finished call's report, backfills gaps from report summaries and dedupes, and tells a
//! renderer about it through typed [`ListenEvent`]s, so none of it needs a terminal to test.

mod backfill;
pub mod cursor_rules;
mod engine;
mod error;
pub mod first_connection;
mod flood;
mod ledger;
mod pump;
mod session;
mod timing;

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::oneshot;

pub use engine::{Engine, Outbox};
pub use error::{ListenError, NeedsStart};
pub use ledger::{Ledger, Ledgers};
pub use timing::Timing;

/// Everything the engine needs to know, resolved from flags and settings.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    pub account_keys: Vec<String>,
    pub event_types: Vec<String>,
    pub start: StartFrom,
    /// Backfill after reconnects (and at start); `--no-backfill` turns it off.
    pub backfill: bool,
    pub max_call_duration: Duration,
    pub state_dir: PathBuf,
    pub channel_nickname: String,
    pub timing: Timing,
    /// `HTTPS_PROXY` / `NO_PROXY` for the WebSocket.
    pub proxy: Option<crate::api::proxy::ProxyConfig>,
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
    Notification,
    Backfill,
}

/// What the engine tells its renderer.
#[derive(Debug)]
pub enum ListenEvent {
    /// Channel, subscriptions and WebSocket are all up for the first time.
    Ready {
        account_keys: Vec<String>,
        channel_id: String,
    },
    /// A report to print. The engine records it as emitted once `printed` is answered (or
    /// dropped), so a crash between the two repeats a report rather than losing one.
    Report {
        report: Value,
        origin: Origin,
        printed: oneshot::Sender<()>,
    },
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// Up again after a reconnect.
    Reconnected,
    /// Reports of calls that ended while cer was not listening are about to be printed, in
    /// `callEnded` order; live ones wait until they are out.
    CatchingUp {
        calls: usize,
        /// True for the calls from before this run started (`--since` or a saved cursor),
        /// false for a gap after a reconnect.
        at_start: bool,
    },
    /// The catch-up announced by [`ListenEvent::CatchingUp`] is done: reports are live again.
    CaughtUp,
    /// Something a person should know, that does not stop listening.
    Warning(String),
    /// The result of one attempt to deliver a report to a `--forward-to` target.
    Delivery {
        conversation_space_id: String,
        target: String,
        result: DeliveryResult,
    },
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryResult {
    /// A 2xx answer.
    Delivered { status: u16, elapsed: Duration },
    /// It failed; the next try comes after `next_in`.
    WillRetry {
        error: String,
        elapsed: Duration,
        next_in: Duration,
    },
    /// `--forward-for` has passed: the delivery is marked failed.
    Failed { error: String },
}

/// The wall clock, injectable so tests can place "now" where they need it.
pub trait Clock: Send + Sync + 'static {
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
