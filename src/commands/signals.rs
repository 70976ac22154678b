//! Ctrl-C and SIGTERM, registered before a command says it is ready, so that a signal sent
//! right after `Ready` (or the sandbox's exports) gets a clean shutdown, not the default death.

use anyhow::Context as _;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The two signals that ask cer to stop.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    pub fn register() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?,
        })
    }

    /// Waits for Ctrl-C or SIGTERM.
    pub async fn either(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    /// Waits for the next Ctrl-C.
    pub async fn interrupt(&mut self) {
        self.interrupt.recv().await;
    }
}
