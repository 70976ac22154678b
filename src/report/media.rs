//! The recordings and transcripts a report names (`participants[].recordings[]` and
//! `transcripts[]`), read from its text through the borrowed view: the archive plans from
//! every stored revision, and a tree of values would cost many times a big report's size.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::view::{Shape, each, text};

/// One participant's recordings and transcripts, in the report's order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParticipantMedia {
    /// The participant's `id`, when it is a string.
    pub participant_id: Option<String>,
    /// Its `recordings[]`.
    pub recordings: Vec<MediaEntry>,
    /// Its `transcripts[]`.
    pub transcripts: Vec<MediaEntry>,
}

/// A recording or transcript as the report lists it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MediaEntry {
    /// Its `id` as sent (unchecked: the archive checks it before it becomes a path), when it
    /// is a string.
    pub id: Option<String>,
    /// `transcriptEnabled` is `true` (a recording whose transcript GoTo makes under its id).
    pub transcript_enabled: bool,
}

#[derive(Deserialize, Default)]
struct ParticipantShape<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    recordings: Option<&'a RawValue>,
    #[serde(borrow, default)]
    transcripts: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EntryShape<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    transcript_enabled: Option<&'a RawValue>,
}

/// What each participant of the report in `text` names; nothing when it is not a report.
pub fn named_by(text_of_report: &str) -> Vec<ParticipantMedia> {
    let Ok(shape) = serde_json::from_str::<Shape<'_>>(text_of_report) else {
        return Vec::new();
    };
    let mut named = Vec::new();
    each(shape.participants, |participant: ParticipantShape<'_>| {
        named.push(ParticipantMedia {
            participant_id: text(participant.id).map(Cow::into_owned),
            recordings: entries(participant.recordings),
            transcripts: entries(participant.transcripts),
        });
    });
    named
}

fn entries(list: Option<&RawValue>) -> Vec<MediaEntry> {
    let mut found = Vec::new();
    each(list, |entry: EntryShape<'_>| {
        found.push(MediaEntry {
            id: text(entry.id).map(Cow::into_owned),
            transcript_enabled: entry
                .transcript_enabled
                .is_some_and(|raw| raw.get() == "true"),
        });
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_each_participant_names_is_read_whatever_else_is_there() {
        let text = r#"{"z":[0,0,0],"participants":[
            {"id":"p1","recordings":[{"id":"r1","transcriptEnabled":true},{"id":7},"x"],
             "transcripts":[{"id":"t\/1"}]},
            {"id":2,"recordings":{"id":"not a list"}},
            "not a participant"]}"#;
        let named = named_by(text);
        assert_eq!(named.len(), 2);
        assert_eq!(named[0].participant_id.as_deref(), Some("p1"));
        let ids = |list: &[MediaEntry]| list.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&named[0].recordings), [Some("r1".into()), None]);
        assert!(named[0].recordings[0].transcript_enabled);
        assert!(!named[0].recordings[1].transcript_enabled);
        assert_eq!(ids(&named[0].transcripts), [Some("t/1".into())]);
        assert_eq!(named[1], ParticipantMedia::default());
        assert!(named_by("[1,2]").is_empty());
    }
}
