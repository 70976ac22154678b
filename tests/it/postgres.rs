//! A real PostgreSQL 15 server for the store's tests: started from `/usr/lib/postgresql/15/bin`
//! (or the newest version installed there)
//! in a temporary folder on a free port (as the `postgres` user when the tests run as root).
//! One shared server serves the whole test binary (a database per test); a test that stops
//! and restarts the server starts its own. Without PostgreSQL the tests skip, unless
//! `CER_REQUIRE_POSTGRES=1`, which makes a missing server a failure.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// PostgreSQL 15's programs, or the newest installed version's where 15 is missing.
fn bin() -> PathBuf {
    let preferred = PathBuf::from("/usr/lib/postgresql/15/bin");
    if preferred.join("postgres").exists() {
        return preferred;
    }
    let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| dir.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    installed.retain(|b| b.join("postgres").exists());
    installed.sort_by_key(|b| {
        let version = b.parent().and_then(|v| v.file_name());
        version
            .and_then(|v| v.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    installed.pop().unwrap_or(preferred)
}

/// A running (or stopped) server of our own.
pub struct PgServer {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

/// The shared server's base URL, or `None` (skip) when PostgreSQL is not installed.
pub fn shared() -> Option<&'static PgServer> {
    static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
    SERVER.get_or_init(PgServer::start).as_ref()
}

/// A fresh empty database on the shared server, as a `postgres://` URL.
pub fn fresh_database() -> Option<String> {
    shared().map(PgServer::create_database)
}

fn available() -> bool {
    let found = bin().join("postgres").exists();
    if !found && std::env::var("CER_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!(
            "CER_REQUIRE_POSTGRES=1 but no PostgreSQL server is installed in /usr/lib/postgresql"
        );
    }
    if !found {
        eprintln!("PostgreSQL 15 is not installed: skipping the PostgreSQL half of this test");
    }
    found
}

fn as_root() -> bool {
    // SAFETY-free check: `id -u` avoids a libc dependency in the tests.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL tool, run as `postgres` when we are root (PostgreSQL refuses to run as root).
fn tool(name: &str) -> Command {
    let program = bin().join(name);
    if as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl PgServer {
    /// initdb, then start; `None` when PostgreSQL is not installed.
    pub fn start() -> Option<Self> {
        if !available() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("cer-pg-")
            .tempdir()
            .expect("a folder for PostgreSQL");
        if as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of the PostgreSQL folder failed");
        }
        let data = dir.path().join("data");
        let output = tool("initdb")
            .args([
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
            ])
            .args(["--no-sync", "-E", "UTF8", "--locale=C"])
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut server = Self {
            port: super::harness::free_port(),
            dir,
            child: None,
        };
        server.resume();
        Some(server)
    }

    /// Starts the server (again) on its port and waits until it accepts connections.
    /// The server runs under a shell that stops it, and deletes its folder, when the test
    /// process goes away (its stdin closes), so no server outlives the tests.
    pub fn resume(&mut self) {
        let data = self.dir.path().join("data");
        let script = format!(
            "'{}' -D '{}' -p {} -k '{}' -c listen_addresses=127.0.0.1 \
             -c fsync=off -c max_connections=200 >'{}/log' 2>&1 & pid=$!; \
             read line; kill -INT $pid; wait $pid; [ -n \"$line\" ] || rm -rf '{}'",
            bin().join("postgres").display(),
            data.display(),
            self.port,
            self.dir.path().display(),
            self.dir.path().display(),
            self.dir.path().display(),
        );
        let mut command = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let limit = Instant::now() + Duration::from_secs(30);
        while Instant::now() < limit {
            let ready = tool("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        panic!("PostgreSQL did not start within 30 s:\n{log}");
    }

    /// Stops the server (a fast shutdown) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(stdin) = child.stdin.as_mut() {
                let _ = stdin.write_all(b"stop\n");
            }
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }

    /// A new database, named uniquely within this process.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!(
            "cer_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let output = tool("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .output()
            .expect("createdb runs");
        assert!(
            output.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}
