//! What the engine hands on with each newly stored report: when it is fetched again, and
//! which delivery tasks are woken for it. Shared by the session loop and the re-fetcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::store::outbox::Queue;
use crate::target::ForwardTarget;

/// The targets this listener delivers to (`--forward-to`), when each newly stored report is
/// fetched again (`--refetch`), and who to wake. The store queues every report for every
/// registered target, whichever process stores it; this listener's targets say whom it wakes.
#[derive(Debug, Clone, Default)]
pub struct Handoff {
    /// The `--forward-to` targets; none: no delivery task here to wake.
    pub targets: Vec<ForwardTarget>,
    /// `--refetch`: when after a call's end its report is fetched again.
    pub refetch_after: Vec<Duration>,
    /// Woken when a report queued deliveries, so the delivery tasks need not wait to poll.
    pub wake: Arc<Notify>,
    /// Report fetches the session has under way or waiting: re-fetches wait while there are
    /// any, so live calls never queue behind them.
    pub live: LiveWork,
}

impl Handoff {
    /// What the store is to do with each newly stored report.
    pub fn queue(&self) -> Queue<'_> {
        Queue {
            refetch_after: &self.refetch_after,
        }
    }

    /// Wakes the delivery tasks, when there are targets to deliver to.
    pub fn wake_deliveries(&self) {
        if !self.targets.is_empty() {
            self.wake.notify_waiters();
        }
    }
}

/// How much report work the session has under way or waiting, published by the session loop
/// and watched by the re-fetcher: a change wakes it, and a change it did not see (a live call
/// that came and went while it waited) still shows, so it never needs to poll.
#[derive(Debug, Clone)]
pub struct LiveWork {
    watched: Arc<watch::Sender<usize>>,
    /// The same count, read without a lock. The archive's thread runs at idle priority and
    /// asks before every chunk: had it held the watch's lock when the kernel preempted it, the
    /// session loop's next `set` would wait for it, and an idle thread on a busy machine may
    /// not run again for a long while.
    now: Arc<AtomicUsize>,
}

/// How often a download held for live work looks again whether it is done.
const GIVE_WAY_POLL: Duration = Duration::from_millis(5);

impl Default for LiveWork {
    fn default() -> Self {
        Self {
            watched: Arc::new(watch::Sender::new(0)),
            now: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl LiveWork {
    /// Publishes the work now under way or waiting; watchers hear only of a change.
    pub fn set(&self, work: usize) {
        // Under the watch's lock, so that the two never disagree whoever sets them.
        self.watched.send_if_modified(|now| {
            self.now.store(work, Ordering::Release);
            std::mem::replace(now, work) != work
        });
    }

    /// Whether there is report work now.
    pub fn busy(&self) -> bool {
        self.now.load(Ordering::Acquire) > 0
    }

    /// A view of the work that tells each change after it was made.
    pub fn watch(&self) -> watch::Receiver<usize> {
        self.watched.subscribe()
    }

    /// Waits while there is report work, for `limit` at the most: a download in the
    /// background holds its next chunk until the live call it would slow is done, but never
    /// long enough for the server sending it to give up on the connection. It looks every
    /// few milliseconds rather than wait on the watch, whose lock it must not hold (above).
    pub async fn until_idle(&self, limit: Duration) {
        let started = tokio::time::Instant::now();
        while self.busy() {
            let left = limit.saturating_sub(started.elapsed());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(GIVE_WAY_POLL)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A background download holds its next chunk while a live call is under way, goes on
    /// the moment it is done, and never holds longer than its limit.
    #[tokio::test(start_paused = true)]
    async fn until_idle_waits_for_live_work_to_end_or_for_its_limit() {
        let live = LiveWork::default();
        let started = tokio::time::Instant::now();
        live.until_idle(Duration::from_secs(2)).await;
        assert_eq!(started.elapsed(), Duration::ZERO, "nothing live: no wait");

        live.set(1);
        let waiting = tokio::spawn({
            let live = live.clone();
            async move { live.until_idle(Duration::from_secs(3600)).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "went on while a live call was under way"
        );
        live.set(0);
        waiting.await.unwrap();
        let went_on = started.elapsed();
        assert!(
            went_on >= Duration::from_millis(300)
                && went_on <= Duration::from_millis(300) + GIVE_WAY_POLL,
            "went on {went_on:?} after the start"
        );

        live.set(2);
        let held = tokio::time::Instant::now();
        live.until_idle(Duration::from_secs(2)).await;
        assert_eq!(
            held.elapsed(),
            Duration::from_secs(2),
            "held past its limit"
        );
    }

    /// The archive's thread, at idle priority, asks before every chunk: the answer must not
    /// wait on the lock the session loop's `set` takes (nor hold it).
    #[test]
    fn asking_whether_there_is_live_work_never_waits_on_the_watchs_lock() {
        let live = LiveWork::default();
        live.set(1);
        let (held, holding) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::spawn({
            let live = live.clone();
            move || {
                live.watched.send_modify(|_| {
                    let _ = held.send(());
                    let _ = released.recv();
                });
            }
        });
        holding.recv().unwrap();
        let (answer, answered) = std::sync::mpsc::channel();
        let asker = std::thread::spawn({
            let live = live.clone();
            move || answer.send(live.busy())
        });
        let busy = answered.recv_timeout(Duration::from_secs(5));
        release.send(()).unwrap();
        writer.join().unwrap();
        asker.join().unwrap().unwrap_or(());
        assert_eq!(busy, Ok(true), "busy() waited for the watch's lock");
    }
}
