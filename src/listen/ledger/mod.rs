//! What `listen` has already emitted, per account: a cursor and the recent IDs, so that a
//! restart backfills from where it stopped and prints nothing twice. They live in memory here
//! and in the store (section 7) for good: the engine stores each report together with its
//! account's cursor, and saves the cursor again after a complete backfill.
//!
//! Invariant: every call that ended before `cursor - OVERLAP` has been emitted. Only the engine
//! moves the cursor, and only when that stays true (see `pump`). An ID is remembered while a
//! backfill could still return it (it ended near the cursor) or while a repeated notification is
//! plausible (it was emitted recently), and never more than [`REMEMBER_AT_MOST`] of them: the
//! memory is a shortcut, not the record. The store is the record (a report it already has is
//! never printed again), and a backfill asks it about the calls this memory let go, so a burst
//! of ten thousand calls costs no more memory than a quiet day and no report is fetched twice.

use std::collections::HashMap;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use crate::store::cursor_file::forget_cursor_file;
use crate::store::cursor_rules;
use crate::store::{Store, StoreError};

/// How far before the cursor a backfill looks again, for calls whose notification came late.
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);
/// How long an ID is remembered, past the cursor or past its emission (overlap plus margin).
const REMEMBER: SignedDuration = SignedDuration::from_mins(15);

/// The most IDs one account remembers: 15 minutes of a busy line (a call a second is 900).
/// Past it the oldest emitted go first, down to this number once a quarter more came. With
/// that quarter (1,750 IDs) the table still fits 2,048 slots, where 2,000 needed 4,096: a
/// quarter of a megabyte a listener would hold after its first burst, for nothing.
pub const REMEMBER_AT_MOST: usize = 1_400;

/// A cursor to write to the store: the account key and where its cursor now is.
pub type CursorMove = (String, Timestamp);

/// When a call ended (GoTo's clock) and when cer emitted it (the local clock).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    ended: Timestamp,
    emitted: Timestamp,
}

/// One account's record.
#[derive(Debug, Clone, Default, PartialEq)]
struct Record {
    account_key: String,
    cursor: Option<Timestamp>,
    /// conversationSpaceId → when it ended and when it was emitted.
    recent: HashMap<String, Seen>,
}

/// The record of one account key.
#[derive(Debug)]
pub struct Ledger {
    record: Record,
    /// A corrupt file with no readable cursor: where `listen` stopped is unknown.
    unrecoverable: Option<String>,
}

impl Ledger {
    fn fresh(account_key: &str) -> Self {
        Self {
            record: Record {
                account_key: account_key.to_string(),
                ..Record::default()
            },
            unrecoverable: None,
        }
    }

    /// Imports an earlier version's cursor file of this account into the store, keeping the
    /// IDs it remembered, or marking the account unrecoverable when nothing of it was readable.
    async fn import(
        &mut self,
        store: &Store,
        state_dir: &Path,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = &self.record.account_key;
        let imported = store.import_cursor_file(state_dir, key, now).await?;
        self.record.recent = imported
            .recent
            .into_iter()
            .map(|(id, seen)| {
                let (ended, emitted) = (seen.ended, seen.emitted);
                (id, Seen { ended, emitted })
            })
            .collect();
        self.unrecoverable = imported.unrecoverable;
        Ok(())
    }

    pub fn cursor(&self) -> Option<Timestamp> {
        self.record.cursor
    }

    /// Where the cursor goes when moved to `to`: never back, never past `now`.
    fn moved(&self, to: Timestamp, now: Timestamp) -> Timestamp {
        let to = to.min(now);
        self.record.cursor.map_or(to, |c| c.max(to))
    }

    /// Moves the cursor forward and forgets what is too old.
    fn advance(&mut self, to: Timestamp, now: Timestamp) -> CursorMove {
        let at = self.moved(to, now);
        self.record.cursor = Some(at);
        self.forget_old(now);
        (self.record.account_key.clone(), at)
    }

    fn forget_old(&mut self, now: Timestamp) {
        let cursor = self.record.cursor.unwrap_or(now);
        let ended_after = cursor.saturating_sub(REMEMBER).unwrap_or(Timestamp::MIN);
        let emitted_after = now.saturating_sub(REMEMBER).unwrap_or(Timestamp::MIN);
        self.record
            .recent
            .retain(|_, seen| seen.ended >= ended_after || seen.emitted >= emitted_after);
    }

    /// Forgets the oldest emitted (then the oldest ended) once a quarter more than `limit`
    /// are remembered, keeping the newest `limit`: one selection per `limit / 4` reports.
    fn keep_newest(&mut self, limit: usize) {
        let recent = &mut self.record.recent;
        if recent.len() <= limit.saturating_add(limit / 4) {
            return;
        }
        let mut ages: Vec<(Timestamp, Timestamp)> =
            recent.values().map(|s| (s.emitted, s.ended)).collect();
        let forget = ages.len() - limit;
        let (_, &mut oldest_kept, _) = ages.select_nth_unstable(forget);
        recent.retain(|_, s| (s.emitted, s.ended) >= oldest_kept);
        // A burst grew the table; give its room back now that it is bounded again.
        recent.shrink_to(limit.saturating_add(limit / 4));
    }
}

/// The ledgers of every account key `listen` follows.
#[derive(Debug)]
pub struct Ledgers {
    ledgers: Vec<Ledger>,
    /// The most IDs each account remembers ([`REMEMBER_AT_MOST`] unless a test says less).
    limit: usize,
}

impl Ledgers {
    /// Empty ledgers: no cursor, nothing seen.
    pub fn new(account_keys: &[String]) -> Self {
        Self {
            ledgers: account_keys.iter().map(|key| Ledger::fresh(key)).collect(),
            limit: REMEMBER_AT_MOST,
        }
    }

    /// Remembers at most `limit` IDs per account from now on (at least one).
    #[must_use]
    pub fn remembering_at_most(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        for ledger in &mut self.ledgers {
            ledger.keep_newest(self.limit);
        }
        self
    }

    /// Reads what was emitted before: the cursors in the store (importing, once, the JSON
    /// cursor file of an earlier version for an account the store has no cursor of), and the
    /// IDs of the calls that ended near them. This is the one place a saved cursor is read, so
    /// the cursor rules apply here: one in the future is pulled back to now, and a corrupt file
    /// is kept aside and recovered as far as it can be.
    pub async fn load(
        store: &Store,
        state_dir: &Path,
        account_keys: &[String],
        now: Timestamp,
    ) -> Result<Self, StoreError> {
        let mut ledgers = Self::new(account_keys);
        let saved = store.cursors().await?;
        for ledger in &mut ledgers.ledgers {
            let key = ledger.record.account_key.clone();
            if saved.contains_key(&key) {
                forget_cursor_file(state_dir, &key);
            } else {
                ledger.import(store, state_dir, now).await?;
            }
        }
        let cursors = store.cursors().await?;
        for ledger in &mut ledgers.ledgers {
            let key = ledger.record.account_key.clone();
            let mut cursor = cursors.get(&key).copied();
            if let Some(saved) = cursor
                && let Some((clamped, warning)) = cursor_rules::clamp_future(saved, now)
            {
                tracing::warn!("{warning} (account {key})");
                store.pull_back_cursor(&key, clamped, clamped).await?;
                cursor = Some(clamped);
            }
            ledger.record.cursor = cursor;
        }
        ledgers.remember_stored(store, now).await?;
        Ok(ledgers)
    }

    /// The IDs of stored reports that ended near the earliest cursor, so none prints twice.
    async fn remember_stored(&mut self, store: &Store, now: Timestamp) -> Result<(), StoreError> {
        let Some(cursor) = self.ledgers.iter().filter_map(Ledger::cursor).min() else {
            return Ok(());
        };
        let since = cursor.saturating_sub(REMEMBER).unwrap_or(Timestamp::MIN);
        for (id, ended) in store.ended_since(since).await? {
            let seen = Seen {
                ended,
                emitted: now,
            };
            if let Some(first) = self.ledgers.first_mut() {
                first.record.recent.insert(id, seen);
            }
        }
        for ledger in &mut self.ledgers {
            ledger.keep_newest(self.limit);
        }
        Ok(())
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

    /// The cursor to store with a report that [`Ledgers::record`] will record, so that both
    /// are written in one transaction before the report is printed.
    pub fn cursor_after(
        &self,
        account_key: Option<&str>,
        ended: Timestamp,
        now: Timestamp,
        advance: bool,
    ) -> Option<CursorMove> {
        let ledger = self
            .ledgers
            .iter()
            .find(|l| Some(l.record.account_key.as_str()) == account_key)?;
        advance.then(|| (ledger.record.account_key.clone(), ledger.moved(ended, now)))
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
    ) {
        let owner = self
            .ledgers
            .iter()
            .position(|l| Some(l.record.account_key.as_str()) == account_key);
        let Some(ledger) = self.ledgers.get_mut(owner.unwrap_or(0)) else {
            return;
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
        ledger.keep_newest(self.limit);
    }

    /// After a complete backfill up to `until`: every account has emitted everything before
    /// it. Returns the cursors to save.
    pub fn advance_all(&mut self, until: Timestamp, now: Timestamp) -> Vec<CursorMove> {
        self.ledgers
            .iter_mut()
            .map(|ledger| ledger.advance(until, now))
            .collect()
    }

    /// Gives every account without a cursor one at `at` (a first run); returns those to save.
    pub fn start_at(&mut self, at: Timestamp) -> Vec<CursorMove> {
        self.ledgers
            .iter_mut()
            .filter(|l| l.record.cursor.is_none())
            .map(|ledger| {
                ledger.record.cursor = Some(at);
                (ledger.record.account_key.clone(), at)
            })
            .collect()
    }

    /// Every account's cursor (to save at shutdown).
    pub fn cursors(&self) -> Vec<CursorMove> {
        self.ledgers
            .iter()
            .filter_map(|l| Some((l.record.account_key.clone(), l.cursor()?)))
            .collect()
    }

    /// How many recent IDs all ledgers remember, for tests of the dedupe window.
    #[cfg(test)]
    pub fn recent_len(&self) -> usize {
        self.ledgers.iter().map(|l| l.record.recent.len()).sum()
    }
}

/// Writes cursor moves to the store; they only ever move forward there, so the order in
/// which several such writes land does not matter.
pub async fn save_cursor_moves(
    store: &Store,
    moves: &[CursorMove],
    now: Timestamp,
) -> Result<(), StoreError> {
    for (account, at) in moves {
        store.save_cursors(&[account], *at, now).await?;
    }
    Ok(())
}

/// Saves cursor moves in the background: they only move forward in the store, so a late
/// write does no harm, and a failed one is redone by the next report or backfill.
pub fn save_in_background(store: Option<&Store>, moves: Vec<CursorMove>, now: Timestamp) {
    let Some(store) = store.cloned() else {
        return;
    };
    tokio::spawn(async move {
        if let Err(err) = save_cursor_moves(&store, &moves, now).await {
            tracing::warn!("cannot save the listen cursor: {err}");
        }
    });
}

/// Where a backfill after a gap starts: the overlap before the cursor, but never before
/// `floor` (the start of a fresh listen); `None` when there is no cursor.
pub fn backfill_start(ledgers: &Ledgers, floor: Option<Timestamp>) -> Option<Timestamp> {
    let from = ledgers.cursor().map(minus_overlap)?;
    Some(floor.map_or(from, |floor| from.max(floor)))
}

/// A cursor less the [`OVERLAP`] that catches late notifications.
pub fn minus_overlap(cursor: Timestamp) -> Timestamp {
    cursor.saturating_sub(OVERLAP).unwrap_or(cursor)
}

#[cfg(test)]
mod tests;
