//! Re-fetches for post-call analysis: what one costs (requests, and store time for a changed
//! report), and whether a burst of live calls drains as fast with as many re-fetches due as
//! without: they must wait behind live work, never in front of it.

use std::time::{Duration, Instant};

use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation};
use cer_sandbox::{Sandbox, SandboxConfig};

use super::cer;
use super::process::Running;
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

/// `CALLS` calls ending at once at `--rate 10`: seconds until all are printed, and how many
/// re-fetches the simulator answered meanwhile.
fn burst(sandbox: &Sandbox, state: &std::path::Path) -> (f64, usize) {
    let mut command = cer(sandbox, state);
    command.args(["--rate", "10", "listen", "--json", "--refetch", "1s"]);
    let running = Running::start(command);
    running.ready();
    let before = sandbox.requests().len();
    let started = Instant::now();
    let ids: Vec<String> = (0..CALLS)
        .map(|_| sandbox.place_call().conversation_space_id)
        .collect();
    let mut last = started;
    for _ in 0..CALLS {
        let Some((at, _)) = running.line(Duration::from_secs(60)) else {
            break;
        };
        last = at;
    }
    let refetched = sandbox.requests()[before..]
        .iter()
        .filter(|r| r.path.starts_with("/call-events-report/v1/reports/"))
        .filter(|r| !ids.iter().any(|id| r.path.ends_with(id.as_str())))
        .count();
    ((last - started).as_secs_f64(), refetched)
}

/// Stores `CALLS` older calls with `cer sync`, each with a re-fetch point due a second later.
fn with_refetches_due(sandbox: &Sandbox, state: &std::path::Path) {
    for _ in 0..CALLS {
        sandbox.place_call();
    }
    let mut sync = cer(sandbox, state);
    sync.env("CER_REFETCH", "1s")
        .args(["--rate", "1000", "sync", "--since", "1h"]);
    let done = sync.output().expect("sync runs");
    assert!(done.status.success(), "sync: {done:?}");
    std::thread::sleep(Duration::from_millis(1200));
}

/// The drain of a live burst with and without `CALLS` re-fetches due.
pub fn live_behind(runtime: &tokio::runtime::Runtime) -> Row {
    let quiet = tempfile::tempdir().expect("a folder");
    let (alone, _) = burst(&sandbox(runtime), quiet.path());
    let busy = tempfile::tempdir().expect("a folder");
    let loaded = sandbox(runtime);
    with_refetches_due(&loaded, busy.path());
    let (behind, refetched) = burst(&loaded, busy.path());
    let ratio = behind / alone;
    Row::new(
        "`listen --rate 10`, 500 live calls at once with 500 re-fetches due",
        format!("drained in {behind:.2} s ({ratio:.2} x), {refetched} re-fetches meanwhile"),
        format!("{alone:.2} s with none due"),
        "at most 1.1 x the drain with none due",
        Verdict::of(ratio <= 1.1),
    )
}

/// Store time of a re-fetch that found the report changed: a revision stored, the row
/// updated, deliveries superseded and queued (one target), on SQLite.
pub fn cost(runtime: &tokio::runtime::Runtime) -> Row {
    let dir = tempfile::tempdir().expect("a folder");
    let location = StoreLocation::Sqlite(dir.path().join("cer.db"));
    let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
    let template: serde_json::Value = serde_json::from_str(text).expect("the fixture");
    let targets = vec![cer::target::ForwardTarget::new(
        url::Url::parse("http://127.0.0.1:9/hook").expect("a URL"),
    )];
    let queue = Queue {
        targets: &targets,
        forward_for: Duration::from_secs(60),
        refetch_after: &[],
    };
    let runs = 500u32;
    let elapsed = runtime.block_on(async {
        let store = Store::open(&location).await.expect("the store opens");
        let now = jiff::Timestamp::now();
        let mut reports = Vec::new();
        for i in 0..runs {
            let mut report = template.clone();
            report["conversationSpaceId"] = format!("refetch-{i}").into();
            store
                .store_report(&report, None, &queue, now)
                .await
                .expect("stored");
            report["callReason"] = "Billing question".into();
            reports.push(report);
        }
        let started = Instant::now();
        for report in &reports {
            store
                .store_revision(report, &queue, now)
                .await
                .expect("revised");
        }
        started.elapsed()
    });
    let per_call = elapsed.as_secs_f64() * 1000.0 / f64::from(runs);
    Row::new(
        "a re-fetch that found post-call analysis: requests, and store time on SQLite",
        format!("1 GET per point (3 by default), {per_call:.2} ms of store time"),
        format!("mean of {runs}, one target"),
        "reported",
        Verdict::Reported,
    )
}
