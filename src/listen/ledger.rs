//! What `listen` has already emitted, per account: a cursor and the recent IDs, saved atomically
//! after every report so that a restart backfills from where it stopped and prints nothing twice.
//!
//! Invariant: every call that ended before `cursor - OVERLAP` has been emitted. IDs are kept
//! only while a backfill could still return them, so memory stays flat however long cer runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::auth::store::write_file_atomically;

/// How far before the cursor a backfill looks again, for calls whose notification came late.
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);
/// Recent IDs are kept this long after the cursor has passed them (overlap plus margin).
const REMEMBER: SignedDuration = SignedDuration::from_mins(15);

/// One account's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    account_key: String,
    cursor: Option<Timestamp>,
    /// conversationSpaceId → callEnded.
    recent: HashMap<String, Timestamp>,
}

/// The record of one account key, and the file it lives in.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    record: Record,
}

impl Ledger {
    /// Loads the account's file; a missing file is a fresh start, a corrupt one is set aside
    /// with a warning rather than stopping cer.
    pub fn load(state_dir: &Path, account_key: &str) -> Self {
        let path = state_dir.join(file_name(account_key));
        let fresh = Record {
            account_key: account_key.to_string(),
            ..Record::default()
        };
        let record = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|err| {
                tracing::warn!(
                    "ignoring the unreadable cursor file {} ({err})",
                    path.display()
                );
                fresh
            }),
            Err(_) => fresh,
        };
        Self { path, record }
    }

    pub fn cursor(&self) -> Option<Timestamp> {
        self.record.cursor
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the record (temporary file, then rename).
    pub fn save(&self) -> Result<(), String> {
        let text = serde_json::to_vec(&self.record).map_err(|e| e.to_string())?;
        write_file_atomically(&self.path, &text).map_err(|e| e.0)
    }

    fn record(&mut self, id: &str, call_ended: Timestamp) {
        self.record.recent.insert(id.to_string(), call_ended);
        self.advance(call_ended);
    }

    /// Moves the cursor forward (never back) and forgets IDs no backfill can return any more.
    fn advance(&mut self, to: Timestamp) {
        let cursor = self.record.cursor.map_or(to, |c| c.max(to));
        self.record.cursor = Some(cursor);
        let keep_after = cursor.saturating_sub(REMEMBER).unwrap_or(Timestamp::MIN);
        self.record.recent.retain(|_, ended| *ended >= keep_after);
    }
}

/// The ledgers of every account key `listen` follows.
#[derive(Debug)]
pub struct Ledgers {
    ledgers: Vec<Ledger>,
}

impl Ledgers {
    pub fn load(state_dir: &Path, account_keys: &[String]) -> Self {
        Self {
            ledgers: account_keys
                .iter()
                .map(|key| Ledger::load(state_dir, key))
                .collect(),
        }
    }

    /// Whether a call was already emitted.
    pub fn seen(&self, id: &str) -> bool {
        self.ledgers
            .iter()
            .any(|l| l.record.recent.contains_key(id))
    }

    /// The earliest cursor of all accounts, if every account has one.
    pub fn cursor(&self) -> Option<Timestamp> {
        self.ledgers.iter().map(Ledger::cursor).min().flatten()
    }

    /// Records an emitted report in its account's ledger and saves that ledger.
    pub fn record(
        &mut self,
        id: &str,
        account_key: Option<&str>,
        call_ended: Timestamp,
    ) -> Result<(), String> {
        let index = self
            .ledgers
            .iter()
            .position(|l| Some(l.record.account_key.as_str()) == account_key)
            .unwrap_or(0);
        let Some(ledger) = self.ledgers.get_mut(index) else {
            return Ok(());
        };
        ledger.record(id, call_ended);
        ledger.save()
    }

    /// After a complete backfill up to `until`: every account has emitted everything before it.
    pub fn advance_all(&mut self, until: Timestamp) -> Result<(), String> {
        for ledger in &mut self.ledgers {
            ledger.advance(until);
            ledger.save()?;
        }
        Ok(())
    }

    /// Gives every account without a cursor one at `at` (a first run), and saves it.
    pub fn start_at(&mut self, at: Timestamp) -> Result<(), String> {
        for ledger in self
            .ledgers
            .iter_mut()
            .filter(|l| l.record.cursor.is_none())
        {
            ledger.record.cursor = Some(at);
            ledger.save()?;
        }
        Ok(())
    }

    /// Saves every ledger (at shutdown).
    pub fn save_all(&self) -> Result<(), String> {
        self.ledgers.iter().try_for_each(Ledger::save)
    }

    pub fn recent_len(&self) -> usize {
        self.ledgers.iter().map(|l| l.record.recent.len()).sum()
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

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let keys = vec!["111".to_string()];
        let mut ledgers = Ledgers::load(dir.path(), &keys);
        assert_eq!(ledgers.cursor(), None);
        ledgers
            .record("a", Some("111"), at("2026-11-24T10:00:00Z"))
            .unwrap();
        let again = Ledgers::load(dir.path(), &keys);
        assert!(again.seen("a"));
        assert_eq!(again.cursor(), Some(at("2026-11-24T10:00:00Z")));
    }

    #[test]
    fn the_cursor_never_goes_back_and_old_ids_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledgers = Ledgers::load(dir.path(), &["1".to_string()]);
        ledgers
            .record("old", Some("1"), at("2026-11-24T10:00:00Z"))
            .unwrap();
        ledgers
            .record("late", Some("1"), at("2026-11-24T09:59:00Z"))
            .unwrap();
        assert_eq!(ledgers.cursor(), Some(at("2026-11-24T10:00:00Z")));
        ledgers
            .record("new", Some("1"), at("2026-11-24T11:00:00Z"))
            .unwrap();
        assert!(!ledgers.seen("old") && !ledgers.seen("late"));
        assert!(ledgers.seen("new"));
        assert_eq!(ledgers.recent_len(), 1);
    }

    #[test]
    fn a_corrupt_file_is_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cursor-1.json"), "{oops").unwrap();
        let ledgers = Ledgers::load(dir.path(), &["1".to_string()]);
        assert_eq!(ledgers.cursor(), None);
    }

    #[test]
    fn account_keys_cannot_escape_the_folder() {
        assert_eq!(file_name("../etc/passwd"), "cursor-___etc_passwd.json");
    }

    #[test]
    fn each_account_has_its_own_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let keys = vec!["1".to_string(), "2".to_string()];
        let mut ledgers = Ledgers::load(dir.path(), &keys);
        ledgers
            .record("a", Some("2"), at("2026-11-24T10:00:00Z"))
            .unwrap();
        assert_eq!(ledgers.cursor(), None, "account 1 has no cursor yet");
        ledgers.advance_all(at("2026-11-24T09:00:00Z")).unwrap();
        assert_eq!(ledgers.cursor(), Some(at("2026-11-24T09:00:00Z")));
    }
}
