//! GoTo's own captured reports (`goto-api/spiritai-report_*.json`, copied to `tests/fixtures/`)
//! read as a person would read them: each page pinned at 80 columns, after reading it line by
//! line, with the outcome word in its header.

use super::*;
use crate::outcome::Outcome;

fn real(name: &str) -> Value {
    let text = match name {
        "missed" => include_str!("../../../tests/fixtures/spiritai-report_missed.json"),
        "queue_abandon" => {
            include_str!("../../../tests/fixtures/spiritai-report_queue_abandon.json")
        }
        "transfer" => include_str!("../../../tests/fixtures/spiritai-report_transfer.json"),
        "outbound_no_answer" => {
            include_str!("../../../tests/fixtures/spiritai-report_outbound_no_answer.json")
        }
        _ => include_str!("../../../tests/fixtures/spiritai-report_answered_then_voicemail.json"),
    };
    serde_json::from_str(text).unwrap()
}

fn page(report: &Value, columns: usize) -> String {
    let view = View {
        zone: TimeZone::UTC,
        columns,
        palette: Palette::new(false),
    };
    render(report, &[], &view)
}

/// The page of a captured report at 80 columns; its header carries the outcome word.
fn pinned(name: &str) -> String {
    let report = real(name);
    let text = page(&report, 80);
    let word = Outcome::of_report(&report).as_str();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["outcome", word])),
        "{text}"
    );
    assert!(text.lines().all(|l| width(l) <= 80), "{text}");
    text
}

#[test]
fn real_missed() {
    insta::assert_snapshot!(pinned("missed"));
}

#[test]
fn real_queue_abandon() {
    insta::assert_snapshot!(pinned("queue_abandon"));
}

#[test]
fn real_transfer() {
    insta::assert_snapshot!(pinned("transfer"));
}

#[test]
fn real_outbound_no_answer() {
    insta::assert_snapshot!(pinned("outbound_no_answer"));
}

#[test]
fn real_answered_then_voicemail() {
    insta::assert_snapshot!(pinned("answered_then_voicemail"));
}

fn timeline(name: &str) -> String {
    let text = page(&real(name), 80);
    let start = text.find("Timeline").unwrap();
    let end = text.find("Post-call analysis").unwrap();
    text[start..end].to_string()
}

#[test]
fn a_node_result_and_a_menu_choice_on_later_states_are_shown() {
    let lines = timeline("queue_abandon");
    assert!(lines.contains("+0:06    the caller pressed 2"), "{lines}");
    assert!(
        lines.contains("dial plan: ScheduleNode (open schedule)"),
        "{lines}"
    );
    assert!(
        lines.contains("PlaySoundClipNode (invalid configuration)"),
        "{lines}"
    );
}

#[test]
fn a_party_who_only_rang_did_not_answer_and_the_end_is_a_line() {
    let lines = timeline("answered_then_voicemail");
    assert!(
        lines.contains("+1:30    Test Person 8654 (8654) did not answer (rang 20s)"),
        "{lines}"
    );
    assert!(!lines.contains("hung up"), "{lines}");
    assert!(lines.trim_end().ends_with("+2:12    call ended"), "{lines}");
    let queue = timeline("queue_abandon");
    assert!(!queue.contains(" left"), "{queue}");
    assert!(queue.trim_end().ends_with("+1:08    call ended"), "{queue}");
}

#[test]
fn a_transfer_says_who_transferred_and_where_to() {
    let lines = timeline("transfer");
    assert!(
        lines.contains("Test Person 8648 (8648) transferred the call to queue Service -"),
        "{lines}"
    );
    assert!(!lines.contains("in direct transfer"), "{lines}");
    let voicemail = timeline("answered_then_voicemail");
    assert!(
        voicemail.contains("Test Person 8633 (8633) transferred the call to Test Person 8654"),
        "{voicemail}"
    );
}

#[test]
fn one_person_on_two_devices_is_one_party_and_queue_rounds_read_once_each() {
    let missed = page(&real("missed"), 80);
    assert_eq!(
        missed.matches("line     Test Person 8615").count(),
        1,
        "{missed}"
    );
    assert!(
        missed.contains("rang Test Person 8615 (8615) on 2 devices"),
        "{missed}"
    );
    let queue = page(&real("queue_abandon"), 80);
    assert!(
        queue.starts_with("INBOUND  PROBE CALLER (+12015550100) → queue Sales (1101)\n"),
        "{queue}"
    );
    assert_eq!(queue.matches("rang Test Person 8623").count(), 2, "{queue}");
    assert!(queue.contains("8617 (8617) again"), "{queue}");
}

#[test]
fn the_voicemail_box_is_named_by_its_owner() {
    let lines = timeline("answered_then_voicemail");
    assert!(
        lines.contains("voicemail box of Test Person 8654 (8654): the caller left a 35s"),
        "{lines}"
    );
}

#[test]
fn names_read_one_way_and_lengths_are_rounded() {
    let transfer = page(&real("transfer"), 80);
    assert!(!transfer.contains("GRAND PR     TX"), "{transfer}");
    assert!(
        transfer.contains("(6m 21s)"),
        "6m 20.6s rounds up: {transfer}"
    );
}
