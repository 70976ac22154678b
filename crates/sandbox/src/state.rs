//! The simulator's shared, mutable world (tokens, channels, subscriptions, placed calls, fault
//! rules, the request log) behind one short-held lock, plus the task set that dies with it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use super::calls::{CallFacts, Schedule};
use super::config::SandboxConfig;
use super::directory::Directory;
use super::fault_rule::FaultRule;
use super::rng::{SplitMix64, hash};
use super::socket_cmd::SocketCmd;
use super::views::RequestRecord;

/// The request log keeps this many records; older ones are dropped in a long-running sandbox.
const REQUEST_LOG_CAP: usize = 100_000;

/// Which scopes a token carries: cer's two, and the Recording API's two (API.md section 10
/// "Scopes"), granted only when asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Scopes {
    /// `cr.v1.read`: summaries and reports.
    pub read: bool,
    /// `call-events.v1.notifications.manage`: channels and subscriptions.
    pub manage: bool,
    /// `recording.v1.read`: recordings and transcripts.
    pub recording_read: bool,
    /// `recording.v1.notifications.manage`: recording notifications.
    pub recording_manage: bool,
}

impl Scopes {
    /// cer's two scopes: what a token gets when the request names none.
    pub(crate) const ALL: Scopes = Scopes {
        read: true,
        manage: true,
        recording_read: false,
        recording_manage: false,
    };

    /// Parses a space-separated scope list; `None` when it names a scope the client lacks.
    pub(crate) fn parse(s: &str) -> Option<Scopes> {
        let mut out = Scopes::default();
        for word in s.split(' ').filter(|w| !w.is_empty()) {
            match word {
                "cr.v1.read" => out.read = true,
                "call-events.v1.notifications.manage" => out.manage = true,
                "recording.v1.read" => out.recording_read = true,
                "recording.v1.notifications.manage" => out.recording_manage = true,
                _ => return None,
            }
        }
        Some(if out == Scopes::default() {
            Scopes::ALL
        } else {
            out
        })
    }

    pub(crate) fn as_string(self) -> String {
        [
            (self.read, "cr.v1.read"),
            (self.manage, "call-events.v1.notifications.manage"),
            (self.recording_read, "recording.v1.read"),
            (self.recording_manage, "recording.v1.notifications.manage"),
        ]
        .iter()
        .filter(|(granted, _)| *granted)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" ")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub scopes: Scopes,
    pub expires_ms: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub challenge: Option<String>,
    pub expires_ms: i64,
}

#[derive(Debug)]
pub(crate) struct Channel {
    pub id: String,
    pub nickname: String,
    pub expires_ms: i64,
    pub refresh_sent: bool,
    /// Set by `WEBSOCKET_TO_BE_CLOSED`: the channel ends then, and a refresh cannot extend it.
    pub retire_at_ms: Option<i64>,
    pub sockets: HashMap<u64, mpsc::UnboundedSender<SocketCmd>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub channel_id: String,
    pub account_key: String,
    pub event_types: Vec<String>,
}

/// Everything that changes; held only briefly and never across an await.
#[derive(Debug)]
pub(crate) struct Inner {
    pub rng: SplitMix64,
    pub access_tokens: HashMap<String, AccessToken>,
    /// Refresh token to the scopes it grants; revoked and rotated tokens are removed.
    pub refresh_tokens: HashMap<String, Scopes>,
    pub codes: HashMap<String, AuthCode>,
    /// Alive channels in creation order.
    pub channels: Vec<Channel>,
    pub subscriptions: Vec<Subscription>,
    /// Placed calls keyed like summaries sort: (callCreated, id).
    pub placed: BTreeMap<(i64, u128), CallFacts>,
    pub placed_index: HashMap<u128, (i64, u128)>,
    /// Post-call analysis fields added by hand, per call, in the order they were added.
    pub analysis: HashMap<u128, Vec<super::analysis::Forced>>,
    pub requests: VecDeque<RequestRecord>,
    pub request_count: u64,
    pub rules: Vec<FaultRule>,
    pub report_delay_ms: i64,
    pub deny_next_authorize: bool,
    pub next_socket_id: u64,
    /// GoTo's per-API limit when a test or benchmark asked for one.
    pub rate_limit: Option<super::rate_limit::RateLimit>,
    /// The Recording API's world: subscriptions, download tokens, knobs and faults.
    pub media: super::media_state::MediaState,
}

impl Inner {
    /// An unguessable-enough random string for tokens, codes and channel ids (base64url).
    pub(crate) fn random_string(&mut self, bytes: usize) -> String {
        use base64::Engine as _;
        let raw: Vec<u8> = (0..bytes.div_ceil(8))
            .flat_map(|_| self.rng.next_u64().to_le_bytes())
            .take(bytes)
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub(crate) fn random_uuid(&mut self) -> String {
        let v = super::rng::uuid_bits(self.rng.next_u64(), self.rng.next_u64(), 4);
        super::rng::format_uuid(v)
    }

    pub(crate) fn record(&mut self, record: RequestRecord) {
        self.request_count += 1;
        if self.requests.len() == REQUEST_LOG_CAP {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }

    pub(crate) fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    /// Removes a channel with its subscriptions and closes its sockets with `reason`.
    pub(crate) fn remove_channel(&mut self, id: &str, reason: &'static str) -> bool {
        let Some(pos) = self.channels.iter().position(|c| c.id == id) else {
            return false;
        };
        let channel = self.channels.remove(pos);
        for tx in channel.sockets.values() {
            let _ = tx.send(SocketCmd::Close(reason));
        }
        self.subscriptions.retain(|s| s.channel_id != id);
        self.media.subscriptions.retain(|s| s.channel_id != id);
        true
    }
}

impl Scopes {
    /// Every scope the sandbox's OAuth client has, the Recording API's included: what the
    /// tokens it hands to tests and to `cer sandbox` users carry.
    pub(crate) const EVERY: Scopes = Scopes {
        read: true,
        manage: true,
        recording_read: true,
        recording_manage: true,
    };
}

/// The state every handler and background task shares.
pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub base_url: String,
    pub ws_base: String,
    /// `http://127.0.0.1:PORT` of the storage host that serves the audio and transcripts.
    pub storage_base: String,
    /// Signs the storage host's URLs; random per sandbox.
    pub storage_key: [u8; 32],
    /// Wakes the recording notifier when a call is placed by hand.
    pub media_wake: Notify,
    pub dir: Directory,
    pub schedule: Option<Schedule>,
    inner: Mutex<Inner>,
    /// Wakes the channel keeper when a channel's deadlines change.
    pub keeper_wake: Notify,
    tasks: Mutex<JoinSet<()>>,
    stopped: AtomicBool,
    event_ids: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig, port: u16, storage_port: u16) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut rng = SplitMix64::new(hash(&[config.seed, nanos, u64::from(port)]));
        let mut storage_key = [0u8; 32];
        for chunk in storage_key.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let inner = Inner {
            rng,
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            channels: Vec::new(),
            subscriptions: Vec::new(),
            placed: BTreeMap::new(),
            placed_index: HashMap::new(),
            analysis: HashMap::new(),
            requests: VecDeque::new(),
            request_count: 0,
            rules: Vec::new(),
            report_delay_ms: i64::try_from(config.report_delay.as_millis()).unwrap_or(i64::MAX),
            deny_next_authorize: false,
            next_socket_id: 0,
            rate_limit: None,
            media: super::media_state::MediaState::new(&config),
        };
        Shared {
            base_url: format!("http://127.0.0.1:{port}"),
            ws_base: format!("ws://127.0.0.1:{port}"),
            storage_base: format!("http://127.0.0.1:{storage_port}"),
            storage_key,
            media_wake: Notify::new(),
            dir: Directory::new(config.seed),
            schedule: config
                .every_ms()
                .map(|every| Schedule::new(config.seed, every, config.day.clone())),
            config,
            inner: Mutex::new(inner),
            keeper_wake: Notify::new(),
            tasks: Mutex::new(JoinSet::new()),
            stopped: AtomicBool::new(false),
            event_ids: AtomicU64::new(0),
        }
    }

    /// The world, locked. A panic elsewhere must not wedge the simulator, so poison is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a task that is aborted when the sandbox stops (and none once it has stopped).
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }

    /// Stops new tasks and takes every task out so the caller can abort or await them.
    pub(crate) fn take_tasks(&self) -> JoinSet<()> {
        self.stopped.store(true, Ordering::SeqCst);
        std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn next_event_id(&self) -> u64 {
        self.event_ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn channel_url(&self, nickname: &str, channel_id: &str) -> String {
        format!(
            "{}/notification-channel-ws/v1/channels/{}/{channel_id}/ws",
            self.ws_base,
            encode_segment(nickname)
        )
    }

    pub(crate) fn resource_url(&self, nickname: &str, channel_id: &str) -> String {
        format!(
            "{}/notification-channel/v1/channels/{}/{channel_id}",
            self.base_url,
            encode_segment(nickname)
        )
    }
}

/// Percent-encodes a path segment (nicknames are free text).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod scope_tests {
    use super::Scopes;

    /// `cer login --recordings` asks for the Recording API's scopes too: GoTo grants what the
    /// client has and was asked for, and refuses a scope it does not know.
    #[test]
    fn the_recording_scopes_are_granted_when_asked_and_only_then() {
        let asked = "cr.v1.read call-events.v1.notifications.manage recording.v1.read \
                     recording.v1.notifications.manage";
        let granted = Scopes::parse(asked).expect("the client has them");
        assert!(granted.recording_read && granted.recording_manage);
        assert_eq!(
            granted.as_string(),
            asked.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        let default = Scopes::parse("").unwrap();
        assert_eq!(
            default.as_string(),
            "cr.v1.read call-events.v1.notifications.manage"
        );
        assert!(Scopes::parse("recording.v1.write").is_none());
    }
}
