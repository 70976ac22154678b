//! Keeping a flood from the server flat: live notifications beyond a bound wait as bare IDs
//! (and beyond that are left to the backfill), and a warning repeated many times a second is
//! shown once per interval with a count of the rest, not once per frame.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Live report fetches running at once; more notifications wait as IDs.
pub const LIVE_CONCURRENCY: usize = 8;
/// IDs waiting for a live fetch; beyond this a notification is dropped and the gap it leaves
/// is backfilled from report summaries, so memory stays flat under any flood.
pub const MAX_WAITING_IDS: usize = 10_000;
/// How often one kind of warning may be shown.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Conversation IDs announced but not fetched yet, oldest first, at most `capacity` of them.
#[derive(Debug)]
pub struct WaitingIds {
    ids: VecDeque<String>,
    capacity: usize,
}

impl WaitingIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: VecDeque::new(),
            capacity,
        }
    }

    /// Queues `id`; false (and nothing kept) when the queue is full.
    pub fn push(&mut self, id: String) -> bool {
        if self.ids.len() >= self.capacity {
            return false;
        }
        self.ids.push_back(id);
        true
    }

    pub fn pop(&mut self) -> Option<String> {
        self.ids.pop_front()
    }
}

/// One kind of warning, shown at most once per `interval`.
#[derive(Debug)]
pub struct RepeatedWarning {
    interval: Duration,
    last_shown: Option<Instant>,
    suppressed: u64,
}

impl RepeatedWarning {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_shown: None,
            suppressed: 0,
        }
    }

    /// The line to show for one more occurrence of `message` at `now`, or `None` to stay quiet
    /// (the occurrence is counted and reported with the next line shown).
    pub fn occur(&mut self, message: &str, now: Instant) -> Option<String> {
        let due = self
            .last_shown
            .is_none_or(|shown| now.duration_since(shown) >= self.interval);
        if !due {
            self.suppressed += 1;
            return None;
        }
        self.last_shown = Some(now);
        let line = match std::mem::take(&mut self.suppressed) {
            0 => message.to_string(),
            n => format!(
                "{message} (and {n} more like it in the last {:.0?})",
                self.interval
            ),
        };
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_queue_is_bounded() {
        let mut waiting = WaitingIds::new(2);
        assert!(waiting.push("a".into()));
        assert!(waiting.push("b".into()));
        assert!(!waiting.push("c".into()));
        assert_eq!(waiting.pop().as_deref(), Some("a"));
        assert!(waiting.push("c".into()));
    }

    // Regression: a flood of junk frames wrote one WARN line each.
    #[test]
    fn a_repeated_warning_is_shown_once_per_interval_with_a_count() {
        let mut warning = RepeatedWarning::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(warning.occur("junk", start).as_deref(), Some("junk"));
        let shown = (1..200_000u64)
            .filter_map(|n| warning.occur("junk", start + Duration::from_micros(n)))
            .count();
        assert_eq!(shown, 0);
        let line = warning
            .occur("junk", start + Duration::from_secs(11))
            .unwrap();
        assert!(line.contains("and 199999 more like it"), "{line}");
    }
}
