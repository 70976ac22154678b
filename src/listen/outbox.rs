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
pub struct Outbox {
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

impl Outbox {
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
}
