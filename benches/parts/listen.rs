//! `cer listen` against the simulator: how soon a report reaches stdout (its store write
//! included), how close a burst drains to the ideal under GoTo's rate limit, whether memory
//! stays flat over many reports, and what dropped WebSockets cost in time and in reports.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use cer_sandbox::{Sandbox, SandboxConfig};

use super::cer;
use super::process::{Running, conversation_id, quantile_ms, status_kib};
use super::table::{Row, Verdict, mb};

fn quiet_sandbox(runtime: &tokio::runtime::Runtime) -> Sandbox {
    runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts")
}

/// `listen --json` (with its default SQLite store) at `rate`, Ready.
fn listening(sandbox: &Sandbox, state: &std::path::Path, rate: &str) -> Running {
    listening_with(sandbox, state, rate, &[])
}

/// [`listening`] with more `listen` flags.
pub(super) fn listening_with(
    sandbox: &Sandbox,
    state: &std::path::Path,
    rate: &str,
    flags: &[&str],
) -> Running {
    let mut command = cer(sandbox, state);
    command
        .args(["--rate", rate, "listen", "--json"])
        .args(flags);
    let running = Running::start(command);
    running.ready();
    running
}

/// 1,000 calls one at a time: the simulator's notification to the report's stdout line.
pub fn latency(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = quiet_sandbox(runtime);
    let state = tempfile::tempdir().expect("a folder");
    let running = listening(&sandbox, state.path(), "1000");
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.len() < 1000 && Instant::now() < deadline {
        let placed = Instant::now();
        sandbox.place_call();
        let Some((at, _)) = running.line(Duration::from_secs(5)) else {
            break;
        };
        latencies.push(at - placed);
        // Past the client's 1,000/s pacing, so each call is measured alone.
        std::thread::sleep(Duration::from_millis(2));
    }
    latencies.sort();
    let (p50, p99) = (quantile_ms(&latencies, 0.5), quantile_ms(&latencies, 0.99));
    Row::new(
        "`listen --json`, 1,000 calls: notification to stdout line, store write included",
        format!(
            "p50 {p50:.2} ms, p99 {p99:.2} ms ({} calls)",
            latencies.len()
        ),
        format!("max {:.2} ms", quantile_ms(&latencies, 1.0)),
        "p50 under 2 ms, p99 under 5 ms",
        Verdict::of(latencies.len() == 1000 && p50 < 2.0 && p99 < 5.0),
    )
}

/// 1,000 calls ending at once, the simulator limiting each API to 100 requests/s, `--rate 100`.
pub fn drain(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = quiet_sandbox(runtime);
    sandbox.faults().limit_rate(Some(100));
    let state = tempfile::tempdir().expect("a folder");
    let running = listening(&sandbox, state.path(), "100");
    let calls = 1000;
    let started = Instant::now();
    for _ in 0..calls {
        sandbox.place_call();
    }
    let mut seen = 0;
    let mut last = started;
    while seen < calls {
        let Some((at, _)) = running.line(Duration::from_secs(30)) else {
            break;
        };
        seen += 1;
        last = at;
    }
    let elapsed = last - started;
    let ideal = f64::from(calls) / 100.0;
    let percent = ideal / elapsed.as_secs_f64() * 100.0;
    let rejected = sandbox
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    Row::new(
        "`listen`, 1,000 calls ending at once, simulator limit 100 req/s, `--rate 100`",
        format!(
            "{percent:.1} % of ideal ({seen} reports in {:.2} s), {rejected} x 429",
            elapsed.as_secs_f64()
        ),
        format!("ideal drain {ideal:.1} s"),
        "at least 95 % of ideal, zero 429",
        Verdict::of(seen == calls && percent >= 95.0 && rejected == 0),
    )
}

/// RSS at Ready and after 10,000 reports, fed in bursts of 250.
pub fn memory(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = quiet_sandbox(runtime);
    let state = tempfile::tempdir().expect("a folder");
    let running = listening(&sandbox, state.path(), "1000");
    std::thread::sleep(Duration::from_millis(300));
    let at_ready = status_kib(running.pid(), "VmRSS:").unwrap_or(0);
    let anon_at_ready = status_kib(running.pid(), "RssAnon:").unwrap_or(0);
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    'bursts: while seen < 10_000 && Instant::now() < deadline {
        for _ in 0..250 {
            sandbox.place_call();
        }
        for _ in 0..250 {
            if running.line(Duration::from_secs(10)).is_none() {
                break 'bursts;
            }
            seen += 1;
        }
    }
    // Settled, as a service is between bursts: idle SQLite connections close after 1 s and
    // freed heap pages are handed back every 2 s. The peak below shows the burst itself.
    std::thread::sleep(Duration::from_millis(2500));
    let after = status_kib(running.pid(), "VmRSS:").unwrap_or(0);
    let peak = status_kib(running.pid(), "VmHWM:").unwrap_or(0);
    let anon = status_kib(running.pid(), "RssAnon:").unwrap_or(0);
    let growth = mb(after) - mb(at_ready);
    Row::new(
        "`listen` RSS after 10,000 reports",
        format!(
            "{:.1} MB 2.5 s after {seen} reports ({growth:+.1} MB; peak {:.1} MB; anonymous {:.1} MB)",
            mb(after),
            mb(peak),
            mb(anon)
        ),
        format!(
            "{:.1} MB at Ready (anonymous {:.1} MB; the rest is the binary's own pages)",
            mb(at_ready),
            mb(anon_at_ready)
        ),
        "under 12 MB and at most 1 MB above Ready",
        Verdict::of(seen == 10_000 && mb(after) < 12.0 && growth <= 1.0),
    )
}

/// The WebSocket dropped 20 times while calls end, some of them while it is down.
pub fn drops(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = quiet_sandbox(runtime);
    let state = tempfile::tempdir().expect("a folder");
    let running = listening(&sandbox, state.path(), "1000");
    let mut placed = HashSet::new();
    let mut reconnects = Vec::new();
    let mut place = |n: usize| {
        for _ in 0..n {
            placed.insert(sandbox.place_call().conversation_space_id);
        }
    };
    for _ in 0..20 {
        place(5);
        std::thread::sleep(Duration::from_millis(50));
        let dropped = Instant::now();
        sandbox.faults().drop_websockets();
        place(5);
        match running.wait_status("Reconnected", Duration::from_secs(10)) {
            Some(at) => reconnects.push(at - dropped),
            None => break,
        }
    }
    place(5);
    let mut printed: HashMap<String, u32> = HashMap::new();
    // Every report has come when the expected count has, and nothing more for a second after.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let wait = if printed.len() >= placed.len() { 1 } else { 10 };
        let Some((_, line)) = running.line(Duration::from_secs(wait)) else {
            break;
        };
        if let Some(id) = conversation_id(&line) {
            *printed.entry(id).or_default() += 1;
        }
    }
    let lost = placed
        .iter()
        .filter(|id| !printed.contains_key(*id))
        .count();
    let twice = printed.values().filter(|n| **n > 1).count();
    reconnects.sort();
    let p50 = quantile_ms(&reconnects, 0.5);
    Row::new(
        "`listen`, WebSocket dropped 20 times while calls end",
        format!(
            "reconnect to Ready p50 {p50:.0} ms (max {:.0} ms, {} reconnects); {lost} lost, {twice} twice of {} calls",
            quantile_ms(&reconnects, 1.0),
            reconnects.len(),
            placed.len()
        ),
        "-".to_string(),
        "reconnect to Ready p50 under 1 s; zero lost, zero twice",
        Verdict::of(reconnects.len() == 20 && p50 < 1000.0 && lost == 0 && twice == 0),
    )
}
