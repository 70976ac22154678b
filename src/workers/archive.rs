//! `listen --archive`: beside the engine, each report and revision the listener stores is
//! written as its call's `report.json` and the recordings and transcripts it names are planned
//! in the store (`cer_media`); this worker claims the pending objects (leased, so listeners on
//! one store and one bucket archive each once), downloads them and settles them. GoTo's
//! Recording API has its own rate limit, so a download never takes a live report's slot.
//! A recording notification makes a known object due at once; for one no stored revision
//! names, the report of the likeliest call is fetched once (never more per notification),
//! and a notification that finds no call is kept until a revision names its recording.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lease_loop::{self, Leased, Rest};
use super::media::{Apart, ArchiveStop, Archiver, Attempt, Backoff, folder_of};
use super::refetch::Refetcher;
use crate::api::ApiClient;
use crate::archive::Archive;
use crate::archive::layout::folder_at;
use crate::events::RefetchResult;
use crate::service::Service;
use crate::store::media::{ClaimedMedia, MediaKind, MediaOutcome};
use crate::store::{Store, StoreError};
use crate::time_scale::TimeScale;

/// Objects claimed per trip to the store: one, each under a lease of its own. A listener's
/// downloads are paced (8 MiB/s), so a claim of several big recordings could outlast its lease
/// and another listener would download one of them again.
const BATCH: i64 = 1;
/// Notifications kept for recordings no stored call names yet, at most.
const HELD_AT_MOST: usize = 10_000;
/// How far back a notification's call is looked for (the longest upload delay seen is hours).
const NOTIFIED_CALLS_WITHIN: SignedDuration = SignedDuration::from_hours(6);

/// What the listener tells the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announced {
    /// A report or revision of this call was stored.
    Stored(String),
    /// GoTo's recording notification: a recording (or transcript) was uploaded.
    Uploaded {
        /// A transcript's id, else a recording's.
        transcript: bool,
        /// Its id, checked plain.
        id: String,
    },
}

/// The worker's timers, scaled together by `CER_TIME_SCALE` for tests.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveTiming {
    /// How often the store is looked at for due objects when nothing was announced.
    pub poll: Duration,
    /// How long a claim is this listener's: a long download fits in it.
    pub lease: Duration,
    /// The wait after archiving stopped (the login or the archive failed).
    pub pause: Duration,
    /// Retries of an object that was not ready.
    pub backoff: Backoff,
}

impl ArchiveTiming {
    /// Polls every 5 s, ten-minute leases, a minute's pause, retries for `forward_for`;
    /// times `factor`.
    pub fn scaled(scale: TimeScale, forward_for: Duration) -> Self {
        let scale = |d: Duration| scale.scale(d);
        let first = SignedDuration::try_from(scale(Duration::from_secs(60)))
            .unwrap_or(SignedDuration::from_secs(60));
        let within = SignedDuration::try_from(scale(forward_for)).unwrap_or(SignedDuration::MAX);
        Self {
            poll: scale(Duration::from_secs(5)),
            lease: scale(Duration::from_secs(600)).max(Duration::from_secs(1)),
            pause: scale(Duration::from_secs(60)),
            backoff: Backoff::within(first, within),
        }
    }
}

/// Everything the archive worker needs.
pub struct ArchiveWorker {
    /// GoTo's Recording API.
    pub api: ApiClient,
    /// The bookkeeping and the stored revisions.
    pub store: Store,
    /// Where objects go.
    pub archive: Archive,
    /// Its timers.
    pub timing: ArchiveTiming,
    /// Metrics and `/healthz`.
    pub service: Service,
    /// The calls whose report or revision was just stored, and recording notifications.
    pub announced: mpsc::UnboundedReceiver<Announced>,
    /// Fetches a notified recording's call once, within the session's pace.
    pub refetcher: Refetcher,
    /// Where recordings are downloaded and written; none: beside the live work.
    pub apart: Option<Apart>,
}

/// What the worker remembers between rounds.
#[derive(Default)]
struct Memory {
    /// Calls to plan.
    stored: BTreeSet<String>,
    /// Notifications not looked at yet.
    uploaded: Vec<(MediaKind, String)>,
    /// What the notifications looked at so far led to.
    notified: Notified,
}

/// The notifications no stored call names yet, and the calls fetched for them.
#[derive(Default)]
struct Notified {
    /// Each held notification, with the calls already fetched for it.
    held: BTreeMap<(MediaKind, String), Vec<String>>,
    /// Calls fetched for any notification: when, and the count of fetches then (the order).
    /// A burst of notifications each guesses another call, instead of all the newest one.
    fetched: BTreeMap<String, (Timestamp, u64)>,
    /// Fetches for notifications so far.
    fetches: u64,
}

impl Notified {
    /// The call to fetch for notification `id`, among `calls` (likeliest first, each with
    /// whether it names a recording): one not yet fetched for it; rather one naming a
    /// recording (a transcript's call does), then one no notification fetched, then the one
    /// fetched longest ago (its recording may have come since).
    fn next_call(&self, kind: MediaKind, id: &str, calls: &[(String, bool)]) -> Option<String> {
        let tried = self.held.get(&(kind, id.to_string()));
        let last_fetch = |call: &String| self.fetched.get(call).map(|(_, order)| *order);
        calls
            .iter()
            .filter(|(call, _)| tried.is_none_or(|tried| !tried.contains(call)))
            // The first of the least, so the store's order decides among equals.
            .min_by_key(|(call, recorded)| (!recorded, last_fetch(call)))
            .map(|(call, _)| call.clone())
    }

    /// `call` is fetched for notification `id` at `now`; what is older than any call a
    /// notification looks for is forgotten.
    fn fetching(&mut self, kind: MediaKind, id: &str, call: &str, now: Timestamp) {
        self.keep(kind, id).push(call.to_string());
        let since = now.checked_sub(NOTIFIED_CALLS_WITHIN).unwrap_or(now);
        self.fetched.retain(|_, (at, _)| *at >= since);
        self.fetches += 1;
        self.fetched.insert(call.to_string(), (now, self.fetches));
    }

    /// Holds notification `id` (at most [`HELD_AT_MOST`]): the calls fetched for it.
    fn keep(&mut self, kind: MediaKind, id: &str) -> &mut Vec<String> {
        let key = (kind, id.to_string());
        if !self.held.contains_key(&key)
            && self.held.len() >= HELD_AT_MOST
            && let Some(dropped) = self.held.keys().next().cloned()
        {
            self.held.remove(&dropped);
        }
        self.held.entry(key).or_default()
    }
}

impl Memory {
    fn take(&mut self, announced: Announced) {
        match announced {
            Announced::Stored(id) => {
                self.stored.insert(id);
            }
            Announced::Uploaded { transcript, id } => {
                let kind = if transcript {
                    MediaKind::Transcript
                } else {
                    MediaKind::Recording
                };
                self.uploaded.push((kind, id));
            }
        }
    }
}

/// The archive worker on the lease loop, with what it remembers between rounds.
struct Archiving {
    worker: ArchiveWorker,
    memory: Memory,
    /// Why archiving last paused: said once, not after every pause.
    paused: Option<String>,
    /// Planning failed this round (the archive or the store may be back later): the next
    /// look waits the pause.
    planning_failed: bool,
}

impl Archiving {
    fn pause(&mut self, why: String) {
        if self.paused.as_ref() != Some(&why) {
            tracing::warn!("archiving pauses: {why}");
        }
        self.paused = Some(why);
        self.planning_failed = true;
    }
}

impl Leased for Archiving {
    type Item = ClaimedMedia;

    /// Before each claim: the calls announced as stored are planned and the recording
    /// notifications looked at.
    async fn before_claim(&mut self, stop: &CancellationToken) -> bool {
        while let Ok(announced) = self.worker.announced.try_recv() {
            self.memory.take(announced);
        }
        self.planning_failed = false;
        for id in std::mem::take(&mut self.memory.stored) {
            if !self.worker.plan(&id).await {
                // Planned again after the pause: the archive or the store may be back.
                self.planning_failed = true;
                self.memory.stored.insert(id);
            }
        }
        for (kind, id) in std::mem::take(&mut self.memory.uploaded) {
            let notified = &mut self.memory.notified;
            self.worker.uploaded(kind, id, notified, stop).await;
        }
        true
    }

    async fn claim(&mut self) -> Result<Vec<ClaimedMedia>, StoreError> {
        let lease = self.worker.timing.lease;
        let store = &self.worker.store;
        store
            .claim_media(None, self.worker.now(), lease, BATCH)
            .await
    }

    async fn work(&mut self, claimed: Vec<ClaimedMedia>, stop: &CancellationToken) -> bool {
        match self.worker.archive_claimed(&claimed, stop).await {
            Ok(worked) => {
                self.paused = None;
                worked
            }
            Err(why) => {
                self.pause(why);
                false
            }
        }
    }

    fn store_down(&mut self, err: &StoreError) {
        self.pause(format!("the store failed: {err}"));
    }

    async fn rest(&mut self, why: Rest) -> Duration {
        match why {
            Rest::NothingDue => self.paused = None,
            Rest::StoreDown => self.planning_failed = true,
            Rest::AfterBatch => {}
        }
        if let Ok(pending) = self.worker.store.media_pending().await {
            self.worker.service.metrics().set_media_pending(pending);
        }
        if self.planning_failed {
            self.worker.timing.pause
        } else {
            self.worker.timing.poll
        }
    }

    /// An announcement ends the rest (and is kept for the next round).
    async fn woken(&mut self) {
        match self.worker.announced.recv().await {
            Some(announced) => self.memory.take(announced),
            // Nobody announces any more: only the poll wakes the worker.
            None => std::future::pending().await,
        }
    }
}

impl ArchiveWorker {
    /// The engine's clock, which the re-fetcher the worker shares reads too.
    fn now(&self) -> Timestamp {
        self.refetcher.clock.now()
    }

    /// Runs until `stop` is cancelled.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let worker = Archiving {
            worker: self,
            memory: Memory::default(),
            paused: None,
            planning_failed: false,
        };
        lease_loop::spawn(worker, stop)
    }

    /// A recording notification: an object a stored report names is due at once; else the
    /// likeliest call not yet fetched for it (one whose report names nothing of its kind:
    /// [`Notified::next_call`]) is fetched once, and a new revision is planned at once; else
    /// it is kept, and archived once a revision names it.
    async fn uploaded(
        &self,
        kind: MediaKind,
        id: String,
        notified: &mut Notified,
        stop: &CancellationToken,
    ) {
        let now = self.now();
        match self.store.media_uploaded(kind, &id, now).await {
            Ok(true) => {
                notified.held.remove(&(kind, id));
                return;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::info!("cannot look up the notified {} {id}: {err}", kind.as_str());
                return;
            }
        }
        let since = now.checked_sub(NOTIFIED_CALLS_WITHIN).unwrap_or(now);
        let calls = match self.store.calls_lacking_media(kind, since).await {
            Ok(calls) => calls,
            Err(err) => {
                tracing::info!("cannot look for the call of {} {id}: {err}", kind.as_str());
                Vec::new()
            }
        };
        let Some(call) = notified.next_call(kind, &id, &calls) else {
            tracing::debug!("{} {id}: no stored call names it yet; kept", kind.as_str());
            notified.keep(kind, &id);
            return;
        };
        notified.fetching(kind, &id, &call, now);
        // Planned here at once, so the next notification (its transcript) finds it.
        if self.refetcher.fetch_now(&call, stop).await == Some(RefetchResult::Changed) {
            self.plan(&call).await;
        }
    }

    fn archiver(&self) -> Archiver<'_> {
        Archiver {
            store: &self.store,
            api: &self.api,
            archive: &self.archive,
            live: Some(&self.refetcher.handoff.live),
            apart: self.apart.as_ref(),
        }
    }

    /// Writes the call's newest revision as `report.json` and plans what it names; false when
    /// the archive or the store failed (`/healthz` says so; the next revision, or a restart,
    /// plans it again).
    async fn plan(&self, id: &str) -> bool {
        let newest = match self.store.newest_revision(id).await {
            Ok(Some(newest)) => newest.text,
            Ok(None) => return true,
            Err(err) => {
                tracing::info!("cannot plan the archiving of {id}: {err}");
                return false;
            }
        };
        let folder = match folder_of(id, &newest) {
            Ok(folder) => folder,
            Err(why) => {
                let id = crate::escape::terminal_safe(id);
                tracing::warn!("call {id}: {why}, not archived");
                return true;
            }
        };
        match self.archiver().plan(id, &folder, &newest).await {
            Ok(planned) => {
                self.archive_reachable();
                for refused in &planned.refused {
                    let refused = crate::escape::terminal_safe(refused);
                    tracing::warn!("call {id}: refused the ID {refused}: not a plain ID");
                }
                true
            }
            Err(err) => {
                self.archive_unreachable(&format!("{err:#}"));
                false
            }
        }
    }

    /// Archives a claimed batch; `Ok(false)` when asked to stop halfway, `Err` when
    /// archiving must pause (the login or the store failed). What is left of the batch is
    /// handed back at once, for another listener (or this one, after the pause).
    async fn archive_claimed(
        &self,
        claimed: &[ClaimedMedia],
        stop: &CancellationToken,
    ) -> Result<bool, String> {
        for (n, claim) in claimed.iter().enumerate() {
            let attempt = tokio::select! {
                attempt = self.attempt(claim) => attempt,
                () = stop.cancelled() => {
                    // Stopping mid-download (its temporary file goes with it): the object is
                    // free for the next listener at once, not when its lease runs out.
                    let _ = self.store.release_media(&claimed[n..]).await;
                    return Ok(false);
                }
            };
            let attempt = match attempt {
                Ok(attempt) => attempt,
                Err(stopped) => {
                    let _ = self.store.release_media(&claimed[n..]).await;
                    return Err(stopped);
                }
            };
            if let Some(why) = &attempt.archive_error {
                self.archive_unreachable(why);
            } else {
                self.archive_reachable();
            }
            self.settle(claim, &attempt.outcome).await;
            if stop.is_cancelled() {
                let _ = self.store.release_media(&claimed[n + 1..]).await;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One object, downloaded and written (or why not).
    async fn attempt(&self, claim: &ClaimedMedia) -> Result<Attempt, String> {
        let call = &claim.item.call;
        let folder = match self.store.call_time(call).await {
            Ok(Some(Some(time))) => folder_at(call, time).ok_or("not a plain ID"),
            Ok(Some(None)) => Err("the report has no callEnded"),
            Ok(None) => Err("its call is no longer stored"),
            Err(err) => return Err(format!("the store failed: {err}")),
        };
        let folder = match folder {
            Ok(folder) => folder,
            Err(why) => {
                let error = why.to_string();
                return Ok(Attempt::failed(error));
            }
        };
        match self.archiver().archive_one(claim, &folder).await {
            Ok(attempt) => {
                Ok(attempt.with_backoff(claim.attempts, self.now(), self.timing.backoff))
            }
            Err(ArchiveStop::Auth(err)) => Err(format!("GoTo refused the login: {err}")),
            Err(ArchiveStop::Refused(err)) => Err(err.0),
        }
    }

    async fn settle(&self, claim: &ClaimedMedia, outcome: &MediaOutcome) {
        let item = &claim.item;
        match outcome {
            MediaOutcome::Failed { error } => tracing::warn!(
                "could not archive {} {} of call {}: {error}",
                item.kind.as_str(),
                item.media_id,
                item.call
            ),
            MediaOutcome::Retry { error, .. } => tracing::info!(
                "{} {} of call {} is not archived yet ({error}); tried again later",
                item.kind.as_str(),
                item.media_id,
                item.call
            ),
            MediaOutcome::Archived { .. } | MediaOutcome::Gone => {}
        }
        let settled = self.store.settle_media(claim, outcome, self.now()).await;
        match (settled, outcome) {
            (Ok(true), MediaOutcome::Archived { bytes, .. }) => {
                self.service
                    .metrics()
                    .media_archived(item.kind.as_str(), *bytes);
            }
            (Ok(true), MediaOutcome::Failed { .. }) => {
                self.service.metrics().media_failed(item.kind.as_str());
            }
            (Ok(_), _) => {}
            // The lease runs out and the object is tried again.
            (Err(err), _) => {
                tracing::info!("cannot record the archiving of {}: {err}", item.media_id);
            }
        }
    }

    /// `/healthz` says why at once; the log says it once a failing streak (a listener run
    /// without `--metrics` would otherwise archive nothing without a word).
    fn archive_unreachable(&self, why: &str) {
        let reason = format!("the archive fails: {why}");
        if self.service.health().problem("archive", &reason) {
            tracing::warn!(
                "{reason}; reports keep flowing, and what is not archived is tried again"
            );
        }
    }

    fn archive_reachable(&self) {
        if self.service.health().resolved("archive") {
            tracing::info!("the archive works again");
        }
    }
}

#[cfg(test)]
mod tests;
