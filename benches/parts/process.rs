//! Watching a `cer` process from outside: its CPU time (the cer-side share of work the
//! in-process simulator also does), its peak and current RSS, and its output lines as they come.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What a finished run cost.
pub struct Finished {
    pub lines: usize,
    pub elapsed: Duration,
    /// User plus system CPU time of the cer process alone.
    pub cpu: Duration,
    pub peak_kib: u64,
}

/// Runs a command to its end, counting stdout lines; samples VmHWM while it runs and reads its
/// CPU time once it has exited but before it is reaped (a zombie keeps its times).
pub fn run_measured(mut command: Command) -> Finished {
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
    let mut cpu = Duration::ZERO;
    let deadline = started + Duration::from_secs(120);
    while let Some((state, times)) = stat(pid) {
        cpu = times;
        if state == 'Z' || Instant::now() > deadline {
            break;
        }
        peak = peak.max(status_kib(pid, "VmHWM:").unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    // A process too short for any sample still has its peak: the kernel's, read as it is
    // reaped (else the row read 0 MB for a tiny `cer fetch`). But std spawns with
    // `posix_spawn` (the child shares this process's memory until its exec), and the kernel
    // counts this process's own peak into the child's: a figure no higher than that says
    // nothing of the child (every row read 572.9 MB once the bench itself had grown), so the
    // samples stand alone then, unless there are none.
    match reap(pid) {
        Some((max_kib, times)) => {
            let own_peak = status_kib(std::process::id(), "VmHWM:").unwrap_or(u64::MAX);
            if max_kib < own_peak || peak == 0 {
                peak = peak.max(max_kib);
            }
            cpu = cpu.max(times);
        }
        // Reaped above, the child is not killed: its PID may already be another process's.
        None => {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    let lines = counter.join().expect("counted");
    Finished {
        lines,
        elapsed,
        cpu,
        peak_kib: peak,
    }
}

/// A line of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process state letter and its user plus system CPU time.
fn stat(pid: u32) -> Option<(char, Duration)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((state, Duration::from_secs_f64(ticks as f64 / clock_ticks())))
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A long-running `cer listen`, its stdout and stderr lines stamped on arrival; killed on drop.
pub struct Running {
    child: Child,
    pub stdout: Receiver<(Instant, String)>,
    pub stderr: Receiver<(Instant, String)>,
}

impl Running {
    pub fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cer starts");
        let stdout = stamped(child.stdout.take().expect("stdout"));
        let stderr = stamped(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When a stderr line starting with `prefix` arrived, waiting at most `limit`.
    pub fn wait_status(&self, prefix: &str, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.stderr.recv_timeout(left) {
                Ok((at, line)) if line.starts_with(prefix) => return Some(at),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Waits until `listen` says Ready, or panics with what it said instead.
    pub fn ready(&self) {
        assert!(
            self.wait_status("Ready", Duration::from_secs(15)).is_some(),
            "listen did not get ready"
        );
    }

    /// The next stdout line, waiting at most `limit`.
    pub fn line(&self, limit: Duration) -> Option<(Instant, String)> {
        self.stdout.recv_timeout(limit).ok()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stamped(source: impl Read + Send + 'static) -> Receiver<(Instant, String)> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(source).lines().map_while(Result::ok) {
            if send.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    receive
}

/// The conversationSpaceId of a `--json` report line.
pub fn conversation_id(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value
        .get("conversationSpaceId")?
        .as_str()
        .map(str::to_string)
}

/// The value at quantile `q` of sorted durations, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Reaps an exited child with `wait4`: its own peak RSS in KiB and its user plus system CPU
/// time; `None` when it is not a zombie child of this process (it is then left alone).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn reap(pid: u32) -> Option<(u64, Duration)> {
    if stat(pid).map(|(state, _)| state) != Some('Z') {
        return None;
    }
    let pid = i32::try_from(pid).ok()?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; `pid` is this process's own child,
    // already exited, so the call returns at once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    if reaped != pid {
        return None;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let max_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    Some((max_kib, time(usage.ru_utime) + time(usage.ru_stime)))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn reap(_pid: u32) -> Option<(u64, Duration)> {
    None
}
