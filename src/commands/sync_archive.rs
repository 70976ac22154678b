//! `cer sync --archive DEST`: for each stored call of the range, writes the newest revision of
//! its report as `report.json` and archives every recording and transcript that revision
//! names (SPEC section 13). Each object is claimed in the store first (`cer_media`), so a
//! listener or another sync on the same store never archives it twice, and is recorded with
//! its size and SHA-256 once written whole.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;

use jiff::Timestamp;

use super::Context;
use super::signals::StopSignals;
use crate::api::ApiClient;
use crate::archive::{Archive, ArchiveLocation};
use crate::errors::UsageError;
use crate::exit_status::ExitStatus;
use crate::settings::archive::ArchiveSettings;
use crate::settings::sync::SyncSettings;
use crate::store::media::{ClaimedMedia, MediaItem, MediaOutcome};
use crate::store::{Backend, NewestRevision, Store};
use crate::workers::media::{ArchiveStop, Archiver};
pub(super) use crate::workers::media::{folder_of, sha256_hex};

/// How long a claim on one object lasts: a long download of a long call fits in it, and a
/// sync that was killed holds up the next one no longer than this.
const LEASE: Duration = Duration::from_secs(10 * 60);

/// Before the store is opened (and made) and before any request to GoTo: exit 2 for a folder
/// archive a file stands in the way of, exit 4 when `--archive` is to download (a check
/// downloads nothing) and the login cannot read recordings.
pub(super) async fn check_before_start(
    settings: &SyncSettings,
    context: &Context,
) -> anyhow::Result<()> {
    // Found now, not after a range's reports were fetched and stored. (A listener starts
    // anyway: its reports flow while `/healthz` says the archive cannot be written.)
    if let Some(ArchiveLocation::Folder(path)) = settings.archive.as_ref().map(|a| &a.location)
        && let Some(file) = file_in_the_way(path)
    {
        let message = format!(
            "the archive {} cannot be a folder: {} is a file",
            path.display(),
            file.display()
        );
        let hint = "--archive takes a folder (made when missing) or s3://BUCKET[/PREFIX]";
        return Err(UsageError::new(message).with_hint(hint).into());
    }
    if settings.archive.is_some() && !settings.check {
        super::archived::require_recording_read(settings.sandbox, context).await?;
    }
    Ok(())
}

/// The archive of `--archive` / `CER_ARCHIVE`, if any, opened ([`check_before_start`] first).
pub(super) fn prepare(
    settings: &SyncSettings,
    store: &Store,
    context: &Context,
) -> anyhow::Result<Option<Archive>> {
    let Some(archive) = &settings.archive else {
        return Ok(None);
    };
    open(archive, store, context).map(Some)
}

/// The file that stops `path` from being a folder: `path` itself, or a folder it goes
/// through (`notes.txt/calls`); none when the nearest part there is a folder.
fn file_in_the_way(path: &Path) -> Option<PathBuf> {
    // `file/` names `file` too: its trailing separator is not a folder of its own.
    let text = path.to_string_lossy();
    let trimmed = Path::new(text.trim_end_matches(std::path::MAIN_SEPARATOR));
    for part in trimmed.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(part) {
            Ok(there) if there.is_dir() => return None,
            Ok(_) => return Some(part.to_path_buf()),
            // Missing (made later), or under a file: the parts above say which.
            Err(_) => continue,
        }
    }
    None
}

/// Opens the archive, warning when a folder archive serves a shared PostgreSQL store.
pub(super) fn open(
    settings: &ArchiveSettings,
    store: &Store,
    context: &Context,
) -> anyhow::Result<Archive> {
    let archive = super::archived::open(settings, context)?;
    if archive.is_local() && store.backend() == Backend::Postgres {
        context.output.warn(format!(
            "the archive {} is a folder but the store is shared (PostgreSQL): each machine \
             keeps only what it archived; an s3:// archive serves them all",
            archive.shown()
        ));
    }
    Ok(archive)
}

/// What archiving a range came to.
#[derive(Debug, Default)]
struct Tally {
    reports: u64,
    objects: u64,
    bytes: u64,
    /// Tried and to be tried again later (not uploaded yet, a download that broke off).
    again_later: u64,
    /// Objects another sync or listener holds (it is archiving them).
    elsewhere: u64,
    gone: u64,
    /// What could not be archived, with the call's place in the range.
    failed: Vec<(usize, MediaItem, String)>,
}

/// Calls archived at once, each call's objects one after another. An object waits mostly on
/// GoTo and its storage host (two requests for a recording, within the rate limit, then its
/// bytes), so a range of many calls goes several times faster than one object at a time; four
/// keeps memory bounded (each download holds a few chunks, an S3 upload a part or two). Within
/// a call one at a time: a transcript's request taken between a recording's two would hold its
/// download back a whole slot of the rate limit (a one-call sync: 122 ms became 228 ms).
const AT_ONCE: usize = 4;

/// The pieces every call's archiving uses.
struct Job<'a> {
    store: &'a Store,
    api: &'a ApiClient,
    archive: &'a Archive,
    context: &'a Context,
    /// What the sync did so far.
    tally: RefCell<Tally>,
    /// Set at the first error: no call or object starts after it.
    stopping: Cell<bool>,
}

/// Archives the stored calls among `ids` (with an archive), then says what it did; fails
/// (exit 1) when an object could not be archived, so a script knows to run it again later.
/// Ctrl-C or SIGTERM stop it at once (exit 130), its claims given back.
pub(super) async fn run(
    store: &Store,
    api: &ApiClient,
    archive: Option<&Archive>,
    ids: &[String],
    context: &Context,
) -> anyhow::Result<ExitStatus> {
    let Some(archive) = archive else {
        return Ok(ExitStatus::Success);
    };
    // Only now: before the archive, Ctrl-C ends a sync the default way, as it always has.
    let mut signals = StopSignals::register()?;
    let job = Job {
        store,
        api,
        archive,
        context,
        tally: RefCell::default(),
        stopping: Cell::new(false),
    };
    let archived = tokio::select! {
        archived = job.archive_all(ids) => archived,
        () = signals.either() => {
            // The downloads under way are dropped with their temporary files; every claim
            // this sync holds is free for the next one at once.
            store.release_all_media().await?;
            context.output.error(
                "interrupted: what was being downloaded is not archived; the same `cer sync \
                 --archive` again goes on from there",
            );
            return Ok(ExitStatus::Interrupted);
        }
    };
    if let Err(err) = archived {
        // Stopping: every claim this sync still holds is free for the next one at once.
        store.release_all_media().await?;
        return Err(err);
    }
    finish(context, archive, &mut job.tally.take()).map(|()| ExitStatus::Success)
}

impl Job<'_> {
    /// Archives the calls among `ids`, [`AT_ONCE`] at a time. After an error the calls under
    /// way finish the object they are on (an S3 upload dropped half-way would leave its parts
    /// behind) and nothing new starts; the first error is the answer.
    async fn archive_all(&self, ids: &[String]) -> anyhow::Result<()> {
        let calls = futures_util::stream::iter(ids.iter().enumerate())
            .map(|(place, id)| self.archive_call(place, id))
            .buffer_unordered(AT_ONCE);
        let mut calls = std::pin::pin!(calls);
        let mut first_error = None;
        while let Some(done) = calls.next().await {
            if let Err(err) = done {
                self.stopping.set(true);
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Archives the call's pending objects one after another, each claimed only as its turn
    /// comes (so none waits out its lease behind the others) and settled as it ends; one
    /// another process holds is counted as archived elsewhere.
    async fn archive_call(&self, place: usize, id: &str) -> anyhow::Result<()> {
        if self.stopping.get() {
            return Ok(());
        }
        let Some(folder) = self.prepare_call(id).await? else {
            return Ok(());
        };
        let rows = self.store.media_of_call(id).await?;
        let pending = rows.into_iter().filter(|row| row.state == "pending");
        for row in pending {
            if self.stopping.get() {
                break;
            }
            let now = Timestamp::now();
            let Some(claim) = self.store.claim_media_item(&row.item, now, LEASE).await? else {
                self.tally.borrow_mut().elsewhere += 1;
                continue;
            };
            let outcome = self.archive_one(&claim, &folder).await?;
            if self
                .store
                .settle_media(&claim, &outcome, Timestamp::now())
                .await?
            {
                count(&mut self.tally.borrow_mut(), place, &claim, &outcome);
            }
        }
        Ok(())
    }

    /// Writes the call's `report.json` and plans what its newest revision names: the call's
    /// folder (`None`: not archived, said on stderr).
    async fn prepare_call(&self, id: &str) -> anyhow::Result<Option<String>> {
        let Some(NewestRevision { text, .. }) = self.store.newest_revision(id).await? else {
            return Ok(None);
        };
        let Some(folder) = self.folder_of(id, &text) else {
            return Ok(None);
        };
        let planned = self.archiver().plan(id, &folder, &text).await?;
        self.tally.borrow_mut().reports += u64::from(planned.report_written);
        for refused in &planned.refused {
            self.context.output.warn(format!(
                "call {id}: refused the ID {}: not a plain ID",
                crate::escape::terminal_safe(refused)
            ));
        }
        self.reopen_missing(id, &folder).await?;
        Ok(Some(folder))
    }

    /// The call's folder, or `None` (said on stderr) when its ID or end cannot make one.
    fn folder_of(&self, id: &str, text: &str) -> Option<String> {
        let folder = folder_of(id, text);
        if let Err(why) = &folder {
            let id = crate::escape::terminal_safe(id);
            self.context
                .output
                .warn(format!("call {id}: {why}, not archived"));
        }
        folder.ok()
    }

    /// Objects the store has as archived but this archive lacks (another archive, a file
    /// removed) are archived again; failed ones get another try.
    async fn reopen_missing(&self, id: &str, folder: &str) -> anyhow::Result<()> {
        let present = self.archive.list(folder).await?;
        let missing: Vec<MediaItem> = self
            .store
            .media_of_call(id)
            .await?
            .into_iter()
            .filter(|row| row.state == "archived")
            .filter(|row| {
                row.object_key
                    .as_ref()
                    .is_none_or(|key| !present.contains(key))
            })
            .map(|row| row.item)
            .collect();
        self.store
            .reopen_media(id, &missing, Timestamp::now())
            .await?;
        Ok(())
    }

    fn archiver(&self) -> Archiver<'_> {
        Archiver {
            store: self.store,
            api: self.api,
            archive: self.archive,
            live: None,
            apart: None,
        }
    }

    /// Downloads and writes one object; an authentication failure ends the whole sync.
    async fn archive_one(
        &self,
        claim: &ClaimedMedia,
        folder: &str,
    ) -> anyhow::Result<MediaOutcome> {
        match self.archiver().archive_one(claim, folder).await {
            Ok(attempt) => Ok(attempt.outcome),
            Err(ArchiveStop::Auth(err)) => Err(err.into()),
            Err(ArchiveStop::Refused(err)) => Err(err.into()),
        }
    }
}

fn count(tally: &mut Tally, place: usize, claim: &ClaimedMedia, outcome: &MediaOutcome) {
    match outcome {
        MediaOutcome::Archived { bytes, .. } => {
            tally.objects += 1;
            tally.bytes += bytes;
        }
        MediaOutcome::Retry { .. } => tally.again_later += 1,
        MediaOutcome::Gone => tally.gone += 1,
        MediaOutcome::Failed { error } => {
            tally
                .failed
                .push((place, claim.item.clone(), error.clone()));
        }
    }
}

fn finish(context: &Context, archive: &Archive, tally: &mut Tally) -> anyhow::Result<()> {
    let output = &context.output;
    // Calls end in any order; what failed is said in the range's order, a call's in its own.
    tally.failed.sort_by_key(|(place, ..)| *place);
    for (_, item, why) in &tally.failed {
        output.warn(format!(
            "could not archive {} {} of call {}: {why}",
            item.kind.as_str(),
            item.media_id,
            item.call
        ));
    }
    let objects = if tally.objects == 1 {
        "recording or transcript"
    } else {
        "recordings and transcripts"
    };
    let reports = if tally.reports == 1 {
        "report"
    } else {
        "reports"
    };
    output.status(format!(
        "Archived {} {objects} ({} bytes) and {} {reports} to {}{}{}{}",
        tally.objects,
        tally.bytes,
        tally.reports,
        archive.shown(),
        plural_note(tally.again_later, "to try again later"),
        plural_note(
            tally.elsewhere,
            "held by another sync or listener (one that was killed lets go within ten minutes)"
        ),
        plural_note(tally.gone, "gone from GoTo"),
    ));
    let left = tally.again_later + tally.elsewhere + tally.failed.len() as u64;
    if left == 0 {
        return Ok(());
    }
    anyhow::bail!(
        "{left} recording(s) or transcript(s) are not archived yet; run the same \
         `cer sync --archive` again later"
    )
}

fn plural_note(count: u64, what: &str) -> String {
    if count == 0 {
        String::new()
    } else {
        format!("; {count} {what}")
    }
}
