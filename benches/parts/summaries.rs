//! `cer summaries` over 10,000 and 100,000 calls: how fast cer's own share of the work goes
//! (its CPU time, since the simulator runs in this process and is not cer's cost), and whether
//! memory stays flat as the range grows; the glance (`--stats`) beside the plain pass.

use std::time::Duration;

use cer_sandbox::{Sandbox, SandboxConfig};

use super::cer;
use super::process::{Finished, run_measured};
use super::table::{Row, Verdict, mb};

/// Runs `summaries` with `flags` over `calls` calls (one a second), to a pipe.
fn pass(sandbox: &Sandbox, calls: i64, flags: &[&str]) -> Finished {
    let state = tempfile::tempdir().expect("a folder");
    let from: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().expect("a time");
    let to = from + jiff::SignedDuration::from_secs(calls);
    let mut command = cer(sandbox, state.path());
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
    let finished = run_measured(command);
    eprintln!(
        "  (summaries {flags:?} over {calls}: {} lines, {:.2} s wall, {:.2} s cer CPU, peak RSS {:.1} MB)",
        finished.lines,
        finished.elapsed.as_secs_f64(),
        finished.cpu.as_secs_f64(),
        mb(finished.peak_kib)
    );
    finished
}

fn per_second(items: i64, time: Duration) -> f64 {
    items as f64 / time.as_secs_f64()
}

/// The `--json` row and the `--stats` row.
pub fn rows(runtime: &tokio::runtime::Runtime) -> Vec<Row> {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: Some(Duration::from_secs(1)),
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let json_10k = pass(&sandbox, 10_000, &["--json"]);
    let json_100k = pass(&sandbox, 100_000, &["--json"]);
    let plain_100k = pass(&sandbox, 100_000, &[]);
    let stats_10k = pass(&sandbox, 10_000, &["--stats"]);
    let stats_100k = pass(&sandbox, 100_000, &["--stats"]);
    let cer_rate = per_second(100_000, json_100k.cpu);
    let worst_rss = mb(json_10k.peak_kib.max(json_100k.peak_kib));
    let json = Row::new(
        "`summaries --json` over 100,000 summaries",
        format!(
            "{cer_rate:.0} items/s of cer CPU; peak RSS {:.1} MB at 10k, {:.1} MB at 100k",
            mb(json_10k.peak_kib),
            mb(json_100k.peak_kib)
        ),
        format!(
            "wall {:.0} items/s with the simulator on the same cores",
            per_second(100_000, json_100k.elapsed)
        ),
        "at least 150,000 items/s; RSS under 15 MB at 10k and 100k",
        Verdict::of(cer_rate >= 150_000.0 && worst_rss < 15.0),
    );
    let ratio = stats_100k.cpu.as_secs_f64() / plain_100k.cpu.as_secs_f64();
    let growth = mb(stats_100k.peak_kib) - mb(stats_10k.peak_kib);
    let stats = Row::new(
        "`summaries --stats` over 100,000 summaries",
        format!(
            "{ratio:.2} x the plain pass (cer CPU {:.2} s); peak RSS {:.1} MB at 10k, {:.1} MB at 100k",
            stats_100k.cpu.as_secs_f64(),
            mb(stats_10k.peak_kib),
            mb(stats_100k.peak_kib)
        ),
        format!(
            "plain `summaries` to a pipe: cer CPU {:.2} s, peak RSS {:.1} MB",
            plain_100k.cpu.as_secs_f64(),
            mb(plain_100k.peak_kib)
        ),
        "under 1.2 x; RSS flat",
        // Flat: 10 times the calls adds less than 1 MB.
        Verdict::of(ratio < 1.2 && growth < 1.0),
    );
    vec![json, stats]
}
