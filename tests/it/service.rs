//! `cer listen` as a service (SPEC section 9): `/metrics` scraped over a real socket and read
//! with an independent Prometheus text parser, `/healthz`, systemd's notify protocol on a real
//! datagram socket, and JSON logs on stderr.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::READY;
use crate::harness::{Running, TestEnv, json_lines};
use crate::probe::{Samples, eventually, healthz, listen_with_metrics, scrape, value};
use crate::snapshot::{self, Filters, assert_filtered};

const ARRIVE: Duration = Duration::from_secs(20);
const CHANNELS: &str = "/notification-channel/v1/channels";

#[test]
fn healthz_is_503_with_the_reason_until_ready_then_200() {
    let env = TestEnv::new();
    env.sandbox.faults().fail_next_on(CHANNELS, 100_000, 503);
    let (mut running, address) = listen_with_metrics(&env, &[]);
    let (status, body) = healthz(&env, &address);
    assert_eq!(status, 503, "{body}");
    assert_ne!(body.trim(), "ok");
    let mut last = String::new();
    let says_why = eventually(Duration::from_secs(5), || {
        last = healthz(&env, &address).1;
        last.contains("Reconnecting") && last.contains("503")
    });
    assert!(says_why, "503 without the reason: {last:?}");
    assert_eq!(value(&scrape(&env, &address), "cer_ready", &[]), 0.0);
    env.sandbox.faults().clear();
    running.wait_for_stderr("Ready", READY);
    assert_eq!(healthz(&env, &address), (200, "ok\n".to_string()));
    assert_eq!(value(&scrape(&env, &address), "cer_ready", &[]), 1.0);
    running.stop();
}

#[test]
fn metrics_count_what_happened_during_a_run_with_faults() {
    let env = TestEnv::new();
    let (good, good_hits) = webhook(&env, 204);
    let (bad, bad_hits) = webhook(&env, 500);
    let mut expected: Vec<String> = (0..2)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    env.sandbox.faults().fail_next_on(CHANNELS, 2, 503);
    let (mut running, address) = listen_with_metrics(
        &env,
        &[
            "--since",
            "1h",
            "--forward-to",
            &good,
            "--forward-to",
            &bad,
            // The failing target gives up soon, so its deliveries are counted as failed.
            "--forward-for",
            "2s",
        ],
    );
    running.wait_for_stderr("Ready", READY);
    let mut lines = running.stdout_lines(2, ARRIVE);
    expected.extend(env.place_calls(2));
    lines.extend(running.stdout_lines(2, ARRIVE));
    env.sandbox.faults().drop_websockets();
    expected.extend(env.place_calls(2));
    lines.extend(running.stdout_lines(2, ARRIVE));
    lines.extend(running.more_stdout(Duration::from_millis(500)));
    let reports = each_once(&running, &lines, &expected);

    let samples = settled_scrape(&env, &address, &good, &bad);
    let live = value(&samples, "cer_reports_total", &[("source", "live")]);
    let backfill = value(&samples, "cer_reports_total", &[("source", "backfill")]);
    assert_eq!(live + backfill, 6.0, "every printed report counted once");
    assert!(
        backfill >= 2.0,
        "the calls from before the start: {samples:#?}"
    );
    assert!(
        live >= 2.0,
        "the calls placed while connected: {samples:#?}"
    );
    let channel_posts = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(CHANNELS))
        .count();
    // Two refused channels before Ready and one dropped socket: three attempts, four channels.
    assert_eq!(value(&samples, "cer_reconnects_total", &[]), 3.0);
    assert_eq!(channel_posts, 4);
    assert_eq!(value(&samples, "cer_ready", &[]), 1.0);
    let gauge = value(&samples, "cer_last_report_ended_timestamp_seconds", &[]);
    assert!((gauge - newest_end(&reports)).abs() < 0.001, "{gauge}");
    assert_eq!(good_hits.load(Ordering::SeqCst), 6);
    assert!(bad_hits.load(Ordering::SeqCst) >= 6);
    assert_api_requests_match_the_simulator(&env, &address);
    running.stop();
}

/// Checks the NDJSON lines are exactly the `expected` calls, each once; returns the reports.
fn each_once(running: &Running, lines: &[String], expected: &[String]) -> Vec<serde_json::Value> {
    let reports = json_lines(lines);
    let printed: HashSet<&str> = reports
        .iter()
        .map(|r| r["conversationSpaceId"].as_str().unwrap())
        .collect();
    let wanted: HashSet<&str> = expected.iter().map(String::as_str).collect();
    let stderr = running.stderr_seen.join("\n");
    assert_eq!(printed, wanted, "stderr:\n{stderr}");
    assert_eq!(printed.len(), lines.len(), "a report came twice");
    reports
}

/// The newest `callEnded` of `reports`, in Unix seconds.
fn newest_end(reports: &[serde_json::Value]) -> f64 {
    let ends = reports.iter().map(|r| {
        let text = r["callEnded"].as_str().unwrap();
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    });
    ends.max().unwrap() as f64 / 1000.0
}

/// Scrapes once every delivery has ended, so the delivery counters can be compared exactly.
/// Metrics label a target as every output shows it (scheme, host, port and tag).
fn settled_scrape(env: &TestEnv, address: &str, good: &str, bad: &str) -> Samples {
    let (good, bad) = (
        &crate::targets::shown(good)[..],
        &crate::targets::shown(bad)[..],
    );
    let mut samples = Samples::new();
    let settled = eventually(Duration::from_secs(10), || {
        samples = scrape(env, address);
        let failed = value(
            &samples,
            "cer_deliveries_total",
            &[("target", bad), ("result", "failed")],
        );
        let delivered = value(
            &samples,
            "cer_deliveries_total",
            &[("target", good), ("result", "delivered")],
        );
        // The outbox's size is read from the store every few (scaled) moments.
        let pending = [good, bad]
            .map(|target| value(&samples, "cer_deliveries_pending", &[("target", target)]));
        failed == 6.0 && delivered == 6.0 && pending == [0.0, 0.0]
    });
    assert!(settled, "deliveries did not add up: {samples:#?}");
    assert_eq!(
        value(
            &samples,
            "cer_deliveries_total",
            &[("target", good), ("result", "failed")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "cer_deliveries_total",
            &[("target", bad), ("result", "delivered")]
        ),
        0.0
    );
    samples
}

/// `cer_api_requests_total{api,status}` against the simulator's own record of the requests.
fn assert_api_requests_match_the_simulator(env: &TestEnv, address: &str) {
    let mut seen = (BTreeMap::new(), BTreeMap::new());
    let matched = eventually(Duration::from_secs(5), || {
        let mut simulator: BTreeMap<(String, String), f64> = BTreeMap::new();
        for request in env.sandbox.requests() {
            let api = ["call-events-report", "notification-channel"]
                .into_iter()
                .find(|api| request.path.starts_with(&format!("/{api}/")));
            if let Some(api) = api.filter(|_| request.status != 101) {
                *simulator
                    .entry((api.to_string(), request.status.to_string()))
                    .or_default() += 1.0;
            }
        }
        let counted: BTreeMap<(String, String), f64> = scrape(env, address)
            .into_iter()
            .filter(|((name, _), _)| name == "cer_api_requests_total")
            .map(|((_, labels), v)| {
                let label = |n: &str| labels.iter().find(|(k, _)| k == n).unwrap().1.clone();
                ((label("api"), label("status")), v)
            })
            .collect();
        seen = (simulator, counted);
        seen.0 == seen.1
    });
    assert!(matched, "simulator {:?} != cer {:?}", seen.0, seen.1);
    assert_eq!(seen.1[&("notification-channel".into(), "503".into())], 2.0);
}

/// A webhook that always answers `status`; counts the POSTs it gets.
fn webhook(env: &TestEnv, status: u16) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { axum::http::StatusCode::from_u16(status).unwrap() }
        }),
    );
    let listener = env
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    env.spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[test]
fn a_bad_metrics_address_is_a_usage_error_and_a_busy_one_a_failure() {
    let env = TestEnv::new();
    let bad = ["listen", "--metrics", "localhost"];
    let output = env.cer_with_token().args(bad).output().unwrap();
    let mut seen = snapshot::of_output(&bad, &output);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let taken = ["listen", "--metrics", &address];
    let output = env
        .cer_with_token()
        .args(taken)
        .timeout(Duration::from_secs(15))
        .output()
        .unwrap();
    seen.push_str(&snapshot::of_output(&taken, &output));
    assert_filtered!(Filters::of(&env), seen);
    assert!(
        env.sandbox.channels().is_empty(),
        "nothing created on GoTo's side"
    );
}

/// Every datagram the test's `NOTIFY_SOCKET` receives, with when it came.
type Notes = Arc<Mutex<Vec<(Instant, String)>>>;

fn notify_socket(env: &TestEnv) -> (std::path::PathBuf, Notes) {
    let path = env.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("a datagram socket");
    let notes: Notes = Arc::default();
    let sink = notes.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
            sink.lock().unwrap().push((Instant::now(), text));
        }
    });
    (path, notes)
}

fn noted(notes: &Notes, needle: &str) -> Option<Instant> {
    let notes = notes.lock().unwrap();
    notes
        .iter()
        .find(|(_, text)| text.contains(needle))
        .map(|(at, _)| *at)
}

#[test]
fn systemd_hears_ready_status_watchdog_and_stopping() {
    let env = TestEnv::new();
    let (socket, notes) = notify_socket(&env);
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "200000")
        .args(["listen", "--json"]);
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", READY);
    assert!(eventually(Duration::from_secs(2), || noted(
        &notes, "READY=1"
    )
    .is_some()));
    let ready = noted(&notes, "READY=1").unwrap();
    assert!(noted(&notes, "STATUS=Listening").is_some());

    let pings = || -> Vec<Instant> {
        notes
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, text)| text == "WATCHDOG=1\n" && *at >= ready)
            .map(|(at, _)| *at)
            .collect()
    };
    // Six pings come within about 0.6 s at WATCHDOG_USEC=200000 (a ping each half period).
    assert!(
        eventually(Duration::from_secs(5), || pings().len() >= 6),
        "too few watchdog pings: {}",
        pings().len()
    );
    let pings = pings();
    let mut gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    let median = gaps[gaps.len() / 2];
    // Half of WATCHDOG_USEC (200 ms) is 100 ms.
    assert!(
        (Duration::from_millis(70)..Duration::from_millis(150)).contains(&median),
        "watchdog every {median:?}"
    );

    env.sandbox.faults().drop_websockets();
    assert!(eventually(Duration::from_secs(10), || {
        noted(&notes, "STATUS=Reconnecting").is_some()
            && noted(&notes, "STATUS=Reconnected").is_some()
    }));
    assert!(noted(&notes, "STOPPING=1").is_none());
    running.stop();
    assert!(
        noted(&notes, "STOPPING=1").is_some(),
        "{:?}",
        notes.lock().unwrap()
    );
    let readies = notes
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t)| t.contains("READY=1"))
        .count();
    assert_eq!(readies, 1, "READY=1 once, not again on reconnects");
}

/// Checks that every line is one JSON object with a timestamp, a level and a message.
fn assert_json_lines(what: &str, stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"));
            for field in ["timestamp", "level", "message"] {
                assert!(event[field].is_string(), "{what}: no {field} in {line}");
            }
            event
        })
        .collect()
}

fn credentials(env: &TestEnv) -> serde_json::Value {
    let text = std::fs::read_to_string(env.config_dir().join("credentials.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn json_logs_are_one_object_per_line_at_every_level_and_keep_secrets_out() {
    let env = TestEnv::new();
    env.login();
    let before = credentials(&env);
    let mut command = env.cer_process();
    command.args(["--log-format", "json", "-vv", "listen", "--json"]);
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", READY);
    env.sandbox.faults().expire_tokens();
    env.place_calls(1);
    let mut stdout = running.stdout_lines(1, ARRIVE);
    env.sandbox.faults().drop_websockets();
    env.place_calls(1);
    stdout.extend(running.stdout_lines(1, ARRIVE));
    assert_eq!(stdout.len(), 2);
    let stderr = running.stop().1.join("\n");
    let events = assert_json_lines("listen -vv", &stderr);
    assert!(events.iter().any(|e| e["level"] == "DEBUG"), "{stderr}");
    assert!(
        events
            .iter()
            .any(|e| e["message"].as_str().unwrap().starts_with("Ready"))
    );
    let mut outputs = vec![format!("{}\n{stderr}", stdout.join("\n"))];
    outputs.extend(short_commands_at_every_level(&env));
    let after = credentials(&env);
    assert_ne!(
        after["access_token"], before["access_token"],
        "a refresh happened"
    );
    let secrets = [
        &before["access_token"],
        &before["refresh_token"],
        &after["access_token"],
        &after["refresh_token"],
    ];
    for text in &outputs {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str().unwrap()),
                "a token leaked:\n{text}"
            );
        }
        assert!(
            !text.contains(env.sandbox.client_secret()),
            "the secret leaked:\n{text}"
        );
    }
}

/// `fetch` (not found), `summaries` and `status` with `LOG_FORMAT=json` at every level: every
/// stderr line JSON, the not-found error too. Returns stdout and stderr of each.
fn short_commands_at_every_level(env: &TestEnv) -> Vec<String> {
    let mut outputs = Vec::new();
    let unknown = "00000000-0000-4000-8000-000000000000";
    for level in ["error", "warn", "info", "debug", "trace"] {
        for args in [
            &["fetch", unknown][..],
            &["summaries", "--since", "1h"],
            &["status"],
        ] {
            let output = env
                .cer()
                .env("LOG_FORMAT", "json")
                .env("LOG_LEVEL", level)
                .args(args)
                .output()
                .unwrap();
            let stderr = crate::harness::stderr_of(&output);
            let events = assert_json_lines(&format!("{args:?} at {level}"), &stderr);
            if args[0] == "fetch" {
                assert_eq!(output.status.code(), Some(3));
                assert!(events.iter().any(|e| e["level"] == "ERROR"), "{stderr}");
            }
            outputs.push(format!("{}\n{stderr}", crate::harness::stdout_of(&output)));
        }
    }
    outputs
}

#[test]
fn log_format_errors_are_usage_errors_and_json_when_asked() {
    let env = TestEnv::new();
    let output = env
        .cer_with_token()
        .env("LOG_FORMAT", "xml")
        .arg("status")
        .output()
        .unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&["status"], &output));
    let output = env
        .cer_with_token()
        .env("LOG_LEVEL", "loud")
        .args(["--log-format", "json", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let events = assert_json_lines("bad LOG_LEVEL", &crate::harness::stderr_of(&output));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["level"], "ERROR");
    assert!(events[0]["hint"].is_string(), "{:?}", events[0]);
}

#[test]
fn a_stuck_scraper_never_holds_up_listening() {
    use std::io::Write as _;
    let env = TestEnv::new();
    let (mut running, address) = listen_with_metrics(&env, &[]);
    running.wait_for_stderr("Ready", READY);
    let mut stuck: Vec<std::net::TcpStream> = (0..32)
        .map(|_| std::net::TcpStream::connect(&address).expect("connects"))
        .collect();
    for stream in &mut stuck {
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
    }
    let calls = env.place_calls(3);
    let lines = running.stdout_lines(3, ARRIVE);
    let printed: HashSet<String> = json_lines(&lines)
        .iter()
        .map(|r| r["conversationSpaceId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(printed, calls.into_iter().collect::<HashSet<_>>());
    assert_eq!(healthz(&env, &address), (200, "ok\n".to_string()));
    let samples = scrape(&env, &address);
    assert_eq!(
        value(&samples, "cer_reports_total", &[("source", "live")]),
        3.0
    );
    drop(stuck);
    running.stop();
}

/// `cer_refetches_total{result}` and `cer_refetches_due` (issue 19, point 6): of three calls,
/// one gains post-call analysis (changed), one does not (unchanged), and one's report answers
/// 503 from its first fetch on (error); nothing stays due.
#[test]
fn refetches_are_counted_by_result_and_none_stays_due() {
    let env = TestEnv::with(cer_sandbox::SandboxConfig {
        call_every: None,
        analysis_delay: None,
        ..cer_sandbox::SandboxConfig::default()
    });
    let (mut running, address) = listen_with_metrics(&env, &["--refetch", "2s"]);
    running.wait_for_stderr("Ready", READY);
    let calls = env.place_calls(3);
    let printed = json_lines(&running.stdout_lines(3, ARRIVE));
    assert_eq!(
        printed.len(),
        3,
        "stderr:\n{}",
        running.stderr_seen.join("\n")
    );
    let broken = format!("/call-events-report/v1/reports/{}", calls[2]);
    env.sandbox.faults().fail_next_on(&broken, 100_000, 503);
    env.sandbox
        .add_analysis(&calls[0], None)
        .expect("a known call");
    let counted = |samples: &Samples, result: &str| {
        value(samples, "cer_refetches_total", &[("result", result)])
    };
    let done = eventually(ARRIVE, || {
        let samples = scrape(&env, &address);
        counted(&samples, "changed") == 1.0
            && counted(&samples, "unchanged") == 1.0
            && counted(&samples, "error") >= 1.0
    });
    let samples = scrape(&env, &address);
    assert!(done, "{samples:#?}");
    assert!(
        eventually(ARRIVE, || value(
            &scrape(&env, &address),
            "cer_refetches_due",
            &[]
        ) == 0.0),
        "re-fetches left due"
    );
    running.stop();
}
