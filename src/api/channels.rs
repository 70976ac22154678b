//! The Notification Channel API: the WebSocket channel GoTo pushes notifications through.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{ApiClient, ApiRequest};
use crate::net::ApiError;

const CHANNELS: &str = "/notification-channel/v1/channels";

/// A channel as cer needs it; GoTo's answer carries more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub nickname: String,
    pub id: String,
    pub url: String,
    /// Seconds until GoTo forgets the channel unless it is refreshed.
    pub lifetime_secs: Option<u64>,
    /// The `channelType` spelling GoTo accepted, sent again on refresh.
    pub channel_type: &'static str,
}

/// The channel type as GoTo's guide and its Call Events Report demo send it, then the spelling
/// GoTo answers with and its screen-pop demo sends; public material shows both accepted.
const CHANNEL_TYPES: [&str; 2] = ["WebSocket", "WebSockets"];

/// Creates a WebSocket channel. Not retried on 5xx: a repeat could leave a second channel.
/// A 400 is tried once more with the other spelling of the channel type.
pub async fn create(client: &ApiClient, nickname: &str) -> Result<Channel, ApiError> {
    let [preferred, other] = CHANNEL_TYPES;
    match create_as(client, nickname, preferred).await {
        Err(ApiError::Rejected { status: 400, .. }) => {
            tracing::debug!("GoTo refused channelType {preferred:?}; trying the other spelling");
            create_as(client, nickname, other).await
        }
        created => created,
    }
}

async fn create_as(
    client: &ApiClient,
    nickname: &str,
    channel_type: &'static str,
) -> Result<Channel, ApiError> {
    let request = ApiRequest::new(Method::POST, format!("{CHANNELS}/{nickname}"))
        .json(json!({ "channelType": channel_type }));
    let body = client.send_json(&request).await?;
    channel_of(nickname, channel_type, &body)
}

/// Renews the channel's lifetime; GoTo asks for it with `WEBSOCKET_REFRESH_REQUIRED`.
/// Returns the new lifetime when GoTo states one.
pub async fn refresh(client: &ApiClient, channel: &Channel) -> Result<Option<u64>, ApiError> {
    let request = ApiRequest::new(Method::PUT, path(channel))
        .json(json!({ "channelType": channel.channel_type }));
    let response = client.send(&request).await?;
    Ok(response.json().ok().and_then(|body| lifetime(&body)))
}

/// Deletes the channel (and with it its subscriptions). A channel already gone is fine.
pub async fn delete(client: &ApiClient, channel: &Channel) -> Result<(), ApiError> {
    match client
        .send(&ApiRequest::new(Method::DELETE, path(channel)))
        .await
    {
        Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

fn path(channel: &Channel) -> String {
    format!("{CHANNELS}/{}/{}", channel.nickname, channel.id)
}

fn channel_of(
    nickname: &str,
    channel_type: &'static str,
    body: &Value,
) -> Result<Channel, ApiError> {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str);
    let (Some(id), Some(url)) = (text("/channelId"), text("/channelData/channelURL")) else {
        return Err(ApiError::InvalidBody(
            "the new channel has no channelId or channelData.channelURL".into(),
        ));
    };
    Ok(Channel {
        nickname: nickname.to_string(),
        id: id.to_string(),
        url: url.to_string(),
        lifetime_secs: lifetime(body),
        channel_type,
    })
}

fn lifetime(body: &Value) -> Option<u64> {
    body.get("channelLifetime").and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_guides_channel_answer() {
        let body = json!({
            "channelId": "0XbOBiat",
            "channelData": {"channelType": "WebSockets", "channelURL": "wss://webrtc.jive.com/x/ws"}
        });
        let channel = channel_of("demo", "WebSocket", &body).unwrap();
        assert_eq!(channel.id, "0XbOBiat");
        assert_eq!(channel.url, "wss://webrtc.jive.com/x/ws");
        assert_eq!(channel.lifetime_secs, None);
        assert!(channel_of("demo", "WebSocket", &json!({"channelId": "x"})).is_err());
    }
}
