//! Tokens: getting them (OAuth login), keeping them (keyring or file) and keeping them fresh.

mod credentials;
mod local_error;
pub(crate) mod oauth;
mod os_keyring;
pub(crate) mod recordings;
pub(crate) mod redirect;
pub(crate) mod store;
mod tokens;

pub use credentials::Credentials;
pub use local_error::{CredentialsError, OAuthClientError};
pub use oauth::OAuthClient;
pub use tokens::Tokens;
