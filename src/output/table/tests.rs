//! The table at the widths people use: snapshots at 60, 80, 120 and 200 columns, and the rules
//! every width must keep (nothing wider than the terminal, phone numbers whole, columns aligned).

use super::*;
use crate::output::text::width;
use serde_json::json;

fn sample() -> Vec<Value> {
    let line = |name: &str, number: &str| json!({"name": name, "number": number, "type": {"value": "LINE"}});
    vec![
        json!({
            "conversationSpaceId": "702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f",
            "callCreated": "2026-11-25T09:04:30.185Z",
            "callAnswered": "2026-11-25T09:04:31Z",
            "callEnded": "2026-11-25T09:09:10.933Z",
            "direction": "INBOUND",
            "caller": {"name": "Bartholomew Featherstonehaugh-Worthington III", "number": "+442079460958"},
            "callerOutcome": "LEFT_DIAL_PLAN",
            "participants": [line("Maximiliana Oyelaran-Vasquez", "8625"), line("Ann", "8629")]
        }),
        json!({
            "conversationSpaceId": "11111111-2222-3333-4444-555555555555",
            "callCreated": "2026-11-25T08:59:01Z",
            "callEnded": "2026-11-25T10:01:02Z",
            "direction": "INBOUND",
            "caller": {"name": "山田太郎", "number": "+81312345678"},
            "callerOutcome": "VOICEMAIL",
            "participants": []
        }),
        json!({
            "conversationSpaceId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "callCreated": "2026-11-25T08:30:00Z",
            "callAnswered": "2026-11-25T08:30:05Z",
            "callEnded": "2026-11-25T08:31:00Z",
            "direction": "OUTBOUND",
            "caller": line("😀 Zoë Pizza Plaçe 🍕", "8601"),
            "callerOutcome": "NORMAL",
            "participants": [{"name": "", "number": "+12015550100"}]
        }),
        json!({
            "conversationSpaceId": "bbbbbbbb-0000-0000-0000-000000000000",
            "callCreated": "2026-11-25T08:00:00Z",
            "callerOutcome": "MISSED"
        }),
        json!({
            "conversationSpaceId": "cccccccc-0000-0000-0000-000000000000",
            "callCreated": "2026-11-25T07:00:00Z",
            "callEnded": "2026-11-25T07:00:09Z",
            "direction": "INBOUND",
            "caller": {"name": "Evil\u{1b}[2J Corp", "number": "Anonymous"},
            "callerOutcome": "LEFT_QUEUE",
            "participants": []
        }),
    ]
}

fn table(columns: usize, one_day: bool) -> String {
    let items = sample();
    let layout = TableLayout::fit(columns, &items, TimeZone::UTC, one_day);
    let mut text = layout.header(Palette::new(false));
    for item in &items {
        text.push_str(&layout.row(item, Palette::new(false)));
    }
    text
}

fn check_rules(text: &str, columns: usize) {
    for line in text.lines() {
        assert!(
            width(line) <= columns,
            "{} > {columns}: {line}",
            width(line)
        );
        assert!(!line.contains('\x1b'), "escaped: {line}");
    }
    for number in [
        "+442079460958",
        "+81312345678",
        "+12015550100",
        "withheld number",
    ] {
        assert!(text.contains(number), "{number} cut at {columns}:\n{text}");
    }
    // Columns stay aligned: the OUTCOME column starts at the same screen column on every line.
    let starts: Vec<usize> = text
        .lines()
        .skip(1)
        .map(|line| {
            let at = ["answered", "voicemail", "missed", "abandoned"]
                .iter()
                .filter_map(|w| line.find(w))
                .min()
                .unwrap();
            width(&line[..at])
        })
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "{starts:?}\n{text}"
    );
}

#[test]
fn fits_60_columns() {
    let text = table(60, true);
    check_rules(&text, 60);
    insta::assert_snapshot!("table_60", text);
}

#[test]
fn fits_80_columns() {
    let text = table(80, true);
    check_rules(&text, 80);
    insta::assert_snapshot!("table_80", text);
}

#[test]
fn fits_120_columns() {
    let text = table(120, false);
    check_rules(&text, 120);
    insta::assert_snapshot!("table_120", text);
}

#[test]
fn fits_200_columns() {
    let text = table(200, false);
    check_rules(&text, 200);
    insta::assert_snapshot!("table_200", text);
}

#[test]
fn every_width_from_60_up_keeps_the_rules() {
    for columns in 60..=220 {
        for one_day in [true, false] {
            check_rules(&table(columns, one_day), columns);
        }
    }
}

#[test]
fn names_shorten_before_the_id_goes() {
    let wide = table(200, false);
    assert!(wide.contains("Bartholomew Featherstonehaugh-Worthington III"));
    assert!(wide.contains("702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f"));
    let narrow = table(60, false);
    assert!(!narrow.contains("702e4d82"), "{narrow}");
}
