//! Issue 9: cer against hostile input and a misbehaving server. Each test here failed before
//! its fix; the hostile server lives in `hostile.rs`.

use std::collections::HashSet;
use std::time::Duration;

use crate::harness::{TestEnv, json_lines};
use crate::hostile::Hostile;
use crate::snapshot::{self, Filters, assert_filtered};

/// The call every `fetch` here asks for.
const FETCH: [&str; 2] = ["fetch", "29a1c77a-e52a-3764-8606-8b02b1277be8"];

/// Pins what a person reads of a run, in the calling test's snapshot: the transcript through
/// the test world's filters, and the moment a corrupt file was set aside (in its name) and
/// the process's number (in a probe file's).
macro_rules! pin {
    ($env:expr, $args:expr, $output:expr) => {{
        let filters = Filters::of($env)
            .pattern(r"\.corrupt-[0-9TZ:.-]+", ".corrupt-[WHEN]")
            .pattern(r"\.probe\d+", ".probe[PID]");
        assert_filtered!(filters, snapshot::of_output($args, $output));
    }};
}

const ARRIVE: Duration = Duration::from_secs(20);

fn cursor_file(env: &TestEnv) -> std::path::PathBuf {
    std::fs::create_dir_all(env.state_dir()).unwrap();
    env.state_dir()
        .join(format!("cursor-{}.json", env.sandbox.account_key()))
}

fn ids_of(lines: &[String]) -> HashSet<String> {
    json_lines(lines)
        .iter()
        .map(|r| r["conversationSpaceId"].as_str().unwrap().to_string())
        .collect()
}

// Before: a cursor a day ahead was believed, the backfill started tomorrow and the calls that
// ended while cer was down were never printed.
#[test]
fn a_cursor_in_the_future_is_clamped_and_the_gap_backfilled() {
    let env = TestEnv::new();
    let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let key = env.sandbox.account_key();
    let record =
        serde_json::json!({"accountKey": key, "cursor": tomorrow.to_string(), "recent": {}});
    std::fs::write(cursor_file(&env), record.to_string()).unwrap();
    let missed: HashSet<String> = (0..2)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    let mut running = env.listen(&[]);
    let lines = running.stdout_until(ARRIVE, |lines| ids_of(lines).len() >= 2);
    assert_eq!(ids_of(&lines), missed, "{}", running.stderr_seen.join("\n"));
    assert!(
        running
            .stderr_seen
            .iter()
            .any(|l| l.contains("later than now"))
    );
    running.signal("TERM");
    let _ = running.wait(Duration::from_secs(10));
}

// Before: an unreadable cursor file was replaced by "now" without a copy, losing the calls
// that ended while cer was down.
#[test]
fn a_corrupt_cursor_is_kept_aside_and_listen_asks_for_since() {
    let env = TestEnv::new();
    let path = cursor_file(&env);
    std::fs::write(&path, "{\"accountKey\": \u{0}garbage").unwrap();
    let output = env
        .cer_with_token()
        .arg("listen")
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    pin!(&env, &["listen"], &output);
    let copies = std::fs::read_dir(env.state_dir())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains(".corrupt-")
        })
        .count();
    assert!(copies >= 1, "no copy of the bad record was kept");
    let missed = env.sandbox.place_call().conversation_space_id;
    let mut running = env.listen(&["--since", "1h"]);
    let lines = running.stdout_until(ARRIVE, |lines| ids_of(lines).contains(&missed));
    assert!(ids_of(&lines).contains(&missed));
    running.signal("TERM");
    let _ = running.wait(Duration::from_secs(10));
}

// Before: `fetch` printed a report about another call (exit 0) as the one asked for.
#[test]
fn fetch_refuses_a_report_about_another_call() {
    let env = TestEnv::new();
    let router = axum::Router::new().route(
        "/call-events-report/v1/reports/{id}",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({
                "conversationSpaceId": "00000000-0000-3000-8000-000000000000",
                "callEnded": "2026-11-24T10:00:00Z"
            }))
        }),
    );
    let hostile = Hostile::serve(&env, router);
    let output = hostile
        .cer(&env)
        .args(FETCH)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    pin!(&env, &FETCH, &output);
    assert_eq!(hostile.hits(), 3, "asked again before giving up");
}

// Before: reports still queued for a webhook at shutdown were dropped without a word. Now the
// outbox keeps them (issue 12) and shutdown says how many wait for the next run.
#[test]
fn shutdown_says_how_many_reports_the_webhooks_did_not_get() {
    let env = TestEnv::new();
    let stuck =
        axum::Router::new().route("/calls", axum::routing::post(std::future::pending::<()>));
    let webhook = Hostile::serve(&env, stuck);
    let url = format!("{}/calls", webhook.base);
    let mut running = env.listen(&["--forward-to", &url]);
    for _ in 0..2 {
        env.sandbox.place_call();
    }
    let lines = running.stdout_until(ARRIVE, |lines| lines.len() >= 2);
    assert_eq!(lines.len(), 2);
    running.signal("TERM");
    let (code, _, stderr) = running.wait(Duration::from_secs(20));
    assert_eq!(code, Some(0));
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("2 deliveries are still pending in the store")),
        "{}",
        stderr.join("\n")
    );
}

// Before: `logout` said "Not logged in" and exited 0 while the credentials stayed on disk.
#[test]
fn logout_that_cannot_delete_says_so_and_fails() {
    let env = TestEnv::new();
    let blocked = env.config_dir().join("credentials.json");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    let output = env.cer().arg("logout").output().unwrap();
    pin!(&env, &["logout"], &output);
}

// Before: any request to the redirect path ended `login`: one with a wrong state, or an
// `error=` without a state (whose description was then printed raw).
#[test]
fn only_a_redirect_with_the_right_state_ends_the_login() {
    let env = TestEnv::new();
    let port = crate::harness::free_port();
    let script = "#!/bin/sh\n\
        loc=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\")\n\
        base=${loc%%\\?*}\n\
        curl -s -o /dev/null \"$base?error=access_denied&error_description=%1B%5D0%3Bpwned%07\"\n\
        curl -s -o /dev/null \"$(echo \"$loc\" | sed 's/state=[^&]*/state=forged/')\"\n\
        curl -s -o /dev/null \"$loc\"\n";
    let browser = crate::harness::write_script(env.dir.path(), "forger.sh", script);
    let output = env
        .cer()
        .args(["login", "--timeout", "10", "--redirect-uri"])
        .arg(format!("http://127.0.0.1:{port}/app/redirect"))
        .env("BROWSER", browser)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    let token_requests = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/token"))
        .count();
    assert_eq!(token_requests, 1);
}

// Before: a bad HTTPS_PROXY was quoted with its password.
#[test]
fn a_bad_proxy_url_is_quoted_without_its_password() {
    let env = TestEnv::new();
    let output = env
        .cer_with_token()
        .args(["fetch", "29a1c77a-e52a-3764-8606-8b02b1277be8"])
        .env("HTTPS_PROXY", "http://bob:hunter2@[::1")
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert!(!stderr.contains("hunter2"), "{stderr}");
    pin!(&env, &FETCH, &output);
}

// Before: a server's error body reached the terminal raw: `ESC[2J` cleared the screen.
#[test]
fn a_servers_error_body_is_escaped_on_stderr() {
    let env = TestEnv::new();
    let router = axum::Router::new().route(
        "/call-events-report/v1/reports/{id}",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                "\u{1b}[2J\u{1b}]0;pwned\u{7}\nerror: fake line",
            )
        }),
    );
    let hostile = Hostile::serve(&env, router);
    let output = hostile
        .cer(&env)
        .args(["fetch", "29a1c77a-e52a-3764-8606-8b02b1277be8"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    pin!(&env, &FETCH, &output);
}

/// A summaries endpoint that answers `page(query, n)` to its n-th request (0-based).
fn summaries_server(env: &TestEnv, page: fn(&str, usize) -> (u16, serde_json::Value)) -> Hostile {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let router = axum::Router::new().route(
        "/call-events-report/v1/report-summaries",
        axum::routing::get(move |query: axum::extract::RawQuery| {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (status, body) = page(&query.0.unwrap_or_default(), n);
            async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    axum::Json(body),
                )
            }
        }),
    );
    Hostile::serve(env, router)
}

fn row(n: usize) -> serde_json::Value {
    serde_json::json!({"conversationSpaceId": format!("id-{n}"), "callEnded": "2026-11-20T10:00:00Z"})
}

// Before: markers that cycle (A, B, A, B…) paged forever, printing every row again and again.
#[test]
fn summaries_stop_on_a_page_marker_seen_before() {
    let env = TestEnv::new();
    let hostile = summaries_server(&env, |_, n| {
        let marker = if n % 2 == 0 { "A" } else { "B" };
        (
            200,
            serde_json::json!({"nextPageMarker": marker, "items": [row(n)]}),
        )
    });
    let output = hostile
        .cer(&env)
        .args(["summaries", "--day", "2026-11-20", "--json"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("page marker"), "{stderr}");
    assert_eq!(hostile.hits(), 3, "A, B, then A again: stop");
}

// Before: pageSize=1000 was always sent; a GoTo whose cap is lower failed every time.
#[test]
fn a_refused_page_size_falls_back_once_to_gotos_default() {
    let env = TestEnv::new();
    let hostile = summaries_server(&env, |query, n| {
        if query.contains("pageSize") {
            return (
                400,
                serde_json::json!({"errorCode": "INVALID", "message": "pageSize"}),
            );
        }
        let next = if n < 2 {
            serde_json::json!("p2")
        } else {
            serde_json::json!(null)
        };
        (
            200,
            serde_json::json!({"nextPageMarker": next, "items": [row(n)]}),
        )
    });
    let output = hostile
        .cer(&env)
        .args(["summaries", "--day", "2026-11-20", "--json"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(crate::harness::stdout_of(&output).lines().count(), 2);
    assert_eq!(hostile.hits(), 3, "one refusal, then two pages");
    // A size the user chose is theirs: its refusal is reported, not dropped.
    hostile
        .cer(&env)
        .args([
            "summaries",
            "--day",
            "2026-11-20",
            "--json",
            "--page-size",
            "500",
        ])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1);
}

// Before: an endless report body grew cer to 3.7 GB and ended in an allocation failure with a
// backtrace.
#[test]
fn an_endless_body_ends_in_a_clear_error() {
    let env = TestEnv::new();
    let router = axum::Router::new().route(
        "/call-events-report/v1/reports/{id}",
        axum::routing::get(|| async {
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let endless =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            axum::body::Body::from_stream(endless)
        }),
    );
    let hostile = Hostile::serve(&env, router);
    let output = hostile
        .cer(&env)
        .args(["fetch", "29a1c77a-e52a-3764-8606-8b02b1277be8"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    pin!(&env, &FETCH, &output);
    assert_eq!(
        hostile.hits(),
        1,
        "a body that is too large is not asked for again"
    );
}

// Before: a flood of junk frames wrote one WARN line each.
#[test]
fn a_flood_of_junk_frames_warns_once() {
    let env = TestEnv::new();
    let mut running = env.listen(&[]);
    for _ in 0..50 {
        env.sandbox.faults().send_malformed_frame();
    }
    let call = env.sandbox.place_call().conversation_space_id;
    let lines = running.stdout_until(ARRIVE, |lines| ids_of(lines).contains(&call));
    assert!(ids_of(&lines).contains(&call), "listening went on");
    running.signal("TERM");
    let (_, _, stderr) = running.wait(Duration::from_secs(10));
    let warnings = stderr.iter().filter(|l| l.contains("cannot read")).count();
    assert_eq!(warnings, 1, "{}", stderr.join("\n"));
}

/// A report endpoint that answers 429 with `retry_after` to its first `limited` requests,
/// then the report asked for.
fn rate_limiting_server(env: &TestEnv, limited: usize, retry_after: &'static str) -> Hostile {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let router = axum::Router::new().route(
        "/call-events-report/v1/reports/{id}",
        axum::routing::get(
            move |axum::extract::Path(id): axum::extract::Path<String>| {
                let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move {
                    if n < limited {
                        return axum::response::IntoResponse::into_response((
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", retry_after)],
                            "slow down",
                        ));
                    }
                    axum::response::IntoResponse::into_response(axum::Json(
                        serde_json::json!({"conversationSpaceId": id}),
                    ))
                }
            },
        ),
    );
    Hostile::serve(env, router)
}

// Before: `Retry-After: 999999` was clipped to 60 s and honoured 12 times (12 minutes).
#[test]
fn endless_rate_limiting_ends_within_the_total_wait() {
    let env = TestEnv::new();
    let hostile = rate_limiting_server(&env, usize::MAX, "999999");
    hostile
        .cer(&env)
        .args(["fetch", "29a1c77a-e52a-3764-8606-8b02b1277be8"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("429"));
    // At the tests' scale the waits are clipped to 1.2 s and the whole request to 6 s: four
    // or five waits (attempts take time too), then it gives up; before, 13 attempts in 14 s.
    let hits = hostile.hits();
    assert!((4..=6).contains(&hits), "{hits} attempts");
}

// Before: cer waited on GoTo in silence at the default log level.
#[test]
fn a_long_wait_on_goto_is_announced() {
    let env = TestEnv::new();
    let hostile = rate_limiting_server(&env, 1, "2");
    let output = hostile
        .cer(&env)
        .env_remove("CER_RETRY_BASE_MS")
        .args(FETCH)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    pin!(&env, &FETCH, &output);
}

// Before: the credentials lock waited forever behind a stuck or suspended cer.
#[test]
fn a_credentials_lock_held_by_a_stuck_cer_times_out() {
    let env = TestEnv::new();
    env.login();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.config_dir().join("credentials.lock"))
        .unwrap();
    held.lock().unwrap();
    env.sandbox.faults().expire_tokens();
    let started = std::time::Instant::now();
    let output = env
        .cer()
        .args(FETCH)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    pin!(&env, &FETCH, &output);
    assert!(started.elapsed() < Duration::from_secs(25));
    drop(held);
}

// Before: these listen flags went through to GoTo (or to an empty subscription).
#[test]
fn listen_inputs_are_checked_before_any_request() {
    let env = TestEnv::new();
    for args in [
        &["--event-types", ",,,"][..],
        &["--account-key", ""],
        &["--since", "99999w"],
    ] {
        env.cer_with_token()
            .arg("listen")
            .args(args)
            .timeout(Duration::from_secs(10))
            .assert()
            .code(2);
    }
    assert!(env.sandbox.requests().is_empty());
}

// Before: `listen | head -1` kept running until the next report failed to write.
#[test]
fn listen_stops_soon_after_its_reader_goes() {
    let env = TestEnv::new();
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .arg("listen")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = std::io::BufRead::lines(stderr);
    assert!(lines.any(|l| l.unwrap().contains("Ready")));
    drop(stdout);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        env.sandbox.channels().is_empty(),
        "cleaned up on the way out"
    );
}

// Before: a 4xx on the undocumented subscription listing was retried every minute forever.
#[test]
fn a_refused_subscription_listing_ends_the_checks_with_one_warning() {
    let env = TestEnv::new();
    let mut running = env.listen(&[]);
    env.sandbox
        .faults()
        .fail_next_on("/call-events-report/v1/subscriptions", 1, 400);
    let listings = || {
        env.sandbox
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET" && r.path.starts_with("/call-events-report/v1/subscriptions")
            })
            .count()
    };
    // Checks come every 3 s at the tests' time scale: wait for the refused one, then two more.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while listings() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(listings(), 1, "no listing after the refusal");
    let call = env.sandbox.place_call().conversation_space_id;
    let lines = running.stdout_until(ARRIVE, |lines| ids_of(lines).contains(&call));
    assert!(ids_of(&lines).contains(&call));
    running.signal("TERM");
    let (_, _, stderr) = running.wait(Duration::from_secs(10));
    let warnings = stderr
        .iter()
        .filter(|l| l.contains("cannot check the subscriptions"))
        .count();
    assert_eq!(warnings, 1, "{}", stderr.join("\n"));
}

// Before: on WEBSOCKET_TO_BE_CLOSED cer reconnected to the same channel; GoTo's guide says a
// new channel may be needed, and once the simulator retired the old one, cer lost it.
#[test]
fn to_be_closed_moves_to_a_new_channel_before_leaving_the_old() {
    let env = TestEnv::new();
    let mut running = env.listen(&[]);
    let old: Vec<String> = env
        .sandbox
        .channels()
        .iter()
        .map(|c| c.channel_id.clone())
        .collect();
    assert_eq!(old.len(), 1);
    env.sandbox.faults().send_to_be_closed();
    let mut expected: HashSet<String> = HashSet::new();
    for _ in 0..3 {
        expected.insert(env.sandbox.place_call().conversation_space_id);
        std::thread::sleep(Duration::from_millis(400));
    }
    // Past the grace: the old channel is retired (waited for, not slept), the new one
    // carries on.
    let retired = crate::probe::eventually(Duration::from_secs(10), || {
        let now = env.sandbox.channels();
        now.len() == 1 && now[0].channel_id != old[0]
    });
    assert!(retired, "{:?}", env.sandbox.channels());
    expected.insert(env.sandbox.place_call().conversation_space_id);
    let lines = running.stdout_until(ARRIVE, |lines| expected.is_subset(&ids_of(lines)));
    assert_eq!(
        ids_of(&lines),
        expected,
        "{}",
        running.stderr_seen.join("\n")
    );
    let now: Vec<String> = env
        .sandbox
        .channels()
        .iter()
        .map(|c| c.channel_id.clone())
        .collect();
    assert_eq!(now.len(), 1, "the old channel was deleted: {now:?}");
    assert_ne!(now, old);
    running.signal("TERM");
    let (_, _, stderr) = running.wait(Duration::from_secs(10));
    assert!(
        !stderr.iter().any(|l| l.contains("reconnecting")),
        "{}",
        stderr.join("\n")
    );
}

// Before: a GoTo that did not answer left `fetch` silent until the request timed out.
#[test]
fn a_late_answer_is_announced_while_cer_waits() {
    let env = TestEnv::new();
    // The answer is held until cer has said it waits for it (no fixed delay to outlast).
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let held = release.clone();
    let router = axum::Router::new().route(
        "/call-events-report/v1/reports/{id}",
        axum::routing::get(
            move |axum::extract::Path(id): axum::extract::Path<String>| async move {
                held.notified().await;
                axum::Json(serde_json::json!({"conversationSpaceId": id}))
            },
        ),
    );
    let hostile = Hostile::serve(&env, router);
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .env("CER_API_BASE", &hostile.base)
        .env("CER_AUTH_BASE", &hostile.base)
        .args(FETCH);
    let mut running = crate::harness::Running::start(command);
    running.wait_for_stderr("GoTo has not answered GET", Duration::from_secs(20));
    release.notify_one();
    let (code, stdout, stderr) = running.wait(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{}", stderr.join("\n"));
    assert_eq!(stdout.len(), 1, "the report, once it came: {stdout:?}");
}

// Before: an unwritable config folder was found only after the browser round-trip.
#[test]
fn login_checks_where_tokens_go_before_opening_the_browser() {
    let env = TestEnv::new();
    std::fs::write(env.config_dir(), "a file where the folder should be").unwrap();
    let port = crate::harness::free_port();
    let output = env
        .cer()
        .args(["login", "--timeout", "10", "--redirect-uri"])
        .arg(format!("http://127.0.0.1:{port}/app/redirect"))
        .env("BROWSER", crate::harness::browser_script(env.dir.path()))
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    pin!(&env, &["login"], &output);
    assert!(env.sandbox.requests().is_empty(), "no browser round-trip");
}

// Before: `--env-file /dev/zero` ran out of memory and aborted with a backtrace.
#[test]
fn an_endless_env_file_is_a_usage_error() {
    let env = TestEnv::new();
    let args = ["--env-file", "/dev/zero", "status"];
    let output = env
        .cer()
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    pin!(&env, &args, &output);
}
