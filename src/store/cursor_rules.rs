//! The rules every cursor store follows when a saved cursor cannot be trusted as it is: one
//! in the future (a clock that once ran ahead, a hand edit) would skip every gap before it, and
//! a corrupt record replaced by "now" would lose the calls that ended while cer was down.
//! Pure functions, so the JSON ledger and any other store apply the same rules.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

/// How far ahead of the local clock a cursor may be before it is distrusted: clocks of two
/// machines (GoTo's `callEnded`, this one) disagree by seconds, not minutes.
pub const FUTURE_SKEW: SignedDuration = SignedDuration::from_mins(2);

/// The cursor to use instead of `cursor` when it lies in the future (beyond the skew), with
/// the warning to show; `None` when `cursor` is fine as it is.
pub fn clamp_future(cursor: Timestamp, now: Timestamp) -> Option<(Timestamp, String)> {
    let limit = now.saturating_add(FUTURE_SKEW).unwrap_or(Timestamp::MAX);
    (cursor > limit).then(|| {
        let warning = format!(
            "the saved listen cursor ({cursor}) is later than now ({now}); using now instead, \
             so reconnect gaps are backfilled again"
        );
        (now, warning)
    })
}

/// The best cursor still readable in a record that does not parse: its `"cursor"` field, if
/// that much survived. This is the last good knowledge of where emitting stopped.
pub fn salvage_cursor(text: &str) -> Option<Timestamp> {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(cursor) = value.get("cursor").and_then(|c| c.as_str())
    {
        return cursor.parse().ok();
    }
    // A truncated or damaged file: look for the field's text itself.
    let (_, after) = text.split_once("\"cursor\"")?;
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let quoted = after.strip_prefix('"')?;
    let (cursor, _) = quoted.split_once('"')?;
    cursor.parse().ok()
}

/// Where a corrupt record is kept: next to it, named after the moment it was found, so a
/// person can look at it and repeated finds never overwrite each other.
pub fn set_aside_path(record: &Path, now: Timestamp) -> PathBuf {
    let mut name = record
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".corrupt-{}", now.as_millisecond()));
    record.with_file_name(name)
}

/// What a store does with a record it cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Backfill from this cursor, read from what survived of the record.
    Salvaged(Timestamp),
    /// Nothing trustworthy survived: `listen` must be told where to start (`--since`).
    NeedsSince,
}

/// Decides how to go on from an unreadable record's text.
pub fn recover(text: &str) -> Recovery {
    salvage_cursor(text).map_or(Recovery::NeedsSince, Recovery::Salvaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_cursor_beyond_the_skew_is_clamped_to_now() {
        let now = at("2026-11-24T12:00:00Z");
        let (clamped, warning) = clamp_future(at("2027-01-01T00:00:00Z"), now).unwrap();
        assert_eq!(clamped, now);
        assert!(warning.contains("later than now"));
    }

    #[test]
    fn a_cursor_within_the_skew_or_past_is_kept() {
        let now = at("2026-11-24T12:00:00Z");
        assert_eq!(clamp_future(at("2026-11-24T12:01:00Z"), now), None);
        assert_eq!(clamp_future(at("2026-11-24T11:00:00Z"), now), None);
    }

    #[test]
    fn salvages_the_cursor_of_a_truncated_record() {
        let text = r#"{"accountKey":"1","cursor":"2026-11-24T10:00:00Z","recent":{"a":{"end"#;
        assert_eq!(
            recover(text),
            Recovery::Salvaged(at("2026-11-24T10:00:00Z"))
        );
    }

    #[test]
    fn salvages_the_cursor_of_a_record_with_a_damaged_field() {
        let text = r#"{"accountKey":"1","cursor":"2026-11-24T10:00:00Z","recent":[]}"#;
        assert_eq!(salvage_cursor(text), Some(at("2026-11-24T10:00:00Z")));
    }

    #[test]
    fn without_a_readable_cursor_it_asks_for_since() {
        assert_eq!(recover("{oops"), Recovery::NeedsSince);
        assert_eq!(recover(r#"{"cursor":"yesterday"}"#), Recovery::NeedsSince);
        assert_eq!(recover("\u{0}\u{0}"), Recovery::NeedsSince);
    }

    #[test]
    fn the_copy_sits_next_to_the_record() {
        let path = set_aside_path(Path::new("/s/cursor-1.json"), at("1970-01-01T00:00:01Z"));
        assert_eq!(path, Path::new("/s/cursor-1.json.corrupt-1000"));
    }
}
