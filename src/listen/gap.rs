//! When listen may move its cursor: the gap bookkeeping of one session, apart from the loop
//! that feeds it, so each rule can be tested on its own.
//!
//! A gap opens with every backfill that is needed or running, and with every failed fetch (or
//! store); only a complete backfill started after the last failure closes it, and the cursor
//! moves to that backfill's end only then.

use jiff::Timestamp;
use tokio::time::Instant;

/// One session's gap: open or closed, the backfill under way, and the retry due after a failure.
#[derive(Debug, Default)]
pub struct GapTracker {
    /// Failures so far; a backfill closes the gap only if none happened since it started.
    failures: u64,
    failures_at_start: u64,
    open: bool,
    /// Another backfill was asked for while one ran: it runs once this one is done.
    again: bool,
    retry_at: Option<Instant>,
    phase: Phase,
}

/// Where the backfill is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Idle,
    Searching,
    /// Its search covered calls up to this end; their reports are being emitted.
    Emitting(Timestamp),
}

/// What the end of a backfill's emitting allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emitted {
    /// The gap closed: the cursor moves to the backfill's end.
    pub cursor_to: Option<Timestamp>,
    /// Another backfill was asked for meanwhile: search again.
    pub again: bool,
}

impl GapTracker {
    /// A backfill is needed (a start, a reconnect, a lost subscription, a retry): the gap
    /// opens. True when its search is to start now; false when one is under way, which then
    /// runs again once it is done.
    pub fn backfill_needed(&mut self) -> bool {
        self.open = true;
        if self.phase != Phase::Idle {
            self.again = true;
            return false;
        }
        self.failures_at_start = self.failures;
        self.phase = Phase::Searching;
        true
    }

    /// The search came back with the calls up to `until`: their reports are emitted next.
    pub fn searched(&mut self, until: Timestamp) {
        self.phase = Phase::Emitting(until);
    }

    /// The search failed; [`GapTracker::failed`] says what follows.
    pub fn search_failed(&mut self) {
        self.phase = Phase::Idle;
    }

    /// Something may have been missed (a fetch, a search or the store failed): the gap opens,
    /// and a backfill is due at `retry_at` unless one is due already. True when this set it.
    pub fn failed(&mut self, retry_at: Instant) -> bool {
        self.failures += 1;
        self.open = true;
        if self.retry_at.is_some() {
            return false;
        }
        self.retry_at = Some(retry_at);
        true
    }

    /// When the retry after a failure is due, if one is.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// The retry is due now: the caller asks for the backfill.
    pub fn retry_due(&mut self) {
        self.retry_at = None;
    }

    /// Whether a backfill is searching or emitting (live reports wait meanwhile).
    pub fn running(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Whether something may have been missed: live reports then leave the cursor alone.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The backfill's reports are all out (or it found none). `None` when no backfill was
    /// emitting. The gap closes when no failure came since the backfill started, no other
    /// backfill was asked for and no retry is due.
    pub fn emitted(&mut self) -> Option<Emitted> {
        let Phase::Emitting(until) = self.phase else {
            return None;
        };
        self.phase = Phase::Idle;
        let complete = self.failures == self.failures_at_start;
        let mut cursor_to = None;
        if complete && !self.again && self.retry_at.is_none() {
            self.open = false;
            cursor_to = Some(until);
        }
        let again = std::mem::take(&mut self.again);
        Some(Emitted { cursor_to, again })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(5)
    }

    #[test]
    fn a_fresh_session_has_no_gap() {
        let gap = GapTracker::default();
        assert!(!gap.is_open());
        assert!(!gap.running());
        assert_eq!(gap.retry_at(), None);
    }

    #[test]
    fn a_needed_backfill_opens_the_gap_and_starts_a_search() {
        let mut gap = GapTracker::default();
        assert!(gap.backfill_needed());
        assert!(gap.is_open());
        assert!(gap.running());
    }

    #[test]
    fn a_complete_backfill_closes_the_gap_and_moves_the_cursor_to_its_end() {
        let mut gap = GapTracker::default();
        gap.backfill_needed();
        gap.searched(at(100));
        assert!(gap.running(), "emitting is still catching up");
        let done = gap.emitted();
        assert_eq!(
            done,
            Some(Emitted {
                cursor_to: Some(at(100)),
                again: false
            })
        );
        assert!(!gap.is_open());
        assert!(!gap.running());
    }

    #[test]
    fn a_failed_fetch_opens_the_gap_and_schedules_a_retry() {
        let mut gap = GapTracker::default();
        let retry = soon();
        assert!(gap.failed(retry));
        assert!(gap.is_open());
        assert_eq!(gap.retry_at(), Some(retry));
        assert!(!gap.failed(retry + std::time::Duration::from_secs(1)));
        assert_eq!(gap.retry_at(), Some(retry), "the first retry stands");
    }

    #[test]
    fn a_failure_during_a_backfill_keeps_the_gap_and_the_cursor() {
        let mut gap = GapTracker::default();
        gap.backfill_needed();
        gap.searched(at(100));
        gap.failed(soon());
        gap.retry_due();
        let done = gap.emitted().unwrap();
        assert_eq!(done.cursor_to, None);
        assert!(gap.is_open());
    }

    #[test]
    fn only_a_backfill_started_after_the_last_failure_closes_the_gap() {
        let mut gap = GapTracker::default();
        gap.failed(soon());
        gap.retry_due();
        assert!(gap.backfill_needed());
        gap.searched(at(200));
        assert_eq!(gap.emitted().unwrap().cursor_to, Some(at(200)));
        assert!(!gap.is_open());
    }

    #[test]
    fn a_due_retry_keeps_the_gap_open_even_after_a_complete_backfill() {
        let mut gap = GapTracker::default();
        gap.failed(soon());
        assert!(gap.backfill_needed());
        gap.searched(at(200));
        assert_eq!(gap.emitted().unwrap().cursor_to, None);
        assert!(gap.is_open());
    }

    #[test]
    fn a_backfill_asked_for_while_one_runs_runs_after_it_and_keeps_the_gap() {
        let mut gap = GapTracker::default();
        assert!(gap.backfill_needed());
        assert!(!gap.backfill_needed(), "one search at a time");
        gap.searched(at(100));
        assert!(!gap.backfill_needed(), "nor while its reports are emitted");
        let done = gap.emitted().unwrap();
        assert_eq!(
            done,
            Emitted {
                cursor_to: None,
                again: true
            }
        );
        assert!(gap.is_open());
        assert!(gap.backfill_needed());
        gap.searched(at(300));
        assert_eq!(gap.emitted().unwrap().cursor_to, Some(at(300)));
    }

    #[test]
    fn a_failed_search_ends_the_backfill_and_leaves_the_gap_open() {
        let mut gap = GapTracker::default();
        gap.backfill_needed();
        gap.search_failed();
        gap.failed(soon());
        assert!(!gap.running());
        assert!(gap.is_open());
        assert_eq!(gap.emitted(), None, "nothing was emitting");
    }

    #[test]
    fn nothing_emitting_closes_nothing() {
        let mut gap = GapTracker::default();
        gap.backfill_needed();
        assert_eq!(gap.emitted(), None, "still searching");
        assert!(gap.is_open());
    }
}
