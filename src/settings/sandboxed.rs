//! What `--sandbox` changes in every command's settings, in one place: the simulator's address,
//! client and account instead of GoTo's, and a scratch folder instead of the user's own, so a
//! sandbox session can neither read nor write anything cer keeps for real. It is a layer of the
//! sources, under which the settings are resolved, so no command sees the real values.

use std::path::Path;

use url::Url;

use crate::secret::Secret;

/// How to reach a running simulator and log in to it.
#[derive(Debug, Clone)]
pub struct SandboxAccess {
    pub base: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub account_key: String,
}

impl SandboxAccess {
    /// The variables that point the settings at the simulator, and every folder cer keeps files
    /// in at `scratch` (deleted when the command ends); `None` hides a variable. A `--store`
    /// flag still counts, `CER_STORE` does not: simulated calls never land in the real store,
    /// and a cursor saved by yesterday's demo would make today's backfill replay a whole day of
    /// simulated calls. The bases win over `--api-base` and `--auth-base` too.
    pub fn layer(self, scratch: &Path) -> [(&'static str, Option<String>); 10] {
        let folder = |name: &str| Some(scratch.join(name).to_string_lossy().into_owned());
        let base = self.base.as_str().trim_end_matches('/').to_string();
        [
            ("CER_API_BASE", Some(base.clone())),
            ("CER_AUTH_BASE", Some(base)),
            ("OAUTH_CLIENT_ID", Some(self.client_id)),
            (
                "OAUTH_CLIENT_SECRET",
                Some(self.client_secret.expose().to_string()),
            ),
            ("ACCOUNT_KEY", Some(self.account_key)),
            ("CER_TOKEN", None),
            ("CER_CONFIG_DIR", folder("config")),
            ("CER_STATE_DIR", folder("state")),
            ("CER_KEYRING", Some("0".to_string())),
            ("CER_STORE", None),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Settings, Sources};

    #[test]
    fn the_sandbox_replaces_every_real_account_folder_and_store() {
        let sources = Sources::from_maps(
            &[
                ("HOME", "/home/someone"),
                ("ACCOUNT_KEY", "real-key"),
                ("CER_TOKEN", "real-token"),
                ("CER_STORE", "postgres://real/db"),
                ("CER_STATE_DIR", "/var/lib/cer"),
                ("CER_KEYRING", "1"),
            ],
            &[("OAUTH_CLIENT_ID", "real-client")],
        );
        let argv = [
            "cer",
            "--sandbox",
            "--api-base",
            "https://real.test",
            "status",
        ];
        let cli = <crate::cli::Cli as clap::Parser>::parse_from(argv);
        let base = Url::parse("http://127.0.0.1:4000").unwrap();
        let access = SandboxAccess {
            base: base.clone(),
            client_id: "sandbox-client".into(),
            client_secret: Secret::new("sandbox-secret"),
            account_key: "sandbox-key".into(),
        };
        let sources = sources.with_sandbox(access.layer(Path::new("/tmp/cer-sandbox-1")));
        let settings = Settings::resolve(&cli.global, &sources).unwrap();
        assert_eq!((&settings.api_base, &settings.auth_base), (&base, &base));
        assert_eq!(settings.client_id.as_deref(), Some("sandbox-client"));
        assert_eq!(
            settings.client_secret.as_ref().map(Secret::expose),
            Some("sandbox-secret")
        );
        assert_eq!(settings.account_key.as_deref(), Some("sandbox-key"));
        assert!(settings.token_override.is_none());
        assert!(matches!(settings.store, Ok(None)));
        assert!(!settings.use_keyring);
        assert!(settings.config_dir.starts_with("/tmp/cer-sandbox-1"));
        assert!(settings.state_dir.starts_with("/tmp/cer-sandbox-1"));
    }
}
