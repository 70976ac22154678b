//! `--forward-to`: POSTs each report to local webhooks, in order, with retries and backoff, on a
//! task of its own, so a slow or broken webhook never holds up listening.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use url::Url;

/// Queue length before reports for the webhooks are dropped (with a warning).
const QUEUE: usize = 10_000;
const ATTEMPTS: u32 = 5;

/// The sending side; dropping it lets the task finish what is queued and stop.
pub struct Forwarder {
    queue: mpsc::Sender<Value>,
    /// Reports queued or being delivered: what a shutdown now would leave undelivered.
    pending: Arc<AtomicUsize>,
}

impl Forwarder {
    /// Starts the forwarding task. `first_wait` is the first retry's wait; it doubles.
    pub fn spawn(
        http: reqwest::Client,
        targets: Vec<Url>,
        headers: Vec<(String, String)>,
        first_wait: Duration,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, mut reports) = mpsc::channel::<Value>(QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        let done = pending.clone();
        let task = tokio::spawn(async move {
            while let Some(report) = reports.recv().await {
                for target in &targets {
                    deliver(&http, target, &headers, &report, first_wait).await;
                }
                done.fetch_sub(1, Ordering::SeqCst);
            }
        });
        (Self { queue, pending }, task)
    }

    /// Queues a report; never waits.
    pub fn forward(&self, report: &Value) {
        if self.queue.try_send(report.clone()).is_err() {
            tracing::warn!("the webhook queue is full; a report was not forwarded");
        } else {
            self.pending.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Lets the task deliver what is queued for up to `limit`, then stops it and says how
    /// many reports were not delivered, so a shutdown never drops them silently.
    pub async fn finish(self, task: tokio::task::JoinHandle<()>, limit: Duration) {
        let pending = self.pending.clone();
        drop(self);
        let abort = task.abort_handle();
        if tokio::time::timeout(limit, task).await.is_err() {
            abort.abort();
        }
        let left = pending.load(Ordering::SeqCst);
        if left > 0 {
            tracing::warn!(
                "{left} report(s) queued for the webhooks were not delivered before shutdown"
            );
        }
    }
}

async fn deliver(
    http: &reqwest::Client,
    target: &Url,
    headers: &[(String, String)],
    report: &Value,
    first_wait: Duration,
) {
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
            Ok(answer) if answer.status().is_success() => return,
            Ok(answer) => format!("it answered {}", answer.status()),
            Err(err) => crate::api::client::describe_transport(&err),
        };
        if attempt == ATTEMPTS {
            tracing::warn!(
                "could not forward report {id} to {target} after {ATTEMPTS} attempts: {failure}"
            );
            return;
        }
        tracing::debug!(
            "forwarding report {id} to {target} failed ({failure}); retrying in {wait:.1?}"
        );
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}
