//! The outcome table: every `callerOutcome` GoTo is known to send, and the report shapes that
//! give each word.

use super::*;
use serde_json::json;

const AT: &str = "2026-01-01T00:00:00Z";

fn summary(outcome: &str, answered: bool, participants: usize) -> Value {
    let line = json!({"name": "Ann", "number": "8625", "type": {"value": "LINE"}});
    let mut item = json!({"callerOutcome": outcome, "participants": vec![line; participants]});
    if answered {
        item["callAnswered"] = json!(AT);
    }
    item
}

#[test]
fn every_caller_outcome_gets_one_word() {
    use Outcome::*;
    let cases = [
        ("NORMAL", true, 1, Answered),
        ("NORMAL", true, 0, Answered),
        ("NORMAL", false, 0, Missed),
        ("MISSED", false, 0, Missed),
        ("VOICEMAIL", true, 0, Voicemail),
        ("LEFT_DIAL_PLAN", true, 2, Answered),
        // The dial plan auto-answers: callAnswered alone does not mean a person did.
        ("LEFT_DIAL_PLAN", true, 0, Abandoned),
        ("LEFT_QUEUE", true, 0, Abandoned),
        ("LEFT_QUEUE", true, 1, Answered),
        ("LEFT_PARKING_SPOT", true, 1, Answered),
        ("LEFT_PARKING_SPOT", true, 0, Abandoned),
        ("LEFT_ON_HOLD", true, 1, Answered),
        ("LEFT_ON_HOLD", false, 0, Abandoned),
        ("TRUNCATED", true, 1, Other),
        ("UNKNOWN", false, 0, Other),
        ("SOMETHING_NEW", true, 1, Other),
    ];
    for (value, answered, participants, expected) in cases {
        let item = summary(value, answered, participants);
        assert_eq!(Outcome::of_summary(&item), expected, "{item}");
    }
    assert_eq!(Outcome::of_summary(&json!({})), Other);
    assert_eq!(Outcome::of_summary(&json!({"callerOutcome": 7})), Other);
}

fn participant(id: &str, status: &str) -> Value {
    json!({"id": id, "originator": "caller", "status": {"value": status}, "type": {"value": "LINE"}})
}

fn report(states: Vec<Vec<Value>>, ivrs: Value) -> Value {
    let states: Vec<Value> = states
        .into_iter()
        .map(|participants| json!({"type": "ACTIVE", "participants": participants}))
        .collect();
    json!({"interactiveVoiceResponseSystems": ivrs, "callStates": states})
}

fn queue(reason: &str) -> Value {
    json!({"id": "q", "type": {"value": "CALL_QUEUE", "leftQueueReason": reason}})
}

#[test]
fn reports_get_the_same_words() {
    use Outcome::*;
    let caller_ivr = participant("caller", "IN_INTERACTIVE_VOICE_RESPONSE");
    let caller_on = participant("caller", "CONNECTED");
    let ringing = participant("ann", "RINGING");
    let answered = participant("ann", "CONNECTED");
    let voicemail = json!([{"id": "v", "type": {"value": "VOICEMAIL"}}]);
    let cases = [
        (
            report(vec![vec![caller_on.clone(), answered.clone()]], json!([])),
            Answered,
        ),
        (
            report(
                vec![vec![caller_ivr.clone(), answered.clone()]],
                json!([queue("ANSWERED")]),
            ),
            Answered,
        ),
        (
            report(vec![vec![caller_on.clone(), ringing.clone()]], json!([])),
            Missed,
        ),
        (
            report(vec![vec![caller_ivr.clone(), ringing.clone()]], json!([])),
            Missed,
        ),
        (
            report(
                vec![vec![caller_ivr.clone(), ringing.clone()]],
                voicemail.clone(),
            ),
            Voicemail,
        ),
        (
            report(
                vec![vec![caller_ivr.clone(), ringing.clone()]],
                json!([queue("ABANDON")]),
            ),
            Abandoned,
        ),
        (report(vec![vec![caller_ivr.clone()]], json!([])), Abandoned),
        (report(vec![vec![caller_on.clone()]], json!([])), Missed),
        (report(vec![], json!([])), Other),
        (json!({}), Other),
    ];
    for (report, expected) in cases {
        assert_eq!(Outcome::of_report(&report), expected, "{report}");
    }
}

#[test]
fn the_fixture_report_reached_voicemail() {
    let text = include_str!("../tests/fixtures/report_answered_then_voicemail.json");
    let report: Value = serde_json::from_str(text).unwrap();
    assert_eq!(Outcome::of_report(&report), Outcome::Voicemail);
}

#[test]
fn words_are_distinct_and_listed_once() {
    let words: std::collections::HashSet<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    assert_eq!(words.len(), Outcome::ALL.len());
}
