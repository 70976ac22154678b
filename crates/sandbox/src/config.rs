//! The simulator's knobs, kept apart so the CLI can build them from flags without the server code.

use std::time::Duration;

use jiff::tz::TimeZone;

/// The OAuth client id the simulator accepts; a documented constant so scripts can hard-code it.
pub const CLIENT_ID: &str = "cer-sandbox-client";
/// The OAuth client secret paired with [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "cer-sandbox-secret";
/// The `principal` the token endpoint reports: the sandbox's only (admin) user.
pub const PRINCIPAL: &str = "sandbox-admin@cer.invalid";
/// Both scopes cer needs, as GoTo spells them.
pub const ALL_SCOPES: &str = "cr.v1.read call-events.v1.notifications.manage";

/// The default analysis delay: analysis a minute or two after a call, transcripts 5–10 minutes.
pub const DEFAULT_ANALYSIS_DELAY: Duration = Duration::from_secs(60);

/// How the simulator behaves; every field has GoTo's documented default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Seed of the deterministic call history, directory and account key.
    pub seed: u64,
    /// One scheduled call is created per slot of this length (at least 100 ms);
    /// `None` means no scheduled calls at all (tests place calls by hand).
    pub call_every: Option<Duration>,
    /// Lifetime of the access tokens the token endpoint issues.
    pub token_lifetime: Duration,
    /// Lifetime of a WebSocket notification channel (GoTo: 1200 s).
    pub channel_lifetime: Duration,
    /// A call's report answers 404 until `callEnded + report_delay`.
    pub report_delay: Duration,
    /// Post-call analysis (`callReason`, `aiAnalysis`, sometimes `actions`) reaches an answered
    /// call's report between `analysis_delay` and twice that after `callEnded`; on recorded
    /// calls a recording and a transcript come 5 to 10 times that after it. Zero adds them as
    /// the call ends; `None` never (the control endpoint still adds fields by hand).
    pub analysis_delay: Option<Duration>,
    /// After `WEBSOCKET_TO_BE_CLOSED`, sockets are closed after this grace period.
    pub to_be_closed_grace: Duration,
    /// How scheduled calls spread over the day and the week.
    pub day: DayShape,
    /// The largest audio a recording gets (its samples, WAV header aside): a recording's length
    /// follows the call's talk time at 8,000 bytes a second up to this. A benchmark that needs a
    /// bigger file sets the size of every recording at run time instead
    /// ([`crate::Sandbox::set_recording_bytes`]).
    pub recording_max_bytes: u64,
}

/// The default cap on a recording's audio: about eight minutes of 8 kHz 8-bit mono.
pub const DEFAULT_RECORDING_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// How scheduled calls spread over the day and the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayShape {
    /// Every slot has its call: the same number of calls in every hour, which tests count on.
    Flat,
    /// A business day in this time zone: every slot has its call at the busiest hours (10:00
    /// and 15:00 on weekdays), about one in five at night and at weekends.
    Business(TimeZone),
}

/// The slot length of [`SandboxConfig::demo`]: a call every 2 s at the busiest hour, so that
/// even the quietest hour has one every 10 s for `--sandbox listen` to show.
pub const DEMO_CALL_EVERY: Duration = Duration::from_secs(2);

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            seed: 1,
            call_every: Some(Duration::from_secs(10)),
            token_lifetime: Duration::from_secs(3600),
            channel_lifetime: Duration::from_secs(1200),
            report_delay: Duration::ZERO,
            analysis_delay: Some(DEFAULT_ANALYSIS_DELAY),
            to_be_closed_grace: Duration::from_secs(2),
            day: DayShape::Flat,
            recording_max_bytes: DEFAULT_RECORDING_MAX_BYTES,
        }
    }
}

impl SandboxConfig {
    /// What `cer sandbox` and `cer --sandbox` run: a business day in the local time zone.
    pub fn demo() -> Self {
        SandboxConfig {
            call_every: Some(DEMO_CALL_EVERY),
            day: DayShape::Business(TimeZone::system()),
            ..SandboxConfig::default()
        }
    }
}

/// Slots shorter than this would make the notifier enumerate millions of calls at start.
pub(crate) const MIN_CALL_EVERY_MS: i64 = 100;

impl SandboxConfig {
    /// The analysis delay in milliseconds (`None`: no scheduled analysis).
    pub(crate) fn analysis_delay_ms(&self) -> Option<i64> {
        self.analysis_delay
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// The slot length in milliseconds, clamped to the supported minimum.
    pub(crate) fn every_ms(&self) -> Option<i64> {
        self.call_every.map(|d| {
            i64::try_from(d.as_millis())
                .unwrap_or(i64::MAX)
                .max(MIN_CALL_EVERY_MS)
        })
    }
}
