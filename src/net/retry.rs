//! When to try a failed request again and how long to wait: bounded exponential backoff with
//! full jitter, and GoTo's `Retry-After` when it sends one.

use std::time::Duration;

/// Retry limits. Tests shrink `base` through `CER_RETRY_BASE_MS` to stay fast.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after a 5xx or a transport error.
    pub max_retries: u32,
    /// Retries after a 429: bursts are normal and must never reach the user.
    pub max_rate_limited: u32,
    /// The first backoff wait; each retry doubles it, with jitter (`CER_RETRY_BASE_MS`).
    pub base: Duration,
    /// The longest backoff wait.
    pub cap: Duration,
    /// The longest `Retry-After` cer honours; longer values are clipped.
    pub max_retry_after: Duration,
    /// The most one request may take, attempts and waits between them, however many retries
    /// are left: a server that keeps answering 429 or 503, or never answers, ends the command
    /// instead of holding it.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            max_rate_limited: 12,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The policy with another backoff base (the cap scales with it).
    pub fn with_base(self, base: Duration) -> Self {
        Self {
            base,
            cap: base.saturating_mul(40),
            max_retry_after: self.max_retry_after.min(base.saturating_mul(240)),
            max_total_wait: self.max_total_wait.min(base.saturating_mul(1200)),
            ..self
        }
    }

    /// Backoff before retry number `retry` (0-based): a random wait up to `base * 2^retry`,
    /// capped, so that many clients failing together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        jittered_backoff(self.base, self.cap, retry)
    }

    /// Whether `wait` more, after `waited` already, stays within [`Self::max_total_wait`].
    pub fn may_wait(&self, waited: Duration, wait: Duration) -> bool {
        waited.saturating_add(wait) <= self.max_total_wait
    }

    /// The wait after a 429: GoTo's `Retry-After` if any (clipped), else the backoff.
    pub fn rate_limited_wait(&self, retry_after: Option<Duration>, retry: u32) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => self.backoff(retry),
        }
    }
}

/// A random wait of 50–100 % of `base * 2^doublings`, capped at `cap`: exponential backoff
/// with jitter, so that many clients failing together do not retry together. The one formula
/// behind every wait-and-retry in cer: requests, reconnects, store retries and deliveries.
pub fn jittered_backoff(base: Duration, cap: Duration, doublings: u32) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(doublings.min(20)))
        .min(cap);
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// Reads `Retry-After`: delay-seconds or an HTTP date (RFC 9110).
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let wait = when.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_half_and_whole_of_its_ceiling_up_to_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for _ in 0..200 {
            let first = jittered_backoff(base, cap, 0);
            assert!(first >= base / 2 && first <= base, "{first:?}");
            let third = jittered_backoff(base, cap, 2);
            assert!(third >= base * 2 && third <= base * 4, "{third:?}");
            let late = jittered_backoff(base, cap, 40);
            assert!(late >= cap / 2 && late <= cap, "{late:?}");
        }
    }

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let policy = RetryPolicy::default();
        for retry in 0..30 {
            let wait = policy.backoff(retry);
            let ceiling = policy
                .base
                .saturating_mul(1 << retry.min(16))
                .min(policy.cap);
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{retry}: {wait:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_http_date() {
        let now: jiff::Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 10:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    // Regression: `Retry-After: 999999` was clipped to 60 s but honoured 12 times.
    #[test]
    fn the_total_wait_of_a_request_is_bounded() {
        let policy = RetryPolicy::default();
        let huge = policy.rate_limited_wait(Some(Duration::from_secs(999_999)), 0);
        let mut waited = Duration::ZERO;
        let mut waits = 0;
        while policy.may_wait(waited, huge) {
            waited += huge;
            waits += 1;
        }
        assert_eq!(waits, 2);
        assert!(waited <= policy.max_total_wait);
    }

    #[test]
    fn retry_after_is_clipped() {
        let policy = RetryPolicy::default();
        let wait = policy.rate_limited_wait(Some(Duration::from_secs(3600)), 0);
        assert_eq!(wait, policy.max_retry_after);
    }
}
