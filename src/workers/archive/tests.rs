//! Which call a recording notification has fetched: a notification names only its recording.

use super::*;

/// Calls as the store gives them, none naming a recording.
fn calls(ids: &[&str]) -> Vec<(String, bool)> {
    ids.iter().map(|id| ((*id).to_string(), false)).collect()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn a_burst_of_notifications_guesses_a_different_call_each() {
    let mut notified = Notified::default();
    let now = at("2026-12-06T14:00:00Z");
    // Newest first: the newest call was not recorded, the three before it were.
    let lacking = calls(&["unrecorded", "c3", "c2", "c1"]);
    let mut guessed = Vec::new();
    for id in ["r1", "r2", "r3", "r4"] {
        let call = notified
            .next_call(MediaKind::Recording, id, &lacking)
            .unwrap();
        notified.fetching(MediaKind::Recording, id, &call, now);
        guessed.push(call);
    }
    let expected: Vec<String> = lacking.iter().map(|(call, _)| call.clone()).collect();
    assert_eq!(guessed, expected, "each call fetched once, newest first");
    // With every call fetched already: the one fetched longest ago, whose recording may have
    // come since, rather than none.
    let fifth = notified.next_call(MediaKind::Recording, "r5", &lacking);
    assert_eq!(fifth.as_deref(), Some("unrecorded"));
    notified.fetching(MediaKind::Recording, "r5", "unrecorded", now);
    let sixth = notified.next_call(MediaKind::Recording, "r6", &lacking);
    assert_eq!(sixth.as_deref(), Some("c3"));
}

#[test]
fn a_transcript_looks_first_at_calls_naming_a_recording_then_at_calls_not_fetched() {
    let mut notified = Notified::default();
    let now = at("2026-12-06T14:00:00Z");
    // The store gives those naming a recording first: c2's recording notification fetched
    // it, and it names the recording but no transcript yet.
    notified.fetching(MediaKind::Recording, "r2", "c2", now);
    let lacking = vec![
        ("c2".to_string(), true),
        ("unrecorded".to_string(), false),
        ("c1".to_string(), false),
    ];
    let transcript = notified.next_call(MediaKind::Transcript, "t2", &lacking);
    assert_eq!(transcript.as_deref(), Some("c2"));
    // Another call's recording notification fetched the unrecorded one, which named nothing:
    // a transcript whose call names no recording yet tries the call nobody fetched.
    notified.fetching(MediaKind::Recording, "r1", "unrecorded", now);
    let lacking = vec![("unrecorded".to_string(), false), ("c1".to_string(), false)];
    let transcript = notified.next_call(MediaKind::Transcript, "t1", &lacking);
    assert_eq!(transcript.as_deref(), Some("c1"));
}

#[test]
fn a_notification_never_fetches_the_same_call_twice_and_old_fetches_are_forgotten() {
    let mut notified = Notified::default();
    let then = at("2026-12-06T08:00:00Z");
    let lacking = calls(&["c1"]);
    notified.fetching(MediaKind::Recording, "r1", "c1", then);
    assert_eq!(
        notified.next_call(MediaKind::Recording, "r1", &lacking),
        None
    );
    assert_eq!(
        notified.held[&(MediaKind::Recording, "r1".to_string())],
        ["c1"]
    );
    // Beyond the window a notification's call is looked for in, the fetch is forgotten.
    let later = then + NOTIFIED_CALLS_WITHIN + SignedDuration::from_secs(1);
    notified.fetching(MediaKind::Recording, "r2", "c0", later);
    assert!(!notified.fetched.contains_key("c1"));
}

#[test]
fn held_notifications_stay_bounded() {
    let mut notified = Notified::default();
    for n in 0..=HELD_AT_MOST {
        notified.keep(MediaKind::Recording, &format!("r{n}"));
    }
    assert_eq!(notified.held.len(), HELD_AT_MOST);
}
