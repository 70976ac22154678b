//! The guide's REST calls (channel, subscription, report summaries, report) answer payloads
//! shaped like GoTo's examples, and wrong requests get GoTo's errors.

use cer_sandbox::Sandbox;
use serde_json::{Value, json};

use super::support::{
    assert_goto_error, create_channel, get, http, keys, post_json, quiet, recent_window, start,
};

const SUMMARY_KEYS: [&str; 10] = [
    "conversationSpaceId",
    "accountKey",
    "callCreated",
    "callAnswered",
    "callEnded",
    "callInitiator",
    "direction",
    "caller",
    "callerOutcome",
    "participants",
];

const REPORT_KEYS: [&str; 11] = [
    "conversationSpaceId",
    "callCreated",
    "callEnded",
    "callInitiator",
    "direction",
    "accountKey",
    "participants",
    "interactiveVoiceResponseSystems",
    "associatedConversations",
    "hangupOriginatorId",
    "callStates",
];

/// A summary has the fixture's keys in order; callAnswered only when answered.
pub fn assert_summary_shape(item: &Value) {
    let expected: Vec<&str> = SUMMARY_KEYS
        .into_iter()
        .filter(|k| *k != "callAnswered" || item.get("callAnswered").is_some())
        .collect();
    assert_eq!(keys(item), expected, "{item}");
    assert_eq!(keys(&item["caller"]), ["name", "number", "legId", "type"]);
    for p in item["participants"].as_array().expect("participants") {
        assert_eq!(keys(p), ["name", "number", "legId", "type"]);
        let t = &p["type"];
        match t["value"].as_str() {
            Some("LINE") => assert_eq!(keys(t), ["value", "lineId", "userId", "userKey"]),
            Some("PHONE_NUMBER") => assert_eq!(
                keys(t),
                ["value", "phoneNumberId", "number", "name", "callProvider"]
            ),
            other => panic!("unexpected participant type {other:?}"),
        }
    }
    if item["callerOutcome"] == "MISSED" {
        assert!(item.get("callAnswered").is_none());
    }
}

/// What post-call analysis may have added after the fixture's keys, in the order it adds them.
const LATE_KEYS: [&[&str]; 3] = [
    &[],
    &["callReason", "aiAnalysis"],
    &["callReason", "aiAnalysis", "actions"],
];

/// A report has the fixture's top-level keys in order (then what post-call analysis added, on
/// answered calls only) and agrees with its summary.
pub fn assert_report_matches(report: &Value, summary: &Value) {
    let all = keys(report);
    let split = REPORT_KEYS.len().min(all.len());
    assert_eq!(all[..split], REPORT_KEYS, "{report}");
    let late = &all[split..];
    let outcome = summary["callerOutcome"].as_str().unwrap_or("");
    let allowed = if ["NORMAL", "LEFT_DIAL_PLAN"].contains(&outcome) {
        &LATE_KEYS[..]
    } else {
        &LATE_KEYS[..1]
    };
    assert!(allowed.contains(&late), "{late:?} on a {outcome} call");
    for k in [
        "conversationSpaceId",
        "callCreated",
        "callEnded",
        "callInitiator",
        "direction",
        "accountKey",
    ] {
        assert_eq!(report[k], summary[k], "{k}");
    }
    let legs: Vec<&Value> = report["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| &p["legId"])
        .collect();
    assert!(legs.contains(&&summary["caller"]["legId"]));
    for p in summary["participants"].as_array().expect("participants") {
        assert!(
            legs.contains(&&p["legId"]),
            "summary leg {} missing from report",
            p["legId"]
        );
    }
    for p in report["participants"].as_array().expect("participants") {
        assert_eq!(
            keys(p),
            [
                "id",
                "originator",
                "legId",
                "recordings",
                "liveTranscripts",
                "transcripts",
                "type"
            ]
        );
    }
    let states = report["callStates"].as_array().expect("callStates");
    assert_eq!(states.first().map(|s| &s["type"]), Some(&json!("STARTING")));
    assert_eq!(states.last().map(|s| &s["type"]), Some(&json!("ENDING")));
    let (created, ended) = (
        report["callCreated"].as_str().unwrap_or(""),
        report["callEnded"].as_str().unwrap_or(""),
    );
    for (k, s) in states.iter().enumerate() {
        assert_eq!(
            &keys(s)[..5],
            ["id", "type", "sequenceNumber", "timestamp", "participants"]
        );
        assert_eq!(s["sequenceNumber"], k + 1);
        let ts = s["timestamp"].as_str().unwrap_or("");
        assert!(
            created <= ts && ts <= ended,
            "state at {ts} outside {created}..{ended}"
        );
    }
}

/// The guide's channel creation; returns the channelId.
async fn guide_channel(sb: &Sandbox, token: &str) -> String {
    // The guide itself sends "WebSocket"; GoTo answers "WebSockets".
    let body = json!({ "channelType": "WebSocket" });
    let (status, channel) =
        post_json(sb, token, "/notification-channel/v1/channels/demo", &body).await;
    assert_eq!(status, 201, "{channel}");
    let expected = [
        "channelId",
        "channelNickname",
        "channelData",
        "channelLifetime",
        "resourceURL",
        "doNotDisturbAware",
    ];
    assert_eq!(keys(&channel), expected);
    assert_eq!(
        keys(&channel["channelData"]),
        ["channelType", "channelURL", "isConnected"]
    );
    assert_eq!(channel["channelData"]["channelType"], "WebSockets");
    assert_eq!(channel["channelData"]["isConnected"], false);
    assert_eq!(channel["channelLifetime"], 1200);
    let id = channel["channelId"]
        .as_str()
        .expect("channelId")
        .to_string();
    let port = sb.port();
    let ws_url = format!("ws://127.0.0.1:{port}/notification-channel-ws/v1/channels/demo/{id}/ws");
    assert_eq!(channel["channelData"]["channelURL"], ws_url);
    let resource = format!("http://127.0.0.1:{port}/notification-channel/v1/channels/demo/{id}");
    assert_eq!(channel["resourceURL"], resource);
    id
}

/// The guide's subscription creation, then reading it back.
async fn guide_subscription(sb: &Sandbox, token: &str, id: &str) {
    let body = json!({ "channelId": id, "eventTypes": ["REPORT_SUMMARY"], "accountKeys": [sb.account_key()] });
    let (status, subs) = post_json(sb, token, "/call-events-report/v1/subscriptions", &body).await;
    assert_eq!(status, 201, "{subs}");
    assert_eq!(keys(&subs), ["items"]);
    assert_eq!(
        keys(&subs["items"][0]),
        ["id", "channelId", "value", "eventTypes"]
    );
    assert_eq!(subs["items"][0]["value"], sb.account_key());
    assert_eq!(subs["items"][0]["eventTypes"], json!(["REPORT_SUMMARY"]));
    let (status, read) = get(
        sb,
        token,
        &format!("/call-events-report/v1/subscriptions?channelId={id}"),
    )
    .await;
    assert_eq!(status, 200);
    let expected = json!({ "accountKeys": [sb.account_key()], "userKeys": [], "lineIds": [], "phoneNumberIds": [] });
    assert_eq!(read, expected);
}

#[tokio::test]
async fn guide_flow_answers_shaped_like_the_examples() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let id = guide_channel(&sb, &token).await;
    guide_subscription(&sb, &token, &id).await;
    let placed: Vec<_> = (0..12).map(|_| sb.place_call()).collect();
    let (status, page) = get(&sb, &token, &recent_window(&sb, 10)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(keys(&page), ["pageSize", "items"]);
    assert_eq!(page["pageSize"], 100);
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), placed.len());
    for item in items {
        assert_summary_shape(item);
        let id = item["conversationSpaceId"].as_str().expect("id");
        let (status, report) =
            get(&sb, &token, &format!("/call-events-report/v1/reports/{id}")).await;
        assert_eq!(status, 200);
        assert_report_matches(&report, item);
    }
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let sb = start(quiet()).await;
    let path = recent_window(&sb, 5);
    let (status, body) = get(&sb, "not-a-token", &path).await;
    assert_eq!(status, 401);
    assert_goto_error(&body, "AUTHN_INVALID_TOKEN");
    let resp = http()
        .get(format!("{}{path}", sb.base_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 401);
    let expired = sb.issue_token(Some(std::time::Duration::ZERO));
    let (status, body) = get(&sb, &expired, &path).await;
    assert_eq!(status, 401);
    assert_goto_error(&body, "AUTHN_EXPIRED_TOKEN");
}

#[tokio::test]
async fn reports_unknown_malformed_and_not_ended() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (status, body) = get(
        &sb,
        &token,
        "/call-events-report/v1/reports/00000000-0000-3000-8000-000000000000",
    )
    .await;
    assert_eq!(status, 404);
    assert_goto_error(&body, "NOT_FOUND");
    // The guide's example ID is the one call every sandbox has, for the help's examples.
    let (status, body) = get(
        &sb,
        &token,
        "/call-events-report/v1/reports/29a1c77a-e52a-3764-8606-8b02b1277be8",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["conversationSpaceId"],
        "29a1c77a-e52a-3764-8606-8b02b1277be8"
    );
    let (status, body) = get(&sb, &token, "/call-events-report/v1/reports/not-a-uuid").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["constraintViolations"][0]["field"],
        "conversationSpaceId"
    );
}

/// PUT a raw body with this Content-Type to a channel URL; returns the status.
async fn put_channel(token: &str, url: &str, body: &'static str, content_type: &str) -> u16 {
    let resp = http()
        .put(url)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("sent");
    resp.status().as_u16()
}

#[tokio::test]
async fn channel_bodies_are_checked() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (id, _) = create_channel(&sb, &token, "demo").await;
    let url = format!(
        "{}/notification-channel/v1/channels/demo/{id}",
        sb.base_url()
    );
    let cases = [
        (r#"{"channelType":"WebSocket"}"#, "application/json", 200),
        (
            r#"{"channelType":"WebSockets"}"#,
            "application/json; charset=utf-8",
            200,
        ),
        (r#"{"channelType":"WebSocket"}"#, "text/plain", 415),
        ("not json", "application/json", 400),
        (r#"{"channelType":"Pigeon"}"#, "application/json", 400),
        ("{}", "application/json", 400),
    ];
    for (body, content_type, want) in cases {
        assert_eq!(
            put_channel(&token, &url, body, content_type).await,
            want,
            "{body} as {content_type}"
        );
    }
    let other_nick = url.replace("/demo/", "/other/");
    assert_eq!(
        put_channel(
            &token,
            &other_nick,
            r#"{"channelType":"WebSocket"}"#,
            "application/json"
        )
        .await,
        404
    );
}

#[tokio::test]
async fn channels_list_by_page_and_delete_once() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (id, _) = create_channel(&sb, &token, "demo").await;
    for nick in ["a", "b"] {
        create_channel(&sb, &token, nick).await;
    }
    let list = "/notification-channel/v1/channels?pageSize=2";
    let (status, first) = get(&sb, &token, list).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&first), ["nextPageMarker", "items"]);
    let marker = first["nextPageMarker"].as_str().expect("marker");
    let (_, second) = get(&sb, &token, &format!("{list}&pageMarker={marker}")).await;
    assert_eq!(keys(&second), ["items"]);
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));

    let url = format!(
        "{}/notification-channel/v1/channels/demo/{id}",
        sb.base_url()
    );
    let delete = || http().delete(url.clone()).bearer_auth(&token).send();
    assert_eq!(delete().await.expect("sent").status(), 204);
    let resp = delete().await.expect("sent");
    assert_eq!(resp.status(), 404);
    assert_goto_error(
        &resp.json().await.expect("json"),
        "RTC-NOTIFICATION-CHANNEL-NOT-FOUND",
    );
    let body = r#"{"channelType":"WebSockets"}"#;
    assert_eq!(
        put_channel(&token, &url, body, "application/json").await,
        404
    );
    assert_eq!(sb.channels().len(), 2);
}
