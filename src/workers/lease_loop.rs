//! The one loop every worker beside the engine runs on: claim a batch of due work leased to
//! this listener (listeners sharing a store never do an item twice), do it, and when nothing
//! was due rest until the next look or a wake-up. A store that is down is said once, not at
//! every look, and shutdown ends the loop between two batches.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::StoreError;

/// Why the loop rests before its next claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// The claim found nothing due.
    NothingDue,
    /// The store failed the claim.
    StoreDown,
    /// A batch was done but asked for a rest before the next claim.
    AfterBatch,
}

/// A worker on the lease loop: what it claims, how it does it, and what wakes it early.
pub trait Leased: Send {
    /// One claimed piece of work.
    type Item: Send;

    /// What comes before each claim; false when asked to stop meanwhile.
    fn before_claim(&mut self, stop: &CancellationToken) -> impl Future<Output = bool> + Send {
        let _ = stop;
        async { true }
    }

    /// Claims the due work, leased to this listener for a while.
    fn claim(&mut self) -> impl Future<Output = Result<Vec<Self::Item>, StoreError>> + Send;

    /// Does a claimed batch (never empty); true to claim again at once, false to rest first.
    fn work(
        &mut self,
        batch: Vec<Self::Item>,
        stop: &CancellationToken,
    ) -> impl Future<Output = bool> + Send;

    /// Says that the store is down: once, until a claim works again.
    fn store_down(&mut self, err: &StoreError);

    /// How long to rest before the next look.
    fn rest(&mut self, why: Rest) -> impl Future<Output = Duration> + Send;

    /// Resolves when work may have become due before the rest is over; never, by default.
    fn woken(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// Runs `worker` on its own task until `stop` is cancelled.
pub fn spawn<W: Leased + 'static>(
    worker: W,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        serve(worker, stop).await;
    })
}

/// Claims, works and rests until `stop` is cancelled; hands the worker back.
pub async fn serve<W: Leased>(mut worker: W, stop: CancellationToken) -> W {
    let mut store_was_down = false;
    while !stop.is_cancelled() {
        if !worker.before_claim(&stop).await {
            break;
        }
        let why = match worker.claim().await {
            Ok(batch) if !batch.is_empty() => {
                store_was_down = false;
                if worker.work(batch, &stop).await {
                    continue;
                }
                Rest::AfterBatch
            }
            Ok(_) => {
                store_was_down = false;
                Rest::NothingDue
            }
            Err(err) => {
                if !store_was_down {
                    worker.store_down(&err);
                }
                store_was_down = true;
                Rest::StoreDown
            }
        };
        let wait = worker.rest(why).await;
        tokio::select! {
            () = worker.woken() => {}
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => {}
        }
    }
    worker
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;

    use super::*;

    /// Claims from a script (an error for `None`) and counts what the loop did with it.
    struct Scripted {
        claims: Vec<Option<Vec<u8>>>,
        worked: Vec<Vec<u8>>,
        said_down: usize,
        rests: Vec<Rest>,
        wake: Arc<Notify>,
    }

    impl Leased for Scripted {
        type Item = u8;

        async fn claim(&mut self) -> Result<Vec<u8>, StoreError> {
            match self.claims.pop() {
                Some(Some(batch)) => Ok(batch),
                Some(None) => Err(StoreError::Location("down".into())),
                None => Ok(Vec::new()),
            }
        }

        async fn work(&mut self, batch: Vec<u8>, _stop: &CancellationToken) -> bool {
            self.worked.push(batch);
            true
        }

        fn store_down(&mut self, _err: &StoreError) {
            self.said_down += 1;
        }

        async fn rest(&mut self, why: Rest) -> Duration {
            self.rests.push(why);
            Duration::from_secs(3600)
        }

        async fn woken(&mut self) {
            self.wake.notified().await;
        }
    }

    /// A store down twice in a row is said once, a batch is claimed again at once, and only a
    /// wake-up (the rests are an hour long) brings the next claim.
    #[tokio::test(start_paused = true)]
    async fn the_store_down_is_said_once_and_a_wake_up_ends_the_rest() {
        let wake = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        // Popped from the end: down, down, a batch, then nothing due.
        let worker = Scripted {
            claims: vec![Some(vec![]), Some(vec![1, 2]), None, None],
            worked: Vec::new(),
            said_down: 0,
            rests: Vec::new(),
            wake: wake.clone(),
        };
        let running = tokio::spawn(serve(worker, stop.clone()));
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            wake.notify_waiters();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        stop.cancel();
        let worker = running.await.unwrap();
        assert_eq!(worker.said_down, 1);
        assert_eq!(worker.worked, vec![vec![1, 2]]);
        let expected = [
            Rest::StoreDown,
            Rest::StoreDown,
            Rest::NothingDue,
            Rest::NothingDue,
        ];
        assert_eq!(worker.rests, expected);
    }
}
