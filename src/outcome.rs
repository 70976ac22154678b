//! One outcome vocabulary for every place cer names how a call went (`listen`'s line, the
//! summaries table and glance, the store's `outcome` column): GoTo has no single field for it,
//! so it is derived here, once, from a report or from a summary, and both derivations agree
//! on the same call (a test compares them over a whole simulator day).
//!
//! Why not `callerOutcome` alone: GoTo's dial plan auto-answers inbound calls, so most inbound
//! calls say `LEFT_DIAL_PLAN` and carry a `callAnswered` even when no person picked up. What
//! tells a person answered is whether anyone besides the caller was reached: a summary lists
//! only the parties that answered in `participants`, a report shows them `CONNECTED`.

use serde_json::Value;

/// GoTo's `callerOutcome` values as public material lists them: what `summaries --outcome`
/// (GoTo's `conversationCallerOutcome` filter) takes. GoTo may add others; cer passes any on.
pub const GOTO_CALLER_OUTCOMES: [&str; 9] = [
    "NORMAL",
    "MISSED",
    "VOICEMAIL",
    "LEFT_QUEUE",
    "LEFT_PARKING_SPOT",
    "LEFT_ON_HOLD",
    "LEFT_DIAL_PLAN",
    "TRUNCATED",
    "UNKNOWN",
];

/// How a call went, in cer's words (SPEC section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Someone besides the caller was connected.
    Answered,
    /// Phones rang (or the dialled party was called) and nobody answered.
    Missed,
    /// A voicemail box took the call.
    Voicemail,
    /// The caller left a queue or the dial plan unanswered.
    Abandoned,
    /// Anything GoTo reports that the words above do not fit; `--json` keeps GoTo's raw value.
    Other,
}

impl Outcome {
    /// Every outcome, in the order tables and the glance list them.
    pub const ALL: [Outcome; 5] = [
        Outcome::Answered,
        Outcome::Missed,
        Outcome::Voicemail,
        Outcome::Abandoned,
        Outcome::Other,
    ];

    /// The word shown to people and stored in `cer_reports.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Voicemail => "voicemail",
            Outcome::Abandoned => "abandoned",
            Outcome::Other => "other",
        }
    }

    /// From a full report, which has no outcome field. In this order: a voicemail box took
    /// the call; someone besides the caller was connected; a queue says the caller abandoned
    /// it; someone besides the caller was rung; the caller was only ever in the dial plan.
    /// A report with none of these (no call states at all) is `other`.
    pub fn of_report(report: &Value) -> Outcome {
        let ivrs = report.get("interactiveVoiceResponseSystems");
        if any_ivr(ivrs, |ivr| ivr_type(ivr) == Some("VOICEMAIL")) {
            return Outcome::Voicemail;
        }
        if any_state_participant(report, |p| {
            !is_originator(p) && status(p) == Some("CONNECTED")
        }) {
            return Outcome::Answered;
        }
        let abandoned_queue = |ivr: &Value| {
            ivr_type(ivr) == Some("CALL_QUEUE")
                && ivr.pointer("/type/leftQueueReason").and_then(Value::as_str) == Some("ABANDON")
        };
        if any_ivr(ivrs, abandoned_queue) {
            return Outcome::Abandoned;
        }
        if any_state_participant(report, |p| !is_originator(p)) {
            return Outcome::Missed;
        }
        if any_state_participant(report, |p| {
            status(p) == Some("IN_INTERACTIVE_VOICE_RESPONSE")
        }) {
            return Outcome::Abandoned;
        }
        if any_state_participant(report, |_| true) {
            Outcome::Missed
        } else {
            Outcome::Other
        }
    }

    /// From a report summary's `callerOutcome`, read with its `participants` (the parties
    /// that answered): see the README's table.
    pub fn of_summary(summary: &Value) -> Outcome {
        let someone_answered = summary
            .get("participants")
            .and_then(Value::as_array)
            .is_some_and(|list| !list.is_empty());
        let answered_at = summary.get("callAnswered").is_some_and(|v| !v.is_null());
        match summary.get("callerOutcome").and_then(Value::as_str) {
            Some("VOICEMAIL") => Outcome::Voicemail,
            Some("MISSED") => Outcome::Missed,
            Some("NORMAL") if someone_answered || answered_at => Outcome::Answered,
            Some("NORMAL") => Outcome::Missed,
            Some("LEFT_QUEUE" | "LEFT_DIAL_PLAN" | "LEFT_PARKING_SPOT" | "LEFT_ON_HOLD")
                if someone_answered =>
            {
                Outcome::Answered
            }
            Some("LEFT_QUEUE" | "LEFT_DIAL_PLAN" | "LEFT_PARKING_SPOT" | "LEFT_ON_HOLD") => {
                Outcome::Abandoned
            }
            _ => Outcome::Other,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn ivr_type(ivr: &Value) -> Option<&str> {
    ivr.pointer("/type/value").and_then(Value::as_str)
}

fn any_ivr(ivrs: Option<&Value>, test: impl Fn(&Value) -> bool) -> bool {
    ivrs.and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(test))
}

fn is_originator(participant: &Value) -> bool {
    participant.get("id") == participant.get("originator")
}

fn status(participant: &Value) -> Option<&str> {
    participant.pointer("/status/value").and_then(Value::as_str)
}

/// Whether any participant of any call state passes `test`.
fn any_state_participant(report: &Value, test: impl Fn(&Value) -> bool) -> bool {
    let states = report.get("callStates").and_then(Value::as_array);
    states.is_some_and(|states| {
        states.iter().any(|state| {
            let participants = state.get("participants").and_then(Value::as_array);
            participants.is_some_and(|list| list.iter().any(&test))
        })
    })
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
