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
    /// `TZ`: the zone of the calls listed when a short ID names several.
    pub zone: jiff::tz::TimeZone,
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
            zone: settings.time_zone.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::settings::Sources;

    fn resolve(args: &[&str], terminal: bool) -> Result<RecordingSettings, UsageError> {
        let cli = Cli::try_parse_from(args).unwrap();
        let settings = Settings::resolve(&cli.global, &Sources::from_maps(&[("HOME", "/h")], &[]))?;
        let Command::Recording(recording) = cli.command else {
            panic!("not a recording command");
        };
        RecordingSettings::resolve(&recording, &settings, terminal)
    }

    #[test]
    fn audio_goes_to_a_file_or_a_pipe_never_to_a_terminal() {
        let id = "29a1c77a-e52a-3764-8606-8b02b1277be8";
        let refused = resolve(&["cer", "recording", id], true).unwrap_err();
        assert!(
            refused.to_string().contains("not to a terminal"),
            "{refused}"
        );
        assert!(resolve(&["cer", "recording", id], false).is_ok());
        let to_file = resolve(&["cer", "recording", id, "-o", "call.wav"], true).unwrap();
        assert_eq!(to_file.output, Some(PathBuf::from("call.wav")));
        assert!(resolve(&["cer", "recording", "29a1c7", "-o", "x"], false).is_err());
    }
}
