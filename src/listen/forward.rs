//! `--forward-to`: POSTs each report to local webhooks, in order, with retries and backoff, on a
//! task of its own, so a slow or broken webhook never holds up listening.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use url::Url;

use crate::service::{DeliveryResult, Metrics};

/// Queue length before reports for the webhooks are dropped (with a warning).
const QUEUE: usize = 10_000;
const ATTEMPTS: u32 = 5;

/// The sending side; dropping it lets the task finish what is queued and stop.
pub struct Forwarder {
    queue: mpsc::Sender<Value>,
    targets: Vec<Url>,
    metrics: Metrics,
}

impl Forwarder {
    /// Starts the forwarding task. `first_wait` is the first retry's wait; it doubles.
    pub fn spawn(
        http: reqwest::Client,
        targets: Vec<Url>,
        headers: Vec<(String, String)>,
        first_wait: Duration,
        metrics: Metrics,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, mut reports) = mpsc::channel::<Value>(QUEUE);
        for target in &targets {
            metrics.delivery_target(target);
        }
        let (task_targets, task_metrics) = (targets.clone(), metrics.clone());
        let task = tokio::spawn(async move {
            while let Some(report) = reports.recv().await {
                for target in &task_targets {
                    let result = deliver(&http, target, &headers, &report, first_wait).await;
                    task_metrics.delivery_ended(target, result, true);
                }
            }
        });
        let forwarder = Self {
            queue,
            targets,
            metrics,
        };
        (forwarder, task)
    }

    /// Queues a report; never waits.
    pub fn forward(&self, report: &Value) {
        if self.queue.try_send(report.clone()).is_err() {
            tracing::warn!("the webhook queue is full; a report was not forwarded");
            for target in &self.targets {
                self.metrics
                    .delivery_ended(target, DeliveryResult::Failed, false);
            }
            return;
        }
        for target in &self.targets {
            self.metrics.delivery_queued(target);
        }
    }
}

async fn deliver(
    http: &reqwest::Client,
    target: &Url,
    headers: &[(String, String)],
    report: &Value,
    first_wait: Duration,
) -> DeliveryResult {
    let id = report
        .get("conversationSpaceId")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mut wait = first_wait;
    for attempt in 1..=ATTEMPTS {
        let mut request = http.post(target.as_str()).json(report);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let failure = match request.send().await {
            Ok(answer) if answer.status().is_success() => return DeliveryResult::Delivered,
            Ok(answer) => format!("it answered {}", answer.status()),
            Err(err) => crate::api::client::describe_transport(&err),
        };
        if attempt == ATTEMPTS {
            tracing::warn!(
                "could not forward report {id} to {target} after {ATTEMPTS} attempts: {failure}"
            );
            return DeliveryResult::Failed;
        }
        tracing::debug!(
            "forwarding report {id} to {target} failed ({failure}); retrying in {wait:.1?}"
        );
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    DeliveryResult::Failed
}
