//! The store's figures: the cost of storing one report (SQLite; PostgreSQL too when
//! `CER_BENCH_POSTGRES` names a database), `cer sync`'s throughput against `--rate`, and the
//! time from a report's store write to its POST at a `--forward-to` webhook.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation};
use cer_sandbox::{Sandbox, SandboxConfig};

use jiff::Timestamp;

use super::process::{Running, conversation_id, quantile_ms};
use super::table::{Row, Verdict};
use super::{cer, ms};

/// Several listeners on one PostgreSQL store: failover time and the cost of racing to store.
#[path = "failover.rs"]
pub mod failover;

pub fn store_overhead(runtime: &tokio::runtime::Runtime) {
    let state = tempfile::tempdir().expect("a folder");
    let mut locations = vec![StoreLocation::Sqlite(state.path().join("cer.db"))];
    if let Ok(url) = std::env::var("CER_BENCH_POSTGRES") {
        locations.push(StoreLocation::parse(&url).expect("a postgres:// URL"));
    }
    let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
    let template: serde_json::Value = serde_json::from_str(text).expect("the fixture");
    let targets = vec![cer::target::ForwardTarget::new(
        url::Url::parse("http://127.0.0.1:9/hook").expect("a URL"),
    )];
    for location in locations {
        runtime.block_on(async {
            let store = Store::open(&location).await.expect("the store opens");
            let runs = 500u32;
            let now = jiff::Timestamp::now();
            store
                .register_targets(&targets, Duration::from_secs(60), now)
                .await
                .expect("the target registered");
            // Read as they arrive from GoTo, before the clock starts: only storing is timed.
            let reports: Vec<cer::report::Report> = (0..runs)
                .map(|i| {
                    let mut report = template.clone();
                    report["conversationSpaceId"] =
                        format!("bench-{}-{i}", now.as_millisecond()).into();
                    cer::report::Report::of_value(&report).expect("a report")
                })
                .collect();
            let started = Instant::now();
            for report in &reports {
                let cursor = Some(("bench", now));
                store
                    .store_report(report, cursor, &Queue::NONE, now)
                    .await
                    .expect("stored");
            }
            eprintln!(
                "  (store: one report with its cursor and one delivery queued, {}: {:.2} ms (mean of {runs}, {} bytes each))",
                location.backend_name(),
                ms(started.elapsed()) / f64::from(runs),
                text.len()
            );
        });
    }
}

/// `cer sync` of about 2,000 reports at `--rate 100`, beside the ideal N / rate.
pub fn sync_throughput(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: Some(Duration::from_secs(1)),
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let state = tempfile::tempdir().expect("a folder");
    let started = Instant::now();
    let output = cer(&sandbox, state.path())
        .args(["--rate", "100", "sync", "--from", "2026-01-01T00:00:00Z"])
        .args(["--to", "2026-01-01T00:33:20Z"])
        .output()
        .expect("cer sync runs");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stored: f64 = stderr
        .split("Stored ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let ideal = stored / 100.0;
    let percent = ideal / elapsed.as_secs_f64() * 100.0;
    Row::new(
        "`sync` of 2,000 reports at `--rate 100`",
        format!(
            "{percent:.1} % of ideal ({stored} reports in {:.2} s)",
            elapsed.as_secs_f64()
        ),
        format!("ideal {ideal:.1} s"),
        "at least 95 % of ideal",
        Verdict::of(output.status.success() && stored >= 1900.0 && percent >= 95.0),
    )
}

/// Each POST's conversationSpaceId and when it arrived.
type Arrivals = Arc<Mutex<Vec<(String, Timestamp)>>>;

/// A webhook on loopback that notes when each report arrived, by conversationSpaceId.
fn receiver(runtime: &tokio::runtime::Runtime) -> (String, Arrivals) {
    let arrived: Arrivals = Arc::default();
    let record = arrived.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let at = Timestamp::now();
            let record = record.clone();
            async move {
                let id = conversation_id(&body).unwrap_or_default();
                record.lock().expect("a lock").push((id, at));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, arrived)
}

/// 1,000 reports forwarded to a local receiver: from the store's `stored_at` to the POST.
pub fn delivery_latency(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let (url, arrived) = receiver(runtime);
    let state = tempfile::tempdir().expect("a folder");
    let mut command = cer(&sandbox, state.path());
    command.args(["--rate", "1000", "listen", "--json", "--forward-to", &url]);
    let running = Running::start(command);
    running.ready();
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in 1..=1000 {
        sandbox.place_call();
        while arrived.lock().expect("a lock").len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(running);
    let stored = runtime.block_on(stored_at(&state.path().join("cer.db")));
    let mut latencies: Vec<Duration> = arrived
        .lock()
        .expect("a lock")
        .iter()
        .filter_map(|(id, at)| {
            let stored = stored.get(id)?;
            Duration::try_from(at.duration_since(*stored)).ok()
        })
        .collect();
    latencies.sort();
    let p99 = quantile_ms(&latencies, 0.99);
    Row::new(
        "delivery to a local receiver, 1,000 reports: store to POST",
        format!("p99 {p99:.2} ms ({} delivered)", latencies.len()),
        format!(
            "p50 {:.2} ms, max {:.2} ms",
            quantile_ms(&latencies, 0.5),
            quantile_ms(&latencies, 1.0)
        ),
        "p99 under 10 ms",
        Verdict::of(latencies.len() == 1000 && p99 < 10.0),
    )
}

/// Each stored report's `stored_at`, read from the SQLite file independently of cer's code.
async fn stored_at(path: &std::path::Path) -> HashMap<String, Timestamp> {
    let url = format!("sqlite:{}?mode=ro", path.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("the store opens");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT conversation_space_id, stored_at FROM cer_reports")
            .fetch_all(&pool)
            .await
            .expect("the reports");
    rows.into_iter()
        .filter_map(|(id, at)| Some((id, at.parse().ok()?)))
        .collect()
}
