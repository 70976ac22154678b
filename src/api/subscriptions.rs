//! Call Events Report subscriptions: which accounts' finished calls GoTo announces on a channel.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{ApiClient, ApiRequest};
use super::error::ApiError;

const SUBSCRIPTIONS: &str = "/call-events-report/v1/subscriptions";

/// Subscribes the channel to the calls of each account key. GoTo answers 201 (or 207 when
/// items differ); every key must come back as an item, or the subscription is incomplete.
pub async fn create(
    client: &ApiClient,
    channel_id: &str,
    account_keys: &[String],
    event_types: &[String],
) -> Result<(), ApiError> {
    let request = ApiRequest::new(Method::POST, SUBSCRIPTIONS).json(json!({
        "channelId": channel_id,
        "accountKeys": account_keys,
        "eventTypes": event_types,
    }));
    let response = client.send(&request).await?;
    // The items are how GoTo reports each account; an answer without them (an empty 2xx)
    // gives nothing to check, and the success status stands.
    let Some(subscribed) = response.json().ok().as_ref().and_then(subscribed_keys) else {
        return Ok(());
    };
    match account_keys.iter().find(|key| !subscribed.contains(key)) {
        Some(missing) => Err(ApiError::Rejected {
            status: response.status.as_u16(),
            message: format!("GoTo did not subscribe account {missing}"),
        }),
        None => Ok(()),
    }
}

/// The account keys the channel is subscribed to now, as GoTo reports them.
pub async fn account_keys(client: &ApiClient, channel_id: &str) -> Result<Vec<String>, ApiError> {
    let request = ApiRequest::get(SUBSCRIPTIONS).query("channelId", channel_id);
    let body = client.send_json(&request).await?;
    Ok(body
        .get("accountKeys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

/// Deletes the channel's subscription for one account. Already gone is fine.
pub async fn delete(
    client: &ApiClient,
    channel_id: &str,
    account_key: &str,
) -> Result<(), ApiError> {
    let request = ApiRequest::new(Method::DELETE, SUBSCRIPTIONS)
        .query("channelId", channel_id)
        .query("accountKey", account_key);
    match client.send(&request).await {
        Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

/// The account keys a creation answer lists as subscribed; `None` when it lists no items.
fn subscribed_keys(body: &Value) -> Option<Vec<String>> {
    body.get("items").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter(|item| item.get("error").is_none())
            .filter_map(|item| item.get("value").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_of_the_guides_answer() {
        let body = json!({"items": [{"id": "e0d1", "channelId": "c", "value": "7507522985186226043", "eventTypes": ["REPORT_SUMMARY"]}]});
        assert_eq!(
            subscribed_keys(&body),
            Some(vec!["7507522985186226043".to_string()])
        );
        assert_eq!(subscribed_keys(&json!({})), None);
    }
}
