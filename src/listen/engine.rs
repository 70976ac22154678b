//! The outer loop of `listen`: open a session, pump it until it is lost, reconnect with backoff,
//! forever; only a shutdown request or an authentication failure ends it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::{ListenError, NeedsStart, is_fatal};
use super::handoff::Handoff;
use super::ledger::{
    Ledgers, backfill_start, minus_overlap, save_cursor_moves, save_in_background,
};
use super::pump::{End, EngineParts, Pump};
use super::session::{Session, discard, tear_down};
use super::{Clock, ListenConfig, StartFrom};
use crate::api::ApiClient;
use crate::api::channels::Channel;
use crate::events::ListenEvent;
use crate::store::{Store, StoreError, StoreLocation};

/// The listen engine. Build it, then [`Engine::run`] it until `shutdown` is cancelled.
pub struct Engine {
    api: ApiClient,
    config: ListenConfig,
    events: mpsc::Sender<ListenEvent>,
    ledgers: Ledgers,
    clock: Arc<dyn Clock>,
    /// Where reports, cursors and deliveries are kept; opened in `run` when not given.
    store: Option<Store>,
    handoff: Handoff,
    /// A fresh listen (no `--since`, no cursor) never reaches behind its own start, even
    /// with the overlap that catches late notifications.
    floor: Option<Timestamp>,
    /// True until the first backfill of the run has been started (see `CatchingUp::at_start`).
    catch_up_at_start: bool,
    /// Whether [`Engine::load`] has read the saved cursors.
    loaded: bool,
}

impl Engine {
    /// An engine on the default store (`sqlite:STATE_DIR/cer.db`) unless
    /// [`Engine::with_store`] gives another; the saved cursors are read when it runs.
    pub fn new(
        api: ApiClient,
        config: ListenConfig,
        events: mpsc::Sender<ListenEvent>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let ledgers =
            Ledgers::new(&config.account_keys).remembering_at_most(config.remember_at_most);
        Self {
            api,
            config,
            events,
            ledgers,
            clock,
            store: None,
            handoff: Handoff::default(),
            floor: None,
            catch_up_at_start: true,
            loaded: false,
        }
    }

    /// Uses this (open) store, and queues each new report's deliveries in its outbox.
    pub fn with_store(mut self, store: Store, handoff: Handoff) -> Self {
        self.store = Some(store);
        self.handoff = handoff;
        self
    }

    /// Opens the default store if none was given, and reads the saved cursors from it. The
    /// `listen` command calls it before [`Engine::run`], so that a store that fails here is the
    /// store's error (exit 1, naming the store), not a listening one; `run` loads on its own
    /// when nobody did.
    pub async fn load(&mut self) -> Result<(), StoreError> {
        let store = match self.store.clone() {
            Some(store) => store,
            None => Store::open(&StoreLocation::default_in(&self.config.state_dir)).await?,
        };
        let now = self.clock.now();
        self.ledgers = Ledgers::load(
            &store,
            &self.config.state_dir,
            &self.config.account_keys,
            now,
        )
        .await?
        .remembering_at_most(self.config.remember_at_most);
        self.store = Some(store);
        self.loaded = true;
        Ok(())
    }

    /// What a session's loop borrows for its lifetime.
    fn parts_for_session(&mut self) -> EngineParts<'_> {
        EngineParts {
            api: &self.api,
            config: &self.config,
            events: &self.events,
            clock: &*self.clock,
            store: self.store.as_ref(),
            handoff: &self.handoff,
            ledgers: &mut self.ledgers,
            floor: self.floor,
        }
    }

    /// Listens until `shutdown` is cancelled (then cleans up and returns `Ok`) or authentication
    /// fails for good.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), ListenError> {
        if !self.loaded {
            self.load().await?;
        }
        let mut backfill_from = self.first_backfill_start()?;
        let (mut attempt, mut ready) = (0u32, false);
        let give_up_at = Instant::now() + self.config.timing.first_connect_limit;
        loop {
            let mut created = None;
            let opened = tokio::select! {
                biased;
                () = shutdown.cancelled() => None,
                opened = Session::open(&self.api, &self.config, &mut created) => Some(opened),
            };
            let Some(opened) = opened else {
                // Stopped halfway through opening: delete whatever was already created.
                self.finish(created).await;
                return Ok(());
            };
            let reason = match opened {
                Ok(session) => {
                    let opened_at = Instant::now();
                    self.announce(ready, &session.channel).await;
                    ready = true;
                    let at_start = std::mem::take(&mut self.catch_up_at_start);
                    match Pump::new(self.parts_for_session(), session, backfill_from, at_start)
                        .run(&shutdown)
                        .await
                    {
                        End::Shutdown(channel) => {
                            self.finish(Some(channel)).await;
                            return Ok(());
                        }
                        End::Fatal(err, channel) => {
                            self.finish(channel).await;
                            return Err(err.into());
                        }
                        End::Lost {
                            reason,
                            channel,
                            carried_calls,
                        } => {
                            let lasted = opened_at.elapsed();
                            attempt = self.after_lost(attempt, lasted, carried_calls, channel);
                            reason
                        }
                    }
                }
                Err(err) if is_fatal(&err, ready) => return Err(err.into()),
                // Nothing has ever worked: a person must fix something, so say what failed.
                Err(err) if !ready && Instant::now() >= give_up_at => return Err(err.into()),
                Err(err) => format!("could not set up the channel: {err}"),
            };
            attempt += 1;
            let deadline = (!ready).then_some(give_up_at);
            if !self
                .pause_before_reconnect(attempt, reason, deadline, &shutdown)
                .await
            {
                self.finish(None).await;
                return Ok(());
            }
            backfill_from = self.reconnect_backfill_start();
        }
    }

    /// Counts a lost session toward the backoff (one that lasted or carried calls resets
    /// it) and deletes its channel in the background; returns the failures counted so far.
    fn after_lost(
        &self,
        attempt: u32,
        lasted: std::time::Duration,
        carried_calls: bool,
        channel: Option<Channel>,
    ) -> u32 {
        let attempt = self
            .config
            .timing
            .failures_after_session(attempt, lasted, carried_calls);
        if let Some(channel) = channel {
            let limit = self.config.timing.shutdown_limit;
            discard(&self.api, channel, &self.config, limit);
        }
        attempt
    }

    /// Tells the renderer and waits the backoff (never past `deadline`); false when shutdown
    /// came first.
    async fn pause_before_reconnect(
        &self,
        attempt: u32,
        reason: String,
        deadline: Option<Instant>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut delay = self.config.timing.reconnect_delay(attempt);
        if let Some(deadline) = deadline {
            delay = delay.min(deadline.saturating_duration_since(Instant::now()));
        }
        tracing::debug!("reconnecting in {delay:.1?} (attempt {attempt}): {reason}");
        let event = ListenEvent::Reconnecting {
            attempt,
            delay,
            reason,
        };
        let _ = self.events.send(event).await;
        tokio::select! {
            () = shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    async fn announce(&self, ready: bool, channel: &Channel) {
        let event = if ready {
            ListenEvent::Reconnected
        } else {
            ListenEvent::Ready {
                account_keys: self.config.account_keys.clone(),
                channel_id: channel.id.clone(),
            }
        };
        let _ = self.events.send(event).await;
    }

    /// At start: `--since`, else the saved cursor minus the overlap; a first run with no
    /// cursor starts its record now, so later reconnects know where to backfill from.
    /// A corrupt cursor with nothing readable left stops here: guessing "now" would lose the
    /// calls that ended while cer was down, so the user says where to start.
    fn first_backfill_start(&mut self) -> Result<Option<Timestamp>, NeedsStart> {
        let lost = self.ledgers.unrecoverable();
        if self.config.start == StartFrom::Cursor && !lost.is_empty() {
            return Err(NeedsStart {
                unreadable: lost.into_iter().map(str::to_string).collect(),
            });
        }
        let now = self.clock.now();
        let start = match self.config.start {
            StartFrom::Since(back) => {
                let back = SignedDuration::try_from(back).unwrap_or(SignedDuration::MAX);
                Some(now.saturating_sub(back).unwrap_or(Timestamp::MIN))
            }
            StartFrom::Cursor => self.ledgers.cursor().map(minus_overlap),
        };
        if start.is_none() {
            self.floor = Some(now);
        }
        if self.ledgers.cursor().is_none() {
            let moves = self.ledgers.start_at(start.unwrap_or(now));
            save_in_background(self.store.as_ref(), moves, self.clock.now());
        }
        Ok(start.filter(|_| self.config.backfill))
    }

    /// Where a backfill after a gap starts: the overlap before the cursor, but never before
    /// the start of a fresh listen; `None` when backfill is off or there is no cursor.
    fn reconnect_backfill_start(&self) -> Option<Timestamp> {
        backfill_start(&self.ledgers, self.floor).filter(|_| self.config.backfill)
    }

    /// Deletes what this run created on GoTo's side and saves the cursors.
    async fn finish(&mut self, channel: Option<Channel>) {
        if let Some(channel) = channel {
            tear_down(
                &self.api,
                &channel,
                &self.config,
                self.config.timing.shutdown_limit,
            )
            .await;
        }
        if let Some(store) = &self.store {
            let moves = self.ledgers.cursors();
            if let Err(err) = save_cursor_moves(store, &moves, self.clock.now()).await {
                tracing::warn!("cannot save the listen cursor: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests;
