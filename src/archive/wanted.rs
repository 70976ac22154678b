//! What a report says there is to archive: each participant's `recordings[]` and
//! `transcripts[]`, and for a recording with `transcriptEnabled` whose participant lists no
//! transcript, the transcript asked for by the recording's id (GoTo's "same id"). IDs that are
//! not plain are refused here, before they can become a path or a URL.

use crate::api::recordings::MediaId;
use crate::report::media::{MediaEntry, named_by};
use crate::store::media::{MediaItem, MediaKind};

/// The objects a report names, and the IDs it named that were refused.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Named {
    /// What to archive, in the report's order.
    pub items: Vec<MediaItem>,
    /// IDs that are not plain IDs, as sent (to be logged escaped, never used).
    pub refused: Vec<String>,
}

/// What the report in `text` (of call `call`) names.
pub fn named_media(call: &str, text: &str) -> Named {
    let mut named = Named::default();
    for participant in named_by(text) {
        let mut add = |kind: MediaKind, entry: &MediaEntry| {
            let Some(id) = entry.id.as_deref() else {
                return;
            };
            match MediaId::parse(id) {
                Ok(id) => named.items.push(MediaItem {
                    call: call.to_string(),
                    kind,
                    media_id: id.to_string(),
                    participant_id: participant.participant_id.clone(),
                }),
                Err(_) => named.refused.push(id.to_string()),
            }
        };
        for recording in &participant.recordings {
            add(MediaKind::Recording, recording);
        }
        for transcript in &participant.transcripts {
            add(MediaKind::Transcript, transcript);
        }
        if participant.transcripts.is_empty() {
            let enabled = participant
                .recordings
                .iter()
                .filter(|r| r.transcript_enabled);
            for recording in enabled {
                add(MediaKind::Transcript, recording);
            }
        }
    }
    named.items.dedup();
    named
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(named: &Named) -> Vec<(MediaKind, &str)> {
        named
            .items
            .iter()
            .map(|i| (i.kind, i.media_id.as_str()))
            .collect()
    }

    #[test]
    fn recordings_transcripts_and_transcripts_by_recording_id_are_named() {
        let report = json!({"participants": [
            {"id": "p1", "recordings": [{"id": "r1", "transcriptEnabled": true}],
             "transcripts": [{"id": "t1"}]},
            {"id": "p2", "recordings": [{"id": "r2", "transcriptEnabled": true},
                                        {"id": "r3", "transcriptEnabled": false}]},
            {"id": "p3"}
        ]});
        let named = named_media("c1", &report.to_string());
        assert_eq!(
            ids(&named),
            [
                (MediaKind::Recording, "r1"),
                (MediaKind::Transcript, "t1"),
                (MediaKind::Recording, "r2"),
                (MediaKind::Recording, "r3"),
                (MediaKind::Transcript, "r2"),
            ]
        );
        assert_eq!(named.items[2].participant_id.as_deref(), Some("p2"));
        assert!(named.refused.is_empty());
    }

    #[test]
    fn ids_that_could_climb_out_of_a_folder_are_refused() {
        let report = json!({"participants": [
            {"id": "p1", "recordings": [{"id": "../../etc/passwd"}, {"id": "ok-1"}],
             "transcripts": [{"id": "a/b"}, {"id": 7}]}
        ]});
        let named = named_media("c1", &report.to_string());
        assert_eq!(ids(&named), [(MediaKind::Recording, "ok-1")]);
        assert_eq!(named.refused, ["../../etc/passwd", "a/b"]);
    }
}
