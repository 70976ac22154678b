//! `listen` as a long-lived service (SPEC section 9): Prometheus metrics and a health check on
//! `--metrics ADDR`, and systemd's notify protocol. It watches the listen engine's events from
//! the outside, so the engine knows nothing about operators.

mod connections;
pub mod health;
pub(crate) mod memory;
pub mod metrics;
pub mod notify;
pub mod retention;
mod server;
pub mod store_watch;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use connections::ServerTiming;
pub use health::Health;
pub use metrics::{DeliveryEnd, Metrics};
pub use notify::Notifier;

use crate::api::client::RequestObserver;
use crate::events::ListenEvent;
use crate::settings::ServiceManager;

/// The operator's view of one `listen` process. Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Service {
    metrics: Metrics,
    health: Health,
    notifier: Notifier,
}

impl Service {
    /// Starts serving metrics on `metrics_address` (when given) and, under systemd, the watchdog;
    /// sends `STOPPING=1` once `stop` is cancelled. Returns the metrics server's bound address too.
    pub async fn start(
        metrics_address: Option<SocketAddr>,
        manager: &ServiceManager,
        timing: ServerTiming,
        stop: CancellationToken,
    ) -> anyhow::Result<(Self, Option<SocketAddr>)> {
        let started = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let service = Self {
            metrics: Metrics::new(started),
            health: Health::default(),
            notifier: Notifier::new(manager),
        };
        let bound = match metrics_address {
            Some(address) => {
                let (metrics, health) = (service.metrics.clone(), service.health.clone());
                Some(server::serve(address, timing, metrics, health).await?)
            }
            None => None,
        };
        service.notifier.spawn_watchdog();
        let (notifier, health, metrics) = (
            service.notifier.clone(),
            service.health.clone(),
            service.metrics.clone(),
        );
        tokio::spawn(async move {
            stop.cancelled().await;
            metrics.set_ready(false);
            health.not_listening("shutting down");
            notifier.status("Shutting down: deleting the subscription and channel");
            notifier.stopping();
        });
        Ok((service, bound))
    }

    /// Updates metrics, health and the service manager from one engine event.
    pub fn observe(&self, event: &ListenEvent) {
        match event {
            ListenEvent::Ready { account_keys, .. } => {
                self.now_listening();
                let status = format!(
                    "Listening for the calls of account {}",
                    account_keys.join(", ")
                );
                self.notifier.ready(&status);
            }
            ListenEvent::Report { report, origin, .. } => {
                let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
                self.metrics.report_emitted(*origin, report, now);
            }
            ListenEvent::Reconnecting {
                attempt, reason, ..
            } => {
                self.metrics.reconnecting();
                self.metrics.set_ready(false);
                let status = format!("Reconnecting (attempt {attempt}): {reason}");
                self.health.not_listening(&status);
                self.notifier.status(&status);
            }
            ListenEvent::Reconnected => {
                self.now_listening();
                self.notifier.status("Reconnected; listening");
            }
            ListenEvent::Delivery { target, result, .. } => self.delivery_ended(target, result),
            ListenEvent::Refetched(result) => self.metrics.refetched(result.as_str()),
            ListenEvent::SetAside {
                conversation_space_id,
                path,
                ..
            } => {
                self.metrics.report_set_aside();
                let reason = format!(
                    "the store refused the report of {conversation_space_id}; it was set aside in {}",
                    path.display()
                );
                self.health.problem("set-aside", &reason);
            }
            ListenEvent::CatchingUp { .. }
            | ListenEvent::CaughtUp
            | ListenEvent::Warning(_)
            | ListenEvent::Revision { .. }
            | ListenEvent::MediaUploaded { .. } => {}
        }
    }

    /// Counts a delivery that ended for good; a retry is neither delivered nor failed yet.
    fn delivery_ended(&self, target: &str, result: &crate::events::DeliveryResult) {
        use crate::events::DeliveryResult as Attempt;
        let result = match result {
            Attempt::Delivered { .. } => DeliveryEnd::Delivered,
            Attempt::Failed { .. } => DeliveryEnd::Failed,
            Attempt::WillRetry { .. } => return,
        };
        self.metrics.delivery_ended(target, result, false);
    }

    fn now_listening(&self) {
        self.metrics.set_ready(true);
        self.health.listening();
    }

    /// The metrics, for parts that count into them (deliveries).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The health state, for parts that can make cer unhealthy (the store).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// What counts GoTo API requests, for [`crate::api::ApiClient::observe_requests`].
    pub fn request_observer(&self) -> Arc<dyn RequestObserver> {
        Arc::new(self.metrics.clone())
    }
}
