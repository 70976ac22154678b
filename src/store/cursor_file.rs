//! Cursor files of earlier versions (`CER_STATE_DIR/cursor-<key>.json`): imported into the store
//! once, for an account the store has no cursor of, then renamed `.imported` (kept for a
//! downgrade). A corrupt file is copied aside and recovered as far as the cursor rules allow.

use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;

use super::cursor_rules::{self, Recovery};
use super::{Store, StoreError};

/// When a call ended (GoTo's clock) and when cer emitted it (the local clock), as a file kept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SeenAt {
    /// GoTo's `callEnded`.
    pub ended: Timestamp,
    /// When cer printed it.
    pub emitted: Timestamp,
}

/// One account's file, as earlier versions wrote it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CursorFile {
    account_key: String,
    cursor: Option<Timestamp>,
    recent: HashMap<String, SeenAt>,
}

/// What importing one account's file came to.
#[derive(Debug, Default)]
pub struct Imported {
    /// The IDs a readable file remembered: conversationSpaceId → when it ended and was emitted.
    pub recent: HashMap<String, SeenAt>,
    /// A corrupt file with no readable cursor (the file, and where its copy is): where `listen`
    /// stopped is unknown, and the file stays for the next run to see.
    pub unrecoverable: Option<String>,
}

impl Store {
    /// Imports `account_key`'s cursor file from `state_dir`, if there is one. A readable file
    /// is taken as it is (its cursor saved, its recent IDs handed back) and renamed
    /// `.imported`. A corrupt one is copied aside with a warning; the cursor that survived in
    /// it, if any, is saved, else the account is unrecoverable.
    pub async fn import_cursor_file(
        &self,
        state_dir: &Path,
        account_key: &str,
        now: Timestamp,
    ) -> Result<Imported, StoreError> {
        let mut imported = Imported::default();
        let path = state_dir.join(file_name(account_key));
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(imported);
        };
        let text = String::from_utf8_lossy(&bytes);
        let (cursor, unrecoverable) = match serde_json::from_str::<CursorFile>(&text) {
            Ok(old) if old.account_key == account_key => {
                imported.recent = old.recent;
                (old.cursor, None)
            }
            Ok(_) => recover_from_corrupt(&path, &text, "another account's record", now),
            Err(err) => recover_from_corrupt(&path, &text, &err.to_string(), now),
        };
        if let Some(at) = cursor {
            // A cursor in the future is pulled back when the store's cursors are read.
            self.save_cursors(&[account_key], at, now).await?;
        }
        if unrecoverable.is_none() {
            forget_cursor_file(state_dir, account_key);
        }
        imported.unrecoverable = unrecoverable;
        Ok(imported)
    }
}

/// Keeps a copy of the bad file, warns, and returns whatever cursor survived in it, or why
/// none did.
fn recover_from_corrupt(
    path: &Path,
    text: &str,
    why: &str,
    now: Timestamp,
) -> (Option<Timestamp>, Option<String>) {
    let copy = cursor_rules::set_aside_path(path, now);
    let kept = match std::fs::copy(path, &copy) {
        Ok(_) => format!("kept as {}", copy.display()),
        Err(err) => format!("could not keep a copy: {err}"),
    };
    let file = path.display();
    match cursor_rules::recover(text) {
        Recovery::Salvaged(cursor) => {
            tracing::warn!(
                "the cursor file {file} is corrupt ({why}; {kept}); backfilling from its last readable \
                    cursor, {cursor}"
            );
            (Some(cursor), None)
        }
        Recovery::NeedsSince => {
            tracing::warn!("the cursor file {file} is corrupt ({why}; {kept})");
            (None, Some(format!("{file} ({kept})")))
        }
    }
}

/// Renames an imported file so it is imported once only (and kept, for a downgrade). No file
/// is the usual case (renamed by an earlier run, or never there): nothing to say then.
pub fn forget_cursor_file(state_dir: &Path, account_key: &str) {
    let path = state_dir.join(file_name(account_key));
    let mut done = path.clone().into_os_string();
    done.push(".imported");
    match std::fs::rename(&path, &done) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!("cannot rename the imported {}: {err}", path.display());
        }
        _ => {}
    }
}

/// `cursor-<key>.json`, with anything unusual in the key replaced, so a key cannot name a path.
fn file_name(account_key: &str) -> String {
    let safe: String = account_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("cursor-{safe}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_cannot_escape_the_folder() {
        assert_eq!(file_name("../etc/passwd"), "cursor-___etc_passwd.json");
    }
}
