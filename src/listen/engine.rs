//! The outer loop of `listen`: open a session, pump it until it is lost, reconnect with backoff,
//! forever; only a shutdown request or an authentication failure ends it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, watch};

use super::ledger::{Ledgers, OVERLAP};
use super::pump::{End, Pump};
use super::session::{Session, discard, tear_down};
use super::{Clock, ListenConfig, ListenEvent, StartFrom};
use crate::api::channels::Channel;
use crate::api::{ApiClient, ApiError};

/// The listen engine. Build it, then [`Engine::run`] it until `shutdown` turns true.
pub struct Engine {
    pub(super) api: ApiClient,
    pub(super) config: ListenConfig,
    pub(super) events: mpsc::Sender<ListenEvent>,
    pub(super) ledgers: Ledgers,
    pub(super) clock: Arc<dyn Clock>,
}

impl Engine {
    /// Loads the saved cursors of every account key.
    pub fn new(
        api: ApiClient,
        config: ListenConfig,
        events: mpsc::Sender<ListenEvent>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let ledgers = Ledgers::load_at(&config.state_dir, &config.account_keys, clock.now());
        Self {
            api,
            config,
            events,
            ledgers,
            clock,
        }
    }

    /// Listens until `shutdown` is set (then cleans up and returns `Ok`) or authentication
    /// fails for good.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), ApiError> {
        let mut backfill_from = self.first_backfill_start()?;
        let (mut attempt, mut ready) = (0u32, false);
        loop {
            let mut created = None;
            let opened = tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => None,
                opened = Session::open(&self.api, &self.config, &mut created) => Some(opened),
            };
            let Some(opened) = opened else {
                // Stopped halfway through opening: delete whatever was already created.
                return self.finish(created).await;
            };
            let reason = match opened {
                Ok(session) => {
                    let opened_at = tokio::time::Instant::now();
                    self.announce(ready, &session.channel).await;
                    ready = true;
                    match Pump::new(&mut self, session, backfill_from)
                        .run(&mut shutdown)
                        .await
                    {
                        End::Shutdown(channel) => return self.finish(Some(channel)).await,
                        End::Fatal(err, channel) => {
                            self.finish(channel).await?;
                            return Err(err);
                        }
                        End::Lost { reason, channel } => {
                            let lasted = opened_at.elapsed();
                            attempt = self.config.timing.failures_after_session(attempt, lasted);
                            if let Some(channel) = channel {
                                discard(
                                    &self.api,
                                    channel,
                                    &self.config,
                                    self.config.timing.shutdown_limit,
                                );
                            }
                            reason
                        }
                    }
                }
                Err(err) if is_fatal(&err, ready) => return Err(err),
                Err(err) => format!("could not set up the channel: {err}"),
            };
            attempt += 1;
            if !self
                .pause_before_reconnect(attempt, reason, &mut shutdown)
                .await
            {
                return self.finish(None).await;
            }
            backfill_from = self.reconnect_backfill_start();
        }
    }

    /// Tells the renderer and waits the backoff; false when shutdown came first.
    async fn pause_before_reconnect(
        &self,
        attempt: u32,
        reason: String,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let delay = self.config.timing.reconnect_delay(attempt);
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
    fn first_backfill_start(&mut self) -> Result<Option<Timestamp>, ApiError> {
        let lost = self.ledgers.unrecoverable();
        if self.config.start == StartFrom::Cursor && !lost.is_empty() {
            return Err(ApiError::NeedsStart(format!(
                "the listen cursor could not be read from {}, so where to backfill from is unknown",
                lost.join(", ")
            )));
        }
        let now = self.clock.now();
        let start = match self.config.start {
            StartFrom::Since(back) => {
                let back = SignedDuration::try_from(back).unwrap_or(SignedDuration::MAX);
                Some(now.saturating_sub(back).unwrap_or(Timestamp::MIN))
            }
            StartFrom::Cursor => self.ledgers.cursor().map(minus_overlap),
        };
        if self.ledgers.cursor().is_none()
            && let Err(err) = self.ledgers.start_at(start.unwrap_or(now))
        {
            tracing::warn!("cannot save the listen cursor: {err}");
        }
        Ok(start.filter(|_| self.config.backfill))
    }

    fn reconnect_backfill_start(&self) -> Option<Timestamp> {
        self.ledgers
            .cursor()
            .map(minus_overlap)
            .filter(|_| self.config.backfill)
    }

    /// Deletes what this run created on GoTo's side and saves the cursors.
    async fn finish(&mut self, channel: Option<Channel>) -> Result<(), ApiError> {
        if let Some(channel) = channel {
            tear_down(
                &self.api,
                &channel,
                &self.config,
                self.config.timing.shutdown_limit,
            )
            .await;
        }
        if let Err(err) = self.ledgers.save_all() {
            tracing::warn!("cannot save the listen cursor: {err}");
        }
        Ok(())
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
        ApiError::Auth(_) | ApiError::Unauthorized { .. } | ApiError::Credentials(_) => true,
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
