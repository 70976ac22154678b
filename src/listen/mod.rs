//! The listen engine: keeps a channel, its subscriptions and a WebSocket alive forever, fetches
//! each finished call's report, backfills gaps from report summaries and dedupes, and tells a
//! renderer about it through typed [`ListenEvent`]s, so none of it needs a terminal to test.

mod backfill;
pub mod cursor_rules;
mod engine;
mod flood;
pub mod forward;
mod ledger;
mod pump;
mod session;
mod timing;

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::oneshot;

pub use engine::Engine;
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
    /// Something a person should know, that does not stop listening.
    Warning(String),
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
