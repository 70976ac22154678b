//! Tokens: getting them (OAuth login), keeping them (keyring or file) and keeping them fresh.

pub mod credentials;
pub mod oauth;
pub mod redirect;
pub mod store;
mod tokens;

pub use crate::net::AuthError;
pub use credentials::Credentials;
pub use oauth::OAuthClient;
pub use tokens::Tokens;
