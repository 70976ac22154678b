//! GoTo's REST and WebSocket APIs as cer uses them. Payloads stay `serde_json::Value` so that
//! every field GoTo sends reaches the user in GoTo's order; small typed views read the few
//! fields cer itself needs.

pub(crate) mod channels;
pub(crate) mod client;
pub(crate) mod http;
pub(crate) mod notifications;
pub(crate) mod pager;
pub(crate) mod proxy;
pub(crate) mod recordings;
pub(crate) mod reports;
pub(crate) mod subscriptions;
#[cfg(test)]
pub(crate) mod tests;

pub use crate::net::{body, retry};
pub use client::ApiClient;
