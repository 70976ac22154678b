//! `cer sync`'s settings: the range (read as `summaries` reads it), the account, the store,
//! the re-fetch points and the archive.

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tracing::level_filters::LevelFilter;

use super::persistence::{refetch_after, store_location};
use super::range::zoned_range;
use super::{Settings, TimeScale, missing_account_key};
use crate::cli::SyncArgs;
use crate::errors::UsageError;
use crate::store::StoreLocation;

/// `cer sync`, resolved: the range, the account and the store.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub start: Timestamp,
    pub end: Timestamp,
    pub account_key: String,
    pub store: StoreLocation,
    /// `CER_REFETCH`: the re-fetch points still ahead are planned for each report stored,
    /// and the due ones of the range's calls are done; empty (`off`): neither.
    pub refetch_after: Vec<Duration>,
    /// `--check`: compare, fetch nothing.
    pub check: bool,
    /// `--json` (with `--check`).
    pub json: bool,
    /// `--archive` / `CER_ARCHIVE`: also archive (or with `--check`, check) the calls' media.
    pub archive: Option<super::archive::ArchiveSettings>,
    /// `--verify` (with `--check --archive`): re-hash what the archive holds.
    pub verify: bool,
    /// `--sandbox`: the simulator's login may archive, whatever scopes it names.
    pub sandbox: bool,
    /// `CER_TIME_SCALE`: the re-fetcher's timers, scaled as a listener's.
    pub time_scale: TimeScale,
    /// `--rate` / `CER_RATE`: the re-fetcher keeps to the API client's pace.
    pub rate: u32,
    /// `-v` or `LOG_LEVEL=debug`: `--check` lists each missing call too.
    pub each_missing: bool,
}

impl SyncSettings {
    /// Reads the range as `summaries` does, from the same flags, as of `now`.
    pub fn resolve(
        args: &SyncArgs,
        settings: &Settings,
        now: Timestamp,
        local: TimeZone,
    ) -> Result<Self, UsageError> {
        let (_, start, end) = zoned_range(&args.range, now, local)?;
        let account_key = args
            .account_key
            .clone()
            .or_else(|| settings.account_key.clone())
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(missing_account_key)?;
        let archive = super::archive::archive_settings(args.archive.as_deref(), settings)?;
        if args.verify && archive.is_none() {
            return Err(
                UsageError::new("--verify checks an archive: give --archive DEST").with_hint(
                    "e.g. cer sync --check --archive /srv/cer-archive --verify --day yesterday",
                ),
            );
        }
        Ok(Self {
            start,
            end,
            account_key,
            store: store_location(&args.store, settings)?,
            refetch_after: refetch_after(None, settings)?,
            check: args.check,
            json: args.json,
            archive,
            verify: args.verify,
            sandbox: settings.sandbox,
            time_scale: settings.time_scale.unwrap_or_default(),
            rate: settings.rate,
            each_missing: settings.log_level >= LevelFilter::DEBUG,
        })
    }
}
