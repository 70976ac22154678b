//! Benchmarks of the built `cer` against the in-process simulator: how fast summaries stream
//! and how much memory that takes at two sizes (flat memory shows as equal peaks), how soon
//! `listen` prints a report after its call ends, and how long a start takes; for the store:
//! what storing a report costs, how fast `sync` fills it against the rate limit, and how soon a
//! forwarded report reaches a webhook.
//!
//! Run with `cargo bench --bench cer`; it prints its figures and asserts nothing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cer::sandbox::{Sandbox, SandboxConfig};

const CER: &str = env!("CARGO_BIN_EXE_cer");

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    startup();
    summaries(&runtime);
    listen_latency(&runtime);
    store::store_overhead(&runtime);
    store::sync_throughput(&runtime);
    store::delivery_latency(&runtime);
    store::failover::high_availability(&runtime);
}

#[path = "parts/store.rs"]
mod store;

fn cer(sandbox: &Sandbox, state: &std::path::Path) -> Command {
    let mut command = Command::new(CER);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", state)
        .env("CER_STATE_DIR", state)
        .env("CER_CONFIG_DIR", state)
        .env("CER_KEYRING", "0")
        .env("CER_API_BASE", sandbox.base_url())
        .env("CER_AUTH_BASE", sandbox.base_url())
        .env("ACCOUNT_KEY", sandbox.account_key())
        .env("CER_TOKEN", sandbox.issue_token(None));
    command
}

fn startup() {
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        let status = Command::new(CER)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .expect("cer runs");
        assert!(status.success());
    }
    println!(
        "startup: `cer --version` takes {:.1} ms (mean of {runs})",
        ms(started.elapsed()) / f64::from(runs)
    );
}

/// Each way of printing summaries at 10k and 100k calls (one call a second): the time it
/// takes and its peak RSS. Memory is flat when the two sizes show the same peak.
fn summaries(runtime: &tokio::runtime::Runtime) {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: Some(Duration::from_secs(1)),
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let state = tempfile::tempdir().expect("a folder");
    let from: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().expect("a time");
    let views: [(&str, &[&str], bool); 5] = [
        ("--json (pipe)", &["--json"], false),
        ("TSV (pipe)", &[], false),
        ("glance + table (terminal)", &[], true),
        ("--stats", &["--stats"], false),
        ("--stats --json", &["--stats", "--json"], false),
    ];
    for calls in [10_000, 100_000] {
        let to = from + jiff::SignedDuration::from_secs(calls);
        for (name, flags, terminal) in views {
            let mut command = cer(&sandbox, state.path());
            command.args([
                "--rate",
                "1000",
                "summaries",
                "--page-size",
                "1000",
                "--utc",
            ]);
            command.args(["--from", &from.to_string(), "--to", &to.to_string()]);
            command.args(flags);
            if terminal {
                command.env("CER_FORCE_TTY", "stdout").env("COLUMNS", "120");
            }
            let (lines, elapsed, peak_kib) = run_counting_lines(command);
            println!(
                "summaries {name}: {calls} calls in {:.2} s = {:.0}/s, {lines} lines out, peak RSS {:.1} MiB",
                elapsed.as_secs_f64(),
                calls as f64 / elapsed.as_secs_f64(),
                peak_kib as f64 / 1024.0
            );
        }
    }
}

/// Runs a command, counts its stdout lines, and samples its peak RSS (VmHWM) while it runs.
fn run_counting_lines(mut command: Command) -> (usize, Duration, u64) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cer starts");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let counter = std::thread::spawn(move || BufReader::new(stdout).lines().count());
    let mut peak = 0;
    while child.try_wait().expect("try_wait").is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    }
    let lines = counter.join().expect("counted");
    (lines, started.elapsed(), peak)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn listen_latency(runtime: &tokio::runtime::Runtime) {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let state = tempfile::tempdir().expect("a folder");
    let mut command = cer(&sandbox, state.path());
    command
        .args(["listen", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("cer starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = stderr
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.starts_with("Ready"));
    assert!(ready, "listen did not get ready");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let placed = Instant::now();
        let id = sandbox.place_call().conversation_space_id;
        let line = stdout.next().expect("a report").expect("a line");
        latencies.push(placed.elapsed());
        assert!(line.contains(&id), "reports arrive in order here");
        // Spaced wider than the 10 requests/s limiter, so each call is measured alone.
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    let pick = |q: f64| ms(latencies[((latencies.len() - 1) as f64 * q) as usize]);
    println!(
        "listen: call end to report on stdout: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} calls)",
        pick(0.5),
        pick(0.95),
        pick(1.0),
        latencies.len()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
