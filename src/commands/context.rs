//! What commands that talk to GoTo share at run time: the output, one HTTP client, the retry
//! policy, the token source and, with `--sandbox`, the in-process simulator they talk to
//! instead. It keeps no settings: it is built from [`GotoAccess`], and each command reads its
//! own settings beside it.

use std::time::Duration;

use anyhow::Context as _;
use cer_sandbox::{Sandbox, SandboxConfig};

use crate::api::ApiClient;
use crate::api::http::{client_reaching, needs_tls};
use crate::auth::store::{Stores, TokenStore};
use crate::auth::{Credentials, OAuthClient, OAuthClientError, Tokens};
use crate::errors::{OAUTH_CLIENT_HINT, UsageError};
use crate::output::Output;
use crate::secret::Secret;
use crate::settings::context::GotoAccess;
use crate::settings::sandboxed::SandboxAccess;
use crate::settings::{Settings, TimeScale};

/// The environment of one command run.
pub struct Context {
    pub output: Output,
    pub(super) http: reqwest::Client,
    /// How GoTo's clients are built; the context's own, read by no command.
    access: GotoAccess,
    tokens: Option<Tokens>,
    /// Kept alive for as long as the command runs.
    simulator: Option<Simulator>,
}

/// The `--sandbox` simulator and its scratch folder, kept alive for as long as the command
/// runs.
pub struct Simulator {
    sandbox: Sandbox,
    scratch: Scratch,
}

impl Simulator {
    /// Starts the simulator, with its analysis delay scaled like `listen`'s timers, and its
    /// scratch folder in `TMPDIR`.
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        let sandbox = Sandbox::start(sandbox_config(settings.time_scale))
            .await
            .context("cannot start the sandbox")?;
        let scratch = Scratch::create(&settings.temp_dir)?;
        Ok(Self { sandbox, scratch })
    }

    /// The layer of the sources that points the settings at the simulator and every folder
    /// cer keeps files in at the scratch folder.
    pub fn layer(&self) -> anyhow::Result<[(&'static str, Option<String>); 10]> {
        Ok(sandbox_access(&self.sandbox)?.layer(&self.scratch.0))
    }
}

/// The `--sandbox` simulator: GoTo's defaults, with the post-call analysis delay shrunk by
/// `CER_TIME_SCALE` like `listen`'s timers, so scaled re-fetches still see analysis arrive.
fn sandbox_config(time_scale: Option<TimeScale>) -> SandboxConfig {
    let defaults = SandboxConfig::demo();
    let scale = |delay: Duration| time_scale.map_or(delay, |scale| scale.scale(delay));
    SandboxConfig {
        analysis_delay: defaults.analysis_delay.map(scale),
        ..defaults
    }
}

/// A folder deleted when the command ends.
struct Scratch(std::path::PathBuf);

impl Scratch {
    /// A new `cer-sandbox-PID-RANDOM` in `temp_dir`, for this user only.
    fn create(temp_dir: &std::path::Path) -> anyhow::Result<Self> {
        let name = format!(
            "cer-sandbox-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        );
        let path = temp_dir.join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .with_context(|| format!("cannot create the sandbox's folder {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Context {
    /// Sets up the HTTP client and, with the `--sandbox` simulator, logs in to it. `access`
    /// is read from settings already resolved under the simulator's layer.
    pub async fn new(
        access: GotoAccess,
        output: Output,
        simulator: Option<Simulator>,
    ) -> anyhow::Result<Self> {
        let bases = [access.api_base.as_str(), access.auth_base.as_str()];
        let http = client_reaching(access.proxy.as_ref(), &bases)?;
        let mut context = Self {
            output,
            http,
            access,
            tokens: None,
            simulator,
        };
        if context.simulator.is_some() {
            let credentials = log_in_to_sandbox(&context).await?;
            let store = TokenStore::Memory(Default::default());
            store.save(&credentials).await?;
            context.tokens = Some(Tokens::in_store(context.oauth()?, store, credentials));
        }
        Ok(context)
    }

    /// The shared client, or one with the platform's roots when the shared one has none
    /// (plain-http bases) and one of `urls` (a `--forward-to` target) needs TLS.
    pub fn http_reaching(&self, urls: &[String]) -> anyhow::Result<reqwest::Client> {
        let bases = [
            self.access.api_base.as_str(),
            self.access.auth_base.as_str(),
        ];
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        if needs_tls(&bases) || !needs_tls(&urls) {
            return Ok(self.http.clone());
        }
        client_reaching(self.access.proxy.as_ref(), &urls)
    }

    /// A client like [`Context::http_reaching`]'s with connections of its own, for work on
    /// another runtime: a connection is driven by the runtime that opened it, so one opened
    /// there must never serve this runtime's requests from a shared pool.
    pub fn http_apart(&self, urls: &[String]) -> anyhow::Result<reqwest::Client> {
        let bases = [
            self.access.api_base.as_str(),
            self.access.auth_base.as_str(),
        ];
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        let reaching = if needs_tls(&bases) || !needs_tls(&urls) {
            &bases[..]
        } else {
            &urls[..]
        };
        client_reaching(self.access.proxy.as_ref(), reaching)
    }

    /// The OAuth client; needs `OAUTH_CLIENT_ID` and `OAUTH_CLIENT_SECRET`.
    pub fn oauth(&self) -> Result<OAuthClient, UsageError> {
        let access = &self.access;
        let missing: Vec<&str> = [
            ("OAUTH_CLIENT_ID", access.client_id.is_none()),
            ("OAUTH_CLIENT_SECRET", access.client_secret.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        let (Some(id), Some(secret)) = (&access.client_id, &access.client_secret) else {
            return Err(
                UsageError::new(format!("{} not set", missing.join(" and ")))
                    .with_hint(OAUTH_CLIENT_HINT),
            );
        };
        OAuthClient::new(
            self.http.clone(),
            &access.auth_base,
            id,
            secret,
            access.retry,
        )
        .map_err(|e| UsageError::new(format!("cannot build the OAuth endpoints: {e}")))
    }

    /// Where stored credentials are looked for.
    pub fn stores(&self) -> Stores {
        Stores::new(&self.access.config_dir, self.access.use_keyring)
    }

    /// The token source: `CER_TOKEN`, the sandbox login, or the stored credentials.
    pub fn tokens(&self) -> Tokens {
        if let Some(tokens) = &self.tokens {
            return tokens.clone();
        }
        if let Some(token) = &self.access.token_override {
            return Tokens::fixed(token.clone());
        }
        let lock = self.access.config_dir.join("credentials.lock");
        let oauth = self
            .oauth()
            .map_err(|missing| OAuthClientError::NeededForRefresh(missing.to_string()));
        Tokens::stored(oauth, self.stores(), lock)
    }

    /// The GoTo REST client.
    pub fn api(&self) -> ApiClient {
        ApiClient::new(
            self.http.clone(),
            self.access.api_base.clone(),
            self.tokens(),
            self.access.rate,
            self.access.retry,
        )
    }
}

fn sandbox_access(sandbox: &Sandbox) -> anyhow::Result<SandboxAccess> {
    let base = url::Url::parse(&sandbox.base_url()).context("the sandbox's address")?;
    Ok(SandboxAccess {
        base,
        client_id: sandbox.client_id().to_string(),
        client_secret: Secret::new(sandbox.client_secret()),
        account_key: sandbox.account_key().to_string(),
    })
}

/// The simulator approves every authorize request at once, so the login needs no browser:
/// follow the authorize URL by hand, take the code from the redirect, exchange it.
async fn log_in_to_sandbox(context: &Context) -> anyhow::Result<Credentials> {
    let oauth = context.oauth()?;
    let redirect_uri = context.access.sandbox_redirect_uri.as_str();
    // Every scope, the Recording API's too: the sandbox can archive what it simulates.
    let request = oauth.authorize(redirect_uri, true)?;
    let answer = context
        .http
        .get(request.url.as_str())
        .send()
        .await
        .context("the sandbox did not answer the authorize request")?;
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
        .context("the sandbox's authorize answer has no redirect")?;
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| Secret::new(code.into_owned()))
        .context("the sandbox's redirect carries no code")?;
    let credentials = oauth
        .exchange_code(&code, &request.verifier, redirect_uri)
        .await
        .context("the sandbox refused the login")?;
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_analysis_delay_shrinks_with_the_time_scale() {
        let default = SandboxConfig::default().analysis_delay;
        assert_eq!(sandbox_config(None).analysis_delay, default);
        assert_eq!(
            sandbox_config(TimeScale::from_factor(0.05)).analysis_delay,
            Some(Duration::from_secs(3))
        );
    }
}
