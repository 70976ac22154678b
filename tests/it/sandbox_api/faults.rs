//! One test per fault, with short durations.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::support::{
    assert_goto_error, ending, get, http, listening, next_text, quiet, recent_window, start,
};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(3);

#[tokio::test]
async fn report_not_ready_then_ready() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    sb.faults().report_not_ready_for(Duration::from_millis(500));
    let call = sb.place_call();
    let path = format!(
        "/call-events-report/v1/reports/{}",
        call.conversation_space_id
    );
    let (status, body) = get(&sb, &token, &path).await;
    assert_eq!(status, 404);
    assert_goto_error(&body, "NOT_FOUND");
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(get(&sb, &token, &path).await.0, 200);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    sb.faults().rate_limit_next(2, Duration::from_secs(1));
    let url = format!("{}{}", sb.base_url(), recent_window(&sb, 5));
    for _ in 0..2 {
        let resp = http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        assert_goto_error(&resp.json().await.expect("json"), "TOO_MANY_REQUESTS");
    }
    assert_eq!(
        http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
}

#[tokio::test]
async fn fail_next_and_path_prefixes() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let window = recent_window(&sb, 5);
    sb.faults().fail_next(1, 503);
    let (status, body) = get(&sb, &token, &window).await;
    assert_eq!(status, 503);
    assert_eq!(body["errorCode"], "SANDBOX_FAULT");

    sb.faults().fail_next_on("/oauth/token", 1, 500);
    assert_eq!(
        get(&sb, &token, &window).await.0,
        200,
        "other paths unaffected"
    );
    let resp = http()
        .post(format!("{}/oauth/token", sb.base_url()))
        .basic_auth(sb.client_id(), Some(sb.client_secret()))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn garbage_and_truncated_bodies() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    sb.place_call();
    let url = format!("{}{}", sb.base_url(), recent_window(&sb, 5));
    sb.faults().garbage_next(1);
    let resp = http()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    sb.faults()
        .truncated_next_on("/call-events-report/v1/report-summaries", 1);
    let resp = http()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    assert!(
        text.starts_with('{') && serde_json::from_str::<Value>(&text).is_err(),
        "{text}"
    );
    let resp = http()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert!(
        resp.json::<Value>().await.is_ok(),
        "only the next request is spoiled"
    );
}

#[tokio::test]
async fn drop_websockets_ends_sockets_without_close_frame() {
    let sb = start(quiet()).await;
    let (_, mut ws) = listening(&sb, &sb.issue_token(None)).await;
    sb.faults().drop_websockets();
    assert_eq!(ending(&mut ws, LONG).await, Some(false));
}

#[tokio::test]
async fn stalled_sockets_answer_no_pong_and_lose_notifications() {
    let sb = start(quiet()).await;
    let (_, mut ws) = listening(&sb, &sb.issue_token(None)).await;
    sb.faults().stall_websockets(Duration::from_millis(500));
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws.send(Message::Ping("p1".into()))
        .await
        .expect("ping sent");
    sb.place_call();
    let early = tokio::time::timeout(SHORT, ws.next()).await;
    assert!(early.is_err(), "nothing while stalled: {early:?}");
    let pong = tokio::time::timeout(LONG, ws.next())
        .await
        .expect("pong after the stall")
        .expect("open")
        .expect("ok");
    assert_eq!(pong, Message::Pong("p1".into()));
    assert_eq!(
        next_text(&mut ws, SHORT).await,
        None,
        "the call ended during the stall is lost"
    );
}

#[tokio::test]
async fn refresh_required_and_to_be_closed_frames() {
    let config = cer_sandbox::SandboxConfig {
        to_be_closed_grace: Duration::from_millis(300),
        ..quiet()
    };
    let sb = start(config).await;
    let token = sb.issue_token(None);
    let (channel_id, mut old) = listening(&sb, &token).await;
    sb.faults().send_refresh_required();
    let frame = next_text(&mut old, LONG).await.expect("frame");
    assert_eq!(frame["data"]["type"], "WEBSOCKET_REFRESH_REQUIRED");

    sb.faults().send_to_be_closed();
    let frame = next_text(&mut old, LONG).await.expect("frame");
    assert_eq!(
        frame["data"],
        json!({ "source": "notification-websocket", "type": "WEBSOCKET_TO_BE_CLOSED", "content": {} })
    );
    // The channel retires with its sockets (GoTo's guide: a new channel may be needed), so
    // even a socket opened on it meanwhile ends: the client must make a new channel.
    let url = format!(
        "ws://127.0.0.1:{}/notification-channel-ws/v1/channels/demo/{channel_id}/ws",
        sb.port()
    );
    let (mut same_channel, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connects during the grace");
    assert_eq!(ending(&mut old, LONG).await, Some(true));
    assert!(ending(&mut same_channel, LONG).await.is_some());
    assert!(sb.channels().is_empty(), "the old channel retired");
}

#[tokio::test]
async fn expire_channels_and_delete_subscriptions() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (channel_id, mut ws) = listening(&sb, &token).await;
    sb.faults().delete_subscriptions();
    assert!(sb.subscriptions().is_empty());
    assert_eq!(sb.channels().len(), 1);
    sb.place_call();
    assert_eq!(next_text(&mut ws, SHORT).await, None);

    super::support::subscribe(&sb, &token, &channel_id).await;
    sb.faults().expire_channels();
    assert_eq!(ending(&mut ws, LONG).await, Some(true));
    assert!(sb.channels().is_empty() && sb.subscriptions().is_empty());
    let url = format!(
        "{}/notification-channel/v1/channels/demo/{channel_id}",
        sb.base_url()
    );
    let resp = http()
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 404);
    assert_goto_error(
        &resp.json().await.expect("json"),
        "RTC-NOTIFICATION-CHANNEL-NOT-FOUND",
    );
}

#[tokio::test]
async fn expired_tokens_are_401_until_a_new_one() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let window = recent_window(&sb, 5);
    sb.faults().expire_tokens();
    let (status, body) = get(&sb, &token, &window).await;
    assert_eq!(status, 401);
    assert_goto_error(&body, "AUTHN_EXPIRED_TOKEN");
    assert_eq!(get(&sb, &sb.issue_token(None), &window).await.0, 200);
}

#[tokio::test]
async fn malformed_frames() {
    let sb = start(quiet()).await;
    let (_, mut ws) = listening(&sb, &sb.issue_token(None)).await;
    sb.faults().send_malformed_frame();
    let first = next_text(&mut ws, LONG).await.expect("frame");
    assert!(first.is_string(), "not JSON: {first}");
    let second = next_text(&mut ws, LONG).await.expect("frame");
    assert_eq!(second["event"], "Notification");
    assert_ne!(second["data"]["source"], "call-events-report");
    assert_ne!(second["data"]["source"], "notification-websocket");
}

#[tokio::test]
async fn a_rate_limit_refuses_what_exceeds_one_seconds_worth_until_lifted() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    sb.faults().limit_rate(Some(3));
    let url = format!("{}{}", sb.base_url(), recent_window(&sb, 5));
    // One client: building one per request takes long enough on a loaded machine for the
    // bucket to refill between requests.
    let client = http();
    let get = || async {
        client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
    };
    for _ in 0..3 {
        assert_eq!(get().await.status(), 200);
    }
    let refused = get().await;
    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    sb.faults().limit_rate(None);
    assert_eq!(get().await.status(), 200);
}
