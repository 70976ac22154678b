//! The listen ledger: cursor moves, remembered IDs, and what survives a restart in the store.

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

const NOW: &str = "2026-11-24T12:00:00Z";

#[test]
fn the_cursor_never_goes_back_nor_past_now() {
    let mut ledgers = Ledgers::new(&["1".to_string()]);
    ledgers.record("a", Some("1"), at("2026-11-24T10:00:00Z"), at(NOW), true);
    ledgers.record("b", Some("1"), at("2026-11-24T09:00:00Z"), at(NOW), true);
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T10:00:00Z")));
    ledgers.record("c", Some("1"), at("2027-01-01T00:00:00Z"), at(NOW), true);
    assert_eq!(ledgers.cursor(), Some(at(NOW)));
}

#[test]
fn recording_without_advance_keeps_the_cursor() {
    let mut ledgers = Ledgers::new(&["1".to_string()]);
    ledgers.start_at(at("2026-11-24T08:00:00Z"));
    ledgers.record("a", Some("1"), at("2026-11-24T11:00:00Z"), at(NOW), false);
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T08:00:00Z")));
    assert!(ledgers.seen("a"));
}

// Regression: IDs of old calls were forgotten as soon as they were recorded, so a repeated
// notification of a call that ended long ago was printed twice.
#[test]
fn an_old_call_just_emitted_is_remembered() {
    let mut ledgers = Ledgers::new(&["1".to_string()]);
    ledgers.start_at(at(NOW));
    ledgers.record("old", Some("1"), at("2026-09-30T15:54:43Z"), at(NOW), true);
    assert!(ledgers.seen("old"));
}

#[test]
fn ids_are_forgotten_once_far_behind_the_cursor_and_emitted_long_ago() {
    let mut ledgers = Ledgers::new(&["1".to_string()]);
    ledgers.record(
        "a",
        Some("1"),
        at("2026-11-24T10:00:00Z"),
        at("2026-11-24T10:00:01Z"),
        true,
    );
    ledgers.record("b", Some("1"), at("2026-11-24T11:59:00Z"), at(NOW), true);
    assert!(!ledgers.seen("a"));
    assert!(ledgers.seen("b"));
    assert_eq!(ledgers.recent_len(), 1);
}

#[test]
fn a_report_of_another_account_moves_no_cursor() {
    let keys = vec!["1".to_string(), "2".to_string()];
    let mut ledgers = Ledgers::new(&keys);
    ledgers.start_at(at("2026-11-24T08:00:00Z"));
    ledgers.record("x", Some("9"), at("2026-11-24T11:00:00Z"), at(NOW), true);
    assert!(ledgers.seen("x"));
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T08:00:00Z")));
}

#[test]
fn each_account_has_its_own_cursor() {
    let keys = vec!["1".to_string(), "2".to_string()];
    let mut ledgers = Ledgers::new(&keys);
    ledgers.record("a", Some("2"), at("2026-11-24T10:00:00Z"), at(NOW), true);
    assert_eq!(ledgers.cursor(), None, "account 1 has no cursor yet");
    ledgers.advance_all(at("2026-11-24T09:00:00Z"), at(NOW));
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T09:00:00Z")));
}

async fn store_in(dir: &std::path::Path) -> Store {
    Store::open(&crate::store::StoreLocation::Sqlite(dir.join("cer.db")))
        .await
        .unwrap()
}

#[tokio::test]
async fn survives_a_restart_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let keys = vec!["111".to_string()];
    let ended = at("2026-11-24T11:58:00Z");
    let report =
        serde_json::json!({"conversationSpaceId": "a", "callEnded": "2026-11-24T11:58:00Z"});
    let queue = crate::store::outbox::Queue::NONE;
    let ledgers = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    let cursor = ledgers.cursor_after(Some("111"), ended, at(NOW), true);
    assert_eq!(cursor, Some(("111".to_string(), ended)));
    let cursor = cursor.as_ref().map(|(k, t)| (k.as_str(), *t));
    store
        .store_report(
            &crate::report::Report::of_value(&report).unwrap(),
            cursor,
            &queue,
            at(NOW),
        )
        .await
        .unwrap();
    let again = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    assert!(again.seen("a"));
    assert_eq!(again.cursor(), Some(ended));
}

#[tokio::test]
async fn a_json_cursor_file_is_imported_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let old = concat!(
        r#"{"accountKey":"1","cursor":"2026-11-24T09:00:00Z","recent":{"x":{"ended":"2026-11-24T08:59:00Z","#,
        r#""emitted":"2026-11-24T09:00:00Z"}}}"#,
    );
    std::fs::write(dir.path().join("cursor-1.json"), old).unwrap();
    let keys = vec!["1".to_string()];
    let ledgers = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    assert_eq!(ledgers.cursor(), Some(at("2026-11-24T09:00:00Z")));
    assert!(ledgers.seen("x"));
    assert!(!dir.path().join("cursor-1.json").exists());
    assert!(dir.path().join("cursor-1.json.imported").exists());
    // A later, further cursor in the store is not moved back by anything.
    let moves = [("1".to_string(), at("2026-11-24T10:00:00Z"))];
    save_cursor_moves(&store, &moves, at(NOW)).await.unwrap();
    let again = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    assert_eq!(again.cursor(), Some(at("2026-11-24T10:00:00Z")));
}

// Regression: a corrupt file was replaced by "now" with no copy kept, so the calls that ended
// while cer was down were never backfilled.
#[tokio::test]
async fn a_corrupt_file_is_kept_aside_and_its_cursor_salvaged() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let bad = r#"{"accountKey":"1","cursor":"2026-11-24T10:00:00Z","recent":{"a":"#;
    std::fs::write(dir.path().join("cursor-1.json"), bad).unwrap();
    let ledgers = Ledgers::load(&store, dir.path(), &["1".to_string()], at(NOW))
        .await
        .unwrap();
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

#[tokio::test]
async fn a_corrupt_file_without_a_cursor_needs_since_until_given_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    std::fs::write(dir.path().join("cursor-1.json"), "{oops").unwrap();
    let keys = ["1".to_string()];
    let mut ledgers = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    assert_eq!(ledgers.cursor(), None);
    assert_eq!(ledgers.unrecoverable().len(), 1);
    let moves = ledgers.start_at(at("2026-11-24T08:00:00Z"));
    assert!(ledgers.unrecoverable().is_empty());
    // Once the store has a cursor (from `--since`), the old file is set aside for good.
    save_cursor_moves(&store, &moves, at(NOW)).await.unwrap();
    let again = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    assert!(again.unrecoverable().is_empty());
    assert!(!dir.path().join("cursor-1.json").exists());
}

// Regression: a cursor in the future was kept, so every reconnect gap before it was skipped.
#[tokio::test]
async fn a_cursor_in_the_future_is_pulled_back_to_now_in_the_store_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let keys = ["1".to_string()];
    let future = [("1".to_string(), at("2027-06-01T00:00:00Z"))];
    save_cursor_moves(&store, &future, at(NOW)).await.unwrap();
    let ledgers = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap();
    assert_eq!(ledgers.cursor(), Some(at(NOW)));
    assert_eq!(store.cursors().await.unwrap().get("1"), Some(&at(NOW)));
}

/// `n` IDs `id-0`… recorded a millisecond apart, all ending just before `NOW`.
fn record_many(ledgers: &mut Ledgers, n: i64) {
    for i in 0..n {
        let emitted = at(NOW) + SignedDuration::from_millis(i);
        let ended = at(NOW) - SignedDuration::from_secs(1);
        ledgers.record(&format!("id-{i}"), Some("1"), ended, emitted, true);
    }
}

// A burst of calls kept every ID of the last 15 minutes: 10,000 at once grew a listener by
// 1.4 MB (`cargo bench --bench cer`). The memory is now bounded whatever the pace.
#[test]
fn a_burst_is_remembered_up_to_the_limit_newest_first() {
    let mut ledgers = Ledgers::new(&["1".to_string()]).remembering_at_most(100);
    record_many(&mut ledgers, 1_000);
    assert!(ledgers.recent_len() <= 125, "{}", ledgers.recent_len());
    assert!(ledgers.recent_len() >= 100, "{}", ledgers.recent_len());
    assert!(ledgers.seen("id-999"), "the newest stays");
    assert!(!ledgers.seen("id-0"), "the oldest goes");
    // Under the limit, nothing is forgotten before its time.
    let mut quiet = Ledgers::new(&["1".to_string()]);
    record_many(&mut quiet, 900);
    assert_eq!(quiet.recent_len(), 900);
}

// The burst above at the real limit: the table must stay in its 2,048 slots (1,792 IDs), the
// size the limit was chosen for, or a listener holds twice the memory after its first burst.
#[test]
fn a_full_ledger_stays_in_the_table_size_its_limit_was_chosen_for() {
    let mut ledgers = Ledgers::new(&["1".to_string()]);
    record_many(&mut ledgers, 10_000);
    assert!(ledgers.recent_len() >= REMEMBER_AT_MOST);
    let capacity = ledgers.ledgers[0].record.recent.capacity();
    assert!(capacity <= 1_792, "a table of {capacity} IDs");
}

#[tokio::test]
async fn a_restart_remembers_at_most_the_limit_of_what_the_store_has() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let queue = crate::store::outbox::Queue::NONE;
    for minute in 0..10 {
        let ended = format!("2026-11-24T11:5{minute}:00Z");
        let report =
            serde_json::json!({"conversationSpaceId": format!("c{minute}"), "callEnded": ended});
        let cursor = Some(("1", at(&ended)));
        store
            .store_report(
                &crate::report::Report::of_value(&report).unwrap(),
                cursor,
                &queue,
                at(NOW),
            )
            .await
            .unwrap();
    }
    let keys = ["1".to_string()];
    let ledgers = Ledgers::load(&store, dir.path(), &keys, at(NOW))
        .await
        .unwrap()
        .remembering_at_most(4);
    assert_eq!(ledgers.recent_len(), 4);
    assert!(
        ledgers.seen("c9") && !ledgers.seen("c0"),
        "the calls that ended last"
    );
}
