//! Recording subscriptions (create, 409, list with GoTo's capital-N `NextPageMarker`, delete)
//! and the RECORDING_UPLOADED / RECORDING_TRANSCRIPT_UPLOADED notifications they bring.

use std::time::Duration;

use cer_sandbox::{IdSpelling, Sandbox};
use serde_json::{Value, json};

use super::recordings::{at_once, recorded};
use super::support::{
    assert_goto_error, create_channel, get, http, keys, next_text, post_json, start,
};

const PATH: &str = "/recording/v1/subscriptions";

async fn subscribe(sb: &Sandbox, token: &str, channel: &str) -> (u16, Value) {
    let body = json!({
        "accountKey": sb.account_key(),
        "channelId": channel,
        "eventTypes": ["RECORDING_UPLOADED", "RECORDING_TRANSCRIPT_UPLOADED"],
    });
    post_json(sb, token, PATH, &body).await
}

async fn delete(sb: &Sandbox, token: &str, path: &str) -> u16 {
    let url = format!("{}{path}", sb.base_url());
    http()
        .delete(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn recording_subscriptions_are_created_once_listed_in_pages_and_deleted() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (first, _) = create_channel(&sb, &token, "one").await;
    let (second, _) = create_channel(&sb, &token, "two").await;
    let (status, created) = subscribe(&sb, &token, &first).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        keys(&created),
        ["id", "accountKey", "channelId", "timestamp", "eventTypes"]
    );
    assert_eq!(created["channelId"], first.as_str());
    let (status, body) = subscribe(&sb, &token, &first).await;
    assert_eq!(status, 409, "{body}");
    assert_goto_error(&body, "CONFLICT");
    let (status, body) = subscribe(&sb, &token, "no-such-channel").await;
    assert_eq!(status, 404);
    assert_goto_error(&body, "RTC-NOTIFICATION-CHANNEL-NOT-FOUND");
    assert_eq!(subscribe(&sb, &token, &second).await.0, 201);
    let views = sb.recording_subscriptions();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].id, created["id"].as_str().unwrap_or(""));
    assert!(
        sb.subscriptions().is_empty(),
        "apart from the reports' subscriptions"
    );

    let (status, all) = get(&sb, &token, PATH).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&all), ["items"], "no NextPageMarker on the last page");
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
    let (_, page) = get(&sb, &token, &format!("{PATH}?pageSize=1")).await;
    assert_eq!(keys(&page), ["NextPageMarker", "items"]);
    let marker = page["NextPageMarker"].as_str().expect("a marker");
    let (_, rest) = get(
        &sb,
        &token,
        &format!("{PATH}?pageSize=1&pageMarker={marker}"),
    )
    .await;
    assert_eq!(rest["items"][0]["channelId"], second.as_str());
    assert_eq!(
        get(&sb, &token, &format!("{PATH}?pageSize=101")).await.0,
        400
    );

    let id = created["id"].as_str().expect("id");
    assert_eq!(delete(&sb, &token, &format!("{PATH}/{id}")).await, 204);
    assert_eq!(delete(&sb, &token, &format!("{PATH}/{id}")).await, 404);
    // Deleting the channel takes its recording subscription with it.
    assert_eq!(
        delete(
            &sb,
            &token,
            &format!("/notification-channel/v1/channels/two/{second}")
        )
        .await,
        204
    );
    assert_eq!(get(&sb, &token, PATH).await.1["items"], json!([]));
}

/// The next recording notification's (type, id, whether the id was snake_case).
async fn next_recording_event(ws: &mut super::support::Ws) -> (String, String, bool) {
    let frame = next_text(ws, Duration::from_secs(3))
        .await
        .expect("a notification");
    let data = &frame["data"];
    assert_eq!(data["source"], "recording-service", "{frame}");
    let content = &data["content"];
    let (id, snake) = match (
        content["recordingId"].as_str(),
        content["recording_id"].as_str(),
    ) {
        (Some(id), None) => (id, false),
        (None, Some(id)) => (id, true),
        _ => panic!("one spelling of the id: {frame}"),
    };
    (
        data["type"].as_str().unwrap_or("").to_string(),
        id.to_string(),
        snake,
    )
}

#[tokio::test]
async fn a_recorded_call_is_announced_on_the_channel_s_websocket() {
    let sb = start(at_once()).await;
    let token = sb.issue_token(None);
    let (channel, url) = create_channel(&sb, &token, "demo").await;
    assert_eq!(subscribe(&sb, &token, &channel).await.0, 201);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws connects");
    sb.set_id_spelling(Some(IdSpelling::Snake));
    let (_, recording, transcript_id, _) = recorded(&sb, &token).await;
    let first = next_recording_event(&mut ws).await;
    assert_eq!(
        first,
        ("RECORDING_UPLOADED".to_string(), recording.clone(), true)
    );
    let mut last = next_recording_event(&mut ws).await;
    if last.0 == "RECORDING_UPLOADED" {
        // A second device's recording: another id, which the report does not list.
        assert_ne!(last.1, recording);
        last = next_recording_event(&mut ws).await;
    }
    assert_eq!(
        last,
        (
            "RECORDING_TRANSCRIPT_UPLOADED".to_string(),
            transcript_id,
            true
        )
    );
    sb.set_id_spelling(Some(IdSpelling::Camel));
    let (_, recording, _, _) = recorded(&sb, &token).await;
    assert_eq!(
        next_recording_event(&mut ws).await,
        ("RECORDING_UPLOADED".to_string(), recording, false)
    );
}
