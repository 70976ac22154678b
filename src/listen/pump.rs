//! One session's event loop: WebSocket frames, pings, channel refreshes, subscription checks,
//! backfills and report fetches, all in one `select!`, so no two of them race on the state.
//!
//! The cursor only moves when nothing can have been missed before it: a backfill that came
//! back complete moves it to the backfill's end; a live report moves it to its `callEnded` only
//! while no gap is open. A gap opens with every backfill that is needed or running, and with
//! every fetch that fails; only a complete backfill started after the last failure closes it.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{FuturesOrdered, FuturesUnordered};
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use super::backfill::{Missed, find_missed, not_stored};
use super::engine::{Engine, is_fatal, stopped};
use super::flood::{
    LIVE_CONCURRENCY, MAX_WAITING_IDS, RepeatedWarning, WARNING_INTERVAL, WaitingIds,
};
use super::ledger::CursorMove;
use super::session::{Session, discard, subscribe, subscriptions_intact};
use super::{ListenEvent, Origin};
use crate::api::ApiError;
use crate::api::channels::{self, Channel};
use crate::api::notifications::{self, Frame, Socket};
use crate::api::reports::fetch_report_when_ready;
use crate::escape::terminal_safe;
use crate::store::Stored;

#[path = "pump_reports.rs"]
mod reports;

/// How a session ended.
pub enum End {
    /// Shutdown was requested; the channel is still to be deleted.
    Shutdown(Channel),
    /// The session broke; `channel` is `Some` when it still exists and should be deleted.
    Lost {
        reason: String,
        channel: Option<Channel>,
        /// Whether a call's notification came through it: proof the link worked.
        carried_calls: bool,
    },
    /// Retrying cannot help.
    Fatal(ApiError, Option<Channel>),
}

type Fetch = Pin<Box<dyn Future<Output = Fetched> + Send>>;
type SearchResult = (Timestamp, Result<Vec<Missed>, ApiError>);
type Search = Pin<Box<dyn Future<Output = SearchResult> + Send>>;
type Step = Result<(), Box<End>>;

/// A finished report fetch.
struct Fetched {
    id: String,
    origin: Origin,
    result: Result<Value, ApiError>,
}

/// Backfilled reports fetched at once; they are emitted in `callEnded` order regardless.
const BACKFILL_CONCURRENCY: usize = 4;

/// The backfill's progress and the gap bookkeeping that decides when the cursor may move.
#[derive(Default)]
struct Backfill {
    search: Option<Search>,
    /// Failures so far; a backfill closes the gap only if none happened since it started.
    failures: u64,
    failures_at_start: u64,
    gap_open: bool,
    again: bool,
    retry_at: Option<Instant>,
    queue: VecDeque<Missed>,
    ordered: FuturesOrdered<Fetch>,
    /// The end of the search whose reports are being emitted.
    until: Option<Timestamp>,
    /// A `CatchingUp` was sent and its `CaughtUp` is still due.
    announced: bool,
    /// The next announcement is about calls from before this run started.
    at_start: bool,
}

pub struct Pump<'e> {
    engine: &'e mut Engine,
    channel: Channel,
    socket: Socket,
    pings_sent: u64,
    last_heard: Instant,
    in_flight: HashSet<String>,
    live: FuturesUnordered<Fetch>,
    backfill: Backfill,
    refresh_at: Instant,
    /// False once GoTo showed it has no subscription listing for cer to check.
    check_subscriptions: bool,
    /// Store failures in a row: the retry backoff grows with them.
    store_failures: u32,
    /// Live reports that arrived during a catch-up: printed after it, so the person sees
    /// calls in the order they ended.
    held: Vec<(String, Value)>,
    /// Announced IDs waiting for a free live fetch (bounded; see `flood`).
    waiting: WaitingIds,
    junk_frames: RepeatedWarning,
    dropped_notifications: RepeatedWarning,
    /// Whether a call's notification has come through this session.
    carried_calls: bool,
}

impl<'e> Pump<'e> {
    pub fn new(engine: &'e mut Engine, session: Session, backfill_from: Option<Timestamp>) -> Self {
        let refresh_at = later(
            engine
                .config
                .timing
                .refresh_after(session.channel.lifetime_secs),
        );
        let mut pump = Self {
            engine,
            channel: session.channel,
            socket: session.socket,
            pings_sent: 0,
            last_heard: Instant::now(),
            in_flight: HashSet::new(),
            live: FuturesUnordered::new(),
            backfill: Backfill::default(),
            refresh_at,
            check_subscriptions: true,
            store_failures: 0,
            held: Vec::new(),
            waiting: WaitingIds::new(MAX_WAITING_IDS),
            junk_frames: RepeatedWarning::new(WARNING_INTERVAL),
            carried_calls: false,
            dropped_notifications: RepeatedWarning::new(WARNING_INTERVAL),
        };
        pump.backfill.at_start = std::mem::take(&mut pump.engine.catch_up_at_start);
        if let Some(from) = backfill_from {
            pump.start_search(from);
        }
        pump
    }

    pub async fn run(mut self, shutdown: &mut watch::Receiver<bool>) -> End {
        let timing = self.engine.config.timing;
        let mut ping = interval_at(later(timing.ping_every), timing.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let every = timing.subscription_check_every;
        let mut check = interval_at(later(every), every);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let retry_at = self
                .backfill
                .retry_at
                .unwrap_or_else(|| later(Duration::from_secs(86_400)));
            let stop = Box::new(End::Shutdown(self.channel.clone()));
            // Maintenance requests can take long (429s, a slow connect): each races the
            // shutdown request, so Ctrl-C is never held up by them.
            let step: Step = tokio::select! {
                _ = stopped(shutdown) => Err(stop),
                message = self.socket.next() => interruptible(shutdown, stop, self.on_message(message)).await,
                _ = ping.tick() => self.ping().await,
                _ = sleep_until(self.refresh_at) => interruptible(shutdown, stop, self.refresh()).await,
                _ = check.tick(), if self.check_subscriptions => {
                    interruptible(shutdown, stop, self.check_subscriptions()).await
                }
                _ = sleep_until(retry_at), if self.backfill.retry_at.is_some() => {
                    self.backfill.retry_at = None;
                    self.search_from_cursor();
                    Ok(())
                }
                found = poll_search(&mut self.backfill.search), if self.backfill.search.is_some() => {
                    self.on_search(found).await
                }
                Some(fetched) = self.live.next(), if !self.live.is_empty() => self.emit(fetched).await,
                Some(fetched) = self.backfill.ordered.next(), if !self.backfill.ordered.is_empty() => {
                    self.emit(fetched).await
                }
            };
            let step = match step {
                Ok(()) => self.after_catch_up().await,
                stopped => stopped,
            };
            self.show_live_work();
            if let Err(end) = step {
                return *end;
            }
        }
    }

    /// Tells the re-fetcher how much report work is under way or waiting, so it stays out of
    /// the way of live calls and catch-ups.
    fn show_live_work(&self) {
        let work = self.in_flight.len()
            + self.held.len()
            + self.backfill.queue.len()
            + usize::from(self.catching_up());
        let live_work = &self.engine.outbox.live_work;
        live_work.store(work, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a backfill is searching or emitting: live reports wait meanwhile.
    fn catching_up(&self) -> bool {
        self.backfill.search.is_some() || self.backfill.until.is_some()
    }

    /// Once a catch-up is over: says so, then prints the live reports held back meanwhile.
    async fn after_catch_up(&mut self) -> Step {
        if self.catching_up() {
            return Ok(());
        }
        if std::mem::take(&mut self.backfill.announced) {
            let _ = self.engine.events.send(ListenEvent::CaughtUp).await;
        }
        let mut held = std::mem::take(&mut self.held);
        held.sort_by_key(|(_, report)| call_ended(report));
        for (id, report) in held {
            self.emit_report(&id, report, Origin::Notification).await?;
        }
        Ok(())
    }

    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Step {
        if matches!(message, Some(Ok(_))) {
            self.last_heard = Instant::now();
        }
        match message {
            Some(Ok(Message::Text(text))) => self.on_frame(notifications::parse_frame(&text)).await,
            Some(Ok(Message::Binary(bytes))) => {
                let text = String::from_utf8_lossy(&bytes);
                self.on_frame(notifications::parse_frame(&text)).await
            }
            Some(Ok(Message::Close(frame))) => {
                // The close reason is the server's text; it reaches stderr.
                let why = frame
                    .map(|f| format!(" ({} {})", f.code, terminal_safe(&f.reason)))
                    .unwrap_or_default();
                Err(self.lost(format!("GoTo closed the WebSocket{why}")))
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(err)) => Err(self.lost(format!("WebSocket error: {err}"))),
            None => Err(self.lost("the WebSocket closed".to_string())),
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> Step {
        match frame {
            Frame::CallReport {
                conversation_space_id,
            } => {
                self.fetch_live(conversation_space_id);
                Ok(())
            }
            Frame::RefreshRequired => {
                tracing::debug!("GoTo asked for a channel refresh");
                self.refresh().await
            }
            Frame::ToBeClosed => self.replace_session().await,
            Frame::Ignored { source, kind } => {
                tracing::debug!("ignoring a {source:?} notification of type {kind:?}");
                Ok(())
            }
            Frame::Malformed(why) => {
                let message = format!("skipping a WebSocket frame cer cannot read: {why}");
                if let Some(line) = self.junk_frames.occur(&message, Instant::now()) {
                    tracing::warn!("{line}");
                }
                Ok(())
            }
        }
    }

    fn lost(&self, reason: String) -> Box<End> {
        self.lost_with(reason, Some(self.channel.clone()))
    }

    fn lost_with(&self, reason: String, channel: Option<Channel>) -> Box<End> {
        Box::new(End::Lost {
            reason,
            channel,
            carried_calls: self.carried_calls,
        })
    }

    /// A protocol ping carrying `{"sequence": n}`, as GoTo's demo sends. Any frame from GoTo
    /// counts as a sign of life, so a server that answers pings without echoing them is fine.
    async fn ping(&mut self) -> Step {
        let timing = self.engine.config.timing;
        let silence = self.last_heard.elapsed();
        let allowed = timing
            .ping_every
            .saturating_mul(u32::try_from(timing.max_missed_pongs).unwrap_or(u32::MAX));
        if silence > allowed {
            return Err(self.lost(format!("nothing heard from GoTo for {silence:.0?}")));
        }
        self.pings_sent += 1;
        let payload = json!({ "sequence": self.pings_sent }).to_string();
        match self
            .socket
            .send(Message::Ping(payload.into_bytes().into()))
            .await
        {
            Ok(()) => Ok(()),
            Err(err) => Err(self.lost(format!("cannot send a ping: {err}"))),
        }
    }

    async fn refresh(&mut self) -> Step {
        let timing = self.engine.config.timing;
        match channels::refresh(&self.engine.api, &self.channel).await {
            Ok(lifetime) => {
                let lifetime = lifetime.or(self.channel.lifetime_secs);
                self.refresh_at = later(timing.refresh_after(lifetime));
                tracing::debug!("channel refreshed");
                Ok(())
            }
            Err(ApiError::NotFound { .. }) => {
                Err(self.lost_with("GoTo no longer knows the notification channel".into(), None))
            }
            Err(err) if is_fatal(&err, true) => {
                Err(Box::new(End::Fatal(err, Some(self.channel.clone()))))
            }
            Err(err) => {
                tracing::warn!("could not refresh the channel ({err}); trying again soon");
                self.refresh_at = later(timing.reconnect_cap / 3);
                Ok(())
            }
        }
    }

    /// GoTo subscriptions can vanish without notice; put them back and backfill the gap.
    async fn check_subscriptions(&mut self) -> Step {
        let api = &self.engine.api;
        let config = &self.engine.config;
        // The listing is undocumented: a refusal of it, or an answer without `accountKeys`,
        // ends the checks with one warning instead of being read as a lost subscription.
        let intact = match subscriptions_intact(api, &self.channel, config).await {
            Ok(Some(intact)) => intact,
            Ok(None) => return self.stop_checking("its answer lists no accountKeys"),
            Err(
                err @ (ApiError::NotFound { .. }
                | ApiError::Forbidden { .. }
                | ApiError::Rejected {
                    status: 400..=499 | 501,
                    ..
                }),
            ) => return self.stop_checking(&err.to_string()),
            Err(err) => return self.tolerate(err, "check the subscriptions"),
        };
        if intact {
            return Ok(());
        }
        tracing::info!("a subscription disappeared; subscribing again");
        if let Err(err) = subscribe(api, &self.channel, config).await {
            return self.tolerate(err, "subscribe again");
        }
        self.search_from_cursor();
        Ok(())
    }

    fn stop_checking(&mut self, why: &str) -> Step {
        tracing::warn!(
            "cannot check the subscriptions ({why}); listening goes on without that check"
        );
        self.check_subscriptions = false;
        Ok(())
    }

    /// `WEBSOCKET_TO_BE_CLOSED`: GoTo's guide says a new channel may be needed, and its demo
    /// makes one. Make before break: a new channel, its subscriptions and socket first, then
    /// the old ones are closed and deleted, so no notification falls between the two.
    async fn replace_session(&mut self) -> Step {
        tracing::debug!("GoTo is closing the WebSocket; opening a new channel first");
        let (api, config) = (&self.engine.api, &self.engine.config);
        let mut created = None;
        match Session::open(api, config, &mut created).await {
            Ok(session) => {
                let old_channel = std::mem::replace(&mut self.channel, session.channel);
                let mut old_socket = std::mem::replace(&mut self.socket, session.socket);
                tokio::spawn(async move { old_socket.close(None).await });
                discard(api, old_channel, config, config.timing.shutdown_limit);
                self.refresh_at = later(config.timing.refresh_after(self.channel.lifetime_secs));
                self.last_heard = Instant::now();
                self.search_from_cursor();
                Ok(())
            }
            Err(err) => self.tolerate(err, "open a new channel").and_then(|()| {
                Err(self
                    .lost("GoTo closed the WebSocket and no new channel could be opened".into()))
            }),
        }
    }

    /// Decides what a failed maintenance request means: the channel is gone (reconnect),
    /// authentication is gone (stop), or it was a passing failure (carry on).
    fn tolerate(&self, err: ApiError, what: &str) -> Step {
        match err {
            ApiError::NotFound { .. } => Err(self.lost_with(
                format!("GoTo no longer knows the channel (while trying to {what})"),
                None,
            )),
            err if is_fatal(&err, true) => {
                Err(Box::new(End::Fatal(err, Some(self.channel.clone()))))
            }
            err => {
                tracing::warn!("could not {what}: {err}");
                Ok(())
            }
        }
    }

    /// Fetches an announced report, or queues its ID when enough fetches run; a full queue
    /// drops it and opens the gap, so the backfill fetches it later.
    fn fetch_live(&mut self, id: String) {
        self.carried_calls = true;
        if self.engine.ledgers.seen(&id) || self.in_flight.contains(&id) {
            tracing::debug!("report {id} already handled");
            return;
        }
        if self.live.len() < LIVE_CONCURRENCY {
            self.in_flight.insert(id.clone());
            self.live.push(self.fetch(id, Origin::Notification));
        } else if self.waiting.push(id.clone()) {
            self.in_flight.insert(id);
        } else {
            let message = format!(
                "{MAX_WAITING_IDS} notifications are waiting; skipping more for now, a backfill will find them"
            );
            if let Some(line) = self.dropped_notifications.occur(&message, Instant::now()) {
                tracing::warn!("{line}");
            }
            self.note_failure();
        }
    }

    /// Starts the fetches of waiting IDs while there is room.
    fn start_waiting(&mut self) {
        while self.live.len() < LIVE_CONCURRENCY {
            let Some(id) = self.waiting.pop() else { break };
            self.live.push(self.fetch(id, Origin::Notification));
        }
    }

    fn fetch(&self, id: String, origin: Origin) -> Fetch {
        let api = self.engine.api.clone();
        let patience = self.engine.config.timing.report_patience;
        Box::pin(async move {
            let result = fetch_report_when_ready(&api, &id, patience).await;
            Fetched { id, origin, result }
        })
    }
}

/// A report's `callEnded`, when it has a readable one.
fn call_ended(report: &Value) -> Option<Timestamp> {
    report
        .get("callEnded")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Timestamp>().ok())
}

/// Runs a maintenance step unless shutdown is requested first.
async fn interruptible(
    shutdown: &mut watch::Receiver<bool>,
    stop: Box<End>,
    step: impl Future<Output = Step>,
) -> Step {
    tokio::select! {
        biased;
        _ = stopped(shutdown) => Err(stop),
        result = step => result,
    }
}

async fn poll_search(search: &mut Option<Search>) -> SearchResult {
    match search {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// `now + wait`, or a day from now when `wait` is too large to add (a server's odd lifetime).
fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(86_400))
}
