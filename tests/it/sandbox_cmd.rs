//! `cer sandbox`: the printed exports work with the guide's curl requests, equal seeds give
//! equal histories across processes, and faults are reachable from flags.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Running, TestEnv};
use crate::snapshot::{self, Filters, assert_filtered};

/// Starts `cer sandbox` with `args` and reads its export lines.
fn start(env: &TestEnv, args: &[&str]) -> (Running, HashMap<String, String>) {
    let mut command = env.cer_process();
    command.arg("sandbox").args(args);
    let mut running = Running::start(command);
    let lines = running.stdout_lines(6, Duration::from_secs(10));
    let exports: HashMap<String, String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(exports.len(), 6, "exports: {lines:?}");
    (running, exports)
}

fn get(env: &TestEnv, exports: &HashMap<String, String>, path_and_query: &str) -> (u16, Value) {
    env.block_on(async {
        let answer = reqwest::Client::new()
            .get(format!("{}{path_and_query}", exports["CER_API_BASE"]))
            .bearer_auth(&exports["CER_TOKEN"])
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    })
}

fn post(env: &TestEnv, exports: &HashMap<String, String>, path: &str, body: Value) -> (u16, Value) {
    env.block_on(async {
        let answer = reqwest::Client::new()
            .post(format!("{}{path}", exports["CER_API_BASE"]))
            .bearer_auth(&exports["CER_TOKEN"])
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    })
}

fn stop(running: Running) {
    running.signal("TERM");
    let (code, _, stderr) = running.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", stderr.join("\n"));
}

#[test]
fn the_exports_serve_the_guides_curl_requests() {
    let env = TestEnv::new();
    let (running, exports) = start(&env, &["--seed", "7"]);
    for name in [
        "CER_API_BASE",
        "CER_AUTH_BASE",
        "OAUTH_CLIENT_ID",
        "OAUTH_CLIENT_SECRET",
        "ACCOUNT_KEY",
        "CER_TOKEN",
    ] {
        assert!(!exports[name].is_empty(), "{name}");
    }
    let (status, channel) = post(
        &env,
        &exports,
        "/notification-channel/v1/channels/demo",
        serde_json::json!({"channelType": "WebSocket"}),
    );
    assert_eq!(status, 201);
    let channel_id = channel["channelId"].as_str().unwrap();
    assert!(
        channel["channelData"]["channelURL"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:")
    );
    let subscription = serde_json::json!({"channelId": channel_id, "eventTypes": ["REPORT_SUMMARY"], "accountKeys": [exports["ACCOUNT_KEY"]]});
    let (status, created) = post(
        &env,
        &exports,
        "/call-events-report/v1/subscriptions",
        subscription,
    );
    assert_eq!(status, 201);
    assert_eq!(
        created["items"][0]["value"],
        exports["ACCOUNT_KEY"].as_str()
    );
    let query = format!(
        "/call-events-report/v1/report-summaries?accountKey={}&startTime=2026-01-01T00%3A00%3A00Z&endTime=2026-01-02T00%3A00%3A00Z",
        exports["ACCOUNT_KEY"]
    );
    let (status, page) = get(&env, &exports, &query);
    assert_eq!(status, 200);
    let first = &page["items"][0];
    for field in [
        "conversationSpaceId",
        "accountKey",
        "callCreated",
        "callEnded",
        "direction",
        "caller",
        "callerOutcome",
        "participants",
    ] {
        assert!(first.get(field).is_some(), "summary lacks {field}");
    }
    let id = first["conversationSpaceId"].as_str().unwrap();
    let (status, report) = get(
        &env,
        &exports,
        &format!("/call-events-report/v1/reports/{id}"),
    );
    assert_eq!(status, 200);
    for field in [
        "conversationSpaceId",
        "callCreated",
        "callEnded",
        "direction",
        "accountKey",
        "participants",
        "callStates",
    ] {
        assert!(report.get(field).is_some(), "report lacks {field}");
    }
    let (status, _) = get(
        &env,
        &exports,
        "/call-events-report/v1/reports/00000000-0000-3000-8000-000000000000",
    );
    assert_eq!(status, 404);
    let (status, _) = get(&env, &exports, &query.replace("2026-01-01T00", "yesterday"));
    assert_eq!(status, 400);
    let wrong = HashMap::from([
        ("CER_API_BASE".to_string(), exports["CER_API_BASE"].clone()),
        ("CER_TOKEN".to_string(), "wrong".to_string()),
    ]);
    let (status, _) = get(&env, &wrong, &query);
    assert_eq!(status, 401);
    stop(running);
}

#[test]
fn equal_seeds_started_apart_agree_on_summaries_and_reports() {
    let env = TestEnv::new();
    let (first, a) = start(&env, &["--seed", "7"]);
    std::thread::sleep(Duration::from_millis(1200));
    let (second, b) = start(&env, &["--seed", "7"]);
    assert_eq!(a["ACCOUNT_KEY"], b["ACCOUNT_KEY"]);
    let query = |e: &HashMap<String, String>| {
        format!(
            "/call-events-report/v1/report-summaries?accountKey={}&startTime=2026-03-01T00%3A00%3A00Z&endTime=2026-03-01T06%3A00%3A00Z&pageSize=1000",
            e["ACCOUNT_KEY"]
        )
    };
    let (_, page_a) = get(&env, &a, &query(&a));
    let (_, page_b) = get(&env, &b, &query(&b));
    assert!(page_a["items"].as_array().unwrap().len() > 100);
    assert_eq!(page_a, page_b);
    let id = page_a["items"][3]["conversationSpaceId"].as_str().unwrap();
    let path = format!("/call-events-report/v1/reports/{id}");
    assert_eq!(get(&env, &a, &path), get(&env, &b, &path));
    stop(first);
    stop(second);
}

#[test]
fn faults_are_reachable_from_flags() {
    let env = TestEnv::new();
    let (running, exports) = start(
        &env,
        &[
            "--call-every",
            "0",
            "--fault",
            "fail-next?count=1&status=503",
            "--report-delay",
            "30",
        ],
    );
    let query = format!(
        "/call-events-report/v1/report-summaries?accountKey={}&startTime=2026-01-01T00%3A00%3A00Z&endTime=2026-01-02T00%3A00%3A00Z",
        exports["ACCOUNT_KEY"]
    );
    assert_eq!(get(&env, &exports, &query).0, 503);
    assert_eq!(get(&env, &exports, &query).0, 200);
    let (status, call) = post(&env, &exports, "/_sandbox/calls", Value::Null);
    assert_eq!(status, 201);
    let id = call["conversationSpaceId"].as_str().unwrap();
    assert_eq!(
        get(
            &env,
            &exports,
            &format!("/call-events-report/v1/reports/{id}")
        )
        .0,
        404,
        "report delay"
    );
    stop(running);
}

#[test]
fn the_analysis_delay_flag_and_the_analysis_route_reach_cer_sandbox() {
    let env = TestEnv::new();
    let (running, exports) = start(&env, &["--call-every", "0", "--analysis-delay", "0"]);
    let answered = (0..40)
        .map(|_| post(&env, &exports, "/_sandbox/calls", Value::Null).1)
        .find(|call| {
            ["NORMAL", "LEFT_DIAL_PLAN"].contains(&call["callerOutcome"].as_str().unwrap())
        })
        .expect("an answered call");
    let path = format!(
        "/call-events-report/v1/reports/{}",
        answered["conversationSpaceId"].as_str().unwrap()
    );
    assert!(
        get(&env, &exports, &path).1["callReason"].is_string(),
        "at once"
    );
    stop(running);

    let (running, exports) = start(&env, &["--call-every", "0", "--analysis-delay", "off"]);
    let (_, call) = post(&env, &exports, "/_sandbox/calls", Value::Null);
    let id = call["conversationSpaceId"].as_str().unwrap();
    let path = format!("/call-events-report/v1/reports/{id}");
    assert!(get(&env, &exports, &path).1.get("callReason").is_none());
    let analysis = format!("/_sandbox/reports/{id}/analysis");
    let (status, added) = post(&env, &exports, &analysis, Value::Null);
    assert_eq!(status, 200, "{added}");
    let (_, report) = get(&env, &exports, &path);
    assert_eq!(report, added);
    assert!(report["callReason"].is_string() && report["aiAnalysis"].is_object());
    stop(running);
}

#[test]
fn every_fault_name_is_accepted_by_the_flags() {
    let env = TestEnv::new();
    let list = env
        .cer()
        .args(["sandbox", "--list-faults"])
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    let mut args = Vec::new();
    for name in &names {
        args.push("--fault-every".to_string());
        args.push(format!("3600:{name}"));
        args.push("--fault".to_string());
        args.push(name.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (running, _) = start(&env, &args);
    stop(running);
    let mut seen = String::new();
    for args in [
        ["sandbox", "--fault", "make-coffee"],
        ["sandbox", "--fault", "fail-next?status=teapot"],
        ["sandbox", "--fault-every", "drop-websockets"],
    ] {
        let output = env.cer().args(args).output().unwrap();
        seen.push_str(&snapshot::of_output(&args, &output));
    }
    assert_filtered!(Filters::of(&env), seen);
}
