//! The OS keyring's entry for cer's tokens. On Linux and the BSDs it is the Secret Service,
//! reached through libdbus (built from source, so no system package is needed): the same
//! keyring as the `keyring` crate's pure-Rust D-Bus client, at a third of a newcomer's first
//! build (that client and its async runtime were 56 crates and about 90 s of CPU; this one
//! is one C library). macOS and Windows keep the `keyring` crate's native stores.

pub(crate) use keyring_core::{Entry, Error, Result};

/// The entry `service`/`user` in the OS keyring, or why there is none.
pub(crate) fn entry(service: &str, user: &str) -> Result<Entry> {
    platform::entry(service, user)
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod platform {
    use std::sync::{Arc, LazyLock};

    use keyring_core::{CredentialStore, Entry, Error, Result};

    /// Opened once: a session bus that is missing fails fast, and is not asked again.
    static STORE: LazyLock<std::result::Result<Arc<CredentialStore>, String>> =
        LazyLock::new(|| {
            dbus_secret_service_keyring_store::Store::new()
                .map(|store| store as Arc<CredentialStore>)
                .map_err(|err| err.to_string())
        });

    pub(super) fn entry(service: &str, user: &str) -> Result<Entry> {
        match &*STORE {
            Ok(store) => Entry::new_in_store(store, service, user),
            Err(why) => Err(Error::PlatformFailure(why.clone().into())),
        }
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod platform {
    use keyring_core::{Entry, Result};

    pub(super) fn entry(service: &str, user: &str) -> Result<Entry> {
        keyring::Entry::new(service, user).map(|entry| entry.inner)
    }
}

#[cfg(not(any(
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ),
    target_os = "macos",
    target_os = "windows"
)))]
mod platform {
    use keyring_core::{Entry, Error, Result};

    pub(super) fn entry(_service: &str, _user: &str) -> Result<Entry> {
        Err(Error::NoDefaultStore)
    }
}
