//! What `listen` has already emitted, per account: a cursor and the recent IDs, saved atomically
//! after every report so that a restart backfills from where it stopped and prints nothing twice.
//!
//! Invariant: every call that ended before `cursor - OVERLAP` has been emitted. Only the engine
//! moves the cursor, and only when that stays true (see `pump`). An ID is remembered while a
//! backfill could still return it (it ended near the cursor) or while a repeated notification is
//! plausible (it was emitted recently), so memory stays flat however long cer runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::cursor_rules;
use crate::auth::store::write_file_atomically;

/// How far before the cursor a backfill looks again, for calls whose notification came late.
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);
/// How long an ID is remembered, past the cursor or past its emission (overlap plus margin).
const REMEMBER: SignedDuration = SignedDuration::from_mins(15);

/// When a call ended (GoTo's clock) and when cer emitted it (the local clock).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Seen {
    ended: Timestamp,
    emitted: Timestamp,
}

/// One account's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    account_key: String,
    cursor: Option<Timestamp>,
    /// conversationSpaceId → when it ended and when it was emitted.
    recent: HashMap<String, Seen>,
}

/// The record of one account key, and the file it lives in.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    record: Record,
    /// A corrupt file with no readable cursor: where `listen` stopped is unknown.
    unrecoverable: Option<String>,
}

impl Ledger {
    /// Loads the account's file as of `now`; a missing file is a fresh start. A cursor in the
    /// future is clamped, and a corrupt file is copied aside with a warning and recovered as
    /// far as the cursor rules allow (see [`cursor_rules`]).
    pub fn load(state_dir: &Path, account_key: &str, now: Timestamp) -> Self {
        let path = state_dir.join(file_name(account_key));
        let mut ledger = Self {
            record: Record {
                account_key: account_key.to_string(),
                ..Record::default()
            },
            unrecoverable: None,
            path,
        };
        let Ok(bytes) = std::fs::read(&ledger.path) else {
            return ledger;
        };
        let text = String::from_utf8_lossy(&bytes);
        match serde_json::from_str::<Record>(&text) {
            Ok(record) => ledger.record = record,
            Err(err) => ledger.recover_from_corrupt(&text, &err.to_string(), now),
        }
        if let Some(cursor) = ledger.record.cursor
            && let Some((clamped, warning)) = cursor_rules::clamp_future(cursor, now)
        {
            tracing::warn!("{warning} ({})", ledger.path.display());
            ledger.record.cursor = Some(clamped);
        }
        ledger
    }

    /// Keeps a copy of the bad file, warns, and takes whatever cursor survived.
    fn recover_from_corrupt(&mut self, text: &str, why: &str, now: Timestamp) {
        let copy = cursor_rules::set_aside_path(&self.path, now);
        let kept = match std::fs::copy(&self.path, &copy) {
            Ok(_) => format!("kept as {}", copy.display()),
            Err(err) => format!("could not keep a copy: {err}"),
        };
        let file = self.path.display();
        match cursor_rules::recover(text) {
            cursor_rules::Recovery::Salvaged(cursor) => {
                tracing::warn!(
                    "the cursor file {file} is corrupt ({why}; {kept}); backfilling from its last readable cursor, {cursor}"
                );
                self.record.cursor = Some(cursor);
            }
            cursor_rules::Recovery::NeedsSince => {
                tracing::warn!("the cursor file {file} is corrupt ({why}; {kept})");
                self.unrecoverable = Some(format!("{file} ({kept})"));
            }
        }
    }

    pub fn cursor(&self) -> Option<Timestamp> {
        self.record.cursor
    }

    /// Writes the record (temporary file, then rename).
    pub fn save(&self) -> Result<(), String> {
        let text = serde_json::to_vec(&self.record).map_err(|e| e.to_string())?;
        write_file_atomically(&self.path, &text).map_err(|e| e.0)
    }

    /// Moves the cursor forward (never back, never past `now`) and forgets what is too old.
    fn advance(&mut self, to: Timestamp, now: Timestamp) {
        let to = to.min(now);
        self.record.cursor = Some(self.record.cursor.map_or(to, |c| c.max(to)));
        self.forget_old(now);
    }

    fn forget_old(&mut self, now: Timestamp) {
        let cursor = self.record.cursor.unwrap_or(now);
        let ended_after = cursor.saturating_sub(REMEMBER).unwrap_or(Timestamp::MIN);
        let emitted_after = now.saturating_sub(REMEMBER).unwrap_or(Timestamp::MIN);
        self.record
            .recent
            .retain(|_, seen| seen.ended >= ended_after || seen.emitted >= emitted_after);
    }
}

/// The ledgers of every account key `listen` follows.
#[derive(Debug)]
pub struct Ledgers {
    ledgers: Vec<Ledger>,
}

impl Ledgers {
    /// Loads every account's ledger as of the system clock.
    pub fn load(state_dir: &Path, account_keys: &[String]) -> Self {
        Self::load_at(state_dir, account_keys, Timestamp::now())
    }

    /// Loads every account's ledger as of `now` (cursors later than it are clamped).
    pub fn load_at(state_dir: &Path, account_keys: &[String], now: Timestamp) -> Self {
        Self {
            ledgers: account_keys
                .iter()
                .map(|key| Ledger::load(state_dir, key, now))
                .collect(),
        }
    }

    /// The corrupt files whose cursor could not be recovered, still without a new cursor:
    /// resuming from them would silently skip calls, so `listen` needs `--since`.
    pub fn unrecoverable(&self) -> Vec<&str> {
        self.ledgers
            .iter()
            .filter(|l| l.record.cursor.is_none())
            .filter_map(|l| l.unrecoverable.as_deref())
            .collect()
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

    /// Records an emitted report; with `advance`, its account's cursor moves to its end.
    /// A report of no account `listen` follows is remembered (for dedupe) but moves nothing.
    pub fn record(
        &mut self,
        id: &str,
        account_key: Option<&str>,
        ended: Timestamp,
        now: Timestamp,
        advance: bool,
    ) -> Result<(), String> {
        let owner = self
            .ledgers
            .iter()
            .position(|l| Some(l.record.account_key.as_str()) == account_key);
        let Some(ledger) = self.ledgers.get_mut(owner.unwrap_or(0)) else {
            return Ok(());
        };
        let seen = Seen {
            ended,
            emitted: now,
        };
        ledger.record.recent.insert(id.to_string(), seen);
        if advance && owner.is_some() {
            ledger.advance(ended, now);
        } else {
            ledger.forget_old(now);
        }
        ledger.save()
    }

    /// After a complete backfill up to `until`: every account has emitted everything before it.
    pub fn advance_all(&mut self, until: Timestamp, now: Timestamp) -> Result<(), String> {
        for ledger in &mut self.ledgers {
            ledger.advance(until, now);
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
#[path = "ledger_tests.rs"]
mod tests;
