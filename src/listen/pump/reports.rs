//! The half of a session's loop that deals in reports: backfill searches and catch-ups, then
//! storing each report (with its cursor) before it is printed, and what a failed store does.
//! A child of `pump`, so it shares the loop's state without making any of it public.

use jiff::Timestamp;
use tokio::sync::oneshot;

use super::super::backfill::{Missed, find_missed, not_stored};
use super::super::error::is_fatal;
use super::super::ledger::{CursorMove, backfill_start, save_in_background};
use super::{End, Fetched, Pump, SearchResult, Step, later};
use crate::events::{ListenEvent, Origin};
use crate::net::ApiError;
use crate::report::Report;
use crate::store::{Stored, set_aside};

/// Backfilled reports fetched at once; they are emitted in `callEnded` order regardless.
const BACKFILL_CONCURRENCY: usize = 4;

/// What became of a report handed to the store.
pub(super) enum StoreAttempt {
    /// The store took it (or had it).
    Stored(Stored),
    /// The store refused its data for good; it was written to a file instead.
    SetAside,
    /// The store failed (unreachable, read-only): try again later.
    Failed,
}

impl Pump<'_> {
    /// A backfill from the cursor (less the overlap), unless backfill is off or there is no
    /// cursor.
    pub(super) fn search_from_cursor(&mut self) {
        let from = backfill_start(self.engine.ledgers, self.engine.floor);
        if let Some(from) = from.filter(|_| self.engine.config.backfill) {
            self.start_search(from);
        }
    }

    /// Searches the calls that ended from `from` till now, unless a backfill is under way
    /// (then it runs again once that one is done).
    pub(super) fn start_search(&mut self, from: Timestamp) {
        if !self.gap.backfill_needed() {
            return;
        }
        let api = self.engine.api.clone();
        let keys = self.engine.config.account_keys.clone();
        let longest = self.engine.config.max_call_duration;
        let until = self.engine.clock.now();
        let store = self.engine.store.cloned();
        let handoff = self.engine.handoff.clone();
        self.backfill.search = Some(Box::pin(async move {
            let found = find_missed(&api, &keys, from, until, longest).await;
            let found = match (found, store) {
                (Ok(missed), Some(store)) => {
                    let missed = not_stored(&store, from, missed, until).await;
                    handoff.wake_deliveries();
                    Ok(missed)
                }
                (found, _) => found,
            };
            (until, found)
        }));
    }

    pub(super) async fn on_search(&mut self, (until, found): SearchResult) -> Step {
        self.backfill.search = None;
        match found {
            Ok(missed) => {
                self.gap.searched(until);
                let fresh: Vec<Missed> = missed
                    .into_iter()
                    .filter(|m| !self.engine.ledgers.seen(&m.id))
                    .collect();
                self.announce_catch_up(&fresh).await;
                self.backfill.queue.extend(fresh);
                self.fill_ordered();
                self.finish_backfill_if_done();
                Ok(())
            }
            Err(err) if is_fatal(&err, true) => {
                self.gap.search_failed();
                Err(Box::new(End::Fatal(err, Some(self.channel.clone()))))
            }
            Err(err) => {
                self.gap.search_failed();
                let delay = self.engine.config.timing.reconnect_cap / 3;
                tracing::warn!("backfill failed ({err}); trying again in {delay:.0?}");
                self.note_failure();
                Ok(())
            }
        }
    }

    /// Tells the renderer how many calls the backfill found, once per catch-up.
    pub(super) async fn announce_catch_up(&mut self, fresh: &[Missed]) {
        let calls = fresh
            .iter()
            .filter(|m| !self.in_flight.contains(&m.id))
            .count();
        tracing::debug!("backfill found {calls} call(s) not printed yet");
        if calls == 0 || self.backfill.announced {
            return;
        }
        self.backfill.announced = true;
        let at_start = std::mem::take(&mut self.backfill.at_start);
        let event = ListenEvent::CatchingUp { calls, at_start };
        let _ = self.engine.events.send(event).await;
    }

    /// Something may have been missed: keep the cursor where it is and search again later.
    pub(super) fn note_failure(&mut self) {
        let delay = self.engine.config.timing.reconnect_cap / 3;
        self.gap.failed(later(delay));
    }

    pub(super) fn fill_ordered(&mut self) {
        while self.backfill.ordered.len() < BACKFILL_CONCURRENCY {
            let Some(missed) = self.backfill.queue.pop_front() else {
                break;
            };
            if self.engine.ledgers.seen(&missed.id) || !self.in_flight.insert(missed.id.clone()) {
                // Already emitted, or being fetched live (a failure there opens the gap again).
                continue;
            }
            let fetch = self.fetch(missed.id, Origin::Backfill);
            self.backfill.ordered.push_back(fetch);
        }
    }

    /// When a backfill's reports are all out and nothing failed meanwhile, the gap is closed
    /// and the cursor moves to the backfill's end.
    pub(super) fn finish_backfill_if_done(&mut self) {
        if !self.backfill.queue.is_empty() || !self.backfill.ordered.is_empty() {
            return;
        }
        let Some(done) = self.gap.emitted() else {
            return;
        };
        if let Some(until) = done.cursor_to {
            let now = self.engine.clock.now();
            let moves = self.engine.ledgers.advance_all(until, now);
            save_in_background(self.engine.store, moves, self.engine.clock.now());
        }
        if done.again {
            self.search_from_cursor();
        }
    }

    pub(super) async fn emit(&mut self, fetched: Fetched) -> Step {
        let Fetched { id, origin, result } = fetched;
        self.in_flight.remove(&id);
        match result {
            Ok(report) if origin == Origin::Notification && self.catching_up() => {
                self.held.push((id, report));
            }
            Ok(report) => self.emit_report(&id, report, origin).await?,
            Err(err) if is_fatal(&err, true) => {
                return Err(Box::new(End::Fatal(err, Some(self.channel.clone()))));
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
                self.note_failure();
            }
        }
        if origin == Origin::Backfill {
            self.fill_ordered();
            self.finish_backfill_if_done();
        } else {
            self.start_waiting();
        }
        Ok(())
    }

    /// Stores a report with its account's cursor (one transaction), then hands it to the
    /// renderer, unless the store already had it (an earlier run, another listener). When the
    /// store fails, nothing is printed: the gap stays open and a later backfill brings the
    /// report again once the store is back.
    pub(super) async fn emit_report(&mut self, id: &str, report: Report, origin: Origin) -> Step {
        if self.engine.ledgers.seen(id) {
            return Ok(());
        }
        let now = self.engine.clock.now();
        let ended = report.facts().call_ended.unwrap_or(now);
        let account = report.facts().account_key.clone();
        let advance = !self.gap.is_open();
        let cursor = self
            .engine
            .ledgers
            .cursor_after(account.as_deref(), ended, now, advance);
        match self.store(id, &report, cursor, now).await {
            StoreAttempt::Stored(Stored::New) | StoreAttempt::SetAside => {}
            StoreAttempt::Stored(Stored::AlreadyThere) => {
                self.engine
                    .ledgers
                    .record(id, account.as_deref(), ended, now, advance);
                // Another command (`sync`) may have stored it without queueing it for these
                // targets: the store queued it just now.
                self.wake_deliveries();
                return Ok(());
            }
            StoreAttempt::Failed => {
                self.note_store_failure();
                return Ok(());
            }
        }
        self.engine
            .ledgers
            .record(id, account.as_deref(), ended, now, advance);
        let (printed, answer) = oneshot::channel();
        let event = ListenEvent::Report {
            report,
            origin,
            printed,
        };
        if self.engine.events.send(event).await.is_err() || answer.await.is_err() {
            // The renderer is gone (stdout closed): stop like on Ctrl-C.
            return Err(Box::new(End::Shutdown(self.channel.clone())));
        }
        // Deliveries start once the call line is out, so their results show under it.
        self.wake_deliveries();
        Ok(())
    }

    fn wake_deliveries(&self) {
        self.engine.handoff.wake_deliveries();
    }

    /// What the store did with a report; a failure says so in a line. A report the store
    /// refuses for good (its data, not the store's state) is set aside in a file, loudly,
    /// rather than held back forever.
    pub(super) async fn store(
        &mut self,
        id: &str,
        report: &Report,
        cursor: Option<CursorMove>,
        now: Timestamp,
    ) -> StoreAttempt {
        let Some(store) = self.engine.store else {
            return StoreAttempt::Failed;
        };
        let queue = self.engine.handoff.queue();
        let cursor = cursor.as_ref().map(|(key, at)| (key.as_str(), *at));
        match store.store_report(report, cursor, &queue, now).await {
            Ok(stored) => {
                self.store_failures = 0;
                StoreAttempt::Stored(stored)
            }
            Err(err) if err.refused_the_data() => {
                self.store_failures = 0;
                let dir = self.engine.config.state_dir.join("set-aside");
                if let Some(path) = set_aside::earlier_copy(&dir, id) {
                    tracing::info!(
                        "the report of {id} was set aside before, in {}",
                        path.display()
                    );
                    return StoreAttempt::Stored(Stored::AlreadyThere);
                }
                match set_aside::write(&dir, id, report) {
                    Ok(path) => {
                        let reason = err.to_string();
                        let conversation_space_id = id.to_string();
                        let event = ListenEvent::SetAside {
                            conversation_space_id,
                            path,
                            reason,
                        };
                        let _ = self.engine.events.send(event).await;
                        StoreAttempt::SetAside
                    }
                    Err(write) => {
                        tracing::error!("{err}; and cannot set the report aside: {write}");
                        StoreAttempt::Failed
                    }
                }
            }
            Err(err) => {
                tracing::info!("{err}; holding reports back until the store answers again");
                StoreAttempt::Failed
            }
        }
    }

    /// The store failed: nothing is printed, the gap stays open, and a backfill retries after
    /// a wait that grows with each failure in a row (jittered, capped like reconnects).
    pub(super) fn note_store_failure(&mut self) {
        self.store_failures = self.store_failures.saturating_add(1);
        let delay = self
            .engine
            .config
            .timing
            .reconnect_delay(self.store_failures);
        if self.gap.failed(later(delay)) {
            tracing::info!("trying the store again in {delay:.1?}");
        }
    }
}
