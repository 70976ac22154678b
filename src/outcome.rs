//! One outcome vocabulary for every place cer names how a call went (`listen`'s line, the
//! summaries table and glance, the store's `outcome` column): GoTo has no single field for it,
//! so it is derived here, once, from a report or from a summary.

use serde_json::Value;

/// How a call went, in cer's words (SPEC section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Answered,
    Missed,
    Voicemail,
    /// Left a queue or the dial plan unanswered.
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

    /// From a full report, which has no outcome field: a voicemail box took the call, someone
    /// besides the caller was connected, or neither.
    pub fn of_report(report: &Value) -> Outcome {
        if report_reached_voicemail(report) {
            return Outcome::Voicemail;
        }
        if report_connected_someone(report) {
            Outcome::Answered
        } else {
            Outcome::Missed
        }
    }

    /// From a report summary's `callerOutcome` (and `callAnswered`).
    pub fn of_summary(summary: &Value) -> Outcome {
        let answered = summary.get("callAnswered").is_some_and(|v| !v.is_null());
        match summary.get("callerOutcome").and_then(Value::as_str) {
            Some("VOICEMAIL") => Outcome::Voicemail,
            Some("MISSED") => Outcome::Missed,
            Some("NORMAL") if answered => Outcome::Answered,
            Some("NORMAL") => Outcome::Missed,
            Some("LEFT_QUEUE" | "LEFT_DIAL_PLAN") if answered => Outcome::Answered,
            Some("LEFT_QUEUE" | "LEFT_DIAL_PLAN") => Outcome::Abandoned,
            _ => Outcome::Other,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn report_reached_voicemail(report: &Value) -> bool {
    let ivrs = report
        .get("interactiveVoiceResponseSystems")
        .and_then(Value::as_array);
    ivrs.is_some_and(|list| {
        list.iter()
            .any(|ivr| ivr.pointer("/type/value").and_then(Value::as_str) == Some("VOICEMAIL"))
    })
}

fn report_connected_someone(report: &Value) -> bool {
    let states = report.get("callStates").and_then(Value::as_array);
    states.is_some_and(|states| {
        states.iter().any(|state| {
            let participants = state.get("participants").and_then(Value::as_array);
            participants.is_some_and(|list| {
                list.iter().any(|p| {
                    p.get("id") != p.get("originator")
                        && p.pointer("/status/value").and_then(Value::as_str) == Some("CONNECTED")
                })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_outcomes() {
        let cases = [
            (json!({"callerOutcome": "VOICEMAIL"}), Outcome::Voicemail),
            (json!({"callerOutcome": "MISSED"}), Outcome::Missed),
            (
                json!({"callerOutcome": "NORMAL", "callAnswered": "2026-01-01T00:00:00Z"}),
                Outcome::Answered,
            ),
            (json!({"callerOutcome": "LEFT_QUEUE"}), Outcome::Abandoned),
            (json!({"callerOutcome": "TRUNCATED"}), Outcome::Other),
            (json!({}), Outcome::Other),
        ];
        for (summary, expected) in cases {
            assert_eq!(Outcome::of_summary(&summary), expected, "{summary}");
        }
    }

    #[test]
    fn the_fixture_report_reached_voicemail() {
        let text = include_str!("../tests/fixtures/report_answered_then_voicemail.json");
        let report: Value = serde_json::from_str(text).unwrap();
        assert_eq!(Outcome::of_report(&report), Outcome::Voicemail);
    }
}
