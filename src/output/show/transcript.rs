//! A call's transcript as a conversation (SPEC section 13): each final utterance of GoTo's
//! "Version 1" JSON at its time since the call started (the recording's `startTimestamp` plus
//! the utterance's `startTimeMs`, less `callCreated`), said by the recorded participant
//! (channel 0) or the other party (channel 1). The transcript is untrusted: bounded by whoever
//! read it, parsed into the few fields shown, every text escaped; one that cannot be read is a
//! one-line note, never a failure of the page.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use super::super::escape::terminal_safe;
use super::facts::CallFacts;

/// The largest transcript read: hours of talk are a few hundred KiB of JSON.
pub(crate) const MAX_TRANSCRIPT_BYTES: usize = 8 * 1024 * 1024;

/// What is kept of a call beyond its report, as `cer show` found it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallMedia {
    /// Recordings in the archive.
    pub recordings: Vec<ArchivedObject>,
    /// Transcripts read from the archive or fetched from GoTo, in the report's order.
    pub transcripts: Vec<TranscriptText>,
}

/// A recording or transcript in the archive: GoTo's id, where it is (a path or an `s3://`
/// URL), its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArchivedObject {
    pub id: String,
    pub place: String,
    pub bytes: Option<u64>,
}

/// A transcript of the call: GoTo's id, the participant whose entry named it, and its JSON
/// (at most [`MAX_TRANSCRIPT_BYTES`]) or why it could not be had.
#[derive(Debug, Clone)]
pub(crate) struct TranscriptText {
    pub id: String,
    pub participant_id: Option<String>,
    pub body: Result<Vec<u8>, String>,
    /// Where the archive keeps it, when it came from the archive.
    pub archived: Option<ArchivedObject>,
}

/// GoTo's transcript, only the fields shown; others are ignored.
#[derive(Debug, Deserialize)]
struct Document {
    #[serde(default)]
    results: Vec<Utterance>,
}

#[derive(Debug, Deserialize)]
struct Utterance {
    #[serde(rename = "type")]
    kind: Option<String>,
    transcript: Option<String>,
    #[serde(rename = "final")]
    is_final: Option<bool>,
    #[serde(rename = "startTimeMs")]
    start_ms: Option<i64>,
    channel: Option<i64>,
}

/// `(offset, "who: what")` lines of one transcript; a note when it cannot be read.
pub(crate) fn transcript_lines(
    facts: &CallFacts,
    transcript: &TranscriptText,
) -> Vec<(String, String)> {
    let id = terminal_safe(&transcript.id);
    let document = match &transcript.body {
        Err(why) => return vec![note(format!("transcript {id} is not available: {why}"))],
        Ok(body) if body.len() > MAX_TRANSCRIPT_BYTES => {
            let mib = MAX_TRANSCRIPT_BYTES / (1024 * 1024);
            return vec![note(format!(
                "transcript {id} is larger than {mib} MiB: not shown"
            ))];
        }
        Ok(body) => match serde_json::from_slice::<Document>(body) {
            Ok(document) => document,
            Err(err) => {
                let why = terminal_safe(&err.to_string()).into_owned();
                return vec![note(format!("transcript {id} cannot be read ({why})"))];
            }
        },
    };
    let speakers = Speakers::of(facts, transcript);
    let started = recording_start(facts, transcript);
    let lines: Vec<(String, String)> = document
        .results
        .iter()
        .filter(|u| u.is_final != Some(false))
        .filter(|u| u.kind.as_deref().is_none_or(|kind| kind == "utterances"))
        .filter_map(|u| {
            let said = u.transcript.as_deref()?.trim();
            // Checked: GoTo's numbers could overflow a time.
            let at = started
                .zip(u.start_ms)
                .and_then(|(start, ms)| start.checked_add(SignedDuration::from_millis(ms)).ok());
            let label = match (at, facts.created) {
                (Some(at), Some(created)) => offset(at, created),
                _ => String::new(),
            };
            let who = speakers.of_channel(u.channel);
            Some((label, format!("{who}: {}", terminal_safe(said))))
        })
        .collect();
    if lines.is_empty() {
        return vec![note(format!("transcript {id} holds no final utterance"))];
    }
    lines
}

fn note(text: String) -> (String, String) {
    (String::new(), text)
}

/// When the transcribed recording started: its `startTimestamp` (text or epoch milliseconds),
/// else the call's start, so utterances still read in order.
fn recording_start(facts: &CallFacts, transcript: &TranscriptText) -> Option<Timestamp> {
    let participant = transcript
        .participant_id
        .as_deref()
        .and_then(|id| facts.participant(id));
    let recordings = participant
        .and_then(|p| p.get("recordings"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let recording = recordings
        .iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(transcript.id.as_str()))
        .or_else(|| recordings.first());
    let stamp = recording.and_then(|r| r.get("startTimestamp"));
    let from_stamp = match stamp {
        Some(Value::String(text)) => text.parse::<Timestamp>().ok(),
        Some(Value::Number(ms)) => ms
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        _ => None,
    };
    from_stamp.or(facts.created)
}

/// `+m:ss` (or `+h:mm:ss`) since the call started; an utterance GoTo places before the start
/// reads as the start.
fn offset(at: Timestamp, created: Timestamp) -> String {
    super::timeline::offset(at.max(created), created)
}

/// Who speaks on each channel, named as the page names parties.
struct Speakers {
    recorded: String,
    other: String,
}

impl Speakers {
    fn of(facts: &CallFacts, transcript: &TranscriptText) -> Self {
        let recorded_id = transcript.participant_id.as_deref().unwrap_or("");
        let recorded = facts.participant(recorded_id).map_or_else(
            || "the recorded party".to_string(),
            |p| facts.name_of(recorded_id, p),
        );
        let other = other_party(facts, recorded_id).map_or_else(
            || "the other party".to_string(),
            |(id, p)| facts.name_of(id, p),
        );
        // Two parties shown alike (one person on two devices) still read as two.
        let other = if other == recorded {
            "the other party".to_string()
        } else {
            other
        };
        Self { recorded, other }
    }

    fn of_channel(&self, channel: Option<i64>) -> &str {
        match channel {
            Some(1) => &self.other,
            _ => &self.recorded,
        }
    }
}

/// The party the recorded one talked with: the caller when the recorded party did not place
/// the call, else the first other party that was on the call, else the first other one.
fn other_party<'a>(facts: &CallFacts<'a>, recorded: &str) -> Option<(&'a str, &'a Value)> {
    let others: Vec<(&'a str, &'a Value)> = facts
        .participants
        .iter()
        .filter_map(|p| Some((p.get("id")?.as_str()?, *p)))
        .filter(|(id, _)| *id != recorded)
        .collect();
    if !facts.is_originator(recorded)
        && let Some(caller) = others.iter().find(|(id, _)| facts.is_originator(id))
    {
        return Some(*caller);
    }
    others
        .iter()
        .find(|(id, _)| facts.was_connected(id))
        .or_else(|| others.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "callCreated": "2026-11-25T09:00:00Z",
            "participants": [
                {"id": "c", "originator": "c", "type": {"value": "PHONE_NUMBER", "number": "+18005550199",
                 "caller": {"name": "Carol", "number": "+12015550123"}}},
                {"id": "a", "type": {"value": "LINE", "name": "Ann", "extensionNumber": "8601"},
                 "recordings": [{"id": "r1", "startTimestamp": "2026-11-25T09:01:00Z", "transcriptEnabled": true}]}
            ]
        })
    }

    fn text(body: &str) -> TranscriptText {
        TranscriptText {
            id: "r1".into(),
            participant_id: Some("a".into()),
            body: Ok(body.as_bytes().to_vec()),
            archived: None,
        }
    }

    #[test]
    fn final_utterances_at_their_time_since_the_call_started() {
        let report = report();
        let facts = CallFacts::of(&report);
        let body = r#"{"version": "1", "results": [
            {"type": "utterances", "transcript": "Hello", "final": true, "startTimeMs": 3120, "channel": 0},
            {"type": "utterances", "transcript": "Hel", "final": false, "startTimeMs": 6000, "channel": 1},
            {"type": "utterances", "transcript": "Hi there", "final": true, "startTimeMs": 62500, "channel": 1}
        ]}"#;
        let lines = transcript_lines(&facts, &text(body));
        let shown: Vec<String> = lines.iter().map(|(l, t)| format!("{l} {t}")).collect();
        assert_eq!(
            shown,
            [
                "+1:03 Ann (8601): Hello",
                "+2:03 Carol (+12015550123): Hi there"
            ]
        );
    }

    #[test]
    fn a_transcript_that_cannot_be_read_is_one_note() {
        let report = report();
        let facts = CallFacts::of(&report);
        for body in ["not json", r#"{"results": [{"transcript": 5}]}"#] {
            let lines = transcript_lines(&facts, &text(body));
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].1.contains("cannot be read"), "{lines:?}");
        }
        let big = text(&" ".repeat(MAX_TRANSCRIPT_BYTES + 1));
        let lines = transcript_lines(&facts, &big);
        assert!(lines[0].1.contains("larger than 8 MiB"), "{lines:?}");
    }

    /// Carol calls Ann, who answers; the call is recorded on Ann's line and transcribed.
    fn answered_and_recorded() -> Value {
        let caller = json!({"id": "c", "originator": "c", "type": {"value": "PHONE_NUMBER",
            "number": "+18005550199", "caller": {"name": "Carol", "number": "+12015550123"}}});
        let ann = json!({"id": "a", "type": {"value": "LINE", "name": "Ann Example", "extensionNumber": "8601"}});
        let with = |p: &Value, status: &str| {
            let mut p = p.clone();
            p["status"] = json!({"value": status});
            p
        };
        let mut recorded = ann.clone();
        recorded["recordings"] = json!([
            {"id": "r1", "startTimestamp": "2026-11-25T09:00:08Z", "transcriptEnabled": true}
        ]);
        recorded["transcripts"] = json!([{"id": "t1"}]);
        json!({
            "conversationSpaceId": "29a1c77a-e52a-3764-8606-8b02b1277be8",
            "callCreated": "2026-11-25T09:00:00Z", "callEnded": "2026-11-25T09:02:10Z",
            "direction": "INBOUND", "hangupOriginatorId": "c",
            "participants": [caller.clone(), recorded],
            "callStates": [
                {"id": "s1", "type": "STARTING", "sequenceNumber": 1, "timestamp": "2026-11-25T09:00:00Z",
                 "participants": [with(&caller, "CONNECTED")]},
                {"id": "s2", "type": "ACTIVE", "sequenceNumber": 2, "timestamp": "2026-11-25T09:00:03Z",
                 "participants": [with(&caller, "CONNECTED"), with(&ann, "RINGING")]},
                {"id": "s3", "type": "ACTIVE", "sequenceNumber": 3, "timestamp": "2026-11-25T09:00:08Z",
                 "participants": [with(&caller, "CONNECTED"), with(&ann, "CONNECTED")]},
                {"id": "s4", "type": "ENDING", "sequenceNumber": 4, "timestamp": "2026-11-25T09:02:10Z",
                 "participants": []}
            ]
        })
    }

    fn media(body: &str) -> CallMedia {
        CallMedia {
            recordings: vec![ArchivedObject {
                id: "r1".into(),
                place: "/srv/cer-archive/2026/11/25/29a1c77a-e52a-3764-8606-8b02b1277be8/recording-r1.wav"
                    .into(),
                bytes: Some(2_080_044),
            }],
            transcripts: vec![TranscriptText {
                id: "t1".into(),
                participant_id: Some("a".into()),
                body: Ok(body.as_bytes().to_vec()),
                archived: Some(ArchivedObject {
                    id: "t1".into(),
                    place: "/srv/cer-archive/2026/11/25/29a1c77a-e52a-3764-8606-8b02b1277be8/\
                            transcript-t1.json"
                        .into(),
                    bytes: Some(body.len() as u64),
                }),
            }],
        }
    }

    const CONVERSATION: &str = concat!(
        r#"{"version": "1", "results": [
        {"type": "utterances", "transcript": "Thank you for calling, how can I help?", "final": true,
         "startTimeMs": 1200, "endTimeMs": 3480, "channel": 0, "languageCode": "en"},
        {"type": "utterances", "transcript": "Hi, my device will", "final": false, "startTimeMs": 4010, "channel": 1},
        {"type": "utterances", "transcript": "Hi, my device will not connect since this morning, "#,
        r#"and I have already tried switching it off and on again twice.", "final": true,
         "startTimeMs": 4010, "endTimeMs": 11900, "channel": 1},
        {"type": "utterances", "transcript": "Let me look into that for you.", "final": true,
         "startTimeMs": 63500, "endTimeMs": 65000, "channel": 0}
    ]}"#
    );

    fn page(body: &str, columns: usize) -> String {
        let view = super::super::View {
            zone: jiff::tz::TimeZone::UTC,
            columns,
            palette: super::super::Palette::new(false),
        };
        super::super::render_with(&answered_and_recorded(), &[], &media(body), &view)
    }

    #[test]
    fn a_transcript_at_60_columns() {
        insta::assert_snapshot!(page(CONVERSATION, 60));
    }

    #[test]
    fn a_transcript_at_80_columns() {
        insta::assert_snapshot!(page(CONVERSATION, 80));
    }

    #[test]
    fn a_transcript_at_120_columns() {
        insta::assert_snapshot!(page(CONVERSATION, 120));
    }

    #[test]
    fn terminal_escapes_in_a_transcript_reach_the_page_escaped() {
        let body = concat!(
            r#"{"results": [{"type": "utterances", "final": true, "startTimeMs": 1000, "channel": 0, "#,
            r#""transcript": "\u001b]8;;http://evil.example\u0007click\u001b[2J "#,
            r#"\u202egnp.exe\u202c \u009b31m \u200bhidden\u2028next"}]}"#
        );
        let page = page(body, 80);
        for raw in [
            '\u{1b}', '\u{7}', '\u{202e}', '\u{202c}', '\u{9b}', '\u{200b}', '\u{2028}',
        ] {
            assert!(!page.contains(raw), "{raw:?} reached the page: {page}");
        }
        let transcript = page.split("\nTranscript\n").nth(1).unwrap();
        assert!(
            transcript.contains("\\e]8;;http://evil.example"),
            "{transcript}"
        );
        assert!(transcript.contains("\\u{202e}gnp.exe"), "{transcript}");
    }

    #[test]
    fn every_line_fits_the_width() {
        for columns in 40..=130 {
            let page = page(CONVERSATION, columns);
            for line in page.lines() {
                assert!(
                    crate::output::text::width(line) <= columns.max(40),
                    "{columns}: {line:?}"
                );
            }
        }
    }
}
