//! Re-fetches for post-call analysis: what one costs (requests, and store time for a changed
//! report), and whether a burst of live calls drains as fast with as many re-fetches due as
//! without: they must wait behind live work, never in front of it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation};
use cer_sandbox::{Sandbox, SandboxConfig};

use super::cer;
use super::process::{Running, quantile_ms};
use super::table::{Row, Verdict};

/// Live calls in the burst, and re-fetches due when it starts.
const CALLS: usize = 500;

fn sandbox(runtime: &tokio::runtime::Runtime) -> Sandbox {
    runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            analysis_delay: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts")
}

/// The point after `callEnded` that `sync` plans for each stored call: long enough for `sync`
/// to store all of them first (a point already past when a report is stored is not planned).
const POINT: Duration = Duration::from_secs(20);

/// `listen --json --rate 10` on `state`'s store, Ready; the live calls' own re-fetch points
/// are an hour away, so only the points `sync` planned fall due while it runs.
fn listening(sandbox: &Sandbox, state: &std::path::Path) -> Running {
    super::listen::listening_with(sandbox, state, "10", &["--refetch", "1h"])
}

/// `CALLS` calls ending at once: seconds until all are printed.
fn burst(sandbox: &Sandbox, running: &Running) -> f64 {
    let started = Instant::now();
    for _ in 0..CALLS {
        sandbox.place_call();
    }
    let mut last = started;
    for _ in 0..CALLS {
        let Some((at, _)) = running.line(Duration::from_secs(60)) else {
            break;
        };
        last = at;
    }
    (last - started).as_secs_f64()
}

/// `PACED` calls one at a time, each 350 ms after the last was printed (time for a re-fetch
/// between them): for each, the simulator's notification to the report's stdout line. Sorted.
fn paced(sandbox: &Sandbox, running: &Running) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for _ in 0..PACED {
        let placed = Instant::now();
        sandbox.place_call();
        let Some((at, _)) = running.line(Duration::from_secs(10)) else {
            break;
        };
        latencies.push(at - placed);
        std::thread::sleep(Duration::from_millis(350));
    }
    latencies.sort();
    latencies
}

/// Calls in the paced latency run.
const PACED: usize = 100;

/// A listener on a store that `cer sync` filled with `CALLS` ended calls, each with one
/// re-fetch point, started once all the points are due.
struct Loaded {
    sandbox: Sandbox,
    state: tempfile::TempDir,
    running: Running,
    /// Points due when the listener started (read from the store, not assumed).
    due: i64,
    /// The stored calls: a GET of their report is a re-fetch.
    stored: HashSet<String>,
    /// The simulator's requests before the listener started.
    before: usize,
}

impl Loaded {
    fn start(runtime: &tokio::runtime::Runtime) -> Self {
        let sandbox = sandbox(runtime);
        let state = tempfile::tempdir().expect("a folder");
        let ended = Instant::now();
        let stored = (0..CALLS)
            .map(|_| sandbox.place_call().conversation_space_id)
            .collect();
        let mut sync = cer(&sandbox, state.path());
        sync.env("CER_REFETCH", format!("{}s", POINT.as_secs()))
            .args(["--rate", "1000", "sync", "--since", "1h"]);
        let done = sync.output().expect("sync runs");
        assert!(done.status.success(), "sync: {done:?}");
        let all_due = ended + POINT + Duration::from_millis(500);
        std::thread::sleep(all_due.saturating_duration_since(Instant::now()));
        let due = still_due(runtime, state.path());
        let before = sandbox.requests().len();
        let running = listening(&sandbox, state.path());
        Self {
            sandbox,
            state,
            running,
            due,
            stored,
            before,
        }
    }

    /// Re-fetches made since the listener started: GETs of a stored call's report.
    fn refetches(&self) -> usize {
        self.sandbox.requests()[self.before..]
            .iter()
            .filter_map(|r| r.path.strip_prefix("/call-events-report/v1/reports/"))
            .filter(|id| self.stored.contains(*id))
            .count()
    }
}

/// Re-fetch points due and not done yet in `state`'s store (the live calls' own points, an
/// hour away, are not due).
fn still_due(runtime: &tokio::runtime::Runtime, state: &std::path::Path) -> i64 {
    let location = StoreLocation::Sqlite(state.join("cer.db"));
    runtime.block_on(async {
        let store = Store::open(&location).await.expect("the store opens");
        let counts = store
            .refetches_due(jiff::Timestamp::now())
            .await
            .expect("counted");
        counts.due
    })
}

/// A live burst's drain, and the paced calls' latency, with `CALLS` re-fetches due and without.
pub fn live_behind(runtime: &tokio::runtime::Runtime) -> (Vec<Row>, f64) {
    let quiet = tempfile::tempdir().expect("a folder");
    let alone = sandbox(runtime);
    let running = listening(&alone, quiet.path());
    let drain_alone = burst(&alone, &running);
    let latency_alone = paced(&alone, &running);
    drop(running);

    let burst_loaded = Loaded::start(runtime);
    let during_ready = burst_loaded.refetches();
    let drain_behind = burst(&burst_loaded.sandbox, &burst_loaded.running);
    let during_burst = burst_loaded.refetches() - during_ready;
    let due = burst_loaded.due;
    drop(burst_loaded);

    let paced_loaded = Loaded::start(runtime);
    let latency_behind = paced(&paced_loaded.sandbox, &paced_loaded.running);
    let during_paced = paced_loaded.refetches();
    let due_paced = paced_loaded.due;
    // What a point costs, from the run where re-fetches ran between live calls.
    let points_done = due_paced - still_due(runtime, paced_loaded.state.path());
    let gets_per_point = during_paced as f64 / points_done.max(1) as f64;
    drop(paced_loaded);

    let ratio = drain_behind / drain_alone;
    let p99 = |l: &[Duration]| quantile_ms(l, 0.99);
    let p50 = |l: &[Duration]| quantile_ms(l, 0.5);
    let rows = vec![
        Row::new(
            "`listen --rate 10`, 500 live calls at once with 500 re-fetches due",
            format!(
                "drained in {drain_behind:.2} s ({ratio:.2} x); {due} re-fetches due at the start, \
                 {during_ready} made before the burst, {during_burst} during it"
            ),
            format!("{drain_alone:.2} s with none due"),
            "at most 1.1 x the drain with none due",
            Verdict::of(due >= CALLS as i64 && ratio <= 1.1),
        ),
        Row::new(
            "`listen --rate 10`, live report latency, 100 calls one at a time with 500 re-fetches due",
            format!(
                "p50 {:.1} ms, p99 {:.1} ms ({} calls; {due_paced} due, {during_paced} re-fetched meanwhile)",
                p50(&latency_behind),
                p99(&latency_behind),
                latency_behind.len()
            ),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms with none due",
                p50(&latency_alone),
                p99(&latency_alone)
            ),
            "reported",
            Verdict::Reported,
        ),
    ];
    (rows, gets_per_point)
}

/// Store time of a re-fetch that found the report changed: a revision stored, the row
/// updated, deliveries superseded and queued (one target), on SQLite.
/// `gets_per_point` is what the paced run measured: GETs answered per point done.
pub fn cost(runtime: &tokio::runtime::Runtime, gets_per_point: f64) -> Row {
    let dir = tempfile::tempdir().expect("a folder");
    let location = StoreLocation::Sqlite(dir.path().join("cer.db"));
    let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
    let template: serde_json::Value = serde_json::from_str(text).expect("the fixture");
    let targets = vec![cer::target::ForwardTarget::new(
        url::Url::parse("http://127.0.0.1:9/hook").expect("a URL"),
    )];
    let queue = Queue::NONE;
    let runs = 500u32;
    let elapsed = runtime.block_on(async {
        let store = Store::open(&location).await.expect("the store opens");
        let now = jiff::Timestamp::now();
        store
            .register_targets(&targets, Duration::from_secs(60), now)
            .await
            .expect("the target registered");
        let mut reports = Vec::new();
        for i in 0..runs {
            let mut report = template.clone();
            report["conversationSpaceId"] = format!("refetch-{i}").into();
            store
                .store_report(
                    &cer::report::Report::of_value(&report).unwrap(),
                    None,
                    &queue,
                    now,
                )
                .await
                .expect("stored");
            report["callReason"] = "Billing question".into();
            // Read as it arrives from GoTo, before the clock starts: only storing is timed.
            reports.push(cer::report::Report::of_value(&report).expect("a report"));
        }
        let started = Instant::now();
        for report in &reports {
            store
                .store_revision(report.id(), report, &queue, now)
                .await
                .expect("revised");
        }
        started.elapsed()
    });
    let per_call = elapsed.as_secs_f64() * 1000.0 / f64::from(runs);
    Row::new(
        "a re-fetch that found post-call analysis: requests, and store time on SQLite",
        format!(
            "{gets_per_point:.2} GET per point (3 points by default), {per_call:.2} ms of store time"
        ),
        format!("store time: mean of {runs}, one target; GETs: the paced run below"),
        "reported",
        Verdict::Reported,
    )
}
