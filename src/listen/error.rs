//! Why the listen engine stopped for good: GoTo or the token side failed in a way retrying
//! cannot cure, no start is known, or the store failed when the engine opened it itself.

use crate::api::ApiError;
use crate::store::StoreError;

/// The end of [`Engine::run`](super::Engine::run) when it is not a requested shutdown.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// An API call failed for good (authentication, a rejected request before `Ready`, the
    /// credential store).
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The saved cursor is unreadable and `--since` was not given.
    #[error(transparent)]
    NeedsStart(#[from] NeedsStart),

    /// The store could not be opened or read; the `listen` command loads it before running,
    /// so this is only seen by callers that leave the loading to the engine.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `listen` cannot know where to resume and must be told with `--since`: exit 2, with the
/// hint to give it. Guessing "now" would silently lose the calls that ended while cer was down.
#[derive(Debug, thiserror::Error)]
#[error(
    "the listen cursor could not be read from {}, so where to backfill from is unknown",
    .unreadable.join(", ")
)]
pub struct NeedsStart {
    /// Where the unreadable cursors are (the store, a cursor file), as shown to the person.
    pub unreadable: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_start_names_every_unreadable_cursor() {
        let err = ListenError::from(NeedsStart {
            unreadable: vec!["the store".into(), "/s/cursor.json".into()],
        });
        assert_eq!(
            err.to_string(),
            "the listen cursor could not be read from the store, /s/cursor.json, so where to backfill from is unknown"
        );
    }
}
