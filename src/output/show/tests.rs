//! `cer show` pages pinned as snapshots: GoTo's real (trimmed) report, hand-made reports for
//! what the simulator never does (hold, transfer, a dial plan left unanswered, post-call
//! analysis with revisions), hostile names, and the width rule at every width from 60 to 200.

use super::*;
use crate::output::text::strip_styles;
use jiff::Timestamp;
use serde_json::json;

fn fixture() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/report_answered_then_voicemail.json"
    ))
    .unwrap()
}

fn page_with(report: &Value, revisions: &[Revision<'_>], columns: usize, colour: bool) -> String {
    let view = View {
        zone: TimeZone::UTC,
        columns,
        palette: Palette::new(colour),
    };
    render(report, revisions, &view)
}

fn page(report: &Value, columns: usize) -> String {
    page_with(report, &[], columns, false)
}

fn line(id: &str, name: &str, ext: &str) -> Value {
    json!({"id": id, "originator": "c", "type": {"value": "LINE", "name": name, "extensionNumber": ext}})
}

fn with_status(mut participant: Value, status: &str) -> Value {
    participant["status"] = json!({"value": status});
    participant
}

fn caller(name: &str) -> Value {
    json!({"id": "c", "originator": "c", "type": {"value": "PHONE_NUMBER", "number": "+18005550199",
        "name": "+18005550199", "caller": {"name": name, "number": "+12015550123"}}})
}

fn state(seq: u64, at: &str, participants: Vec<Value>, ivrs: Vec<Value>) -> Value {
    let kind = match seq {
        1 => "STARTING",
        _ if participants.is_empty() => "ENDING",
        _ => "ACTIVE",
    };
    json!({"id": format!("s{seq}"), "type": kind, "sequenceNumber": seq,
        "timestamp": format!("2026-11-25T09:{at}Z"), "participants": participants,
        "interactiveVoiceResponseSystems": ivrs})
}

/// Answered by Ann, put on hold, transferred to Bob, who hangs up.
fn held_and_transferred(caller_name: &str) -> Value {
    let (c, ann, bob) = (
        caller(caller_name),
        line("a", "Ann Example", "8601"),
        line("b", "Bob", "8602"),
    );
    json!({
        "conversationSpaceId": "aaaaaaaa-1111-2222-3333-444444444444",
        "callCreated": "2026-11-25T09:00:00Z",
        "callEnded": "2026-11-25T09:14:05Z",
        "direction": "INBOUND",
        "participants": [c, ann, bob],
        "interactiveVoiceResponseSystems": [],
        "hangupOriginatorId": "b",
        "callStates": [
            state(1, "00:00", vec![with_status(c.clone(), "RINGING")], vec![]),
            state(2, "00:01", vec![with_status(c.clone(), "RINGING"), with_status(ann.clone(), "RINGING")], vec![]),
            state(3, "00:09", vec![with_status(c.clone(), "CONNECTED"), with_status(ann.clone(), "CONNECTED")], vec![]),
            // A snapshot that says nothing new: no line.
            state(4, "00:30", vec![with_status(c.clone(), "CONNECTED"), with_status(ann.clone(), "CONNECTED")], vec![]),
            state(5, "02:00", vec![with_status(c.clone(), "ON_HOLD"), with_status(ann.clone(), "CONNECTED")], vec![]),
            state(6, "03:10", vec![with_status(c.clone(), "CONNECTED"), with_status(ann.clone(), "CONNECTED")], vec![]),
            state(7, "04:00", vec![with_status(c.clone(), "CONNECTED"), with_status(ann.clone(), "CONNECTED"),
                with_status(bob.clone(), "RINGING")], vec![]),
            state(8, "04:05", vec![with_status(c.clone(), "CONNECTED"), with_status(ann.clone(),
                "DISCONNECTING"), with_status(bob.clone(), "CONNECTED")], vec![]),
            state(9, "14:04", vec![with_status(c.clone(), "DISCONNECTING"), with_status(bob.clone(),
                "DISCONNECTING")], vec![]),
            state(10, "14:05", vec![], vec![]),
        ]
    })
}

/// The caller hears the dial plan's menu and hangs up before anyone rings.
fn left_the_dial_plan() -> Value {
    let c = caller("Quick Quitter");
    let plan = |node: &str, result: &str| {
        json!({"id": "dp", "status": {"value": "CONNECTED"}, "originator": "c",
        "type": {"dialPlanId": "x", "currentNode": {"id": format!("{node}_1"), "type": node,
            "result": result}, "value": "DIAL_PLAN"}})
    };
    json!({
        "conversationSpaceId": "bbbbbbbb-1111-2222-3333-444444444444",
        "callCreated": "2026-11-25T09:00:00Z",
        "callEnded": "2026-11-25T09:00:21Z",
        "direction": "INBOUND",
        "participants": [c],
        "interactiveVoiceResponseSystems": [],
        "hangupOriginatorId": "c",
        "callStates": [
            state(1, "00:00", vec![with_status(c.clone(), "RINGING")], vec![]),
            state(2, "00:00", vec![with_status(c.clone(), "IN_INTERACTIVE_VOICE_RESPONSE")],
                vec![plan("ModifyCallerIdNode", "CONTINUE")]),
            state(3, "00:01", vec![with_status(c.clone(), "IN_INTERACTIVE_VOICE_RESPONSE")],
                vec![plan("ModifyCallerIdNode", "CONTINUE")]),
            state(4, "00:02", vec![with_status(c.clone(), "IN_INTERACTIVE_VOICE_RESPONSE")],
                vec![plan("MenuNode", "TIMEOUT")]),
            state(5, "00:20", vec![with_status(c.clone(), "DISCONNECTING")], vec![]),
            state(6, "00:21", vec![], vec![]),
        ]
    })
}

#[test]
fn the_real_report_at_80_columns() {
    insta::assert_snapshot!(page(&fixture(), 80));
}

#[test]
fn the_real_report_at_120_columns() {
    insta::assert_snapshot!(page(&fixture(), 120));
}

#[test]
fn the_real_report_at_60_columns() {
    insta::assert_snapshot!(page(&fixture(), 60));
}

#[test]
fn hold_and_transfer_read_in_order_without_repeats() {
    insta::assert_snapshot!(page(&held_and_transferred("Carol Caller"), 80));
}

#[test]
fn a_caller_who_left_the_dial_plan() {
    insta::assert_snapshot!(page(&left_the_dial_plan(), 80));
}

#[test]
fn post_call_analysis_and_revisions() {
    let first = fixture();
    let mut second = first.clone();
    let object = second.as_object_mut().unwrap();
    object.insert("callReason".into(),
        json!("The caller asked about an unpaid invoice and wanted to speak to billing, then left a message."));
    object.insert(
        "actions".into(),
        json!([{"type": {"value": "KNOWLEDGE_SEARCH", "query": "invoice due date"}}]),
    );
    object.insert(
        "aiAnalysis".into(),
        json!({"sentiment": "NEUTRAL",
        "summary": "Invoice question; voicemail left.", "topics": ["billing"], "flags": []}),
    );
    second["participants"][2]["recordings"] =
        json!([{"id": "8d1c4b2e-0000-4000-8000-000000000001"}]);
    let at = |t: &str| t.parse::<Timestamp>().unwrap();
    let revisions = [
        Revision {
            number: 1,
            fetched_at: at("2026-09-30T15:54:50Z"),
            report: &first,
        },
        Revision {
            number: 2,
            fetched_at: at("2026-09-30T15:57:01Z"),
            report: &second,
        },
    ];
    insta::assert_snapshot!(page_with(&second, &revisions, 80, false));
}

#[test]
fn hostile_names_are_escaped_and_wide_ones_fit() {
    let hostile = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\n09:00:00 fake line 山田太郎 e\u{301}\u{202e}";
    let invisible = ['\u{200b}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{feff}'];
    let hostile = format!("{hostile}{}", invisible.iter().collect::<String>());
    let hostile = hostile.as_str();
    let report = held_and_transferred(hostile);
    let text = page(&report, 80);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(!text.contains(&invisible[..]), "{text:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("09:00:00 fake")),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn every_line_fits_every_width_from_60_to_200_in_colour_and_plain() {
    let reports = [
        fixture(),
        held_and_transferred("Bartholomew Featherstonehaugh-Worthington III 山田太郎 😀"),
        left_the_dial_plan(),
    ];
    for report in &reports {
        for columns in 60..=200 {
            let coloured = page_with(report, &[], columns, true);
            let plain = page_with(report, &[], columns, false);
            assert_eq!(strip_styles(&coloured), plain, "colour changes only colour");
            for line in plain.lines() {
                assert!(width(line) <= columns, "{columns}: {line}");
            }
            assert!(
                plain.contains("+12015550") || plain.contains("+12015550100"),
                "{plain}"
            );
        }
    }
}

#[test]
fn a_queue_and_a_voicemail_box_read_once_whatever_their_ids() {
    let c = caller("Waiting Wendy");
    let queue_type = json!({"value": "CALL_QUEUE", "queueId": "q1", "queueName": "Sales", "extensionNumber": "1100"});
    let mut entry_type = queue_type.clone();
    entry_type["leftQueueReason"] = json!("ABANDON");
    entry_type["callerWaitDuration"] = json!(95_000);
    entry_type["callbackOffered"] = json!(true);
    let report = json!({
        "conversationSpaceId": "cccccccc-1111-2222-3333-444444444444",
        "callCreated": "2026-11-25T09:00:00Z",
        "callEnded": "2026-11-25T09:01:40Z",
        "direction": "INBOUND",
        "participants": [c],
        "interactiveVoiceResponseSystems": [{"id": "entry-1", "originator": "c", "type": entry_type}],
        "hangupOriginatorId": "c",
        "callStates": [
            state(1, "00:00", vec![with_status(c.clone(), "RINGING")], vec![]),
            state(2, "00:03", vec![with_status(c.clone(), "IN_INTERACTIVE_VOICE_RESPONSE")],
                vec![json!({"id": "state-1", "status": {"value": "CONNECTED"}, "type": queue_type})]),
            state(3, "01:39", vec![with_status(c.clone(), "DISCONNECTING")], vec![]),
        ]
    });
    let text = page(&report, 80);
    let timeline = text.split("Timeline").nth(1).unwrap();
    assert_eq!(timeline.matches("queue Sales").count(), 1, "{text}");
    assert!(
        text.contains(
            "+0:03    queue Sales (1100): the caller gave up after 1m 35s, callback offered"
        ),
        "{text}"
    );
}

#[test]
fn a_report_with_almost_nothing_still_reads() {
    insta::assert_snapshot!(page(&json!({}), 80));
}

#[test]
fn narrow_terminals_fit_from_40_columns_and_lay_out_at_40_below() {
    let long = "Bartholomew Featherstonehaugh-Worthington III of the Very Long Name Department";
    let mut trimmed = fixture();
    // Keep few states so the facts the states do not place get their own titled section.
    trimmed["callStates"] = json!([]);
    let reports = [
        fixture(),
        trimmed,
        held_and_transferred(long),
        left_the_dial_plan(),
    ];
    for report in &reports {
        for columns in 1..=60 {
            let text = page(report, columns);
            let room = columns.max(40);
            for line in text.lines() {
                assert!(width(line) <= room, "{columns}: {line:?}\n{text}");
            }
            assert!(text.lines().count() < 80, "{columns}: {text}");
        }
    }
    let mut analysed = fixture();
    analysed["callReason"] = json!(long.repeat(3));
    analysed["aVeryLongFieldNameThatGoToMightAddOneDay"] = json!({"nested": long});
    let at = "2026-09-30T15:54:50Z".parse::<Timestamp>().unwrap();
    let revisions = [Revision {
        number: 1,
        fetched_at: at,
        report: &analysed,
    }];
    for columns in 1..=60 {
        let text = page_with(&analysed, &revisions, columns, false);
        assert!(
            text.lines().all(|l| width(l) <= columns.max(40)),
            "{columns}: {text}"
        );
        assert!(text.lines().count() < 120, "{columns}: {text}");
    }
}

#[test]
fn goto_newest_fields_read_without_breaking_the_page() {
    let mut report = held_and_transferred("Carol Caller");
    report["participants"][0]["type"]["contact"] =
        json!({"id": "c0ffee00-0000-4000-8000-000000000001"});
    report["interactiveVoiceResponseSystems"] = json!([
        {"id": "s", "originator": "c", "type": {"value": "SATISFACTION_SURVEY", "score": 4, "maxScore": 5,
            "feedback": "Very  helpful"}},
        {"id": "t", "originator": "c", "type": {"value": "SATISFACTION_SURVEY", "answers": [{"q": 1}]}},
    ]);
    let text = page(&report, 80);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("contact c0ffee00-0000-4000-8000-000000000001"),
        "{text}"
    );
    assert!(
        words.contains("satisfaction survey: score 4/5, feedback \"Very helpful\""),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.trim() == "satisfaction survey"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["outcome", "answered"])),
        "{text}"
    );
}

#[test]
fn a_voicemail_that_failed_on_a_later_state_says_so() {
    let c = caller("Late Larry");
    let vm = |status: &str, result: Option<&str>| {
        let mut kind =
            json!({"voicemailBoxId": "vb", "number": "+18005550199", "value": "VOICEMAIL"});
        if let Some(r) = result {
            kind["voicemailStatus"] = json!(r);
        }
        json!({"id": "v", "status": {"value": status}, "originator": "c", "type": kind})
    };
    let report = json!({
        "conversationSpaceId": "dddddddd-1111-2222-3333-444444444444",
        "callCreated": "2026-11-25T09:00:00Z", "callEnded": "2026-11-25T09:00:30Z",
        "direction": "INBOUND", "participants": [c], "interactiveVoiceResponseSystems": [],
        "callStates": [
            state(1, "00:00", vec![with_status(c.clone(), "RINGING")], vec![]),
            state(2, "00:10", vec![with_status(c.clone(), "IN_INTERACTIVE_VOICE_RESPONSE")],
                vec![vm("CONNECTED", None)]),
            state(3, "00:20", vec![with_status(c.clone(), "IN_INTERACTIVE_VOICE_RESPONSE")],
                vec![vm("DISCONNECTING", Some("FAILED"))]),
            state(4, "00:30", vec![], vec![]),
        ]
    });
    let text = page(&report, 80);
    assert!(
        text.contains("+0:10    voicemail box +18005550199: no message left (failed)"),
        "{text}"
    );
}
