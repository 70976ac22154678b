//! The test bench: a simulator started in-process for each test, a private HOME, config and
//! state folder, and a `cer` command pointed at both.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cer_sandbox::{Sandbox, SandboxConfig};
use tempfile::TempDir;

/// One test's world.
pub struct TestEnv {
    pub sandbox: Sandbox,
    pub dir: TempDir,
    runtime: tokio::runtime::Runtime,
}

/// Every variable `cer` reads (itself, or through a library: proxies, systemd's notify socket,
/// the keyring's bus), removed before each run so a developer's own settings never reach a
/// test; each test then sets what it means. `cli::every_variable_the_settings_read_is_scrubbed`
/// fails when `src/settings` reads one that is missing here.
pub const SCRUBBED: &[&str] = &[
    // GoTo and the account.
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "OAUTH_REDIRECT_URI",
    "ACCOUNT_KEY",
    "CER_API_BASE",
    "CER_AUTH_BASE",
    "CER_TOKEN",
    "CER_KEYRING",
    "DBUS_SESSION_BUS_ADDRESS",
    // Where cer keeps things.
    "CER_CONFIG_DIR",
    "CER_STATE_DIR",
    "CER_STORE",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "TMPDIR",
    "TZ",
    // How it behaves.
    "CER_RATE",
    "CER_REFETCH",
    "CER_FORWARD_SECRET",
    // The archive and an S3 archive's credentials.
    "CER_ARCHIVE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "CER_RETRY_BASE_MS",
    "CER_TIME_SCALE",
    "LOG_LEVEL",
    "LOG_FORMAT",
    // What a person sees.
    "CER_FORCE_TTY",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "TERM",
    "COLUMNS",
    "BROWSER",
    // The network.
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    // systemd.
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
];

/// How long `listen` may take to say `Ready` in a test.
pub const READY: Duration = Duration::from_secs(15);

impl TestEnv {
    /// A simulator with no scheduled calls: tests place the calls they count.
    pub fn new() -> Self {
        Self::with(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        })
    }

    pub fn with(config: SandboxConfig) -> Self {
        // cer's one rustls provider, as cer installs it: the tests' own HTTP clients need it too.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the simulator");
        let sandbox = runtime
            .block_on(Sandbox::start(config))
            .expect("the simulator starts");
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("work")).expect("a working folder");
        Self {
            sandbox,
            dir,
            runtime,
        }
    }

    /// Runs async code (simulator handles, plain HTTP) on the simulator's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs a task on the simulator's runtime.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(future)
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// `cer` configured for the simulator, not logged in.
    pub fn cer(&self) -> Command {
        Command::from_std(self.cer_process())
    }

    /// The same as a plain `std::process::Command`, for long-running processes.
    pub fn cer_process(&self) -> StdCommand {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin!("cer"));
        self.configure(&mut command);
        command
    }

    fn configure(&self, command: &mut StdCommand) {
        for name in SCRUBBED {
            command.env_remove(name);
        }
        command.current_dir(self.work_dir());
        for (name, value) in self.variables() {
            command.env(name, value);
        }
    }

    /// The variables every run of `cer` in a test sees, and nothing of the developer's.
    fn variables(&self) -> Vec<(&'static str, String)> {
        let base = self.sandbox.base_url();
        let path = |p: PathBuf| p.display().to_string();
        vec![
            ("HOME", path(self.dir.path().to_path_buf())),
            ("CER_CONFIG_DIR", path(self.config_dir())),
            ("CER_STATE_DIR", path(self.state_dir())),
            ("CER_KEYRING", "0".into()),
            ("CER_API_BASE", base.clone()),
            ("CER_AUTH_BASE", base),
            ("OAUTH_CLIENT_ID", self.sandbox.client_id().to_string()),
            (
                "OAUTH_CLIENT_SECRET",
                self.sandbox.client_secret().to_string(),
            ),
            ("ACCOUNT_KEY", self.sandbox.account_key().to_string()),
            ("CER_RETRY_BASE_MS", "5".into()),
            ("CER_TIME_SCALE", "0.05".into()),
            ("TZ", "UTC".into()),
            // A usual terminal type, not the developer's: `TERM=dumb` turns colour off, and the
            // spinner's terminal library wants one under a pseudo-terminal.
            ("TERM", "xterm".into()),
        ]
    }

    /// Runs `cer ARGS` inside this test's process, configured as [`TestEnv::cer`] is plus
    /// `extra` variables, and returns what it printed: for tests of what a command prints,
    /// where exit codes, signals, terminals and pipes of a real process are not the point.
    pub fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> cer::Captured {
        let mut variables = self.variables();
        for (name, value) in extra {
            variables.retain(|(given, _)| given != name);
            variables.push((name, (*value).to_string()));
        }
        let pairs: Vec<(&str, &str)> = variables.iter().map(|(k, v)| (*k, v.as_str())).collect();
        cer::run_captured(args, &pairs)
    }

    /// [`TestEnv::run`] with `CER_TOKEN` set to a fresh simulator token, and `extra`.
    pub fn run_with_token(&self, args: &[&str], extra: &[(&str, &str)]) -> cer::Captured {
        let token = self.sandbox.issue_token(None);
        let mut variables = vec![("CER_TOKEN", token.as_str())];
        variables.extend_from_slice(extra);
        self.run(args, &variables)
    }

    /// `cer` with `CER_TOKEN` set to a fresh simulator token.
    pub fn cer_with_token(&self) -> Command {
        let mut command = self.cer();
        command.env("CER_TOKEN", self.sandbox.issue_token(None));
        command
    }

    /// Places `n` calls in the simulator at once; their conversationSpaceIds.
    pub fn place_calls(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| self.sandbox.place_call().conversation_space_id)
            .collect()
    }

    /// How many times the simulator was asked for a call's report so far.
    pub fn report_requests(&self) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/call-events-report/v1/reports/"))
            .count()
    }

    /// `cer listen ARGS` with a simulator token, once it has said `Ready`.
    pub fn listen(&self, args: &[&str]) -> Running {
        self.listen_with(args, |_| {})
    }

    /// Like [`TestEnv::listen`], with the command adjusted first (an extra variable, say).
    pub fn listen_with(&self, args: &[&str], adjust: impl FnOnce(&mut StdCommand)) -> Running {
        let mut command = self.cer_process();
        command
            .env("CER_TOKEN", self.sandbox.issue_token(None))
            .arg("listen")
            .args(args);
        adjust(&mut command);
        let mut running = Running::start(command);
        running.wait_for_stderr("Ready", READY);
        running
    }

    /// Logs in to the simulator through the real redirect listener, with a `$BROWSER` that
    /// follows the authorize URL; in-process, since only the stored tokens are the point.
    pub fn login(&self) {
        let redirect = format!("http://127.0.0.1:{}/app/redirect", free_port());
        let browser = browser_script(self.dir.path()).display().to_string();
        let args = ["login", "--timeout", "20", "--redirect-uri", &redirect];
        let run = self.run(&args, &[("BROWSER", &browser)]);
        assert_eq!(run.code, 0, "{run:?}");
    }
}

/// Every subcommand of `cer`, read from its clap definition, so a new command is covered by
/// the help tests without anyone remembering to list it.
pub fn subcommands() -> Vec<String> {
    cer::cli::command()
        .get_subcommands()
        .filter(|command| !command.is_hide_set())
        .map(|command| command.get_name().to_string())
        .collect()
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `$BROWSER` that fetches the URL and follows redirects, like a browser would.
pub fn browser_script(dir: &Path) -> PathBuf {
    write_script(
        dir,
        "browser.sh",
        // Only PATH and no ~/.curlrc: cer may run in-process, and the test's own environment
        // (a developer's proxies) must not reach the simulator's redirects.
        "#!/bin/sh\nexec env -i PATH=\"$PATH\" curl -q -s -L -o /dev/null \"$1\"\n",
    )
}

pub fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A running `cer` whose stdout and stderr lines arrive on channels as they are written.
pub struct Running {
    pub child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    pub stderr_seen: Vec<String>,
}

impl Running {
    pub fn start(mut command: StdCommand) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cer starts");
        let stdout = lines_of(child.stdout.take().expect("stdout"));
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        Self {
            child,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`; panics with everything seen after `limit`.
    pub fn wait_for_stderr(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(50)) {
                let found = line.contains(needle);
                self.stderr_seen.push(line);
                if found {
                    return;
                }
            }
        }
        panic!(
            "no {needle:?} on stderr within {limit:?}; saw:\n{}",
            self.stderr_seen.join("\n")
        );
    }

    /// Collects stdout lines until `count` arrived or `limit` passed.
    pub fn stdout_lines(&mut self, count: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        while lines.len() < count && Instant::now() < deadline {
            if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(20)) {
                lines.push(line);
            }
            self.drain_stderr();
        }
        lines
    }

    /// Collects stdout lines until `done` says they are enough, or `limit` passed.
    pub fn stdout_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        while !done(&lines) && Instant::now() < deadline {
            if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(20)) {
                lines.push(line);
            }
            self.drain_stderr();
        }
        lines
    }

    /// Stdout lines that arrive within `quiet` (to check nothing more comes).
    pub fn more_stdout(&mut self, quiet: Duration) -> Vec<String> {
        let deadline = Instant::now() + quiet;
        let mut lines = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(20)) {
                lines.push(line);
            }
        }
        lines
    }

    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
    }

    pub fn signal(&self, name: &str) {
        let status = StdCommand::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGTERM, then the clean exit (0) the contract promises; returns the rest of stdout and
    /// all of stderr.
    pub fn stop(self) -> (Vec<String>, Vec<String>) {
        self.signal("TERM");
        let (code, rest, stderr) = self.wait(Duration::from_secs(10));
        assert_eq!(code, Some(0), "stderr:\n{}", stderr.join("\n"));
        (rest, stderr)
    }

    /// Waits for the process to exit; returns its exit code and the rest of stdout.
    pub fn wait(mut self, limit: Duration) -> (Option<i32>, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let rest: Vec<String> = self.stdout.iter().collect();
                self.stderr_seen.extend(self.stderr.iter());
                return (status.code(), rest, std::mem::take(&mut self.stderr_seen));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "cer did not exit within {limit:?}; stderr:\n{}",
                    self.stderr_seen.join("\n")
                );
            }
            self.drain_stderr();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Parses NDJSON lines into values, failing on any line that is not JSON.
pub fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
