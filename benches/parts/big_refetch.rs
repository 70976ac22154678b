//! What a big revision costs `cer listen` (SPEC section 5: reading a report costs at most about
//! three times its size, and parsing never stalls the listener's other work): a stored call
//! whose re-fetch brings a 30 MB report, stored as revision 2 and printed with `--updates`,
//! beside the same listener re-fetching a tiny revision, with live calls placed meanwhile.
//!
//! The big field is an array of 1.5 million 19-digit numbers, not of zeros as in `cer fetch`'s
//! row: the simulator holds its reports as trees of values, about 110 bytes an element, and
//! copies them for every answer, so 15 million zeros would cost this process gigabytes. Still,
//! a tree of this report in cer would cost about 6 times its size.

use std::time::{Duration, Instant};

use cer_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Map, Value};

use super::listen::listening_with;
use super::process::{Running, quantile_ms, status_kib};
use super::table::{Row, Verdict, mb};

/// Elements of the big field: 20 bytes each with their comma, 30 MB in all.
const ELEMENTS: usize = 1_500_000;
const ELEMENT: u64 = 1_234_567_890_123_456_789;
/// The re-fetch point after `callEnded`: time to print the call and add the field first.
const POINT: &str = "2s";
/// Live calls placed once the revision is printed, so the tiny run has some too.
const AFTER: usize = 10;
/// Time between live calls while the re-fetch runs.
const EVERY: Duration = Duration::from_millis(25);
/// Bounds of every wait.
const LIMIT: Duration = Duration::from_secs(60);

/// One listener re-fetching one revision: its peaks, the body, and the live calls' latency.
struct Refetched {
    ready_kib: u64,
    /// VmHWM after the call was first printed, before its re-fetch.
    before_kib: u64,
    /// VmHWM once the revision is printed and the live calls have come.
    peak_kib: u64,
    body: usize,
    /// The revision as `--updates` printed it, in bytes.
    printed: usize,
    /// From the simulator's answer to the re-fetch to the revision's line.
    took: Option<Duration>,
    /// Latency of the live calls placed while the re-fetch ran (from its GET to its line).
    during: Vec<Duration>,
    /// Latency of every live call placed.
    all: Vec<Duration>,
    /// Live calls never printed within the limit.
    lost: usize,
}

fn sandbox(runtime: &tokio::runtime::Runtime) -> Sandbox {
    runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            analysis_delay: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts")
}

/// `listen --json --updates` on SQLite: one call printed, then `fields` added to its report
/// before its re-fetch point; live calls every 25 ms from the re-fetch's GET until the
/// revision is printed, and [`AFTER`] more.
fn refetched(runtime: &tokio::runtime::Runtime, fields: Map<String, Value>) -> Refetched {
    let sandbox = sandbox(runtime);
    let state = tempfile::tempdir().expect("a folder");
    let running = listening_with(
        &sandbox,
        state.path(),
        "100",
        &["--updates", "--refetch", POINT],
    );
    let pid = running.pid();
    let ready_kib = status_kib(pid, "VmHWM:").unwrap_or(0);
    let id = sandbox.place_call().conversation_space_id;
    running.line(LIMIT).expect("the call printed");
    let served = sandbox
        .add_analysis(&id, Some(fields))
        .expect("a known call");
    let body = serde_json::to_vec(&served).expect("a report").len();
    drop(served);
    let before_kib = status_kib(pid, "VmHWM:").unwrap_or(0);
    let answered = wait_for_refetch(&sandbox, &id);
    let (placed, lines, printed) = live_until_revision(&sandbox, &running, &id);
    let revision_at = printed.map(|(at, _)| at);
    let took = revision_at.map(|r| r.saturating_duration_since(answered));
    let (mut during, mut all, mut lost) = (Vec::new(), Vec::new(), 0);
    for (live, at) in &placed {
        let Some((line_at, _)) = lines.iter().find(|(_, l)| l.contains(live.as_str())) else {
            lost += 1;
            continue;
        };
        all.push(*line_at - *at);
        if revision_at.is_none_or(|r| *at < r) {
            during.push(*line_at - *at);
        }
    }
    during.sort();
    all.sort();
    Refetched {
        ready_kib,
        before_kib,
        peak_kib: status_kib(pid, "VmHWM:").unwrap_or(0),
        body,
        printed: printed.map_or(0, |(_, len)| len),
        took,
        during,
        all,
        lost,
    }
}

/// Waits until the simulator has answered the re-fetch of `id` (its second GET); when.
fn wait_for_refetch(sandbox: &Sandbox, id: &str) -> Instant {
    let path = format!("/call-events-report/v1/reports/{id}");
    let deadline = Instant::now() + LIMIT;
    while Instant::now() < deadline {
        let gets = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count();
        if gets >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Instant::now()
}

/// Live calls placed (ID, when), the small stdout lines stamped, and when the revision line
/// came with its length.
type Live = (
    Vec<(String, Instant)>,
    Vec<(Instant, String)>,
    Option<(Instant, usize)>,
);

/// Places a live call every [`EVERY`] until the revision of `id` is printed and [`AFTER`]
/// more, then waits for every live call's line.
fn live_until_revision(sandbox: &Sandbox, running: &Running, id: &str) -> Live {
    let mut placed = Vec::new();
    let mut lines = Vec::new();
    let mut revision = None;
    let deadline = Instant::now() + LIMIT;
    let mut after = 0;
    while after < AFTER && Instant::now() < deadline {
        placed.push((sandbox.place_call().conversation_space_id, Instant::now()));
        std::thread::sleep(EVERY);
        while let Ok(line) = running.stdout.try_recv() {
            keep(line, id, &mut lines, &mut revision);
        }
        if revision.is_some() {
            after += 1;
        }
    }
    while lines.len() < placed.len() && Instant::now() < deadline {
        match running.line(Duration::from_secs(5)) {
            Some(line) => keep(line, id, &mut lines, &mut revision),
            None => break,
        }
    }
    (placed, lines, revision)
}

/// Files a stdout line: the revision is the one line about the re-fetched call `id` (kept as
/// its length only); the rest are the live calls' lines.
fn keep(
    (at, line): (Instant, String),
    id: &str,
    lines: &mut Vec<(Instant, String)>,
    revision: &mut Option<(Instant, usize)>,
) {
    if line.contains(id) {
        *revision = Some((at, line.len()));
    } else {
        lines.push((at, line));
    }
}

/// `{"z": [n, n, …]}` of about 30 MB once served, or a tiny `callReason`.
fn field(big: bool) -> Map<String, Value> {
    let mut fields = Map::new();
    if big {
        fields.insert("z".into(), Value::Array(vec![ELEMENT.into(); ELEMENTS]));
    } else {
        fields.insert("callReason".into(), "Billing question".into());
    }
    fields
}

fn latency(sorted: &[Duration]) -> String {
    format!(
        "p50 {:.1} ms, max {:.1} ms of {}",
        quantile_ms(sorted, 0.5),
        quantile_ms(sorted, 1.0),
        sorted.len()
    )
}

/// Peak RSS of `listen` storing and printing a 30 MB revision, over its peak for a tiny one.
pub fn listen_peak(runtime: &tokio::runtime::Runtime) -> Row {
    let tiny = refetched(runtime, field(false));
    let big = refetched(runtime, field(true));
    let size_mb = big.body as f64 / 1e6;
    let (peak, baseline) = (mb(big.peak_kib), mb(tiny.peak_kib));
    let ratio = (peak - baseline) / size_mb;
    // Sorted: the last is the longest; no call during the re-fetch is no call held up.
    let prompt = big
        .during
        .last()
        .is_none_or(|d| *d < Duration::from_millis(100));
    eprintln!(
        "big revision: peak {peak:.1} MB (before the re-fetch {:.1} MB, at Ready {:.1} MB), tiny \
         revision {baseline:.1} MB, body {size_mb:.1} MB, printed {} bytes",
        mb(big.before_kib),
        mb(big.ready_kib),
        big.printed
    );
    Row::new(
        "peak RSS of `listen --updates` re-fetching a 30 MB report (revision 2 stored and \
         printed), over a tiny revision's; live calls meanwhile",
        format!(
            "{peak:.1} MB = tiny revision's + {ratio:.2} x the body ({:.1} MB before the \
             re-fetch; answer to printed revision {}); live calls during it: {}, {} lost",
            mb(big.before_kib),
            big.took.map_or("never".into(), |t| format!(
                "{:.0} ms",
                t.as_secs_f64() * 1000.0
            )),
            latency(&big.during),
            big.lost
        ),
        format!(
            "body {size_mb:.1} MB; tiny revision: peak {baseline:.1} MB, live calls {}",
            latency(&tiny.all)
        ),
        "under 3 x the body over the tiny revision's; live calls during it: max under 100 ms",
        Verdict::of(ratio < 3.0 && big.printed == big.body && big.lost == 0 && prompt),
    )
}
