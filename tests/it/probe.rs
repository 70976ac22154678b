//! What the tests ask of a running `cer` from outside, written once: its health and metrics
//! servers over real HTTP (a scrape read by `prometheus-parse`, never by cer's own code), files
//! hashed as an independent reader would, and polling with a deadline instead of fixed sleeps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::harness::{READY, Running, TestEnv};

/// Polls `done` until it holds or `limit` passes; whether it held (asked once more at the end).
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    done()
}

/// An HTTP client of the tests' own, not cer's: no proxy from the environment, and redirects
/// left to the test to follow (the bearer token must not follow GoTo to a storage host).
pub fn http_client() -> reqwest::Client {
    // cer's one rustls provider, which reqwest needs installed even for plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// `GET url`: the status and the body.
pub fn get(env: &TestEnv, url: String) -> (u16, String) {
    env.block_on(async {
        let answer = reqwest::get(url).await.expect("the server answers");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("a text body"))
    })
}

/// `GET /healthz` of the server at `address`.
pub fn healthz(env: &TestEnv, address: &str) -> (u16, String) {
    get(env, format!("http://{address}/healthz"))
}

/// One scrape: each sample's value by its name and its labels (sorted).
pub type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

/// `GET /metrics` of the server at `address`, parsed by `prometheus-parse`.
pub fn scrape(env: &TestEnv, address: &str) -> Samples {
    let (status, text) = get(env, format!("http://{address}/metrics"));
    assert_eq!(status, 200);
    let lines = text.lines().map(|line| Ok(line.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .into_iter()
        .map(|sample| {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("unexpected sample {other:?}"),
            };
            let mut labels: Vec<(String, String)> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            ((sample.metric, labels), value)
        })
        .collect()
}

/// The sample `name{labels}` of a scrape, when it has one.
pub fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    samples.get(&(name.to_string(), labels)).copied()
}

/// `cer listen --json --metrics 127.0.0.1:0 ARGS` with a simulator token, once it serves, and
/// the address it bound, as it printed it (no port probed first: nothing can take it between).
pub fn listen_with_metrics(env: &TestEnv, args: &[&str]) -> (Running, String) {
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .args(["listen", "--json", "--metrics", "127.0.0.1:0"])
        .args(args);
    let mut running = Running::start(command);
    running.wait_for_stderr("Serving metrics", READY);
    let address = served_address(&running);
    (running, address)
}

/// The address a running listener said it serves metrics on.
pub fn served_address(running: &Running) -> String {
    let line = running
        .stderr_seen
        .iter()
        .find(|line| line.contains("Serving metrics on http://"))
        .expect("the listener said where it serves");
    let after = line.split("Serving metrics on http://").nth(1).unwrap();
    after.split('/').next().unwrap().to_string()
}

/// SHA-256 of `bytes`, lowercase hex, computed here rather than by cer.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// GETs of one call's report the simulator answered so far.
pub fn report_gets(env: &TestEnv, id: &str) -> usize {
    let path = format!("/call-events-report/v1/reports/{id}");
    env.sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

/// The sample `name{labels}` of a scrape; a test fails without it.
pub fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(samples, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in {samples:#?}"))
}

/// A call's folder in a folder archive under `root` (`YYYY/MM/DD/ID`, the UTC day it ended:
/// today, for the calls a test places).
pub fn call_folder(root: &std::path::Path, call: &str) -> std::path::PathBuf {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    root.join(format!(
        "{:04}/{:02}/{:02}/{call}",
        today.year(),
        today.month(),
        today.day()
    ))
}

/// Every file under `root`, hidden ones too, in no particular order; none when it is missing.
pub fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
