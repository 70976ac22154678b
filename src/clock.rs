//! The wall clock, injectable: the engine, its workers and the service's loops read "now" from
//! one `Clock`, so tests can place it where they need it.

use jiff::Timestamp;

/// The wall clock, injectable so tests can place "now" where they need it.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
