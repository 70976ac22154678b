//! `cer show ID...`: each call as a page for a person. The store is read first (a prefix of
//! 8 or more characters names a stored call, as the summaries table shows it); GoTo is asked
//! only for a whole ID the store lacks. An ambiguous prefix is a usage error listing the
//! candidates (exit 2), an unknown call exit 3; the calls found are printed either way.
//! With an archive, each page names the archived recordings and prints the archived
//! transcripts; `--transcript` fetches from GoTo a transcript the archive lacks.

use serde_json::Value;

use anyhow::Context as _;

use super::Context;
use super::archived::{self, CallArchive, Kept};
use crate::api::recordings::{MediaId, RecordingError, fetch_transcript};
use crate::api::reports::fetch_report;
use crate::archive::Archive;
use crate::archive::wanted::named_media;
use crate::exit_status::ExitStatus;
use crate::net::ApiError;
use crate::output::show::revisions::Revision;
use crate::output::show::{
    ArchivedObject, CallMedia, MAX_TRANSCRIPT_BYTES, TranscriptText, View, candidate_line,
    render_with,
};
use crate::output::width::terminal_width;
use crate::settings::show::{CallRef, ShowSettings};
use crate::store::media::MediaKind;
use crate::store::{Store, StoreLocation, StoredRevision};

/// Candidates listed for an ambiguous prefix; one more is read to know there are more.
const CANDIDATES: usize = 10;

/// What looking a call up found.
pub(super) enum Found {
    /// The report, and its stored revisions (oldest first; none when it came from GoTo).
    Report(Value, Vec<StoredRevision>),
    /// The candidates' IDs and stored reports.
    Ambiguous(Vec<(String, Option<Value>)>),
    Unknown,
}

pub async fn run(settings: ShowSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let output = &context.output;
    let store = Store::open_existing(&settings.store).await?;
    let archive = match &settings.archive {
        Some(archive) => Some(archived::open(archive, context)?),
        None => None,
    };
    let view = View {
        zone: settings.zone.clone(),
        columns: terminal_width(settings.columns),
        palette: output.stdout_palette(),
    };
    let (mut printed, mut failure) = (0, None::<ExitStatus>);
    for call in &settings.calls {
        let found = match find(call, store.as_ref(), context).await {
            Ok(found) => found,
            // A closed pipe or an interrupt ends the command; anything else ends this call.
            Err(err) if !crate::errors::verdict(&err).print => return Err(err),
            Err(err) => {
                let failed = crate::errors::report(&err, output);
                failure = Some(failure.map_or(failed, |f| worse(f, failed)));
                continue;
            }
        };
        let failed = match found {
            Found::Report(report, stored) => {
                let revisions = revisions(&stored);
                let listed: Vec<Revision<'_>> = revisions
                    .iter()
                    .map(|(number, fetched_at, report)| Revision {
                        number: *number,
                        fetched_at: *fetched_at,
                        report,
                    })
                    .collect();
                let media = call_media(
                    &report,
                    store.as_ref(),
                    archive.as_ref(),
                    &settings,
                    context,
                )
                .await;
                let page = render_with(&report, &listed, &media, &view);
                let gap = if printed > 0 { "\n" } else { "" };
                output.data(format!("{gap}{page}").as_bytes())?;
                printed += 1;
                continue;
            }
            Found::Ambiguous(candidates) => {
                ambiguous(call, &candidates, &settings.zone, context);
                ExitStatus::Usage
            }
            Found::Unknown => {
                unknown(call, &settings.store, store.is_some(), context);
                ExitStatus::NotFound
            }
        };
        failure = Some(failure.map_or(failed, |f| worse(f, failed)));
    }
    // Each call that failed has had its lines: its status without another message.
    Ok(failure.unwrap_or(ExitStatus::Success))
}

/// The worse of two failures: a missing call is the mildest, then a failure (a server error
/// after the retries, a store that cannot be read), then a usage error (an ambiguous prefix,
/// which says what to do), then a login that no longer works.
pub(super) fn worse(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |status: ExitStatus| match status {
        ExitStatus::NotFound => 0,
        ExitStatus::Usage => 2,
        ExitStatus::Auth => 3,
        _ => 1,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The stored revisions as the page reads them; one that cannot be read is left out.
fn revisions(stored: &[StoredRevision]) -> Vec<(u32, jiff::Timestamp, Value)> {
    stored
        .iter()
        .filter_map(|revision| {
            Some((
                u32::try_from(revision.number).ok()?,
                revision.fetched_at.parse().ok()?,
                serde_json::from_str(&revision.text).ok()?,
            ))
        })
        .collect()
}

/// The report of `call`: the store's (with its revisions), else GoTo's for a whole ID.
pub(super) async fn find(
    call: &CallRef,
    store: Option<&Store>,
    context: &Context,
) -> anyhow::Result<Found> {
    match call {
        CallRef::Full(id) => {
            // The store may hold it under another case than the one typed.
            if let Some(store) = store
                && let Some(stored) = store.stored_id(id).await?
                && let Some(report) = store.report(&stored).await?
            {
                return Ok(Found::Report(report, store.revisions(&stored).await?));
            }
            match fetch_report(&context.api(), id).await {
                // `show` reads its tree of one report; the fetch itself read it once.
                Ok(report) => Ok(Found::Report(
                    serde_json::from_str(report.text()).context("cannot read the report")?,
                    Vec::new(),
                )),
                Err(ApiError::NotFound { .. }) => Ok(Found::Unknown),
                Err(err) => {
                    Err(anyhow::Error::new(err).context(format!("cannot fetch the report of {id}")))
                }
            }
        }
        CallRef::Prefix(prefix) => {
            let Some(store) = store else {
                return Ok(Found::Unknown);
            };
            let mut ids = store.ids_with_prefix(prefix, CANDIDATES + 1).await?;
            match ids.len() {
                0 => Ok(Found::Unknown),
                1 => {
                    let id = ids.remove(0);
                    let Some(report) = store.report(&id).await? else {
                        return Ok(Found::Unknown);
                    };
                    Ok(Found::Report(report, store.revisions(&id).await?))
                }
                _ => {
                    let mut candidates = Vec::with_capacity(ids.len());
                    for id in ids {
                        let report = store.report(&id).await?;
                        candidates.push((id, report));
                    }
                    Ok(Found::Ambiguous(candidates))
                }
            }
        }
    }
}

pub(super) fn ambiguous(
    call: &CallRef,
    candidates: &[(String, Option<Value>)],
    zone: &jiff::tz::TimeZone,
    context: &Context,
) {
    let prefix = match call {
        CallRef::Full(id) | CallRef::Prefix(id) => id,
    };
    let output = &context.output;
    let more = if candidates.len() > CANDIDATES {
        " or more"
    } else {
        ""
    };
    let shown = candidates.len().min(CANDIDATES);
    output.error(format!(
        "{prefix} is the start of {shown}{more} stored calls:"
    ));
    for (id, report) in &candidates[..shown] {
        let line = candidate_line(id, report.as_ref(), zone);
        output.error(format!("  {line}"));
    }
    output.hint("give more characters of the ID, or the whole ID");
}

pub(super) fn unknown(call: &CallRef, location: &StoreLocation, stored: bool, context: &Context) {
    let output = &context.output;
    let store = if stored {
        location.to_string()
    } else {
        format!("{location} (not created yet)")
    };
    match call {
        CallRef::Full(id) => output.error(format!(
            "no call {id}: not in the store {store}, and GoTo has no report of it (a call has one a few \
                seconds after it ends)"
        )),
        CallRef::Prefix(prefix) => {
            output.error(format!("no stored call starts with {prefix} (store {store})"));
            output.hint("a short ID finds only calls in the store (`cer listen` and `cer sync` store them); \
                give the whole ID to ask GoTo");
        }
    }
}

/// What the archive (and, with `--transcript`, GoTo) holds of the call beyond its report. An
/// archive that cannot be read is a warning: the page is still worth printing.
async fn call_media(
    report: &Value,
    store: Option<&Store>,
    archive: Option<&Archive>,
    settings: &ShowSettings,
    context: &Context,
) -> CallMedia {
    let mut media = CallMedia::default();
    let Some(call) = report.get("conversationSpaceId").and_then(Value::as_str) else {
        return media;
    };
    let kept = match archive {
        Some(archive) => match CallArchive::load(archive, store, call, report).await {
            Ok(kept) => Some((archive, kept)),
            Err(err) => {
                context.output.warn(format!("{err:#}"));
                None
            }
        },
        None => None,
    };
    for item in named_media(call, &report.to_string()).items {
        let Ok(id) = MediaId::parse(&item.media_id) else {
            continue;
        };
        let found = kept
            .as_ref()
            .and_then(|(archive, kept)| Some((*archive, kept.find(item.kind, &id)?)));
        match (item.kind, found) {
            (MediaKind::Recording, Some((archive, kept))) => {
                media
                    .recordings
                    .push(archived_recording(archive, &id, kept).await);
            }
            (MediaKind::Recording, None) => {}
            (MediaKind::Transcript, found) => {
                let (body, archived) = match found {
                    Some((archive, kept)) => archived_transcript(archive, &id, kept).await,
                    None if settings.transcript => (from_goto(&id, context).await, None),
                    None => continue,
                };
                media.transcripts.push(TranscriptText {
                    id: id.to_string(),
                    participant_id: item.participant_id,
                    body,
                    archived,
                });
            }
        }
    }
    media
}

/// An archived recording named where it is; its size from the store, else read again.
async fn archived_recording(archive: &Archive, id: &MediaId, kept: Kept) -> ArchivedObject {
    let bytes = match kept.bytes {
        Some(bytes) => Some(bytes),
        None => archive
            .rehash(&kept.key)
            .await
            .ok()
            .flatten()
            .map(|a| a.bytes),
    };
    ArchivedObject {
        id: id.to_string(),
        place: archive.locate(&kept.key),
        bytes,
    }
}

/// An archived transcript's JSON (or why not) and where it is.
async fn archived_transcript(
    archive: &Archive,
    id: &MediaId,
    kept: Kept,
) -> (Result<Vec<u8>, String>, Option<ArchivedObject>) {
    let body = archived::read_bounded(archive, &kept.key, MAX_TRANSCRIPT_BYTES)
        .await
        .unwrap_or_else(|err| Err(format!("{err:#}")));
    let bytes = kept
        .bytes
        .or_else(|| body.as_ref().ok().map(|b| b.len() as u64));
    let place = ArchivedObject {
        id: id.to_string(),
        place: archive.locate(&kept.key),
        bytes,
    };
    (body, Some(place))
}

/// A transcript from GoTo, or why not (a note on the page).
async fn from_goto(id: &MediaId, context: &Context) -> Result<Vec<u8>, String> {
    match fetch_transcript(&context.api(), id).await {
        Ok(body) if body.len() > MAX_TRANSCRIPT_BYTES => Err(format!(
            "larger than {} MiB",
            MAX_TRANSCRIPT_BYTES / (1024 * 1024)
        )),
        Ok(body) => Ok(body.to_vec()),
        Err(RecordingError::Api(err @ ApiError::Forbidden { .. })) => Err(format!(
            "{err}; reading transcripts needs the scope recording.v1.read (`cer login --recordings`)"
        )),
        Err(err) => Err(err.to_string()),
    }
}
