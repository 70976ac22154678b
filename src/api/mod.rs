//! GoTo's REST and WebSocket APIs as cer uses them. Payloads stay `serde_json::Value` so that
//! every field GoTo sends reaches the user in GoTo's order; small typed views read the few
//! fields cer itself needs.

pub mod channels;
pub mod client;
pub mod http;
pub mod notifications;
pub mod pager;
pub mod proxy;
pub mod reports;
pub mod subscriptions;

pub use crate::net::{ApiError, body, error_message, retry};
pub use client::{ApiClient, ApiRequest};
