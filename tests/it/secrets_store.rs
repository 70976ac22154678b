//! No secret of a `--store` URL reaches any output: the password in its user info,
//! `?password=`, `?sslpassword=` and any parameter named like a secret stay out of errors,
//! every log line at every level (text and JSON), `cer deliveries` and `/metrics`.

use std::time::Duration;

use crate::harness::{Running, TestEnv, free_port, stderr_of, stdout_of};

const SECRETS: [&str; 4] = ["SECRETPW", "SECRET2", "SECRET3", "SECRET4"];

/// `base` (a `postgres://user@host:port/db` URL) with a secret in every place one can go.
fn with_secrets(base: &str) -> String {
    let url = base.replacen("postgres://postgres@", "postgres://postgres:SECRETPW@", 1);
    let url = url.replacen("postgres://u@", "postgres://u:SECRETPW@", 1);
    format!("{url}?password=SECRET2&sslpassword=SECRET3&api_token=SECRET4&application_name=cer")
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// The log settings every run here is tried with: trace level, as text and as JSON.
const LOGS: [&[&str]; 2] = [&["-vv"], &["-vv", "--log-format", "json"]];

#[test]
fn a_refused_store_url_is_shown_without_its_secrets_and_says_connection_refused() {
    let env = TestEnv::new();
    let store = with_secrets(&format!("postgres://u@127.0.0.1:{}/db", free_port()));
    // Each run waits out the pool's retries of a refused connection (5 s): all at once.
    let mut runs = Vec::new();
    for logs in LOGS {
        for command in [&["listen"][..], &["sync", "--since", "1h"], &["deliveries"]] {
            let mut run = env.cer_process();
            run.env("CER_TOKEN", env.sandbox.issue_token(None))
                .env("LOG_LEVEL", "trace")
                .args(logs)
                .args(command)
                .args(["--store", &store])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            runs.push((format!("{command:?} {logs:?}"), run.spawn().unwrap()));
        }
    }
    for (what, run) in runs {
        let output = run.wait_with_output().unwrap();
        let text = format!("{}{}", stdout_of(&output), stderr_of(&output));
        assert_eq!(output.status.code(), Some(1), "{what}: {text}");
        assert_no_secret(&what, &text);
        assert!(text.contains("connection refused"), "{what}: {text}");
        assert!(
            text.contains("password=***&sslpassword=***"),
            "{what}: {text}"
        );
    }
}

#[test]
fn a_working_postgres_store_url_shows_no_secret_in_any_output() {
    let Some(base) = crate::postgres::fresh_database() else {
        return;
    };
    let store = with_secrets(&base);
    let env = TestEnv::new();
    let mut outputs = Vec::new();
    for logs in LOGS {
        let address = format!("127.0.0.1:{}", free_port());
        let mut command = env.cer_process();
        command
            .env("CER_TOKEN", env.sandbox.issue_token(None))
            .env("LOG_LEVEL", "trace")
            .args(logs)
            .args(["listen", "--json", "--store", &store, "--metrics", &address]);
        let mut running = Running::start(command);
        running.wait_for_stderr("Ready", crate::harness::READY);
        env.place_calls(1);
        let printed = running.stdout_lines(1, Duration::from_secs(20));
        assert_eq!(printed.len(), 1, "{}", running.stderr_seen.join("\n"));
        for page in ["metrics", "healthz"] {
            let url = format!("http://{address}/{page}");
            let body = env.block_on(async { reqwest::get(url).await.unwrap().text().await });
            outputs.push((format!("/{page}"), body.unwrap()));
        }
        let (rest, stderr) = running.stop();
        let text = format!(
            "{}\n{}\n{}",
            printed.join("\n"),
            rest.join("\n"),
            stderr.join("\n")
        );
        outputs.push((format!("listen {logs:?}"), text));
        for command in [
            &["deliveries"][..],
            &["deliveries", "--json"],
            &["deliveries", "--failed"],
            &["sync", "--since", "1h"],
        ] {
            let output = env
                .cer_with_token()
                .env("LOG_LEVEL", "trace")
                .args(logs)
                .args(command)
                .args(["--store", &store])
                .output()
                .unwrap();
            let what = format!("{command:?} {logs:?}");
            let text = format!("{}{}", stdout_of(&output), stderr_of(&output));
            assert!(output.status.success(), "{what}: {text}");
            outputs.push((what, text));
        }
    }
    for (what, text) in &outputs {
        assert_no_secret(what, text);
    }
}
