//! What the archive holds of one call, for the commands that read it (`show`, `recording`):
//! where each recording and transcript is, from the store's `cer_media` rows when it has them,
//! else from the archive's layout (a folder archived by another machine, a store started
//! afresh), and reading a transcript back within its bound.

use anyhow::Context as _;
use futures_util::StreamExt;
use serde_json::Value;

use super::Context;
use crate::api::recordings::MediaId;
use crate::archive::layout::{recording_stem, transcript_key};
use crate::archive::{Archive, ArchiveLocation};
use crate::auth::recordings::{RecordingAccess, recording_access};
use crate::errors::NeedsRecordingScope;
use crate::settings::archive::ArchiveSettings;
use crate::store::Store;
use crate::store::media::MediaKind;
use crate::workers::background::Background;
use crate::workers::media::Apart;

/// `--archive` needs `recording.v1.read`: exit 4 naming `cer login --recordings` before
/// anything starts, rather than a failure on every download. A token of unknown scopes
/// (`CER_TOKEN`, a login whose answer named none, the simulator) may go on: GoTo's 403 then
/// says so. What the login allows.
pub(super) async fn require_recording_read(
    sandbox: bool,
    context: &Context,
) -> anyhow::Result<RecordingAccess> {
    let access = if sandbox {
        RecordingAccess::of_scope(None)
    } else {
        recording_access(&context.tokens()).await?
    };
    if !access.read {
        let why = "--archive needs the scope recording.v1.read, which the stored login lacks";
        return Err(NeedsRecordingScope(why.to_string()).into());
    }
    Ok(access)
}

/// Opens the archive the settings name (reading only: nothing is checked of the login).
pub(super) fn open(settings: &ArchiveSettings, context: &Context) -> anyhow::Result<Archive> {
    open_with(settings, context, |urls| context.http_reaching(urls))
}

/// A listener's thread for its recordings (`workers::background`), with clients whose
/// connections are its own; none when it cannot start (the recordings are then archived
/// beside the live work, as `sync` does).
pub(super) fn apart(settings: &ArchiveSettings, context: &Context) -> Option<Apart> {
    match start_apart(settings, context) {
        Ok(apart) => Some(apart),
        Err(err) => {
            tracing::debug!("recordings are archived on the listener's threads: {err:#}");
            None
        }
    }
}

fn start_apart(settings: &ArchiveSettings, context: &Context) -> anyhow::Result<Apart> {
    Ok(Apart {
        storage: context.http_apart(&[])?,
        archive: open_with(settings, context, |urls| context.http_apart(urls))?,
        thread: Background::start()?,
    })
}

fn open_with(
    settings: &ArchiveSettings,
    context: &Context,
    reaching: impl FnOnce(&[String]) -> anyhow::Result<reqwest::Client>,
) -> anyhow::Result<Archive> {
    // A folder needs no client: building one for an https endpoint reads and parses every
    // root certificate of the platform (over a hundred files), for nothing.
    let http = match &settings.location {
        ArchiveLocation::Folder(_) => context.http.clone(),
        ArchiveLocation::S3 { .. } => {
            let endpoint = match &settings.s3.endpoint {
                Some(endpoint) => endpoint.to_string(),
                None => format!("https://s3.{}.amazonaws.com", settings.s3.region),
            };
            reaching(&[endpoint])?
        }
    };
    Ok(Archive::open(&settings.location, &settings.s3, http)?)
}

/// An object of the call in the archive: its key and, when known, its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Kept {
    pub key: String,
    pub bytes: Option<u64>,
}

/// The archived objects of one call.
pub(super) struct CallArchive {
    /// `(kind, media id, kept)` from the store's archived rows.
    rows: Vec<(MediaKind, String, Kept)>,
    /// The keys in the call's folder, when the report says which folder.
    listed: Vec<String>,
    folder: Option<String>,
}

impl CallArchive {
    /// Reads what the store and the archive's folder of the call say.
    pub(super) async fn load(
        archive: &Archive,
        store: Option<&Store>,
        call: &str,
        report: &Value,
    ) -> anyhow::Result<Self> {
        let mut rows = Vec::new();
        if let Some(store) = store {
            for row in store.media_of_call(call).await? {
                let (Some(key), "archived") = (row.object_key, row.state.as_str()) else {
                    continue;
                };
                let bytes = row.bytes.and_then(|b| u64::try_from(b).ok());
                rows.push((row.item.kind, row.item.media_id, Kept { key, bytes }));
            }
        }
        let folder = folder_of(call, report);
        let listed = match &folder {
            Some(folder) => archive.list(folder).await?,
            None => Vec::new(),
        };
        Ok(Self {
            rows,
            listed,
            folder,
        })
    }

    /// Where the archive keeps `kind` `id` of this call, if it does.
    pub(super) fn find(&self, kind: MediaKind, id: &MediaId) -> Option<Kept> {
        let stored = self
            .rows
            .iter()
            .find(|(k, media, _)| *k == kind && media == id.as_str());
        if let Some((_, _, kept)) = stored {
            return Some(kept.clone());
        }
        let folder = self.folder.as_deref()?;
        let key = match kind {
            MediaKind::Transcript => {
                Some(transcript_key(folder, id)).filter(|k| self.listed.contains(k))
            }
            MediaKind::Recording => {
                let stem = format!("{folder}/{}", recording_stem(id));
                self.listed.iter().find(|k| k.starts_with(&stem)).cloned()
            }
        }?;
        Some(Kept { key, bytes: None })
    }
}

/// The call's folder: by the UTC day it ended (else started), when its ID is a plain one.
fn folder_of(call: &str, report: &Value) -> Option<String> {
    crate::workers::media::folder_of(call, &report.to_string()).ok()
}

/// The object under `key`, whole, when it is at most `limit` bytes: `Ok(Err(why))` when it
/// is missing or larger (a note for the page), `Err` when the archive fails.
pub(super) async fn read_bounded(
    archive: &Archive,
    key: &str,
    limit: usize,
) -> anyhow::Result<Result<Vec<u8>, String>> {
    let Some(mut chunks) = archive.read(key).await? else {
        return Ok(Err(format!(
            "{} is missing from the archive",
            archive.locate(key)
        )));
    };
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.with_context(|| format!("cannot read {}", archive.locate(key)))?;
        if body.len() + chunk.len() > limit {
            return Ok(Err(format!("larger than {} MiB", limit / (1024 * 1024))));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body))
}
