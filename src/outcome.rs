//! One outcome vocabulary for every place cer names how a call went (`listen`'s line, the
//! summaries table and glance, the store's `outcome` column): GoTo has no single field for it,
//! so it is derived here, once, from a report or from a summary, and both derivations agree
//! on the same call (a test compares them over a whole simulator day).
//!
//! Why not `callerOutcome` alone: GoTo's dial plan auto-answers inbound calls, so most inbound
//! calls say `LEFT_DIAL_PLAN` and carry a `callAnswered` even when no person picked up. What
//! counts is whether a person was reached: a summary lists only the parties that answered in
//! `participants`, a report shows them `CONNECTED`; a voicemail that follows does not undo it.

use serde_json::Value;

use crate::report::{Reach, Reached};

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
    /// No person was reached, and a voicemail box took a message.
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

    /// From a full report, which has no outcome field, by whether a person was reached
    /// (SPEC section 10), in this order: someone besides the caller was connected, even if a
    /// voicemail, a transfer or a queue followed; a voicemail box took a message (a
    /// `voicemailStatus` other than `SUCCESS` took none); a queue says the caller abandoned
    /// it; someone besides the caller was rung; the caller was only ever in the dial plan.
    /// A report with none of these (no call states at all) is `other`.
    pub fn of_report(report: &impl Reached) -> Outcome {
        Self::of_reach(&report.reach())
    }

    /// The rule of [`Outcome::of_report`] over what the report's call reached.
    pub fn of_reach(reach: &Reach) -> Outcome {
        if reach.connected {
            Outcome::Answered
        } else if reach.voicemail_message {
            Outcome::Voicemail
        } else if reach.queue_abandoned {
            Outcome::Abandoned
        } else if reach.rung {
            Outcome::Missed
        } else if reach.in_dial_plan {
            Outcome::Abandoned
        } else if reach.any_state {
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
            // A summary lists only the parties that answered: someone did before the voicemail.
            Some("VOICEMAIL") if someone_answered => Outcome::Answered,
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

#[cfg(test)]
mod tests;
