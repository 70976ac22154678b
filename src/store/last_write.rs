//! The result of the store's last write, for `/healthz`: a store can answer reads and pings
//! while it refuses every write (a read-only file, a read-only PostgreSQL database), and then
//! nothing `listen` promises is kept, so health must see the writes themselves. While the last
//! one failed, each health check writes once more, so health recovers when the store does,
//! whether or not a call comes to be stored.

use std::sync::{Mutex, PoisonError};

use super::{InStore, Store, StoreError};

/// A real write that changes nothing: one cursor row rewritten as it is (none before the
/// first cursor, which still needs a writable store).
const REWRITE: &str = "UPDATE cer_cursors SET updated_ms = updated_ms \
                       WHERE account_key = (SELECT MIN(account_key) FROM cer_cursors)";

impl Store {
    /// `None` while writes work; else why the last one failed, after trying once more.
    pub async fn write_failure(&self) -> Option<String> {
        self.last_write.failure()?;
        let written = async {
            let mut connection = self.pool.acquire().await.in_store(self)?;
            let done = sqlx::query(REWRITE).execute(&mut *connection).await;
            if done.is_err() {
                // Like a failed report: the next attempt gets a fresh connection.
                let _ = connection.close().await;
            }
            done.in_store(self)
        }
        .await;
        self.last_write.note(&written);
        self.last_write
            .failure()
            .map(|why| format!("the last write failed: {why}"))
    }
}

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
