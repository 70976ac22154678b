//! The result of the store's last write, for `/healthz`: a store can answer reads and pings
//! while it refuses every write (a read-only file, a read-only PostgreSQL database), and then
//! nothing `listen` promises is kept, so health must see the writes themselves.

use std::sync::{Mutex, PoisonError};

use super::StoreError;

/// Why the last write failed, or `None` once one worked (or before any). Shared by a store's
/// clones.
#[derive(Debug, Default)]
pub(super) struct LastWrite(Mutex<Option<String>>);

impl LastWrite {
    /// Records a write's outcome.
    pub(super) fn note<T>(&self, result: &Result<T, StoreError>) {
        let failure = result.as_ref().err().map(ToString::to_string);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    /// Why the last write failed, if it did.
    pub(super) fn failure(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
