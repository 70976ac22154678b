//! The media a recorded call leaves: a valid WAV file (8 kHz, mono, 8-bit PCM) whose length
//! follows the talk time, and a transcript in GoTo's "Version 1" JSON, both pure functions of
//! the call's salt, so two sandboxes with one seed serve the same bytes. The audio is produced
//! in pieces from any offset, so a 100 MB recording is streamed, never held in memory.

use bytes::BufMut;
use serde_json::{Value, json};

use super::rng::{SplitMix64, hash};

/// 8,000 one-byte samples a second.
pub(crate) const BYTES_PER_SECOND: u64 = 8_000;
/// The RIFF/WAVE header of a PCM file.
pub(crate) const WAV_HEADER_LEN: u64 = 44;
/// The content type the storage host serves the audio with.
pub(crate) const AUDIO_CONTENT_TYPE: &str = "audio/wav";
/// A WAV's sizes are 32-bit: the samples stop short of that.
const MAX_DATA: u64 = u32::MAX as u64 - 64;
/// One "syllable" of sound or silence, in samples.
const SEGMENT: u64 = 1_600;

/// Distinct sounds a recording's segments are drawn from.
const BANK: u64 = 32;

const D_AUDIO: u64 = 0xA0D10;
const D_PICK: u64 = 0x91C4;
const D_WORDS: u64 = 0x7E47;

/// The audio of one recording: `data_len` bytes of samples after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Audio {
    pub salt: u64,
    pub data_len: u64,
}

impl Audio {
    /// Audio for `length_ms` of talk, at most `max` bytes of samples (`exact` overrides both).
    pub(crate) fn new(salt: u64, length_ms: i64, max: u64, exact: Option<u64>) -> Audio {
        let natural = u64::try_from(length_ms.max(0)).unwrap_or(0) * BYTES_PER_SECOND / 1000;
        let data_len = exact.unwrap_or(natural.min(max)).min(MAX_DATA);
        Audio { salt, data_len }
    }

    /// The whole file's length in bytes.
    pub(crate) fn total_len(&self) -> u64 {
        WAV_HEADER_LEN + self.data_len
    }

    fn header(&self) -> [u8; WAV_HEADER_LEN as usize] {
        let data = self.data_len as u32;
        let mut h = [0u8; WAV_HEADER_LEN as usize];
        let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, b"RIFF");
        put(4, &(data + 36).to_le_bytes());
        put(8, b"WAVEfmt ");
        put(16, &16u32.to_le_bytes());
        put(20, &1u16.to_le_bytes()); // PCM
        put(22, &1u16.to_le_bytes()); // mono
        put(24, &(BYTES_PER_SECOND as u32).to_le_bytes());
        put(28, &(BYTES_PER_SECOND as u32).to_le_bytes());
        put(32, &1u16.to_le_bytes()); // block align
        put(34, &8u16.to_le_bytes()); // bits per sample
        put(36, b"data");
        put(40, &data.to_le_bytes());
        h
    }

    /// Bytes `from..from + len` of the file (fewer at its end).
    #[cfg(test)]
    pub(crate) fn read(&self, from: u64, len: usize) -> Vec<u8> {
        self.reader().read(from, len)
    }

    /// What reads the file piece by piece: the sounds it is made of, made once.
    pub(crate) fn reader(&self) -> AudioReader {
        let table = sine_table();
        let mut bank = Vec::with_capacity((BANK * SEGMENT) as usize);
        for sound in 0..BANK {
            let voice = Voice::of(self.salt, sound);
            bank.extend((0..SEGMENT).map(|i| voice.sample(i, &table)));
        }
        AudioReader {
            audio: *self,
            header: self.header(),
            bank,
        }
    }
}

/// Reads an [`Audio`]: every segment of it plays one of a few sounds, copied from a bank, so
/// a 100 MB file streams as fast as memory copies.
#[derive(Debug, Clone)]
pub(crate) struct AudioReader {
    audio: Audio,
    header: [u8; WAV_HEADER_LEN as usize],
    bank: Vec<u8>,
}

impl AudioReader {
    /// The whole file's length in bytes.
    pub(crate) fn total_len(&self) -> u64 {
        self.audio.total_len()
    }

    /// Bytes `from..from + len` of the file (fewer at its end).
    #[cfg(test)]
    pub(crate) fn read(&self, from: u64, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_into(from, len, &mut out);
        out
    }

    /// Appends bytes `from..from + len` of the file (fewer at its end) to `out`: the caller
    /// owns the buffer, so a download can reuse its buffers instead of allocating a piece.
    pub(crate) fn read_into(&self, from: u64, len: usize, out: &mut impl BufMut) {
        let end = self.audio.total_len().min(from.saturating_add(len as u64));
        let mut pos = from;
        if pos < WAV_HEADER_LEN {
            let upto = end.min(WAV_HEADER_LEN);
            out.put_slice(&self.header[pos as usize..upto as usize]);
            pos = upto;
        }
        while pos < end {
            let i = pos - WAV_HEADER_LEN;
            let (segment, offset) = (i / SEGMENT, i % SEGMENT);
            let sound = hash(&[self.audio.salt, D_PICK, segment]) % BANK;
            let take = (SEGMENT - offset).min(end - pos);
            let start = (sound * SEGMENT + offset) as usize;
            out.put_slice(&self.bank[start..start + take as usize]);
            pos += take;
        }
    }
}

/// One period of a sine in 256 steps, scaled to ±127.
fn sine_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    for (k, v) in t.iter_mut().enumerate() {
        *v = (((k as f64) * std::f64::consts::TAU / 256.0).sin() * 127.0) as i16;
    }
    t
}

/// One sound: silence, or two tones at a loudness, like a voice's vowels.
#[derive(Debug, Default)]
struct Voice {
    inc1: u32,
    inc2: u32,
    amp: i32,
}

impl Voice {
    fn of(salt: u64, sound: u64) -> Voice {
        let mut rng = SplitMix64::new(hash(&[salt, D_AUDIO, sound]));
        let silent = rng.chance(35);
        let f1 = rng.range(110, 260) as u64;
        let f2 = f1 * 2 + rng.range(0, 400) as u64;
        let inc = |f: u64| ((f << 32) / BYTES_PER_SECOND) as u32;
        Voice {
            inc1: inc(f1),
            inc2: inc(f2),
            amp: if silent { 0 } else { rng.range(30, 90) as i32 },
        }
    }

    fn sample(&self, i: u64, table: &[i16; 256]) -> u8 {
        if self.amp == 0 {
            return 128;
        }
        let at = |inc: u32| i32::from(table[((i as u32).wrapping_mul(inc) >> 24) as usize]);
        let wave = (2 * at(self.inc1) + at(self.inc2)) * self.amp / (3 * 127);
        (128 + wave).clamp(0, 255) as u8
    }
}

/// What the recorded participant (GoTo's channel 0) says.
const AGENT: [&str; 10] = [
    "Let me look into that for you.",
    "Could you give me the account number, please?",
    "Thanks, I have found the account.",
    "I can see what happened there.",
    "One moment while I check.",
    "I have made a note of that on the account.",
    "That should be sorted now.",
    "Thank you for your patience.",
    "I will send you an email to confirm it.",
    "Is there anything else I can help with?",
];

/// What the other party (channel 1) says.
const OTHER: [&str; 10] = [
    "Sure, it is on the letter I got.",
    "Yes, that is right.",
    "Okay, thank you.",
    "Could you tell me a bit more?",
    "That would be great.",
    "I tried that already, it did not help.",
    "When will that happen?",
    "No, that is everything.",
    "Sorry, could you repeat that?",
    "Perfect, thanks a lot.",
];

/// GoTo's "Version 1" transcript of `length_ms` of talk about `about`: utterances taking turns
/// on channels 0 and 1, every one inside the recording.
pub(crate) fn transcript(salt: u64, length_ms: i64, about: &str) -> Value {
    let mut rng = SplitMix64::new(hash(&[salt, D_WORDS]));
    let mut results = Vec::new();
    let mut t = rng.range(300, 1_500);
    let mut channel = 0u8;
    while results.len() < 400 {
        let text = match (results.len(), channel) {
            (0, _) => "Thank you for calling, how can I help?".to_string(),
            (1, _) => format!("Hi, I am calling about {about}."),
            (_, 0) => AGENT[rng.below(AGENT.len() as u64) as usize].to_string(),
            _ => OTHER[rng.below(OTHER.len() as u64) as usize].to_string(),
        };
        let words = text.split(' ').count() as i64;
        let end = t + words * rng.range(250, 420);
        if end > length_ms {
            break;
        }
        results.push(json!({
            "type": "utterances",
            "transcript": text,
            "final": true,
            "startTimeMs": t,
            "endTimeMs": end,
            "channel": channel,
            "languageCode": "en",
        }));
        t = end + rng.range(200, 1_400);
        channel = 1 - channel;
    }
    json!({ "version": "1", "results": results })
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
