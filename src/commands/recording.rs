//! `cer recording ID... [-o PATH]`: the audio of a call's recordings (SPEC section 13), from
//! the archive when it has them, else from GoTo (a content token, then the storage host,
//! never with the bearer token). Streamed: to `-o PATH` under a temporary name renamed once
//! whole (a folder for several recordings), or to stdout when it is not a terminal.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures_util::StreamExt;
use serde_json::Value;

use super::Context;
use super::archived::{self, CallArchive};
use super::show::{Found, ambiguous, find, unknown, worse};
use super::signals::StopSignals;
use crate::api::recordings::{MAX_RECORDING_BYTES, MediaId, RecordingError, download_recording};
use crate::archive::layout::{extension, recording_stem};
use crate::archive::wanted::named_media;
use crate::archive::whole_file::{WholeFileError, write_asked};
use crate::archive::{Archive, Chunks};
use crate::auth::recordings::recording_access;
use crate::errors::{NeedsRecordingScope, UsageError};
use crate::exit_status::ExitStatus;
use crate::net::ApiError;
use crate::settings::recording::RecordingSettings;
use crate::store::Store;
use crate::store::media::MediaKind;

/// One recording to write: its call and GoTo's id.
struct Wanted {
    call: String,
    id: MediaId,
    report: Value,
}

pub async fn run(settings: RecordingSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let store = Store::open_existing(&settings.store).await?;
    let (wanted, failure) = wanted(&settings, store.as_ref(), context).await?;
    if !wanted.is_empty() {
        let archive = match &settings.archive {
            Some(archive) => Some(archived::open(archive, context)?),
            None => None,
        };
        let writer = Writer {
            archive: archive.as_ref(),
            store: store.as_ref(),
            context,
            checked_access: std::cell::Cell::new(false),
        };
        let written = writer
            .write_all(&wanted, settings.output.as_deref())
            .await?;
        // A recording GoTo no longer has, or an interrupt, ended the writing: that is the status.
        if written != ExitStatus::Success {
            return Ok(written);
        }
    }
    // Each call that failed has had its lines: its status without another message.
    Ok(failure.unwrap_or(ExitStatus::Success))
}

/// The recordings of every call named; a call not found or without a recording is said on
/// stderr and counted, the others are still written.
async fn wanted(
    settings: &RecordingSettings,
    store: Option<&Store>,
    context: &Context,
) -> anyhow::Result<(Vec<Wanted>, Option<ExitStatus>)> {
    let (mut wanted, mut failure) = (Vec::new(), None::<ExitStatus>);
    for call in &settings.calls {
        let found = match find(call, store, context).await {
            Ok(found) => found,
            // A closed pipe or an interrupt ends the command; anything else ends this call.
            Err(err) if !crate::errors::verdict(&err).print => return Err(err),
            Err(err) => {
                let failed = crate::errors::report(&err, &context.output);
                failure = Some(failure.map_or(failed, |f| worse(f, failed)));
                continue;
            }
        };
        let failed = match found {
            Found::Report(report, _) => {
                let id = report
                    .get("conversationSpaceId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let ids: Vec<MediaId> = named_media(&id, &report.to_string())
                    .items
                    .into_iter()
                    .filter(|item| item.kind == MediaKind::Recording)
                    .filter_map(|item| MediaId::parse(&item.media_id).ok())
                    .collect();
                if !ids.is_empty() {
                    wanted.extend(ids.into_iter().map(|rid| Wanted {
                        call: id.clone(),
                        id: rid,
                        report: report.clone(),
                    }));
                    continue;
                }
                let shown = crate::escape::terminal_safe(&id);
                context.output.error(format!(
                    "call {shown} has no recording (GoTo lists a recording in the report a few \
                     seconds after a recorded call ends)"
                ));
                ExitStatus::NotFound
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
    Ok((wanted, failure))
}

/// Where the audio comes from and goes.
struct Writer<'a> {
    archive: Option<&'a Archive>,
    store: Option<&'a Store>,
    context: &'a Context,
    /// Whether the login's recording scope was checked (once, before the first download).
    checked_access: std::cell::Cell<bool>,
}

impl Writer<'_> {
    /// Writes every recording; a status other than success when one is gone from GoTo (said
    /// on stderr) or Ctrl-C interrupted the writing, which then stops.
    async fn write_all(
        &self,
        wanted: &[Wanted],
        output: Option<&Path>,
    ) -> anyhow::Result<ExitStatus> {
        let Some(path) = output else {
            if wanted.len() > 1 {
                return Err(UsageError::new(format!(
                    "there are {} recordings: stdout takes one",
                    wanted.len()
                ))
                .with_hint("give -o DIR to write each as DIR/recording-ID.EXT")
                .into());
            }
            let Some((chunks, _)) = self.open(&wanted[0]).await? else {
                return Ok(ExitStatus::NotFound);
            };
            self.to_stdout(chunks).await?;
            return Ok(ExitStatus::Success);
        };
        let mut signals = StopSignals::register()?;
        // `-o calls/` names a folder too, made when missing; a file's folder must be there
        // before anything is downloaded.
        let folder = wanted.len() > 1 || path.is_dir() || names_a_folder(path);
        if folder {
            tokio::fs::create_dir_all(path)
                .await
                .with_context(|| format!("cannot create the folder {}", path.display()))?;
        } else if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            anyhow::bail!(
                "cannot write {}: the folder {} does not exist",
                path.display(),
                parent.display()
            );
        }
        for one in wanted {
            // Ctrl-C or SIGTERM stop the download and leave nothing behind.
            let written = tokio::select! {
                written = self.write_one(one, path, folder) => written?,
                () = signals.either() => {
                    self.context.output.error("interrupted: the recording was not written");
                    return Ok(ExitStatus::Interrupted);
                }
            };
            let Some((target, bytes)) = written else {
                return Ok(ExitStatus::NotFound);
            };
            self.context
                .output
                .status(format!("Wrote {} ({bytes} bytes)", target.display()));
        }
        Ok(ExitStatus::Success)
    }

    /// Writes one recording to `path`, or into it as `recording-ID.EXT` when it is a folder;
    /// none when GoTo no longer has it.
    ///
    /// A download that breaks off is tried again from the start, with a new token, a few
    /// times with backoff (section 5's rule for transport errors): a file is written whole
    /// or not at all, so nothing is lost by starting over.
    async fn write_one(
        &self,
        one: &Wanted,
        path: &Path,
        folder: bool,
    ) -> anyhow::Result<Option<(PathBuf, u64)>> {
        let policy = self.context.api().retry_policy();
        let mut retry = 0;
        loop {
            let Some((chunks, ext)) = self.open(one).await? else {
                return Ok(None);
            };
            let target = if folder {
                path.join(format!("{}{ext}", recording_stem(&one.id)))
            } else {
                path.to_path_buf()
            };
            match write_asked(&target, chunks).await {
                Ok(bytes) => return Ok(Some((target, bytes))),
                Err(WholeFileError::Source(err)) if retry < policy.max_retries => {
                    tracing::info!(
                        "the download of recording {} broke off ({err}); again",
                        one.id
                    );
                    tokio::time::sleep(policy.backoff(retry)).await;
                    retry += 1;
                }
                Err(WholeFileError::Source(err)) => {
                    return Err(anyhow::Error::new(err).context("the download broke off"));
                }
                Err(err @ WholeFileError::Disk { .. }) => return Err(err.into()),
            }
        }
    }

    /// The audio of one recording and its file extension: the archive's copy, else GoTo's;
    /// none when GoTo no longer has it, which is said on stderr.
    async fn open(&self, one: &Wanted) -> anyhow::Result<Option<(Chunks<'static>, String)>> {
        if let Some(archive) = self.archive {
            let kept = CallArchive::load(archive, self.store, &one.call, &one.report).await?;
            if let Some(kept) = kept.find(MediaKind::Recording, &one.id)
                && let Some(chunks) = archive.read(&kept.key).await?
            {
                let ext = kept.key.rsplit_once('.').map_or("bin", |(_, ext)| ext);
                return Ok(Some((chunks, ext.to_string())));
            }
        }
        self.require_access().await?;
        let api = self.context.api();
        let download = match download_recording(&api, &one.id, MAX_RECORDING_BYTES).await {
            Ok(download) => download,
            Err(RecordingError::Gone) => {
                let gone = format!("GoTo no longer has recording {} (404)", one.id);
                self.context.output.error(gone);
                return Ok(None);
            }
            Err(err) => return Err(download_error(err, &one.id)),
        };
        let ext = extension(&download.content_type).to_string();
        let chunks: Chunks<'static> = Box::pin(futures_util::stream::try_unfold(
            download,
            |mut download| async move {
                match download.chunk().await {
                    Ok(Some(chunk)) => Ok(Some((chunk, download))),
                    Ok(None) => Ok(None),
                    Err(err) => Err(std::io::Error::other(err)),
                }
            },
        ));
        Ok(Some((chunks, ext)))
    }

    /// Exit 4 before the first download when the stored login lacks `recording.v1.read`.
    async fn require_access(&self) -> anyhow::Result<()> {
        if self.checked_access.replace(true) {
            return Ok(());
        }
        let access = recording_access(&self.context.tokens()).await?;
        if !access.read {
            return Err(NeedsRecordingScope(
                "downloading a recording from GoTo needs the scope recording.v1.read, which \
                 the login lacks"
                    .to_string(),
            )
            .into());
        }
        Ok(())
    }

    async fn to_stdout(&self, mut chunks: Chunks<'static>) -> anyhow::Result<()> {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.context("the download broke off")?;
            self.context.output.data(&chunk)?;
        }
        Ok(())
    }
}

/// Whether `path` ends with a separator (`calls/`): a folder, whether or not it exists.
fn names_a_folder(path: &Path) -> bool {
    let text = path.as_os_str().to_string_lossy();
    text.ends_with(std::path::MAIN_SEPARATOR) || text.ends_with('/')
}

/// What a failed download means for the user: GoTo's 403 is the missing scope (exit 4).
fn download_error(err: RecordingError, id: &MediaId) -> anyhow::Error {
    match err {
        RecordingError::Api(err @ ApiError::Forbidden { .. }) => NeedsRecordingScope(format!(
            "GoTo refused recording {id} ({err}); the token needs the scope recording.v1.read \
             and the user the permission to access call recordings"
        ))
        .into(),
        RecordingError::Api(err) => {
            anyhow::Error::new(err).context(format!("cannot download recording {id}"))
        }
        other => anyhow::Error::new(other).context(format!("cannot download recording {id}")),
    }
}
