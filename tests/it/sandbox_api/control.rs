//! The `/_sandbox/*` control endpoints and the request log.

use std::time::Duration;

use cer_sandbox::{SandboxConfig, fault_names};
use serde_json::{Value, json};

use super::support::{get, http, keys, listening, quiet, recent_window, start};

async fn post(url: String) -> (u16, Value) {
    post_body(url, "").await
}

async fn post_body(url: String, body: &str) -> (u16, Value) {
    let resp = http()
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn control_places_calls_and_triggers_faults() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let base = sb.base_url();
    let (status, call) = post(format!("{base}/_sandbox/calls?seconds=42")).await;
    assert_eq!(status, 201, "{call}");
    super::rest::assert_summary_shape(&call);
    let (_, page) = get(&sb, &token, &recent_window(&sb, 5)).await;
    assert_eq!(
        page["items"][0]["conversationSpaceId"],
        call["conversationSpaceId"]
    );
    assert_eq!(
        post(format!("{base}/_sandbox/calls?seconds=-1")).await.0,
        400
    );

    let (status, _) = post(format!(
        "{base}/_sandbox/faults/fail-next?count=1&status=502"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(get(&sb, &token, &recent_window(&sb, 5)).await.0, 502);
    let refused = [
        ("no-such-fault", 404),
        ("fail-next?count=zero", 400),
        ("fail-next?status=42", 400),
        ("expire-tokens?colour=red", 400),
        ("rate-limit-next?path=oauth", 400),
    ];
    for (fault, want) in refused {
        assert_eq!(
            post(format!("{base}/_sandbox/faults/{fault}")).await.0,
            want,
            "{fault}"
        );
    }
    let (status, body) = post(format!("{base}/_sandbox/faults/report-not-ready?seconds=1")).await;
    assert_eq!(
        (status, body["fault"].as_str()),
        (200, Some("report-not-ready"))
    );
}

#[tokio::test]
async fn control_lists_and_applies_every_fault() {
    let sb = start(quiet()).await;
    let base = sb.base_url();
    let resp = http()
        .get(format!("{base}/_sandbox/faults"))
        .send()
        .await
        .expect("sent");
    let listed: Value = resp.json().await.expect("json");
    let faults = listed["faults"].as_array().expect("faults");
    let names: Vec<&str> = faults.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, fault_names());
    for name in fault_names() {
        let params = if *name == "stall-websockets" {
            "?seconds=0.01"
        } else {
            ""
        };
        let (status, body) = post(format!("{base}/_sandbox/faults/{name}{params}")).await;
        assert_eq!(status, 200, "{name}: {body}");
    }
}

#[tokio::test]
async fn control_state_shows_channels_and_subscriptions() {
    let sb = start(quiet()).await;
    let (_channel, _ws) = listening(&sb, &sb.issue_token(None)).await;
    let url = format!("{}/_sandbox/state", sb.base_url());
    let state: Value = http()
        .get(url)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(state["accountKey"], sb.account_key());
    assert_eq!(state["channels"].as_array().map(Vec::len), Some(1));
    assert_eq!(state["channels"][0]["connectedSockets"], 1);
    assert_eq!(state["subscriptions"][0]["eventTypes"][0], "REPORT_SUMMARY");
    assert_eq!(
        state["requestCount"], 3,
        "channel, subscription, socket upgrade"
    );
}

#[tokio::test]
async fn requests_are_recorded_without_secrets() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let path = recent_window(&sb, 5);
    get(&sb, &token, &path).await;
    let _ = http().get(format!("{}{path}", sb.base_url())).send().await;
    let log = sb.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/call-events-report/v1/report-summaries");
    assert!(
        log[0]
            .query
            .as_deref()
            .is_some_and(|q| q.starts_with("accountKey="))
    );
    assert_eq!((log[0].status, log[0].bearer), (200, true));
    assert_eq!((log[1].status, log[1].bearer), (401, false));
}

#[tokio::test]
async fn dropping_the_sandbox_stops_everything() {
    let sb = start(quiet()).await;
    let (_channel, mut ws) = listening(&sb, &sb.issue_token(None)).await;
    let client = http();
    let state = format!("{}/_sandbox/state", sb.base_url());
    assert!(
        client.get(&state).send().await.is_ok(),
        "keep-alive connection open"
    );
    drop(sb);
    assert!(
        super::support::ending(&mut ws, std::time::Duration::from_secs(3))
            .await
            .is_some()
    );
    assert!(
        client.get(&state).send().await.is_err(),
        "nothing answers any more"
    );
}

/// The report before and after `POST /_sandbox/reports/{id}/analysis`: the new fields come
/// after every key it had, which keep their values and order; the summaries do not change.
#[tokio::test]
async fn control_adds_post_call_analysis_after_the_existing_keys() {
    let sb = start(quiet()).await;
    let token = sb.issue_token(None);
    let base = sb.base_url();
    let (_, call) = post(format!("{base}/_sandbox/calls?seconds=30")).await;
    let id = call["conversationSpaceId"].as_str().expect("id");
    let path = format!("/call-events-report/v1/reports/{id}");
    let (status, before) = get(&sb, &token, &path).await;
    assert_eq!(status, 200, "{before}");
    assert!(
        before.get("callReason").is_none(),
        "analysed a minute early"
    );
    let (_, summaries) = get(&sb, &token, &recent_window(&sb, 5)).await;
    let url = format!("{base}/_sandbox/reports/{id}/analysis");

    let (status, answered) = post(url.clone()).await;
    assert_eq!(status, 200, "{answered}");
    let (_, after) = get(&sb, &token, &path).await;
    assert_eq!(after, answered);
    let mut expected = keys(&before);
    expected.extend(["callReason", "aiAnalysis"]);
    assert_eq!(keys(&after), expected);
    for k in keys(&before) {
        assert_eq!(after[k], before[k], "{k} changed");
    }
    assert!(after["callReason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(
        keys(&after["aiAnalysis"]),
        ["sentiment", "summary", "topics", "flags"]
    );

    let body = json!({ "callReason": "Changed by hand", "actions": [] }).to_string();
    let (status, _) = post_body(url.clone(), &body).await;
    assert_eq!(status, 200);
    let (_, again) = get(&sb, &token, &path).await;
    expected.push("actions");
    assert_eq!(keys(&again), expected, "an existing key keeps its place");
    assert_eq!(again["callReason"], "Changed by hand");
    assert_eq!(again["aiAnalysis"], after["aiAnalysis"]);
    assert_eq!(get(&sb, &token, &recent_window(&sb, 5)).await.1, summaries);

    let unknown = "00000000-0000-3000-8000-000000000000";
    for (url, body, want) in [
        (
            format!("{base}/_sandbox/reports/not-a-uuid/analysis"),
            "",
            400,
        ),
        (
            format!("{base}/_sandbox/reports/{unknown}/analysis"),
            "",
            404,
        ),
        (url.clone(), "[1, 2]", 400),
        (url.clone(), "{\"callReason\":", 400),
    ] {
        assert_eq!(post_body(url, body).await.0, want, "{body}");
    }
    assert_eq!(
        get(&sb, &token, &path).await.1,
        again,
        "refusals add nothing"
    );
}

/// With no analysis delay every answered call's report has its analysis at once, unanswered
/// ones never; with analysis off no report gains anything by itself.
#[tokio::test]
async fn the_analysis_delay_decides_when_answered_calls_are_analysed() {
    for (delay, analysed) in [(Some(Duration::ZERO), true), (None, false)] {
        let sb = start(SandboxConfig {
            analysis_delay: delay,
            ..quiet()
        })
        .await;
        let token = sb.issue_token(None);
        let base = sb.base_url();
        let mut seen = [0, 0];
        for _ in 0..30 {
            let (_, call) = post(format!("{base}/_sandbox/calls")).await;
            let id = call["conversationSpaceId"].as_str().expect("id");
            let path = format!("/call-events-report/v1/reports/{id}");
            let (_, report) = get(&sb, &token, &path).await;
            let answered = ["NORMAL", "LEFT_DIAL_PLAN"]
                .contains(&call["callerOutcome"].as_str().unwrap_or(""));
            seen[usize::from(answered)] += 1;
            let has = report.get("callReason").is_some();
            assert_eq!(has, analysed && answered, "{delay:?}: {call}");
            assert_eq!(report.get("aiAnalysis").is_some(), has);
        }
        assert!(seen[0] > 0 && seen[1] > 0, "both kinds of call: {seen:?}");
    }
}
