//! What the engine hands on with each newly stored report: when it is fetched again, and
//! which delivery tasks are woken for it. Shared by the session loop and the re-fetcher.

use std::sync::Arc;
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
pub struct LiveWork(Arc<watch::Sender<usize>>);

impl Default for LiveWork {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl LiveWork {
    /// Publishes the work now under way or waiting; watchers hear only of a change.
    pub fn set(&self, work: usize) {
        self.0
            .send_if_modified(|now| std::mem::replace(now, work) != work);
    }

    /// Whether there is report work now.
    pub fn busy(&self) -> bool {
        *self.0.borrow() > 0
    }

    /// A view of the work that tells each change after it was made.
    pub fn watch(&self) -> watch::Receiver<usize> {
        self.0.subscribe()
    }

    /// Waits while there is report work, for `limit` at the most: a download in the
    /// background holds its next chunk until the live call it would slow is done, but never
    /// long enough for the server sending it to give up on the connection.
    pub async fn until_idle(&self, limit: Duration) {
        // Asked before every chunk of a download: no receiver or timer when nothing is live.
        if !self.busy() {
            return;
        }
        let mut work = self.watch();
        let _ = tokio::time::timeout(limit, work.wait_for(|&work| work == 0)).await;
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
        assert_eq!(started.elapsed(), Duration::from_millis(300));

        live.set(2);
        live.until_idle(Duration::from_secs(2)).await;
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(2300),
            "held past its limit"
        );
    }
}
