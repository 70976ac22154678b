//! GoTo's REST and WebSocket APIs as cer uses them. Payloads stay `serde_json::Value` so that
//! every field GoTo sends reaches the user in GoTo's order; small typed views read the few
//! fields cer itself needs.

pub mod body;
pub mod channels;
pub mod client;
mod error;
pub mod http;
pub mod notifications;
pub mod pager;
pub mod proxy;
pub mod reports;
pub mod retry;
pub mod subscriptions;

pub use client::{ApiClient, ApiRequest};
pub use error::{ApiError, error_message};
