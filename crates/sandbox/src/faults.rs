//! Faults on request, so cer's tests (and users hardening an integration) can see how a client
//! copes with what GoTo does on a bad day. One handle and one name-based parser serve the Rust
//! API, the `/_sandbox/faults/{name}` control endpoint and the CLI.

use std::sync::Arc;
use std::time::Duration;

use super::channels::purge_expired;
use super::fault_rule::{FaultKind, FaultRule};
use super::notify::{control_everywhere, to_every_socket, unknown_frame};
use super::socket_cmd::SocketCmd;
use super::state::Shared;
use super::time::now_ms;

/// A fault's name, parameters and effect, for `cer sandbox --help` and the control endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultInfo {
    /// What `--fault` and the control endpoint call it.
    pub name: &'static str,
    /// Its parameters with their defaults, as `name=value` (empty when it has none).
    pub params: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
}

/// Every fault the simulator knows.
pub const FAULTS: &[FaultInfo] = &[
    FaultInfo {
        name: "report-not-ready",
        params: "seconds=10",
        summary: "reports answer 404 until callEnded + seconds",
    },
    FaultInfo {
        name: "rate-limit-next",
        params: "count=1 retry_after=1 path=PREFIX",
        summary: "next requests answer 429 with Retry-After",
    },
    FaultInfo {
        name: "fail-next",
        params: "count=1 status=503 path=PREFIX",
        summary: "next requests answer this error status",
    },
    FaultInfo {
        name: "garbage-next",
        params: "count=1 path=PREFIX",
        summary: "next requests answer 200 with a non-JSON body",
    },
    FaultInfo {
        name: "truncated-next",
        params: "count=1 path=PREFIX",
        summary: "next requests answer 200 with truncated JSON",
    },
    FaultInfo {
        name: "drop-websockets",
        params: "",
        summary: "drop every socket's TCP connection, no close frame",
    },
    FaultInfo {
        name: "stall-websockets",
        params: "seconds=40",
        summary: "sockets neither read (no pongs) nor send for a while",
    },
    FaultInfo {
        name: "refresh-required",
        params: "",
        summary: "send WEBSOCKET_REFRESH_REQUIRED on every socket",
    },
    FaultInfo {
        name: "to-be-closed",
        params: "",
        summary: "send WEBSOCKET_TO_BE_CLOSED, close sockets after the grace period",
    },
    FaultInfo {
        name: "expire-channels",
        params: "",
        summary: "every channel expires now, with its subscriptions",
    },
    FaultInfo {
        name: "delete-subscriptions",
        params: "",
        summary: "delete every subscription server-side",
    },
    FaultInfo {
        name: "expire-tokens",
        params: "",
        summary: "every access token issued so far is expired",
    },
    FaultInfo {
        name: "revoke-tokens",
        params: "",
        summary: "every access and refresh token is revoked",
    },
    FaultInfo {
        name: "malformed-frame",
        params: "",
        summary: "send a non-JSON frame and an unknown notification",
    },
    FaultInfo {
        name: "deny-next-authorize",
        params: "",
        summary: "the next authorize redirects with error=access_denied",
    },
    FaultInfo {
        name: "recording-not-ready",
        params: "seconds=10",
        summary: "recording content answers 400 until uploaded + seconds",
    },
    FaultInfo {
        name: "download-expired",
        params: "count=1 at=content|storage",
        summary: "next download tokens (or storage URLs) answer 403 expired",
    },
    FaultInfo {
        name: "recording-gone",
        params: "id=ALL",
        summary: "a recording or transcript (or all) answers 404 from now on",
    },
    FaultInfo {
        name: "slow-download",
        params: "bytes_per_second=8000",
        summary: "the storage host sends downloads at this rate",
    },
    FaultInfo {
        name: "cut-download",
        params: "after=1000 count=1",
        summary: "next downloads drop the connection after this many bytes",
    },
    FaultInfo {
        name: "clear",
        params: "",
        summary: "cancel pending request and media faults and the report delay",
    },
];

const NAMES: [&str; 21] = [
    "report-not-ready",
    "rate-limit-next",
    "fail-next",
    "garbage-next",
    "truncated-next",
    "drop-websockets",
    "stall-websockets",
    "refresh-required",
    "to-be-closed",
    "expire-channels",
    "delete-subscriptions",
    "expire-tokens",
    "revoke-tokens",
    "malformed-frame",
    "deny-next-authorize",
    "recording-not-ready",
    "download-expired",
    "recording-gone",
    "slow-download",
    "cut-download",
    "clear",
];

/// The names [`Faults::apply`] accepts.
pub fn fault_names() -> &'static [&'static str] {
    &NAMES
}

/// Why [`Faults::apply`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// No fault has this name.
    #[error("unknown fault {0:?} (known: {known})", known = NAMES.join(", "))]
    UnknownFault(String),
    /// The fault exists but has no such parameter.
    #[error("fault {fault} takes no parameter {param:?}")]
    UnknownParam {
        /// The fault's name.
        fault: String,
        /// The parameter given.
        param: String,
    },
    /// A parameter's value does not parse.
    #[error("bad value {value:?} for {param}: {why}")]
    BadValue {
        /// The parameter's name.
        param: String,
        /// The value given.
        value: String,
        /// What a value must look like.
        why: &'static str,
    },
}

/// A cloneable handle on the running simulator's faults; every call takes effect at once.
#[derive(Clone)]
pub struct Faults {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

fn to_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Faults {
    /// Adds a request-spoiling rule; rules fire in the order they were added.
    pub fn add_rule(&self, rule: FaultRule) {
        if rule.remaining > 0 {
            self.shared.lock().rules.push(rule);
        }
    }

    fn rule(&self, prefix: Option<&str>, n: u32, kind: FaultKind) {
        self.add_rule(FaultRule {
            path_prefix: prefix.map(str::to_string),
            remaining: n,
            kind,
        });
    }

    /// From now on, reports answer 404 until `callEnded + d`.
    pub fn report_not_ready_for(&self, d: Duration) {
        self.shared.lock().report_delay_ms = to_ms(d);
    }

    /// The next `n` requests answer 429 with `Retry-After: <secs>`.
    pub fn rate_limit_next(&self, n: u32, retry_after: Duration) {
        self.rule(None, n, FaultKind::RateLimit { retry_after });
    }

    /// The next `n` requests under `prefix` answer 429 with `Retry-After: <secs>`.
    pub fn rate_limit_next_on(&self, prefix: &str, n: u32, retry_after: Duration) {
        self.rule(Some(prefix), n, FaultKind::RateLimit { retry_after });
    }

    /// The next `n` requests answer `status` (a 5xx, or any) with an error body.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.rule(None, n, FaultKind::Fail { status });
    }

    /// The next `n` requests under `prefix` answer `status` with an error body.
    pub fn fail_next_on(&self, prefix: &str, n: u32, status: u16) {
        self.rule(Some(prefix), n, FaultKind::Fail { status });
    }

    /// The next `n` requests answer 200 with a body that is not JSON.
    pub fn garbage_next(&self, n: u32) {
        self.rule(None, n, FaultKind::Garbage);
    }

    /// The next `n` requests under `prefix` answer 200 with a body that is not JSON.
    pub fn garbage_next_on(&self, prefix: &str, n: u32) {
        self.rule(Some(prefix), n, FaultKind::Garbage);
    }

    /// The next `n` requests answer 200 with the real JSON answer cut in half.
    pub fn truncated_next(&self, n: u32) {
        self.rule(None, n, FaultKind::Truncated);
    }

    /// The next `n` requests under `prefix` answer 200 with truncated JSON.
    pub fn truncated_next_on(&self, prefix: &str, n: u32) {
        self.rule(Some(prefix), n, FaultKind::Truncated);
    }

    /// Cancels pending request rules, the report delay, a pending authorize denial and the
    /// Recording API's faults.
    pub fn clear(&self) {
        self.clear_media();
        let mut inner = self.shared.lock();
        inner.rules.clear();
        inner.report_delay_ms = 0;
        inner.deny_next_authorize = false;
    }

    /// From now on, each API answers 429 (`Retry-After: 1`) beyond `per_second` requests a
    /// second (a token bucket holding one second's worth); `None` lifts the limit.
    pub fn limit_rate(&self, per_second: Option<u32>) {
        self.shared.lock().rate_limit = per_second.map(super::rate_limit::RateLimit::new);
    }

    /// Drops every socket's TCP connection without a close frame.
    pub fn drop_websockets(&self) {
        to_every_socket(&self.shared.lock(), || SocketCmd::Abort);
    }

    /// For `d`, sockets read nothing (pings get no pong) and send nothing.
    pub fn stall_websockets(&self, d: Duration) {
        to_every_socket(&self.shared.lock(), || SocketCmd::Stall(d));
    }

    /// Sends `WEBSOCKET_REFRESH_REQUIRED` on every socket.
    pub fn send_refresh_required(&self) {
        control_everywhere(&self.shared, "WEBSOCKET_REFRESH_REQUIRED");
    }

    /// Sends `WEBSOCKET_TO_BE_CLOSED` on every socket, then closes those sockets after the
    /// grace. As GoTo's guide warns that a new channel may be needed, the channels retire too:
    /// they expire after the grace, whatever refreshes they get; a client must make new ones.
    pub fn send_to_be_closed(&self) {
        control_everywhere(&self.shared, "WEBSOCKET_TO_BE_CLOSED");
        let grace = self.shared.config.to_be_closed_grace;
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        let retire_at = now_ms().saturating_add(grace_ms);
        {
            let mut inner = self.shared.lock();
            to_every_socket(&inner, || SocketCmd::CloseAfter(grace));
            for c in &mut inner.channels {
                c.retire_at_ms = Some(retire_at);
                c.expires_ms = c.expires_ms.min(retire_at);
                c.refresh_sent = true;
            }
        }
        self.shared.keeper_wake.notify_one();
    }

    /// Every channel expires now: sockets closed, subscriptions gone, refresh/delete answer 404.
    pub fn expire_channels(&self) {
        let mut inner = self.shared.lock();
        for c in &mut inner.channels {
            c.expires_ms = i64::MIN;
        }
        purge_expired(&mut inner, now_ms());
    }

    /// Deletes every subscription, recording subscriptions too; channels stay.
    pub fn delete_subscriptions(&self) {
        let mut inner = self.shared.lock();
        inner.subscriptions.clear();
        inner.media.subscriptions.clear();
    }

    /// Every access token issued so far is expired; refresh tokens still work.
    pub fn expire_tokens(&self) {
        let now = now_ms();
        for t in self.shared.lock().access_tokens.values_mut() {
            t.expires_ms = t.expires_ms.min(now - 1);
        }
    }

    /// Every access and refresh token is revoked.
    pub fn revoke_tokens(&self) {
        let mut inner = self.shared.lock();
        for t in inner.access_tokens.values_mut() {
            t.revoked = true;
        }
        inner.refresh_tokens.clear();
    }

    /// Sends a text frame that is not JSON, then a JSON notification of an unknown source/type.
    pub fn send_malformed_frame(&self) {
        let shared = &self.shared;
        let inner = shared.lock();
        to_every_socket(&inner, || SocketCmd::Text("this is not JSON {".to_string()));
        to_every_socket(&inner, || {
            SocketCmd::Text(unknown_frame(shared.next_event_id()))
        });
    }

    /// The next authorize request redirects with `error=access_denied`.
    pub fn deny_next_authorize(&self) {
        self.shared.lock().deny_next_authorize = true;
    }
}

/// Takes the first live rule that applies to `path`, spending one of its uses.
pub(crate) fn take_rule(shared: &Shared, path: &str) -> Option<FaultKind> {
    let mut inner = shared.lock();
    let pos = inner.rules.iter().position(|r| {
        r.remaining > 0 && r.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
    })?;
    let rule = &mut inner.rules[pos];
    rule.remaining -= 1;
    let kind = rule.kind.clone();
    if rule.remaining == 0 {
        inner.rules.remove(pos);
    }
    Some(kind)
}

/// The 429 a request gets when it exceeds the configured per-API limit.
pub(crate) fn over_limit(shared: &Shared, path: &str) -> Option<FaultKind> {
    let admitted = shared
        .lock()
        .rate_limit
        .as_mut()
        .is_none_or(|limit| limit.admit(path, std::time::Instant::now()));
    (!admitted).then_some(FaultKind::RateLimit {
        retry_after: Duration::from_secs(1),
    })
}
