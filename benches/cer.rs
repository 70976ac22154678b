//! Benchmarks of the built `cer` against the in-process simulator on loopback: every figure of
//! issue 14's table beside its target and a reference measured in the same run (curl, `true`,
//! the ideal drain N / rate, RSS at Ready, the plain pass), ending with the table in Markdown
//! and the machine it ran on. Timing figures are ratios or percentiles of one run.
//!
//! Run with `cargo bench --bench cer` (about three minutes on 2 cores); progress and details go
//! to stderr, the table to stdout. It asserts nothing: a missed target says **missed**.

use std::time::Duration;

use cer::sandbox::Sandbox;

const CER: &str = env!("CARGO_BIN_EXE_cer");

#[path = "parts/listen.rs"]
mod listen;
#[path = "parts/process.rs"]
mod process;
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
    let mut rows = vec![startup::fetch_vs_curl(&runtime), startup::version_vs_true()];
    rows.extend(summaries::rows(&runtime));
    rows.push(listen::latency(&runtime));
    rows.push(listen::drain(&runtime));
    rows.push(listen::memory(&runtime));
    rows.push(listen::drops(&runtime));
    rows.push(store::sync_throughput(&runtime));
    rows.push(store::delivery_latency(&runtime));
    rows.push(failover_pending());
    rows.push(startup::binary_size());
    store::store_overhead(&runtime);
    table::print(&table::machine(), &rows);
}

/// Issue 13's failover figure is measured by `benches/parts/failover.rs`; until that part
/// returns a [`table::Row`], this row says where to look instead of inventing a number.
fn failover_pending() -> table::Row {
    table::Row::new(
        "failover: two listeners on one PostgreSQL store, one SIGKILLed, calls every second",
        "see `benches/parts/failover.rs` (issue 13)".to_string(),
        "-".to_string(),
        "first report from the survivor under 10 s after the kill",
        table::Verdict::Reported,
    )
}

/// A `cer` pointed at `sandbox`, with its state (and default SQLite store) in `state`.
fn cer(sandbox: &Sandbox, state: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(CER);
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
