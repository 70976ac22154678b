//! The Recording API client against a local GoTo and a local storage host: both token shapes, the
//! redirect followed without the bearer token, refused tokens replaced, IDs checked.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::*;
use crate::auth::Tokens;
use crate::net::retry::RetryPolicy;

const AUDIO: &[u8] = b"ID3\x04\x00fake audio bytes";
const TRANSCRIPT: &str =
    r#"{"version": "1", "results": [{"type": "utterances", "transcript": "Hi", "channel": 0}]}"#;

/// One request a server saw: its path and its Authorization header.
type Request = (String, Option<String>);

/// What the two servers saw.
#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<Request>>>,
    tokens_issued: Arc<Mutex<u32>>,
    storage: Arc<Mutex<String>>,
}

impl Seen {
    fn note(&self, path: String, headers: &HeaderMap) {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.requests.lock().unwrap().push((path, auth));
    }

    fn storage_requests(&self) -> Vec<Request> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|(p, _)| p.starts_with("/store/"))
            .cloned()
            .collect()
    }
}

async fn token(State(seen): State<Seen>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    seen.note(format!("/content/{id}"), &headers);
    let n = {
        let mut issued = seen.tokens_issued.lock().unwrap();
        *issued += 1;
        *issued
    };
    let body = match id.as_str() {
        "not-ready" => return StatusCode::BAD_REQUEST.into_response(),
        "gone" => return StatusCode::NOT_FOUND.into_response(),
        "neither" => r#"{"status": "UPLOADED", "url": "x"}"#.to_string(),
        "live" => format!(
            r#"{{"token": {{"token": "tok{n}", "expires": "2030-01-01T00:00:00Z"}}, "status": "UPLOADED"}}"#
        ),
        _ => format!(r#"{{"token": "tok{n}", "expires": "2030-01-01T00:00:00Z"}}"#),
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn content(
    State(seen): State<Seen>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    seen.note(format!("/content/{id}/token"), &headers);
    if id == "refused-once" && token == "tok1" {
        return StatusCode::FORBIDDEN.into_response();
    }
    let storage = seen.storage.lock().unwrap().clone();
    let to = format!("{storage}/store/{id}?signature=s3cr3t");
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn transcription(
    State(seen): State<Seen>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen.note(format!("/transcriptions/{id}"), &headers);
    let storage = seen.storage.lock().unwrap().clone();
    let to = format!("{storage}/store/t-{id}");
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn stored(
    State(seen): State<Seen>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen.note(format!("/store/{name}"), &headers);
    if name.starts_with("t-") {
        return ([(header::CONTENT_TYPE, "application/json")], TRANSCRIPT).into_response();
    }
    ([(header::CONTENT_TYPE, "audio/mpeg")], AUDIO).into_response()
}

async fn serve(router: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

/// GoTo's API on 127.0.0.1 and a storage host on `localhost`: another host.
async fn servers() -> (ApiClient, Seen) {
    let seen = Seen::default();
    let api = Router::new()
        .route("/recording/v1/recordings/{id}/content", get(token))
        .route(
            "/recording/v1/recordings/{id}/content/{token}",
            get(content),
        )
        .route("/recording/v1/transcriptions/{id}", get(transcription))
        .with_state(seen.clone());
    let storage = Router::new()
        .route("/store/{name}", get(stored))
        .with_state(seen.clone());
    let api_port = serve(api).await;
    let storage_port = serve(storage).await;
    *seen.storage.lock().unwrap() = format!("http://localhost:{storage_port}");
    let base = Url::parse(&format!("http://127.0.0.1:{api_port}")).unwrap();
    let http = crate::api::http::client_reaching(None, &["http://127.0.0.1/"]).unwrap();
    let retry = RetryPolicy::default().with_base(Duration::from_millis(1));
    let client = ApiClient::new(
        http,
        base,
        Tokens::fixed(Secret::new("bearer-xyz")),
        1000,
        retry,
    );
    (client, seen)
}

async fn read_all(mut download: Download) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(chunk) = download.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    body
}

fn id(text: &str) -> MediaId {
    MediaId::parse(text).unwrap()
}

#[test]
fn both_token_shapes_are_read() {
    let documented =
        parse_content_token(br#"{"token": "abc", "expires": "2026-01-01T00:00:00Z"}"#).unwrap();
    assert_eq!(documented.expose(), "abc");
    let live = parse_content_token(
        br#"{"token": {"token": "def", "expires": "2026-01-02T00:00:00Z"}, "status": "UPLOADED"}"#,
    )
    .unwrap();
    assert_eq!(live.expose(), "def");
}

#[test]
fn an_answer_of_neither_shape_is_an_error_not_a_panic() {
    for body in [
        &br#"{"status": "UPLOADED"}"#[..],
        br#"{"token": 42}"#,
        br#"{"token": {"expires": "x"}}"#,
        br#"{"token": ""}"#,
        b"[1, 2]",
        b"not json",
    ] {
        let err = parse_content_token(body).unwrap_err().to_string();
        assert!(err.contains("no token"), "{err}");
    }
}

#[test]
fn a_request_holding_a_token_shows_no_token_when_debug_printed() {
    let request = ApiRequest::get("/recording/v1/recordings/r/content/s3cr3t-token")
        .redirected()
        .shown_as("/recording/v1/recordings/r/content/(token)");
    let shown = format!("{request:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("content/(token)"), "{shown}");
}

#[test]
fn an_id_with_a_slash_or_dots_is_refused() {
    for bad in [
        "../etc",
        "a/b",
        "..",
        "a.b",
        "",
        "a b",
        "é",
        &"x".repeat(129),
    ] {
        assert!(MediaId::parse(bad).is_err(), "{bad:?} accepted");
    }
    for good in [
        "9f8e7d6c-5b4a-3210-fedc-ba9876543210",
        "rec_1",
        "ABC-def-09",
    ] {
        assert_eq!(MediaId::parse(good).unwrap().as_str(), good);
    }
}

#[tokio::test]
async fn the_redirect_to_another_host_carries_no_authorization_header() {
    let (api, seen) = servers().await;
    let download = download_recording(&api, &id("live"), MAX_RECORDING_BYTES)
        .await
        .unwrap();
    assert_eq!(download.content_type, "audio/mpeg");
    assert_eq!(read_all(download).await, AUDIO);
    let requests = seen.requests.lock().unwrap().clone();
    let storage = seen.storage_requests();
    assert_eq!(storage.len(), 1, "{requests:?}");
    assert_eq!(
        storage[0].1, None,
        "the storage host got {:?}",
        storage[0].1
    );
    for (path, auth) in requests.iter().filter(|(p, _)| !p.starts_with("/store/")) {
        assert_eq!(auth.as_deref(), Some("Bearer bearer-xyz"), "{path}");
    }
}

#[tokio::test]
async fn a_refused_token_is_replaced_by_a_new_one_once() {
    let (api, seen) = servers().await;
    let download = download_recording(&api, &id("refused-once"), MAX_RECORDING_BYTES)
        .await
        .unwrap();
    assert_eq!(read_all(download).await, AUDIO);
    assert_eq!(*seen.tokens_issued.lock().unwrap(), 2);
}

#[tokio::test]
async fn not_ready_gone_and_unreadable_tokens_are_told_apart() {
    let (api, _) = servers().await;
    let not_ready = download_recording(&api, &id("not-ready"), MAX_RECORDING_BYTES).await;
    assert!(
        matches!(not_ready, Err(RecordingError::NotReady)),
        "{not_ready:?}"
    );
    let gone = download_recording(&api, &id("gone"), MAX_RECORDING_BYTES).await;
    assert!(matches!(gone, Err(RecordingError::Gone)), "{gone:?}");
    let neither = download_recording(&api, &id("neither"), MAX_RECORDING_BYTES).await;
    assert!(
        matches!(neither, Err(RecordingError::Api(ApiError::InvalidBody(_)))),
        "{neither:?}"
    );
}

#[tokio::test]
async fn a_download_larger_than_the_limit_stops() {
    let (api, _) = servers().await;
    let err = download_recording(&api, &id("doc"), 4).await.unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn a_transcript_is_followed_without_the_bearer_token_and_kept_exactly() {
    let (api, seen) = servers().await;
    let body = fetch_transcript(&api, &id("tr-1")).await.unwrap();
    assert_eq!(&body[..], TRANSCRIPT.as_bytes());
    let storage = seen.storage_requests();
    assert_eq!(storage, vec![("/store/t-tr-1".to_string(), None)]);
}
