//! `cer fetch`: IDs checked before any request, reports passed through untouched, 404s,
//! retries and the refresh on 401.

use std::time::Duration;

use predicates::prelude::*;

use crate::harness::{TestEnv, json_lines, stdout_of};
use crate::snapshot::{self, Filters, assert_filtered, cer_snapshot};

const UNKNOWN: &str = "00000000-0000-3000-8000-000000000000";

#[test]
fn a_non_uuid_is_a_usage_error_without_any_request() {
    let env = TestEnv::new();
    let args = [
        "fetch",
        "29a1c77a-e52a-3764-8606-8b02b1277be8",
        "not-a-uuid",
    ];
    let token = env.sandbox.issue_token(None);
    cer_snapshot!(env, &args, &[("CER_TOKEN", &token)]);
    assert!(env.sandbox.requests().is_empty());
}

#[test]
fn prints_the_report_as_goto_sent_it() {
    let env = TestEnv::new();
    let call = env.sandbox.place_call();
    let run = env.run_with_token(&["fetch", &call.conversation_space_id], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = run.stdout;
    assert_eq!(text.lines().count(), 1, "one compact line in a pipe");
    let direct: serde_json::Value = env.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{}/call-events-report/v1/reports/{}",
                env.sandbox.base_url(),
                call.conversation_space_id
            ))
            .bearer_auth(env.sandbox.issue_token(None))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        text.trim_end(),
        direct.to_string(),
        "same fields, same order, same values"
    );
    assert!(text.starts_with("{\"conversationSpaceId\""));
}

#[test]
fn pretty_on_a_terminal_and_forced_either_way() {
    let env = TestEnv::new();
    let id = env.sandbox.place_call().conversation_space_id;
    let lines = |args: &[&str], tty: bool| {
        let mut words = vec!["fetch"];
        words.extend_from_slice(args);
        words.push(&id);
        let terminal: &[(&str, &str)] = if tty {
            &[("CER_FORCE_TTY", "stdout")]
        } else {
            &[]
        };
        env.run_with_token(&words, terminal).stdout.lines().count()
    };
    assert!(lines(&[], true) > 10);
    assert_eq!(lines(&["--compact"], true), 1);
    assert!(lines(&["--pretty"], false) > 10);
}

#[test]
fn an_unknown_id_exits_3_and_names_it() {
    let env = TestEnv::new();
    let token = env.sandbox.issue_token(None);
    cer_snapshot!(env, &["fetch", UNKNOWN], &[("CER_TOKEN", &token)]);
}

#[test]
fn several_ids_print_in_argument_order_and_still_exit_3_for_the_missing() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..4)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    let run = env.run_with_token(&["fetch", &ids[2], UNKNOWN, &ids[0], &ids[3], &ids[1]], &[]);
    assert_eq!(run.code, 3, "{run:?}");
    let printed: Vec<String> =
        json_lines(&run.stdout.lines().map(str::to_string).collect::<Vec<_>>())
            .iter()
            .map(|r| r["conversationSpaceId"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(
        printed,
        vec![
            ids[2].clone(),
            ids[0].clone(),
            ids[3].clone(),
            ids[1].clone()
        ]
    );
}

#[test]
fn wait_retries_a_report_that_is_not_ready() {
    let env = TestEnv::new();
    env.sandbox
        .faults()
        .report_not_ready_for(Duration::from_millis(1500));
    let id = env.sandbox.place_call().conversation_space_id;
    env.cer_with_token().args(["fetch", &id]).assert().code(3);
    env.cer_with_token()
        .args(["fetch", "--wait", "10", &id])
        .assert()
        .success();
}

#[test]
fn rate_limit_bursts_never_reach_the_user() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..3)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    env.sandbox
        .faults()
        .rate_limit_next(5, Duration::from_millis(100));
    let output = env
        .cer_with_token()
        .arg("fetch")
        .args(&ids)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout_of(&output).lines().count(), 3);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("429"));
}

#[test]
fn server_errors_are_retried_then_reported() {
    let env = TestEnv::new();
    let id = env.sandbox.place_call().conversation_space_id;
    env.sandbox.faults().fail_next(2, 503);
    env.cer_with_token().args(["fetch", &id]).assert().success();
    env.sandbox.faults().fail_next(100, 500);
    let args = ["fetch", id.as_str()];
    let output = env.cer_with_token().args(args).output().unwrap();
    let filters = Filters::of(&env).literal(&id, "[CALL]");
    assert_filtered!(filters, snapshot::of_output(&args, &output));
    assert!(env.report_requests() >= 6, "retried before giving up");
}

#[test]
fn a_body_that_is_not_json_is_a_clear_failure() {
    let env = TestEnv::new();
    let id = env.sandbox.place_call().conversation_space_id;
    let args = ["fetch", id.as_str()];
    env.sandbox.faults().garbage_next(1);
    let garbage = env.cer_with_token().args(args).output().unwrap();
    env.sandbox.faults().truncated_next(1);
    let truncated = env.cer_with_token().args(args).output().unwrap();
    // Where the cut falls (in a string, a number, between fields) depends on the random call's
    // report.
    let filters = Filters::of(&env)
        .literal(&id, "[CALL]")
        .pattern(r"EOF while parsing .*", "EOF while parsing [WHERE]");
    assert_filtered!(
        filters,
        snapshot::of_output(&args, &garbage) + &snapshot::of_output(&args, &truncated)
    );
}

#[test]
fn a_401_is_cured_by_one_refresh() {
    let env = TestEnv::new();
    env.login();
    let id = env.sandbox.place_call().conversation_space_id;
    env.sandbox.faults().expire_tokens();
    env.cer().args(["fetch", &id]).assert().success();
    let refreshes = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(refreshes, 2, "the login exchange and one refresh");
}

#[test]
fn revoked_tokens_ask_for_a_new_login() {
    let env = TestEnv::new();
    env.login();
    let id = env.sandbox.place_call().conversation_space_id;
    env.sandbox.faults().revoke_tokens();
    let args = ["fetch", id.as_str()];
    let output = env.cer().args(args).output().unwrap();
    let filters = Filters::of(&env).literal(&id, "[CALL]");
    assert_filtered!(filters, snapshot::of_output(&args, &output));
}

#[test]
fn not_logged_in_exits_4() {
    let env = TestEnv::new();
    let args = ["fetch", UNKNOWN];
    let output = env.cer().args(args).output().unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&args, &output));
}

#[test]
fn works_against_the_built_in_sandbox() {
    let env = TestEnv::new();
    let output = env
        .cer()
        .args([
            "--sandbox",
            "summaries",
            "--since",
            "1h",
            "--json",
            "--limit",
            "1",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let summary: serde_json::Value = serde_json::from_str(stdout_of(&output).trim()).unwrap();
    let id = summary["conversationSpaceId"].as_str().unwrap();
    let output = env.cer().args(["--sandbox", "fetch", id]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_str(stdout_of(&output).trim()).unwrap();
    assert_eq!(
        report["conversationSpaceId"],
        summary["conversationSpaceId"]
    );
    assert_eq!(report["callEnded"], summary["callEnded"]);
}

#[test]
fn a_missing_report_is_one_line_and_the_hint_only_helps() {
    let env = TestEnv::new();
    let output = env
        .cer_with_token()
        .args(["fetch", UNKNOWN])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        crate::harness::stderr_of(&output),
        format!(
            "error: no report for {UNKNOWN}: GoTo has no such call, or it has not ended yet\n\
             hint: a report is ready a few seconds after its call ends; `--wait 60` keeps trying\n"
        )
    );
    // --wait was given: no hint suggesting it again.
    let output = env
        .cer_with_token()
        .args(["fetch", "--wait", "1", UNKNOWN])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        crate::harness::stderr_of(&output),
        format!("error: no report for {UNKNOWN}: still none after waiting 1 s\n")
    );
}

#[test]
fn several_missing_reports_get_one_line_each_and_one_hint() {
    let env = TestEnv::new();
    let other = "00000000-0000-3000-8000-000000000001";
    let found = env.sandbox.place_call().conversation_space_id;
    let output = env
        .cer_with_token()
        .args(["fetch", UNKNOWN, &found, other])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = crate::harness::stderr_of(&output);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].starts_with(&format!("error: no report for {UNKNOWN}:")));
    assert!(lines[1].starts_with(&format!("error: no report for {other}:")));
    assert!(lines[2].starts_with("hint: "));
    assert_eq!(stdout_of(&output).lines().count(), 1);
}

#[test]
fn pretty_json_is_coloured_on_a_terminal_only() {
    let env = TestEnv::new();
    let id = env.sandbox.place_call().conversation_space_id;
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut command = env.cer_with_token();
        for (name, value) in vars {
            command.env(name, value);
        }
        stdout_of(&command.args(args).arg("fetch").arg(&id).output().unwrap())
    };
    let tty = [("CER_FORCE_TTY", "stdout")];
    let coloured = run(&[], &tty);
    assert!(
        coloured.contains("\x1b[1;34m\"conversationSpaceId\"\x1b[0m: \x1b[32m\""),
        "{coloured}"
    );
    let no_color = [("CER_FORCE_TTY", "stdout"), ("NO_COLOR", "1")];
    for plain in [
        run(&[], &no_color),
        run(&["--color", "never"], &tty),
        run(&[], &[]),
    ] {
        assert!(!plain.contains('\x1b'), "{plain}");
    }
    let forced = run(&["--color", "always"], &[]);
    assert_eq!(forced.lines().count(), 1, "a pipe stays compact: {forced}");
    assert!(!forced.contains('\x1b'), "compact JSON stays byte-exact");
    let piped_pretty = stdout_of(
        &env.cer_with_token()
            .args(["fetch", "--pretty", &id])
            .output()
            .unwrap(),
    );
    assert!(!piped_pretty.contains('\x1b'));
    let value: serde_json::Value = serde_json::from_str(&piped_pretty).unwrap();
    assert_eq!(
        piped_pretty,
        serde_json::to_string_pretty(&value).unwrap() + "\n"
    );
}

/// `script` gives cer a real terminal, so the spinner's own terminal check passes.
fn under_a_terminal(env: &TestEnv, token: &str, args: &str) -> Option<String> {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: no /usr/bin/script for a pseudo-terminal");
        return None;
    }
    let cer = env.cer_process();
    let mut command = std::process::Command::new(script);
    for (name, value) in cer.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let line = format!("{} {args}", cer.get_program().to_string_lossy());
    let output = command
        .env("CER_TOKEN", token)
        .current_dir(env.work_dir())
        .args(["-qec", &line, "/dev/null"])
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn wait_shows_a_spinner_on_a_terminal_and_nothing_in_a_pipe() {
    let env = TestEnv::new();
    env.sandbox
        .faults()
        .report_not_ready_for(Duration::from_millis(1500));
    let id = env.sandbox.place_call().conversation_space_id;
    let token = env.sandbox.issue_token(None);
    if let Some(screen) = under_a_terminal(&env, &token, &format!("fetch --wait 10 {id}")) {
        assert!(
            screen.contains(&format!("waiting for the report of {id}: not ready yet")),
            "{screen}"
        );
    }
    let id = env.sandbox.place_call().conversation_space_id;
    let output = env
        .cer_with_token()
        .env("CER_FORCE_TTY", "stderr")
        .args(["fetch", "--wait", "10", &id])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(crate::harness::stderr_of(&output), "");
    let report: serde_json::Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    assert_eq!(report["conversationSpaceId"], id.as_str());
}

#[test]
fn the_example_id_of_the_help_is_a_call_in_every_sandbox() {
    let env = TestEnv::new();
    let example = "29a1c77a-e52a-3764-8606-8b02b1277be8";
    let output = env
        .cer()
        .args(["--sandbox", "fetch", example])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    assert_eq!(report["conversationSpaceId"], example);
    assert_eq!(report["callEnded"], "2023-04-24T18:55:35.000Z");
}

/// Reading the platform's root certificates was over half of a `cer fetch` against a local
/// http base; with no roots to find at all, such a fetch still works because it reads none.
#[test]
fn a_plain_http_base_reads_no_root_certificates() {
    let env = TestEnv::new();
    let id = env.sandbox.place_call().conversation_space_id;
    let no_roots = env.work_dir().join("no-roots");
    std::fs::create_dir_all(&no_roots).unwrap();
    env.cer_with_token()
        .env("SSL_CERT_FILE", no_roots.join("none.pem"))
        .env("SSL_CERT_DIR", &no_roots)
        .args(["fetch", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id));
}
