//! The command line itself: help, version, completions, settings precedence, colour, exit codes.

use predicates::prelude::*;

use crate::harness::{TestEnv, stderr_of};

#[test]
fn version_and_help_with_examples() {
    let env = TestEnv::new();
    env.cer()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("cer "));
    env.cer()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("listen").and(predicate::str::contains("Examples:")));
    let commands = crate::harness::subcommands();
    assert!(commands.len() >= 11, "{commands:?}");
    for command in commands {
        env.cer()
            .args([command.as_str(), "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
}

#[test]
fn completions_are_printed_for_every_shell() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        env.cer()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("cer"));
    }
}

#[test]
fn a_missing_env_file_is_a_usage_error() {
    let env = TestEnv::new();
    env.cer()
        .args(["--env-file", "nope.env", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.env").and(predicate::str::contains("no such file")));
}

#[test]
fn environment_beats_dotenv_and_flags_beat_both() {
    let env = TestEnv::new();
    std::fs::write(env.work_dir().join(".env"), "CER_API_BASE=notaurl\n").unwrap();
    // .env alone: its bad value is used and rejected before any request.
    env.cer()
        .env_remove("CER_API_BASE")
        .env("CER_TOKEN", "t")
        .arg("status")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CER_API_BASE"));
    // The environment wins over .env.
    env.cer()
        .env("CER_TOKEN", "t")
        .arg("status")
        .assert()
        .success();
    // --env-file reads another file; a flag wins over everything.
    std::fs::write(
        env.work_dir().join("other.env"),
        "CER_API_BASE=http://127.0.0.1:9\n",
    )
    .unwrap();
    env.cer()
        .env_remove("CER_API_BASE")
        .env("CER_TOKEN", "t")
        .args(["--env-file", "other.env", "status"])
        .assert()
        .success();
    env.cer()
        .env("CER_TOKEN", "t")
        .args(["--api-base", "ftp://x", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--api-base"));
}

#[test]
fn dotenv_provides_variables_the_environment_lacks() {
    let env = TestEnv::new();
    let key = env.sandbox.account_key().to_string();
    std::fs::write(env.work_dir().join(".env"), format!("ACCOUNT_KEY={key}\n")).unwrap();
    env.cer_with_token()
        .env_remove("ACCOUNT_KEY")
        .args(["summaries", "--since", "1h"])
        .assert()
        .success();
    std::fs::remove_file(env.work_dir().join(".env")).unwrap();
    env.cer_with_token()
        .env_remove("ACCOUNT_KEY")
        .args(["summaries", "--since", "1h"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ACCOUNT_KEY"));
}

#[test]
fn colour_follows_no_color_and_the_flag() {
    let env = TestEnv::new();
    let stderr = |args: &[&str], vars: &[(&str, &str)]| {
        let mut command = env.cer();
        for (k, v) in vars {
            command.env(k, v);
        }
        let output = command.args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        stderr_of(&output)
    };
    let bad_fetch = ["fetch", "not-an-id"];
    assert!(
        !stderr(&bad_fetch, &[]).contains('\x1b'),
        "no colour in a pipe"
    );
    assert!(stderr(&bad_fetch, &[("CER_FORCE_TTY", "stderr")]).contains('\x1b'));
    assert!(
        !stderr(
            &bad_fetch,
            &[("CER_FORCE_TTY", "stderr"), ("NO_COLOR", "1")]
        )
        .contains('\x1b')
    );
    assert!(stderr(&bad_fetch, &[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    let forced = ["--color", "always", "fetch", "not-an-id"];
    assert!(stderr(&forced, &[("NO_COLOR", "1")]).contains('\x1b'));
    let never = ["--color", "never", "fetch", "not-an-id"];
    assert!(!stderr(&never, &[("CER_FORCE_TTY", "stderr")]).contains('\x1b'));
}

#[test]
fn bad_flags_exit_2_with_clap_usage() {
    let env = TestEnv::new();
    env.cer().arg("--no-such-flag").assert().code(2);
    env.cer().arg("frobnicate").assert().code(2);
    env.cer()
        .args(["summaries", "--rate", "0"])
        .assert()
        .code(2);
}

#[test]
fn log_level_must_be_a_level() {
    let env = TestEnv::new();
    env.cer()
        .env("LOG_LEVEL", "chatty")
        .arg("status")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LOG_LEVEL"));
}
