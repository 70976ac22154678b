//! Benchmarks of the built `cer` against the in-process simulator on loopback: every figure of
//! issue 14's table beside its target and a reference measured in the same run (curl, `true`,
//! the ideal drain N / rate, RSS at Ready, the plain pass), ending with the table in Markdown
//! and the machine it ran on. Timing figures are ratios or percentiles of one run.
//!
//! Run with `cargo bench --bench cer` (about three minutes on 2 cores); progress and details go
//! to stderr, the table to stdout. It asserts nothing: a missed target says **missed**.
//! `CER_BENCH_ONLY=drain,memory` runs only the parts named (see `main` for the names; a family
//! such as `archive` names `archive-folder`, `archive-s3` and `archive-live`);
//! `CER_BENCH_BIN=target/dist/cer` measures another build of cer.

use std::time::Duration;

use cer_sandbox::Sandbox;

/// The binary measured: the release build cargo made for this run, or `CER_BENCH_BIN` (for
/// example `target/dist/cer`, to see what the `dist` profile changes).
fn cer_binary() -> std::path::PathBuf {
    std::env::var_os("CER_BENCH_BIN").map_or_else(
        || env!("CARGO_BIN_EXE_cer").into(),
        std::path::PathBuf::from,
    )
}

#[path = "parts/archive.rs"]
mod archive;
#[path = "parts/big_refetch.rs"]
mod big_refetch;
#[path = "parts/big_report.rs"]
mod big_report;
#[path = "parts/listen.rs"]
mod listen;
#[path = "parts/process.rs"]
mod process;
#[path = "parts/refetch.rs"]
mod refetch;
#[path = "parts/startup.rs"]
mod startup;
#[path = "parts/store.rs"]
mod store;
#[path = "parts/summaries.rs"]
mod summaries;
#[path = "parts/table.rs"]
mod table;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let parts: Vec<(&str, Part)> = vec![
        ("fetch", Box::new(|rt| vec![startup::fetch_vs_curl(rt)])),
        (
            "big-report",
            Box::new(|rt| vec![big_report::fetch_peak(), big_refetch::listen_peak(rt)]),
        ),
        ("archive-folder", Box::new(archive::to_folder)),
        ("archive-s3", Box::new(|rt| vec![archive::to_s3(rt)])),
        (
            "archive-live",
            Box::new(|rt| vec![archive::listen_latency(rt)]),
        ),
        ("version", Box::new(|_| vec![startup::version_vs_true()])),
        ("summaries", Box::new(summaries::rows)),
        ("latency", Box::new(|rt| vec![listen::latency(rt)])),
        ("drain", Box::new(|rt| vec![listen::drain(rt)])),
        ("memory", Box::new(|rt| vec![listen::memory(rt)])),
        ("drops", Box::new(|rt| vec![listen::drops(rt)])),
        ("sync", Box::new(|rt| vec![store::sync_throughput(rt)])),
        ("delivery", Box::new(|rt| vec![store::delivery_latency(rt)])),
        (
            "failover",
            Box::new(|rt| vec![store::failover::high_availability(rt)]),
        ),
        (
            "refetch",
            Box::new(|rt| {
                let (behind, gets_per_point) = refetch::live_behind(rt);
                let mut rows = vec![refetch::cost(rt, gets_per_point)];
                rows.extend(behind);
                rows
            }),
        ),
        ("size", Box::new(|_| vec![startup::binary_size()])),
        (
            "store",
            Box::new(|rt| {
                store::store_overhead(rt);
                Vec::new()
            }),
        ),
    ];
    // `CER_BENCH_ONLY=memory,drain` runs some parts only, to look at one figure again.
    let only = std::env::var("CER_BENCH_ONLY").unwrap_or_default();
    // A part's family names it too: `archive` runs `archive-folder`, `archive-s3` and `archive-live`.
    let wanted = |name: &str| {
        only.is_empty()
            || only.split(',').map(str::trim).any(|n| {
                n == name
                    || name
                        .strip_prefix(n)
                        .is_some_and(|rest| rest.starts_with('-'))
            })
    };
    let mut rows = Vec::new();
    for (name, part) in parts {
        if wanted(name) {
            rows.extend(part(&runtime));
        }
    }
    table::print(&table::machine(&cer_binary()), &rows);
}

/// One part of the run: it measures and returns its rows.
type Part = Box<dyn Fn(&tokio::runtime::Runtime) -> Vec<table::Row>>;

/// A `cer` pointed at `sandbox`, with its state (and default SQLite store) in `state`.
fn cer(sandbox: &Sandbox, state: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(cer_binary());
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
