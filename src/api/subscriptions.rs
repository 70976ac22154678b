//! Call Events Report subscriptions: which accounts' finished calls GoTo announces on a channel;
//! and the Recording API's, for the recordings and transcripts uploaded (`listen --archive`).

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{ApiClient, ApiRequest};
use crate::net::ApiError;

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
    let Some(answer) = response.json().ok().as_ref().and_then(read_answer) else {
        return Ok(());
    };
    let status = response.status.as_u16();
    if let Some((key, why)) = answer.refused.first() {
        return Err(ApiError::Rejected {
            status,
            message: format!("GoTo refused to subscribe account {key}: {why}"),
        });
    }
    let missing = account_keys
        .iter()
        .find(|key| !answer.subscribed.contains(key));
    match (missing, answer.unknown) {
        (None, 0) => Ok(()),
        (None, unknown) => {
            tracing::warn!(
                "GoTo's subscription answer has {unknown} item(s) of a shape cer does not know"
            );
            Ok(())
        }
        (Some(missing), 0) => Err(ApiError::Rejected {
            status,
            message: format!("GoTo did not subscribe account {missing}"),
        }),
        (Some(missing), unknown) => {
            tracing::warn!(
                "GoTo's subscription answer does not name account {missing} and has {unknown} item(s) of a \
                    shape cer does not know; assuming it is subscribed, the subscription check will tell"
            );
            Ok(())
        }
    }
}

/// The account keys the channel is subscribed to now, as GoTo reports them; `None` when the
/// answer has no `accountKeys` list (nothing to compare, so nothing to act on).
pub async fn account_keys(
    client: &ApiClient,
    channel_id: &str,
) -> Result<Option<Vec<String>>, ApiError> {
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
        }))
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

const RECORDING_SUBSCRIPTIONS: &str = "/recording/v1/subscriptions";

/// The Recording API's event types `listen --archive` subscribes to.
pub const RECORDING_EVENTS: [&str; 2] = ["RECORDING_UPLOADED", "RECORDING_TRANSCRIPT_UPLOADED"];

/// Subscribes the channel to an account's uploaded recordings and transcripts; one that
/// exists already (409) is fine.
pub async fn create_recording(
    client: &ApiClient,
    channel_id: &str,
    account_key: &str,
) -> Result<(), ApiError> {
    let request = ApiRequest::new(Method::POST, RECORDING_SUBSCRIPTIONS).json(json!({
        "accountKey": account_key,
        "channelId": channel_id,
        "eventTypes": RECORDING_EVENTS,
    }));
    match client.send(&request).await {
        Ok(_) | Err(ApiError::Rejected { status: 409, .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Deletes the channel's recording subscriptions: GoTo deletes them by their ids, which its
/// list gives (a few pages at most; what is left expires with the channel).
pub async fn delete_recording(client: &ApiClient, channel_id: &str) -> Result<(), ApiError> {
    let mut marker: Option<String> = None;
    for _ in 0..20 {
        let mut request = ApiRequest::get(RECORDING_SUBSCRIPTIONS).query("pageSize", "100");
        if let Some(marker) = &marker {
            request = request.query("pageMarker", marker.clone());
        }
        let page = client.send_json(&request).await?;
        let items = page.get("items").and_then(Value::as_array);
        let ours = items
            .into_iter()
            .flatten()
            .filter(|item| item.get("channelId").and_then(Value::as_str) == Some(channel_id));
        for item in ours {
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            // An id from GoTo becomes part of a path only when it is a plain ID.
            let Ok(id) = super::recordings::MediaId::parse(id) else {
                continue;
            };
            let path = format!("{RECORDING_SUBSCRIPTIONS}/{id}");
            match client.send(&ApiRequest::new(Method::DELETE, path)).await {
                Ok(_) | Err(ApiError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        marker = page
            .get("NextPageMarker")
            .or_else(|| page.get("nextPageMarker"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(())
}

/// What a creation answer says about each account key.
#[derive(Debug, Default, PartialEq)]
struct Answer {
    subscribed: Vec<String>,
    /// Refused keys, with GoTo's reason.
    refused: Vec<(String, String)>,
    /// Items of a shape cer does not know.
    unknown: usize,
}

/// Reads both shapes GoTo uses: the guide's `items[].value` (an `error` marks a refusal) and
/// the Call Events API's 207 items with a `status` and `message` per account key. `None`
/// when the answer lists no items.
fn read_answer(body: &Value) -> Option<Answer> {
    let items = body.get("items").and_then(Value::as_array)?;
    let mut answer = Answer::default();
    for item in items {
        let text = |name: &str| item.get(name).and_then(Value::as_str);
        let key = text("value")
            .or_else(|| text("accountKey"))
            .or_else(|| text("id").filter(|_| item.get("status").is_some()));
        let status = item.get("status").and_then(|s| {
            s.as_u64()
                .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
        });
        let error = item.get("error");
        match (key, status, error) {
            (Some(key), _, Some(error)) => answer.refused.push((key.to_string(), describe(error))),
            (Some(key), Some(status), None) if status >= 400 => {
                let why =
                    text("message").map_or_else(|| format!("status {status}"), str::to_string);
                answer.refused.push((key.to_string(), why));
            }
            (Some(key), _, None) => answer.subscribed.push(key.to_string()),
            (None, _, _) => answer.unknown += 1,
        }
    }
    Some(answer)
}

fn describe(error: &Value) -> String {
    match error {
        Value::String(text) => text.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| other.to_string(), str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_of_the_guides_answer() {
        let body = json!({"items": [{
            "id": "e0d1",
            "channelId": "c",
            "value": "7507522985186226043",
            "eventTypes": ["REPORT_SUMMARY"]
        }]});
        let answer = read_answer(&body).unwrap();
        assert_eq!(answer.subscribed, vec!["7507522985186226043".to_string()]);
        assert_eq!(read_answer(&json!({})), None);
    }

    // Regression: the Call Events API's 207 shape (a status per key) was not understood, so a
    // refused key passed as subscribed or an unknown item as silent success.
    #[test]
    fn reads_207_items_with_a_status_per_key() {
        let body = json!({"items": [
            {"accountKey": "1", "status": 201, "message": "Created"},
            {"accountKey": "2", "status": 403, "message": "not an admin"},
            {"something": "else"}
        ]});
        let answer = read_answer(&body).unwrap();
        assert_eq!(answer.subscribed, vec!["1".to_string()]);
        assert_eq!(
            answer.refused,
            vec![("2".to_string(), "not an admin".to_string())]
        );
        assert_eq!(answer.unknown, 1);
    }

    #[test]
    fn an_item_with_an_error_is_a_refusal() {
        let body = json!({"items": [{"value": "1", "error": {"message": "no such account"}}]});
        let answer = read_answer(&body).unwrap();
        assert_eq!(
            answer.refused,
            vec![("1".to_string(), "no such account".to_string())]
        );
    }
}
