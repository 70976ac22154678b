//! The Prometheus metrics of a running `listen` (SPEC section 9), so an operator can alert on
//! "no report for 30 minutes", "reconnecting all the time" or "deliveries piling up".
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust client: it keeps the
//! families, the label sets and the text encoding, so cer only says what to count.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::api::client::{GotoApi, RequestObserver};
use crate::events::Origin;
use crate::report::Report;

/// `Content-Type` of [`Metrics::encode`]'s answer: the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// How one delivery to one target ended, for `cer_deliveries_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEnd {
    Delivered,
    Failed,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    api: &'static str,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    target: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The metrics of one process. Cheap to clone; every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    ready: Gauge,
    reports: Family<SourceLabels, Counter>,
    reconnects: Counter,
    api_requests: Family<ApiLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    deliveries_pending: Family<TargetLabels, Gauge>,
    last_report_ended: Gauge<f64, AtomicU64>,
    last_report_emitted: Gauge<f64, AtomicU64>,
    refetches: Family<ResultLabels, Counter>,
    refetches_due: Gauge,
    set_aside: Counter,
    media_archived: Family<KindLabels, Counter>,
    media_bytes: Family<KindLabels, Counter>,
    media_failed: Family<KindLabels, Counter>,
    media_pending: Gauge,
}

impl Metrics {
    /// Registers every family; `started` is the process's start, in Unix seconds.
    pub fn new(started: f64) -> Self {
        let mut registry = Registry::default();
        let ready = Gauge::default();
        registry.register(
            "cer_ready",
            "1 while channel, subscriptions and WebSocket are all up, 0 before Ready and while reconnecting",
            ready.clone(),
        );
        let reports: Family<SourceLabels, Counter> = Family::default();
        // Zeros from the start, so `rate()` and "no report for 30 min" alerts have a series.
        for source in ["live", "backfill"] {
            drop(reports.get_or_create(&SourceLabels { source }));
        }
        registry.register(
            "cer_reports",
            "Reports emitted, by how they came: live (notification) or backfill",
            reports.clone(),
        );
        let reconnects = Counter::default();
        registry.register(
            "cer_reconnects",
            "Attempts to reconnect: after a lost connection, or after a failed setup of the channel",
            reconnects.clone(),
        );
        let api_requests = Family::default();
        registry.register(
            "cer_api_requests",
            "Requests to GoTo's REST APIs, by API and answer status (error: no answer)",
            api_requests.clone(),
        );
        let deliveries = Family::default();
        registry.register(
            "cer_deliveries",
            "Webhook deliveries that ended, by target and result (delivered or failed)",
            deliveries.clone(),
        );
        let deliveries_pending = Family::default();
        registry.register(
            "cer_deliveries_pending",
            "Webhook deliveries waiting to be made, by target",
            deliveries_pending.clone(),
        );
        let inner = Inner {
            ready,
            reports,
            reconnects,
            api_requests,
            deliveries,
            deliveries_pending,
            last_report_ended: Gauge::default(),
            last_report_emitted: Gauge::default(),
            refetches: Family::default(),
            refetches_due: Gauge::default(),
            set_aside: Counter::default(),
            media_archived: Family::default(),
            media_bytes: Family::default(),
            media_failed: Family::default(),
            media_pending: Gauge::default(),
            registry,
        };
        Self {
            inner: Arc::new(inner.with_times(started)),
        }
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would leave a partial text.
        if prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry)
            .is_err()
        {
            tracing::warn!("could not encode the metrics");
        }
        text
    }

    /// Ready (true) or not (before Ready, while reconnecting).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.set(i64::from(ready));
    }

    /// One more report emitted; `report` gives the call's end time.
    pub fn report_emitted(&self, origin: Origin, report: &Report, now: f64) {
        let source = match origin {
            Origin::Notification => "live",
            Origin::Backfill => "backfill",
        };
        self.inner
            .reports
            .get_or_create(&SourceLabels { source })
            .inc();
        self.inner.last_report_emitted.set(now);
        if let Some(ended) = report.facts().call_ended {
            let seconds = ended.as_millisecond() as f64 / 1000.0;
            // Backfilled reports may be older than the newest one seen: keep the newest.
            if seconds > self.inner.last_report_ended.get() {
                self.inner.last_report_ended.set(seconds);
            }
        }
    }

    /// One more attempt to reconnect.
    pub fn reconnecting(&self) {
        self.inner.reconnects.inc();
    }

    /// One more re-fetch, by what it came to (`changed`, `unchanged`, `error`).
    pub fn refetched(&self, result: &'static str) {
        let labels = ResultLabels { result };
        self.inner.refetches.get_or_create(&labels).inc();
    }

    /// How many re-fetches are due now, as the store counts them.
    pub fn set_refetches_due(&self, due: i64) {
        self.inner.refetches_due.set(due);
    }

    /// One more report the store refused and cer set aside in a file.
    pub fn report_set_aside(&self) {
        self.inner.set_aside.inc();
    }

    /// One more object archived (`kind`: `recording` or `transcript`), of `bytes` bytes.
    pub fn media_archived(&self, kind: &'static str, bytes: u64) {
        let labels = KindLabels { kind };
        self.inner.media_archived.get_or_create(&labels).inc();
        self.inner.media_bytes.get_or_create(&labels).inc_by(bytes);
    }

    /// One more object that failed for good.
    pub fn media_failed(&self, kind: &'static str) {
        let labels = KindLabels { kind };
        self.inner.media_failed.get_or_create(&labels).inc();
    }

    /// How many objects wait to be archived, as the store counts them.
    pub fn set_media_pending(&self, pending: i64) {
        self.inner.media_pending.set(pending);
    }

    /// Shows zero series for a webhook target before its first delivery; `target` is the
    /// target's shown form (`https://host/… [tag]`), the only one any output shows.
    pub fn delivery_target(&self, target: &str) {
        let target = target.to_string();
        for result in ["delivered", "failed"] {
            let labels = DeliveryLabels {
                target: target.clone(),
                result,
            };
            drop(self.inner.deliveries.get_or_create(&labels));
        }
        drop(
            self.inner
                .deliveries_pending
                .get_or_create(&TargetLabels { target }),
        );
    }

    /// A delivery for `target` ended; `was_pending` says whether it had been counted as queued.
    pub fn delivery_ended(&self, target: &str, result: DeliveryEnd, was_pending: bool) {
        let target = target.to_string();
        if was_pending {
            let labels = TargetLabels {
                target: target.clone(),
            };
            self.inner.deliveries_pending.get_or_create(&labels).dec();
        }
        let result = match result {
            DeliveryEnd::Delivered => "delivered",
            DeliveryEnd::Failed => "failed",
        };
        let labels = DeliveryLabels { target, result };
        self.inner.deliveries.get_or_create(&labels).inc();
    }

    /// Sets the number of pending deliveries of `target`, for an outbox that counts them itself.
    pub fn set_deliveries_pending(&self, target: &str, pending: i64) {
        let labels = TargetLabels {
            target: target.to_string(),
        };
        self.inner
            .deliveries_pending
            .get_or_create(&labels)
            .set(pending);
    }
}

impl Inner {
    /// The families that do not change after start: build info and start time.
    fn with_times(mut self, started: f64) -> Self {
        let build = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        self.registry
            .register("cer_build", "The cer version running", build);
        let start: Gauge<f64, AtomicU64> = Gauge::default();
        start.set(started);
        self.registry.register_with_unit(
            "cer_start_time",
            "When this process started, in Unix seconds",
            Unit::Seconds,
            start,
        );
        self.registry.register_with_unit(
            "cer_last_report_ended_timestamp",
            "callEnded of the newest report emitted, in Unix seconds (0: none yet)",
            Unit::Seconds,
            self.last_report_ended.clone(),
        );
        self.registry.register_with_unit(
            "cer_last_report_emitted_timestamp",
            "When the last report was emitted, in Unix seconds (0: none yet)",
            Unit::Seconds,
            self.last_report_emitted.clone(),
        );
        self.with_refetches()
    }

    /// Re-fetches for post-call analysis, and reports set aside.
    fn with_refetches(mut self) -> Self {
        for result in ["changed", "unchanged", "error"] {
            drop(self.refetches.get_or_create(&ResultLabels { result }));
        }
        self.registry.register(
            "cer_refetches",
            "Reports fetched again for post-call analysis, by result: changed (a new revision), unchanged, error",
            self.refetches.clone(),
        );
        self.registry.register(
            "cer_refetches_due",
            "Re-fetches whose time has come and that no listener has done yet",
            self.refetches_due.clone(),
        );
        self.registry.register(
            "cer_reports_set_aside",
            "Reports the store refused for good, written to CER_STATE_DIR/set-aside instead",
            self.set_aside.clone(),
        );
        self.with_media()
    }

    /// The archive (`listen --archive`): zero series from the start for both kinds.
    fn with_media(mut self) -> Self {
        for kind in ["recording", "transcript"] {
            let labels = KindLabels { kind };
            drop(self.media_archived.get_or_create(&labels));
            drop(self.media_bytes.get_or_create(&labels));
            drop(self.media_failed.get_or_create(&labels));
        }
        self.registry.register(
            "cer_media_archived",
            "Recordings and transcripts archived, by kind",
            self.media_archived.clone(),
        );
        self.registry.register(
            "cer_media_bytes",
            "Bytes of recordings and transcripts archived, by kind",
            self.media_bytes.clone(),
        );
        self.registry.register(
            "cer_media_failed",
            "Recordings and transcripts that could not be archived for good, by kind",
            self.media_failed.clone(),
        );
        self.registry.register(
            "cer_media_pending",
            "Recordings and transcripts waiting to be archived (not ready yet, or not tried yet)",
            self.media_pending.clone(),
        );
        self
    }
}

impl RequestObserver for Metrics {
    fn answered(&self, api: GotoApi, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        let labels = ApiLabels {
            api: api.name(),
            status,
        };
        self.inner.api_requests.get_or_create(&labels).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_call_end_wins_over_an_older_backfilled_one() {
        let metrics = Metrics::new(0.0);
        let newer = serde_json::json!({"callEnded": "2026-01-02T00:00:00Z"});
        let older = serde_json::json!({"callEnded": "2026-01-01T00:00:00Z"});
        metrics.report_emitted(
            Origin::Notification,
            &Report::of_value(&newer).unwrap(),
            1.0,
        );
        metrics.report_emitted(Origin::Backfill, &Report::of_value(&older).unwrap(), 2.0);
        let text = metrics.encode();
        assert!(
            text.contains("cer_last_report_ended_timestamp_seconds 1767312000"),
            "{text}"
        );
        assert!(
            text.contains("cer_reports_total{source=\"live\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cer_reports_total{source=\"backfill\"} 1"),
            "{text}"
        );
    }
}
