//! Archiving one call's media, shared by `sync --archive` and `listen --archive` (SPEC section
//! 13): a call's newest revision written as `report.json` and the objects it names planned in
//! the store; one claimed object downloaded from GoTo and written to the archive, and what the
//! attempt came to (archived, not ready yet, gone, failed), so both commands settle it alike.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use url::Url;

use super::background::Background;
use super::pace::Pace;
use crate::api::ApiClient;
use crate::api::recordings::{
    MAX_RECORDING_BYTES, MediaId, RecordingError, fetch_transcript, open_recording,
    recording_address,
};
use crate::archive::layout::{folder_at, recording_key, report_key, transcript_key};
use crate::archive::wanted::named_media;
use crate::archive::{Archive, ArchiveError, Chunks};
use crate::errors::NeedsRecordingScope;
use crate::listen::LiveWork;
use crate::net::ApiError;
use crate::report::Report;
use crate::store::Store;
use crate::store::media::{ClaimedMedia, MediaKind, MediaOutcome};

/// Attempts at an object before it counts as failed for good (`sync`'s default).
pub const MAX_ATTEMPTS: i64 = 12;
/// The first wait before an object that was not ready is tried again (then doubling, to 1 h).
pub const FIRST_RETRY: SignedDuration = SignedDuration::from_secs(60);

/// How an object that was not ready is tried again: after `first`, doubling up to an hour,
/// `max_attempts` times in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub first: SignedDuration,
    /// Attempts before it counts as failed for good.
    pub max_attempts: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: FIRST_RETRY,
            max_attempts: MAX_ATTEMPTS,
        }
    }
}

impl Backoff {
    /// As many attempts as fit in `within` (`--forward-for`), waiting from `first` on.
    pub fn within(first: SignedDuration, within: SignedDuration) -> Self {
        let mut waited = SignedDuration::ZERO;
        let mut attempts = 1;
        while attempts < 1000 {
            let next = waited + wait(first, attempts - 1);
            if next > within {
                break;
            }
            waited = next;
            attempts += 1;
        }
        Self {
            first,
            max_attempts: attempts,
        }
    }
}

/// The wait after attempt `attempts` (0-based): doubling from `first`, at most an hour.
fn wait(first: SignedDuration, attempts: i64) -> SignedDuration {
    let doublings = u32::try_from(attempts.clamp(0, 6)).unwrap_or(6);
    let cap = SignedDuration::from_hours(1).max(first);
    (first * 2i32.pow(doublings)).min(cap)
}

/// The folder of call `id` whose newest report is `text`: by the UTC day it ended.
pub fn folder_of(id: &str, text: &str) -> Result<String, &'static str> {
    // The one view of a report: its times without a tree of values, whatever its size.
    let report = Report::parse(text).map_err(|_| "the stored report is not JSON")?;
    let facts = report.facts();
    let ended = (facts.call_ended.or(facts.call_created)).ok_or("the report has no callEnded")?;
    folder_at(id, ended).ok_or("not a plain ID")
}

/// SHA-256 of `bytes`, lowercase hex (as the archive reports it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What planning a call came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Planned {
    /// Whether `report.json` was (re)written.
    pub report_written: bool,
    /// IDs the report named that are not plain IDs, as sent (to be shown escaped).
    pub refused: Vec<String>,
}

/// The archive, GoTo and the store, as one call's archiving uses them.
pub struct Archiver<'a> {
    /// Where the bookkeeping is.
    pub store: &'a Store,
    /// GoTo's Recording API.
    pub api: &'a ApiClient,
    /// Where objects go.
    pub archive: &'a Archive,
    /// The listener's live report work, which a recording's download gives way to between
    /// chunks (none for `sync`: nothing live waits there).
    pub live: Option<&'a LiveWork>,
    /// Where a listener's recordings are downloaded and written (none for `sync`: here).
    pub apart: Option<&'a Apart>,
}

/// A listener's recordings downloaded, hashed and written on the background thread, with an
/// HTTP client and an archive whose connections are that thread's alone: a connection is
/// driven by the runtime that opened it, and the live path's must never wait on this one.
#[derive(Debug, Clone)]
pub struct Apart {
    /// The thread.
    pub thread: Background,
    /// Reaches the storage hosts GoTo redirects to. GoTo's own API (the download token and
    /// the redirect) is asked on the caller's runtime, with the caller's client and tokens.
    pub storage: reqwest::Client,
    /// The archive, with connections (an S3 endpoint's) of its own.
    pub archive: Archive,
}

/// How fast a listener downloads a recording at most: 8 MiB a second, an hour of a call's
/// audio (tens of megabytes) in seconds, far below what a loopback or a LAN can carry.
/// Unpaced, a 100 MB download kept the kernel and a core busy for its few hundred
/// milliseconds, and live calls meanwhile took 1.1 to 2.6 x their usual p99 however low the
/// archive thread's priority (copying received bytes is the kernel's work, done at no
/// thread's priority); at 64 MiB/s 1.03 to 1.20 x; at 16 MiB/s 1.09 to 1.10 x the same
/// listener's p99 between downloads in two runs of three; at 8 MiB/s 0.86 to 1.05 x
/// (`cargo bench`). `sync` is not paced: nothing live waits there.
const LISTENER_DOWNLOADS_PER_SECOND: u64 = 8 * 1024 * 1024;

/// Whether the listener has said that its archive thread is gone: once is enough.
static THREAD_GONE_SAID: AtomicBool = AtomicBool::new(false);

/// The longest a download holds its next chunk for live work.
const GIVE_WAY_AT_MOST: Duration = Duration::from_secs(2);

impl Archiver<'_> {
    /// Writes `text` (the call's newest revision) as `folder`'s `report.json` unless the
    /// archive has it already, and plans every object it names.
    pub async fn plan(&self, id: &str, folder: &str, text: &str) -> anyhow::Result<Planned> {
        let key = report_key(folder);
        let stored = sha256_hex(text.as_bytes());
        let archived = self.archive.rehash(&key).await?;
        let report_written = archived.is_none_or(|a| a.sha256 != stored);
        if report_written {
            let bytes = Bytes::from(text.as_bytes().to_vec());
            self.archive
                .put_bytes(&key, "application/json", bytes)
                .await?;
        }
        let named = named_media(id, text);
        self.store
            .plan_media(&named.items, Timestamp::now())
            .await?;
        Ok(Planned {
            report_written,
            refused: named.refused,
        })
    }

    /// Downloads and writes one object; an authentication failure, or GoTo refusing the
    /// recordings, is an error (the same for every object): the caller stops.
    pub async fn archive_one(
        &self,
        claim: &ClaimedMedia,
        folder: &str,
    ) -> Result<Attempt, ArchiveStop> {
        let Ok(id) = MediaId::parse(&claim.item.media_id) else {
            return Ok(Attempt::settled(MediaOutcome::Failed {
                error: "not a plain ID".to_string(),
            }));
        };
        let written = match claim.item.kind {
            MediaKind::Recording => self.archive_recording(&id, folder).await,
            MediaKind::Transcript => self.archive_transcript(&id, folder).await,
        };
        match written {
            Ok(outcome) => Ok(Attempt::settled(outcome)),
            Err(Failure::Recording(RecordingError::Api(err))) if is_auth(&err) => {
                Err(ArchiveStop::Auth(err))
            }
            Err(Failure::Recording(RecordingError::Api(err @ ApiError::Forbidden { .. }))) => {
                Err(ArchiveStop::Refused(NeedsRecordingScope(format!(
                    "GoTo refused the recordings ({err}); the token needs the scope \
                     recording.v1.read and the user the permission to access call recordings"
                ))))
            }
            Err(failure) => Ok(Attempt {
                archive_error: match &failure {
                    Failure::Archive(err) => Some(err.to_string()),
                    Failure::Recording(_) => None,
                },
                outcome: failure.outcome(claim.attempts, Timestamp::now(), Backoff::default()),
                failure: Some(failure),
            }),
        }
    }

    /// The address from GoTo here, the bytes apart; a token GoTo or the storage host refused
    /// is replaced by a new one, once.
    async fn archive_recording(&self, id: &MediaId, folder: &str) -> Result<MediaOutcome, Failure> {
        let mut refused = false;
        loop {
            let stored = match recording_address(self.api, id).await {
                Ok(address) => self.store_recording(address, id, folder).await,
                Err(err) => Err(err.into()),
            };
            match stored {
                Err(Failure::Recording(RecordingError::TokenRefused)) if !refused => {
                    tracing::debug!(recording = %id, "download token refused; asking for a new one");
                    refused = true;
                }
                other => return other,
            }
        }
    }

    /// The bytes at `address` into the archive: on the background thread when there is one
    /// (and it still runs: else here, rather than not at all).
    async fn store_recording(
        &self,
        address: Url,
        id: &MediaId,
        folder: &str,
    ) -> Result<MediaOutcome, Failure> {
        let live = self.live.cloned();
        let apart = self.apart.filter(|apart| {
            let running = apart.thread.is_running();
            if !running && !THREAD_GONE_SAID.swap(true, Ordering::Relaxed) {
                tracing::warn!("the archive thread is gone: recordings download here instead");
            }
            running
        });
        let Some(apart) = apart else {
            let http = self.api.http();
            return stream_recording(http, self.archive, address, (id, folder), live).await;
        };
        let (http, archive) = (apart.storage.clone(), apart.archive.clone());
        let (id, folder) = (id.clone(), folder.to_string());
        let work =
            async move { stream_recording(&http, &archive, address, (&id, &folder), live).await };
        apart.thread.run(work).await.unwrap_or_else(|unfinished| {
            Err(ArchiveError::Failed {
                archive: apart.archive.shown(),
                reason: unfinished.to_string(),
            }
            .into())
        })
    }

    async fn archive_transcript(
        &self,
        id: &MediaId,
        folder: &str,
    ) -> Result<MediaOutcome, Failure> {
        let body = fetch_transcript(self.api, id).await?;
        let content_type = "application/json";
        let archived = self
            .archive
            .put_bytes(&transcript_key(folder, id), content_type, body)
            .await?;
        Ok(MediaOutcome::Archived {
            object_key: archived.key,
            bytes: archived.bytes,
            sha256: archived.sha256,
            content_type: content_type.to_string(),
        })
    }
}

/// A recording's bytes from the storage host at `address` into the archive, hashed on the
/// way, as recording `id` of `folder`; between two chunks it gives way to `live` work.
async fn stream_recording(
    http: &reqwest::Client,
    archive: &Archive,
    address: Url,
    (id, folder): (&MediaId, &str),
    live: Option<LiveWork>,
) -> Result<MediaOutcome, Failure> {
    let download = open_recording(http, address, MAX_RECORDING_BYTES).await?;
    let content_type = download.content_type.clone();
    let key = recording_key(folder, id, &content_type);
    let pace = Pace::new(LISTENER_DOWNLOADS_PER_SECOND);
    let chunks: Chunks<'static> = Box::pin(futures_util::stream::try_unfold(
        (download, live, pace),
        |(mut download, live, mut pace)| async move {
            if let Some(live) = &live {
                live.until_idle(GIVE_WAY_AT_MOST).await;
                pace.wait().await;
            }
            match download.chunk().await {
                Ok(Some(chunk)) => {
                    pace.took(chunk.len());
                    Ok(Some((chunk, (download, live, pace))))
                }
                Ok(None) => Ok(None),
                Err(err) => Err(std::io::Error::other(err)),
            }
        },
    ));
    let archived = archive.put(&key, &content_type, chunks).await?;
    Ok(MediaOutcome::Archived {
        object_key: archived.key,
        bytes: archived.bytes,
        sha256: archived.sha256,
        content_type,
    })
}

/// Why archiving stops altogether: the same answer would come for every object.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveStop {
    /// The login no longer works.
    #[error(transparent)]
    Auth(ApiError),
    /// GoTo refuses the recordings (scope or permission).
    #[error(transparent)]
    Refused(NeedsRecordingScope),
}

/// One attempt at one object.
#[derive(Debug)]
pub struct Attempt {
    /// To settle the row with (with the default backoff; [`Attempt::with_backoff`] redoes it).
    pub outcome: MediaOutcome,
    /// Set when the archive itself failed (unreachable, refusing): `/healthz` says so.
    pub archive_error: Option<String>,
    failure: Option<Failure>,
}

impl Attempt {
    /// Failed for good, before any download.
    pub fn failed(error: String) -> Self {
        Self::settled(MediaOutcome::Failed { error })
    }

    fn settled(outcome: MediaOutcome) -> Self {
        Self {
            outcome,
            archive_error: None,
            failure: None,
        }
    }

    /// The outcome with `backoff` instead of `sync`'s default (a listener retries for
    /// `--forward-for`).
    pub fn with_backoff(mut self, attempts: i64, now: Timestamp, backoff: Backoff) -> Self {
        if let Some(failure) = &self.failure {
            self.outcome = failure.outcome(attempts, now, backoff);
        }
        self
    }
}

/// Why one object was not archived this time.
#[derive(Debug)]
enum Failure {
    Recording(RecordingError),
    Archive(ArchiveError),
}

impl From<RecordingError> for Failure {
    fn from(err: RecordingError) -> Self {
        Self::Recording(err)
    }
}

impl From<ArchiveError> for Failure {
    fn from(err: ArchiveError) -> Self {
        Self::Archive(err)
    }
}

impl Failure {
    /// Gone stays gone; what may pass is tried again later, with backoff, a few times.
    fn outcome(&self, attempts: i64, now: Timestamp, backoff: Backoff) -> MediaOutcome {
        let (transient, error) = match self {
            Self::Recording(RecordingError::Gone) => return MediaOutcome::Gone,
            Self::Recording(err) => (err.is_transient(), err.to_string()),
            // The download broke off, or the archive failed: both may pass.
            Self::Archive(err) => (true, err.to_string()),
        };
        if !transient || attempts + 1 >= backoff.max_attempts {
            return MediaOutcome::Failed { error };
        }
        MediaOutcome::Retry {
            error,
            next: now
                .checked_add(wait(backoff.first, attempts))
                .unwrap_or(now),
        }
    }
}

fn is_auth(err: &ApiError) -> bool {
    matches!(
        err,
        ApiError::Auth(_) | ApiError::Unauthorized { .. } | ApiError::Local(_)
    )
}

#[cfg(test)]
mod tests;
