//! What a pending REST fault is, apart from the handle that sets it, so the shared state can hold
//! the rules without depending on the fault machinery (which itself works on that state).

use std::time::Duration;

/// How a REST request is spoiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After: <secs>` and a GoTo-style error body.
    RateLimit {
        /// Sent as `Retry-After`, in whole seconds.
        retry_after: Duration,
    },
    /// This status (normally a 5xx) with an error body.
    Fail {
        /// The HTTP status answered.
        status: u16,
    },
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with the real answer's JSON cut short.
    Truncated,
}

/// Spoils the next `remaining` requests whose path starts with `path_prefix` (any path if `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests whose path starts with this; `None` for any request.
    pub path_prefix: Option<String>,
    /// How many more requests it spoils.
    pub remaining: u32,
    /// How it spoils them.
    pub kind: FaultKind,
}
