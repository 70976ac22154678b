//! What the Recording API keeps between requests (recording subscriptions, download tokens, the
//! knobs that pick GoTo's answer shapes, the media faults, the storage host's request log), apart
//! from the handlers, so the shared state can hold it without depending on them.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Value, json};

use super::analysis::Recorded;
use super::config::SandboxConfig;
use super::views::StorageRequest;

/// The storage host's log keeps this many requests.
const STORAGE_LOG_CAP: usize = 10_000;

/// Download tokens kept at most; the oldest go first (they are short-lived anyway).
pub(crate) const MAX_TOKENS: usize = 10_000;

/// What `POST /_sandbox/recording-options` accepts.
pub(crate) const OPTIONS: &str =
    "token_shape=documented|live|mixed, id_spelling=camel|snake|mixed, bytes=N|natural";

/// Which of the two shapes GoTo has been seen to answer `GET …/content` with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenShape {
    /// As documented: `{"token": "…", "expires": "…"}`.
    Documented,
    /// As seen live: `{"token": {"token": "…", "expires": "…"}, "status": "UPLOADED"}`.
    Live,
}

/// How a recording notification spells the id in its `content`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSpelling {
    /// As documented: `content.recordingId`.
    Camel,
    /// As seen live: `content.recording_id`.
    Snake,
}

/// A recording subscription (`POST /recording/v1/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordingSubscription {
    pub id: String,
    pub account_key: String,
    pub channel_id: String,
    pub timestamp: String,
    pub event_types: Vec<String>,
}

/// A download token handed out by `GET …/content`, good for one recording until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DownloadToken {
    pub media: u128,
    pub expires_ms: i64,
}

/// The faults of the Recording API and its storage host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MediaFaults {
    /// Content answers 400 until the upload instant plus this.
    pub not_ready_ms: i64,
    /// The next so many `…/content/{token}` requests find their token expired.
    pub expired_tokens: u32,
    /// The next so many storage downloads find their URL expired.
    pub expired_urls: u32,
    /// Every recording and transcript answers 404.
    pub all_gone: bool,
    /// These ids answer 404.
    pub gone: HashSet<u128>,
    /// Storage downloads trickle at this many bytes a second.
    pub bytes_per_second: Option<u64>,
    /// The next `.1` storage downloads close the connection after `.0` bytes.
    pub cut: Option<(u64, u32)>,
}

/// The Recording API's part of the shared state.
#[derive(Debug)]
pub(crate) struct MediaState {
    pub subscriptions: Vec<RecordingSubscription>,
    pub tokens: HashMap<String, DownloadToken>,
    /// Token strings in issue order, to drop the oldest beyond [`MAX_TOKENS`].
    pub token_order: VecDeque<String>,
    /// Calls placed by hand that the recording notifier has not seen yet.
    pub placed: Vec<u128>,
    /// Calls placed with a recording whatever their draws say.
    pub recorded: HashSet<u128>,
    /// Whether other calls are recorded as their draws say (else never).
    pub drawn_recordings: bool,
    /// `None`: each recording's own deterministic choice.
    pub token_shape: Option<TokenShape>,
    /// `None`: each recording's own deterministic choice.
    pub id_spelling: Option<IdSpelling>,
    /// Every recording's audio is exactly this many bytes of samples.
    pub recording_bytes: Option<u64>,
    pub max_bytes: u64,
    pub faults: MediaFaults,
    pub storage_log: VecDeque<StorageRequest>,
    /// Downloads the storage host is sending now, and the most it ever sent at once.
    pub downloads: (u32, u32),
}

impl MediaState {
    /// Whether call `id` is recorded: placed as recorded, else as any other call is.
    pub(crate) fn recorded(&self, id: u128) -> Recorded {
        if self.recorded.contains(&id) {
            Recorded::Always
        } else {
            self.unplaced()
        }
    }

    /// Whether a call not placed as recorded is: as drawn, unless drawn recordings are off.
    pub(crate) fn unplaced(&self) -> Recorded {
        if self.drawn_recordings {
            Recorded::Drawn
        } else {
            Recorded::Never
        }
    }

    pub(crate) fn new(config: &SandboxConfig) -> Self {
        MediaState {
            subscriptions: Vec::new(),
            tokens: HashMap::new(),
            token_order: VecDeque::new(),
            placed: Vec::new(),
            recorded: HashSet::new(),
            drawn_recordings: true,
            token_shape: None,
            id_spelling: None,
            recording_bytes: None,
            max_bytes: config.recording_max_bytes,
            faults: MediaFaults::default(),
            storage_log: VecDeque::new(),
            downloads: (0, 0),
        }
    }

    pub(crate) fn log_storage(&mut self, request: StorageRequest) {
        if self.storage_log.len() == STORAGE_LOG_CAP {
            self.storage_log.pop_front();
        }
        self.storage_log.push_back(request);
    }

    /// Whether the fault machinery has made this media 404.
    pub(crate) fn is_gone(&self, id: u128) -> bool {
        self.faults.all_gone || self.faults.gone.contains(&id)
    }

    /// Sets one knob of `POST /_sandbox/recording-options` (see [`OPTIONS`]).
    pub(crate) fn set_option(&mut self, name: &str, value: &str) -> Result<(), ()> {
        match (name, value) {
            ("token_shape", "documented") => self.token_shape = Some(TokenShape::Documented),
            ("token_shape", "live") => self.token_shape = Some(TokenShape::Live),
            ("token_shape", "mixed") => self.token_shape = None,
            ("id_spelling", "camel") => self.id_spelling = Some(IdSpelling::Camel),
            ("id_spelling", "snake") => self.id_spelling = Some(IdSpelling::Snake),
            ("id_spelling", "mixed") => self.id_spelling = None,
            ("bytes", "natural") => self.recording_bytes = None,
            ("bytes", n) => self.recording_bytes = Some(n.parse().map_err(|_| ())?),
            _ => return Err(()),
        }
        Ok(())
    }

    /// The knobs as `POST /_sandbox/recording-options` answers them.
    pub(crate) fn options(&self) -> Value {
        let shape = match self.token_shape {
            None => "mixed",
            Some(TokenShape::Documented) => "documented",
            Some(TokenShape::Live) => "live",
        };
        let spelling = match self.id_spelling {
            None => "mixed",
            Some(IdSpelling::Camel) => "camel",
            Some(IdSpelling::Snake) => "snake",
        };
        json!({ "tokenShape": shape, "idSpelling": spelling, "bytes": self.recording_bytes })
    }

    /// Spends one use of a counted fault; true when it fired.
    pub(crate) fn take(counter: &mut u32) -> bool {
        let fire = *counter > 0;
        *counter = counter.saturating_sub(1);
        fire
    }
}
