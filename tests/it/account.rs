//! What a person reads around logging in: `status --check`, a login over an existing one, a
//! refused `CER_TOKEN`, hints that name variables, and times in seconds.

use std::time::Duration;

use crate::harness::{TestEnv, browser_script, free_port, stderr_of};
use crate::snapshot::{self, Filters, assert_filtered};

fn token_requests(env: &TestEnv) -> usize {
    env.sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count()
}

#[test]
fn a_refused_cer_token_is_named_instead_of_suggesting_a_login() {
    let env = TestEnv::new();
    let mut seen = String::new();
    for args in [
        &["fetch", "29a1c77a-e52a-3764-8606-8b02b1277be8"][..],
        &["status", "--check"],
    ] {
        let output = env
            .cer()
            .env("CER_TOKEN", "not-a-token-goto-knows")
            .args(args)
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert!(!stderr.contains("run `cer login`"), "{stderr}");
        seen.push_str(&snapshot::of_output(args, &output));
    }
    assert_filtered!(Filters::of(&env), seen);
}

#[test]
fn status_check_asks_goto_and_plain_status_does_not() {
    let env = TestEnv::new();
    env.login();
    let args = ["status", "--check"];
    let accepted = env.cer().args(args).output().unwrap();
    let before = env.sandbox.requests().len();
    env.cer().arg("status").assert().success();
    assert_eq!(
        env.sandbox.requests().len(),
        before,
        "plain status asks nobody"
    );
    env.sandbox.faults().revoke_tokens();
    env.cer().arg("status").assert().success();
    let refused = env.cer().args(args).output().unwrap();
    // The times of a login change with every run.
    let filters = Filters::of(&env).pattern(r"expires .*", "expires [WHEN]");
    assert_filtered!(
        filters,
        snapshot::of_output(&args, &accepted) + &snapshot::of_output(&args, &refused)
    );
}

fn login_command(env: &TestEnv, extra: &[&str]) -> assert_cmd::Command {
    let mut command = env.cer();
    command
        .args(["login", "--timeout", "10", "--redirect-uri"])
        .arg(format!("http://127.0.0.1:{}/app/redirect", free_port()))
        .args(extra)
        .env("BROWSER", browser_script(env.dir.path()))
        .timeout(Duration::from_secs(30));
    command
}

#[test]
fn login_over_a_login_says_who_and_keeps_it_unless_forced() {
    let env = TestEnv::new();
    env.login();
    let tokens = token_requests(&env);
    let output = login_command(&env, &[]).output().unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&["login"], &output));
    assert_eq!(token_requests(&env), tokens, "no new login");
    let output = login_command(&env, &["--force"]).output().unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("Logged in as"), "{stderr}");
    assert!(token_requests(&env) > tokens);
}

#[test]
fn login_over_a_login_asks_a_person_at_a_terminal() {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: no /usr/bin/script for a pseudo-terminal");
        return;
    }
    let env = TestEnv::new();
    env.login();
    let tokens = token_requests(&env);
    let cer = env.cer_process();
    let mut command = std::process::Command::new(script);
    for (name, value) in cer.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let line = format!("{} login --no-browser", cer.get_program().to_string_lossy());
    let answer = env.dir.path().join("answer");
    std::fs::write(&answer, "n\n").unwrap();
    let output = command
        .current_dir(env.work_dir())
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::fs::File::open(&answer).unwrap())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("Log in again and replace it? [y/N]"),
        "{screen}"
    );
    assert!(screen.contains("Kept that login."), "{screen}");
    assert_eq!(token_requests(&env), tokens);
}

#[test]
fn hints_name_the_variables_rather_than_a_file_users_lack() {
    let env = TestEnv::new();
    let output = env
        .cer_with_token()
        .env_remove("ACCOUNT_KEY")
        .arg("summaries")
        .output()
        .unwrap();
    let mut seen = snapshot::of_output(&["summaries"], &output);
    let args = ["--env-file", "/nonexistent/cer.env", "status"];
    let output = env.cer().args(args).output().unwrap();
    seen.push_str(&snapshot::of_output(&args, &output));
    assert!(!seen.contains(".env.example"), "{seen}");
    assert_filtered!(Filters::of(&env), seen);
}

#[test]
fn times_in_error_messages_stop_at_the_second() {
    let env = TestEnv::new();
    env.sandbox
        .faults()
        .fail_next_on("/call-events-report/v1/report-summaries", 5, 400);
    let output = env
        .cer_with_token()
        .args(["summaries", "--since", "2h"])
        .output()
        .unwrap();
    // Only instants to the second are named: a fraction of a second would stay in sight.
    let filters = Filters::of(&env).pattern(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", "[TIME]");
    let args = ["summaries", "--since", "2h"];
    assert_filtered!(filters, snapshot::of_output(&args, &output));
}
