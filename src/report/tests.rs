//! The view reads what cer needs from real reports and from odd shapes, and never more.

use super::*;

/// GoTo's captured report, whole (the trimmed fixture leaves most call states out).
const VOICEMAIL: &str =
    include_str!("../../tests/fixtures/spiritai-report_answered_then_voicemail.json");

#[test]
fn reads_the_fixture_report() {
    let report = Report::parse(VOICEMAIL).unwrap();
    assert_eq!(report.text(), VOICEMAIL, "the exact text is kept");
    let facts = report.facts();
    assert_eq!(report.id(), "b6ad7073-be3a-31d5-a956-777109126542");
    assert_eq!(facts.direction.as_deref(), Some("INBOUND"));
    assert_eq!(
        facts.call_ended,
        Some("2026-09-30T15:54:43.005Z".parse().unwrap())
    );
    let caller = facts.caller.clone().unwrap();
    assert_eq!(caller.name.as_deref(), Some("PROBE CALLER"));
    assert_eq!(caller.number.as_deref(), Some("+12015550100"));
    assert_eq!(
        facts.callee.clone().unwrap().number.as_deref(),
        Some("8633")
    );
    assert_eq!(facts.others, 2);
    assert!(facts.reach.connected);
}

#[test]
fn only_a_json_object_is_a_report() {
    for bad in [
        "[1]",
        "",
        "  ",
        "{",
        r#"{"a":1} x"#,
        "null",
        r#"{"a":"\u001"}"#,
    ] {
        assert!(Report::parse(bad).is_err(), "{bad:?}");
    }
    let empty = Report::parse(" {} ").unwrap();
    assert_eq!(empty.facts(), &Facts::default());
    assert_eq!(empty.id(), "");
}

#[test]
fn a_field_of_an_odd_type_is_missing_not_an_error() {
    let odd = r#"{"conversationSpaceId": 7, "callEnded": "not a time", "direction": ["IN"],
        "participants": {"id": "x"}, "callStates": [0, "x", {"participants": 5},
        {"participants": [1, {"id": "a", "originator": "b", "status": {"value": "CONNECTED"}}]}],
        "interactiveVoiceResponseSystems": [[{"type": {"value": "VOICEMAIL"}}]]}"#;
    let report = Report::parse(odd).unwrap();
    let facts = report.facts();
    assert_eq!(facts.id, None);
    assert_eq!(facts.call_ended, None);
    assert_eq!(facts.direction, None);
    assert_eq!(facts.caller, None);
    assert!(facts.reach.connected && facts.reach.rung && facts.reach.any_state);
    assert!(!facts.reach.voicemail_message);
}

#[test]
fn escaped_text_is_decoded_and_parties_trimmed() {
    let text = r#"{"conversationSpaceId":"b6ad7073-be3a-31d5-a956-77710912654\u0032",
        "participants":[{"id":"2","originator":"1","type":{"name":"  Ann\u00e9 ","extensionNumber":"8625"}},
                        {"id":"1","originator":"1","type":{"caller":{"name":" ","number":"+1"}}}]}"#;
    let report = Report::parse(text).unwrap();
    assert_eq!(report.id(), "b6ad7073-be3a-31d5-a956-777109126542");
    let facts = report.facts();
    assert_eq!(
        facts.caller,
        Some(Party {
            name: None,
            number: Some("+1".into())
        })
    );
    assert_eq!(
        facts.callee,
        Some(Party {
            name: Some("Anné".into()),
            number: Some("8625".into())
        })
    );
    assert_eq!(facts.others, 1);
}

#[test]
fn without_an_originator_the_first_participant_is_the_caller() {
    let text =
        r#"{"participants":[{"type":{"name":"A"}},{"type":{"name":"B"}},{"type":{"name":"C"}}]}"#;
    let facts = Report::parse(text).unwrap().facts().clone();
    assert_eq!(facts.caller.unwrap().name.as_deref(), Some("A"));
    assert_eq!(facts.callee.unwrap().name.as_deref(), Some("B"));
    assert_eq!(facts.others, 2);
}

#[test]
fn the_caller_rule_needs_an_id_that_is_its_own_originator() {
    assert!(is_caller(Some("a"), Some("a")));
    assert!(!is_caller(Some("a"), Some("b")));
    assert!(!is_caller(None, None));
    assert!(is_caller_value(
        &serde_json::json!({"id": "a", "originator": "a"})
    ));
    assert!(!is_caller_value(&serde_json::json!({})));
}

/// A huge array costs nothing but its text: walked, never collected.
#[test]
fn a_huge_array_is_walked_not_collected() {
    let mut text = String::from(
        r#"{"conversationSpaceId":"b6ad7073-be3a-31d5-a956-777109126542","callStates":["#,
    );
    for _ in 0..200_000 {
        text.push_str(
            r#"{"participants":[{"id":"x","originator":"y","status":{"value":"RINGING"}}]},"#,
        );
    }
    text.push_str(r#"{}],"z":["#);
    text.push_str(&"0,".repeat(500_000));
    text.push_str("0]}");
    let report = Report::parse(text.clone()).unwrap();
    assert!(report.facts().reach.rung);
    assert!(!report.facts().reach.connected);
    assert_eq!(report.text().len(), text.len());
}
