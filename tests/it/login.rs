//! `cer login`, `status`, `token`, `logout`: the browser flow against the simulator, with the
//! redirect listener's checks, the storage rules, and no secret in any output.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use predicates::prelude::*;

use crate::harness::{
    Running, TestEnv, browser_script, free_port, stderr_of, stdout_of, write_script,
};
use crate::snapshot::{self, Filters, assert_filtered};

/// The test world's filters, and what a login draws at random or reads from the clock.
fn login_filters(env: &TestEnv) -> Filters {
    Filters::of(env)
        .pattern(r"(state|code_challenge)=[A-Za-z0-9_~.-]+", "$1=[RANDOM]")
        .pattern(r"expires .*", "expires [WHEN]")
}

/// The transcript of `cer login` by [`login_with`], through [`login_filters`].
fn login_transcript(env: &TestEnv, output: &std::process::Output) -> String {
    login_filters(env).apply(&snapshot::of_output(&["login"], output))
}

fn redirect(port: u16) -> String {
    format!("http://127.0.0.1:{port}/app/redirect")
}

/// `cer login` on a fresh port with the given `$BROWSER` script body.
fn login_with(env: &TestEnv, script: &str, extra: &[&str]) -> std::process::Output {
    let port = free_port();
    let browser = write_script(env.dir.path(), "custom-browser.sh", script);
    env.cer()
        .args([
            "login",
            "--timeout",
            "10",
            "--redirect-uri",
            &redirect(port),
        ])
        .args(extra)
        .env("BROWSER", browser)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap()
}

fn token_requests(env: &TestEnv) -> usize {
    env.sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count()
}

#[test]
fn logs_in_stores_0600_and_reports_status() {
    let env = TestEnv::new();
    env.login();
    let file = env.config_dir().join("credentials.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let logged_in = env.cer().arg("status").output().unwrap();
    let token = stdout_of(&env.cer().arg("token").output().unwrap());
    assert_eq!(token.lines().count(), 1);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(stored.contains(token.trim()));
    let logout = env.cer().arg("logout").output().unwrap();
    assert!(!file.exists());
    let logged_out = env.cer().arg("status").output().unwrap();
    assert_filtered!(
        login_filters(&env),
        snapshot::of_output(&["status"], &logged_in)
            + &snapshot::of_output(&["logout"], &logout)
            + &snapshot::of_output(&["status"], &logged_out)
    );
}

#[test]
fn the_url_is_printed_and_the_port_bound_first() {
    let env = TestEnv::new();
    let port = free_port();
    let mut command = env.cer_process();
    command.args(["login", "--timeout", "5", "--redirect-uri", &redirect(port)]);
    let mut running = Running::start(command);
    running.wait_for_stderr("/oauth/authorize?", Duration::from_secs(5));
    let url = running
        .stderr_seen
        .iter()
        .find(|l| l.contains("/oauth/authorize?"))
        .unwrap()
        .trim()
        .to_string();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
        "the port is bound"
    );
    for part in [
        "response_type=code",
        "client_id=",
        "redirect_uri=",
        "code_challenge_method=S256",
        "code_challenge=",
        "cr.v1.read",
    ] {
        assert!(url.contains(part), "{part} missing from {url}");
    }
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        state.len() >= 22,
        "state {state:?} is shorter than 128 bits"
    );
    let (code, _, stderr) = running.wait(Duration::from_secs(10));
    assert_eq!(code, Some(1));
    assert!(
        stderr.iter().any(|l| l.contains("within 5 s")),
        "{stderr:?}"
    );
}

#[test]
fn a_wrong_state_is_rejected_without_a_token_request() {
    let env = TestEnv::new();
    let script = "#!/bin/sh\nloc=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\")\ncurl -s -o /dev/null \"$(echo \"$loc\" | sed 's/state=[^&]*/state=forged/')\"\n";
    let output = login_with(&env, script, &[]);
    insta::assert_snapshot!(login_transcript(&env, &output));
    assert_eq!(token_requests(&env), 0);
}

#[test]
fn a_redirect_without_code_is_rejected() {
    let env = TestEnv::new();
    let script = "#!/bin/sh\nloc=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\")\ncurl -s -o /dev/null \"$(echo \"$loc\" | sed 's/code=[^&]*//')\"\n";
    let output = login_with(&env, script, &[]);
    insta::assert_snapshot!(login_transcript(&env, &output));
    assert_eq!(token_requests(&env), 0);
}

#[test]
fn access_denied_is_reported() {
    let env = TestEnv::new();
    env.sandbox.faults().deny_next_authorize();
    let output = login_with(
        &env,
        "#!/bin/sh\nexec curl -s -L -o /dev/null \"$1\"\n",
        &[],
    );
    insta::assert_snapshot!(login_transcript(&env, &output));
}

#[test]
fn other_paths_methods_and_a_second_redirect_do_not_disturb_it() {
    let env = TestEnv::new();
    let script = "#!/bin/sh\nloc=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\")\nbase=${loc%%/app/redirect*}\ncurl -s -o /dev/null \"$base/favicon.ico\"\ncurl -s -o /dev/null -X POST \"$loc\"\ncurl -s -o /dev/null \"$loc\"\ncurl -s -o /dev/null \"$loc\" || true\n";
    let output = login_with(&env, script, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(token_requests(&env), 1);
}

#[test]
fn a_busy_port_names_the_port_and_no_browser() {
    let env = TestEnv::new();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let output = env
        .cer()
        .args(["login", "--redirect-uri", &redirect(port)])
        .output()
        .unwrap();
    // The port, named: the snapshot shows where it stands.
    let filters = Filters::default()
        .literal(&port.to_string(), "[BUSY]")
        .world(&env);
    assert_filtered!(filters, snapshot::of_output(&["login"], &output));
}

#[test]
fn no_browser_reads_the_pasted_address() {
    let env = TestEnv::new();
    let mut command = env.cer_process();
    command.args(["login", "--no-browser", "--timeout", "10"]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let url = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("/oauth/authorize?"))
        .unwrap();
    let location = env.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = client.get(url.trim()).send().await.unwrap();
        answer.headers()["location"].to_str().unwrap().to_string()
    });
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{location}").unwrap();
    assert!(child.wait().unwrap().success());
    env.cer().arg("status").assert().success();
}

#[test]
fn garbage_pasted_with_no_browser_is_a_clear_error() {
    let env = TestEnv::new();
    let args = ["login", "--no-browser", "--timeout", "5"];
    let mut seen = String::new();
    for pasted in ["hello there\n", ""] {
        let output = env.cer().args(args).write_stdin(pasted).output().unwrap();
        seen.push_str(&format!("pasted: {pasted:?}\n"));
        seen.push_str(&snapshot::of_output(&args, &output));
    }
    assert_filtered!(login_filters(&env), seen);
}

#[test]
fn token_endpoint_failures_are_clear() {
    let mut seen = String::new();
    for fault in ["400", "401", "500", "garbage"] {
        let env = TestEnv::new();
        let faults = env.sandbox.faults();
        match fault {
            "garbage" => faults.garbage_next_on("/oauth/token", 1),
            status => faults.fail_next_on("/oauth/token", 10, status.parse().unwrap()),
        }
        let output = login_with(
            &env,
            "#!/bin/sh\nexec curl -s -L -o /dev/null \"$1\"\n",
            &[],
        );
        seen.push_str(&format!(
            "fault: {fault}\n{}",
            login_transcript(&env, &output)
        ));
    }
    insta::assert_snapshot!(seen);
}

#[test]
fn an_unwritable_config_folder_is_a_clear_error() {
    let env = TestEnv::new();
    let blocker = env.dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let output = env
        .cer()
        .env("CER_CONFIG_DIR", blocker.join("cer"))
        .args([
            "login",
            "--timeout",
            "10",
            "--redirect-uri",
            &redirect(free_port()),
        ])
        .env("BROWSER", browser_script(env.dir.path()))
        .output()
        .unwrap();
    // Issue 9: found before the browser round-trip, as a usage error. The file that probes
    // the folder is named after the process.
    let filters = Filters::of(&env).pattern(r"\.probe\d+", ".probe[PID]");
    assert_filtered!(filters, snapshot::of_output(&["login"], &output));
    assert!(env.sandbox.requests().is_empty(), "no browser round-trip");
}

#[test]
fn a_loose_credentials_file_is_tightened_with_a_warning() {
    let env = TestEnv::new();
    env.login();
    let file = env.config_dir().join("credentials.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = env.cer().arg("status").output().unwrap();
    assert_filtered!(
        login_filters(&env),
        snapshot::of_output(&["status"], &output)
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_corrupt_credentials_file_is_a_clear_error() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(env.config_dir().join("credentials.json"), "{ not json").unwrap();
    let output = env.cer().arg("status").output().unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&["status"], &output));
}

#[test]
fn missing_client_variables_are_named() {
    let env = TestEnv::new();
    let output = env
        .cer()
        .env_remove("OAUTH_CLIENT_SECRET")
        .arg("login")
        .output()
        .unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&["login"], &output));
}

#[test]
fn sandbox_status_and_token_need_no_login() {
    let env = TestEnv::new();
    let args = ["--sandbox", "status"];
    let output = env.cer().args(args).output().unwrap();
    assert_filtered!(login_filters(&env), snapshot::of_output(&args, &output));
    let token = stdout_of(&env.cer().args(["--sandbox", "token"]).output().unwrap());
    assert_eq!(token.lines().count(), 1);
    assert!(!token.trim().is_empty());
}

// Regression: `cer --sandbox logout` deleted the real stored tokens.
#[test]
fn sandbox_logout_leaves_the_real_login_alone() {
    let env = TestEnv::new();
    env.login();
    env.cer().args(["--sandbox", "logout"]).assert().success();
    assert!(env.config_dir().join("credentials.json").exists());
    env.cer().arg("status").assert().success();
}

#[test]
fn cer_token_bypasses_the_store() {
    let env = TestEnv::new();
    env.cer()
        .env("CER_TOKEN", "given")
        .arg("token")
        .assert()
        .success()
        .stdout("given\n");
    let output = env
        .cer()
        .env("CER_TOKEN", "given")
        .arg("status")
        .output()
        .unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&["status"], &output));
}

#[test]
fn two_processes_refreshing_at_once_keep_a_working_refresh_token() {
    let env = TestEnv::new();
    env.login();
    env.sandbox.faults().expire_tokens();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut command = env.cer_process();
            command
                .arg("token")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    env.sandbox.faults().expire_tokens();
    env.cer().arg("token").assert().success();
}

#[test]
fn no_secret_reaches_any_output_at_trace_level() {
    let env = TestEnv::new();
    let log = env.dir.path().join("visited.txt");
    let script = format!(
        "#!/bin/sh\ncurl -s -L -o /dev/null -w '%{{url_effective}}' \"$1\" > '{}'\n",
        log.display()
    );
    let login = login_with(&env, &script, &["-vv"]);
    assert!(login.status.success(), "{}", stderr_of(&login));
    let visited = std::fs::read_to_string(&log).unwrap();
    let code = visited
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("credentials.json")).unwrap(),
    )
    .unwrap();
    let mut secrets = vec![code, env.sandbox.client_secret().to_string()];
    secrets.push(stored["refresh_token"].as_str().unwrap().to_string());
    let access = stored["access_token"].as_str().unwrap().to_string();
    let id = env.sandbox.place_call().conversation_space_id;
    let mut outputs = vec![login];
    for args in [
        &["status"][..],
        &["summaries", "--since", "1h"],
        &["fetch", &id],
        &["token"],
        &["logout"],
    ] {
        outputs.push(
            env.cer()
                .env("LOG_LEVEL", "trace")
                .args(args)
                .output()
                .unwrap(),
        );
    }
    for (i, output) in outputs.iter().enumerate() {
        let text = format!("{}{}", stdout_of(output), stderr_of(output));
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "output {i} leaks a secret:\n{text}"
            );
        }
        let is_token_command = i == 4;
        if !is_token_command {
            assert!(
                !text.contains(&access),
                "output {i} leaks the access token:\n{text}"
            );
        } else {
            assert!(!stderr_of(output).contains(&access));
        }
    }
}

/// A session bus that accepts connections and never answers: a wedged keyring.
fn wedged_bus(env: &TestEnv) -> String {
    let path = env.dir.path().join("bus.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("unix:path={}", path.display())
}

#[test]
fn a_keyring_that_never_answers_costs_seconds_not_forever() {
    let env = TestEnv::new();
    let bus = wedged_bus(&env);
    let started = std::time::Instant::now();
    env.cer()
        .env("CER_KEYRING", "1")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .arg("status")
        .timeout(Duration::from_secs(20))
        .assert()
        .code(4);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let output = env
        .cer()
        .env("CER_KEYRING", "1")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .args([
            "login",
            "--timeout",
            "10",
            "--redirect-uri",
            &redirect(free_port()),
        ])
        .env("BROWSER", browser_script(env.dir.path()))
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("keyring"),
        "{}",
        stderr_of(&output)
    );
    assert!(env.config_dir().join("credentials.json").exists());
}

#[test]
fn listen_at_trace_level_leaks_no_token() {
    let env = TestEnv::new();
    env.login();
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("credentials.json")).unwrap(),
    )
    .unwrap();
    let mut command = env.cer_process();
    command.env("LOG_LEVEL", "trace").arg("listen");
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", Duration::from_secs(15));
    env.sandbox.faults().expire_tokens();
    env.sandbox.place_call();
    let lines = running.stdout_lines(1, Duration::from_secs(15));
    assert_eq!(lines.len(), 1);
    running.signal("TERM");
    let (code, rest, stderr) = running.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    let text = format!(
        "{}\n{}\n{}",
        lines.join("\n"),
        rest.join("\n"),
        stderr.join("\n")
    );
    for secret in [&stored["access_token"], &stored["refresh_token"]] {
        assert!(
            !text.contains(secret.as_str().unwrap()),
            "a token leaked:\n{text}"
        );
    }
    assert!(!text.contains(env.sandbox.client_secret()));
    let fresh: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("credentials.json")).unwrap(),
    )
    .unwrap();
    assert_ne!(
        fresh["access_token"], stored["access_token"],
        "the token was refreshed mid-stream"
    );
    assert!(!text.contains(fresh["access_token"].as_str().unwrap()));
    assert!(!text.contains(fresh["refresh_token"].as_str().unwrap()));
}

#[test]
fn status_and_token_need_no_oauth_variables_until_a_refresh() {
    let env = TestEnv::new();
    env.cer()
        .env_remove("OAUTH_CLIENT_ID")
        .env_remove("OAUTH_CLIENT_SECRET")
        .arg("status")
        .assert()
        .code(4);
    env.login();
    env.cer()
        .env_remove("OAUTH_CLIENT_ID")
        .env_remove("OAUTH_CLIENT_SECRET")
        .arg("token")
        .assert()
        .success();
    env.sandbox.faults().expire_tokens();
    let id = env.sandbox.place_call().conversation_space_id;
    env.cer()
        .env_remove("OAUTH_CLIENT_SECRET")
        .args(["fetch", &id])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(
                "OAUTH_CLIENT_SECRET not set, and the stored access token needs a refresh",
            )
            .and(predicate::str::contains(
                "hint: set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET",
            ))
            .and(predicate::str::contains(".env.example").not()),
        );
}
