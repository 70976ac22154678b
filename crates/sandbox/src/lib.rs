//! A local, deterministic stand-in for GoTo (OAuth, Notification Channel, WebSocket and Call
//! Events Report APIs) so cer can be tried without a GoTo account and tested without phone calls.
//! It is written from GoTo's documentation alone, independently of cer's client code, so that a
//! misreading of the API on one side shows up as a disagreement with the other.
//!
//! Everything is served on one loopback port: `/oauth/authorize` and `/oauth/token` (client
//! [`CLIENT_ID`] / [`CLIENT_SECRET`], HTTP Basic), `/notification-channel/v1/…`, the channel
//! WebSocket at the `channelURL` it hands out, `/call-events-report/v1/…`, and, for people
//! running `cer sandbox`, unauthenticated control routes:
//!
//! ```text
//! POST /_sandbox/calls[?seconds=N]            place a call that ends now (answers its summary)
//! POST /_sandbox/reports/{id}/analysis         add post-call analysis to a report now: the
//!      JSON object sent (or its callReason and aiAnalysis); answers the report
//! POST /_sandbox/faults/{name}[?key=value…]    trigger a fault (see FAULTS), e.g.
//!      /_sandbox/faults/fail-next?count=3&status=503&path=/call-events-report
//! GET  /_sandbox/faults                        the fault catalogue
//! POST /_sandbox/token[?seconds=N]             an access token with both scopes
//! GET  /_sandbox/state                         channels, subscriptions, request count
//! POST /_sandbox/recording-options?token_shape=documented|live|mixed&id_spelling=camel|snake|mixed
//!      &bytes=N|natural                        GoTo's answer shapes, every recording's size
//! ```
//!
//! The Recording API (`/recording/v1/…`: download tokens, the 302 to the audio, transcripts,
//! recording subscriptions and their notifications) serves the calls it records with a WAV and a
//! transcript; the audio and transcripts themselves come from a second loopback address, the
//! storage host ([`Sandbox::storage_url`]), at short-lived signed URLs that the 302s point to.
//!
//! The call history is a pure function of the seed, the slot length and the clock: slot `i`
//! creates one call in `[i*every, (i+1)*every)`, and its conversationSpaceId encodes `i`, so two
//! sandboxes with one seed agree on every past summary and report.

mod analysis;
mod calls;
mod channels;
mod clock;
mod config;
mod control;
mod directory;
mod errors;
mod fault_params;
mod fault_rule;
mod faults;
mod history;
mod media;
mod media_faults;
mod media_ids;
mod media_state;
mod middleware;
mod notify;
mod oauth;
mod payloads;
mod rate_limit;
mod recording_api;
mod recording_notify;
mod recording_subs;
mod recordings;
mod report;
mod report_parts;
mod report_shape;
mod report_states;
mod reports;
mod request;
mod rng;
mod server;
mod socket_cmd;
mod state;
mod storage;
mod subscriptions;
mod summaries;
mod time;
mod tokens;
mod views;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::{
    ALL_SCOPES, CLIENT_ID, CLIENT_SECRET, DEFAULT_ANALYSIS_DELAY, DEFAULT_RECORDING_MAX_BYTES,
    DEMO_CALL_EVERY, DayShape, PRINCIPAL, SandboxConfig,
};
pub use fault_rule::{FaultKind, FaultRule};
pub use faults::{FAULTS, FaultError, FaultInfo, Faults, fault_names};
pub use media_state::{IdSpelling, TokenShape};
pub use views::{ChannelView, PlacedCall, RequestRecord, StorageRequest, SubscriptionView};

use state::{Scopes, Shared};
use time::{now_ms, timestamp};

/// A running simulator. Dropping it (or [`Sandbox::shutdown`]) stops the server, closes every
/// connection and socket, and ends its background tasks.
pub struct Sandbox {
    shared: Arc<Shared>,
    port: u16,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds 127.0.0.1 (on `config.port`, 0 for a free port) and starts serving.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let port = listener.local_addr()?.port();
        let storage = TcpListener::bind(("127.0.0.1", 0)).await?;
        let shared = Arc::new(Shared::new(config, port, storage.local_addr()?.port()));
        let router = server::router(Arc::clone(&shared));
        shared.spawn(server::serve(listener, router, Arc::clone(&shared)));
        let storage_router = storage::router(Arc::clone(&shared));
        shared.spawn(server::serve(storage, storage_router, Arc::clone(&shared)));
        shared.spawn(clock::run_notifier(Arc::clone(&shared)));
        shared.spawn(recording_notify::run_recording_notifier(Arc::clone(
            &shared,
        )));
        shared.spawn(clock::run_keeper(Arc::clone(&shared)));
        tracing::debug!(port, seed = shared.config.seed, "sandbox started");
        Ok(Sandbox { shared, port })
    }

    /// `http://127.0.0.1:PORT`: the base of the REST APIs, OAuth and the WebSocket alike.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// The OAuth client id it accepts ([`CLIENT_ID`]).
    pub fn client_id(&self) -> &str {
        CLIENT_ID
    }

    /// The OAuth client secret it accepts ([`CLIENT_SECRET`]).
    pub fn client_secret(&self) -> &str {
        CLIENT_SECRET
    }

    /// The simulated account's 19-digit key, a pure function of the seed.
    pub fn account_key(&self) -> &str {
        &self.shared.dir.account_key
    }

    /// An access token with every scope (cer's two and the Recording API's two), lasting
    /// `lifetime` (default: the configured token lifetime).
    pub fn issue_token(&self, lifetime: Option<Duration>) -> String {
        self.issue(Scopes::EVERY, lifetime)
    }

    /// An access token with only the scopes of a space-separated list (GoTo's spelling), or
    /// `None` when it names a scope the sandbox does not know (or none).
    pub fn issue_token_with_scopes(
        &self,
        scopes: &str,
        lifetime: Option<Duration>,
    ) -> Option<String> {
        let parsed = Scopes::parse(scopes).filter(|_| !scopes.trim().is_empty())?;
        Some(self.issue(parsed, lifetime))
    }

    fn issue(&self, scopes: Scopes, lifetime: Option<Duration>) -> String {
        let lifetime = lifetime.unwrap_or(self.shared.config.token_lifetime);
        let ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
        tokens::issue(&mut self.shared.lock(), scopes, ms, false).access_token
    }

    /// Places a call (of a random 5 s to 3 min) that ends now, and notifies subscribed channels.
    pub fn place_call(&self) -> PlacedCall {
        placed(control::place(&self.shared, None, false))
    }

    /// Places an answered call created `duration` ago that ends now and is recorded, whatever
    /// the draws say: its report gains a recording and a transcript, and recording subscribers
    /// hear of them, on the analysis delay's schedule (at once with a zero delay; never
    /// without post-call analysis). Notifies subscribed channels of its report.
    pub fn place_recorded_call(&self, duration: Duration) -> PlacedCall {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        placed(control::place(&self.shared, Some(ms), true))
    }

    /// `http://127.0.0.1:PORT`: the storage host the Recording API's 302s point to.
    pub fn storage_url(&self) -> String {
        self.shared.storage_base.clone()
    }

    /// Every request the storage host saw (the most recent 10,000), oldest first.
    pub fn storage_requests(&self) -> Vec<StorageRequest> {
        self.shared
            .lock()
            .media
            .storage_log
            .iter()
            .cloned()
            .collect()
    }

    /// The most downloads the storage host has sent at once (a body counts from its answer
    /// until its last byte is sent or its client goes away).
    pub fn most_downloads_at_once(&self) -> u32 {
        self.shared.lock().media.downloads.1
    }

    /// Which shape `GET …/content` answers with (`None`: each recording's own choice, a pure
    /// function of its id, so both shapes occur).
    pub fn set_token_shape(&self, shape: Option<TokenShape>) {
        self.shared.lock().media.token_shape = shape;
    }

    /// How recording notifications spell the id (`None`: each recording's own choice).
    pub fn set_id_spelling(&self, spelling: Option<IdSpelling>) {
        self.shared.lock().media.id_spelling = spelling;
    }

    /// Every recording's audio is exactly `bytes` bytes of samples (plus the 44-byte WAV
    /// header), for benchmarks that need a big file; `None`: it follows the talk time, capped
    /// at [`SandboxConfig::recording_max_bytes`].
    pub fn set_recording_bytes(&self, bytes: Option<u64>) {
        self.shared.lock().media.recording_bytes = bytes;
    }

    /// Places a call created `duration` ago (at most 2 h, like every call) that ends now, and
    /// notifies subscribed channels.
    pub fn place_call_lasting(&self, duration: Duration) -> PlacedCall {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        placed(control::place(&self.shared, Some(ms), false))
    }

    /// Adds post-call analysis fields to a call's report now, after its existing keys (`None`:
    /// the call's own `callReason` and `aiAnalysis`), as `POST /_sandbox/reports/{id}/analysis`
    /// does. The report as served from now on, or `None` for an id the sandbox does not know.
    pub fn add_analysis(
        &self,
        conversation_space_id: &str,
        fields: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Option<serde_json::Value> {
        let id = rng::parse_uuid(conversation_space_id)?;
        control::add_analysis(&self.shared, id, fields).ok()
    }

    /// Whether calls not placed with [`Sandbox::place_recorded_call`] are recorded as their
    /// draws say (on, the default: one answered call in a few) or never: a benchmark that must
    /// know which downloads run turns it off.
    pub fn set_drawn_recordings(&self, on: bool) {
        self.shared.lock().media.drawn_recordings = on;
    }

    /// The fault switches.
    pub fn faults(&self) -> Faults {
        Faults {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Every request seen so far (the most recent 100,000), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// The channels alive now.
    pub fn channels(&self) -> Vec<ChannelView> {
        let mut inner = self.shared.lock();
        channels::purge_expired(&mut inner, now_ms());
        inner
            .channels
            .iter()
            .map(|c| ChannelView {
                nickname: c.nickname.clone(),
                channel_id: c.id.clone(),
                connected_sockets: c.sockets.len(),
                expires_at: timestamp(c.expires_ms),
            })
            .collect()
    }

    /// The subscriptions alive now.
    pub fn subscriptions(&self) -> Vec<SubscriptionView> {
        let mut inner = self.shared.lock();
        channels::purge_expired(&mut inner, now_ms());
        inner
            .subscriptions
            .iter()
            .map(|s| SubscriptionView {
                id: s.id.clone(),
                channel_id: s.channel_id.clone(),
                account_key: s.account_key.clone(),
                event_types: s.event_types.clone(),
            })
            .collect()
    }

    /// The recording subscriptions alive now (`event_types`: `RECORDING_UPLOADED` and/or
    /// `RECORDING_TRANSCRIPT_UPLOADED`).
    pub fn recording_subscriptions(&self) -> Vec<SubscriptionView> {
        let mut inner = self.shared.lock();
        channels::purge_expired(&mut inner, now_ms());
        inner
            .media
            .subscriptions
            .iter()
            .map(|s| SubscriptionView {
                id: s.id.clone(),
                channel_id: s.channel_id.clone(),
                account_key: s.account_key.clone(),
                event_types: s.event_types.clone(),
            })
            .collect()
    }

    /// Stops everything and waits for the tasks to end.
    pub async fn shutdown(self) {
        let mut tasks = self.shared.take_tasks();
        tasks.shutdown().await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Dropping the JoinSet aborts every task: accept loop, connections, sockets, clocks.
        drop(self.shared.take_tasks());
    }
}

fn placed(call: calls::CallFacts) -> PlacedCall {
    PlacedCall {
        conversation_space_id: rng::format_uuid(call.id),
        call_created: timestamp(call.created_ms),
        call_ended: timestamp(call.ended_ms),
    }
}
