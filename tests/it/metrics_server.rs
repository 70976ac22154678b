//! The `--metrics` server against slow and idle clients, over real sockets: a client that never
//! finishes its request head is closed within the header-read timeout, an idle keep-alive one
//! too, no more than the cap stay open (the oldest go first), and `/healthz` keeps answering
//! meanwhile. Also the warning when the server is reachable from other hosts.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::{READY, Running, TestEnv};
use crate::probe::served_address;

/// The server's header-read timeout at `CER_TIME_SCALE=1`.
const HEADER_READ: Duration = Duration::from_secs(5);
/// The connection cap.
const CAP: usize = 64;

/// `cer listen --metrics ADDR` with real-time timers, once it serves.
fn listen_with_metrics(env: &TestEnv, address: &str) -> Running {
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .env("CER_TIME_SCALE", "1")
        .args(["listen", "--json", "--metrics", address]);
    let mut running = Running::start(command);
    running.wait_for_stderr("Serving metrics", READY);
    running
}

/// Whether the server closed `socket` (end of stream or reset), without waiting.
fn closed(socket: &TcpStream) -> bool {
    socket.set_nonblocking(true).unwrap();
    let mut byte = [0; 1024];
    let mut reader = socket;
    match reader.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => closed(socket),
        Err(err) => err.kind() != ErrorKind::WouldBlock,
    }
}

/// A fresh connection's `GET /healthz`, answered within `limit`: the status line.
fn healthz_within(address: &str, limit: Duration) -> String {
    let mut socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(limit)).unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn slow_clients_are_capped_and_timed_out_while_healthz_answers() {
    let env = TestEnv::new();
    let running = listen_with_metrics(&env, "127.0.0.1:0");
    let address = served_address(&running);
    let started = Instant::now();
    let slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut socket = TcpStream::connect(&address).unwrap();
            socket.write_all(b"GET /metrics HTTP/1.1\r\nHo").unwrap();
            socket
        })
        .collect();
    let status = healthz_within(&address, Duration::from_secs(2));
    assert!(status.starts_with("HTTP/1.1 "), "no answer: {status:?}");
    std::thread::sleep(Duration::from_millis(300));
    let shut = slow.iter().filter(|s| closed(s)).count();
    assert!(
        started.elapsed() < HEADER_READ,
        "too slow to tell the cap from the timeout"
    );
    assert!(
        shut >= 100 - CAP,
        "only {shut} of 100 closed beyond the cap"
    );
    // An idle keep-alive connection, after a full answer, is closed on the same timer.
    let mut idle = TcpStream::connect(&address).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut head = [0; 12];
    idle.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"HTTP/1.1 "));
    let deadline = started + HEADER_READ * 2;
    while Instant::now() < deadline && !slow.iter().all(closed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let open = slow.iter().filter(|s| !closed(s)).count();
    assert_eq!(open, 0, "half-request connections outlived the timeout");
    let idle_deadline = Instant::now() + HEADER_READ + Duration::from_secs(2);
    while Instant::now() < idle_deadline && !closed(&idle) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(closed(&idle), "an idle keep-alive connection stayed open");
    assert!(healthz_within(&address, Duration::from_secs(2)).starts_with("HTTP/1.1 "));
    running.stop();
}

#[test]
fn metrics_on_a_non_loopback_address_warn_and_on_loopback_do_not() {
    let env = TestEnv::new();
    let exposed = listen_with_metrics(&env, "0.0.0.0:0");
    let (_, stderr) = exposed.stop();
    let warned: Vec<&String> = stderr
        .iter()
        .filter(|line| line.contains("not a loopback address"))
        .collect();
    assert_eq!(warned.len(), 1, "{stderr:?}");
    assert!(warned[0].contains("127.0.0.1"), "{warned:?}");
    let local = listen_with_metrics(&env, "127.0.0.1:0");
    let (_, stderr) = local.stop();
    assert!(
        !stderr.iter().any(|line| line.contains("loopback")),
        "{stderr:?}"
    );
}

/// Issue 21 point 5, as the review found it: under `ulimit -n 200`, 300 clients that each send
/// half a request line leave the store its descriptors (a call that ends meanwhile is stored
/// and printed) and `/healthz` answering.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn slow_clients_under_a_small_descriptor_limit_leave_the_store_its_descriptors() {
    use std::os::unix::process::CommandExt as _;

    let env = TestEnv::new();
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .env("CER_TIME_SCALE", "1")
        .args(["listen", "--json", "--metrics", "127.0.0.1:0"]);
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 200,
                rlim_max: 200,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let mut running = Running::start(command);
    // Listening first: the calls end while the slow clients hold the descriptors, as in the
    // field; opened during the start, they raced the channel's own connections.
    running.wait_for_stderr("Ready", READY);
    let address = served_address(&running);
    let slow: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut socket = TcpStream::connect(&address).ok()?;
            socket.write_all(b"GET /metr").ok()?;
            Some(socket)
        })
        .collect();
    assert!(slow.len() >= 200, "{} clients connected", slow.len());
    let calls = env.place_calls(2);
    // Generous: it returns as soon as both are printed, and a loaded CI machine (the whole
    // suite at once) once took longer than 20 s.
    let lines = running.stdout_lines(2, Duration::from_secs(60));
    let mut printed: Vec<String> = crate::harness::json_lines(&lines)
        .iter()
        .map(|r| {
            r["conversationSpaceId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    printed.sort();
    let mut calls = calls;
    calls.sort();
    assert_eq!(printed, calls, "{}", running.stderr_seen.join("\n"));
    let status = healthz_within(&address, Duration::from_secs(5));
    assert!(status.contains(" 200 "), "{status}");
    drop(slow);
    running.stop();
}
