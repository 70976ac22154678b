//! Where tokens live between runs: the OS keyring when it answers, else a 0600 JSON file that is
//! replaced atomically; in sandbox mode, memory only.
//!
//! Keyring calls run on their own thread with a time limit, because a locked or wedged Secret
//! Service can block forever and cer must never hang on it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::credentials::Credentials;
use super::os_keyring;

const KEYRING_SERVICE: &str = "cer";
const KEYRING_USER: &str = "default";
const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);
/// The credentials file's name in `CER_CONFIG_DIR`.
pub const CREDENTIALS_FILE: &str = "credentials.json";

/// A problem reading or writing stored credentials, described for a person.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenStoreError(pub String);

/// One place credentials can be kept.
#[derive(Debug, Clone)]
pub enum TokenStore {
    /// The OS keyring (Secret Service, Keychain), unless `CER_KEYRING=0`.
    Keyring,
    /// A JSON file, mode 0600: where the keyring is off or unavailable.
    File(PathBuf),
    /// Memory only: a `--sandbox` session keeps nothing.
    Memory(Arc<Mutex<Option<Credentials>>>),
}

impl TokenStore {
    /// The name `status` and `login` show.
    pub fn describe(&self) -> String {
        match self {
            Self::Keyring => format!("OS keyring (service \"{KEYRING_SERVICE}\")"),
            Self::File(path) => format!("file {}", path.display()),
            Self::Memory(_) => "memory (sandbox session)".to_string(),
        }
    }

    /// The stored credentials; `None` when there are none.
    pub async fn load(&self) -> Result<Option<Credentials>, TokenStoreError> {
        match self {
            Self::Keyring => match keyring_call(|entry| entry.get_password()).await {
                Ok(text) => parse(&text, "the keyring entry").map(Some),
                Err(KeyringTrouble::NoEntry) => Ok(None),
                Err(trouble) => Err(TokenStoreError(format!("OS keyring: {trouble}"))),
            },
            Self::File(path) => load_file(path),
            Self::Memory(slot) => Ok(slot.lock().ok().and_then(|s| s.clone())),
        }
    }

    /// Stores `credentials` in place of what was there (a file is replaced atomically).
    pub async fn save(&self, credentials: &Credentials) -> Result<(), TokenStoreError> {
        let text = serde_json::to_string_pretty(credentials)
            .map_err(|e| TokenStoreError(format!("cannot encode credentials: {e}")))?;
        match self {
            Self::Keyring => keyring_call(move |entry| entry.set_password(&text))
                .await
                .map_err(|trouble| TokenStoreError(format!("OS keyring: {trouble}"))),
            Self::File(path) => write_file_atomically(path, text.as_bytes()),
            Self::Memory(slot) => {
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(credentials.clone());
                }
                Ok(())
            }
        }
    }

    /// Deletes the stored credentials; `Ok(false)` when there were none.
    pub async fn delete(&self) -> Result<bool, TokenStoreError> {
        match self {
            Self::Keyring => match keyring_call(|entry| entry.delete_credential()).await {
                Ok(()) => Ok(true),
                Err(KeyringTrouble::NoEntry) => Ok(false),
                Err(trouble) => Err(TokenStoreError(format!("OS keyring: {trouble}"))),
            },
            Self::File(path) => match fs::remove_file(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(TokenStoreError(format!(
                    "cannot delete {}: {e}",
                    path.display()
                ))),
            },
            Self::Memory(slot) => Ok(slot.lock().ok().and_then(|mut s| s.take()).is_some()),
        }
    }
}

/// The stores a normal (non-sandbox) run may use, in the order they are searched.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Whether the keyring is tried first (`CER_KEYRING` is not `0`).
    pub use_keyring: bool,
    /// The credentials file, tried after the keyring.
    pub file: PathBuf,
}

impl Stores {
    /// The keyring (if `use_keyring`) and the credentials file in `config_dir`.
    pub fn new(config_dir: &Path, use_keyring: bool) -> Self {
        Self {
            use_keyring,
            file: config_dir.join(CREDENTIALS_FILE),
        }
    }

    /// Finds stored credentials: the keyring first (when enabled), then the file.
    pub async fn find(&self) -> Result<Option<(TokenStore, Credentials)>, TokenStoreError> {
        if self.use_keyring {
            match TokenStore::Keyring.load().await {
                Ok(Some(found)) => return Ok(Some((TokenStore::Keyring, found))),
                Ok(None) => {}
                Err(err) => tracing::debug!("keyring not usable, trying the file: {err}"),
            }
        }
        let file = TokenStore::File(self.file.clone());
        Ok(file.load().await?.map(|found| (file, found)))
    }

    /// Where a new login is saved: the keyring if it answers, else the file, with the reason.
    pub async fn for_new_login(&self) -> (TokenStore, Option<String>) {
        if !self.use_keyring {
            return (
                TokenStore::File(self.file.clone()),
                Some("CER_KEYRING=0".to_string()),
            );
        }
        match keyring_call(|entry| entry.get_password()).await {
            Ok(_) | Err(KeyringTrouble::NoEntry) => (TokenStore::Keyring, None),
            Err(trouble) => (
                TokenStore::File(self.file.clone()),
                Some(format!("the OS keyring is not available: {trouble}")),
            ),
        }
    }

    /// Every store this run may have written to.
    pub fn all(&self) -> Vec<TokenStore> {
        let mut stores = vec![TokenStore::File(self.file.clone())];
        if self.use_keyring {
            stores.insert(0, TokenStore::Keyring);
        }
        stores
    }
}

fn parse(text: &str, what: &str) -> Result<Credentials, TokenStoreError> {
    serde_json::from_str(text).map_err(|e| {
        TokenStoreError(format!(
            "{what} does not hold valid credentials ({e}); run `cer logout`, then `cer login`"
        ))
    })
}

fn load_file(path: &Path) -> Result<Option<Credentials>, TokenStoreError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(TokenStoreError(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    tighten_mode(path);
    parse(&text, &path.display().to_string()).map(Some)
}

/// A credentials file others can read is a leak waiting to happen: say so and fix it.
/// A symlink is never followed: changing the mode of whatever it points to could loosen or
/// break a file that is not cer's.
fn tighten_mode(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        tracing::warn!(
            "{} is a symbolic link; cer leaves the mode of its target alone (make it a plain 0600 file)",
            path.display()
        );
        return;
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return;
    }
    match fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
        Ok(()) => tracing::warn!(
            "{} had mode {mode:04o}, readable by others; changed it to 0600",
            path.display()
        ),
        Err(e) => tracing::warn!(
            "{} has mode {mode:04o}, readable by others, and cannot be changed: {e}",
            path.display()
        ),
    }
}

/// Checks that a credentials file can be written at `path` (its folder created 0700 if
/// needed), by creating and removing a probe file next to it.
pub fn check_writable(path: &Path) -> Result<(), TokenStoreError> {
    let probe = path.with_extension(format!("probe{}", std::process::id()));
    write_file_atomically(&probe, b"")?;
    fs::remove_file(&probe)
        .map_err(|e| TokenStoreError(format!("cannot remove {}: {e}", probe.display())))
}

/// Writes `bytes` to a temporary file created with mode 0600, then renames it over `path`, so
/// the file is never readable by others, not even for an instant, and never half-written.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), TokenStoreError> {
    let fail = |what: &str, e: std::io::Error| {
        TokenStoreError(format!("cannot {what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail("create the folder of", e))?;
    }
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(fail("write", e));
    }
    Ok(())
}

/// Why a keyring call gave nothing.
#[derive(Debug, thiserror::Error)]
enum KeyringTrouble {
    #[error("no entry")]
    NoEntry,
    #[error("no answer within {}s", KEYRING_TIMEOUT.as_secs())]
    Timeout,
    #[error("{0}")]
    Failed(String),
}

/// Runs one keyring operation on a thread of its own and waits at most [`KEYRING_TIMEOUT`].
/// A thread stuck in the keyring is abandoned; it does not keep cer from exiting.
///
/// The operation moves to its thread before the returned future exists, so the future holds
/// only the answer channel (`use<T>`): a higher-ranked closure inside an async state machine
/// would make every caller's future lose `Send`.
fn keyring_call<T, F>(
    operation: F,
) -> impl Future<Output = Result<T, KeyringTrouble>> + Send + use<T, F>
where
    T: Send + 'static,
    F: FnOnce(&os_keyring::Entry) -> os_keyring::Result<T> + Send + 'static,
{
    let (send, receive) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result =
            os_keyring::entry(KEYRING_SERVICE, KEYRING_USER).and_then(|entry| operation(&entry));
        let _ = send.send(result);
    });
    async move {
        match tokio::time::timeout(KEYRING_TIMEOUT, receive).await {
            Err(_) => Err(KeyringTrouble::Timeout),
            Ok(Err(_)) => Err(KeyringTrouble::Failed("the keyring thread stopped".into())),
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(os_keyring::Error::NoEntry))) => Err(KeyringTrouble::NoEntry),
            Ok(Ok(Err(err))) => Err(KeyringTrouble::Failed(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
