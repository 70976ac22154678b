//! The re-fetcher: GoTo adds post-call analysis (call reason, AI fields, recordings,
//! transcripts) to a report after the call ended and tells no one, so each stored report is
//! fetched again at the points of `--refetch`. The schedule lives in the store (shared by
//! listeners, kept across restarts); this worker, on the lease loop, takes the due points one
//! at a time, only while the session has no report work of its own, so a burst of live calls
//! never waits for it.
//! A changed report is stored as the next revision, queued for delivery and told to the
//! renderer; anything that goes wrong keeps what is stored and is tried once more later.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lease_loop::{self, Leased, Rest};
use crate::api::ApiClient;
use crate::api::reports::fetch_report;
use crate::events::{ListenEvent, RefetchResult};
use crate::listen::{Clock, Handoff, LiveWork};
use crate::report::{FieldDigests, Report};
use crate::store::refetch::{DueRefetch, RefetchDone};
use crate::store::{Revised, Store, StoreError};
use crate::time_scale::TimeScale;

/// Points claimed per trip to the store.
const BATCH: i64 = 8;

/// The re-fetcher's timers, scaled together by `CER_TIME_SCALE` for tests.
#[derive(Debug, Clone, Copy)]
pub struct RefetchTiming {
    /// How often the schedule is looked at when nothing is due.
    pub poll: Duration,
    /// How long a claimed point is this listener's before another one may take it.
    pub lease: Duration,
    /// When a failed re-fetch is tried again.
    pub retry_after: Duration,
    /// How long the session must have had no report work before a re-fetch: two slots of
    /// the rate limit, so a live call never waits for a slot a re-fetch took.
    pub pace: Duration,
}

impl RefetchTiming {
    /// One second between looks, a minute's lease, two minutes before a retry, times
    /// `factor`; re-fetches at most `rate / 2` a second (`--rate`, GoTo's requests a second).
    pub fn scaled(scale: TimeScale, rate: u32) -> Self {
        let scale = |d: Duration| scale.scale(d);
        Self {
            poll: scale(Duration::from_secs(1)),
            lease: scale(Duration::from_secs(60)),
            retry_after: scale(Duration::from_secs(120)),
            pace: Duration::from_secs_f64(2.0 / f64::from(rate.max(1))),
        }
    }
}

/// Everything the re-fetch task needs.
#[derive(Clone)]
pub struct Refetcher {
    /// GoTo, within the same rate limit as the live fetches.
    pub api: ApiClient,
    /// Where the schedule and the revisions are.
    pub store: Store,
    /// The targets each new revision is queued for, and the session's live work.
    pub handoff: Handoff,
    /// Its timers.
    pub timing: RefetchTiming,
    /// Revisions and results go to the renderer while `listen` runs.
    pub events: mpsc::WeakSender<ListenEvent>,
    /// What time it is for the schedule: the engine's clock, so tests can place "now".
    pub clock: Arc<dyn Clock>,
    /// Whether the renderer describes what each revision changed: its event then carries
    /// the revision before it, read back from the store.
    pub describe_changes: bool,
}

impl Refetcher {
    /// Runs until `stop` is cancelled; does nothing when `--refetch off`.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let worker = Scheduled {
            refetcher: self,
            claimed_at: tokio::time::Instant::now(),
        };
        lease_loop::spawn(worker, stop)
    }

    /// One re-fetch, its result stored, settled and told (also `sync`'s, for due points of
    /// its range); `None` when the store failed and the point waits for its lease to end.
    pub async fn refetch(&self, due: DueRefetch) -> Option<RefetchResult> {
        let result = match fetch_report(&self.api, &due.id).await {
            Ok(report) => self.keep(&due.id, report).await,
            Err(err) => {
                tracing::info!(
                    "re-fetching the report of {} failed ({err}); the stored one stays",
                    due.id
                );
                Some(RefetchResult::Error)
            }
        };
        // The store failed: the lease runs out and the point is tried again.
        let result = result?;
        let done = match result {
            RefetchResult::Error => RefetchDone::Failed,
            RefetchResult::Changed | RefetchResult::Unchanged => RefetchDone::Done,
        };
        let now = self.clock.now();
        let settled = self
            .store
            .settle_refetch(&due, done, now, self.timing.retry_after)
            .await;
        if let Err(err) = settled {
            tracing::info!("cannot record a re-fetch of {}: {err}", due.id);
        }
        self.send_event(ListenEvent::Refetched(result)).await;
        Some(result)
    }

    /// One report request for `id` outside the schedule (`listen --archive`: a recording
    /// notification for a call no stored revision names yet), once the session is quiet; a
    /// changed report is stored, queued and told like a re-fetch's. `None` when asked to stop
    /// or the store failed.
    pub async fn fetch_now(&self, id: &str, stop: &CancellationToken) -> Option<RefetchResult> {
        if !wait_until_quiet(&self.handoff.live, &self.timing, stop).await {
            return None;
        }
        match fetch_report(&self.api, id).await {
            Ok(report) => self.keep(id, report).await,
            Err(err) => {
                tracing::info!("fetching the report of {id} again failed ({err})");
                Some(RefetchResult::Error)
            }
        }
    }

    /// Stores a re-fetched report as a revision if it changed; `None` when the store failed.
    async fn keep(&self, id: &str, report: Report) -> Option<RefetchResult> {
        let queue = self.handoff.queue();
        match self
            .store
            .store_revision(id, &report, &queue, self.clock.now())
            .await
        {
            Ok(Revised::New { revision }) => {
                if !self.handoff.targets.is_empty() {
                    self.handoff.wake.notify_waiters();
                }
                let previous = self.previous(id, revision).await;
                let event = ListenEvent::Revision {
                    report,
                    revision,
                    previous,
                };
                self.send_event(event).await;
                Some(RefetchResult::Changed)
            }
            Ok(Revised::Unchanged | Revised::NotStored) => Some(RefetchResult::Unchanged),
            // A revision the store refuses for good (its data) is a failed re-fetch: tried
            // once more, then given up, instead of claimed again every lease for ever.
            Err(err) if err.refused_the_data() => {
                tracing::warn!("the store refused a re-fetch of {}: {err}", id);
                Some(RefetchResult::Error)
            }
            Err(err) => {
                tracing::info!("cannot store a re-fetch of {}: {err}", id);
                None
            }
        }
    }

    /// The fields of the revision before `revision`, when the renderer describes changes; a
    /// store that fails to give them only makes the line shorter.
    async fn previous(&self, id: &str, revision: i64) -> Option<FieldDigests> {
        if !self.describe_changes {
            return None;
        }
        match self.store.revision_fields(id, revision - 1).await {
            Ok(previous) => previous,
            Err(err) => {
                tracing::info!("cannot read revision {} of {id} back: {err}", revision - 1);
                None
            }
        }
    }

    async fn send_event(&self, event: ListenEvent) {
        if let Some(events) = self.events.upgrade() {
            let _ = events.send(event).await;
        }
    }
}

/// The re-fetcher on the lease loop: the schedule's due points, one at a time.
struct Scheduled {
    refetcher: Refetcher,
    /// When the batch being done was claimed.
    claimed_at: tokio::time::Instant,
}

impl Leased for Scheduled {
    type Item = DueRefetch;

    async fn before_claim(&mut self, stop: &CancellationToken) -> bool {
        // Nothing is claimed while live work runs: a point this listener holds but cannot do
        // is a point no other listener may do either.
        let refetcher = &self.refetcher;
        wait_until_quiet(&refetcher.handoff.live, &refetcher.timing, stop).await
    }

    async fn claim(&mut self) -> Result<Vec<DueRefetch>, StoreError> {
        self.claimed_at = tokio::time::Instant::now();
        let refetcher = &self.refetcher;
        let lease = refetcher.timing.lease;
        refetcher
            .store
            .claim_refetches(refetcher.clock.now(), lease, BATCH)
            .await
    }

    async fn work(&mut self, due: Vec<DueRefetch>, stop: &CancellationToken) -> bool {
        let refetcher = &self.refetcher;
        let live = &refetcher.handoff.live;
        for (k, point) in due.into_iter().enumerate() {
            // The first point follows the quiet wait before the claim, unless live work
            // started meanwhile; each later one waits for quiet again. Asked to stop: the
            // loop ends.
            if (k > 0 || live.busy()) && !wait_until_quiet(live, &refetcher.timing, stop).await {
                return true;
            }
            // Live work held the rest of the batch past half its lease: leave them to the
            // lease's end, whoever claims them then, rather than fetch a point another
            // listener may already be doing. The first one is always done, so a short lease
            // still makes progress.
            if k > 0 && self.claimed_at.elapsed() > refetcher.timing.lease / 2 {
                break;
            }
            let _ = refetcher.refetch(point).await;
        }
        true
    }

    fn store_down(&mut self, err: &StoreError) {
        tracing::info!("re-fetches wait for the store: {err}");
    }

    async fn rest(&mut self, _why: Rest) -> Duration {
        self.refetcher.timing.poll
    }
}

/// Waits until the session has had no report work for `pace` (two slots of the rate limit);
/// false when asked to stop. The limiter is shared, so a re-fetch taken right before a live
/// call would make that call wait a slot (50 ms a call at `--rate 10` in the benchmark): after
/// a quiet `pace` the limiter has a slot to spare for the next live call whatever the re-fetch
/// takes, and re-fetches take at most half of the rate.
async fn wait_until_quiet(
    live: &LiveWork,
    timing: &RefetchTiming,
    stop: &CancellationToken,
) -> bool {
    let mut work = live.watch();
    loop {
        // Marks the value seen, so any change during the pace below shows afterwards. The
        // sender lives in `live`, so the wait cannot fail.
        tokio::select! {
            _ = work.wait_for(|&work| work == 0) => {}
            () = stop.cancelled() => return false,
        }
        tokio::select! {
            () = tokio::time::sleep(timing.pace) => {}
            () = stop.cancelled() => return false,
        }
        if !work.has_changed().unwrap_or(true) {
            return !stop.is_cancelled();
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::api::retry::RetryPolicy;
    use crate::auth::Tokens;
    use crate::secret::Secret;
    use crate::store::StoreLocation;
    use crate::store::outbox::Queue;

    struct FixedClock(Timestamp);

    impl Clock for FixedClock {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    /// The schedule is read on the engine's clock, not the wall clock: a point due at 10:07
    /// is not claimed at 10:06 by that clock (the wall clock is long past it), and is at 10:08.
    #[tokio::test]
    async fn the_schedule_is_read_on_the_engines_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::Sqlite(dir.path().join("cer.db")))
            .await
            .unwrap();
        let report = serde_json::json!({
            "conversationSpaceId": "29a1c77a-e52a-3764-8606-8b02b1277be8",
            "callCreated": "2026-01-01T10:00:00Z",
            "callEnded": "2026-01-01T10:05:00Z",
            "callStates": [],
        });
        let points = [Duration::from_secs(120)];
        let queue = Queue {
            refetch_after: &points,
        };
        let report = Report::of_value(&report).unwrap();
        let stored_at = "2026-01-01T10:05:01Z".parse().unwrap();
        store
            .store_report(&report, None, &queue, stored_at)
            .await
            .unwrap();
        let base = url::Url::parse("http://127.0.0.1:9/").unwrap();
        let tokens = Tokens::fixed(Secret::new("unused"));
        let http = crate::api::http::client_reaching(None, &[base.as_str()]).unwrap();
        let api = ApiClient::new(http, base, tokens, 10, RetryPolicy::default());
        let at = |now: &str| -> Arc<dyn Clock> { Arc::new(FixedClock(now.parse().unwrap())) };
        let mut worker = Scheduled {
            refetcher: Refetcher {
                api,
                store,
                handoff: Handoff::default(),
                timing: RefetchTiming::scaled(TimeScale::default(), 10),
                events: mpsc::channel(1).0.downgrade(),
                clock: at("2026-01-01T10:06:00Z"),
                describe_changes: false,
            },
            claimed_at: tokio::time::Instant::now(),
        };
        assert!(
            worker.claim().await.unwrap().is_empty(),
            "not due by the clock"
        );
        worker.refetcher.clock = at("2026-01-01T10:08:00Z");
        assert_eq!(worker.claim().await.unwrap().len(), 1, "due by the clock");
    }

    /// Regression: re-fetches took the rate limiter's slots between live calls, and each live
    /// call then waited about one slot. A live call that comes and goes while the re-fetcher
    /// waits (too fast for it to see the work itself) starts the quiet window over.
    #[tokio::test(start_paused = true)]
    async fn a_live_call_that_came_and_went_starts_the_quiet_window_over() {
        let live = LiveWork::default();
        let timing = RefetchTiming::scaled(TimeScale::default(), 10);
        assert_eq!(timing.pace, Duration::from_millis(200));
        let stopped = CancellationToken::new();
        let started = tokio::time::Instant::now();
        let waiting = {
            let live = live.clone();
            tokio::spawn(async move { wait_until_quiet(&live, &timing, &stopped).await })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        live.set(1);
        live.set(0);
        let done = tokio::time::timeout(Duration::from_secs(60), waiting).await;
        assert!(done.expect("the wait ends").unwrap());
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "a second full pace after the live call: {:?}",
            started.elapsed()
        );
    }

    /// The end of live work wakes the waiting re-fetcher at once (it used to look every 50 ms):
    /// one pace after it, not a poll's tick more.
    #[tokio::test(start_paused = true)]
    async fn the_end_of_live_work_starts_the_pace_at_once() {
        let live = LiveWork::default();
        let timing = RefetchTiming::scaled(TimeScale::default(), 10);
        let stop = CancellationToken::new();
        live.set(3);
        let started = tokio::time::Instant::now();
        let waiting = {
            let live = live.clone();
            tokio::spawn(async move { wait_until_quiet(&live, &timing, &stop).await })
        };
        tokio::time::sleep(Duration::from_millis(1_234)).await;
        live.set(0);
        assert!(waiting.await.unwrap());
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(1_234) + timing.pace
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_live_work_waits_one_pace_and_a_stop_ends_the_wait() {
        let live = LiveWork::default();
        let timing = RefetchTiming::scaled(TimeScale::default(), 10);
        let stop = CancellationToken::new();
        let started = tokio::time::Instant::now();
        assert!(wait_until_quiet(&live, &timing, &stop).await);
        assert_eq!(started.elapsed(), timing.pace);
        live.set(1);
        let waiting = {
            let (live, stop) = (live.clone(), stop.clone());
            tokio::spawn(async move { wait_until_quiet(&live, &timing, &stop).await })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        stop.cancel();
        let done = tokio::time::timeout(Duration::from_secs(60), waiting).await;
        assert!(
            !done.expect("a stop ends the wait").unwrap(),
            "asked to stop"
        );
    }
}
