//! The audio is a valid WAV of the promised length, the same for the same salt from any
//! offset; the transcript takes turns inside the recording.

use super::*;

#[test]
fn the_audio_is_a_wav_whose_sizes_match_its_samples() {
    let audio = Audio::new(7, 2_500, 1 << 20, None);
    assert_eq!(audio.data_len, 20_000);
    let bytes = audio.read(0, usize::MAX >> 1);
    assert_eq!(bytes.len() as u64, audio.total_len());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    assert_eq!(u32_at(4) as usize, bytes.len() - 8);
    assert_eq!(u32_at(24), 8_000, "sample rate");
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(u32_at(40) as usize, bytes.len() - 44);
    assert!(bytes[44..].iter().any(|b| *b != 128), "not all silence");
    assert!(bytes[44..].contains(&128), "some silence");
}

#[test]
fn the_audio_is_the_same_read_whole_or_in_pieces_and_differs_by_salt() {
    let audio = Audio::new(9, 10_000, 1 << 20, None);
    let whole = audio.read(0, 1 << 20);
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < audio.total_len() {
        pieces.extend(audio.read(at, 777));
        at += 777;
    }
    assert_eq!(whole, pieces);
    assert_ne!(
        whole,
        Audio::new(10, 10_000, 1 << 20, None).read(0, 1 << 20)
    );
}

#[test]
fn the_audio_is_capped_unless_a_size_is_asked_for() {
    assert_eq!(Audio::new(1, 3_600_000, 1_000, None).data_len, 1_000);
    assert_eq!(
        Audio::new(1, 1_000, 1_000, Some(100_000_000)).data_len,
        100_000_000
    );
    assert_eq!(Audio::new(1, -5, 1_000, None).total_len(), 44);
}

#[test]
fn the_transcript_takes_turns_inside_the_recording() {
    let t = transcript(3, 60_000, "a charge on the last invoice");
    assert_eq!(t["version"], "1");
    let results = t["results"].as_array().expect("results");
    assert!(results.len() >= 6, "{t}");
    let mut last_end = 0;
    for (k, r) in results.iter().enumerate() {
        assert_eq!(r["type"], "utterances");
        assert_eq!(r["channel"], (k % 2) as u64);
        let (start, end) = (
            r["startTimeMs"].as_i64().unwrap_or(-1),
            r["endTimeMs"].as_i64().unwrap_or(-1),
        );
        assert!(last_end <= start && start < end && end <= 60_000, "{r}");
        last_end = end;
    }
    assert!(
        results[1]["transcript"]
            .as_str()
            .unwrap_or("")
            .contains("invoice")
    );
    assert_eq!(t, transcript(3, 60_000, "a charge on the last invoice"));
    assert_eq!(
        transcript(3, 500, "x")["results"].as_array().map(Vec::len),
        Some(0)
    );
}
