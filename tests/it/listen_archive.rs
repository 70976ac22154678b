//! `cer listen --archive` (SPEC section 13): beside the engine, each stored report and
//! revision is written as its call's `report.json` and the recordings and transcripts it names
//! are downloaded, byte for byte what GoTo (the simulator) serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cer_sandbox::SandboxConfig;
use serde_json::Value;

use crate::harness::{Running, TestEnv};
use crate::probe::{
    call_folder, eventually, healthz, http_client, report_gets, served_address, sha256_hex,
};
use crate::snapshot::cer_snapshot;

/// How long anything asynchronous may take before a test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// No scheduled calls; recordings and transcripts uploaded as each call ends.
fn env() -> TestEnv {
    env_analysed_after(Duration::ZERO)
}

/// No scheduled calls; post-call analysis `delay` after each call (the recording and the
/// transcript uploaded some seconds later with a delay of a second).
fn env_analysed_after(delay: Duration) -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: None,
        analysis_delay: Some(delay),
        ..SandboxConfig::default()
    })
}

/// The hidden files in `folder`: temporary ones, under way or left behind.
fn hidden_in(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect()
}

/// GETs `url`, with GoTo's bearer token until a redirect leaves for the storage host.
async fn follow(http: &reqwest::Client, token: &str, url: String) -> Vec<u8> {
    let (mut at, mut bearer) = (url, true);
    loop {
        let request = http.get(&at);
        let request = if bearer {
            request.bearer_auth(token)
        } else {
            request
        };
        let answer = request.send().await.unwrap();
        if !answer.status().is_redirection() {
            assert!(answer.status().is_success(), "{at}: {}", answer.status());
            return answer.bytes().await.unwrap().to_vec();
        }
        at = answer.headers()["location"].to_str().unwrap().to_string();
        bearer = false;
    }
}

/// The names and SHA-256 of the files the simulator serves for a recorded call: its
/// recording, its transcript and its report as it is now.
fn served(env: &TestEnv, call: &str) -> Vec<(String, String)> {
    let token = env.sandbox.issue_token(None);
    let base = env.sandbox.base_url();
    let http = http_client();
    env.block_on(async {
        let report = follow(
            &http,
            &token,
            format!("{base}/call-events-report/v1/reports/{call}"),
        )
        .await;
        let parsed: Value = serde_json::from_slice(&report).unwrap();
        let party = &parsed["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["recordings"].as_array().is_some_and(|r| !r.is_empty()));
        let party = party.expect("a participant with a recording");
        let rid = party["recordings"][0]["id"].as_str().unwrap();
        let tid = party["transcripts"][0]["id"].as_str().unwrap();
        let url = format!("{base}/recording/v1/recordings/{rid}/content");
        let body: Value = serde_json::from_slice(&follow(&http, &token, url).await).unwrap();
        let download = body["token"]["token"]
            .as_str()
            .or(body["token"].as_str())
            .unwrap();
        let url = format!("{base}/recording/v1/recordings/{rid}/content/{download}");
        let audio = follow(&http, &token, url).await;
        let url = format!("{base}/recording/v1/transcriptions/{tid}");
        let transcript = follow(&http, &token, url).await;
        let mut files = vec![
            (format!("recording-{rid}.wav"), sha256_hex(&audio)),
            ("report.json".to_string(), sha256_hex(&report)),
            (format!("transcript-{tid}.json"), sha256_hex(&transcript)),
        ];
        files.sort();
        files
    })
}

/// The files of `folder` and their SHA-256, once there are `count` of them. A download in
/// progress is a hidden temporary file until it is whole: those are not counted.
fn wait_for_files(folder: &Path, count: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let mut files: Vec<(String, String)> = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .map(|entry| entry.unwrap())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    sha256_hex(&std::fs::read(e.path()).unwrap()),
                )
            })
            .collect();
        files.sort();
        if files.len() >= count || Instant::now() > deadline {
            return files;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `listen --json --refetch REFETCH --archive ROOT` once one recorded call is printed: the
/// listener, the archive's root, the call and its printed line.
fn one_recorded_call(env: &TestEnv, refetch: &str) -> (Running, PathBuf, String, String) {
    let root = env.work_dir().join("archive");
    let archive = root.display().to_string();
    let mut running = env.listen(&["--json", "--refetch", refetch, "--archive", &archive]);
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(30))
        .conversation_space_id;
    let mut lines = running.stdout_lines(1, LIMIT);
    assert_eq!(
        lines.len(),
        1,
        "stderr:\n{}",
        running.stderr_seen.join("\n")
    );
    (running, root, call, lines.remove(0))
}

fn archives_a_recorded_call(refetch: &str) {
    let env = env();
    let (running, root, call, _) = one_recorded_call(&env, refetch);
    let files = wait_for_files(&call_folder(&root, &call), 3);
    let (_, stderr) = running.stop();
    assert_eq!(files, served(&env, &call), "stderr:\n{}", stderr.join("\n"));
    // The storage host never saw GoTo's bearer token (the simulator's refuses it).
    assert!(
        env.sandbox
            .storage_requests()
            .iter()
            .all(|r| !r.authorization)
    );
}

#[test]
fn listen_archive_writes_report_recording_and_transcript_byte_identical() {
    archives_a_recorded_call("2m,15m,1h");
}

#[test]
fn listen_archive_with_refetch_off_archives_what_the_first_revision_names() {
    archives_a_recorded_call("off");
}

/// Each of process `pid`'s threads: its name and scheduling policy (`/proc`, field 41).
#[cfg(target_os = "linux")]
fn thread_policies(pid: u32) -> Vec<(String, String)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc");
    let mut threads = Vec::new();
    for task in tasks {
        let path = task.expect("a task").path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the `(comm)` start at the third.
        let after = stat.rsplit_once(')').map_or("", |(_, after)| after);
        let policy = after.split_whitespace().nth(38).unwrap_or("").to_string();
        threads.push((name.trim_end().to_string(), policy));
    }
    threads
}

/// The recording is archived on the thread that asks to run only when nothing else wants the
/// CPU (SCHED_IDLE, policy 5); every other thread, the live path's, keeps the usual policy.
#[cfg(target_os = "linux")]
#[test]
fn listen_archive_archives_on_an_idle_priority_thread_and_nothing_else_is_lowered() {
    let env = env();
    let (running, root, call, _) = one_recorded_call(&env, "off");
    wait_for_files(&call_folder(&root, &call), 3);
    let threads = thread_policies(running.child.id());
    let (_, stderr) = running.stop();
    let archive: Vec<_> = threads.iter().filter(|(n, _)| n == "cer-archive").collect();
    assert!(
        !archive.is_empty() && archive.iter().all(|(_, policy)| policy == "5"),
        "{threads:?}\nstderr:\n{}",
        stderr.join("\n")
    );
    let others = threads.iter().filter(|(n, _)| n != "cer-archive");
    assert!(others.clone().count() > 2, "{threads:?}");
    assert!(
        others.clone().all(|(_, policy)| policy == "0"),
        "{threads:?}"
    );
}

/// A download token GoTo itself refuses as expired (`…/content/{token}` answers 403) is
/// replaced by a new one at once, as one the storage host refuses: the recording is archived
/// with one more token asked, not left for a retry a minute later. Regression: the worker
/// asked GoTo for the address outside its retry, so only the storage host's refusal got one.
#[test]
fn an_expired_download_token_at_gotos_step_is_replaced_at_once() {
    let env = env();
    env.sandbox.faults().expire_next_download_tokens(1);
    let (running, root, call, _) = one_recorded_call(&env, "off");
    let files = wait_for_files(&call_folder(&root, &call), 3);
    let (_, stderr) = running.stop();
    assert_eq!(files, served(&env, &call), "stderr:\n{}", stderr.join("\n"));
    let path = env.state_dir().join("cer.db");
    let (attempts, error): (i64, Option<String>) = env.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query_as("SELECT attempts, last_error FROM cer_media WHERE kind = 'recording'")
            .fetch_one(&pool)
            .await
            .unwrap()
    });
    assert_eq!(
        (attempts, error),
        (1, None),
        "archived at its first attempt"
    );
}

/// A stored login whose token GoTo granted `recording.v1.read` but not the recording
/// notifications (an OAuth client without that scope): written as `cer login` leaves it.
fn log_in_with_recording_read_only(env: &TestEnv) {
    env.login();
    let scopes = "cr.v1.read call-events.v1.notifications.manage recording.v1.read";
    let file = env.config_dir().join("credentials.json");
    let mut stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = env.sandbox.issue_token_with_scopes(scopes, None).unwrap();
    stored["access_token"] = Value::from(token);
    stored["scope"] = Value::from(scopes);
    std::fs::write(&file, stored.to_string()).unwrap();
}

#[test]
fn listen_archive_with_a_login_lacking_only_recording_notifications_archives_from_revisions() {
    let env = env();
    let root = env.work_dir().join("archive");
    let archive = root.display().to_string();
    log_in_with_recording_read_only(&env);
    let mut command = env.cer_process();
    command.args([
        "listen",
        "--json",
        "--refetch",
        "off",
        "--archive",
        &archive,
    ]);
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", LIMIT);
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(30))
        .conversation_space_id;
    assert_eq!(running.stdout_lines(1, LIMIT).len(), 1, "the call printed");
    let files = wait_for_files(&call_folder(&root, &call), 3);
    let (_, stderr) = running.stop();
    assert_eq!(files, served(&env, &call), "stderr:\n{}", stderr.join("\n"));
    let said: Vec<&String> = stderr
        .iter()
        .filter(|line| line.contains("lacks recording.v1.notifications.manage"))
        .collect();
    assert_eq!(said.len(), 1, "said once:\n{}", stderr.join("\n"));
    assert!(said[0].contains("cer login --recordings"), "{}", said[0]);
    let subscribed = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/recording/v1/subscriptions"))
        .count();
    assert_eq!(subscribed, 0, "no recording subscription without its scope");
}

#[test]
fn listen_archive_with_a_login_lacking_recording_read_is_exit_4_before_anything_starts() {
    let env = TestEnv::new();
    env.login();
    let archive = env.work_dir().join("archive").display().to_string();
    let before = env.sandbox.requests().len();
    cer_snapshot!(env, &["listen", "--archive", &archive]);
    assert_eq!(
        env.sandbox.requests().len(),
        before,
        "a request went to GoTo"
    );
    assert!(
        !env.state_dir().join("cer.db").exists(),
        "the store was opened"
    );
}

/// The `cer_media` samples of one scrape, each as `name{KIND}` (the `kind` label's value).
fn media_samples(env: &TestEnv, address: &str) -> BTreeMap<String, f64> {
    crate::probe::scrape(env, address)
        .into_iter()
        .filter(|((name, _), _)| name.starts_with("cer_media"))
        .map(|((name, labels), value)| {
            let kind = labels.iter().find(|(label, _)| label == "kind");
            let kind = kind.map(|(_, kind)| format!("{{{kind}}}"));
            (format!("{name}{}", kind.unwrap_or_default()), value)
        })
        .collect()
}

#[test]
fn healthz_says_the_archive_fails_while_reports_flow_and_the_media_metrics_count_what_came() {
    let env = env();
    let root = env.work_dir().join("archive");
    // A file where the folder should be: every write to the archive fails.
    std::fs::write(&root, b"in the way").unwrap();
    let archive = root.display().to_string();
    let args = [
        "--json",
        "--refetch",
        "off",
        "--metrics",
        "127.0.0.1:0",
        "--archive",
        &archive,
    ];
    let mut running = env.listen(&args);
    let address = served_address(&running);
    let zero = media_samples(&env, &address);
    for kind in ["recording", "transcript"] {
        assert_eq!(
            zero[&format!("cer_media_archived_total{{{kind}}}")],
            0.0,
            "{zero:?}"
        );
        assert_eq!(
            zero[&format!("cer_media_failed_total{{{kind}}}")],
            0.0,
            "{zero:?}"
        );
    }
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(30))
        .conversation_space_id;
    // The report comes while the archive fails.
    let lines = running.stdout_lines(1, LIMIT);
    assert!(lines.len() == 1 && lines[0].contains(&call), "{lines:?}");
    let mut last = (0, String::new());
    let says_why = eventually(LIMIT, || {
        last = healthz(&env, &address);
        last.0 == 503 && last.1.contains("archive")
    });
    assert!(says_why, "no 503 naming the archive: {last:?}");
    // Said on stderr too, for a listener run without `--metrics`.
    running.wait_for_stderr("the archive fails", LIMIT);

    std::fs::remove_file(&root).unwrap();
    let files = wait_for_files(&call_folder(&root, &call), 3);
    assert_eq!(files, served(&env, &call));
    let healthy = eventually(LIMIT, || healthz(&env, &address).0 == 200);
    assert!(healthy, "{:?}", healthz(&env, &address));
    let size = |prefix: &str| -> f64 {
        let folder = call_folder(&root, &call);
        let file = files
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .unwrap();
        std::fs::metadata(folder.join(&file.0)).unwrap().len() as f64
    };
    let mut samples = BTreeMap::new();
    let counted = eventually(LIMIT, || {
        samples = media_samples(&env, &address);
        samples["cer_media_archived_total{recording}"] == 1.0
            && samples["cer_media_archived_total{transcript}"] == 1.0
            && samples["cer_media_pending"] == 0.0
    });
    assert!(counted, "{samples:?}");
    assert_eq!(
        samples["cer_media_bytes_total{recording}"],
        size("recording-")
    );
    assert_eq!(
        samples["cer_media_bytes_total{transcript}"],
        size("transcript-")
    );
    assert_eq!(samples["cer_media_failed_total{recording}"], 0.0);
    let (_, stderr) = running.stop();
    let said = stderr
        .iter()
        .filter(|l| l.contains("the archive fails"))
        .count();
    assert_eq!(said, 1, "once a failing streak, not every try: {stderr:?}");
    assert!(
        stderr.iter().any(|l| l.contains("the archive works again")),
        "{stderr:?}"
    );
}

#[test]
fn keep_removes_an_old_calls_archive_folder_and_rows_and_leaves_a_recent_one() {
    use cer::store::media::{MediaItem, MediaKind};
    use cer::store::{Store, StoreLocation};
    let env = TestEnv::new();
    let root = env.work_dir().join("archive");
    let location = StoreLocation::default_in(&env.state_dir());
    let now = jiff::Timestamp::now();
    let store = env.block_on(async {
        let store = Store::open(&location).await.unwrap();
        let queue = cer::store::outbox::Queue::NONE;
        for (id, ended) in [
            ("old", "2020-01-01T00:00:00Z"),
            ("recent", &now.to_string()),
        ] {
            let report = serde_json::json!({"conversationSpaceId": id, "callEnded": ended});
            let report = cer::report::Report::of_value(&report).unwrap();
            store
                .store_report(&report, None, &queue, now)
                .await
                .unwrap();
        }
        let item = |call: &str| MediaItem {
            call: call.to_string(),
            kind: MediaKind::Transcript,
            media_id: "t1".to_string(),
            participant_id: None,
        };
        store
            .plan_media(&[item("old"), item("recent")], now)
            .await
            .unwrap();
        store
    });
    let old = root.join("2020/01/01/old");
    let recent = call_folder(&root, "recent");
    for folder in [&old, &recent] {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join("report.json"), b"{}").unwrap();
        std::fs::write(folder.join("transcript-t1.json"), b"{}").unwrap();
    }
    let archive = root.display().to_string();
    let running = env.listen(&["--keep", "30d", "--refetch", "off", "--archive", &archive]);
    let gone = eventually(LIMIT, || !root.join("2020").exists());
    let (_, stderr) = running.stop();
    assert!(
        gone,
        "the old call's folder (and its empty year) stayed: {}",
        stderr.join("\n")
    );
    assert!(recent.join("report.json").exists());
    let rows = |call: &str| env.block_on(store.media_of_call(call)).unwrap().len();
    assert_eq!(rows("old"), 0);
    assert_eq!(rows("recent"), 1);
}

#[test]
fn with_refetch_off_a_recording_notification_archives_what_the_first_revision_lacked() {
    // The analysis after 1 s, the recording and transcript 5 to 10 s after the call ended:
    // the report cer fetches at once names neither.
    let env = env_analysed_after(Duration::from_secs(1));
    let (running, root, call, line) = one_recorded_call(&env, "off");
    let first: Value = serde_json::from_str(&line).unwrap();
    let named = first["participants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["recordings"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(
        !named,
        "the first revision already names the recording: {first}"
    );
    let gets_before = report_gets(&env, &call);
    let files = wait_for_files(&call_folder(&root, &call), 3);
    // The notifications: the recording, a duplicate of it no report names, the transcript.
    let subscribed = env.sandbox.recording_subscriptions().len();
    let (_, stderr) = running.stop();
    assert_eq!(subscribed, 1, "one recording subscription while listening");
    assert_eq!(files, served(&env, &call), "stderr:\n{}", stderr.join("\n"));
    let gets = report_gets(&env, &call) - gets_before;
    assert!(
        (1..=3).contains(&gets),
        "{gets} report requests for 3 notifications"
    );
    // The recording subscription went with the channel at shutdown.
    assert!(env.sandbox.recording_subscriptions().is_empty());
}

#[test]
fn with_refetch_off_a_notification_guesses_another_call_than_the_one_already_tried() {
    // A recorded call, then a second later one not recorded: a notification names only its
    // recording, and the newest call is the first guess. The recording's notification finds
    // the newer call lacks it; the transcript's (sent with it) must try the other call, where
    // every notification used to fetch the newest call again and nothing was archived.
    let env = env_analysed_after(Duration::from_secs(1));
    env.sandbox.set_drawn_recordings(false);
    let root = env.work_dir().join("archive");
    let archive = root.display().to_string();
    let mut running = env.listen(&["--json", "--refetch", "off", "--archive", &archive]);
    let recorded = env
        .sandbox
        .place_recorded_call(Duration::from_secs(30))
        .conversation_space_id;
    // A second apart, so the store holds the unrecorded call as the newer one.
    std::thread::sleep(Duration::from_millis(1100));
    let unrecorded = env.sandbox.place_call().conversation_space_id;
    let printed = running.stdout_lines(2, LIMIT);
    assert_eq!(
        printed.len(),
        2,
        "stderr:\n{}",
        running.stderr_seen.join("\n")
    );
    let files = wait_for_files(&call_folder(&root, &recorded), 3);
    let (_, stderr) = running.stop();
    assert_eq!(
        files,
        served(&env, &recorded),
        "stderr:\n{}",
        stderr.join("\n")
    );
    // One report request per notification at most (a recording, perhaps a duplicate of it,
    // a transcript), over both calls.
    let gets = report_gets(&env, &recorded) + report_gets(&env, &unrecorded) - 2;
    assert!(
        (1..=3).contains(&gets),
        "{gets} report requests for 3 notifications"
    );
}

/// Two listeners on one PostgreSQL store (`url`) archiving to `archive`, with `vars` in
/// their environment, while three recorded calls are placed; each object is downloaded from
/// GoTo's storage once between them, and `read(call)` gives what the archive holds of it.
/// Returns what they wrote on stderr.
fn two_listeners_archive_each_object_once(
    url: &str,
    archive: &str,
    vars: &[(&'static str, String)],
    read: impl Fn(&TestEnv, &str) -> Vec<(String, String)>,
) -> String {
    let env = env();
    let listeners: Vec<crate::harness::Running> = ["a", "b"]
        .iter()
        .map(|name| {
            let home = crate::high_availability::machine(&env, name);
            let mut command = env.cer_process();
            command
                .env("HOME", &home)
                .env("CER_STATE_DIR", home.join("state"))
                .env("CER_CONFIG_DIR", home.join("config"))
                .env("CER_TOKEN", env.sandbox.issue_token(None))
                .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
                .args(["listen", "--json", "--store", url, "--refetch", "off"])
                .args(["--archive", archive]);
            let mut running = crate::harness::Running::start(command);
            running.wait_for_stderr("Ready", crate::harness::READY);
            running
        })
        .collect();
    let calls: Vec<String> = (0..3)
        .map(|_| {
            let placed = env.sandbox.place_recorded_call(Duration::from_secs(20));
            placed.conversation_space_id
        })
        .collect();
    let mut files = Vec::new();
    for call in &calls {
        let mut held = Vec::new();
        eventually(LIMIT, || {
            held = read(&env, call);
            held.len() >= 3
        });
        files.push(held);
    }
    // A quiet moment, so an object downloaded twice would show.
    std::thread::sleep(Duration::from_millis(500));
    let mut stderr = Vec::new();
    for running in listeners {
        stderr.extend(running.stop().1);
    }
    for (call, files) in calls.iter().zip(&files) {
        assert_eq!(files, &served(&env, call), "{call}: {}", stderr.join("\n"));
    }
    // `served` fetched each object once more, by hand: twice in all, never three times.
    // Whole answers only: a download cut or refused (and tried again) is not a second copy.
    let mut downloads: BTreeMap<String, usize> = BTreeMap::new();
    let storage = env.sandbox.storage_requests();
    for request in storage.iter().filter(|r| r.status == 200) {
        *downloads.entry(request.path.clone()).or_default() += 1;
    }
    assert_eq!(downloads.len(), 2 * calls.len(), "{storage:?}");
    assert!(
        downloads.values().all(|n| *n == 2),
        "{storage:?}\n{}",
        stderr.join("\n")
    );
    stderr.join("\n")
}

#[test]
fn two_listeners_on_one_postgres_store_and_one_folder_download_each_object_once() {
    let Some(url) = crate::postgres::fresh_database() else {
        eprintln!("skipped: no PostgreSQL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let read = |_: &TestEnv, call: &str| wait_for_files(&call_folder(&root, call), 3);
    let stderr =
        two_listeners_archive_each_object_once(&url, &root.display().to_string(), &[], read);
    // Each machine would keep only what it archived: said, not refused.
    assert!(
        stderr.contains("is a folder but the store is shared"),
        "{stderr}"
    );
}

#[test]
fn two_listeners_on_one_postgres_store_and_one_bucket_download_each_object_once() {
    let Some(url) = crate::postgres::fresh_database() else {
        eprintln!("skipped: no PostgreSQL");
        return;
    };
    let Some(server) = crate::s3::shared() else {
        return;
    };
    let bucket = server.fresh_bucket();
    let read = |_: &TestEnv, call: &str| {
        let folder = call_folder(Path::new("calls"), call).display().to_string();
        let mut files: Vec<(String, String)> = server
            .keys(&bucket)
            .into_iter()
            .filter_map(|key| {
                let name = key.strip_prefix(&format!("{folder}/"))?.to_string();
                let bytes = server.object(&bucket, &key)?;
                Some((name, sha256_hex(&bytes)))
            })
            .collect();
        files.sort();
        files
    };
    let archive = format!("s3://{bucket}/calls");
    let stderr = two_listeners_archive_each_object_once(&url, &archive, &server.env(), read);
    assert!(!stderr.contains("the store is shared"), "{stderr}");
}

#[test]
fn listen_archive_never_logs_the_download_token_or_the_storage_address() {
    let env = env();
    let root = env.work_dir().join("archive");
    let archive = root.display().to_string();
    let args = ["--json", "--refetch", "off", "--archive", &archive];
    let running = env.listen_with(&args, |command| {
        command.env("LOG_LEVEL", "trace");
    });
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(10))
        .conversation_space_id;
    assert_eq!(wait_for_files(&call_folder(&root, &call), 3).len(), 3);
    let (_, stderr) = running.stop();
    let stderr = stderr.join("\n");
    assert!(
        stderr.contains("/content/(token)"),
        "the download was not logged at all"
    );
    let after_content: Vec<&str> = stderr.split("/content/").skip(1).collect();
    assert!(
        after_content.iter().all(|rest| rest.starts_with("(token)")),
        "{stderr}"
    );
    assert!(!stderr.contains(&env.sandbox.storage_url()), "{stderr}");
}

/// A download cut in the middle (the simulator's `cut-download`: the storage host closes the
/// connection after 1,000 bytes of a longer body) leaves nothing under the recording's name
/// and no temporary file behind, and is tried again: the recording is archived whole.
#[test]
fn a_cut_download_leaves_no_partial_file_and_is_archived_whole_later() {
    let env = env();
    let params = [("after".to_string(), "1000".to_string())];
    env.sandbox
        .faults()
        .apply("cut-download", &params)
        .expect("a known fault");
    let root = env.work_dir().join("archive");
    let archive = root.display().to_string();
    let mut running = env.listen(&["--json", "--archive", &archive]);
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(30))
        .conversation_space_id;
    assert_eq!(running.stdout_lines(1, LIMIT).len(), 1);
    let folder = call_folder(&root, &call);
    let files = wait_for_files(&folder, 3);
    // The three are there, so no download runs: a temporary file now would be one left behind.
    let hidden = hidden_in(&folder);
    let (_, stderr) = running.stop();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
    // Fetched by hand only now: the one cut the fault makes was cer's.
    assert_eq!(files, served(&env, &call), "stderr:\n{}", stderr.join("\n"));
    assert!(
        stderr
            .iter()
            .any(|line| line.contains("answer was cut off")),
        "the download was not cut: {}",
        stderr.join("\n")
    );
    let audio: Vec<_> = env
        .sandbox
        .storage_requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".wav"))
        .collect();
    assert!(
        audio.len() >= 2,
        "the cut download was not tried again: {audio:?}"
    );
}

/// A listener stopped in the middle of a download hands the object back at once: the next
/// listener archives it without waiting for the stopped one's lease to run out.
#[test]
fn a_listener_stopped_mid_download_leaves_the_recording_to_the_next_at_once() {
    let env = env();
    // 2,000 bytes a second: the recording of a 30 s call takes about two minutes.
    env.sandbox.faults().slow_downloads(Some(2_000));
    let root = env.work_dir().join("archive");
    let archive = root.display().to_string();
    let args = ["--json", "--refetch", "off", "--archive", &archive];
    let mut first = env.listen(&args);
    let call = env
        .sandbox
        .place_recorded_call(Duration::from_secs(30))
        .conversation_space_id;
    assert_eq!(first.stdout_lines(1, LIMIT).len(), 1);
    let folder = call_folder(&root, &call);
    let downloading = eventually(LIMIT, || {
        std::fs::read_dir(&folder).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".recording-"))
        })
    });
    assert!(downloading, "the recording's download did not start");
    let (_, stderr) = first.stop();
    env.sandbox.faults().slow_downloads(None);
    // Well inside the stopped listener's lease (30 s at this time scale).
    let started = Instant::now();
    let second = env.listen(&args);
    let files = wait_for_files(&folder, 3);
    let took = started.elapsed();
    let (_, more) = second.stop();
    assert_eq!(
        files,
        served(&env, &call),
        "stderr:\n{}\n{}",
        stderr.join("\n"),
        more.join("\n")
    );
    assert!(
        took < Duration::from_secs(15),
        "archived {took:?} after the restart"
    );
    let hidden = hidden_in(&folder);
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
}

/// A token whose scopes cer cannot read (`CER_TOKEN`) and that lacks the recording
/// notifications: GoTo refuses the recording subscription at every (re)subscription, and
/// the listener says so once, naming what it does instead.
#[test]
fn a_token_goto_refuses_recording_notifications_is_said_once_across_new_channels() {
    let env = env();
    let scopes = "cr.v1.read call-events.v1.notifications.manage recording.v1.read";
    let token = env.sandbox.issue_token_with_scopes(scopes, None).unwrap();
    let archive = env.work_dir().join("archive").display().to_string();
    let running = env.listen_with(&["--json", "--archive", &archive], |command| {
        command.env("CER_TOKEN", &token);
    });
    let asked = || {
        env.sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/recording/v1/subscriptions")
            .count()
    };
    assert!(eventually(LIMIT, || asked() >= 1));
    // A new channel subscribes again, and GoTo refuses again.
    env.sandbox.faults().expire_channels();
    assert!(eventually(LIMIT, || asked() >= 2), "no second subscription");
    let (_, stderr) = running.stop();
    let said: Vec<&String> = stderr
        .iter()
        .filter(|line| line.contains("no recording notifications"))
        .collect();
    assert_eq!(said.len(), 1, "said once:\n{}", stderr.join("\n"));
    assert!(said[0].contains("revisions name them"), "{}", said[0]);
}
