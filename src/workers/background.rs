//! A thread for work nobody waits on (a listener's recordings being downloaded, hashed and
//! written), with a runtime of its own, that asks the OS to run it only when nothing else
//! wants the CPU: on Linux `SCHED_IDLE` and the idle I/O class, as `nice` and `ionice` would,
//! so that the kernel runs a live report's threads the moment they wake, ahead of it. The
//! blocking threads it starts inherit both. A connection its requests open is driven by its
//! runtime from then on, so work sent here uses clients of its own, never the live path's.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{mpsc, oneshot};

/// The name the thread carries (in `top -H`, `/proc/PID/task/*/comm`).
pub const THREAD_NAME: &str = "cer-archive";

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The handle to the background thread: it runs what it is given until the last handle
/// goes.
#[derive(Debug, Clone)]
pub struct Background {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Background {
    /// Starts the thread, which lowers its own priority before it runs anything.
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(THREAD_NAME)
            .build()?;
        let (jobs, mut received) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name(THREAD_NAME.to_string())
            .spawn(move || {
                lower_own_priority();
                runtime.block_on(async move {
                    while let Some(job) = received.recv().await {
                        tokio::spawn(job);
                    }
                });
            })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the thread and hands back what it came to. Dropping the future this
    /// returns drops `work` too, as if it ran here.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Unfinished> {
        let (done, result) = oneshot::channel();
        let job = async move {
            let mut done = done;
            tokio::select! {
                out = work => { let _ = done.send(out); }
                () = done.closed() => {}
            }
        };
        self.jobs
            .send(Box::pin(job))
            .map_err(|_| Unfinished::Gone)?;
        result.await.map_err(|_| {
            // The job went without an answer: with the thread, or alone (it panicked).
            if self.jobs.is_closed() {
                Unfinished::Gone
            } else {
                Unfinished::Panicked
            }
        })
    }

    /// A handle whose thread is gone, as if its runtime had ended.
    #[cfg(test)]
    pub(crate) fn gone() -> Self {
        let (jobs, received) = mpsc::unbounded_channel::<Job>();
        drop(received);
        Self { jobs }
    }

    /// Whether the thread still takes work: it goes only with its runtime, and then work is
    /// better done on the caller's threads than not at all.
    pub fn is_running(&self) -> bool {
        !self.jobs.is_closed()
    }
}

/// Why work sent to the thread came to nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unfinished {
    /// The thread is gone: nothing runs there any more.
    #[error("the archive thread is gone")]
    Gone,
    /// The work ended without an answer: it panicked (the panic is on stderr).
    #[error("the download stopped without an answer (it panicked: see stderr)")]
    Panicked,
}

/// `SCHED_IDLE` for the CPU, the idle class for I/O; a refusal is not worth stopping for:
/// the work then runs as any other thread does.
#[cfg(target_os = "linux")]
fn lower_own_priority() {
    // SAFETY: both calls take plain integers (and a pointer to a parameter struct that lives
    // across the call) and change only the calling thread's scheduling.
    let param = libc::sched_param { sched_priority: 0 };
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) } != 0 {
        let err = std::io::Error::last_os_error();
        tracing::debug!("cannot give the archive thread SCHED_IDLE ({err}); nice 19 instead");
        // SAFETY: as above; 0 is the calling thread.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) } != 0 {
            let err = std::io::Error::last_os_error();
            tracing::debug!("cannot lower the archive thread's priority: {err}");
        }
    }
    // SAFETY: as above; 0 is the calling thread.
    if unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_IDLE) } != 0 {
        let err = std::io::Error::last_os_error();
        tracing::debug!("cannot give the archive thread the idle I/O class: {err}");
    }
}

/// Elsewhere the thread runs at the usual priority: the same layout, no promise.
#[cfg(not(target_os = "linux"))]
fn lower_own_priority() {}

/// `ioprio_set`'s "which": a thread (linux/ioprio.h).
#[cfg(target_os = "linux")]
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// The idle class (3) in the class bits (13 and up), level 0.
#[cfg(target_os = "linux")]
const IOPRIO_IDLE: libc::c_int = 3 << 13;

#[cfg(all(test, target_os = "linux"))]
mod tests;
