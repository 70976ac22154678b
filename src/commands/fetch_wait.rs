//! The spinner of `fetch --wait`: while a report is not ready yet, a person at a terminal sees
//! which one cer is waiting for and for how long, on stderr only.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::output::Output;
use crate::output::progress::Progress;

/// Shared by the concurrent fetches; cheap to clone.
#[derive(Clone)]
pub struct WaitSpinner {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    output: Output,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The IDs being waited for, each with when the wait began.
    waiting: Vec<(String, Instant)>,
    progress: Option<Progress>,
}

/// Removes its ID from the spinner when the wait ends, however it ends.
pub struct Waiting {
    spinner: WaitSpinner,
    id: String,
}

impl WaitSpinner {
    /// A spinner that shows only with `--wait`, on a terminal, at normal verbosity.
    pub fn new(output: &Output, wait: bool) -> Self {
        let shown = wait && output.stderr_is_terminal() && output.shows_status();
        let inner = shown.then(|| {
            Arc::new(Inner {
                output: output.clone(),
                state: Mutex::new(State::default()),
            })
        });
        if let Some(inner) = &inner {
            tokio::spawn(tick(Arc::downgrade(inner)));
        }
        Self { inner }
    }

    /// Marks `id` as waited for until the returned guard is dropped.
    pub fn waiting_for(&self, id: &str) -> Waiting {
        if let Some(inner) = &self.inner {
            let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.waiting.push((id.to_string(), Instant::now()));
            if state.progress.is_none() {
                state.progress = Some(Progress::start(&inner.output, message(&state.waiting)));
            }
        }
        Waiting {
            spinner: self.clone(),
            id: id.to_string(),
        }
    }

    /// Runs `write` with the spinner line out of the way.
    pub fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        let Some(inner) = &self.inner else {
            return write();
        };
        let state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &state.progress {
            Some(progress) => progress.suspend(write),
            None => write(),
        }
    }

    /// Clears the spinner line for good.
    pub fn finish(&self) {
        if let Some(inner) = &self.inner {
            let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.progress = None;
        }
    }

    fn done(&self, id: &str) {
        let Some(inner) = &self.inner else {
            return;
        };
        let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = state.waiting.iter().position(|(waited, _)| waited == id) {
            state.waiting.remove(at);
        }
        if state.waiting.is_empty() {
            state.progress = None;
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.spinner.done(&self.id);
    }
}

/// Refreshes the seconds on the line until the spinner is gone.
async fn tick(inner: std::sync::Weak<Inner>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    while let Some(inner) = inner.upgrade() {
        {
            let state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(progress) = &state.progress {
                progress.set_message(message(&state.waiting));
            }
        }
        drop(inner);
        every.tick().await;
    }
}

/// "waiting for the report of X: not ready yet, 12 s"
fn message(waiting: &[(String, Instant)]) -> String {
    let Some((first, since)) = waiting.first() else {
        return String::new();
    };
    let seconds = since.elapsed().as_secs();
    match waiting.len() {
        1 => format!("waiting for the report of {first}: not ready yet, {seconds} s"),
        n => format!(
            "waiting for the reports of {first} and {} more: not ready yet, {seconds} s",
            n - 1
        ),
    }
}
