//! What `/healthz` answers: healthy only while `listen` is Ready and nothing it depends on is
//! down. Each part that can fail (the connection to GoTo now, the store later) sets or clears
//! its own problem, so a load balancer or Kubernetes sees one verdict with the reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Longest reason kept, so a long or hostile server message cannot bloat answers.
const MAX_REASON: usize = 300;

/// The shared health state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    /// `None` while listening; else why not.
    not_listening: Option<String>,
    /// Problems of other parts, by part ("store", …).
    problems: BTreeMap<&'static str, String>,
}

/// Why `/healthz` answers 503: not listening, or a part is down. Shown one reason a line,
/// each already one bounded line of its own (see [`one_line`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .reasons.join("\n"))]
pub struct Unhealthy {
    /// Why not listening first (when so), then `part: reason` for each part that is down.
    pub reasons: Vec<String>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                not_listening: Some(
                    "starting: setting up the channel, subscriptions and WebSocket".to_string(),
                ),
                problems: BTreeMap::new(),
            })),
        }
    }
}

impl Health {
    /// Ready: channel, subscriptions and WebSocket are up.
    pub fn listening(&self) {
        self.with(|state| state.not_listening = None);
    }

    /// Not listening, and why (for example a lost connection).
    pub fn not_listening(&self, reason: &str) {
        let reason = one_line(reason);
        self.with(|state| state.not_listening = Some(reason));
    }

    /// `part` (for example `"store"`) is down: unhealthy until [`Health::resolved`]. Answers
    /// whether `part` was healthy until now, so a caller can say so once, not at every try.
    pub fn problem(&self, part: &'static str, reason: &str) -> bool {
        let reason = one_line(reason);
        self.with(|state| state.problems.insert(part, reason).is_none())
    }

    /// `part` works again; answers whether it had a problem until now.
    pub fn resolved(&self, part: &'static str) -> bool {
        self.with(|state| state.problems.remove(part).is_some())
    }

    /// `Ok` when healthy, else every reason.
    pub fn check(&self) -> Result<(), Unhealthy> {
        self.with(|state| {
            let mut reasons: Vec<String> = state.not_listening.iter().cloned().collect();
            reasons.extend(
                state
                    .problems
                    .iter()
                    .map(|(part, reason)| format!("{part}: {reason}")),
            );
            if reasons.is_empty() {
                Ok(())
            } else {
                Err(Unhealthy { reasons })
            }
        })
    }

    fn with<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        // A panic elsewhere while holding the lock leaves a state that is still meaningful.
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut state)
    }
}

/// A reason as one bounded line of printable text: it may carry a server's words, and it ends
/// up in an HTTP body and in systemd's `STATUS=`, where a line break would start a new field.
pub fn one_line(reason: &str) -> String {
    let mut line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect();
    if reason.chars().count() > MAX_REASON {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_until_listening_and_while_a_part_is_down() {
        let health = Health::default();
        let reasons = |health: &Health| health.check().map_err(|e| e.to_string());
        assert!(reasons(&health).unwrap_err().starts_with("starting"));
        health.listening();
        assert_eq!(health.check(), Ok(()));
        health.problem("store", "connection refused");
        assert_eq!(
            reasons(&health),
            Err("store: connection refused".to_string())
        );
        health.resolved("store");
        health.not_listening("reconnecting");
        assert_eq!(reasons(&health), Err("reconnecting".to_string()));
    }

    #[test]
    fn every_reason_gets_its_own_line() {
        let health = Health::default();
        health.not_listening("reconnecting");
        health.problem("store", "disk full");
        health.problem("delivery", "outbox stuck");
        let unhealthy = health.check().unwrap_err();
        assert_eq!(
            unhealthy.reasons,
            ["reconnecting", "delivery: outbox stuck", "store: disk full"]
        );
        assert_eq!(
            unhealthy.to_string(),
            "reconnecting\ndelivery: outbox stuck\nstore: disk full"
        );
    }

    #[test]
    fn a_reason_cannot_add_lines_or_grow_without_bound() {
        let line = one_line("a\nREADY=1\r\u{1b}[31m");
        assert!(!line.contains(['\n', '\r', '\u{1b}']), "{line:?}");
        assert_eq!(one_line(&"x".repeat(1000)).chars().count(), MAX_REASON + 1);
    }
}
