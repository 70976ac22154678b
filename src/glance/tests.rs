//! The glance's figures against a hand count over fixtures with every `callerOutcome` value.

use super::*;
use serde_json::json;

fn call(
    created: &str,
    answered_after: Option<i64>,
    length: i64,
    direction: &str,
    outcome: &str,
    caller: Value,
    participants: Value,
) -> Value {
    let created: Timestamp = created.parse().unwrap();
    let at = |secs: i64| (created + jiff::SignedDuration::from_secs(secs)).to_string();
    let mut item = json!({
        "conversationSpaceId": format!("id-{created}"),
        "callCreated": created.to_string(),
        "callEnded": at(length),
        "direction": direction,
        "caller": caller,
        "callerOutcome": outcome,
        "participants": participants,
    });
    if let Some(after) = answered_after {
        item["callAnswered"] = json!(at(after));
    }
    item
}

fn outsider(number: &str) -> Value {
    json!({"name": "CALLER", "number": number, "type": {"value": "PHONE_NUMBER"}})
}

fn line(name: &str, ext: &str) -> Value {
    json!({"name": name, "number": ext, "type": {"value": "LINE"}})
}

/// Newest first, as cer queries them. Hand count in the test below.
pub(crate) fn day() -> Vec<Value> {
    vec![
        // 15:xx: Bob (8602) calls +1 555 0001 back, answered: talk 100 s, answer 4 s.
        call(
            "2026-11-25T15:10:00Z",
            Some(4),
            104,
            "OUTBOUND",
            "NORMAL",
            line("Bob", "8602"),
            json!([outsider("+15550001")]),
        ),
        // 14:xx: +1 555 0002 leaves the queue; +1 555 0003 in voicemail; +1 555 0001 missed.
        call(
            "2026-11-25T14:50:00Z",
            Some(1),
            30,
            "INBOUND",
            "LEFT_QUEUE",
            outsider("+15550002"),
            json!([]),
        ),
        call(
            "2026-11-25T14:40:00Z",
            Some(1),
            60,
            "INBOUND",
            "VOICEMAIL",
            outsider("+15550003"),
            json!([]),
        ),
        call(
            "2026-11-25T14:30:00Z",
            None,
            20,
            "INBOUND",
            "MISSED",
            outsider("+15550001"),
            json!([]),
        ),
        // 13:xx: answered inbound through the dial plan (answer 2 s, talk 298 s) and NORMAL (answer 10, talk 50).
        call(
            "2026-11-25T13:20:00Z",
            Some(2),
            300,
            "INBOUND",
            "LEFT_DIAL_PLAN",
            outsider("+15550004"),
            json!([line("Ann", "8601")]),
        ),
        call(
            "2026-11-25T13:10:00Z",
            Some(10),
            60,
            "INBOUND",
            "NORMAL",
            outsider("+15550005"),
            json!([line("Ann", "8601"), line("Bob", "8602")]),
        ),
        // 09:xx: parked, on hold, truncated, unknown, and a missed caller who was answered later (+1 555 0005).
        call(
            "2026-11-25T09:50:00Z",
            Some(3),
            33,
            "INBOUND",
            "LEFT_PARKING_SPOT",
            outsider("+15550006"),
            json!([line("Ann", "8601")]),
        ),
        call(
            "2026-11-25T09:40:00Z",
            Some(5),
            25,
            "INBOUND",
            "LEFT_ON_HOLD",
            outsider("+15550007"),
            json!([line("Cy", "8603")]),
        ),
        call(
            "2026-11-25T09:30:00Z",
            Some(1),
            5,
            "INBOUND",
            "TRUNCATED",
            outsider("+15550008"),
            json!([]),
        ),
        call(
            "2026-11-25T09:20:00Z",
            None,
            5,
            "OUTBOUND",
            "UNKNOWN",
            line("Cy", "8603"),
            json!([]),
        ),
        call(
            "2026-11-25T09:10:00Z",
            None,
            15,
            "INBOUND",
            "MISSED",
            outsider("+15550005"),
            json!([]),
        ),
        call(
            "2026-11-25T09:00:00Z",
            None,
            9,
            "INBOUND",
            "LEFT_DIAL_PLAN",
            outsider("+15550009"),
            json!([]),
        ),
    ]
}

/// A glance of the test day with nothing counted yet.
pub(crate) fn empty_glance() -> Glance {
    Glance::new(
        "2026-11-25T00:00:00Z".parse().unwrap(),
        "2026-11-26T00:00:00Z".parse().unwrap(),
        TimeZone::UTC,
    )
}

/// A day of calls as a glance; `output`'s rendering tests draw it too.
pub(crate) fn glance() -> Glance {
    let mut glance = empty_glance();
    for item in day() {
        glance.add(&item);
    }
    glance
}

#[test]
fn counts_match_a_hand_count() {
    let g = glance();
    assert_eq!(g.calls, 12);
    assert_eq!((g.inbound, g.outbound, g.other_direction), (10, 2, 0));
    // answered: 15:10, 13:20, 13:10, 09:50 (parked), 09:40 (on hold) = 5
    // missed: 14:30, 09:10 = 2; voicemail: 14:40 = 1; abandoned: 14:50, 09:00 = 2;
    // other: TRUNCATED, UNKNOWN = 2
    let counts: Vec<u64> = Outcome::ALL.iter().map(|&o| g.outcome_count(o)).collect();
    assert_eq!(counts, vec![5, 2, 1, 2, 2]);
    assert_eq!(g.percent(5), 41.7);
    let mut hours = [0; 24];
    hours[15] = 1;
    hours[14] = 3;
    hours[13] = 2;
    hours[9] = 6;
    assert_eq!(g.per_hour, hours);
    // answer seconds of the answered calls: 4, 2, 10, 3, 5 -> sorted 2 3 4 5 10
    assert_eq!(g.answer.quantile(0.5), Some(4));
    assert_eq!(g.answer.quantile(0.9), Some(10));
    // talk seconds: 100, 298, 50, 30, 20 -> sorted 20 30 50 100 298
    assert_eq!(g.talk.quantile(0.5), Some(50));
    assert_eq!(g.talk.longest(), Some(298));
}

#[test]
fn busiest_lines_and_unreturned_callers_match_a_hand_count() {
    let g = glance();
    // Ann: 13:20, 13:10, 09:50 = 3; Bob: 15:10, 13:10 = 2; Cy: 09:40, 09:20 = 2.
    assert_eq!(
        g.busiest(),
        vec![
            ("Ann".into(), "8601".into(), 3),
            ("Bob".into(), "8602".into(), 2),
            ("Cy".into(), "8603".into(), 2),
        ]
    );
    // Unanswered inbound: 0002 (queue), 0003 (voicemail), 0001 (called back at 15:10),
    // 0005 (answered at 13:10, after its 09:10 miss), 0009 (left the dial plan).
    assert_eq!(g.not_called_back, 3);
    let numbers: Vec<&str> = g
        .not_called_back_newest
        .iter()
        .map(|u| u.number.as_str())
        .collect();
    assert_eq!(numbers, vec!["+15550002", "+15550003", "+15550009"]);
}

#[test]
fn json_has_every_figure() {
    let json = glance().to_json();
    assert_eq!(json["calls"], 12);
    assert_eq!(json["outcomes"]["answered"]["calls"], 5);
    assert_eq!(json["outcomes"]["other"]["calls"], 2);
    assert_eq!(json["callsPerHour"][9], 6);
    assert_eq!(json["answerSeconds"]["p90"], 10);
    assert_eq!(json["talkSeconds"]["longest"], 298);
    assert_eq!(json["busiestLines"][0]["name"], "Ann");
    assert_eq!(json["notCalledBack"]["callers"], 3);
    assert_eq!(
        json["notCalledBack"]["newest"][0]["lastCall"],
        "2026-11-25T14:50:00.000Z"
    );
    assert_eq!(json["from"], "2026-11-25T00:00:00.000Z");
}
