//! One session's event loop: WebSocket frames, pings, channel refreshes, subscription checks,
//! backfills and report fetches, all in one `select!`, so no two of them race on the state.
//!
//! The cursor only moves when nothing can have been missed before it: [`GapTracker`] keeps
//! that account. The loop borrows from the engine only what it uses, as [`EngineParts`].

mod reports;
mod upkeep;

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::{FuturesOrdered, FuturesUnordered};
use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep_until};
use tokio_util::sync::CancellationToken;

use super::backfill::Missed;
use super::flood::{
    LIVE_CONCURRENCY, MAX_WAITING_IDS, RepeatedWarning, WARNING_INTERVAL, WaitingIds,
};
use super::gap::GapTracker;
use super::handoff::Handoff;
use super::ledger::Ledgers;
use super::session::Session;
use super::{Clock, ListenConfig};
use crate::api::ApiClient;
use crate::api::channels::Channel;
use crate::api::notifications::Socket;
use crate::api::reports::fetch_report_when_ready;
use crate::events::{ListenEvent, Origin};
use crate::net::ApiError;
use crate::report::Report;
use crate::store::Store;

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
    result: Result<Report, ApiError>,
}

/// What a session's loop borrows from the engine for its lifetime.
pub struct EngineParts<'a> {
    pub api: &'a ApiClient,
    pub config: &'a ListenConfig,
    pub events: &'a mpsc::Sender<ListenEvent>,
    pub clock: &'a dyn Clock,
    /// Where reports and cursors are kept (the engine opens one before any session; without
    /// one, every report counts as a failed store).
    pub store: Option<&'a Store>,
    pub handoff: &'a Handoff,
    pub ledgers: &'a mut Ledgers,
    /// A fresh listen (no `--since`, no cursor) never backfills behind its own start.
    pub floor: Option<Timestamp>,
}

/// The backfill's search and the reports it found, and what the person was told of it; when
/// it may close the gap is [`GapTracker`]'s to say.
#[derive(Default)]
struct Backfill {
    search: Option<Search>,
    queue: VecDeque<Missed>,
    ordered: FuturesOrdered<Fetch>,
    /// A `CatchingUp` was sent and its `CaughtUp` is still due.
    announced: bool,
    /// The next announcement is about calls from before this run started.
    at_start: bool,
}

/// One session's loop and its state; it lives as long as the session.
pub struct Pump<'e> {
    engine: EngineParts<'e>,
    channel: Channel,
    socket: Socket,
    pings_sent: u64,
    last_heard: Instant,
    in_flight: HashSet<String>,
    live: FuturesUnordered<Fetch>,
    backfill: Backfill,
    gap: GapTracker,
    refresh_at: Instant,
    /// False once GoTo showed it has no subscription listing for cer to check.
    check_subscriptions: bool,
    /// Store failures in a row: the retry backoff grows with them.
    store_failures: u32,
    /// Live reports that arrived during a catch-up: printed after it, so the person sees
    /// calls in the order they ended.
    held: Vec<(String, Report)>,
    /// Announced IDs waiting for a free live fetch (bounded; see `flood`).
    waiting: WaitingIds,
    junk_frames: RepeatedWarning,
    dropped_notifications: RepeatedWarning,
    /// Whether a call's notification has come through this session.
    carried_calls: bool,
}

impl<'e> Pump<'e> {
    /// A loop for `session`; `at_start` says a catch-up it announces is about calls from
    /// before this run started.
    pub fn new(
        engine: EngineParts<'e>,
        session: Session,
        backfill_from: Option<Timestamp>,
        at_start: bool,
    ) -> Self {
        let lifetime = session.channel.lifetime_secs;
        let refresh_at = later(engine.config.timing.refresh_after(lifetime));
        let mut pump = Self {
            engine,
            channel: session.channel,
            socket: session.socket,
            pings_sent: 0,
            last_heard: Instant::now(),
            in_flight: HashSet::new(),
            live: FuturesUnordered::new(),
            backfill: Backfill {
                at_start,
                ..Backfill::default()
            },
            gap: GapTracker::default(),
            refresh_at,
            check_subscriptions: true,
            store_failures: 0,
            held: Vec::new(),
            waiting: WaitingIds::new(MAX_WAITING_IDS),
            junk_frames: RepeatedWarning::new(WARNING_INTERVAL),
            carried_calls: false,
            dropped_notifications: RepeatedWarning::new(WARNING_INTERVAL),
        };
        if let Some(from) = backfill_from {
            pump.start_search(from);
        }
        pump
    }

    /// Runs the session until it is lost, shutdown is requested or retrying cannot help.
    pub async fn run(mut self, shutdown: &CancellationToken) -> End {
        let timing = self.engine.config.timing;
        let mut ping = interval_at(later(timing.ping_every), timing.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let every = timing.subscription_check_every;
        let mut check = interval_at(later(every), every);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let retry = self.gap.retry_at();
            let retry_at = retry.unwrap_or_else(|| later(Duration::from_secs(86_400)));
            let stop = Box::new(End::Shutdown(self.channel.clone()));
            // Maintenance requests can take long (429s, a slow connect): each races the
            // shutdown request, so Ctrl-C is never held up by them.
            let step: Step = tokio::select! {
                () = shutdown.cancelled() => Err(stop),
                message = self.socket.next() => interruptible(shutdown, stop, self.on_message(message)).await,
                _ = ping.tick() => self.ping().await,
                _ = sleep_until(self.refresh_at) => interruptible(shutdown, stop, self.refresh()).await,
                _ = check.tick(), if self.check_subscriptions => {
                    interruptible(shutdown, stop, self.check_subscriptions()).await
                }
                _ = sleep_until(retry_at), if retry.is_some() => {
                    self.gap.retry_due();
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
        self.engine.handoff.live.set(work);
    }

    /// Whether a backfill is searching or emitting: live reports wait meanwhile.
    fn catching_up(&self) -> bool {
        self.gap.running()
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
        held.sort_by_key(|(_, report)| report.facts().call_ended);
        for (id, report) in held {
            self.emit_report(&id, report, Origin::Notification).await?;
        }
        Ok(())
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

/// Runs a maintenance step unless shutdown is requested first.
async fn interruptible(
    shutdown: &CancellationToken,
    stop: Box<End>,
    step: impl Future<Output = Step>,
) -> Step {
    tokio::select! {
        biased;
        () = shutdown.cancelled() => Err(stop),
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
