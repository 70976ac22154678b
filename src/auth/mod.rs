//! Tokens: getting them (OAuth login), keeping them (keyring or file) and keeping them fresh.

pub mod credentials;
mod error;
pub mod oauth;
pub mod redirect;
pub mod store;
mod tokens;

pub use credentials::Credentials;
pub use error::AuthError;
pub use oauth::OAuthClient;
pub use tokens::Tokens;
