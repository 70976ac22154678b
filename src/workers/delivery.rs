//! Durable delivery (`listen --forward-to`): one worker per target, on the lease loop, takes
//! due deliveries from the store's outbox, oldest first, POSTs each report (signed when a
//! secret is set), and records the result there: delivered rows go, failures wait with
//! backoff and jitter until `--forward-for` runs out. Nothing waits in memory, so a restart or
//! a receiver that is down for hours loses nothing, and a report that keeps failing never
//! holds newer ones back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::futures::OwnedNotified;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::lease_loop::{self, Leased, Rest};
use crate::events::{DeliveryResult, ListenEvent};
use crate::listen::Clock;
use crate::net::retry::jittered_backoff;
use crate::store::outbox::{Claimed, Settled};
use crate::store::{Store, StoreError};
use crate::target::{ForwardTarget, Signer};
use crate::time_scale::TimeScale;

/// Deliveries attempted at once per target.
const CONCURRENCY: usize = 4;
/// Deliveries claimed per trip to the store.
const BATCH: i64 = 16;

/// The delivery timers, scaled together by `CER_TIME_SCALE` for tests.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryTiming {
    /// The first retry's wait; doubles per attempt, with jitter.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// A 2xx within this delivers.
    pub timeout: Duration,
    /// How often the outbox is looked at when nothing woke the task (retries due, a
    /// `cer deliveries --retry` from another process).
    pub poll: Duration,
}

impl DeliveryTiming {
    /// SPEC section 8's timers, times `factor`.
    pub fn scaled(scale: TimeScale) -> Self {
        let scale = |d: Duration| scale.scale(d);
        Self {
            first_wait: scale(Duration::from_secs(1)),
            max_wait: scale(Duration::from_secs(300)),
            timeout: scale(Duration::from_secs(10)),
            poll: scale(Duration::from_secs(1)),
        }
    }

    /// The wait after `attempts` failed attempts: exponential, capped, jittered (50–100 %).
    pub fn retry_wait(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        jittered_backoff(self.first_wait, self.max_wait, doublings)
    }
}

/// Everything the delivery tasks need.
#[derive(Clone)]
pub struct Delivery {
    pub http: reqwest::Client,
    pub store: Store,
    pub headers: Vec<(String, String)>,
    pub signer: Option<Signer>,
    pub timing: DeliveryTiming,
    /// Woken when a new report queued deliveries.
    pub wake: Arc<Notify>,
    /// Results go to the renderer while `listen` runs.
    pub events: mpsc::WeakSender<ListenEvent>,
    /// The engine's clock: when deliveries are due, claimed and settled.
    pub clock: Arc<dyn Clock>,
}

impl Delivery {
    /// Starts one task per target; they stop when `stop` is cancelled.
    pub fn spawn(
        self,
        targets: &[ForwardTarget],
        stop: &CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let shared = Arc::new(self);
        // Long enough for a whole batch to time out, CONCURRENCY at a time, so that another
        // listener on the same store never takes over a delivery this one is still sending.
        let rounds = u32::try_from(BATCH).unwrap_or(16) / u32::try_from(CONCURRENCY).unwrap_or(1);
        let lease = shared.timing.timeout * (rounds + 1) + Duration::from_secs(5);
        targets
            .iter()
            .map(|target| {
                let worker = TargetDeliveries {
                    delivery: shared.clone(),
                    target: target.clone(),
                    lease,
                    armed: None,
                };
                lease_loop::spawn(worker, stop.clone())
            })
            .collect()
    }

    /// Sends a claimed batch, CONCURRENCY at a time. At shutdown the deliveries not started
    /// yet are handed back at once, so another listener on the same store sends them now
    /// rather than once this one's lease runs out; those under way finish or time out.
    async fn send_batch(
        &self,
        target: &ForwardTarget,
        batch: Vec<Claimed>,
        stop: &CancellationToken,
    ) {
        let mut waiting = batch.into_iter();
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut stopping = stop.is_cancelled();
        loop {
            while !stopping && running.len() < CONCURRENCY {
                let Some(delivery) = waiting.next() else {
                    break;
                };
                running.push(self.attempt(target, delivery));
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                _ = running.next() => {}
                () = stop.cancelled(), if !stopping => {
                    stopping = true;
                    self.hand_back(waiting.by_ref().collect()).await;
                }
            }
        }
        self.hand_back(waiting.collect()).await;
    }

    async fn hand_back(&self, unsent: Vec<Claimed>) {
        if unsent.is_empty() {
            return;
        }
        if let Err(err) = self.store.release(&unsent).await {
            // Their lease runs out instead: they are sent later, never lost.
            tracing::debug!("cannot hand back {} unsent deliveries: {err}", unsent.len());
        }
    }

    /// One POST, its result recorded in the store and shown.
    async fn attempt(&self, target: &ForwardTarget, delivery: Claimed) {
        let started = Instant::now();
        let answer = self.post(target, &delivery).await;
        let elapsed = started.elapsed();
        let now = self.clock.now();
        let (settled, result) = match answer {
            Ok(status) => (
                Settled::Delivered,
                DeliveryResult::Delivered { status, elapsed },
            ),
            Err(failure) => {
                self.after_failure(target, &delivery, failure.to_string(), now, elapsed)
            }
        };
        if let Err(err) = self.store.settle(&delivery, &settled).await {
            // The lease runs out and the delivery is tried again: at least once, never lost.
            tracing::warn!("cannot record a delivery to {}: {err}", target.shown());
        }
        if let Some(events) = self.events.upgrade() {
            let event = ListenEvent::Delivery {
                conversation_space_id: delivery.id.clone(),
                revision: delivery.revision,
                target: target.shown().to_string(),
                result,
            };
            let _ = events.send(event).await;
        }
    }

    fn after_failure(
        &self,
        target: &ForwardTarget,
        delivery: &Claimed,
        error: String,
        now: Timestamp,
        elapsed: Duration,
    ) -> (Settled, DeliveryResult) {
        if now >= delivery.deadline {
            tracing::error!(
                "gave up forwarding report {} to {} after {} attempts: {error}",
                delivery.webhook_id(),
                target.shown(),
                delivery.attempts + 1
            );
            let result = DeliveryResult::Failed {
                error: error.clone(),
            };
            return (Settled::Failed { error }, result);
        }
        let wait = self.timing.retry_wait(delivery.attempts + 1);
        let at = SignedDuration::try_from(wait)
            .ok()
            .and_then(|w| now.checked_add(w).ok())
            .unwrap_or(delivery.deadline)
            .min(delivery.deadline);
        tracing::debug!(
            "forwarding report {} to {} failed ({error}); next try at {at}",
            delivery.webhook_id(),
            target.shown()
        );
        let next_in = at.duration_since(now).unsigned_abs();
        let result = DeliveryResult::WillRetry {
            error: error.clone(),
            elapsed,
            next_in,
        };
        (Settled::Retry { at, error }, result)
    }

    /// The (2xx) HTTP status of a delivered report, or why it was not delivered.
    async fn post(&self, target: &ForwardTarget, delivery: &Claimed) -> Result<u16, PostError> {
        let body = delivery.body.clone().into_bytes();
        let mut request = self
            .http
            .post(target.url().clone())
            .timeout(self.timing.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                concat!("cer/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        // The ID and time go out unsigned too: receivers dedupe by webhook-id either way.
        let timestamp = self.clock.now().as_second();
        let webhook_id = delivery.webhook_id();
        request = request
            .header("webhook-id", &webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("cer-report-revision", delivery.revision.to_string());
        if let Some(signer) = &self.signer {
            let signature = signer.sign(&webhook_id, timestamp, &body);
            request = request.header("webhook-signature", signature);
        }
        match request.body(body).send().await {
            Ok(answer) if answer.status().is_success() => Ok(answer.status().as_u16()),
            Ok(answer) => Err(PostError::Status(answer.status().as_u16())),
            Err(err) => Err(PostError::Transport(crate::net::describe_transport(&err))),
        }
    }
}

/// One target's deliveries on the lease loop.
struct TargetDeliveries {
    delivery: Arc<Delivery>,
    target: ForwardTarget,
    /// How long a claimed delivery is this listener's.
    lease: Duration,
    /// The wake-up for the rest after this claim, armed before it.
    armed: Option<OwnedNotified>,
}

impl Leased for TargetDeliveries {
    type Item = Claimed;

    async fn before_claim(&mut self, _stop: &CancellationToken) -> bool {
        // Armed before the claim, so that a report queued while the store is asked still
        // ends the rest that follows an empty claim.
        self.armed = Some(self.delivery.wake.clone().notified_owned());
        true
    }

    async fn claim(&mut self) -> Result<Vec<Claimed>, StoreError> {
        let key = self.target.key();
        let now = self.delivery.clock.now();
        self.delivery
            .store
            .claim_due(key, now, self.lease, BATCH)
            .await
    }

    async fn work(&mut self, batch: Vec<Claimed>, stop: &CancellationToken) -> bool {
        self.delivery.send_batch(&self.target, batch, stop).await;
        true
    }

    fn store_down(&mut self, err: &StoreError) {
        let shown = self.target.shown();
        tracing::info!("deliveries to {shown} wait for the store: {err}");
    }

    async fn rest(&mut self, _why: Rest) -> Duration {
        self.delivery.timing.poll
    }

    async fn woken(&mut self) {
        match self.armed.take() {
            Some(armed) => armed.await,
            None => std::future::pending().await,
        }
    }
}

/// Why one POST did not deliver; its text is what the delivery line shows and the store
/// keeps as the delivery's last error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum PostError {
    /// The receiver answered with a status other than 2xx.
    #[error("answered {0}")]
    Status(u16),
    /// No answer: DNS, connect, TLS or timeout, described as for GoTo's calls.
    #[error("{0}")]
    Transport(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_post_says_what_the_receiver_did() {
        assert_eq!(PostError::Status(503).to_string(), "answered 503");
        let transport = PostError::Transport("connection failed (x): refused".into());
        assert_eq!(transport.to_string(), "connection failed (x): refused");
    }

    #[test]
    fn retry_waits_start_at_a_second_and_stop_at_five_minutes() {
        let timing = DeliveryTiming::scaled(TimeScale::default());
        assert!(timing.retry_wait(1) <= Duration::from_secs(1));
        assert!(timing.retry_wait(1) >= Duration::from_millis(500));
        for attempts in 1..60 {
            assert!(timing.retry_wait(attempts) <= Duration::from_secs(300));
        }
        assert!(timing.retry_wait(30) >= Duration::from_secs(150));
    }
}
