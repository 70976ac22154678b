//! `cer sync` over a stretch of the simulator's history, interrupted and resumed, on SQLite
//! and on PostgreSQL: each report stored once, every column matching its report.

use std::time::{Duration, Instant};

use cer_sandbox::SandboxConfig;
use serde_json::Value;
use sqlx::Row;

use crate::harness::{Running, TestEnv, stderr_of};
use crate::snapshot::{self, Filters, assert_filtered};

const FROM: &str = "2026-01-01T00:00:00Z";
const TO: &str = "2026-01-01T02:00:00Z";

fn env() -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(60)),
        ..SandboxConfig::default()
    })
}

/// The calls of the range, as `cer summaries` lists them.
fn expected_ids(env: &TestEnv) -> Vec<String> {
    let output = env
        .cer_with_token()
        .args(["summaries", "--json", "--from", FROM, "--to", TO])
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["conversationSpaceId"].to_string())
        .map(|id| id.trim_matches('"').to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `(id, account_key, direction, outcome, call_ended as RFC 3339, report)` of every row.
fn rows(env: &TestEnv, url: &str) -> Vec<(String, String, String, String, String, Value)> {
    let pg = url.starts_with("postgres");
    let (ended, report) = if pg {
        (
            "to_char(call_ended AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            "report::text",
        )
    } else {
        ("call_ended", "report")
    };
    let sql = format!(
        "SELECT conversation_space_id, account_key, direction, outcome, {ended}, {report} \
         FROM cer_reports ORDER BY conversation_space_id"
    );
    let url = if pg {
        url.to_string()
    } else {
        url.replace("sqlite:", "sqlite://")
    };
    let url = url.as_str();
    env.block_on(async {
        sqlx::any::install_default_drivers();
        // Before the first sync has created the store there is nothing: no rows.
        let mode = if pg { "" } else { "?mode=ro" };
        let Ok(pool) = sqlx::AnyPool::connect(&format!("{url}{mode}")).await else {
            return Vec::new();
        };
        let Ok(rows) = sqlx::query(&sql).fetch_all(&pool).await else {
            return Vec::new();
        };
        rows.iter()
            .map(|r| {
                let text = |i: usize| r.get::<String, _>(i);
                let report = serde_json::from_str(&text(5)).unwrap();
                (text(0), text(1), text(2), text(3), text(4), report)
            })
            .collect()
    })
}

fn sync(env: &TestEnv, store: &str) -> std::process::Command {
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .args(["sync", "--from", FROM, "--to", TO, "--store", store]);
    command
}

fn interrupted_then_resumed(store: &str) {
    let env = env();
    let expected = expected_ids(&env);
    assert!(expected.len() >= 100, "{} calls", expected.len());

    // Slowly (2 requests/s), so that it is surely interrupted halfway.
    let mut slow = sync(&env, store);
    slow.args(["--rate", "2"]);
    let running = Running::start(slow);
    let deadline = Instant::now() + Duration::from_secs(20);
    while rows(&env, store).len() < 3 {
        assert!(Instant::now() < deadline, "nothing stored");
        std::thread::sleep(Duration::from_millis(200));
    }
    running.signal("INT");
    let _ = running.wait(Duration::from_secs(10));
    let partial = rows(&env, store).len();
    assert!(partial >= 3 && partial < expected.len(), "{partial}");

    let output = sync(&env, store).args(["--rate", "200"]).output().unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let fresh = expected.len() - partial;
    let line = format!("Stored {fresh} new reports ({partial} already stored), ");
    assert!(stderr.contains(&line), "{stderr}");

    let stored = rows(&env, store);
    let ids: Vec<String> = stored.iter().map(|r| r.0.clone()).collect();
    assert_eq!(ids, expected, "each report of the range, once");
    for (id, account, direction, outcome, ended, report) in &stored {
        assert_eq!(report["conversationSpaceId"], id.as_str());
        assert_eq!(report["accountKey"], account.as_str());
        assert_eq!(report["direction"], direction.as_str());
        assert_eq!(cer::outcome::Outcome::of_report(report).as_str(), outcome);
        let when: jiff::Timestamp = report["callEnded"].as_str().unwrap().parse().unwrap();
        assert_eq!(ended.parse::<jiff::Timestamp>().unwrap(), when);
    }
    // The stored report is the report GoTo serves.
    let sample = &stored[stored.len() / 2];
    let fetched = env
        .cer_with_token()
        .args(["fetch", &sample.0])
        .output()
        .unwrap();
    let fetched: Value = serde_json::from_slice(&fetched.stdout).unwrap();
    assert_eq!(fetched, sample.5);

    let again = sync(&env, store).args(["--rate", "200"]).output().unwrap();
    let line = format!("Stored 0 new reports ({} already stored)", expected.len());
    assert!(stderr_of(&again).contains(&line), "{}", stderr_of(&again));
}

#[test]
fn sync_interrupted_and_resumed_stores_each_report_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    interrupted_then_resumed(&format!("sqlite:{}", dir.path().join("cer.db").display()));
}

#[test]
fn sync_interrupted_and_resumed_stores_each_report_once_on_postgres() {
    if let Some(url) = crate::postgres::fresh_database() {
        interrupted_then_resumed(&url);
    }
}

#[test]
fn sync_needs_a_range_it_can_read() {
    let env = env();
    let args = ["sync", "--from", "2026-11-10", "--to", "2026-11-01"];
    let output = env.cer_with_token().args(args).output().unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&args, &output));
}

#[test]
fn reports_that_cannot_be_fetched_are_listed_and_exit_1() {
    let env = TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(120)),
        report_delay: Duration::from_secs(3 * 3600),
        ..SandboxConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("cer.db").display());
    let output = env
        .cer_with_token()
        .args(["sync", "--since", "1h", "--store", &store])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not fetch the report of "),
        "{stderr}"
    );
    assert!(
        stderr.contains("Stored 0 new reports (0 already stored)"),
        "{stderr}"
    );
    assert!(stderr.contains("run the same `cer sync` again"), "{stderr}");
}

/// `sync --check` fetches no report: it says how many calls of the range the store lacks
/// (and which, with --json), and exits 1 until the store has all of them.
#[test]
fn sync_check_exits_1_on_a_gap_and_0_once_the_store_is_complete() {
    let env = env();
    let store = format!("sqlite:{}", env.state_dir().join("check.db").display());
    let wanted = expected_ids(&env);
    assert!(wanted.len() > 10, "the range has calls: {wanted:?}");
    let check = |extra: &[&str]| {
        env.cer_with_token()
            .args([
                "sync", "--check", "--store", &store, "--from", FROM, "--to", TO,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let before = env.report_requests();
    let gap = check(&["--json"]);
    assert_eq!(gap.status.code(), Some(1), "{gap:?}");
    let result: Value = serde_json::from_slice(&gap.stdout).unwrap();
    assert_eq!(result["calls"], wanted.len());
    assert_eq!(result["stored"], 0);
    assert_eq!(result["complete"], false);
    let mut missing: Vec<String> = result["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    missing.sort();
    assert_eq!(missing, wanted);
    assert_eq!(env.report_requests(), before, "a check fetches no report");

    let synced = sync(&env, &store).output().unwrap();
    assert!(synced.status.success(), "{}", stderr_of(&synced));
    let complete = check(&[]);
    assert_eq!(complete.status.code(), Some(0), "{complete:?}");
    let text = String::from_utf8_lossy(&complete.stdout);
    let first = format!(
        "{n} calls from {FROM} to {TO}: {n} stored, 0 missing",
        n = wanted.len()
    );
    assert!(text.starts_with(&first), "{text}");
}
