//! GoTo's REST and WebSocket APIs as cer uses them. Payloads stay `serde_json::Value` so that
//! every field GoTo sends reaches the user in GoTo's order; small typed views read the few
//! fields cer itself needs.

// What the integration tests reach is public; the rest is for cer's own commands and engine.
pub(crate) mod channels;
pub mod client;
pub mod http;
pub mod notifications;
pub(crate) mod pager;
pub mod proxy;
pub mod recordings;
pub(crate) mod reports;
#[cfg(test)]
pub(crate) mod simulated;
pub(crate) mod subscriptions;

pub use crate::net::{body, error_message, retry};
pub use client::{ApiClient, ApiRequest};
