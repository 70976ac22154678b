//! `cer summaries`: ranges and filters checked first, pages followed to the end, output that
//! pipes (TSV, NDJSON) or reads (table), and a quiet exit on a closed pipe.

use std::collections::HashSet;
use std::time::Duration;

use cer_sandbox::SandboxConfig;

use crate::harness::{TestEnv, json_lines, stderr_of, stdout_of};
use crate::snapshot::{Filters, cer_snapshot};

fn lines(output: &std::process::Output) -> Vec<String> {
    stdout_of(output).lines().map(str::to_string).collect()
}

#[test]
fn bad_input_is_a_usage_error_without_requests() {
    let env = TestEnv::new();
    for args in [
        &["--day", "2026-02-30"][..],
        &["--day", "next week"],
        &["--from", "2026-11-10", "--to", "2026-11-01"],
        &["--from", "2999-01-01"],
        &["--page-size", "0"],
        &["--page-size", "5000"],
        &["--outcome", "HAPPY"],
        &["--scope", "EVERYWHERE"],
        &["--since", "yesterday"],
    ] {
        let mut words = vec!["summaries"];
        words.extend_from_slice(args);
        let run = env.run_with_token(&words, &[]);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    assert!(
        env.sandbox.requests().is_empty(),
        "{:?}",
        env.sandbox.requests()
    );
}

#[test]
fn pipes_get_tsv_and_json_gets_the_raw_items() {
    let env = TestEnv::new();
    let placed: Vec<String> = (0..3)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    let output = env
        .cer_with_token()
        .args(["summaries", "--since", "1h"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let rows = lines(&output);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let cells: Vec<&str> = row.split('\t').collect();
        assert_eq!(cells.len(), 7, "{row}");
        assert!(cells[0].ends_with('Z'), "RFC 3339 UTC: {row}");
        assert!(placed.contains(&cells[6].to_string()));
        assert!(!row.contains('\x1b'));
    }
    let output = env
        .cer_with_token()
        .args(["summaries", "--since", "1h", "--json"])
        .output()
        .unwrap();
    let items = json_lines(&lines(&output));
    let ids: HashSet<&str> = items
        .iter()
        .map(|i| i["conversationSpaceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, placed.iter().map(String::as_str).collect());
    assert!(
        items
            .iter()
            .all(|i| i.get("callerOutcome").is_some() && i.get("participants").is_some())
    );
}

#[test]
fn a_terminal_gets_a_table_with_a_header() {
    let env = TestEnv::new();
    env.sandbox.place_call();
    let output = env
        .cer_with_token()
        .env("CER_FORCE_TTY", "stdout")
        .args(["summaries", "--since", "1h"])
        .output()
        .unwrap();
    let rows = lines(&output);
    assert!(
        rows[0].contains("1 call from"),
        "the glance first: {rows:?}"
    );
    let header = rows.iter().position(|r| r.contains("STARTED")).unwrap();
    assert!(rows[header].contains("OUTCOME"), "{rows:?}");
    assert_eq!(rows.len(), header + 2);
}

#[test]
fn no_calls_is_a_note_and_success() {
    let env = TestEnv::new();
    let token = env.sandbox.issue_token(None);
    // The hour before now, in the minutes a person reads.
    let filters = Filters::of(&env).pattern(r"\d{4}-\d\d-\d\d \d\d:\d\d", "[TIME]");
    cer_snapshot!(
        env,
        &["summaries", "--since", "1h"],
        &[("CER_TOKEN", &token)],
        filters
    );
}

#[test]
fn pages_through_thousands_of_summaries_each_once_in_order() {
    let env = TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(1)),
        ..SandboxConfig::default()
    });
    let output = env
        .cer_with_token()
        .args([
            "summaries",
            "--since",
            "2h",
            "--json",
            "--page-size",
            "1000",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let items = json_lines(&lines(&output));
    assert!(items.len() >= 5000, "only {} summaries", items.len());
    let ids: HashSet<&str> = items
        .iter()
        .map(|i| i["conversationSpaceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), items.len(), "a summary was printed twice");
    let created: Vec<jiff::Timestamp> = items
        .iter()
        .map(|i| i["callCreated"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "not in GoTo's order"
    );
    let pages = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/report-summaries"))
        .count();
    assert!(pages >= 6, "{pages} pages");
}

#[test]
fn limit_stops_early() {
    let env = TestEnv::new();
    for _ in 0..5 {
        env.sandbox.place_call();
    }
    let output = env
        .cer_with_token()
        .args(["summaries", "--since", "1h", "--limit", "2"])
        .output()
        .unwrap();
    assert_eq!(lines(&output).len(), 2);
}

#[test]
fn rate_limits_and_server_errors_do_not_lose_data() {
    let env = TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(2)),
        ..SandboxConfig::default()
    });
    let expected = lines(
        &env.cer_with_token()
            .args([
                "summaries",
                "--from",
                "2026-01-01T00:00:00Z",
                "--to",
                "2026-01-01T02:00:00Z",
                "--page-size",
                "100",
            ])
            .output()
            .unwrap(),
    );
    assert!(expected.len() > 1000);
    env.sandbox
        .faults()
        .rate_limit_next(4, Duration::from_millis(50));
    env.sandbox.faults().fail_next(2, 502);
    let output = env
        .cer_with_token()
        .args([
            "summaries",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-01T02:00:00Z",
            "--page-size",
            "100",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(lines(&output), expected);
    assert_eq!(
        stderr_of(&output),
        "",
        "retries are not a person's business"
    );
}

#[test]
fn long_ranges_are_split_into_windows_goto_accepts() {
    let env = TestEnv::new();
    env.cer_with_token()
        .args([
            "summaries",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--utc",
        ])
        .assert()
        .success();
    let windows = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/report-summaries"))
        .count();
    assert_eq!(windows, 3);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let env = TestEnv::with(SandboxConfig {
        call_every: Some(Duration::from_secs(1)),
        ..SandboxConfig::default()
    });
    let cer = assert_cmd::cargo::cargo_bin!("cer");
    let script = format!(
        "set -o pipefail; '{}' summaries --since 2h | head -1",
        cer.display()
    );
    let mut command = env.cer_process();
    let vars: Vec<_> = command
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();
    let mut bash = std::process::Command::new("bash");
    for (name, value) in vars {
        match value {
            Some(value) => bash.env(name, value),
            None => bash.env_remove(name),
        };
    }
    command.env("CER_TOKEN", "unused");
    let output = bash
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .arg("-c")
        .arg(script)
        .current_dir(env.work_dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output).lines().count(), 1);
    assert_eq!(stderr_of(&output), "");
}
