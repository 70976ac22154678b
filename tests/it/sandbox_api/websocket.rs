//! The channel WebSocket: REPORT_SUMMARY frames for subscribed channels, ping/pong, several
//! sockets per channel, missed calls while disconnected, and channel lifetime.

use std::time::Duration;

use cer_sandbox::SandboxConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::support::{
    create_channel, ending, get, keys, listening, next_text, post_json, quiet, start,
};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(3);

#[tokio::test]
async fn placed_call_arrives_as_report_summary_frame() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (channel_id, mut ws) = listening(&sb, &token).await;
    assert_eq!(sb.channels()[0].connected_sockets, 1);
    let placed = sb.place_call();
    let frame = next_text(&mut ws, LONG).await.expect("a frame");
    assert_eq!(keys(&frame), ["event", "eventId", "timestamp", "data"]);
    assert_eq!(frame["event"], "Notification");
    assert_eq!(
        keys(&frame["data"]),
        [
            "source",
            "type",
            "timestamp",
            "content",
            "bypassDoNotDisturb"
        ]
    );
    assert_eq!(frame["data"]["source"], "call-events-report");
    assert_eq!(frame["data"]["type"], "REPORT_SUMMARY");
    assert_eq!(
        frame["data"]["content"],
        json!({ "conversationSpaceId": placed.conversation_space_id })
    );
    let id = &placed.conversation_space_id;
    let (status, report) = get(&sb, &token, &format!("/call-events-report/v1/reports/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(report["callEnded"], format!("{:.3}", placed.call_ended));

    // A second socket on the same channel gets the next call too.
    let url = format!(
        "ws://127.0.0.1:{}/notification-channel-ws/v1/channels/demo/{channel_id}/ws",
        sb.port()
    );
    let (mut second, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("second socket");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let placed = sb.place_call_lasting(Duration::from_secs(90));
    for socket in [&mut ws, &mut second] {
        let frame = next_text(socket, LONG).await.expect("a frame");
        assert_eq!(
            frame["data"]["content"]["conversationSpaceId"],
            placed.conversation_space_id.as_str()
        );
    }
    assert_eq!((placed.call_ended - placed.call_created).as_secs(), 90);
}

#[tokio::test]
async fn scheduled_calls_are_announced_when_they_end() {
    let config = SandboxConfig {
        call_every: Some(Duration::from_millis(100)),
        ..SandboxConfig::default()
    };
    let sb = start(config).await;
    let token = sb.issue_token(None);
    let (_, mut ws) = listening(&sb, &token).await;
    let frame = next_text(&mut ws, LONG)
        .await
        .expect("a scheduled call ends within seconds");
    let id = frame["data"]["content"]["conversationSpaceId"]
        .as_str()
        .expect("id");
    let (status, report) = get(&sb, &token, &format!("/call-events-report/v1/reports/{id}")).await;
    assert_eq!(status, 200, "{report}");
    let ended: jiff::Timestamp = report["callEnded"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("callEnded");
    assert!((jiff::Timestamp::now() - ended).as_secs() < 5);
}

#[tokio::test]
async fn pings_get_pongs_echoing_the_payload() {
    let sb = start(quiet()).await;
    let (_, mut ws) = listening(&sb, &sb.issue_token(None)).await;
    ws.send(Message::Ping(r#"{"sequence":1}"#.into()))
        .await
        .expect("ping sent");
    let pong = tokio::time::timeout(LONG, ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("ok");
    assert_eq!(pong, Message::Pong(r#"{"sequence":1}"#.into()));
}

#[tokio::test]
async fn nothing_is_delivered_without_a_socket_or_without_report_summary() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (id, url) = create_channel(&sb, &token, "demo").await;
    super::support::subscribe(&sb, &token, &id).await;
    sb.place_call();
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connects");
    assert_eq!(
        next_text(&mut ws, SHORT).await,
        None,
        "a call ending while disconnected is not replayed"
    );

    let (legacy_id, legacy_url) = create_channel(&sb, &token, "legacy").await;
    let body = json!({ "channelId": legacy_id, "accountKeys": [sb.account_key()] });
    assert_eq!(
        post_json(&sb, &token, "/call-events-report/v1/subscriptions", &body)
            .await
            .0,
        201
    );
    let (mut legacy, _) = tokio_tungstenite::connect_async(legacy_url.as_str())
        .await
        .expect("connects");
    tokio::time::sleep(Duration::from_millis(50)).await;
    sb.place_call();
    assert!(next_text(&mut ws, LONG).await.is_some());
    assert_eq!(
        next_text(&mut legacy, SHORT).await,
        None,
        "LEGACY subscriptions get no REPORT_SUMMARY"
    );
}

#[tokio::test]
async fn unknown_channel_socket_is_404() {
    let sb = start(quiet()).await;
    let url = format!(
        "ws://127.0.0.1:{}/notification-channel-ws/v1/channels/demo/nope/ws",
        sb.port()
    );
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 404);
        }
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[tokio::test]
async fn short_lived_channel_asks_for_refresh_then_expires() {
    let config = SandboxConfig {
        channel_lifetime: Duration::from_millis(600),
        ..quiet()
    };
    let sb = start(config).await;
    let token = sb.issue_token(None);
    let (id, mut ws) = listening(&sb, &token).await;
    let frame = next_text(&mut ws, Duration::from_millis(550))
        .await
        .expect("refresh required at half-life");
    assert_eq!(frame["data"]["source"], "notification-websocket");
    assert_eq!(frame["data"]["type"], "WEBSOCKET_REFRESH_REQUIRED");
    assert_eq!(frame["data"]["content"], json!({}));
    assert_eq!(
        ending(&mut ws, LONG).await,
        Some(true),
        "closed at end of life"
    );
    assert!(sb.channels().is_empty());
    assert!(sb.subscriptions().is_empty());
    let url = format!(
        "{}/notification-channel/v1/channels/demo/{id}",
        sb.base_url()
    );
    let resp = super::support::http()
        .put(url)
        .bearer_auth(&token)
        .json(&json!({ "channelType": "WebSockets" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn refreshing_keeps_a_channel_alive() {
    let config = SandboxConfig {
        channel_lifetime: Duration::from_millis(700),
        ..quiet()
    };
    let sb = start(config).await;
    let token = sb.issue_token(None);
    let (id, mut ws) = listening(&sb, &token).await;
    let url = format!(
        "{}/notification-channel/v1/channels/demo/{id}",
        sb.base_url()
    );
    // Four refreshes outlive one lifetime.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let resp = super::support::http()
            .put(&url)
            .bearer_auth(&token)
            .json(&json!({ "channelType": "WebSocket" }))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(sb.channels().len(), 1);
    sb.place_call();
    loop {
        let frame = next_text(&mut ws, LONG)
            .await
            .expect("the socket is still open");
        if frame["data"]["type"] == "REPORT_SUMMARY" {
            break;
        }
    }
}
