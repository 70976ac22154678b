//! GoTo's per-API request limit (API.md section 7: "Rate limits are applied per API", exceeding
//! it answers 429), off unless asked for, so a client's own pacing can be measured against a
//! server that enforces one instead of one that forgives every burst.

use std::collections::HashMap;
use std::time::Instant;

/// A token bucket per API (the path's first segment): `per_second` requests a second on
/// average, and at most one second's worth at once.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_second: f64,
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    pub(crate) fn new(per_second: u32) -> Self {
        RateLimit {
            per_second: f64::from(per_second.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Whether a request on `path` at `now` is within the limit; it spends a token when it is.
    pub(crate) fn admit(&mut self, path: &str, now: Instant) -> bool {
        let api = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let full = self.per_second;
        let bucket = self.buckets.entry(api.to_string()).or_insert(Bucket {
            tokens: full,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * full;
        bucket.tokens = (bucket.tokens + refill).min(full);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_beyond_one_seconds_worth_is_refused_until_tokens_return() {
        let mut limit = RateLimit::new(10);
        let start = Instant::now();
        let path = "/call-events-report/v1/reports/x";
        assert!((0..10).all(|_| limit.admit(path, start)));
        assert!(!limit.admit(path, start));
        assert!(limit.admit(path, start + Duration::from_millis(100)));
        assert!(!limit.admit(path, start + Duration::from_millis(100)));
    }

    #[test]
    fn each_api_has_its_own_bucket() {
        let mut limit = RateLimit::new(1);
        let now = Instant::now();
        assert!(limit.admit("/call-events-report/v1/reports/x", now));
        assert!(!limit.admit("/call-events-report/v1/report-summaries", now));
        assert!(limit.admit("/notification-channel/v1/channels/n", now));
    }
}
