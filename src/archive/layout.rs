//! Where each thing goes in an archive: `YYYY/MM/DD/CONVERSATIONSPACEID/` by the UTC day the
//! call ended, holding `report.json`, `recording-ID.EXT` and `transcript-ID.json`. Every part
//! taken from GoTo is a checked plain ID, so no key climbs out of its folder.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::api::recordings::MediaId;

/// The folder of call `id` that ended at `ended`; `None` for an ID that is not plain.
pub fn folder_at(id: &str, ended: Timestamp) -> Option<String> {
    MediaId::parse(id)
        .ok()
        .map(|call| call_folder(ended, &call))
}

/// The folder of one call, relative to the archive's root.
pub fn call_folder(ended: Timestamp, call: &MediaId) -> String {
    let day = ended.to_zoned_datetime(TimeZone::UTC).date();
    format!(
        "{:04}/{:02}/{:02}/{call}",
        day.year(),
        day.month(),
        day.day()
    )
}

/// The newest revision of the call's report.
pub fn report_key(folder: &str) -> String {
    format!("{folder}/report.json")
}

/// A recording, named with the extension its content type calls for.
pub fn recording_key(folder: &str, id: &MediaId, content_type: &str) -> String {
    format!("{folder}/recording-{id}.{}", extension(content_type))
}

/// A transcript, GoTo's JSON.
pub fn transcript_key(folder: &str, id: &MediaId) -> String {
    format!("{folder}/transcript-{id}.json")
}

/// The file name a recording has under any content type: `recording-ID.` and some extension.
pub fn recording_stem(id: &MediaId) -> String {
    format!("recording-{id}.")
}

/// The extension of an audio content type (`audio/mpeg` is `mp3`); `bin` when unknown.
pub fn extension(content_type: &str) -> &'static str {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg-3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "wav",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/webm" => "webm",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/flac" | "audio/x-flac" => "flac",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_filed_by_the_utc_day_it_ended() {
        let call = MediaId::parse("abc-123").unwrap();
        let ended: Timestamp = "2026-03-01T00:30:00+02:00".parse().unwrap();
        let folder = call_folder(ended, &call);
        assert_eq!(folder, "2026/02/28/abc-123");
        let rec = MediaId::parse("r1").unwrap();
        assert_eq!(
            recording_key(&folder, &rec, "audio/mpeg"),
            "2026/02/28/abc-123/recording-r1.mp3"
        );
        assert_eq!(
            recording_key(&folder, &rec, "Audio/WAV; x=1"),
            "2026/02/28/abc-123/recording-r1.wav"
        );
        assert_eq!(
            recording_key(&folder, &rec, "text/html"),
            "2026/02/28/abc-123/recording-r1.bin"
        );
        assert_eq!(
            transcript_key(&folder, &rec),
            "2026/02/28/abc-123/transcript-r1.json"
        );
    }
}
