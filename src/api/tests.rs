//! A simulated GoTo for the unit tests that drive the API client or the listen engine over
//! real sockets: the simulator on a runtime of its own, and a state folder of the test's.

use std::path::PathBuf;

use cer_sandbox::{Sandbox, SandboxConfig};
use tempfile::TempDir;

/// One test's world.
pub(crate) struct TestEnv {
    pub(crate) sandbox: Sandbox,
    dir: TempDir,
    runtime: tokio::runtime::Runtime,
}

impl TestEnv {
    /// A simulator with no scheduled calls: tests place the calls they count.
    pub(crate) fn new() -> Self {
        Self::with(SandboxConfig {
            call_every: None,
            ..SandboxConfig::default()
        })
    }

    pub(crate) fn with(config: SandboxConfig) -> Self {
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
        Self {
            sandbox,
            dir,
            runtime,
        }
    }

    /// Runs async code (simulator handles, plain HTTP) on the simulator's runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs a task on the simulator's runtime.
    pub(crate) fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(future)
    }

    pub(crate) fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// How many times the simulator was asked for a call's report so far.
    pub(crate) fn report_requests(&self) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/call-events-report/v1/reports/"))
            .count()
    }
}
