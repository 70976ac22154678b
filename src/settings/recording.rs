//! `cer recording`'s settings: which calls (as `cer show` names them), where the audio goes
//! (`-o PATH`, else stdout), the archive read first, and the store that resolves short IDs.

use std::path::PathBuf;

use super::Settings;
use super::archive::{ArchiveSettings, archive_settings};
use super::persistence::store_location;
use super::show::{CallRef, call_refs};
use crate::cli::RecordingArgs;
use crate::errors::UsageError;
use crate::store::StoreLocation;

/// `cer recording`, resolved.
#[derive(Debug, Clone)]
pub struct RecordingSettings {
    pub calls: Vec<CallRef>,
    /// `-o PATH`: a file, or a folder for several recordings; `None`: stdout.
    pub output: Option<PathBuf>,
    pub archive: Option<ArchiveSettings>,
    pub store: StoreLocation,
}

impl RecordingSettings {
    /// Audio is never written to a terminal: without `-o`, stdout must be a pipe or a file.
    pub fn resolve(
        args: &RecordingArgs,
        settings: &Settings,
        stdout_is_terminal: bool,
    ) -> Result<Self, UsageError> {
        let calls = call_refs(&args.ids)?;
        if args.output.is_none() && stdout_is_terminal {
            return Err(
                UsageError::new("cer recording writes audio: not to a terminal").with_hint(
                    "give -o PATH (e.g. -o call.wav), or pipe it: cer recording ID | ffplay -",
                ),
            );
        }
        Ok(Self {
            calls,
            output: args.output.clone(),
            archive: archive_settings(args.archive.as_deref(), settings)?,
            store: store_location(&args.store, settings)?,
        })
    }
}
