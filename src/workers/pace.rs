//! A download held to a rate: a listener's recordings arrive in the background, and a
//! download at full speed keeps the kernel copying received bytes on every core for as long
//! as it lasts, at no thread's priority, which live calls then wait behind.

use std::time::Duration;

use tokio::time::Instant;

/// The most a download may be behind its pace and then catch up at full speed: time it spent
/// waiting (for live work to pass, for a CPU) is not saved up for a burst later.
const CREDIT_AT_MOST: Duration = Duration::from_millis(100);

/// How far a download has come since it started, against its rate.
#[derive(Debug)]
pub(crate) struct Pace {
    started: Instant,
    bytes: u64,
    per_second: u64,
}

impl Pace {
    /// A pace of `per_second` bytes a second, from now.
    pub(crate) fn new(per_second: u64) -> Self {
        Self {
            started: Instant::now(),
            bytes: 0,
            per_second: per_second.max(1),
        }
    }

    /// `bytes` more came.
    pub(crate) fn took(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes as u64);
    }

    /// Waits until what came so far is within the pace; a download further behind than
    /// [`CREDIT_AT_MOST`] is taken to have started later, so it catches up by that at most.
    pub(crate) async fn wait(&mut self) {
        let due = self.due();
        if let Some(latest) = Instant::now().checked_sub(due + CREDIT_AT_MOST) {
            self.started = self.started.max(latest);
        }
        tokio::time::sleep_until(self.started + due).await;
    }

    /// When the bytes so far are due at the pace, from the start.
    fn due(&self) -> Duration {
        let nanos = u128::from(self.bytes) * 1_000_000_000 / u128::from(self.per_second);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests;
