//! The one-line human view of a full report that `listen` prints on a terminal: when the call
//! ended, its direction, who called whom, how long, how it went, and its ID.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Palette;
use super::escape::terminal_safe;
use super::summaries::human_duration;

/// `14:03:12  INBOUND   PROBE CALLER (+12015550100) → Test Person 8625 (8625)  4m 40s  answered  <id>`
pub fn report_line(report: &Value, zone: &TimeZone, palette: Palette) -> String {
    let time = |name: &str| {
        report
            .get(name)
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok())
    };
    let ended = time("callEnded")
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "--:--:--".into());
    let duration = match (time("callCreated"), time("callEnded")) {
        (Some(start), Some(end)) => human_duration(end.duration_since(start).as_secs().max(0)),
        _ => "?".into(),
    };
    // Every field is GoTo's (and a caller ID is the caller's own): escaped for the terminal.
    let text = |name: &str| terminal_safe(report.get(name).and_then(Value::as_str).unwrap_or("?"));
    let (caller, callees) = parties(report);
    let outcome = crate::outcome::Outcome::of_report(report).as_str();
    let outcome = match outcome {
        "missed" | "abandoned" => palette.red(outcome).to_string(),
        "voicemail" => palette.yellow(outcome).to_string(),
        "other" => outcome.to_string(),
        _ => palette.green(outcome).to_string(),
    };
    format!(
        "{}  {:<8}  {caller} → {callees}  {duration}  {outcome}  {}",
        palette.bold(&ended),
        text("direction"),
        palette.dim(&text("conversationSpaceId")),
    )
}

/// The originating participant, and the others ("A +2" when several).
fn parties(report: &Value) -> (String, String) {
    let participants: &[Value] = report
        .get("participants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let is_origin = |p: &&Value| p.get("id").is_some() && p.get("id") == p.get("originator");
    let caller = participants.iter().find(is_origin).or(participants.first());
    let others: Vec<&Value> = participants.iter().filter(|p| Some(*p) != caller).collect();
    let caller = caller.map(describe).unwrap_or_else(|| "?".into());
    let callees = match others.as_slice() {
        [] => "?".to_string(),
        [only] => describe(only),
        [first, rest @ ..] => format!("{} +{}", describe(first), rest.len()),
    };
    (caller, callees)
}

/// A participant by name and number: the outside party of a phone-number leg, else the line.
fn describe(participant: &Value) -> String {
    let kind = participant.get("type").unwrap_or(&Value::Null);
    let field = |v: &Value, name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let outside = kind.get("caller").or_else(|| kind.get("callee"));
    let (name, number) = match outside {
        Some(party) => (field(party, "name"), field(party, "number")),
        None => (
            field(kind, "name"),
            field(kind, "extensionNumber").or_else(|| field(kind, "number")),
        ),
    };
    let shown = match (name, number) {
        (Some(name), Some(number)) if name != number => format!("{name} ({number})"),
        (Some(name), _) => name,
        (None, Some(number)) => number,
        (None, None) => "?".into(),
    };
    terminal_safe(&shown).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fixture_report() {
        let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
        let report: Value = serde_json::from_str(text).unwrap();
        let line = report_line(&report, &TimeZone::UTC, Palette::new(false));
        assert_eq!(
            line,
            "15:54:43  INBOUND   PROBE CALLER (+12015550100) → Test Person 8633 (8633) +1  2m 11s  voicemail  b6ad7073-be3a-31d5-a956-777109126542"
        );
    }

    // Regression: a caller name with `ESC]0;…BEL`, `ESC[2J` or a newline reached the terminal
    // raw, rewriting the title, clearing the screen and faking an output line.
    #[test]
    fn a_hostile_caller_id_is_escaped() {
        let report = serde_json::json!({
            "direction": "IN\u{1b}[2J",
            "conversationSpaceId": "x\ny",
            "participants": [
                {"id": "1", "originator": "1", "type": {"caller": {"name": "A\u{1b}]0;pwned\u{7}\n12:00:00 fake", "number": "+1"}}},
                {"id": "2", "type": {"name": "B", "extensionNumber": "9"}}
            ]
        });
        let line = report_line(&report, &TimeZone::UTC, Palette::new(false));
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            line.contains("A\\e]0;pwned\\u{7}\\n12:00:00 fake (+1)"),
            "{line}"
        );
    }

    #[test]
    fn survives_a_report_with_almost_nothing() {
        let line = report_line(&serde_json::json!({}), &TimeZone::UTC, Palette::new(false));
        // No call states at all: nothing says how the call went.
        assert_eq!(line, "--:--:--  ?         ? → ?  ?  other  ?");
    }
}
