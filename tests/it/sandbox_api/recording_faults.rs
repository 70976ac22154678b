//! One test per Recording API fault: expired download tokens and storage URLs, recordings GoTo
//! no longer has, slow and cut downloads; each requested the way the others are.

use std::time::{Duration, Instant};

use super::recordings::{at_once, audio, audio_location, fetch, recorded, token_of};
use super::support::{assert_goto_error, get, http, start};

#[tokio::test]
async fn an_expired_download_token_is_refused_once_then_a_new_one_works() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let path = format!("/recording/v1/recordings/{recording}/content");
    let download = token_of(&get(&sb, &token, &path).await.1);
    sb.faults()
        .apply("download-expired", &[])
        .expect("a known fault");
    let (status, body) = get(&sb, &token, &format!("{path}/{download}")).await;
    assert_eq!(status, 403, "{body}");
    assert_goto_error(&body, "DOWNLOAD_TOKEN_EXPIRED");
    let fresh = token_of(&get(&sb, &token, &path).await.1);
    let url = format!("{}{path}/{fresh}", sb.base_url());
    assert_eq!(
        http()
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .status(),
        302
    );
}

#[tokio::test]
async fn an_expired_storage_url_is_refused_once() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let url = audio_location(&sb, &token, &recording).await;
    let params = [("at".to_string(), "storage".to_string())];
    sb.faults()
        .apply("download-expired", &params)
        .expect("a known fault");
    let resp = http().get(&url).send().await.expect("sent");
    assert_eq!(resp.status(), 403);
    assert!(
        resp.text()
            .await
            .unwrap_or_default()
            .contains("Request has expired")
    );
    assert_eq!(fetch(&url).await.0, 200);
}

#[tokio::test]
async fn a_gone_recording_is_404_until_cleared() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, transcript_id, _) = recorded(&sb, &token).await;
    let content = format!("/recording/v1/recordings/{recording}/content");
    let transcript = format!("/recording/v1/transcriptions/{transcript_id}");
    let params = [("id".to_string(), recording.clone())];
    sb.faults()
        .apply("recording-gone", &params)
        .expect("a known fault");
    let (status, body) = get(&sb, &token, &content).await;
    assert_eq!(status, 404);
    assert_goto_error(&body, "NOT_FOUND");
    let url = format!("{}{transcript}", sb.base_url());
    assert_eq!(
        http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .status(),
        302
    );
    sb.faults()
        .apply("recording-gone", &[])
        .expect("every recording");
    assert_eq!(get(&sb, &token, &transcript).await.0, 404);
    sb.faults().clear();
    assert_eq!(get(&sb, &token, &content).await.0, 200);
}

#[tokio::test]
async fn a_slow_download_trickles_at_the_asked_rate() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    sb.set_recording_bytes(Some(5_956));
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let params = [("bytes_per_second".to_string(), "20000".to_string())];
    sb.faults()
        .apply("slow-download", &params)
        .expect("a known fault");
    let started = Instant::now();
    let bytes = audio(&sb, &token, &recording).await;
    assert_eq!(bytes.len(), 6_000);
    // 2,000 bytes each 100 ms: three pieces.
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_cut_download_ends_early_once() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let params = [("after".to_string(), "1000".to_string())];
    sb.faults()
        .apply("cut-download", &params)
        .expect("a known fault");
    let url = audio_location(&sb, &token, &recording).await;
    let resp = http().get(&url).send().await.expect("sent");
    assert_eq!(resp.status(), 200);
    let promised = resp.content_length().expect("a Content-Length");
    assert!(promised > 1_000);
    assert!(
        resp.bytes().await.is_err(),
        "the body ends before its length"
    );
    assert_eq!(
        fetch(&url).await.2.len() as u64,
        promised,
        "the next download is whole"
    );
}

#[tokio::test]
async fn recording_faults_and_options_are_requested_over_http_too() {
    let sb = start(at_once()).await;
    let control = |path: &str| http().post(format!("{}{path}", sb.base_url())).send();
    let placed = control("/_sandbox/calls?seconds=20&recorded=true")
        .await
        .expect("sent");
    assert_eq!(placed.status(), 201);
    for path in [
        "/_sandbox/faults/recording-not-ready?seconds=1",
        "/_sandbox/faults/download-expired?at=storage&count=2",
        "/_sandbox/faults/slow-download?bytes_per_second=1000",
        "/_sandbox/faults/cut-download?after=10&count=1",
        "/_sandbox/faults/recording-gone",
        "/_sandbox/recording-options?token_shape=live&id_spelling=snake&bytes=100",
    ] {
        assert_eq!(control(path).await.expect("sent").status(), 200, "{path}");
    }
    for bad in [
        "/_sandbox/faults/download-expired?at=elsewhere",
        "/_sandbox/faults/recording-gone?id=not-an-id",
        "/_sandbox/recording-options?token_shape=square",
        "/_sandbox/calls?recorded=maybe",
    ] {
        assert_eq!(control(bad).await.expect("sent").status(), 400, "{bad}");
    }
    let state: serde_json::Value = http()
        .get(format!("{}/_sandbox/state", sb.base_url()))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(state["storageBaseUrl"], sb.storage_url().as_str());
}
