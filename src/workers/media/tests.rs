//! How an archived object's failures are retried, and where a recording is downloaded.

use super::*;
use crate::api::http::client_reaching;
use crate::api::reports::fetch_report;
use crate::api::tests::TestEnv;
use crate::archive::{ArchiveLocation, S3Settings};
use crate::auth::Tokens;
use crate::net::retry::RetryPolicy;
use crate::secret::Secret;
use crate::store::StoreLocation;

#[test]
fn not_ready_is_retried_with_backoff_and_gone_stays_gone() {
    let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let backoff = Backoff::default();
    let retry = Failure::Recording(RecordingError::NotReady).outcome(0, now, backoff);
    let next = now.checked_add(FIRST_RETRY).unwrap();
    assert_eq!(
        retry,
        MediaOutcome::Retry {
            error: "GoTo has not finished uploading it yet".into(),
            next
        }
    );
    let late = Failure::Recording(RecordingError::NotReady).outcome(MAX_ATTEMPTS - 1, now, backoff);
    assert!(matches!(late, MediaOutcome::Failed { .. }), "{late:?}");
    assert_eq!(
        Failure::Recording(RecordingError::Gone).outcome(0, now, backoff),
        MediaOutcome::Gone
    );
}

#[test]
fn a_listener_retries_not_ready_for_as_long_as_forward_for() {
    let minute = SignedDuration::from_mins(1);
    // 1 + 2 + 4 + 8 + 16 = 31 minutes of waits fit in 40 minutes; the next (32) does not.
    assert_eq!(
        Backoff::within(minute, SignedDuration::from_mins(40)).max_attempts,
        6
    );
    // A day: 63 minutes of doubling, then hourly.
    let day = Backoff::within(minute, SignedDuration::from_hours(24));
    assert_eq!(day.max_attempts, 6 + 1 + 22);
    assert_eq!(
        Backoff::within(minute, SignedDuration::ZERO).max_attempts,
        1
    );
}

/// The recording a recorded call's first report names, with an API client and a folder
/// archive, in `dir`.
struct RecordedCall {
    api: ApiClient,
    store: Store,
    archive: Archive,
    claim: ClaimedMedia,
    folder: String,
}

async fn recorded_call(env: &TestEnv, dir: &std::path::Path) -> RecordedCall {
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(20))
        .conversation_space_id;
    let base_url = env.sandbox.base_url();
    let http = client_reaching(None, &[&base_url]).unwrap();
    let tokens = Tokens::fixed(Secret::new(env.sandbox.issue_token(None)));
    let base = Url::parse(&base_url).unwrap();
    let api = ApiClient::new(http, base, tokens, 50, RetryPolicy::default());
    let report = fetch_report(&api, &call).await.unwrap();
    let item = named_media(&call, report.text())
        .items
        .into_iter()
        .find(|item| item.kind == MediaKind::Recording)
        .unwrap();
    let store = Store::open(&StoreLocation::Sqlite(dir.join("cer.db")))
        .await
        .unwrap();
    let location = ArchiveLocation::Folder(dir.join("archive"));
    let archive = Archive::open(&location, &S3Settings::default(), reqwest::Client::new()).unwrap();
    let folder = folder_at(&call, Timestamp::now()).unwrap();
    let claim = ClaimedMedia {
        item,
        attempts: 0,
        lease_ms: 0,
    };
    RecordedCall {
        api,
        store,
        archive,
        claim,
        folder,
    }
}

#[test]
fn a_recording_is_downloaded_here_when_the_archive_thread_is_gone() {
    let env = TestEnv::with(cer_sandbox::SandboxConfig {
        call_every: None,
        analysis_delay: Some(Duration::ZERO),
        ..cer_sandbox::SandboxConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    env.block_on(async {
        let call = recorded_call(&env, dir.path()).await;
        let apart = Apart {
            thread: Background::gone(),
            storage: reqwest::Client::new(),
            archive: call.archive.clone(),
        };
        let archiver = Archiver {
            store: &call.store,
            api: &call.api,
            archive: &call.archive,
            live: None,
            apart: Some(&apart),
        };
        let attempt = archiver
            .archive_one(&call.claim, &call.folder)
            .await
            .unwrap();
        let MediaOutcome::Archived {
            object_key, bytes, ..
        } = attempt.outcome
        else {
            panic!("archived here: {:?}", attempt.outcome);
        };
        let written = std::fs::metadata(dir.path().join("archive").join(&object_key)).unwrap();
        assert_eq!(written.len(), bytes);
        assert!(bytes > 44, "the audio itself: {bytes} bytes");
    });
}
