//! `cer show`'s settings: which calls (a whole conversationSpaceId, or a prefix of a stored
//! one as the summaries table shows it), the time zone of the page, and the store.

use jiff::tz::TimeZone;

use super::Settings;
use super::archive::{ArchiveSettings, archive_settings};
use super::persistence::store_location;
use crate::cli::ShowArgs;
use crate::errors::UsageError;
use crate::report::ConversationId;
use crate::store::StoreLocation;

/// The fewest characters of an ID that name a stored call: what the summaries table shows.
pub const MIN_PREFIX: usize = 8;

/// One call as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallRef {
    /// A whole conversationSpaceId: the store, else GoTo.
    Full(String),
    /// The first characters of a stored call's ID (lowercase): the store only.
    Prefix(String),
}

/// `cer show`, resolved.
#[derive(Debug, Clone)]
pub struct ShowSettings {
    pub calls: Vec<CallRef>,
    pub zone: TimeZone,
    pub store: StoreLocation,
    /// The archive to read recordings and transcripts from (`--archive`, `CER_ARCHIVE`).
    pub archive: Option<ArchiveSettings>,
    /// `--transcript`: fetch a transcript the archive lacks from GoTo.
    pub transcript: bool,
    /// `COLUMNS`: how wide the page may be when the terminal cannot say.
    pub columns: Option<usize>,
}

impl ShowSettings {
    /// Reads after the sandbox (if any) is set up, so `--sandbox` looks in its own store.
    pub fn resolve(
        args: &ShowArgs,
        settings: &Settings,
        local: TimeZone,
    ) -> Result<Self, UsageError> {
        Ok(Self {
            calls: call_refs(&args.ids)?,
            zone: if args.utc { TimeZone::UTC } else { local },
            store: store_location(&args.store, settings)?,
            archive: archive_settings(args.archive.as_deref(), settings)?,
            transcript: args.transcript,
            columns: settings.columns,
        })
    }
}

/// Each call as the user named it, or the first that names none.
pub fn call_refs(ids: &[String]) -> Result<Vec<CallRef>, UsageError> {
    ids.iter().map(|id| call_ref(id)).collect()
}

/// A whole ID, or at least [`MIN_PREFIX`] of its leading characters.
pub fn call_ref(text: &str) -> Result<CallRef, UsageError> {
    let id = text.trim().to_lowercase();
    if ConversationId::is_valid(&id) {
        return Ok(CallRef::Full(id));
    }
    let shape = id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if shape && (MIN_PREFIX..36).contains(&id.len()) {
        return Ok(CallRef::Prefix(id));
    }
    let why = if shape && id.len() < MIN_PREFIX {
        format!("{text:?} is too short: give at least {MIN_PREFIX} characters of a call's ID")
    } else {
        format!(
            "{text:?} is not a conversationSpaceId (a UUID like 29a1c77a-e52a-3764-8606-8b02b1277be8) nor the \
                start of one"
        )
    };
    Err(UsageError::new(why).with_hint(
        "the ID column of `cer summaries` shows the first 8 characters of each call's ID",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_ids_prefixes_and_the_rest() {
        let full = "29A1C77A-e52a-3764-8606-8b02b1277be8";
        assert_eq!(
            call_ref(full).unwrap(),
            CallRef::Full("29a1c77a-e52a-3764-8606-8b02b1277be8".into())
        );
        assert_eq!(
            call_ref("29a1c77a").unwrap(),
            CallRef::Prefix("29a1c77a".into())
        );
        assert_eq!(
            call_ref("29a1c77a-e5").unwrap(),
            CallRef::Prefix("29a1c77a-e5".into())
        );
        let short = call_ref("29a1c77").unwrap_err().to_string();
        assert!(short.contains("at least 8"), "{short}");
        for bad in [
            "29a1c77a%",
            "29a1c77a_",
            "zzzzzzzz",
            "29a1c77a-e52a-3764-8606-8b02b1277be8f",
        ] {
            assert!(call_ref(bad).is_err(), "{bad}");
        }
    }
}
