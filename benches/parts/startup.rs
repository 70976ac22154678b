//! What a single short command costs: `cer fetch` beside curl making the same request, `cer
//! --version` beside `true`, and the size of the binary that has to be loaded for either.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cer_sandbox::{Sandbox, SandboxConfig};

use super::process::quantile_ms;
use super::table::{Row, Verdict};
use super::{cer, cer_binary};

const RUNS: usize = 50;

/// `cer fetch ID` and `curl` for the same report, alternating so both see the same machine.
pub fn fetch_vs_curl(runtime: &tokio::runtime::Runtime) -> Row {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    let state = tempfile::tempdir().expect("a folder");
    let id = sandbox.place_call().conversation_space_id;
    let token = sandbox.issue_token(None);
    let url = format!("{}/call-events-report/v1/reports/{id}", sandbox.base_url());
    let fetch = || {
        let mut command = cer(&sandbox, state.path());
        command.env("CER_TOKEN", &token).args(["fetch", &id]);
        timed(command)
    };
    let curl = || {
        let mut command = Command::new("curl");
        command.args(["-sf", "-o", "/dev/null", "-H", "Accept: application/json"]);
        command.args(["-H", &format!("Authorization: Bearer {token}"), &url]);
        timed(command)
    };
    for _ in 0..3 {
        fetch();
        curl();
    }
    let (mut cer_times, mut curl_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        cer_times.push(fetch());
        curl_times.push(curl());
    }
    cer_times.sort();
    curl_times.sort();
    let (cer_ms, curl_ms) = (quantile_ms(&cer_times, 0.5), quantile_ms(&curl_times, 0.5));
    let ratio = cer_ms / curl_ms;
    Row::new(
        "`cer fetch ID` wall time, median of 50",
        format!("{cer_ms:.2} ms = {ratio:.2} x curl"),
        format!("curl {curl_ms:.2} ms"),
        "at most 1.1 x curl",
        Verdict::of(ratio <= 1.1),
    )
}

/// `cer --version` beside `true`: what starting the binary costs before any work.
pub fn version_vs_true() -> Row {
    let cer_version = || {
        let mut command = Command::new(cer_binary());
        command.arg("--version");
        timed(command)
    };
    let true_run = || timed(Command::new("true"));
    let (mut cer_times, mut true_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        cer_times.push(cer_version());
        true_times.push(true_run());
    }
    cer_times.sort();
    true_times.sort();
    let (cer_ms, true_ms) = (quantile_ms(&cer_times, 0.5), quantile_ms(&true_times, 0.5));
    Row::new(
        "`cer --version`, median of 50",
        // Starting any process is part of the 5 ms; the difference is cer's own start.
        format!("{cer_ms:.2} ms ({:.2} ms above `true`)", cer_ms - true_ms),
        format!("`true` {true_ms:.2} ms"),
        "under 5 ms",
        Verdict::of(cer_ms < 5.0),
    )
}

/// Runs a command to its end with no output kept; panics when it fails.
fn timed(mut command: Command) -> Duration {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the command runs");
    let elapsed = started.elapsed();
    assert!(status.success(), "{command:?} failed: {status}");
    elapsed
}

/// The binary this run measured, beside the release and `dist` builds when they exist.
pub fn binary_size() -> Row {
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len() as f64 / 1e6);
    let release = std::path::PathBuf::from(env!("CARGO_BIN_EXE_cer"));
    let dist = release
        .parent()
        .and_then(std::path::Path::parent)
        .map(|target| target.join("dist").join("cer"));
    let release_text = format!("release {:.1} MB", size(&release).unwrap_or(f64::NAN));
    let dist_text = match dist.as_deref().map(size) {
        Some(Ok(mb)) => format!("`dist` profile {mb:.1} MB"),
        _ => "`dist` not built: `cargo build --profile dist` (fat LTO, minutes)".to_string(),
    };
    Row::new(
        "binary size (the one measured)",
        format!("{:.1} MB", size(&cer_binary()).unwrap_or(f64::NAN)),
        format!("{release_text}; {dist_text}"),
        "reported",
        Verdict::Reported,
    )
}
