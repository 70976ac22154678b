//! The outcome table: every `callerOutcome` GoTo is known to send, and the report shapes that
//! give each word.

use super::*;
use serde_json::json;

use crate::report::Report;

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
        ("VOICEMAIL", false, 0, Voicemail),
        // A summary lists only the parties that answered: a person was reached first.
        ("VOICEMAIL", true, 1, Answered),
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
    let voicemail =
        json!([{"id": "v", "type": {"value": "VOICEMAIL", "voicemailStatus": "SUCCESS"}}]);
    let no_message =
        json!([{"id": "v", "type": {"value": "VOICEMAIL", "voicemailStatus": "FAILED"}}]);
    let no_status = json!([{"id": "v", "type": {"value": "VOICEMAIL"}}]);
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
        // A voicemail box that took no message is no voicemail: rung and missed.
        (
            report(
                vec![vec![caller_ivr.clone(), ringing.clone()]],
                no_message.clone(),
            ),
            Missed,
        ),
        (
            report(vec![vec![caller_ivr.clone(), ringing.clone()]], no_status),
            Missed,
        ),
        (
            report(vec![vec![caller_ivr.clone()]], no_message),
            Abandoned,
        ),
        // A person was reached before the voicemail: answered.
        (
            report(
                vec![vec![caller_on.clone(), answered.clone()]],
                voicemail.clone(),
            ),
            Answered,
        ),
        (
            report(vec![vec![caller_ivr.clone()]], voicemail.clone()),
            Voicemail,
        ),
        (
            report(
                vec![vec![caller_ivr.clone(), ringing.clone()]],
                json!([queue("ABANDON")]),
            ),
            Abandoned,
        ),
        // Answered in a queue even though the caller had left another one.
        (
            report(
                vec![vec![caller_ivr.clone(), answered.clone()]],
                json!([queue("ABANDON")]),
            ),
            Answered,
        ),
        (report(vec![vec![caller_ivr.clone()]], json!([])), Abandoned),
        (report(vec![vec![caller_on.clone()]], json!([])), Missed),
        (report(vec![], json!([])), Other),
        (json!({}), Other),
    ];
    for (report, expected) in cases {
        let typed = Report::of_value(&report).unwrap();
        assert_eq!(Outcome::of_report(&typed), expected, "{report}");
        assert_eq!(
            Outcome::of_report(&report),
            expected,
            "as a Value: {report}"
        );
    }
}

/// GoTo's own captured reports (`goto-api/spiritai-report_*.json`), each with the word a person
/// would give it (SPEC section 10).
#[test]
fn gotos_captured_reports_get_the_word_a_person_would_give_them() {
    let cases = [
        // Rang two phones, then a voicemail box that took no message (`FAILED`).
        (
            include_str!("../../tests/fixtures/spiritai-report_missed.json"),
            Outcome::Missed,
        ),
        // Left the Sales queue while phones rang.
        (
            include_str!("../../tests/fixtures/spiritai-report_queue_abandon.json"),
            Outcome::Abandoned,
        ),
        // Answered from a queue, transferred, answered again.
        (
            include_str!("../../tests/fixtures/spiritai-report_transfer.json"),
            Outcome::Answered,
        ),
        // An outbound call the other side never picked up.
        (
            include_str!("../../tests/fixtures/spiritai-report_outbound_no_answer.json"),
            Outcome::Missed,
        ),
        // Answered by an agent, then sent to voicemail, which took a message.
        (
            include_str!("../../tests/fixtures/spiritai-report_answered_then_voicemail.json"),
            Outcome::Answered,
        ),
    ];
    for (text, expected) in cases {
        let report = Report::parse(text).unwrap();
        assert_eq!(Outcome::of_report(&report), expected, "{}", report.id());
    }
}

#[test]
fn the_trimmed_fixture_without_the_answering_states_reached_voicemail() {
    let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
    assert_eq!(
        Outcome::of_report(&Report::parse(text).unwrap()),
        Outcome::Voicemail
    );
}

#[test]
fn words_are_distinct_and_listed_once() {
    let words: std::collections::HashSet<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    assert_eq!(words.len(), Outcome::ALL.len());
}
