//! High availability's figures (SPEC section 9), on the PostgreSQL database that
//! `CER_BENCH_POSTGRES` names (skipped without it): the failover time of two listeners on one
//! store, and what storing a report costs when three listeners race to store the same calls.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation, Stored};
use cer_sandbox::{Sandbox, SandboxConfig};

use crate::{cer, ms};

/// A line a listener printed: which listener, when it was read, the report's ID.
type Printed = (usize, Instant, String);

pub fn high_availability(runtime: &tokio::runtime::Runtime) -> crate::table::Row {
    let figure =
        "failover: two listeners on one PostgreSQL store, one SIGKILLed, calls every second";
    let target = "first report from the survivor under 10 s after the kill";
    let Ok(url) = std::env::var("CER_BENCH_POSTGRES") else {
        return crate::table::Row::new(
            figure,
            "skipped: set CER_BENCH_POSTGRES to a postgres:// database".to_string(),
            "-".to_string(),
            target,
            crate::table::Verdict::Reported,
        );
    };
    racing_store_cost(runtime, &url);
    let (mean, max) = failover(runtime, &url);
    crate::table::Row::new(
        figure,
        format!("mean {mean:.0} ms, max {max:.0} ms (the next call, placed each second)"),
        "-".to_string(),
        target,
        crate::table::Verdict::of(max < 10_000.0),
    )
}

/// Starts `cer listen --json --store URL` as listener `who`; its stdout lines go to `printed`.
fn start_listener(
    sandbox: &Sandbox,
    state: &std::path::Path,
    url: &str,
    who: usize,
    printed: &mpsc::Sender<Printed>,
) -> Child {
    let mut child = cer(sandbox, state)
        .args(["listen", "--json", "--store", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cer starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = stderr
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.starts_with("Ready"));
    assert!(ready, "listen did not get ready");
    std::thread::spawn(move || stderr.for_each(drop));
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let printed = printed.clone();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let report: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let id = report["conversationSpaceId"].as_str().unwrap_or_default();
            if printed.send((who, Instant::now(), id.to_string())).is_err() {
                return;
            }
        }
    });
    child
}

/// Two listeners, a call every second. Each round SIGKILLs the listener that printed the
/// latest report the moment it is printed, and measures the time to the next report from the
/// survivor (and that call's end-to-print latency), then restarts the killed one.
/// Returns the mean and the longest time, in ms, from the killed listener's last report to
/// the survivor's next.
fn failover(runtime: &tokio::runtime::Runtime, url: &str) -> (f64, f64) {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let states = [tempfile::tempdir(), tempfile::tempdir()].map(|d| d.expect("a folder"));
    let (send, printed) = mpsc::channel::<Printed>();
    let mut listeners: Vec<Child> = (0..2)
        .map(|who| start_listener(&sandbox, states[who].path(), url, who, &send))
        .collect();
    let (mut failovers, mut latencies, mut usual) = (Vec::new(), Vec::new(), Vec::new());
    let mut placed_at = std::collections::HashMap::new();
    let mut next_call = Instant::now();
    for _round in 0..5 {
        // Two calls printed normally, then the kill on the third's print.
        let mut victim = None;
        let mut seen = 0;
        while victim.is_none() {
            let (who, at, id) = next_print(&sandbox, &printed, &mut next_call, &mut placed_at);
            if let Some(placed) = placed_at.get(&id) {
                usual.push(at.duration_since(*placed));
            }
            seen += 1;
            if seen >= 3 {
                let _ = listeners[who].kill();
                let _ = listeners[who].wait();
                victim = Some((who, at, id));
            }
        }
        let Some((dead, mut killed_at, _)) = victim else {
            continue;
        };
        let (at, id) = loop {
            let (who, at, id) = next_print(&sandbox, &printed, &mut next_call, &mut placed_at);
            if who != dead {
                break (at, id);
            }
            // Printed before the kill landed: the dead listener's last report is later.
            killed_at = at;
        };
        failovers.push(at - killed_at);
        if let Some(placed) = placed_at.get(&id) {
            latencies.push(at.duration_since(*placed));
        }
        listeners[dead] = start_listener(&sandbox, states[dead].path(), url, dead, &send);
    }
    for mut listener in listeners {
        let _ = listener.kill();
        let _ = listener.wait();
    }
    println!(
        "failover (PostgreSQL, 2 listeners, a call each second): last report of the SIGKILLed \
         listener to the next from the survivor: mean {:.0} ms, max {:.0} ms; that call's end to \
         print on the survivor: mean {:.1} ms, against {:.1} ms for the calls before a kill ({} \
         kills)",
        mean_ms(&failovers),
        failovers.iter().map(|d| ms(*d)).fold(0.0, f64::max),
        mean_ms(&latencies),
        mean_ms(&usual),
        failovers.len()
    );
    let max = failovers.iter().map(|d| ms(*d)).fold(0.0, f64::max);
    (mean_ms(&failovers), max)
}

/// Places calls on a one-second beat until a report is printed; returns that print.
fn next_print(
    sandbox: &Sandbox,
    printed: &mpsc::Receiver<Printed>,
    next_call: &mut Instant,
    placed_at: &mut std::collections::HashMap<String, Instant>,
) -> Printed {
    loop {
        let now = Instant::now();
        if now >= *next_call {
            let call = sandbox.place_call();
            placed_at.insert(call.conversation_space_id, Instant::now());
            *next_call += Duration::from_secs(1);
        }
        let wait = next_call.saturating_duration_since(Instant::now());
        if let Ok(print) = printed.recv_timeout(wait) {
            return print;
        }
    }
}

fn mean_ms(durations: &[Duration]) -> f64 {
    durations.iter().map(|d| ms(*d)).sum::<f64>() / durations.len().max(1) as f64
}

/// The same reports stored by one listener, then by three racing listeners (each its own
/// pool, like three processes): the cost per report, and that exactly one store won each.
fn racing_store_cost(runtime: &tokio::runtime::Runtime, url: &str) {
    let location = StoreLocation::parse(url).expect("a postgres:// URL");
    let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
    let template: serde_json::Value = serde_json::from_str(text).expect("the fixture");
    let runs = 1000usize;
    for racers in [1usize, 3] {
        let tag = format!("race-{racers}-{}", jiff::Timestamp::now().as_millisecond());
        let reports: Vec<serde_json::Value> = (0..runs)
            .map(|i| {
                let mut report = template.clone();
                report["conversationSpaceId"] = format!("{tag}-{i}").into();
                report
            })
            .collect();
        let (elapsed, won) = runtime.block_on(async {
            let mut stores = Vec::new();
            for _ in 0..racers {
                stores.push(Store::open(&location).await.expect("the store opens"));
            }
            let started = Instant::now();
            let tasks: Vec<_> = stores
                .into_iter()
                .map(|store| tokio::spawn(store_all(store, reports.clone())))
                .collect();
            let mut won = 0;
            for task in tasks {
                won += task.await.expect("a racer");
            }
            (started.elapsed(), won)
        });
        println!(
            "store (PostgreSQL): {runs} reports, each with its cursor and one delivery queued, \
             stored by {racers} listener(s) at once: {:.2} ms per report ({won} inserted, {} \
             found already there)",
            ms(elapsed) / runs as f64,
            racers * runs - won
        );
    }
}

async fn store_all(store: Store, reports: Vec<serde_json::Value>) -> usize {
    let targets = vec![cer::target::ForwardTarget::new(
        url::Url::parse("http://127.0.0.1:9/hook").expect("a URL"),
    )];
    store
        .register_targets(&targets, Duration::from_secs(60), jiff::Timestamp::now())
        .await
        .expect("the target registered");
    let queue = Queue::NONE;
    let mut won = 0;
    for report in &reports {
        let now = jiff::Timestamp::now();
        let stored = store
            .store_report(
                &cer::report::Report::of_value(report).unwrap(),
                Some(("bench", now)),
                &queue,
                now,
            )
            .await
            .expect("stored");
        won += usize::from(stored == Stored::New);
    }
    won
}
