//! The `cer_reports` columns of a report: the few fields people filter on, read from GoTo's
//! payload, next to the payload itself kept exactly as GoTo sent it.

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::Value;

use crate::outcome::Outcome;

/// One `cer_reports` row, ready to bind. Timestamps are RFC 3339 UTC text with a fixed number
/// of digits, so that SQLite compares them correctly as text.
#[derive(Debug, Clone, PartialEq)]
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
    /// The report exactly as received.
    pub report: String,
    pub stored_at: String,
}

impl ReportRow {
    /// Reads the columns from a report; a field GoTo left out is NULL.
    pub fn of(report: &Value, now: Timestamp) -> Self {
        let text = |name: &str| report.get(name).and_then(Value::as_str).map(storable);
        let time = |name: &str| {
            report
                .get(name)
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<Timestamp>().ok())
        };
        let (caller_name, caller_number) = caller(report);
        let duration_seconds = match (time("callCreated"), time("callEnded")) {
            (Some(start), Some(end)) => Some(end.duration_since(start).as_secs().max(0)),
            _ => None,
        };
        Self {
            conversation_space_id: text("conversationSpaceId").unwrap_or_default(),
            account_key: text("accountKey"),
            call_created: time("callCreated").map(utc_text),
            call_answered: time("callAnswered").map(utc_text),
            call_ended: time("callEnded").map(utc_text),
            direction: text("direction"),
            outcome: Outcome::of_report(report).as_str().to_string(),
            caller_name,
            caller_number,
            duration_seconds,
            report: report.to_string(),
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
/// so a NUL in any string or key reads U+FFFD there. Any other report is left as it is.
pub fn jsonb_text(text: &str) -> Cow<'_, str> {
    if !text.contains("\\u0000") {
        return Cow::Borrowed(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            without_nul(&mut value);
            Cow::Owned(value.to_string())
        }
        Err(_) => Cow::Borrowed(text),
    }
}

fn without_nul(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('\0') => *text = storable(text),
        Value::Array(items) => items.iter_mut().for_each(without_nul),
        Value::Object(map) => {
            let keys_with_nul = map.keys().any(|k| k.contains('\0'));
            if keys_with_nul {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    without_nul(&mut item);
                    map.insert(storable(&key), item);
                }
            } else {
                map.values_mut().for_each(without_nul);
            }
        }
        _ => {}
    }
}

/// `2026-11-25T10:00:00.000000Z`: microseconds always written, so text order is time order.
pub fn utc_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The originating participant's outside party (or line): its name and number.
fn caller(report: &Value) -> (Option<String>, Option<String>) {
    let participants = report
        .get("participants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let is_origin = |p: &&Value| p.get("id").is_some() && p.get("id") == p.get("originator");
    let Some(origin) = participants.iter().find(is_origin).or(participants.first()) else {
        return (None, None);
    };
    let kind = origin.get("type").unwrap_or(&Value::Null);
    let party = kind
        .get("caller")
        .or_else(|| kind.get("callee"))
        .unwrap_or(kind);
    let field = |name: &str| {
        party
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(storable)
    };
    (
        field("name"),
        field("number").or_else(|| field("extensionNumber")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fixture_report() {
        let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
        let report: Value = serde_json::from_str(text).unwrap();
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let row = ReportRow::of(&report, now);
        assert_eq!(
            row.conversation_space_id,
            "b6ad7073-be3a-31d5-a956-777109126542"
        );
        assert_eq!(row.caller_name.as_deref(), Some("PROBE CALLER"));
        assert_eq!(row.caller_number.as_deref(), Some("+12015550100"));
        assert_eq!(row.outcome, "voicemail");
        assert_eq!(row.duration_seconds, Some(131));
        assert_eq!(row.stored_at, "2026-01-01T00:00:00.000000Z");
        assert_eq!(row.report, report.to_string());
    }

    #[test]
    fn a_nul_character_is_kept_in_the_payload_and_replaced_for_jsonb_and_columns() {
        let report = serde_json::json!({
            "conversationSpaceId": "id-1",
            "participants": [{"id": "p", "originator": "p",
                "type": {"caller": {"name": "Ad\u{0}a", "number": "+1"}}}],
            "k\u{0}ey": ["x\u{0}"]
        });
        let row = ReportRow::of(&report, Timestamp::UNIX_EPOCH);
        assert!(row.report.contains("\\u0000"), "exact text keeps the NUL");
        assert_eq!(row.caller_name.as_deref(), Some("Ad\u{FFFD}a"));
        let jsonb = jsonb_text(&row.report);
        assert!(!jsonb.contains("\\u0000"), "{jsonb}");
        assert!(
            jsonb.contains("k\u{FFFD}ey") && jsonb.contains("x\u{FFFD}"),
            "{jsonb}"
        );
        assert!(matches!(jsonb_text("{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn text_order_is_time_order() {
        let a: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let b: Timestamp = "2026-01-01T00:00:00.5Z".parse().unwrap();
        assert!(utc_text(a) < utc_text(b));
    }
}
