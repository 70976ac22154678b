//! The access token every GoTo call carries: `CER_TOKEN` as is, or the stored token, refreshed
//! before it gets old and once after a 401, with the store locked so that two cer processes
//! refreshing together never lose the (rotating) refresh token.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Mutex;

use super::credentials::Credentials;
use super::local_error::{CredentialsError, OAuthClientError};
use super::oauth::OAuthClient;
use super::store::{Stores, TokenStore};
use crate::net::ApiError;
use crate::net::AuthError;
use crate::secret::Secret;

/// Hands out valid access tokens. Cheap to clone; clones share one cache.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Source>,
}

enum Source {
    /// `CER_TOKEN`: no store, no refresh.
    Fixed(Secret),
    Managed(Box<Managed>),
}

struct Managed {
    /// The OAuth client, or why there is none (missing variables): needed only to refresh.
    oauth: Result<OAuthClient, OAuthClientError>,
    stores: Option<Stores>,
    lock_path: Option<PathBuf>,
    /// The store the credentials came from (and go back to), and the credentials; loaded on
    /// first use so that commands that never call GoTo never touch the keyring.
    current: Mutex<Option<(TokenStore, Credentials)>>,
}

impl Tokens {
    /// A token used as given.
    pub fn fixed(token: Secret) -> Self {
        Self {
            inner: Arc::new(Source::Fixed(token)),
        }
    }

    /// Tokens found in `stores` on first use, refreshed through `oauth` (or, when `oauth` is
    /// an error, usable until they need a refresh).
    pub fn stored(
        oauth: Result<OAuthClient, OAuthClientError>,
        stores: Stores,
        lock_path: PathBuf,
    ) -> Self {
        Self::managed(oauth, Some(stores), Some(lock_path), None)
    }

    /// Tokens already in hand (a fresh login) kept in `store`.
    pub fn in_store(oauth: OAuthClient, store: TokenStore, credentials: Credentials) -> Self {
        Self::managed(Ok(oauth), None, None, Some((store, credentials)))
    }

    fn managed(
        oauth: Result<OAuthClient, OAuthClientError>,
        stores: Option<Stores>,
        lock_path: Option<PathBuf>,
        current: Option<(TokenStore, Credentials)>,
    ) -> Self {
        Self {
            inner: Arc::new(Source::Managed(Box::new(Managed {
                oauth,
                stores,
                lock_path,
                current: Mutex::new(current),
            }))),
        }
    }

    /// Whether this is `CER_TOKEN`, used as is: its scopes are not known to cer.
    pub fn is_fixed(&self) -> bool {
        matches!(&*self.inner, Source::Fixed(_))
    }

    /// The stored credentials and where they are, without refreshing; `None` when not logged in.
    pub async fn stored_credentials(
        &self,
    ) -> Result<Option<(TokenStore, Credentials)>, CredentialsError> {
        match &*self.inner {
            Source::Fixed(_) => Ok(None),
            Source::Managed(managed) => {
                let mut current = managed.current.lock().await;
                managed.load_if_needed(&mut current).await?;
                Ok(current.clone())
            }
        }
    }

    /// A token that is valid now, refreshed first when less than a third of its life is left.
    pub async fn access_token(&self) -> Result<Secret, ApiError> {
        match &*self.inner {
            Source::Fixed(token) => Ok(token.clone()),
            Source::Managed(managed) => managed.access_token(None).await,
        }
    }

    /// Called after GoTo refused `rejected` with a 401: refreshes, unless another task already
    /// did. A fixed token cannot be refreshed, so the 401 stands.
    pub async fn refresh_rejected(&self, rejected: &Secret) -> Result<Secret, ApiError> {
        match &*self.inner {
            Source::Fixed(_) => Err(AuthError::TokenRefused.into()),
            Source::Managed(managed) => managed.access_token(Some(rejected)).await,
        }
    }
}

impl Managed {
    async fn load_if_needed(
        &self,
        current: &mut Option<(TokenStore, Credentials)>,
    ) -> Result<(), CredentialsError> {
        if current.is_none()
            && let Some(stores) = &self.stores
        {
            *current = stores.find().await.map_err(CredentialsError::Store)?;
        }
        Ok(())
    }

    async fn access_token(&self, rejected: Option<&Secret>) -> Result<Secret, ApiError> {
        let mut current = self.current.lock().await;
        self.load_if_needed(&mut current).await?;
        let Some((store, credentials)) = current.as_ref() else {
            return Err(AuthError::NotLoggedIn.into());
        };
        if is_usable(credentials, rejected) {
            return Ok(credentials.access_token.clone());
        }
        let store = store.clone();
        let _lock = self.lock_store().await?;
        // Another process may have refreshed while we waited for the lock: its tokens win,
        // because ours may hold a refresh token that rotation has already spent.
        let latest = match store.load().await.map_err(CredentialsError::Store)? {
            Some(stored) if stored.access_token != credentials.access_token => stored,
            _ => credentials.clone(),
        };
        if is_usable(&latest, rejected) {
            let token = latest.access_token.clone();
            *current = Some((store, latest));
            return Ok(token);
        }
        let fresh = self.refresh(&latest).await?;
        if let Err(err) = store.save(&fresh).await {
            tracing::warn!(
                "could not store the refreshed tokens ({err}); the next run may need `cer login`"
            );
        }
        let token = fresh.access_token.clone();
        *current = Some((store, fresh));
        Ok(token)
    }

    async fn refresh(&self, old: &Credentials) -> Result<Credentials, ApiError> {
        let Some(refresh_token) = &old.refresh_token else {
            return Err(AuthError::RefreshRejected("no refresh token is stored".into()).into());
        };
        let oauth = self.oauth.as_ref().map_err(Clone::clone)?;
        tracing::debug!("refreshing the access token");
        let mut fresh = oauth.refresh(refresh_token).await?;
        fresh.principal = fresh.principal.or_else(|| old.principal.clone());
        fresh.account_key = fresh.account_key.or_else(|| old.account_key.clone());
        fresh.scope = fresh.scope.or_else(|| old.scope.clone());
        Ok(fresh)
    }

    /// Holds an exclusive lock on the credentials lock file until the guard drops. Another cer
    /// stuck or suspended while holding it must not hang this one: after
    /// [`LOCK_TIMEOUT`] it is an error that says so.
    async fn lock_store(&self) -> Result<Option<fs::File>, CredentialsError> {
        let Some(path) = self.lock_path.clone() else {
            return Ok(None);
        };
        let opened = tokio::task::spawn_blocking({
            let path = path.clone();
            move || -> std::io::Result<fs::File> {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
            }
        })
        .await;
        let file = match opened {
            Ok(Ok(file)) => file,
            Ok(Err(err)) => {
                tracing::debug!("refreshing without the credentials lock: {err}");
                return Ok(None);
            }
            Err(_) => return Ok(None),
        };
        let deadline = tokio::time::Instant::now() + LOCK_TIMEOUT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(LOCK_POLL).await;
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(CredentialsError::LockHeld {
                        path,
                        waited: LOCK_TIMEOUT,
                    });
                }
                Err(fs::TryLockError::Error(err)) => {
                    tracing::debug!("refreshing without the credentials lock: {err}");
                    return Ok(None);
                }
            }
        }
    }
}

/// How long a refresh waits for another cer's refresh: one takes a second or two.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Usable: not the token GoTo just refused, and not yet in the last third of its life.
fn is_usable(credentials: &Credentials, rejected: Option<&Secret>) -> bool {
    match rejected {
        Some(rejected) => credentials.access_token != *rejected,
        None => !credentials.needs_refresh(Timestamp::now()),
    }
}
