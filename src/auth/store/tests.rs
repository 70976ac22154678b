//! The credentials file: mode 0600, atomic writes, loose modes and corrupt files.

use super::*;
use crate::secret::Secret;

fn sample() -> Credentials {
    Credentials::issued_now(
        Secret::new("access"),
        Some(Secret::new("refresh")),
        Duration::from_secs(3600),
        Some("cr.v1.read".into()),
        Some("me@example.test".into()),
        None,
    )
}

#[tokio::test]
async fn file_store_round_trips_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join(CREDENTIALS_FILE);
    let store = TokenStore::File(path.clone());
    assert_eq!(store.load().await.unwrap(), None);
    let saved = sample();
    store.save(&saved).await.unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(store.load().await.unwrap(), Some(saved));
    assert!(store.delete().await.unwrap());
    assert!(!store.delete().await.unwrap());
}

#[tokio::test]
async fn a_loose_mode_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(CREDENTIALS_FILE);
    let store = TokenStore::File(path.clone());
    store.save(&sample()).await.unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(store.load().await.unwrap().is_some());
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

// Regression: `status` changed the mode of the file a symlinked credentials.json points to.
#[tokio::test]
async fn the_target_of_a_symlink_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.json");
    TokenStore::File(target.clone())
        .save(&sample())
        .await
        .unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join(CREDENTIALS_FILE);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(TokenStore::File(link).load().await.unwrap().is_some());
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}

#[tokio::test]
async fn corrupt_json_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(CREDENTIALS_FILE);
    fs::write(&path, "{not json").unwrap();
    let err = TokenStore::File(path).load().await.unwrap_err();
    assert!(err.to_string().contains("cer logout"), "{err}");
}
