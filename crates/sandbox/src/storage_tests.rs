//! A download's pieces, made in reused buffers, are the audio byte for byte, however long a
//! piece is held: a buffer is reused only once the piece made in it is gone.

use super::*;
use crate::media::Audio;

/// Reads `audio` whole through [`Pieces`] in pieces of `len`, holding the last `held` of them
/// until the end, as a socket that is behind holds what it has not sent.
fn served(audio: Audio, len: usize, held: usize) -> Vec<u8> {
    let mut pieces = Pieces::new(Source::Audio(Arc::new(audio.reader())));
    let (mut kept, mut whole) = (std::collections::VecDeque::new(), Vec::new());
    let mut at = 0;
    while at < audio.total_len() {
        kept.push_back(pieces.read(at, len));
        at += len as u64;
        if kept.len() > held {
            whole.extend_from_slice(&kept.pop_front().unwrap());
        }
    }
    for piece in kept {
        whole.extend_from_slice(&piece);
    }
    whole
}

#[test]
fn pieces_made_in_reused_buffers_are_the_audio_however_long_they_are_held() {
    let audio = Audio::new(11, 60_000, 1 << 20, None);
    let expected = audio.read(0, usize::MAX >> 1);
    for held in [0, 1, BUFFERS - 1, BUFFERS, BUFFERS + 3, 3 * BUFFERS] {
        assert_eq!(served(audio, 4_096, held), expected, "{held} pieces held");
    }
    assert_eq!(served(audio, 777, BUFFERS), expected);
}

#[test]
fn a_buffer_is_reused_once_its_piece_is_gone() {
    let audio = Audio::new(11, 60_000, 1 << 20, None);
    let mut pieces = Pieces::new(Source::Audio(Arc::new(audio.reader())));
    let first = pieces.read(0, 4_096);
    let first_at = first.as_ptr();
    drop(first);
    for n in 1..BUFFERS {
        pieces.read(n as u64 * 4_096, 4_096);
    }
    let again = pieces.read(BUFFERS as u64 * 4_096, 4_096);
    assert_eq!(
        again.as_ptr(),
        first_at,
        "the first buffer's memory, reused"
    );
}
