//! A download held to a rate: a listener's recordings arrive in the background, and a
//! download at full speed keeps the kernel copying received bytes on every core for as long
//! as it lasts, at no thread's priority, which live calls then wait behind.

use std::time::Duration;

use tokio::time::Instant;

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

    /// Waits until what came so far is within the pace.
    pub(crate) async fn wait(&self) {
        tokio::time::sleep_until(self.started + self.due()).await;
    }

    /// When the bytes so far are due at the pace, from the start.
    fn due(&self) -> Duration {
        let seconds = self.bytes / self.per_second;
        let rest = self.bytes % self.per_second;
        let nanos = u128::from(rest) * 1_000_000_000 / u128::from(self.per_second);
        Duration::from_secs(seconds) + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A download ahead of its pace waits for it to catch up, one behind does not wait, and
    /// the pace is kept over the whole download, not per chunk.
    #[tokio::test(start_paused = true)]
    async fn a_download_ahead_of_its_pace_waits_until_it_is_due() {
        let mut pace = Pace::new(1000);
        let start = Instant::now();
        pace.wait().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "nothing came yet");
        pace.took(2500);
        pace.wait().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2500));
        tokio::time::sleep(Duration::from_secs(10)).await;
        pace.took(4000);
        let behind = Instant::now();
        pace.wait().await;
        assert_eq!(behind.elapsed(), Duration::ZERO, "6.5 s due, 12.5 s gone");
        pace.took(10_000);
        pace.wait().await;
        assert_eq!(start.elapsed(), Duration::from_millis(16_500));
    }
}
