//! The store's figures: the cost of storing one report (SQLite; PostgreSQL too when
//! `CER_BENCH_POSTGRES` names a database), `cer sync`'s throughput against `--rate`, and the
//! time from a call's end to its report reaching a `--forward-to` webhook.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cer::sandbox::{Sandbox, SandboxConfig};
use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation};

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
    let targets = vec!["http://127.0.0.1:9/hook".to_string()];
    for location in locations {
        runtime.block_on(async {
            let store = Store::open(&location).await.expect("the store opens");
            let runs = 2000u32;
            let now = jiff::Timestamp::now();
            let started = Instant::now();
            for i in 0..runs {
                let mut report = template.clone();
                report["conversationSpaceId"] = format!("bench-{}-{i}", now.as_millisecond()).into();
                let cursor = Some(("bench", now));
                let queue = Queue {
                    targets: &targets,
                    forward_for: Duration::from_secs(60),
                };
                store.store_report(&report, cursor, &queue, now).await.expect("stored");
            }
            println!(
                "store: one report with its cursor and one delivery queued, {}: {:.2} ms (mean of {runs}, {} bytes each)",
                location.backend_name(),
                ms(started.elapsed()) / f64::from(runs),
                text.len()
            );
        });
    }
}

pub fn sync_throughput(runtime: &tokio::runtime::Runtime) {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: Some(Duration::from_secs(30)),
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    for rate in ["10", "50"] {
        let state = tempfile::tempdir().expect("a folder");
        let started = Instant::now();
        let output = cer(&sandbox, state.path())
            .args(["--rate", rate, "sync", "--from", "2026-01-01T00:00:00Z"])
            .args(["--to", "2026-01-01T01:00:00Z"])
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
        println!(
            "sync: {stored} reports in {:.1} s at --rate {rate}: {:.1} reports/s ({})",
            elapsed.as_secs_f64(),
            stored / elapsed.as_secs_f64(),
            stderr.trim()
        );
    }
}

pub fn delivery_latency(runtime: &tokio::runtime::Runtime) {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let arrived: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let record = arrived.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let record = record.clone();
            async move {
                record.lock().expect("a lock").push(Instant::now());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    runtime.spawn(async move { axum::serve(listener, app).await });
    let state = tempfile::tempdir().expect("a folder");
    let mut child = cer(&sandbox, state.path())
        .args(["listen", "--json", "--forward-to", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cer starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = stderr
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.starts_with("Ready"));
    assert!(ready, "listen did not get ready");
    let mut latencies = Vec::new();
    for n in 1..=20 {
        let placed = Instant::now();
        sandbox.place_call();
        while arrived.lock().expect("a lock").len() < n {
            std::thread::sleep(Duration::from_millis(1));
        }
        latencies.push(placed.elapsed());
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    let pick = |q: f64| ms(latencies[((latencies.len() - 1) as f64 * q) as usize]);
    println!(
        "delivery: call end to report at the webhook: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} calls)",
        pick(0.5),
        pick(0.95),
        pick(1.0),
        latencies.len()
    );
}
