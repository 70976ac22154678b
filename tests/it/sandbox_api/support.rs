//! Shared helpers for the sandbox tests: starting a quiet sandbox, authenticated requests,
//! key-order checks and WebSocket reads with short timeouts.

use std::time::Duration;

use cer_sandbox::{Sandbox, SandboxConfig};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A config with no scheduled calls: tests place the calls they need.
pub fn quiet() -> SandboxConfig {
    SandboxConfig {
        call_every: None,
        ..SandboxConfig::default()
    }
}

pub async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A client that does not follow redirects (the authorize endpoint answers 302). It installs
/// cer's one rustls provider first, as the harness does: run alone, these tests start no
/// harness, and reqwest built without a provider of its own panics without one.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// GET with a Bearer token; returns the status and the JSON body (Null when not JSON).
pub async fn get(sb: &Sandbox, token: &str, path_and_query: &str) -> (u16, Value) {
    let resp = http()
        .get(format!("{}{path_and_query}", sb.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// POST a JSON body with a Bearer token.
pub async fn post_json(sb: &Sandbox, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}{path}", sb.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Asserts a GoTo REST error body with this errorCode.
pub fn assert_goto_error(body: &Value, code: &str) {
    assert_eq!(
        keys(body),
        ["reference", "constraintViolations", "errorCode", "message"],
        "{body}"
    );
    assert_eq!(body["errorCode"], code, "{body}");
}

/// Creates a WebSocket channel named `nick`; returns (channelId, channelURL).
pub async fn create_channel(sb: &Sandbox, token: &str, nick: &str) -> (String, String) {
    let body = serde_json::json!({ "channelType": "WebSockets" });
    let (status, channel) = post_json(
        sb,
        token,
        &format!("/notification-channel/v1/channels/{nick}"),
        &body,
    )
    .await;
    assert_eq!(status, 201, "{channel}");
    let id = channel["channelId"]
        .as_str()
        .expect("channelId")
        .to_string();
    let url = channel["channelData"]["channelURL"]
        .as_str()
        .expect("channelURL")
        .to_string();
    (id, url)
}

/// Subscribes a channel to the sandbox account's REPORT_SUMMARY events.
pub async fn subscribe(sb: &Sandbox, token: &str, channel_id: &str) {
    let body = serde_json::json!({
        "channelId": channel_id,
        "accountKeys": [sb.account_key()],
        "eventTypes": ["REPORT_SUMMARY"],
    });
    let (status, answer) =
        post_json(sb, token, "/call-events-report/v1/subscriptions", &body).await;
    assert_eq!(status, 201, "{answer}");
}

/// Channel, subscription and a connected socket: the state `cer listen` reaches.
pub async fn listening(sb: &Sandbox, token: &str) -> (String, Ws) {
    let (id, url) = create_channel(sb, token, "demo").await;
    subscribe(sb, token, &id).await;
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws connects");
    (id, ws)
}

/// The next text frame as JSON (text that is not JSON comes back as a JSON string), or None
/// when nothing arrives in time or the socket ends.
pub async fn next_text(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        match msg.ok()? {
            Message::Text(t) => {
                return Some(serde_json::from_str(&t).unwrap_or(Value::String(t.to_string())));
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// How the socket ended: `Some(true)` with a close frame, `Some(false)` without one (dropped),
/// `None` if it is still open after `within`. Text frames before the end are skipped.
pub async fn ending(ws: &mut Ws, within: Duration) -> Option<bool> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(_)))) => return Some(true),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) => return Some(false),
        }
    }
}

/// The report-summaries query of the last `minutes` for the sandbox account.
pub fn recent_window(sb: &Sandbox, minutes: i64) -> String {
    let now = jiff::Timestamp::now();
    let start = now - jiff::SignedDuration::from_mins(minutes);
    let end = now + jiff::SignedDuration::from_secs(1);
    format!(
        "/call-events-report/v1/report-summaries?accountKey={}&startTime={start:.3}&endTime={end:.3}",
        sb.account_key(),
    )
}
