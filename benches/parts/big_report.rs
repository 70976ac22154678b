//! What one big report costs `cer fetch` (SPEC section 5: at most about three times its size):
//! a 30 MB report that is nearly all one array of zeros, the shape that cost 1.58 GB when every
//! report was parsed whole into a tree of values (issue 26, finding 4), served from a local
//! socket a piece at a time, beside the same command fetching a tiny report.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

use super::cer_binary;
use super::process::run_measured;
use super::table::{Row, Verdict};

const HEAD: &str = concat!(
    r#"{"conversationSpaceId":"b6ad7073-be3a-31d5-a956-777109126542","#,
    r#""callEnded":"2026-11-25T10:00:00Z","z":["#
);
const TAIL: &str = "0]}";
const ID: &str = "b6ad7073-be3a-31d5-a956-777109126542";

fn report_size(zeros: usize) -> usize {
    HEAD.len() + 2 * zeros + TAIL.len()
}

/// Answers every request with the report of `zeros` zeros; its address.
fn serve(zeros: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        let piece = "0,".repeat(32 * 1024);
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                request.push(byte[0]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{HEAD}",
                report_size(zeros)
            );
            let _ = stream.write_all(head.as_bytes());
            let mut left = zeros;
            while left > 0 {
                let n = left.min(piece.len() / 2);
                if stream.write_all(&piece.as_bytes()[..2 * n]).is_err() {
                    break;
                }
                left -= n;
            }
            let _ = stream.write_all(TAIL.as_bytes());
        }
    });
    address
}

/// Peak RSS in KiB of `cer fetch ID --compact` of a report of `zeros` zeros.
fn fetch_peak_kib(zeros: usize) -> u64 {
    let base = serve(zeros);
    let state = tempfile::tempdir().expect("a folder");
    let mut command = Command::new(cer_binary());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", state.path())
        .env("CER_STATE_DIR", state.path())
        .env("CER_CONFIG_DIR", state.path())
        .env("CER_KEYRING", "0")
        .env("CER_API_BASE", &base)
        .env("CER_AUTH_BASE", &base)
        .env("CER_TOKEN", "bench-token")
        .args(["fetch", ID, "--compact"]);
    let finished = run_measured(command);
    assert_eq!(finished.lines, 1, "cer fetch printed the report");
    finished.peak_kib
}

/// Peak RSS of `cer fetch` of a 30 MB report, over the same command's for a tiny one.
pub fn fetch_peak() -> Row {
    let zeros = 15_000_000;
    let size_mb = report_size(zeros) as f64 / 1e6;
    let baseline = fetch_peak_kib(10) as f64 * 1024.0 / 1e6;
    let peak = fetch_peak_kib(zeros) as f64 * 1024.0 / 1e6;
    let ratio = (peak - baseline) / size_mb;
    eprintln!("big report: peak {peak:.1} MB, baseline {baseline:.1} MB, body {size_mb:.1} MB");
    Row::new(
        "peak RSS of `cer fetch` of a 30 MB report, over a tiny one's",
        format!("{peak:.1} MB = baseline + {ratio:.2} x the body"),
        format!("body {size_mb:.1} MB; tiny report {baseline:.1} MB"),
        "under 3 x the body over the baseline",
        Verdict::of(ratio < 3.0),
    )
}
