//! The Recording API as GoTo documents it (`goto-api/API.md` section 10): download tokens in
//! both shapes GoTo uses, the 302 chain to a storage host that must never see the bearer token,
//! valid WAV audio and Version 1 transcripts that are a pure function of the seed, recording
//! subscriptions and their notifications, and each media fault.

use std::time::Duration;

use cer_sandbox::{Sandbox, SandboxConfig, TokenShape};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::support::{assert_goto_error, get, http, keys, quiet, start};

/// No scheduled calls, and recordings uploaded the moment a call ends.
pub(super) fn at_once() -> SandboxConfig {
    SandboxConfig {
        analysis_delay: Some(Duration::ZERO),
        ..quiet()
    }
}

/// A recorded call's (report, recording id, transcript id, recorded participant).
pub(super) async fn recorded(sb: &Sandbox, token: &str) -> (Value, String, String, Value) {
    let call = sb.place_recorded_call(Duration::from_secs(30));
    let path = format!(
        "/call-events-report/v1/reports/{}",
        call.conversation_space_id
    );
    let (status, report) = get(sb, token, &path).await;
    assert_eq!(status, 200, "{report}");
    let participant = report["participants"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["recordings"].as_array().is_some_and(|r| !r.is_empty()))
        })
        .cloned()
        .expect("a recorded participant");
    let recording = participant["recordings"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let transcript = participant["transcripts"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    (report, recording, transcript, participant)
}

/// The download token of either shape.
pub(super) fn token_of(body: &Value) -> String {
    let token = if body["token"].is_object() {
        &body["token"]["token"]
    } else {
        &body["token"]
    };
    token.as_str().expect("a token string").to_string()
}

/// `…/content`, then `…/content/{token}`: the storage URL the 302 names.
pub(super) async fn audio_location(sb: &Sandbox, token: &str, recording: &str) -> String {
    let (status, body) = get(
        sb,
        token,
        &format!("/recording/v1/recordings/{recording}/content"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let download = token_of(&body);
    let resp = http()
        .get(format!(
            "{}/recording/v1/recordings/{recording}/content/{download}",
            sb.base_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 302);
    location(&resp)
}

pub(super) fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_string()
}

/// The bytes at a storage URL, fetched without any Authorization header.
pub(super) async fn fetch(url: &str) -> (u16, Option<String>, Vec<u8>) {
    let resp = http().get(url).send().await.expect("sent");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (
        status,
        content_type,
        resp.bytes().await.expect("whole body").to_vec(),
    )
}

pub(super) async fn audio(sb: &Sandbox, token: &str, recording: &str) -> Vec<u8> {
    let (status, content_type, bytes) = fetch(&audio_location(sb, token, recording).await).await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("audio/wav"));
    bytes
}

pub(super) async fn transcript(sb: &Sandbox, token: &str, id: &str) -> Vec<u8> {
    let resp = http()
        .get(format!(
            "{}/recording/v1/transcriptions/{id}",
            sb.base_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 302);
    let (status, content_type, bytes) = fetch(&location(&resp)).await;
    assert_eq!(
        (status, content_type.as_deref()),
        (200, Some("application/json"))
    );
    bytes
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[tokio::test]
async fn a_recorded_call_lists_its_recording_with_its_start_and_a_transcript() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (report, recording, transcript_id, participant) = recorded(&sb, &token).await;
    let entry = &participant["recordings"][0];
    assert_eq!(keys(entry), ["id", "startTimestamp", "transcriptEnabled"]);
    assert_eq!(entry["transcriptEnabled"], true);
    let start = entry["startTimestamp"].as_str().expect("a timestamp");
    let (created, ended) = (
        report["callCreated"].as_str().unwrap_or(""),
        report["callEnded"].as_str().unwrap_or(""),
    );
    assert!(
        created <= start && start <= ended,
        "{start} outside {created}..{ended}"
    );
    assert_ne!(recording, transcript_id);
    assert_ne!(
        recording,
        report["conversationSpaceId"].as_str().unwrap_or("")
    );
}

#[tokio::test]
async fn the_audio_is_a_valid_wav_as_long_as_the_talk() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let location = audio_location(&sb, &token, &recording).await;
    assert!(
        location.starts_with(&format!("{}/", sb.storage_url())),
        "{location}"
    );
    assert_ne!(sb.storage_url(), sb.base_url());
    let bytes = audio(&sb, &token, &recording).await;
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u32_at(&bytes, 4) as usize, bytes.len() - 8);
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(u32_at(&bytes, 16), 16, "a PCM fmt chunk");
    assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 1, "PCM");
    assert_eq!(u16::from_le_bytes([bytes[22], bytes[23]]), 1, "mono");
    assert_eq!(u32_at(&bytes, 24), 8_000, "8 kHz");
    assert_eq!(u16::from_le_bytes([bytes[34], bytes[35]]), 8, "8-bit");
    assert_eq!(&bytes[36..40], b"data");
    let data = u32_at(&bytes, 40) as usize;
    assert_eq!(
        data,
        bytes.len() - 44,
        "the data chunk is the rest of the file"
    );
    // A 30 s call talks for most of its length after ringing.
    assert!((8_000 * 15..=8_000 * 30).contains(&data), "{data} bytes");
}

#[tokio::test]
async fn both_token_shapes_are_served_each_recording_its_own_or_as_asked() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    // Each recording its own shape (both occur: the crate's unit tests count them), always the same.
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let path = format!("/recording/v1/recordings/{recording}/content");
    let (status, body) = get(&sb, &token, &path).await;
    assert_eq!(status, 200, "{body}");
    let again = get(&sb, &token, &path).await.1;
    assert_eq!(
        keys(&body),
        keys(&again),
        "the same recording, the same shape"
    );
    assert_ne!(token_of(&body), token_of(&again), "a new token each time");
    sb.set_token_shape(Some(TokenShape::Documented));
    let documented = get(&sb, &token, &path).await.1;
    assert_eq!(keys(&documented), ["token", "expires"]);
    assert!(
        documented["expires"]
            .as_str()
            .is_some_and(|e| e.ends_with('Z'))
    );
    sb.set_token_shape(Some(TokenShape::Live));
    let live = get(&sb, &token, &path).await.1;
    assert_eq!(keys(&live), ["token", "status"]);
    assert_eq!(keys(&live["token"]), ["token", "expires"]);
    assert_eq!(live["status"], "UPLOADED");
    // Both tokens work.
    for body in [documented, live] {
        let url = format!("{}{path}/{}", sb.base_url(), token_of(&body));
        let resp = http()
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 302);
    }
}

#[tokio::test]
async fn content_is_400_until_the_recording_is_uploaded_then_a_token() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    sb.faults().recording_not_ready_for(Duration::from_secs(60));
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let path = format!("/recording/v1/recordings/{recording}/content");
    let (status, body) = get(&sb, &token, &path).await;
    assert_eq!(status, 400, "{body}");
    assert_goto_error(&body, "BAD_REQUEST");
    // The upload is done a minute after the call: content tokens from then on.
    sb.faults().recording_not_ready_for(Duration::ZERO);
    let (status, body) = get(&sb, &token, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(!token_of(&body).is_empty());
}

#[tokio::test]
async fn unknown_ids_are_404_in_goto_s_error_shape() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (report, recording, transcript_id, _) = recorded(&sb, &token).await;
    let call = report["conversationSpaceId"].as_str().expect("id");
    for id in [
        call,
        transcript_id.as_str(),
        "6f0e8a52-1b7c-4d2e-9a41-0c3b5d7e9f10",
    ] {
        let (status, body) = get(
            &sb,
            &token,
            &format!("/recording/v1/recordings/{id}/content"),
        )
        .await;
        assert_eq!(status, 404, "{id}: {body}");
        assert_goto_error(&body, "NOT_FOUND");
    }
    let (status, body) = get(&sb, &token, &format!("/recording/v1/transcriptions/{call}")).await;
    assert_eq!(status, 404);
    assert_goto_error(&body, "NOT_FOUND");
    let bad_token = format!("/recording/v1/recordings/{recording}/content/not-a-token");
    let (status, body) = get(&sb, &token, &bad_token).await;
    assert_eq!(status, 403);
    assert_goto_error(&body, "DOWNLOAD_TOKEN_INVALID");
}

#[tokio::test]
async fn the_recording_api_needs_its_scopes_and_the_bearer_token() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, transcript_id, _) = recorded(&sb, &token).await;
    let cer_only = sb
        .issue_token_with_scopes("cr.v1.read call-events.v1.notifications.manage", None)
        .expect("known scopes");
    for path in [
        format!("/recording/v1/recordings/{recording}/content"),
        format!("/recording/v1/transcriptions/{transcript_id}"),
        "/recording/v1/subscriptions".to_string(),
    ] {
        let (status, body) = get(&sb, &cer_only, &path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_goto_error(&body, "AUTHZ_INSUFFICIENT_SCOPE");
    }
    let read_only = sb
        .issue_token_with_scopes("recording.v1.read", None)
        .expect("known");
    assert_eq!(
        get(
            &sb,
            &read_only,
            &format!("/recording/v1/recordings/{recording}/content")
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(&sb, &read_only, "/recording/v1/subscriptions").await.0,
        403
    );
    // The token's URL without the bearer token: GoTo's 401.
    let (_, body) = get(
        &sb,
        &token,
        &format!("/recording/v1/recordings/{recording}/content"),
    )
    .await;
    let url = format!(
        "{}/recording/v1/recordings/{recording}/content/{}",
        sb.base_url(),
        token_of(&body)
    );
    let resp = http().get(url).send().await.expect("sent");
    assert_eq!(resp.status(), 401);
    assert_goto_error(&resp.json().await.expect("json"), "AUTHN_INVALID_TOKEN");
}

#[tokio::test]
async fn the_storage_host_refuses_and_records_a_bearer_token() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, _, _) = recorded(&sb, &token).await;
    let url = audio_location(&sb, &token, &recording).await;
    let resp = http()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap_or_default()
            .contains("<Code>InvalidArgument</Code>")
    );
    assert_eq!(fetch(&url).await.0, 200);
    let seen: Vec<(u16, bool)> = sb
        .storage_requests()
        .iter()
        .map(|r| (r.status, r.authorization))
        .collect();
    assert_eq!(seen, [(400, true), (200, false)]);
    assert!(
        sb.requests().iter().all(|r| !r.path.starts_with("/media/")),
        "a separate host"
    );
    // A URL whose signature was tampered with is refused.
    let tampered = url.replace("Signature=", "Signature=0");
    assert_eq!(fetch(&tampered).await.0, 403);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let config = SandboxConfig {
        call_every: Some(Duration::from_secs(30)),
        ..SandboxConfig::default()
    };
    let (a, b) = (start(config.clone()).await, start(config).await);
    let other = start(SandboxConfig {
        seed: 99,
        call_every: Some(Duration::from_secs(30)),
        ..SandboxConfig::default()
    })
    .await;
    for sb in [&a, &b, &other] {
        sb.set_recording_bytes(Some(40_000));
    }
    let (token_a, token_b) = (a.issue_token(None), b.issue_token(None));
    let (recording, transcript_id) = past_recording(&a, &token_a).await;
    let digest = |bytes: &[u8]| format!("{:x}", Sha256::digest(bytes));
    let audio_a = audio(&a, &token_a, &recording).await;
    assert_eq!(audio_a.len(), 40_044);
    assert_eq!(
        digest(&audio_a),
        digest(&audio(&b, &token_b, &recording).await)
    );
    let text_a = transcript(&a, &token_a, &transcript_id).await;
    assert_eq!(
        digest(&text_a),
        digest(&transcript(&b, &token_b, &transcript_id).await)
    );
    let (other_recording, _) = past_recording(&other, &other.issue_token(None)).await;
    assert_ne!(other_recording, recording);
    assert_ne!(
        digest(&audio(&other, &other.issue_token(None), &other_recording).await),
        digest(&audio_a)
    );
}

/// A recording and transcript id of a scheduled call that ended over an hour ago.
async fn past_recording(sb: &Sandbox, token: &str) -> (String, String) {
    let end = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let start = end - jiff::SignedDuration::from_hours(1);
    let path = format!(
        "/call-events-report/v1/report-summaries?accountKey={}&startTime={start:.3}&endTime={end:.3}&pageSize=200",
        sb.account_key()
    );
    let (status, page) = get(sb, token, &path).await;
    assert_eq!(status, 200, "{page}");
    for item in page["items"].as_array().expect("items") {
        let id = item["conversationSpaceId"].as_str().expect("id");
        let report = get(sb, token, &format!("/call-events-report/v1/reports/{id}"))
            .await
            .1;
        for p in report["participants"].as_array().expect("participants") {
            if let (Some(r), Some(t)) = (
                p["recordings"][0]["id"].as_str(),
                p["transcripts"][0]["id"].as_str(),
            ) {
                return (r.to_string(), t.to_string());
            }
        }
    }
    panic!("no recorded call in an hour of calls");
}

#[tokio::test]
async fn a_transcript_is_version_1_json_inside_the_recording_by_either_id() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (_, recording, transcript_id, _) = recorded(&sb, &token).await;
    let bytes = transcript(&sb, &token, &transcript_id).await;
    assert_eq!(
        bytes,
        transcript(&sb, &token, &recording).await,
        "the recording's id works too"
    );
    let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(keys(&doc), ["version", "results"]);
    assert_eq!(doc["version"], "1");
    let audio_ms = (audio(&sb, &token, &recording).await.len() as i64 - 44) / 8;
    let results = doc["results"].as_array().expect("results");
    assert!(results.len() >= 4, "{doc}");
    let mut channels = std::collections::BTreeSet::new();
    for r in results {
        assert_eq!(
            keys(r),
            [
                "type",
                "transcript",
                "final",
                "startTimeMs",
                "endTimeMs",
                "channel",
                "languageCode"
            ]
        );
        assert_eq!(r["type"], "utterances");
        let (from, to) = (
            r["startTimeMs"].as_i64().unwrap_or(-1),
            r["endTimeMs"].as_i64().unwrap_or(-1),
        );
        assert!(
            0 <= from && from < to && to <= audio_ms,
            "{r} outside {audio_ms} ms"
        );
        channels.insert(r["channel"].as_u64().unwrap_or(9));
    }
    assert_eq!(channels.into_iter().collect::<Vec<_>>(), [0, 1]);
}
