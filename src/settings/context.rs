//! What the commands' shared context is built from: how to reach GoTo (or the simulator that
//! `--sandbox` puts in its place) and its OAuth client, where tokens are kept, the pace, the
//! retries and the proxy. Taken from the resolved settings in one place, so the context keeps
//! runtime handles only and every other setting is a command's own.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{DEFAULT_REDIRECT_URI, Settings};
use crate::api::proxy::{BadProxyUrl, HttpsProxy};
use crate::api::retry::RetryPolicy;
use crate::secret::Secret;

/// How the context reaches GoTo and where it keeps the login.
#[derive(Debug, Clone)]
pub struct GotoAccess {
    /// `--api-base` / `CER_API_BASE`: the REST API.
    pub api_base: Url,
    /// `--auth-base` / `CER_AUTH_BASE`: the OAuth endpoints.
    pub auth_base: Url,
    /// `OAUTH_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `OAUTH_CLIENT_SECRET`.
    pub client_secret: Option<Secret>,
    /// `CER_TOKEN`: used as is, with no store and no refresh.
    pub token_override: Option<Secret>,
    /// Where the credentials file and its lock are.
    pub config_dir: PathBuf,
    /// `CER_KEYRING`: whether the OS keyring is one of the token stores.
    pub use_keyring: bool,
    /// `--rate` / `CER_RATE`: requests per second to GoTo.
    pub rate: u32,
    /// `HTTPS_PROXY` and `NO_PROXY`.
    pub proxy: Option<HttpsProxy>,
    /// The backoff of retried requests; `CER_RETRY_BASE_MS` shrinks its first wait.
    pub retry: RetryPolicy,
    /// The redirect the `--sandbox` login names: `OAUTH_REDIRECT_URI`, else the default. The
    /// simulator takes any, so a bad `OAUTH_REDIRECT_URI` is `login`'s error, not this one's.
    pub sandbox_redirect_uri: String,
}

impl GotoAccess {
    /// Read from the settings (with `--sandbox`, those resolved under its layer); a bad
    /// `HTTPS_PROXY` is the error of every command that reaches a server.
    pub fn resolve(settings: &Settings) -> Result<Self, BadProxyUrl> {
        Ok(Self {
            api_base: settings.api_base.clone(),
            auth_base: settings.auth_base.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            token_override: settings.token_override.clone(),
            config_dir: settings.config_dir.clone(),
            use_keyring: settings.use_keyring,
            rate: settings.rate,
            proxy: settings.proxy.clone()?,
            retry: retry_policy(settings.retry_base_ms),
            sandbox_redirect_uri: match &settings.redirect_uri {
                Ok(url) => url.as_str().to_string(),
                Err(_) => DEFAULT_REDIRECT_URI.to_string(),
            },
        })
    }
}

/// `CER_RETRY_BASE_MS` shrinks backoff waits; the test suite uses it to stay fast.
fn retry_policy(base_ms: Option<u64>) -> RetryPolicy {
    match base_ms {
        Some(ms) => RetryPolicy::default().with_base(Duration::from_millis(ms)),
        None => RetryPolicy::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Sources;

    fn access(vars: &[(&str, &str)]) -> Result<GotoAccess, BadProxyUrl> {
        let cli = <crate::cli::Cli as clap::Parser>::parse_from(["cer", "status"]);
        let mut env = vec![("HOME", "/home/u")];
        env.extend_from_slice(vars);
        let settings = Settings::resolve(&cli.global, &Sources::from_maps(&env, &[])).unwrap();
        GotoAccess::resolve(&settings)
    }

    #[test]
    fn the_sandbox_login_takes_the_default_redirect_for_a_bad_one_and_a_bad_proxy_fails() {
        let given = access(&[("OAUTH_REDIRECT_URI", "http://127.0.0.1:9/back")]).unwrap();
        assert_eq!(given.sandbox_redirect_uri, "http://127.0.0.1:9/back");
        let bad = access(&[("OAUTH_REDIRECT_URI", "https://example.test/back")]).unwrap();
        assert_eq!(bad.sandbox_redirect_uri, DEFAULT_REDIRECT_URI);
        assert!(access(&[("HTTPS_PROXY", "http://[::1")]).is_err());
        assert!(access(&[]).unwrap().proxy.is_none());
    }
}
