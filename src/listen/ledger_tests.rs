//! The listen ledger: cursor moves, remembered IDs, files that survive restarts.

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

const NOW: &str = "2026-11-24T12:00:00Z";

#[test]
fn survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec!["111".to_string()];
    let mut ledgers = Ledgers::load(dir.path(), &keys);
    assert_eq!(ledgers.cursor(), None);
    ledgers
        .record("a", Some("111"), at("2026-11-24T10:00:00Z"), at(NOW), true)
        .unwrap();
    let again = Ledgers::load(dir.path(), &keys);
    assert!(again.seen("a"));
    assert_eq!(again.cursor(), Some(at("2026-11-24T10:00:00Z")));
}

#[test]
fn the_cursor_never_goes_back_nor_past_now() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledgers = Ledgers::load(dir.path(), &["1".to_string()]);
    ledgers
        .record("a", Some("1"), at("2026-11-24T10:00:00Z"), at(NOW), true)
        .unwrap();
    ledgers
        .record("b", Some("1"), at("2026-11-24T09:00:00Z"), at(NOW), true)
        .unwrap();
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T10:00:00Z")));
    ledgers
        .record("c", Some("1"), at("2027-01-01T00:00:00Z"), at(NOW), true)
        .unwrap();
    assert_eq!(ledgers.cursor(), Some(at(NOW)));
}

#[test]
fn recording_without_advance_keeps_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledgers = Ledgers::load(dir.path(), &["1".to_string()]);
    ledgers.start_at(at("2026-11-24T08:00:00Z")).unwrap();
    ledgers
        .record("a", Some("1"), at("2026-11-24T11:00:00Z"), at(NOW), false)
        .unwrap();
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T08:00:00Z")));
    assert!(ledgers.seen("a"));
}

// Regression: IDs of old calls were forgotten as soon as they were recorded, so a repeated
// notification of a call that ended long ago was printed twice.
#[test]
fn an_old_call_just_emitted_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledgers = Ledgers::load(dir.path(), &["1".to_string()]);
    ledgers.start_at(at(NOW)).unwrap();
    ledgers
        .record("old", Some("1"), at("2026-09-30T15:54:43Z"), at(NOW), true)
        .unwrap();
    assert!(ledgers.seen("old"));
}

#[test]
fn ids_are_forgotten_once_far_behind_the_cursor_and_emitted_long_ago() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledgers = Ledgers::load(dir.path(), &["1".to_string()]);
    ledgers
        .record(
            "a",
            Some("1"),
            at("2026-11-24T10:00:00Z"),
            at("2026-11-24T10:00:01Z"),
            true,
        )
        .unwrap();
    ledgers
        .record("b", Some("1"), at("2026-11-24T11:59:00Z"), at(NOW), true)
        .unwrap();
    assert!(!ledgers.seen("a"));
    assert!(ledgers.seen("b"));
    assert_eq!(ledgers.recent_len(), 1);
}

#[test]
fn a_report_of_another_account_moves_no_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec!["1".to_string(), "2".to_string()];
    let mut ledgers = Ledgers::load(dir.path(), &keys);
    ledgers.start_at(at("2026-11-24T08:00:00Z")).unwrap();
    ledgers
        .record("x", Some("9"), at("2026-11-24T11:00:00Z"), at(NOW), true)
        .unwrap();
    assert!(ledgers.seen("x"));
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T08:00:00Z")));
}

// Regression: a corrupt file was replaced by "now" with no copy kept, so the calls that ended
// while cer was down were never backfilled.
#[test]
fn a_corrupt_file_is_kept_aside_and_its_cursor_salvaged() {
    let dir = tempfile::tempdir().unwrap();
    let bad = r#"{"accountKey":"1","cursor":"2026-11-24T10:00:00Z","recent":{"a":"#;
    std::fs::write(dir.path().join("cursor-1.json"), bad).unwrap();
    let ledgers = Ledgers::load_at(dir.path(), &["1".to_string()], at(NOW));
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T10:00:00Z")));
    assert!(ledgers.unrecoverable().is_empty());
    let copies: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("cursor-1.json.corrupt-"))
        .collect();
    assert_eq!(copies.len(), 1);
    let copy = std::fs::read_to_string(dir.path().join(&copies[0])).unwrap();
    assert_eq!(copy, bad);
}

#[test]
fn a_corrupt_file_without_a_cursor_needs_since_until_given_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cursor-1.json"), "{oops").unwrap();
    let mut ledgers = Ledgers::load_at(dir.path(), &["1".to_string()], at(NOW));
    assert_eq!(ledgers.cursor(), None);
    assert_eq!(ledgers.unrecoverable().len(), 1);
    ledgers.start_at(at("2026-11-24T08:00:00Z")).unwrap();
    assert!(ledgers.unrecoverable().is_empty());
}

// Regression: a cursor in the future was kept, so every reconnect gap before it was skipped.
#[test]
fn a_cursor_in_the_future_is_clamped_to_now() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledgers = Ledgers::load_at(dir.path(), &["1".to_string()], at("2027-06-01T00:00:00Z"));
    ledgers.start_at(at("2027-06-01T00:00:00Z")).unwrap();
    let again = Ledgers::load_at(dir.path(), &["1".to_string()], at(NOW));
    assert_eq!(again.cursor(), Some(at(NOW)));
}

#[test]
fn account_keys_cannot_escape_the_folder() {
    assert_eq!(file_name("../etc/passwd"), "cursor-___etc_passwd.json");
}

#[test]
fn each_account_has_its_own_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let keys = vec!["1".to_string(), "2".to_string()];
    let mut ledgers = Ledgers::load(dir.path(), &keys);
    ledgers
        .record("a", Some("2"), at("2026-11-24T10:00:00Z"), at(NOW), true)
        .unwrap();
    assert_eq!(ledgers.cursor(), None, "account 1 has no cursor yet");
    ledgers
        .advance_all(at("2026-11-24T09:00:00Z"), at(NOW))
        .unwrap();
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T09:00:00Z")));
}
