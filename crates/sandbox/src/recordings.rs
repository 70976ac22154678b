//! The Recording API's model: which recordings and transcripts exist, found from any of their
//! ids (which lead back to the call), when each is uploaded, how long it is, and the choices
//! that are a pure function of the recording (GoTo's two token shapes, its two spellings of the
//! id in notifications).

use super::analysis::{call_about, recorded_span, recording_upload_ms};
use super::calls::CallFacts;
use super::history::find;
use super::media::{Audio, transcript};
use super::media_ids::{MediaKind, call_of};
use super::media_state::{IdSpelling, TokenShape};
use super::rng::{format_uuid, hash, parse_uuid};
use super::state::Shared;

const D_SHAPE: u64 = 0x54A9E;
const D_SPELLING: u64 = 0x59E11;
const D_DUPLICATE: u64 = 0xD0B1E;

/// One recording or transcript that exists (it may not be uploaded yet).
#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub kind: MediaKind,
    pub id: u128,
    pub call: CallFacts,
    /// When GoTo has it (the report lists it from then on).
    pub uploaded_ms: i64,
    /// The recorded span of the call, Unix ms.
    pub span: (i64, i64),
}

impl Media {
    pub(crate) fn id_string(&self) -> String {
        format_uuid(self.id)
    }

    pub(crate) fn length_ms(&self) -> i64 {
        self.span.1 - self.span.0
    }

    /// The recording's audio; `exact` and `max` as the sandbox's knobs say.
    pub(crate) fn audio(&self, max: u64, exact: Option<u64>) -> Audio {
        Audio::new(
            hash(&[self.call.salt, self.id as u64]),
            self.length_ms(),
            max,
            exact,
        )
    }

    /// The transcript's JSON text, exactly as served.
    pub(crate) fn transcript_bytes(&self) -> Vec<u8> {
        let doc = transcript(self.call.salt, self.length_ms(), call_about(&self.call));
        serde_json::to_vec(&doc).unwrap_or_default()
    }

    /// GoTo's answer shape for this recording's download token, unless a knob forces one.
    pub(crate) fn token_shape(&self, forced: Option<TokenShape>) -> TokenShape {
        forced.unwrap_or(if hash(&[self.id as u64, D_SHAPE]) & 1 == 0 {
            TokenShape::Documented
        } else {
            TokenShape::Live
        })
    }

    /// How this media's notifications spell the id, unless a knob forces one.
    pub(crate) fn id_spelling(&self, forced: Option<IdSpelling>) -> IdSpelling {
        forced.unwrap_or(if hash(&[self.id as u64, D_SPELLING]) & 1 == 0 {
            IdSpelling::Camel
        } else {
            IdSpelling::Snake
        })
    }
}

/// Whether a call leaves a second recording: when two devices rang, one call in two of those.
pub(crate) fn has_duplicate(call: &CallFacts) -> bool {
    call.targets.len() >= 2 && hash(&[call.salt, D_DUPLICATE]) & 1 == 0
}

/// When the call's recording is uploaded, if it is recorded.
pub(crate) fn upload_ms(shared: &Shared, call: &CallFacts) -> Option<i64> {
    let recorded = shared.lock().media.recorded(call.id);
    recording_upload_ms(call, shared.config.analysis_delay_ms(), recorded)
}

/// The media of a call of this kind, if the call was recorded (and has a second recording, for
/// [`MediaKind::Duplicate`]).
pub(crate) fn of_call(shared: &Shared, call: &CallFacts, kind: MediaKind) -> Option<Media> {
    if kind == MediaKind::Duplicate && !has_duplicate(call) {
        return None;
    }
    let uploaded_ms = upload_ms(shared, call)?;
    Some(Media {
        kind,
        id: super::media_ids::media_id(call.id, kind),
        call: call.clone(),
        uploaded_ms,
        span: recorded_span(call),
    })
}

/// The recording or transcript an id names, if it exists by `now` (its call has ended).
pub(crate) fn resolve(shared: &Shared, id: &str, now: i64) -> Option<Media> {
    let id = parse_uuid(id)?;
    MediaKind::ALL.into_iter().find_map(|kind| {
        let call = find(shared, call_of(id, kind)).filter(|c| c.ended_ms <= now)?;
        of_call(shared, &call, kind)
    })
}
