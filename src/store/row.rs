//! The `cer_reports` columns of a report: the few fields people filter on, read from GoTo's
//! payload, next to the payload itself kept exactly as GoTo sent it.

use std::borrow::Cow;

use jiff::Timestamp;

use crate::outcome::Outcome;
use crate::report::Report;

/// One `cer_reports` row, ready to bind. Timestamps are RFC 3339 UTC text with a fixed number
/// of digits, so that SQLite compares them correctly as text.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub conversation_space_id: String,
    pub account_key: Option<String>,
    pub call_created: Option<String>,
    pub call_answered: Option<String>,
    pub call_ended: Option<String>,
    pub direction: Option<String>,
    pub outcome: String,
    pub caller_name: Option<String>,
    pub caller_number: Option<String>,
    pub duration_seconds: Option<i64>,
    /// The report exactly as received, shared with the report it was read from.
    pub report: Report,
    pub stored_at: String,
}

impl ReportRow {
    /// Reads the columns from a report; a field GoTo left out is NULL.
    pub fn of(report: &Report, now: Timestamp) -> Self {
        let facts = report.facts();
        let text = |value: &Option<String>| value.as_deref().map(storable);
        let caller = facts.caller.clone().unwrap_or_default();
        let duration_seconds = match (facts.call_created, facts.call_ended) {
            (Some(start), Some(end)) => Some(end.duration_since(start).as_secs().max(0)),
            _ => None,
        };
        Self {
            conversation_space_id: text(&facts.id).unwrap_or_default(),
            account_key: text(&facts.account_key),
            call_created: facts.call_created.map(utc_text),
            call_answered: facts.call_answered.map(utc_text),
            call_ended: facts.call_ended.map(utc_text),
            direction: text(&facts.direction),
            outcome: Outcome::of_report(report).as_str().to_string(),
            caller_name: text(&caller.name),
            caller_number: text(&caller.number),
            duration_seconds,
            report: report.clone(),
            stored_at: utc_text(now),
        }
    }
}

/// A column's text with any NUL character as U+FFFD: PostgreSQL's text refuses NUL, and the
/// columns are a view for people; the payload beside them keeps GoTo's text exactly.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// A report's JSON text as PostgreSQL's jsonb accepts it: jsonb refuses the `\u0000` escape,
/// so a NUL in any string or key reads U+FFFD there. Any other report is left as it is. The
/// escapes are replaced where they lie in the text (a backslash only ever starts an escape in
/// JSON), so a report costs no tree of values however it is shaped.
pub fn jsonb_text(text: &str) -> Cow<'_, str> {
    if !text.contains("\\u0000") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let (mut at, mut kept) = (0, 0);
    while let Some(found) = text[at..].find('\\') {
        let escape = at + found;
        if text[escape..].starts_with("\\u0000") {
            out.push_str(&text[kept..escape]);
            out.push('\u{FFFD}');
            at = escape + 6;
            kept = at;
        } else {
            // The escaped character is ASCII: two bytes on is a character boundary.
            at = (escape + 2).min(text.len());
        }
    }
    out.push_str(&text[kept..]);
    Cow::Owned(out)
}

/// `2026-11-25T10:00:00.000000Z`: microseconds always written, so text order is time order.
pub fn utc_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fixture_report() {
        let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
        let report = Report::parse(text).unwrap();
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let row = ReportRow::of(&report, now);
        assert_eq!(
            row.conversation_space_id,
            "b6ad7073-be3a-31d5-a956-777109126542"
        );
        assert_eq!(row.caller_name.as_deref(), Some("PROBE CALLER"));
        assert_eq!(row.caller_number.as_deref(), Some("+12015550100"));
        // The trimmed fixture keeps no call state in which a person answered.
        assert_eq!(row.outcome, "voicemail");
        assert_eq!(row.duration_seconds, Some(131));
        assert_eq!(row.stored_at, "2026-01-01T00:00:00.000000Z");
        assert_eq!(row.report.text(), text, "GoTo's exact text");
    }

    #[test]
    fn a_nul_character_is_kept_in_the_payload_and_replaced_for_jsonb_and_columns() {
        let report = Report::parse(
            serde_json::json!({
                "conversationSpaceId": "id-1",
                "participants": [{"id": "p", "originator": "p",
                    "type": {"caller": {"name": "Ad\u{0}a", "number": "+1"}}}],
                "k\u{0}ey": ["x\u{0}"]
            })
            .to_string(),
        )
        .unwrap();
        let row = ReportRow::of(&report, Timestamp::UNIX_EPOCH);
        assert!(
            row.report.text().contains("\\u0000"),
            "exact text keeps the NUL"
        );
        assert_eq!(row.caller_name.as_deref(), Some("Ad\u{FFFD}a"));
        let jsonb = jsonb_text(row.report.text());
        assert!(!jsonb.contains("\\u0000"), "{jsonb}");
        assert!(
            jsonb.contains("k\u{FFFD}ey") && jsonb.contains("x\u{FFFD}"),
            "{jsonb}"
        );
        assert!(matches!(jsonb_text("{\"a\":1}"), Cow::Borrowed(_)));
        // An escaped backslash before `u0000` is no NUL; a NUL after one is.
        let tricky = r#"{"a":"\\u0000","b":"\\\u0000\u0000"}"#;
        assert_eq!(
            jsonb_text(tricky),
            "{\"a\":\"\\\\u0000\",\"b\":\"\\\\\u{FFFD}\u{FFFD}\"}"
        );
    }

    #[test]
    fn text_order_is_time_order() {
        let a: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let b: Timestamp = "2026-01-01T00:00:00.5Z".parse().unwrap();
        assert!(utc_text(a) < utc_text(b));
    }
}
