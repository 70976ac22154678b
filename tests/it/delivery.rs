//! Durable delivery (`listen --forward-to`) against real local receivers that misbehave: 500s,
//! refused connections, answers slower than the timeout, and a receiver down across a `cer`
//! restart. Every report arrives, each `webhook-id` at least once, and the outbox ends empty.
//! Signatures are checked by the `standardwebhooks` crate, an independent implementation.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};

use crate::harness::{Running, TestEnv, free_port, json_lines};
use crate::snapshot::{self, Filters, assert_filtered};

pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How a receiver misbehaves before it accepts.
#[derive(Clone, Copy)]
pub(crate) enum Fault {
    None,
    /// 500 for the first N requests.
    Fail(usize),
    /// Answers the first N requests only after this long (past cer's timeout).
    Hang(usize, Duration),
}

/// One request a receiver saw.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) accepted: bool,
}

/// A local webhook receiver that records every request.
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    /// Starts on `port` (0: any free port).
    pub(crate) fn start(env: &TestEnv, port: u16, fault: Fault) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let record = record.clone();
                async move { answer(record, fault, headers, body.to_vec()).await }
            }),
        );
        let listener = env
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .expect("the receiver binds");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        env.spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    /// The IDs accepted so far (with repeats).
    pub(crate) fn accepted_ids(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.accepted)
            .map(|s| header(&s.headers, "webhook-id"))
            .collect()
    }

    /// Waits until every ID in `wanted` was accepted.
    pub(crate) fn wait_for(&self, wanted: &[String], limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let got: HashSet<String> = self.accepted_ids().into_iter().collect();
            if wanted.iter().all(|id| got.contains(id)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not delivered in {limit:?}: wanted {wanted:?}, got {got:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn answer(
    record: Arc<Mutex<Vec<Seen>>>,
    fault: Fault,
    headers: HeaderMap,
    body: Vec<u8>,
) -> StatusCode {
    let count = record.lock().unwrap().len();
    let (status, delay) = match fault {
        Fault::Fail(n) if count < n => (StatusCode::INTERNAL_SERVER_ERROR, None),
        Fault::Hang(n, delay) if count < n => (StatusCode::OK, Some(delay)),
        _ => (StatusCode::NO_CONTENT, None),
    };
    let accepted = status.is_success() && delay.is_none();
    record.lock().unwrap().push(Seen {
        headers,
        body,
        accepted,
    });
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    status
}

pub(crate) fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn listen(env: &TestEnv, args: &[&str], secret: Option<&str>) -> Running {
    env.listen_with(args, |command| {
        if let Some(secret) = secret {
            command.env("CER_FORWARD_SECRET", secret);
        }
    })
}

/// Reads the printed reports of `calls`, each once.
fn printed(running: &mut Running, calls: &[String]) -> Vec<serde_json::Value> {
    let reports = json_lines(&running.stdout_lines(calls.len(), Duration::from_secs(20)));
    let ids: HashSet<&str> = reports
        .iter()
        .map(|r| r["conversationSpaceId"].as_str().unwrap())
        .collect();
    let wanted: HashSet<&str> = calls.iter().map(String::as_str).collect();
    assert_eq!(ids, wanted, "stderr:\n{}", running.stderr_seen.join("\n"));
    reports
}

/// The outbox as `cer deliveries --json` lists it.
fn outbox(env: &TestEnv) -> Vec<serde_json::Value> {
    let output = env.cer().args(["deliveries", "--json"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    json_lines(
        &String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>(),
    )
}

/// Waits until the outbox is empty (the last deliveries are recorded just after the POST).
fn wait_for_empty_outbox(env: &TestEnv) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !outbox(env).is_empty() {
        assert!(Instant::now() < deadline, "outbox: {:?}", outbox(env));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_receiver_that_fails_at_first_gets_every_report_signed() {
    let env = TestEnv::new();
    let receiver = Receiver::start(&env, 0, Fault::Fail(4));
    let mut running = listen(&env, &["--forward-to", &receiver.url], Some(SECRET));
    let calls = env.place_calls(3);
    let reports = printed(&mut running, &calls);
    receiver.wait_for(&calls, Duration::from_secs(20));
    wait_for_empty_outbox(&env);
    running.stop();

    let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
    let wrong = standardwebhooks::Webhook::new("whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").unwrap();
    let seen = receiver.seen.lock().unwrap().clone();
    assert!(seen.len() >= 3 + 4, "{} requests", seen.len());
    for request in &seen {
        verifier
            .verify(&request.body, &request.headers)
            .expect("a valid Standard Webhooks signature");
        assert!(wrong.verify(&request.body, &request.headers).is_err());
        assert_eq!(header(&request.headers, "content-type"), "application/json");
        assert!(header(&request.headers, "user-agent").starts_with("cer/"));
        // The body is the report exactly as printed, and the ID is its conversationSpaceId.
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let id = header(&request.headers, "webhook-id");
        assert_eq!(body["conversationSpaceId"], id.as_str());
        let report = reports
            .iter()
            .find(|r| r["conversationSpaceId"] == id.as_str())
            .unwrap();
        assert_eq!(request.body, report.to_string().into_bytes());
    }
}

#[test]
fn a_refused_then_hanging_receiver_gets_everything_and_the_outbox_empties() {
    let env = TestEnv::new();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut running = listen(&env, &["--forward-to", &url], None);
    let calls = env.place_calls(3);
    printed(&mut running, &calls);
    // Refused for a while: the deliveries wait in the outbox.
    std::thread::sleep(Duration::from_millis(800));
    let pending = outbox(&env);
    assert_eq!(pending.len(), 3, "{pending:?}");
    assert!(pending.iter().all(|d| d["state"] == "pending"));
    assert!(pending.iter().any(|d| d["attempts"].as_i64().unwrap() >= 1));
    // Then it answers, but its first two answers come long after cer's (scaled) 10 s timeout.
    let receiver = Receiver::start(&env, port, Fault::Hang(2, Duration::from_secs(3)));
    receiver.wait_for(&calls, Duration::from_secs(30));
    wait_for_empty_outbox(&env);
    running.stop();
}

#[test]
fn deliveries_survive_a_restart_while_the_receiver_is_down() {
    let env = TestEnv::new();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut running = listen(&env, &["--forward-to", &url], None);
    let calls = env.place_calls(2);
    printed(&mut running, &calls);
    running.stop();
    assert_eq!(outbox(&env).len(), 2, "pending across the restart");

    let receiver = Receiver::start(&env, port, Fault::None);
    let running = listen(&env, &["--forward-to", &url], None);
    receiver.wait_for(&calls, Duration::from_secs(20));
    wait_for_empty_outbox(&env);
    running.stop();
}

#[test]
fn a_delivery_that_runs_out_of_time_is_failed_and_can_be_retried() {
    let env = TestEnv::new();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut running = listen(&env, &["--forward-to", &url, "--forward-for", "2s"], None);
    let calls = env.place_calls(1);
    printed(&mut running, &calls);
    let deadline = Instant::now() + Duration::from_secs(15);
    while outbox(&env).first().is_none_or(|d| d["state"] != "failed") {
        assert!(
            Instant::now() < deadline,
            "never failed: {:?}",
            outbox(&env)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let failed = env
        .cer()
        .args(["deliveries", "--failed", "--json"])
        .output()
        .unwrap();
    let failed = String::from_utf8_lossy(&failed.stdout).to_string();
    assert!(failed.contains(&calls[0]), "{failed}");
    assert!(
        failed.contains("connection"),
        "the last error is named: {failed}"
    );

    let receiver = Receiver::start(&env, port, Fault::None);
    env.cer().args(["deliveries", "--retry"]).assert().success();
    receiver.wait_for(&calls, Duration::from_secs(20));
    wait_for_empty_outbox(&env);
    let empty = env.cer().args(["deliveries"]).output().unwrap();
    assert_filtered!(
        Filters::of(&env),
        snapshot::of_output(&["deliveries"], &empty)
    );
    let stderr = running.stop().1;
    assert!(
        stderr.iter().any(|l| l.contains("gave up forwarding")),
        "{stderr:?}"
    );
}

#[test]
fn a_terminal_shows_each_delivery_under_its_call_line() {
    let env = TestEnv::new();
    let receiver = Receiver::start(&env, 0, Fault::None);
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .env("CER_FORCE_TTY", "both")
        .env("NO_COLOR", "1")
        .args(["listen", "--forward-to", &receiver.url]);
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", Duration::from_secs(15));
    let calls = env.place_calls(1);
    let lines = running.stdout_lines(2, Duration::from_secs(20));
    assert!(lines[0].contains(&calls[0][..8]), "{lines:?}");
    let expected = format!("  → 204 {} (", crate::targets::shown(&receiver.url));
    assert!(lines[1].starts_with(&expected), "{lines:?}");
    assert!(lines[1].ends_with(" ms)"), "{lines:?}");
    running.stop();
}

/// The shared client skips the platform's roots when the bases are plain http; an https
/// `--forward-to` target still gets a client that verifies against them, so with none to be
/// found `listen` refuses to start rather than forward without verification.
#[test]
fn an_https_target_is_verified_against_the_platform_roots_even_with_http_bases() {
    let env = TestEnv::new();
    let no_roots = env.work_dir().join("no-roots");
    std::fs::create_dir_all(&no_roots).unwrap();
    let output = env
        .cer_with_token()
        .env("SSL_CERT_FILE", no_roots.join("none.pem"))
        .env("SSL_CERT_DIR", &no_roots)
        .args([
            "listen",
            "--json",
            "--forward-to",
            "https://127.0.0.1:9/hook",
        ])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let args = [
        "listen",
        "--json",
        "--forward-to",
        "https://127.0.0.1:9/hook",
    ];
    assert_filtered!(Filters::of(&env), snapshot::of_output(&args, &output));
}

/// Regression (issue 21, point 1): a `--forward-to` URL's user info and query value were
/// printed whole in the "gave up" error, the retry lines, the terminal's delivery line and
/// `cer deliveries`, and kept in clear in the store. None of them may show either secret.
#[test]
fn a_secret_in_a_target_url_reaches_no_output_log_or_store_row() {
    let env = TestEnv::new();
    let receiver = Receiver::start(&env, 0, Fault::Fail(usize::MAX));
    let url = receiver
        .url
        .replace("http://", "http://hook-user:PW-SECRET-1@")
        + "?token=TOKEN-SECRET-2";
    let args = [
        "--forward-to",
        &url,
        "--forward-for",
        "2s",
        "-vv",
        "--metrics",
        "127.0.0.1:0",
    ];
    let mut running = env.listen_with(&args, |command| {
        command.env("CER_FORCE_TTY", "stdout");
    });
    let metrics = crate::probe::served_address(&running);
    let calls = env.place_calls(1);
    running.wait_for_stderr("gave up forwarding", Duration::from_secs(30));
    let scraped = env.block_on(async {
        let answer = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .unwrap();
        answer.text().await.unwrap()
    });
    assert!(scraped.contains("cer_deliveries_total"), "{scraped}");
    let (stdout, stderr) = running.stop();
    let mut seen = stdout.join("\n") + &stderr.join("\n") + &scraped;
    let shown = crate::targets::shown(&url);
    assert!(
        seen.contains(&shown),
        "the target is shown as {shown}: {seen}"
    );
    for args in [
        &["deliveries"][..],
        &["deliveries", "--json"],
        &["-v", "deliveries", "--failed"],
    ] {
        let output = env.cer().args(args).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        seen.push_str(&String::from_utf8_lossy(&output.stdout));
        seen.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    assert!(seen.contains(&calls[0]), "the delivery is listed: {seen}");
    let json = env
        .cer()
        .args(["--log-format", "json", "-vv", "deliveries", "--json"])
        .output()
        .unwrap();
    seen.push_str(&String::from_utf8_lossy(&json.stderr));
    for secret in ["PW-SECRET-1", "TOKEN-SECRET-2"] {
        assert!(!seen.contains(secret), "{secret} shown:\n{seen}");
        for file in ["cer.db", "cer.db-wal"] {
            let bytes = std::fs::read(env.state_dir().join(file)).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret), "{secret} kept in {file}");
        }
    }
    let got = receiver.seen.lock().unwrap();
    assert!(!got.is_empty(), "the receiver was tried with the real URL");
}

/// Regression (issue 21, point 4): after `cer sync`, a `listen --since --forward-to` took the
/// stored reports for delivered and forwarded none of them.
#[test]
fn reports_that_sync_stored_are_forwarded_by_a_later_listen() {
    let env = TestEnv::new();
    let receiver = Receiver::start(&env, 0, Fault::None);
    let calls = env.place_calls(2);
    let sync = env
        .cer_with_token()
        .args(["sync", "--since", "1h"])
        .output()
        .unwrap();
    assert!(sync.status.success(), "{sync:?}");
    assert!(String::from_utf8_lossy(&sync.stderr).contains("Stored 2 new reports"));
    let running = listen(
        &env,
        &["--since", "1h", "--forward-to", &receiver.url],
        None,
    );
    receiver.wait_for(&calls, Duration::from_secs(20));
    let (stdout, _) = running.stop();
    assert!(
        stdout.is_empty(),
        "already stored, so not printed again: {stdout:?}"
    );
    let mut ids = receiver.accepted_ids();
    ids.sort_unstable();
    let mut wanted = calls.clone();
    wanted.sort_unstable();
    assert_eq!(ids, wanted, "each once");
}
