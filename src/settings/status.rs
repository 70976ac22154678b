//! `cer status`'s settings: whether to ask GoTo too, and what the login is beside the stored
//! tokens (a `CER_TOKEN` used as is, the account key shown).

use super::Settings;
use crate::cli::StatusArgs;

/// `cer status`, resolved.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// `--check`: also make one authenticated request to GoTo.
    pub check: bool,
    /// `CER_TOKEN` is set: the token is used as is, and no store is read.
    pub fixed_token: bool,
    /// `ACCOUNT_KEY`: shown beside the login.
    pub account_key: Option<String>,
}

impl StatusSettings {
    /// Reads after the sandbox (if any) is set up, so `--sandbox` shows its own login.
    pub fn resolve(args: &StatusArgs, settings: &Settings) -> Self {
        Self {
            check: args.check,
            fixed_token: settings.token_override.is_some(),
            account_key: settings.account_key.clone(),
        }
    }
}
