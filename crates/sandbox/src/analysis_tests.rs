//! Post-call analysis is a pure function of the call and the instant, arrives after the call
//! by the documented delays, only on answered calls, and only ever appends.

use serde_json::{Map, Value, json};

use super::*;
use crate::calls::Schedule;
use crate::config::DayShape;
use crate::directory::Directory;
use crate::report::report;

const DELAY: i64 = 60_000;

fn calls(seed: u64, n: u64) -> (Directory, Vec<CallFacts>) {
    let dir = Directory::new(seed);
    let s = Schedule::new(seed, 10_000, DayShape::Flat);
    let calls = (1_790_000_000u64..1_790_000_000 + n)
        .filter_map(|i| s.call(&dir, i))
        .collect();
    (dir, calls)
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn at(dir: &Directory, call: &CallFacts, now: i64, forced: &[Forced]) -> Value {
    served(
        report(dir, call),
        call,
        (Some(DELAY), Recorded::Drawn),
        forced,
        now,
    )
}

/// An answered call that was recorded and has actions, and its two instants.
fn rich_call(dir: &Directory, all: &[CallFacts]) -> (CallFacts, i64, i64) {
    let call = all
        .iter()
        .find(|c| {
            scheduled(c, Some(DELAY), Recorded::Drawn).len() == 2
                && at(dir, c, i64::MAX, &[])["actions"].is_array()
        })
        .expect("a recorded call with actions")
        .clone();
    let adds = scheduled(&call, Some(DELAY), Recorded::Drawn);
    (call, adds[0].at, adds[1].at)
}

/// A call its draws record has no recording while drawn recordings are off, and any answered
/// call has one when placed as recorded: a benchmark then knows every download that runs.
#[test]
fn only_calls_placed_as_recorded_are_recorded_while_drawn_recordings_are_off() {
    let (dir, all) = calls(4, 400);
    let (drawn, _, _) = rich_call(&dir, &all);
    assert_eq!(
        scheduled(&drawn, Some(DELAY), Recorded::Never).len(),
        1,
        "analysis only"
    );
    let unrecorded = all
        .iter()
        .find(|c| c.connected && scheduled(c, Some(DELAY), Recorded::Drawn).len() == 1)
        .expect("an answered call its draws do not record");
    assert_eq!(
        scheduled(unrecorded, Some(DELAY), Recorded::Always).len(),
        2
    );
}

#[test]
fn the_report_gains_fields_only_from_their_instant_on() {
    let (dir, all) = calls(4, 400);
    let (call, first, second) = rich_call(&dir, &all);
    let base = report(&dir, &call);
    assert_eq!(at(&dir, &call, call.ended_ms, &[]), base, "at the end");
    assert_eq!(at(&dir, &call, first - 1, &[]), base, "just before");
    let analysed = at(&dir, &call, first, &[]);
    let mut expected = keys(&base);
    expected.extend(["callReason", "aiAnalysis", "actions"].map(String::from));
    assert_eq!(
        keys(&analysed),
        expected,
        "appended after the existing keys"
    );
    for k in keys(&base) {
        assert_eq!(analysed[&k], base[&k], "{k} unchanged");
    }
    assert_eq!(at(&dir, &call, second - 1, &[]), analysed);
    let finished = at(&dir, &call, second, &[]);
    assert_eq!(keys(&finished), expected);
    let p = recorded_participant(&call);
    assert_eq!(
        finished["participants"][p]["recordings"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        finished["participants"][p]["transcripts"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        finished["participants"][p]["recordings"][0]["transcriptEnabled"],
        true
    );
    let sentiment = finished["aiAnalysis"]["sentiment"].as_str().unwrap_or("");
    assert!(["POSITIVE", "NEUTRAL", "NEGATIVE"].contains(&sentiment));
    assert_eq!(
        keys(&finished["aiAnalysis"]),
        ["sentiment", "summary", "topics", "flags"]
    );
}

#[test]
fn analysis_comes_one_to_two_delays_after_the_end_transcripts_five_to_ten() {
    let (_, all) = calls(5, 2_000);
    for call in &all {
        let adds = scheduled(call, Some(DELAY), Recorded::Drawn);
        if let Some(a) = adds.first() {
            assert!((call.ended_ms + DELAY..call.ended_ms + 2 * DELAY).contains(&a.at));
        }
        if let Some(t) = adds.get(1) {
            assert!((call.ended_ms + 5 * DELAY..call.ended_ms + 10 * DELAY).contains(&t.at));
        }
        let at_once = scheduled(call, Some(0), Recorded::Drawn);
        assert_eq!(at_once.len(), adds.len());
        assert!(
            at_once.iter().all(|a| a.at == call.ended_ms),
            "a zero delay"
        );
        assert!(
            scheduled(call, None, Recorded::Drawn).is_empty(),
            "no analysis"
        );
    }
}

#[test]
fn only_answered_calls_gain_analysis_and_a_share_of_them_recordings() {
    let (_, all) = calls(6, 4_000);
    let (mut answered, mut recorded, mut with_actions) = (0, 0, 0);
    for call in &all {
        let adds = scheduled(call, Some(DELAY), Recorded::Drawn);
        if !call.connected {
            assert!(adds.is_empty(), "{:?} gained analysis", call.outcome);
            continue;
        }
        answered += 1;
        recorded += usize::from(adds.len() == 2);
        let first = &adds[0].changes;
        assert!(matches!(&first[0], Change::Field(k, Value::String(_)) if k == "callReason"));
        with_actions += usize::from(
            first
                .iter()
                .any(|c| matches!(c, Change::Field(k, _) if k == "actions")),
        );
    }
    assert!(answered > 1_000, "{answered}");
    let share = |n: usize| n * 100 / answered;
    assert!(
        (30..=50).contains(&share(recorded)),
        "{recorded} of {answered}"
    );
    assert!(
        (20..=40).contains(&share(with_actions)),
        "{with_actions} of {answered}"
    );
}

#[test]
fn the_same_seed_gives_the_same_analysis_and_calls_differ() {
    let (dir, a) = calls(7, 300);
    let (_, b) = calls(7, 300);
    let mut reasons = std::collections::BTreeSet::new();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            scheduled(x, Some(DELAY), Recorded::Drawn),
            scheduled(y, Some(DELAY), Recorded::Drawn)
        );
        assert_eq!(at(&dir, x, i64::MAX, &[]), at(&dir, y, i64::MAX, &[]));
        if let Some(r) = at(&dir, x, i64::MAX, &[])["callReason"].as_str() {
            reasons.insert(r.to_string());
        }
    }
    assert!(reasons.len() >= 5, "{reasons:?}");
}

#[test]
fn fields_added_by_hand_come_in_the_order_they_were_added() {
    let (dir, all) = calls(8, 400);
    let (call, first, _) = rich_call(&dir, &all);
    let base = report(&dir, &call);
    let mut fields = Map::new();
    fields.insert("callReason".into(), json!("Added by hand"));
    fields.insert("liveTranscripts".into(), json!([]));
    let forced = [(call.ended_ms + 1, fields)];
    let early = at(&dir, &call, call.ended_ms + 1, &forced);
    let mut expected = keys(&base);
    expected.extend(["callReason", "liveTranscripts"].map(String::from));
    assert_eq!(keys(&early), expected);
    // The scheduled analysis comes later: it sets callReason again where it stands, and its
    // new keys go after those already there.
    let later = at(&dir, &call, first, &forced);
    expected.extend(["aiAnalysis", "actions"].map(String::from));
    assert_eq!(keys(&later), expected);
    let default = default_fields(&call);
    assert_eq!(later["callReason"], default["callReason"]);
    assert_eq!(later["aiAnalysis"], default["aiAnalysis"]);
    // Added after the scheduled analysis, the hand-made value stays.
    let after = [(first, forced[0].1.clone())];
    assert_eq!(
        at(&dir, &call, first, &after)["callReason"],
        "Added by hand"
    );
}

#[test]
fn an_unanswered_call_can_be_given_analysis_by_hand() {
    let (dir, all) = calls(9, 100);
    let call = all.iter().find(|c| !c.connected).expect("a missed call");
    let forced = [(call.ended_ms, default_fields(call))];
    let served_now = at(&dir, call, call.ended_ms, &forced);
    let mut expected = keys(&report(&dir, call));
    expected.extend(["callReason", "aiAnalysis"].map(String::from));
    assert_eq!(keys(&served_now), expected);
    assert_eq!(
        at(&dir, call, call.ended_ms - 1, &forced),
        report(&dir, call)
    );
}
