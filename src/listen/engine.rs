//! The outer loop of `listen`: open a session, pump it until it is lost, reconnect with backoff,
//! forever; only a shutdown request or an authentication failure ends it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::error::{ListenError, NeedsStart};
use super::ledger::{CursorMove, Ledgers, OVERLAP, save_cursor_moves};
use super::pump::{End, Pump};
use super::session::{Session, discard, tear_down};
use super::{Clock, ListenConfig, ListenEvent, StartFrom};
use crate::api::channels::Channel;
use crate::api::{ApiClient, ApiError};
use crate::auth::CredentialsError;
use crate::store::{Store, StoreError, StoreLocation};

/// The listen engine. Build it, then [`Engine::run`] it until `shutdown` turns true.
pub struct Engine {
    pub(super) api: ApiClient,
    pub(super) config: ListenConfig,
    pub(super) events: mpsc::Sender<ListenEvent>,
    pub(super) ledgers: Ledgers,
    pub(super) clock: Arc<dyn Clock>,
    /// Where reports, cursors and deliveries are kept; opened in `run` when not given.
    pub(super) store: Option<Store>,
    pub(super) outbox: Outbox,
    /// A fresh listen (no `--since`, no cursor) never reaches behind its own start, even
    /// with the overlap that catches late notifications.
    floor: Option<Timestamp>,
    /// True until the first backfill of the run has been started (see `CatchingUp::at_start`).
    pub(super) catch_up_at_start: bool,
    /// Whether [`Engine::load`] has read the saved cursors.
    loaded: bool,
}

/// Where each newly stored report is to be delivered (`--forward-to`), when it is fetched
/// again (`--refetch`), and who to wake.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    /// The `--forward-to` targets; none: nothing is queued.
    pub targets: Vec<crate::target::ForwardTarget>,
    /// `--forward-for`: how long a delivery is retried before it is marked failed.
    pub forward_for: std::time::Duration,
    /// `--refetch`: when after a call's end its report is fetched again.
    pub refetch_after: Vec<std::time::Duration>,
    /// Woken when a report queued deliveries, so the delivery tasks need not wait to poll.
    pub wake: Arc<tokio::sync::Notify>,
    /// Report fetches the session has under way or waiting: re-fetches wait while there are
    /// any, so live calls never queue behind them.
    pub live_work: Arc<std::sync::atomic::AtomicUsize>,
}

impl Outbox {
    /// What the store is to do with each newly stored report.
    pub fn queue(&self) -> crate::store::outbox::Queue<'_> {
        crate::store::outbox::Queue {
            targets: &self.targets,
            forward_for: self.forward_for,
            refetch_after: &self.refetch_after,
        }
    }
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
            outbox: Outbox::default(),
            floor: None,
            catch_up_at_start: true,
            loaded: false,
        }
    }

    /// Uses this (open) store, and queues each new report's deliveries in its outbox.
    pub fn with_store(mut self, store: Store, outbox: Outbox) -> Self {
        self.store = Some(store);
        self.outbox = outbox;
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

    /// Saves cursor moves in the background: they only move forward in the store, so a
    /// late write does no harm, and a failed one is redone by the next report or backfill.
    pub(super) fn save_cursors(&self, moves: Vec<CursorMove>) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let now = self.clock.now();
        tokio::spawn(async move {
            if let Err(err) = save_cursor_moves(&store, &moves, now).await {
                tracing::warn!("cannot save the listen cursor: {err}");
            }
        });
    }

    /// Listens until `shutdown` is set (then cleans up and returns `Ok`) or authentication
    /// fails for good.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), ListenError> {
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
                _ = stopped(&mut shutdown) => None,
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
                    match Pump::new(&mut self, session, backfill_from)
                        .run(&mut shutdown)
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
                .pause_before_reconnect(attempt, reason, deadline, &mut shutdown)
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
        shutdown: &mut watch::Receiver<bool>,
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
            _ = stopped(shutdown) => false,
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
            self.save_cursors(moves);
        }
        Ok(start.filter(|_| self.config.backfill))
    }

    fn reconnect_backfill_start(&self) -> Option<Timestamp> {
        self.backfill_from_cursor()
    }

    /// Where a backfill after a gap starts: the overlap before the cursor, but never before
    /// the start of a fresh listen; `None` when backfill is off or there is no cursor.
    pub(super) fn backfill_from_cursor(&self) -> Option<Timestamp> {
        let from = self.ledgers.cursor().map(minus_overlap)?;
        let from = self.floor.map_or(from, |floor| from.max(floor));
        Some(from).filter(|_| self.config.backfill)
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

fn minus_overlap(cursor: Timestamp) -> Timestamp {
    cursor.saturating_sub(OVERLAP).unwrap_or(cursor)
}

/// An error that retrying cannot cure: authentication always; before the first `Ready`, also
/// a request GoTo rejects outright (a wrong account key, a missing scope), which a person must
/// fix, rather than retrying it forever.
pub(super) fn is_fatal(err: &ApiError, ready: bool) -> bool {
    match err {
        ApiError::Auth(_) | ApiError::Unauthorized { .. } => true,
        // The credential store fails the same way next time; an OAuth client missing for a
        // refresh is not fatal: another cer may refresh the stored tokens meanwhile.
        ApiError::Local(_) => err.local_cause::<CredentialsError>().is_some(),
        ApiError::Forbidden { .. } => !ready,
        ApiError::Rejected { status, .. } => {
            !ready && (400..500).contains(status) && *status != 408
        }
        _ => false,
    }
}

/// Resolves once shutdown is requested (or nobody can request it any more).
pub(super) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            // The sender is gone: nobody can stop us, so never resolve.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::OAuthClientError;

    #[test]
    fn a_failing_credential_store_is_fatal_a_missing_oauth_client_is_not() {
        let lock = CredentialsError::LockHeld {
            path: "/c/credentials.lock".into(),
            waited: std::time::Duration::from_secs(10),
        };
        assert!(is_fatal(&ApiError::local(lock), true));
        let missing = OAuthClientError::NeededForRefresh("OAUTH_CLIENT_ID not set".into());
        assert!(!is_fatal(&ApiError::local(missing), true));
        assert!(is_fatal(
            &ApiError::from(crate::auth::AuthError::NotLoggedIn),
            true
        ));
    }
}
