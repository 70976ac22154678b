//! Wrong requests get GoTo's errors: report-summaries parameters and subscription bodies.

use cer_sandbox::Sandbox;
use serde_json::json;

use super::support::{assert_goto_error, create_channel, get, http, post_json, quiet, start};

const BASE: &str = "/call-events-report/v1/report-summaries";
const DAY: &str = "startTime=2024-07-01T00:00:00Z&endTime=2024-07-02T00:00:00Z";

/// Each `(query, status, field named by the 400)` against report-summaries.
async fn check(sb: &Sandbox, cases: &[(String, u16, &str)]) {
    let token = sb.issue_token(None);
    for (query, want, field) in cases {
        let path = format!("{BASE}?{query}");
        let (status, body) = get(sb, &token, &path).await;
        assert_eq!(status, *want, "{path}: {body}");
        if *want == 400 {
            assert_goto_error(&body, "CONSTRAINT_VIOLATION");
            assert_eq!(body["constraintViolations"][0]["field"], *field, "{path}");
        }
    }
}

#[tokio::test]
async fn summaries_dates_and_ranges_are_checked() {
    let sb = start(quiet()).await;
    let key = format!("accountKey={}", sb.account_key());
    let range = |start: &str, end: &str| format!("{key}&startTime={start}&endTime={end}");
    let cases = [
        (format!("{key}&{DAY}"), 200, ""),
        (
            range("2024-07-01T00:00:00.000Z", "2024-07-01T01:00:00.5Z"),
            200,
            "",
        ),
        (
            range("2024-07-01", "2024-07-02T00:00:00Z"),
            400,
            "startTime",
        ),
        (range("2024-07-01T00:00:00Z", "yesterday"), 400, "endTime"),
        (
            range("2024-07-01T00:00:00+02:00", "2024-07-02T00:00:00Z"),
            400,
            "startTime",
        ),
        (
            format!("{key}&endTime=2024-07-02T00:00:00Z"),
            400,
            "startTime",
        ),
        (
            range("2024-07-01T00:00:00Z", "2024-08-02T00:00:00Z"),
            400,
            "endTime",
        ),
        (
            range("2024-07-01T00:00:00Z", "2024-08-01T00:00:00Z"),
            200,
            "",
        ),
        (
            range("2024-07-02T00:00:00Z", "2024-07-01T00:00:00Z"),
            400,
            "endTime",
        ),
        (
            range("2024-07-01T00:00:00Z", "2024-07-01T00:00:00Z"),
            400,
            "endTime",
        ),
    ];
    check(&sb, &cases).await;
}

#[tokio::test]
async fn summaries_selectors_enums_and_paging_are_checked() {
    let sb = start(quiet()).await;
    let key = format!("accountKey={}", sb.account_key());
    let cases = [
        (DAY.to_string(), 400, "accountKey"),
        (format!("{key}&userKey=1&{DAY}"), 400, "userKey"),
        (format!("userKey=123&{DAY}"), 200, ""),
        (format!("{key}&{DAY}&pageSize=0"), 400, "pageSize"),
        (format!("{key}&{DAY}&pageSize=1001"), 400, "pageSize"),
        (format!("{key}&{DAY}&pageSize=ten"), 400, "pageSize"),
        (format!("{key}&{DAY}&pageSize=1000"), 200, ""),
        (format!("{key}&{DAY}&pageMarker=bm9wZQ"), 400, "pageMarker"),
        (
            format!("{key}&{DAY}&conversationScope=GALACTIC"),
            400,
            "conversationScope",
        ),
        (format!("{key}&{DAY}&conversationScope=INTERNAL"), 200, ""),
        (
            format!("{key}&{DAY}&conversationCallerOutcome=HAPPY"),
            400,
            "conversationCallerOutcome",
        ),
        (
            format!("{key}&{DAY}&conversationCallerOutcome=LEFT_QUEUE"),
            200,
            "",
        ),
    ];
    check(&sb, &cases).await;
    let token = sb.issue_token(None);
    let (status, body) = get(
        &sb,
        &token,
        &format!("{BASE}?accountKey=1234567890123456789&{DAY}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn subscriptions_check_their_input() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let (id, _) = create_channel(&sb, &token, "demo").await;
    let key = sb.account_key().to_string();
    let path = "/call-events-report/v1/subscriptions";
    let cases = [
        (json!({ "channelId": "nope", "accountKeys": [key] }), 404),
        (
            json!({ "channelId": id, "accountKeys": ["1234567890123456789"] }),
            403,
        ),
        (json!({ "channelId": id }), 400),
        (json!({ "channelId": id, "accountKeys": [] }), 400),
        (json!({ "accountKeys": [key] }), 400),
        (
            json!({ "channelId": id, "accountKeys": [key], "eventTypes": ["EVERYTHING"] }),
            400,
        ),
        (json!({ "channelId": id, "accountKeys": [key] }), 201),
    ];
    for (body, want) in cases {
        let (status, answer) = post_json(&sb, &token, path, &body).await;
        assert_eq!(status, want, "{body}: {answer}");
    }
    assert_eq!(sb.subscriptions()[0].event_types, ["LEGACY"]);
    let (status, _) = get(&sb, &token, path).await;
    assert_eq!(status, 400, "GET needs channelId");
    let url = format!("{}{path}?channelId={id}&accountKey={key}", sb.base_url());
    assert_eq!(
        http()
            .delete(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .status(),
        204
    );
    assert_eq!(
        http()
            .delete(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .status(),
        404
    );
    assert!(sb.subscriptions().is_empty());
}
