//! One session's event loop: WebSocket frames, pings, channel refreshes, subscription checks,
//! backfills and report fetches, all in one `select!`, so no two of them race on the state.

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

use super::backfill::{Missed, find_missed};
use super::engine::{Engine, is_fatal, report_retry_pace, stopped};
use super::session::{Session, subscribe, subscriptions_intact};
use super::{ListenEvent, Origin};
use crate::api::channels::{self, Channel};
use crate::api::notifications::{self, Frame, Socket};
use crate::api::reports::fetch_report;
use crate::api::{ApiClient, ApiError};

/// How a session ended.
pub enum End {
    /// Shutdown was requested; the channel is still to be deleted.
    Shutdown(Channel),
    /// The session broke; `channel` is `Some` when it still exists and should be deleted.
    Lost {
        reason: String,
        channel: Option<Channel>,
    },
    /// Retrying cannot help.
    Fatal(ApiError, Option<Channel>),
}

type Fetch = Pin<Box<dyn Future<Output = Fetched> + Send>>;
type BackfillSearch =
    Pin<Box<dyn Future<Output = (Timestamp, Result<Vec<Missed>, ApiError>)> + Send>>;

/// A finished report fetch.
struct Fetched {
    id: String,
    origin: Origin,
    result: Result<Value, ApiError>,
}

/// Backfilled reports fetched at once; they are emitted in `callEnded` order regardless.
const BACKFILL_CONCURRENCY: usize = 4;

pub struct Pump<'e> {
    engine: &'e mut Engine,
    channel: Channel,
    socket: Socket,
    pings_sent: u64,
    last_pong: u64,
    in_flight: HashSet<String>,
    live: FuturesUnordered<Fetch>,
    search: Option<BackfillSearch>,
    search_again: bool,
    retry_search_at: Option<Instant>,
    queue: VecDeque<Missed>,
    ordered: FuturesOrdered<Fetch>,
    /// Set while a backfill's results are being emitted: its end time, and whether all went well.
    backfill_until: Option<(Timestamp, bool)>,
    refresh_at: Instant,
}

impl<'e> Pump<'e> {
    pub fn new(engine: &'e mut Engine, session: Session, backfill_from: Option<Timestamp>) -> Self {
        let refresh_at = Instant::now()
            + engine
                .config
                .timing
                .refresh_after(session.channel.lifetime_secs);
        let mut pump = Self {
            engine,
            channel: session.channel,
            socket: session.socket,
            pings_sent: 0,
            last_pong: 0,
            in_flight: HashSet::new(),
            live: FuturesUnordered::new(),
            search: None,
            search_again: false,
            retry_search_at: None,
            queue: VecDeque::new(),
            ordered: FuturesOrdered::new(),
            backfill_until: None,
            refresh_at,
        };
        if let Some(from) = backfill_from {
            pump.start_search(from);
        }
        pump
    }

    pub async fn run(mut self, shutdown: &mut watch::Receiver<bool>) -> End {
        let timing = self.engine.config.timing;
        let mut ping = interval_at(Instant::now() + timing.ping_every, timing.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let check_every = timing.subscription_check_every;
        let mut check = interval_at(Instant::now() + check_every, check_every);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let far = Instant::now() + Duration::from_secs(86_400);
            let step = tokio::select! {
                _ = stopped(shutdown) => Err(End::Shutdown(self.channel.clone())),
                message = self.socket.next() => self.on_message(message).await,
                _ = ping.tick() => self.ping().await,
                _ = sleep_until(self.refresh_at) => self.refresh().await,
                _ = check.tick() => self.check_subscriptions().await,
                _ = sleep_until(self.retry_search_at.unwrap_or(far)), if self.retry_search_at.is_some() => {
                    self.retry_search_at = None;
                    self.search_from_cursor();
                    Ok(())
                }
                found = poll_search(&mut self.search), if self.search.is_some() => self.on_search(found.0, found.1),
                Some(fetched) = self.live.next(), if !self.live.is_empty() => self.emit(fetched).await,
                Some(fetched) = self.ordered.next(), if !self.ordered.is_empty() => self.emit(fetched).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), End> {
        match message {
            Some(Ok(Message::Text(text))) => self.on_frame(notifications::parse_frame(&text)).await,
            Some(Ok(Message::Pong(payload))) => {
                let sequence = serde_json::from_slice::<Value>(&payload)
                    .ok()
                    .and_then(|v| v.get("sequence").and_then(Value::as_u64));
                if let Some(sequence) = sequence {
                    self.last_pong = self.last_pong.max(sequence);
                }
                Ok(())
            }
            Some(Ok(Message::Close(frame))) => {
                let why = frame
                    .map(|f| format!(" ({} {})", f.code, f.reason))
                    .unwrap_or_default();
                Err(self.lost(format!("GoTo closed the WebSocket{why}")))
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(err)) => Err(self.lost(format!("WebSocket error: {err}"))),
            None => Err(self.lost("the WebSocket closed".to_string())),
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> Result<(), End> {
        match frame {
            Frame::CallReport {
                conversation_space_id: id,
            } => {
                self.fetch_live(id);
                Ok(())
            }
            Frame::RefreshRequired => {
                tracing::debug!("GoTo asked for a channel refresh");
                self.refresh().await
            }
            Frame::ToBeClosed => self.replace_socket().await,
            Frame::Ignored { source, kind } => {
                tracing::debug!("ignoring a {source:?} notification of type {kind:?}");
                Ok(())
            }
            Frame::Malformed(why) => {
                tracing::warn!("skipping a WebSocket frame cer cannot read: {why}");
                Ok(())
            }
        }
    }

    fn lost(&self, reason: String) -> End {
        End::Lost {
            reason,
            channel: Some(self.channel.clone()),
        }
    }

    /// A protocol ping carrying `{"sequence": n}`, as GoTo's demo sends; the link counts as dead
    /// when too many of them go unanswered.
    async fn ping(&mut self) -> Result<(), End> {
        self.pings_sent += 1;
        let payload = json!({ "sequence": self.pings_sent }).to_string();
        if let Err(err) = self
            .socket
            .send(Message::Ping(payload.into_bytes().into()))
            .await
        {
            return Err(self.lost(format!("cannot send a ping: {err}")));
        }
        let unanswered = self.pings_sent.saturating_sub(self.last_pong);
        if unanswered > self.engine.config.timing.max_missed_pongs {
            return Err(self.lost(format!("no answer to the last {unanswered} pings")));
        }
        Ok(())
    }

    async fn refresh(&mut self) -> Result<(), End> {
        let timing = self.engine.config.timing;
        match channels::refresh(&self.engine.api, &self.channel).await {
            Ok(lifetime) => {
                let lifetime = lifetime.or(self.channel.lifetime_secs);
                self.refresh_at = Instant::now() + timing.refresh_after(lifetime);
                tracing::debug!("channel refreshed");
                Ok(())
            }
            Err(ApiError::NotFound { .. }) => Err(End::Lost {
                reason: "GoTo no longer knows the notification channel".into(),
                channel: None,
            }),
            Err(err) if is_fatal(&err, true) => Err(End::Fatal(err, Some(self.channel.clone()))),
            Err(err) => {
                tracing::warn!("could not refresh the channel ({err}); trying again soon");
                self.refresh_at = Instant::now() + timing.reconnect_cap / 3;
                Ok(())
            }
        }
    }

    /// GoTo subscriptions can vanish without notice; put them back and backfill the gap.
    async fn check_subscriptions(&mut self) -> Result<(), End> {
        let api = &self.engine.api;
        let config = &self.engine.config;
        let intact = match subscriptions_intact(api, &self.channel, config).await {
            Ok(intact) => intact,
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

    /// `WEBSOCKET_TO_BE_CLOSED`: connect the new socket first, then let the old one go.
    async fn replace_socket(&mut self) -> Result<(), End> {
        tracing::info!("GoTo is closing the WebSocket; connecting a new one first");
        match notifications::connect(&self.channel.url, self.engine.config.proxy.as_ref()).await {
            Ok(socket) => {
                let mut old = std::mem::replace(&mut self.socket, socket);
                tokio::spawn(async move { old.close(None).await });
                (self.pings_sent, self.last_pong) = (0, 0);
                self.search_from_cursor();
                Ok(())
            }
            Err(err) => self.tolerate(err, "open a new WebSocket").and_then(|()| {
                Err(self.lost("GoTo closed the WebSocket and no new one could be opened".into()))
            }),
        }
    }

    /// Decides what a failed maintenance request means: the channel is gone (reconnect),
    /// authentication is gone (stop), or it was a passing failure (carry on).
    fn tolerate(&self, err: ApiError, what: &str) -> Result<(), End> {
        match err {
            ApiError::NotFound { .. } => Err(End::Lost {
                reason: format!("GoTo no longer knows the channel (while trying to {what})"),
                channel: None,
            }),
            err if is_fatal(&err, true) => Err(End::Fatal(err, Some(self.channel.clone()))),
            err => {
                tracing::warn!("could not {what}: {err}");
                Ok(())
            }
        }
    }

    fn fetch_live(&mut self, id: String) {
        if self.engine.ledgers.seen(&id) || !self.in_flight.insert(id.clone()) {
            tracing::debug!("report {id} already handled");
            return;
        }
        self.live.push(self.fetch(id, Origin::Notification));
    }

    fn fetch(&self, id: String, origin: Origin) -> Fetch {
        let api = self.engine.api.clone();
        let patience = self.engine.config.timing.report_patience;
        Box::pin(async move {
            let result = fetch_when_ready(&api, &id, patience).await;
            Fetched { id, origin, result }
        })
    }

    fn search_from_cursor(&mut self) {
        if let Some(cursor) = self
            .engine
            .ledgers
            .cursor()
            .filter(|_| self.engine.config.backfill)
        {
            let from = cursor
                .saturating_sub(super::ledger::OVERLAP)
                .unwrap_or(cursor);
            self.start_search(from);
        }
    }

    fn start_search(&mut self, from: Timestamp) {
        if self.search.is_some() || self.backfill_until.is_some() {
            self.search_again = true;
            return;
        }
        let api = self.engine.api.clone();
        let keys = self.engine.config.account_keys.clone();
        let longest = self.engine.config.max_call_duration;
        let until = self.engine.clock.now();
        self.search = Some(Box::pin(async move {
            (until, find_missed(&api, &keys, from, until, longest).await)
        }));
    }

    fn on_search(
        &mut self,
        until: Timestamp,
        found: Result<Vec<Missed>, ApiError>,
    ) -> Result<(), End> {
        self.search = None;
        match found {
            Ok(missed) => {
                let fresh: Vec<Missed> = missed
                    .into_iter()
                    .filter(|m| !self.engine.ledgers.seen(&m.id))
                    .collect();
                if !fresh.is_empty() {
                    tracing::info!("backfilling {} missed call(s)", fresh.len());
                }
                self.queue.extend(fresh);
                self.backfill_until = Some((until, true));
                self.fill_ordered();
                self.finish_backfill_if_done();
                Ok(())
            }
            Err(err) if is_fatal(&err, true) => Err(End::Fatal(err, Some(self.channel.clone()))),
            Err(err) => {
                let delay = self.engine.config.timing.reconnect_cap / 3;
                tracing::warn!("backfill failed ({err}); trying again in {delay:.0?}");
                self.retry_search_at = Some(Instant::now() + delay);
                Ok(())
            }
        }
    }

    fn fill_ordered(&mut self) {
        while self.ordered.len() < BACKFILL_CONCURRENCY {
            let Some(missed) = self.queue.pop_front() else {
                break;
            };
            if self.engine.ledgers.seen(&missed.id) || !self.in_flight.insert(missed.id.clone()) {
                continue;
            }
            self.ordered
                .push_back(self.fetch(missed.id, Origin::Backfill));
        }
    }

    /// When a backfill's reports are all out, the cursor may move to the backfill's end.
    fn finish_backfill_if_done(&mut self) {
        if !self.queue.is_empty() || !self.ordered.is_empty() {
            return;
        }
        if let Some((until, all_went_well)) = self.backfill_until.take()
            && all_went_well
            && let Err(err) = self.engine.ledgers.advance_all(until)
        {
            tracing::warn!("cannot save the listen cursor: {err}");
        }
        if std::mem::take(&mut self.search_again) {
            self.search_from_cursor();
        }
    }

    async fn emit(&mut self, fetched: Fetched) -> Result<(), End> {
        let Fetched { id, origin, result } = fetched;
        self.in_flight.remove(&id);
        let outcome = match result {
            Ok(report) => self.emit_report(&id, report, origin).await,
            Err(err) if is_fatal(&err, true) => {
                return Err(End::Fatal(err, Some(self.channel.clone())));
            }
            Err(err) => {
                let why = match err {
                    ApiError::NotFound { .. } => "it was still not ready".to_string(),
                    other => other.to_string(),
                };
                let message = format!(
                    "skipped the report of {id} for now: {why}; a later backfill will retry it"
                );
                let _ = self.engine.events.send(ListenEvent::Warning(message)).await;
                self.retry_search_at
                    .get_or_insert(Instant::now() + self.engine.config.timing.report_patience);
                Ok(false)
            }
        };
        if origin == Origin::Backfill {
            if let (Ok(false), Some((_, went_well))) = (&outcome, self.backfill_until.as_mut()) {
                *went_well = false;
            }
            self.fill_ordered();
            self.finish_backfill_if_done();
        }
        outcome.map(|_| ())
    }

    /// Hands a report to the renderer and records it once printed. `Ok(true)` when emitted.
    async fn emit_report(&mut self, id: &str, report: Value, origin: Origin) -> Result<bool, End> {
        if self.engine.ledgers.seen(id) {
            return Ok(true);
        }
        let ended = report
            .get("callEnded")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok())
            .unwrap_or_else(|| self.engine.clock.now());
        let account = report
            .get("accountKey")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (printed, answer) = oneshot::channel();
        let event = ListenEvent::Report {
            report,
            origin,
            printed,
        };
        if self.engine.events.send(event).await.is_err() || answer.await.is_err() {
            // The renderer is gone (stdout closed): stop like on Ctrl-C.
            return Err(End::Shutdown(self.channel.clone()));
        }
        if let Err(err) = self.engine.ledgers.record(id, account.as_deref(), ended) {
            tracing::warn!("cannot save the listen cursor: {err}");
        }
        Ok(true)
    }
}

async fn poll_search(
    search: &mut Option<BackfillSearch>,
) -> (Timestamp, Result<Vec<Missed>, ApiError>) {
    match search {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// Fetches a report, retrying a 404 (report not ready yet) until `patience` runs out.
async fn fetch_when_ready(
    api: &ApiClient,
    id: &str,
    patience: Duration,
) -> Result<Value, ApiError> {
    let deadline = Instant::now() + patience;
    let (mut pause, cap) = report_retry_pace(patience);
    loop {
        match fetch_report(api, id).await {
            Err(ApiError::NotFound { message }) => {
                if Instant::now() + pause >= deadline {
                    return Err(ApiError::NotFound { message });
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 3 / 2).min(cap);
            }
            other => return other,
        }
    }
}
