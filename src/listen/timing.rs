//! The engine's timers in one place, scaled together so tests can run hours of protocol in
//! seconds (`CER_TIME_SCALE`), while defaults follow GoTo's guidance.

use std::time::Duration;

use crate::net::retry::jittered_backoff;
use crate::time_scale::TimeScale;

/// Timer settings of the listen engine.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// A WebSocket ping every so often (GoTo's demo: 8 s).
    pub ping_every: Duration,
    /// The link is dead after this many pings without a pong: 5 s × 4 stays under 30 s.
    pub max_missed_pongs: u64,
    /// How long a report that answers 404 (not ready) is retried.
    pub report_patience: Duration,
    /// First reconnect wait; doubles per failed attempt, with jitter.
    pub reconnect_base: Duration,
    /// The longest reconnect wait, however many attempts failed.
    pub reconnect_cap: Duration,
    /// How often the subscriptions are checked, since GoTo never says it dropped one.
    pub subscription_check_every: Duration,
    /// Shutdown cleanup (delete subscriptions and channel) gives up after this.
    pub shutdown_limit: Duration,
    /// Channel lifetime assumed when GoTo does not state one.
    pub default_channel_lifetime: Duration,
    /// Before the first `Ready`, give up after this long: nothing has worked yet, so a
    /// person must look at the address, the network or the account rather than wait.
    pub first_connect_limit: Duration,
    /// The shortest wait between two channel refreshes, whatever lifetime GoTo states: a
    /// `channelLifetime` of 0 must not turn into a PUT loop.
    pub min_refresh_interval: Duration,
    /// A session that lasted less than this, and carried no call, counts as a failed
    /// attempt, so a WebSocket that breaks right after it opens backs off like one that
    /// never opened.
    pub stable_session: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ping_every: Duration::from_secs(5),
            max_missed_pongs: 4,
            report_patience: Duration::from_secs(60),
            reconnect_base: Duration::from_secs(1),
            reconnect_cap: Duration::from_secs(30),
            subscription_check_every: Duration::from_secs(60),
            shutdown_limit: Duration::from_secs(5),
            default_channel_lifetime: Duration::from_secs(1200),
            first_connect_limit: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(10),
            stable_session: Duration::from_secs(60),
        }
    }
}

impl Timing {
    /// Every timer scaled (e.g. by 0.05 for tests); the shutdown limit stays.
    pub fn scaled(scale: TimeScale) -> Self {
        let base = Self::default();
        let scale = |d: Duration| scale.scale(d);
        Self {
            ping_every: scale(base.ping_every),
            report_patience: scale(base.report_patience),
            reconnect_base: scale(base.reconnect_base),
            reconnect_cap: scale(base.reconnect_cap),
            subscription_check_every: scale(base.subscription_check_every),
            first_connect_limit: scale(base.first_connect_limit),
            min_refresh_interval: scale(base.min_refresh_interval),
            stable_session: scale(base.stable_session),
            ..base
        }
    }

    /// The wait before reconnect attempt `attempt` (1-based): exponential, jittered, capped.
    pub fn reconnect_delay(&self, attempt: u32) -> Duration {
        jittered_backoff(
            self.reconnect_base,
            self.reconnect_cap,
            attempt.saturating_sub(1),
        )
    }

    /// When to renew a channel: halfway through its life, as GoTo asks at 600 s of 1200, but
    /// never sooner than [`Timing::min_refresh_interval`].
    pub fn refresh_after(&self, lifetime_secs: Option<u64>) -> Duration {
        let half = lifetime_secs
            .map(Duration::from_secs)
            .unwrap_or(self.default_channel_lifetime)
            / 2;
        half.max(self.min_refresh_interval)
    }

    /// The failed attempts still counted after a session that lasted `lasted`. A stable
    /// session, or one that carried a call's notification, proved the link works and starts
    /// the backoff over; a short one that carried nothing (a socket that breaks right after
    /// it opens) leaves the count as it was, so such a server is not hammered.
    pub fn failures_after_session(
        &self,
        failures: u32,
        lasted: Duration,
        carried_calls: bool,
    ) -> u32 {
        if carried_calls || lasted >= self.stable_session {
            0
        } else {
            failures
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delays_grow_and_stop_at_the_cap() {
        let timing = Timing::default();
        assert!(timing.reconnect_delay(1) <= Duration::from_secs(1));
        for attempt in 1..40 {
            assert!(timing.reconnect_delay(attempt) <= Duration::from_secs(30));
        }
        assert!(timing.reconnect_delay(20) >= Duration::from_secs(15));
    }

    #[test]
    fn a_dead_link_is_noticed_within_30_seconds() {
        let timing = Timing::default();
        let worst = timing.ping_every * u32::try_from(timing.max_missed_pongs + 1).unwrap();
        assert!(worst <= Duration::from_secs(30), "{worst:?}");
    }

    // Regression: a `channelLifetime` of 0 caused 10 PUTs a second.
    #[test]
    fn a_tiny_lifetime_is_refreshed_no_more_often_than_the_floor() {
        let timing = Timing::default();
        assert_eq!(timing.refresh_after(Some(0)), Duration::from_secs(10));
        assert_eq!(timing.refresh_after(Some(1)), Duration::from_secs(10));
    }

    // Regression: a WebSocket that failed right after it opened reset the backoff, so cer
    // reconnected at once forever (39 channels in 30 s).
    #[test]
    fn short_sessions_keep_the_backoff_growing() {
        let timing = Timing::default();
        let mut attempt = 0;
        for _ in 0..6 {
            // What the engine does per lost session: carry the count, then add this failure.
            attempt = timing.failures_after_session(attempt, Duration::from_millis(100), false) + 1;
        }
        assert_eq!(attempt, 6);
        assert!(timing.reconnect_delay(attempt) >= Duration::from_secs(15));
        assert_eq!(
            timing.failures_after_session(attempt, Duration::from_secs(600), false),
            0
        );
        // A short session that carried a call showed the link works: start over.
        assert_eq!(
            timing.failures_after_session(attempt, Duration::from_millis(100), true),
            0
        );
    }

    #[test]
    fn channels_are_renewed_halfway() {
        let timing = Timing::default();
        assert_eq!(timing.refresh_after(Some(1200)), Duration::from_secs(600));
        assert_eq!(timing.refresh_after(None), Duration::from_secs(600));
    }
}
