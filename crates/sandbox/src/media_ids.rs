//! The ids of a call's recordings and transcript, derived reversibly from its conversationSpaceId
//! (a fixed mask, XORed), so the Recording API can find the call of any id it is asked about
//! without storing history, as the reports do through the call id itself.

use super::rng::format_uuid;

/// What a Recording API id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MediaKind {
    /// The recorded leg's recording, listed in the report.
    Recording,
    /// A second recording of the same call from another device that rang (seen live: GoTo
    /// sends RECORDING_UPLOADED for each), which no report lists.
    Duplicate,
    /// The transcript of the recording.
    Transcript,
}

impl MediaKind {
    pub(crate) const ALL: [MediaKind; 3] = [
        MediaKind::Recording,
        MediaKind::Duplicate,
        MediaKind::Transcript,
    ];

    /// The mask: the version nibble goes from 3 (call ids) to 4 (`3 ^ 7`), the variant bits stay.
    const fn mask(self) -> u128 {
        match self {
            MediaKind::Recording => 0x5a3c_91e2_7b04_7d18_2c6e_a1f0_4d93_b75e,
            MediaKind::Duplicate => 0x1e97_c4a0_d3b8_7a62_3f05_8e2d_c941_60ab,
            MediaKind::Transcript => 0x7c21_0f5d_9e46_7b83_15da_6c9b_0e7f_2a34,
        }
    }
}

/// The id of a call's media of this kind, as a number.
pub(crate) fn media_id(call_id: u128, kind: MediaKind) -> u128 {
    call_id ^ kind.mask()
}

/// The id of a call's media of this kind, as GoTo writes it.
pub(crate) fn media_id_string(call_id: u128, kind: MediaKind) -> String {
    format_uuid(media_id(call_id, kind))
}

/// The call id that `id` would belong to if it were media of this kind.
pub(crate) fn call_of(id: u128, kind: MediaKind) -> u128 {
    id ^ kind.mask()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{parse_uuid, uuid_bits};

    #[test]
    fn media_ids_are_version_4_uuids_that_lead_back_to_their_call() {
        let call = uuid_bits(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 3);
        for kind in MediaKind::ALL {
            let s = media_id_string(call, kind);
            assert_eq!(s.as_bytes()[14], b'4', "{s}");
            assert!(matches!(s.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{s}");
            let id = parse_uuid(&s).expect("a uuid");
            assert_eq!(call_of(id, kind), call);
            assert_ne!(id, call);
        }
        let ids: std::collections::HashSet<u128> =
            MediaKind::ALL.iter().map(|k| media_id(call, *k)).collect();
        assert_eq!(ids.len(), 3);
    }
}
