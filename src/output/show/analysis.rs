//! What post-call analysis added to a report, as labelled lines: the call reason, the virtual
//! agent's actions, the AI analysis, and the recordings and transcripts per participant. The
//! shapes of these fields are known only from third-party code (goto-api section 6), so any
//! value is shown in a readable form whatever it turns out to be, escaped, never dropped.

use serde_json::Value;

use super::super::escape::terminal_safe;
use super::super::party::PartyCell;
use super::facts::words;
use super::transcript::{ArchivedObject, CallMedia};

/// `(label, text)` lines, in the order a person reads them; empty when GoTo added nothing.
/// A recording or transcript in the archive is named where it is, with its size.
pub(crate) fn analysis_lines(report: &Value, media: &CallMedia) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    let mut add = |label: &str, text: String| lines.push((label.to_string(), text));
    if let Some(reason) = report.get("callReason").filter(|v| !is_empty(v)) {
        add("reason", readable(reason));
    }
    for action in list(report, "actions") {
        add("action", action_text(action));
    }
    if let Some(ai) = report.get("aiAnalysis").filter(|v| !is_empty(v)) {
        for (label, text) in ai_lines(ai) {
            add(label, text);
        }
    }
    for participant in list(report, "participants") {
        let who = PartyCell::of_participant(participant, 0);
        let who = if who.is_empty() {
            "someone".to_string()
        } else {
            who.fitted(usize::MAX)
        };
        for (field, label) in [
            ("recordings", "recording"),
            ("transcripts", "transcript"),
            ("liveTranscripts", "live transcript"),
        ] {
            for item in list(participant, field) {
                let archived = match field {
                    "recordings" => archived_place(item, media.recordings.iter()),
                    "transcripts" => archived_place(
                        item,
                        media.transcripts.iter().filter_map(|t| t.archived.as_ref()),
                    ),
                    _ => None,
                };
                let text = archived.unwrap_or_else(|| item_text(item));
                add(label, format!("{who}: {text}"));
            }
        }
    }
    for transcript in list(report, "transcripts") {
        add("transcript", item_text(transcript));
    }
    lines
}

fn list<'a>(value: &'a Value, name: &str) -> &'a [Value] {
    value
        .get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `INFO_CAPTURE` with its form, `KNOWLEDGE_SEARCH` with its query, else the action's type.
fn action_text(action: &Value) -> String {
    let kind = action.pointer("/type/value").and_then(Value::as_str);
    let detail = |pointer: &str| {
        action
            .pointer(pointer)
            .filter(|v| !v.is_null())
            .map(readable)
    };
    match kind {
        Some("INFO_CAPTURE") => match detail("/type/form/name") {
            Some(form) => format!("captured form {form}"),
            None => "captured information".to_string(),
        },
        Some("KNOWLEDGE_SEARCH") => match detail("/type/query") {
            Some(query) => format!("searched the knowledge base: {query}"),
            None => "searched the knowledge base".to_string(),
        },
        Some(other) => words(other),
        None => readable(action),
    }
}

/// Sentiment, summary, topics and flags, then any other field the analysis has.
fn ai_lines(ai: &Value) -> Vec<(&'static str, String)> {
    let Some(fields) = ai.as_object() else {
        return vec![("analysis", readable(ai))];
    };
    let known = [
        ("sentiment", "sentiment"),
        ("summary", "summary"),
        ("topics", "topics"),
        ("flags", "flags"),
    ];
    let mut lines: Vec<(&'static str, String)> = known
        .iter()
        .filter_map(|(field, label)| {
            let value = fields.get(*field).filter(|v| !is_empty(v))?;
            let text = match value {
                Value::String(s) if *field == "sentiment" => words(s),
                other => readable(other),
            };
            Some((*label, text))
        })
        .collect();
    for (name, value) in fields {
        if !known.iter().any(|(field, _)| field == name) {
            lines.push((
                "analysis",
                format!("{}: {}", terminal_safe(name), readable(value)),
            ));
        }
    }
    lines
}

/// Nothing worth a line: null, an empty text or an empty list.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Where the archive keeps the recording or transcript `item` names, and its size in bytes.
fn archived_place<'a>(
    item: &Value,
    mut archived: impl Iterator<Item = &'a ArchivedObject>,
) -> Option<String> {
    let id = item.get("id").and_then(Value::as_str)?;
    let found = archived.find(|a| a.id == id)?;
    let place = terminal_safe(&found.place);
    Some(match found.bytes {
        Some(bytes) => format!("{place} ({bytes} bytes)"),
        None => place.into_owned(),
    })
}

/// A recording or transcript: its text when it has one, else its id, else the whole value.
fn item_text(item: &Value) -> String {
    for field in ["text", "transcript", "id", "recordingId"] {
        if let Some(Value::String(text)) = item.get(field) {
            return terminal_safe(text).into_owned();
        }
    }
    readable(item)
}

/// A value as a person reads it: text as itself, a list of texts joined by commas, anything
/// else as compact JSON; escaped for the terminal.
fn readable(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    terminal_safe(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_kind_of_analysis_field() {
        let report = json!({
            "participants": [
                {"id": "1", "type": {"value": "LINE", "name": "Ann", "extensionNumber": "8601"},
                 "recordings": [{"id": "rec-1", "transcriptEnabled": true}], "transcripts": [], "liveTranscripts": []}
            ],
            "callReason": "Billing question\nfake line",
            "actions": [
                {"type": {"value": "INFO_CAPTURE", "form": {"name": "Address"}}},
                {"type": {"value": "KNOWLEDGE_SEARCH", "query": "refund policy"}},
                {"type": {"value": "TRANSFER_TO_AGENT"}}
            ],
            "aiAnalysis": {"sentiment": "POSITIVE", "summary": "Asked about a refund.", "topics": ["billing",
                "refund"], "flags": [], "score": 0.9}
        });
        let lines = analysis_lines(&report, &CallMedia::default());
        let text: Vec<String> = lines.iter().map(|(l, t)| format!("{l}: {t}")).collect();
        assert_eq!(
            text,
            [
                "reason: Billing question\\nfake line",
                "action: captured form Address",
                "action: searched the knowledge base: refund policy",
                "action: transfer to agent",
                "sentiment: positive",
                "summary: Asked about a refund.",
                "topics: billing, refund",
                "analysis: score: 0.9",
                "recording: Ann (8601): rec-1",
            ]
        );
    }

    #[test]
    fn a_report_without_analysis_has_no_lines() {
        let report =
            json!({"participants": [{"recordings": [], "transcripts": []}], "callReason": null});
        assert!(analysis_lines(&report, &CallMedia::default()).is_empty());
    }
}
