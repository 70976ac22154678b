//! What `--sandbox` changes in every command's settings, in one place: the simulator's address,
//! client and account instead of GoTo's, and a scratch folder instead of the user's own, so a
//! sandbox session can neither read nor write anything cer keeps for real.

use std::path::Path;

use url::Url;

use super::Settings;
use crate::secret::Secret;

/// How to reach a running simulator and log in to it.
#[derive(Debug, Clone)]
pub struct SandboxAccess {
    pub base: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub account_key: String,
}

impl Settings {
    /// Points these settings at the simulator, and every folder cer keeps files in at `scratch`
    /// (deleted when the command ends). A `--store` flag still counts, `CER_STORE` does not:
    /// simulated calls never land in the real store, and a cursor saved by yesterday's demo would
    /// make today's backfill replay a whole day of simulated calls.
    pub fn use_sandbox(&mut self, access: SandboxAccess, scratch: &Path) {
        self.api_base = access.base.clone();
        self.auth_base = access.base;
        self.client_id = Some(access.client_id);
        self.client_secret = Some(access.client_secret);
        self.account_key = Some(access.account_key);
        self.token_override = None;
        self.config_dir = scratch.join("config");
        self.state_dir = scratch.join("state");
        self.use_keyring = false;
        self.store = Ok(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Sources;

    #[test]
    fn the_sandbox_replaces_every_real_account_folder_and_store() {
        let sources = Sources::from_maps(
            &[
                ("HOME", "/home/someone"),
                ("ACCOUNT_KEY", "real-key"),
                ("CER_TOKEN", "real-token"),
                ("CER_STORE", "postgres://real/db"),
                ("CER_STATE_DIR", "/var/lib/cer"),
            ],
            &[("OAUTH_CLIENT_ID", "real-client")],
        );
        let cli = <crate::cli::Cli as clap::Parser>::parse_from(["cer", "--sandbox", "status"]);
        let mut settings = Settings::resolve(&cli.global, &sources).unwrap();
        let base = Url::parse("http://127.0.0.1:4000").unwrap();
        let access = SandboxAccess {
            base: base.clone(),
            client_id: "sandbox-client".into(),
            client_secret: Secret::new("sandbox-secret"),
            account_key: "sandbox-key".into(),
        };
        settings.use_sandbox(access, Path::new("/tmp/cer-sandbox-1"));
        assert_eq!((&settings.api_base, &settings.auth_base), (&base, &base));
        assert_eq!(settings.client_id.as_deref(), Some("sandbox-client"));
        assert_eq!(settings.account_key.as_deref(), Some("sandbox-key"));
        assert!(settings.token_override.is_none());
        assert!(matches!(settings.store, Ok(None)));
        assert!(!settings.use_keyring);
        assert!(settings.config_dir.starts_with("/tmp/cer-sandbox-1"));
        assert!(settings.state_dir.starts_with("/tmp/cer-sandbox-1"));
    }
}
