//! `cer sync --check --archive DEST [--verify]`: for the stored calls of the range, counts the
//! reports, recordings and transcripts their newest revisions name that the archive lacks, and
//! with `--verify` reads each archived object again and compares its SHA-256 with the one the
//! store recorded. Nothing is downloaded from GoTo.

use serde_json::{Value, json};

use super::sync_archive::{folder_of, sha256_hex};
use crate::api::recordings::MediaId;
use crate::archive::Archive;
use crate::archive::layout::{recording_stem, report_key, transcript_key};
use crate::archive::wanted::named_media;
use crate::store::media::{MediaItem, MediaKind, MediaRow};
use crate::store::{NewestRevision, Store};

/// What the archive holds of a range, against what it should.
#[derive(Debug, Default)]
pub(super) struct ArchiveCheck {
    shown: String,
    verify: bool,
    /// Objects (reports included) found.
    present: u64,
    /// What is missing.
    missing: Vec<Missing>,
    /// Objects GoTo no longer has: missing, but nothing can bring them back.
    gone: u64,
    /// Objects re-read (with `--verify`).
    verified: u64,
    /// Objects whose SHA-256 differs from the recorded one.
    differs: Vec<String>,
}

/// One object the archive lacks: a call's report, or a recording or transcript it names.
#[derive(Debug)]
struct Missing {
    call: String,
    /// `report`, `recording` or `transcript`.
    kind: &'static str,
    /// The recording's or transcript's ID (a report has none).
    media_id: Option<String>,
}

impl Missing {
    fn json(&self) -> Value {
        json!({
            "conversationSpaceId": self.call,
            "kind": self.kind,
            "mediaId": self.media_id,
        })
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.media_id {
            Some(media_id) => write!(f, "{} {} {media_id}", self.call, self.kind),
            None => write!(f, "{} report.json", self.call),
        }
    }
}

/// Compares the archive (when there is one) with the newest revisions of the stored calls
/// among `ids`.
pub(super) async fn check(
    store: &Store,
    archive: Option<&Archive>,
    ids: &[String],
    verify: bool,
) -> anyhow::Result<Option<ArchiveCheck>> {
    let Some(archive) = archive else {
        return Ok(None);
    };
    let mut check = ArchiveCheck {
        shown: archive.shown(),
        verify,
        ..ArchiveCheck::default()
    };
    for id in ids {
        let Some(NewestRevision { text, .. }) = store.newest_revision(id).await? else {
            continue;
        };
        let Ok(folder) = folder_of(id, &text) else {
            continue;
        };
        let present = archive.list(&folder).await?;
        let key = report_key(&folder);
        if present.contains(&key) {
            check
                .found(archive, &key, Some(&sha256_hex(text.as_bytes())))
                .await?;
        } else {
            check.missing.push(Missing {
                call: id.clone(),
                kind: "report",
                media_id: None,
            });
        }
        let rows = store.media_of_call(id).await?;
        for item in named_media(id, &text).items {
            check
                .media(archive, &folder, &present, &rows, &item)
                .await?;
        }
    }
    Ok(Some(check))
}

impl ArchiveCheck {
    async fn media(
        &mut self,
        archive: &Archive,
        folder: &str,
        present: &[String],
        rows: &[MediaRow],
        item: &MediaItem,
    ) -> anyhow::Result<()> {
        let Ok(id) = MediaId::parse(&item.media_id) else {
            return Ok(());
        };
        let key = match item.kind {
            MediaKind::Transcript => {
                Some(transcript_key(folder, &id)).filter(|key| present.contains(key))
            }
            MediaKind::Recording => {
                let stem = format!("{folder}/{}", recording_stem(&id));
                present.iter().find(|key| key.starts_with(&stem)).cloned()
            }
        };
        let row = rows
            .iter()
            .find(|row| row.item.kind == item.kind && row.item.media_id == item.media_id);
        match key {
            Some(key) => {
                let recorded = row
                    .filter(|row| row.object_key.as_deref() == Some(key.as_str()))
                    .and_then(|row| row.sha256.as_deref());
                self.found(archive, &key, recorded).await
            }
            None if row.is_some_and(|row| row.state == "gone") => {
                self.gone += 1;
                Ok(())
            }
            None => {
                self.missing.push(Missing {
                    call: item.call.clone(),
                    kind: item.kind.as_str(),
                    media_id: Some(item.media_id.clone()),
                });
                Ok(())
            }
        }
    }

    /// Counts an object that is there; with `--verify`, re-reads it and compares its SHA-256
    /// with `expected` (when the store recorded one).
    async fn found(
        &mut self,
        archive: &Archive,
        key: &str,
        expected: Option<&str>,
    ) -> anyhow::Result<()> {
        self.present += 1;
        if !self.verify {
            return Ok(());
        }
        let read = archive.rehash(key).await?;
        self.verified += 1;
        let actual = read.as_ref().map(|archived| archived.sha256.as_str());
        if expected.is_some() && actual != expected {
            self.differs.push(key.to_string());
        }
        Ok(())
    }

    /// Whether the archive holds everything, unaltered.
    pub(super) fn complete(&self) -> bool {
        self.missing.is_empty() && self.differs.is_empty()
    }

    /// What puts it right: a sync archives what is missing, but an altered object only once
    /// it is removed, since a sync trusts what it archived and re-reads nothing.
    pub(super) fn remedy(&self) -> String {
        let mut steps = Vec::new();
        if !self.missing.is_empty() {
            steps.push("`cer sync --archive` with the same range archives what is missing");
        }
        if !self.differs.is_empty() {
            steps.push(
                "an altered object is archived again once it is gone: delete each one that \
                 differs, then run `cer sync --archive` with the same range",
            );
        }
        steps.join("; ")
    }

    /// Lines for a person; `each` lists what is missing or differs.
    pub(super) fn lines(&self, each: bool) -> Vec<String> {
        let mut lines = vec![format!(
            "archive {}: {} objects archived, {} missing{}",
            self.shown,
            self.present,
            self.missing.len(),
            if self.gone == 0 {
                String::new()
            } else {
                format!(", {} gone from GoTo", self.gone)
            }
        )];
        if self.verify {
            lines.push(format!(
                "{} objects re-read: {} differ from their recorded SHA-256",
                self.verified,
                self.differs.len()
            ));
        }
        if each {
            lines.extend(
                self.missing
                    .iter()
                    .map(|m| format!("missing from the archive: {m}")),
            );
        }
        // A difference is always worth a line: it is rare and it means damage.
        lines.extend(self.differs.iter().map(|key| format!("differs: {key}")));
        lines
    }

    /// The check as JSON, for `--json`.
    pub(super) fn json(&self) -> Value {
        json!({
            "destination": self.shown,
            "archived": self.present,
            "missing": self.missing.iter().map(Missing::json).collect::<Vec<_>>(),
            "gone": self.gone,
            "verified": self.verified,
            "differs": self.differs,
            "complete": self.complete(),
        })
    }
}
