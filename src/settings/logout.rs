//! `cer logout`'s settings: whether there is anything of cer's own to delete (not with
//! `--sandbox`), and whether a `CER_TOKEN` stays behind that cer never stored.

use super::Settings;

/// `cer logout`, resolved.
#[derive(Debug, Clone)]
pub struct LogoutSettings {
    /// `--sandbox`: the session's tokens live in memory; the real stores are not its to touch.
    pub sandbox: bool,
    /// `CER_TOKEN` is set: cer did not store it, so the user unsets it.
    pub fixed_token: bool,
}

impl LogoutSettings {
    /// Reads the global settings only: `logout` has no flags of its own.
    pub fn resolve(settings: &Settings) -> Self {
        Self {
            sandbox: settings.sandbox,
            fixed_token: settings.token_override.is_some(),
        }
    }
}
