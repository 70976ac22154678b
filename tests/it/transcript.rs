//! The call itself read back (SPEC section 13): `cer show` with an archive prints the
//! transcript as a conversation and names the archived recording; `--transcript` fetches it
//! from GoTo without an archive; `cer recording` writes the simulator's exact audio from the
//! archive and from GoTo, to a folder, a file or a pipe, never to a terminal, and never sends
//! the bearer token to the storage host.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use cer_sandbox::SandboxConfig;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{TestEnv, stderr_of, stdout_of};
use crate::snapshot::{self, Filters, assert_filtered, cer_snapshot};

/// No scheduled calls; a recorded call's recording and transcript exist as it ends.
fn env() -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: None,
        analysis_delay: Some(Duration::ZERO),
        ..SandboxConfig::default()
    })
}

/// A recorded call: its id and GoTo's report of it.
fn recorded_call(env: &TestEnv) -> (String, Value) {
    let call = env.sandbox.place_recorded_call(Duration::from_secs(40));
    let id = call.conversation_space_id;
    let output = env.cer_with_token().args(["fetch", &id]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    (id, report)
}

/// Every recording id the report lists.
fn recording_ids(report: &Value) -> Vec<String> {
    report["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["recordings"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

/// A recorded call with one recording: its id and that recording's id.
fn call_with_one_recording(env: &TestEnv) -> (String, String) {
    let (id, report) = recorded_call(env);
    let recordings = recording_ids(&report);
    assert_eq!(recordings.len(), 1, "{report}");
    (id, recordings[0].clone())
}

/// `cer recording ID -o TARGET`, run to its end.
fn recording_to(env: &TestEnv, id: &str, target: impl AsRef<std::ffi::OsStr>) -> Output {
    env.cer_with_token()
        .args(["recording", id, "-o"])
        .arg(target)
        .output()
        .unwrap()
}

/// `cer sync --archive DIR` of the last few minutes, into the test's store.
fn archive_into(env: &TestEnv, dir: &Path) {
    let output = env
        .cer_with_token()
        .args(["sync", "--since", "10m", "--archive"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
}

/// The simulator's audio of `recording`, fetched as a client should (token, then the 302
/// without the bearer token).
fn simulator_audio(env: &TestEnv, recording: &str) -> Vec<u8> {
    let token = env.sandbox.issue_token(None);
    let base = env.sandbox.base_url();
    env.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let body: Value = http
            .get(format!(
                "{base}/recording/v1/recordings/{recording}/content"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let download = if body["token"].is_object() {
            body["token"]["token"].as_str().unwrap().to_string()
        } else {
            body["token"].as_str().unwrap().to_string()
        };
        let resp = http
            .get(format!(
                "{base}/recording/v1/recordings/{recording}/content/{download}"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        http.get(location)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    })
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn show(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cer_with_token()
        .env("CER_FORCE_TTY", "stdout")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .args(["show", "--utc"])
        .args(args)
        .output()
        .unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = crate::probe::files_under(dir);
    files.sort();
    files
}

#[test]
fn show_with_a_folder_archive_prints_the_transcript_and_names_the_recording() {
    let env = env();
    let (id, report) = recorded_call(&env);
    let archive = env.dir.path().join("archive");
    archive_into(&env, &archive);
    let files = files_in(&archive);
    let recording = files
        .iter()
        .find(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("recording-")
        })
        .expect("an archived recording");
    let size = std::fs::metadata(recording).unwrap().len();

    let output = show(&env, &["--archive", archive.to_str().unwrap(), &id]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let page = stdout_of(&output);
    assert!(page.contains("\nTranscript\n"), "{page}");
    // The recording is named by its file and size (the path may wrap: compare without breaks).
    let joined: String = page.split_whitespace().collect();
    let named = format!("{}({size}bytes)", recording.display());
    assert!(joined.contains(&named), "{named} not in {page}");
    // Utterances at +m:ss since the call started, said by a party of the call.
    let transcript = page.split("\nTranscript\n").nth(1).unwrap();
    let first = transcript.lines().next().unwrap();
    assert!(first.trim_start().starts_with('+'), "{transcript}");
    assert!(first.contains(": "), "{transcript}");
    assert!(!recording_ids(&report).is_empty());

    // Without the archive, the page stays as it was: no transcript, no GoTo transcript request.
    let before = transcript_requests(&env);
    let plain = show(&env, &[&id]);
    assert!(plain.status.success(), "{}", stderr_of(&plain));
    assert!(!stdout_of(&plain).contains("\nTranscript\n"));
    assert_eq!(transcript_requests(&env), before);
}

fn transcript_requests(env: &TestEnv) -> usize {
    env.sandbox
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/recording/v1/transcriptions/"))
        .count()
}

#[test]
fn show_transcript_fetches_it_from_goto_without_an_archive() {
    let env = env();
    let (id, _) = recorded_call(&env);
    let output = show(&env, &["--transcript", &id]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let page = stdout_of(&output);
    let transcript = page.split("\nTranscript\n").nth(1).expect(&page);
    assert!(transcript.lines().count() >= 2, "{page}");
    assert!(transcript_requests(&env) >= 1);
    let storage = env.sandbox.storage_requests();
    assert!(
        !storage.is_empty(),
        "the transcript did not come from the storage host"
    );
    assert!(
        storage.iter().all(|r| !r.authorization),
        "the bearer token reached the storage host"
    );
}

#[test]
fn recording_to_a_folder_is_the_simulators_audio_from_goto_and_from_the_archive() {
    let env = env();
    let (id, report) = recorded_call(&env);
    let recordings = recording_ids(&report);
    let wanted: Vec<String> = recordings
        .iter()
        .map(|r| sha256(&simulator_audio(&env, r)))
        .collect();

    // From GoTo: no archive.
    let from_goto = env.dir.path().join("from-goto");
    std::fs::create_dir_all(&from_goto).unwrap();
    let output = env
        .cer_with_token()
        .args(["recording", &id, "-o"])
        .arg(&from_goto)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let got: Vec<String> = files_in(&from_goto)
        .iter()
        .map(|f| sha256(&std::fs::read(f).unwrap()))
        .collect();
    assert_eq!(got.len(), recordings.len());
    for sum in &wanted {
        assert!(got.contains(sum), "{got:?} lacks {sum}");
    }
    assert!(
        env.sandbox
            .storage_requests()
            .iter()
            .all(|r| !r.authorization),
        "the bearer token reached the storage host"
    );

    // From the archive: GoTo's storage host is not asked again.
    let archive = env.dir.path().join("archive");
    archive_into(&env, &archive);
    let asked = env.sandbox.storage_requests().len();
    let from_archive = env.dir.path().join("from-archive");
    std::fs::create_dir_all(&from_archive).unwrap();
    let output = env
        .cer_with_token()
        .args(["recording", &id[..8], "--archive"])
        .arg(&archive)
        .arg("-o")
        .arg(&from_archive)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(env.sandbox.storage_requests().len(), asked);
    let names: Vec<String> = files_in(&from_archive)
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("recording-") && !n.contains("partial")),
        "{names:?}"
    );
    let got: Vec<String> = files_in(&from_archive)
        .iter()
        .map(|f| sha256(&std::fs::read(f).unwrap()))
        .collect();
    for sum in &wanted {
        assert!(got.contains(sum), "{got:?} lacks {sum}");
    }
}

#[cfg(unix)]
#[test]
fn recording_over_an_existing_file_keeps_its_permissions_and_dev_null_takes_it() {
    use std::os::unix::fs::PermissionsExt;
    let env = env();
    let (id, recording) = call_with_one_recording(&env);
    let target = env.dir.path().join("call.wav");
    std::fs::write(&target, b"an older download").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = recording_to(&env, &id, &target);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        sha256(&std::fs::read(&target).unwrap()),
        sha256(&simulator_audio(&env, &recording))
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a private recording stays private");

    // A device is written as the bytes come, as curl writes it.
    let output = recording_to(&env, &id, "/dev/null");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let device = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&device),
        "/dev/null was replaced"
    );
}

#[test]
fn recording_to_a_path_ending_in_a_slash_makes_the_folder_and_a_missing_folder_fails_first() {
    let env = env();
    let (id, recording) = call_with_one_recording(&env);
    let made = env.dir.path().join("calls").join("new");
    let output = recording_to(&env, &id, format!("{}/", made.display()));
    assert!(output.status.success(), "{}", stderr_of(&output));
    let files = files_in(&made);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        sha256(&std::fs::read(&files[0]).unwrap()),
        sha256(&simulator_audio(&env, &recording))
    );

    // A file in a folder that is not there: said before anything is downloaded.
    let downloads = env.sandbox.storage_requests().len();
    let target = env.dir.path().join("nowhere").join("call.wav");
    let output = recording_to(&env, &id, &target);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("does not exist"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(env.sandbox.storage_requests().len(), downloads);
}

#[test]
fn recording_cut_mid_download_is_fetched_again_whole_and_a_file_there_kept_when_it_keeps_failing() {
    let env = env();
    let (id, recording) = call_with_one_recording(&env);
    let target = env.dir.path().join("call.wav");
    // Cut once: tried again from the start, and the file is whole.
    env.sandbox.faults().cut_next_downloads(1000, 1);
    let output = recording_to(&env, &id, &target);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let audio = simulator_audio(&env, &recording);
    assert_eq!(sha256(&std::fs::read(&target).unwrap()), sha256(&audio));

    // Cut every time: a bounded number of tries, exit 1, and the file there untouched.
    env.sandbox.faults().cut_next_downloads(1000, 100);
    let output = recording_to(&env, &id, &target);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("broke off"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(sha256(&std::fs::read(&target).unwrap()), sha256(&audio));
}

#[test]
fn recording_to_a_pipe_is_the_audio_and_a_terminal_is_refused() {
    let env = env();
    let (id, recording) = call_with_one_recording(&env);
    let output = env
        .cer_with_token()
        .args(["recording", &id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        sha256(&output.stdout),
        sha256(&simulator_audio(&env, &recording))
    );

    let before = env.sandbox.requests().len();
    let args = ["recording", id.as_str()];
    let refused = env
        .cer_with_token()
        .env("CER_FORCE_TTY", "stdout")
        .args(args)
        .output()
        .unwrap();
    let filters = Filters::default().literal(&id, "[CALL]").world(&env);
    assert_filtered!(filters, snapshot::of_output(&args, &refused));
    assert_eq!(env.sandbox.requests().len(), before, "a request was made");
}

#[test]
fn a_recording_gone_from_goto_is_exit_3_naming_it_and_writes_nothing() {
    let env = env();
    let (id, recording) = call_with_one_recording(&env);
    let params = [("id".to_string(), recording.clone())];
    env.sandbox
        .faults()
        .apply("recording-gone", &params)
        .expect("a known fault");
    let out = env.dir.path().join("gone.wav");
    let to_file = recording_to(&env, &id, &out);
    let to_pipe = env
        .cer_with_token()
        .args(["recording", &id])
        .output()
        .unwrap();
    let filters = Filters::default()
        .literal(&id, "[CALL]")
        .literal(&recording, "[RECORDING]")
        .world(&env);
    assert_filtered!(
        filters,
        snapshot::of_output(&["recording", &id, "-o", "[TMP]/gone.wav"], &to_file)
            + &snapshot::of_output(&["recording", &id], &to_pipe)
    );
    assert!(to_pipe.stdout.is_empty());
    assert!(!out.exists());
}

#[test]
fn recording_of_a_call_without_one_is_exit_3_and_a_bad_id_exit_2() {
    // A call without a recording: with analysis off, the simulator records none.
    let env = TestEnv::with(SandboxConfig {
        call_every: None,
        analysis_delay: None,
        ..SandboxConfig::default()
    });
    let id = env
        .sandbox
        .place_call_lasting(Duration::from_secs(20))
        .conversation_space_id;
    let fetched = env.cer_with_token().args(["fetch", &id]).output().unwrap();
    let report: Value = serde_json::from_slice(&fetched.stdout).unwrap();
    assert!(recording_ids(&report).is_empty(), "{report}");
    let out = env.dir.path().join("none.wav");
    let output = env
        .cer_with_token()
        .args(["recording", &id, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let filters = Filters::default().literal(&id, "[CALL]").world(&env);
    let args = ["recording", &id, "-o", "[TMP]/none.wav"];
    assert_filtered!(filters, snapshot::of_output(&args, &output));
    assert!(!out.exists());

    let bad = env
        .cer_with_token()
        .args(["recording", "not-an-id", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr_of(&bad));
}

#[test]
fn show_and_recording_read_an_s3_archive() {
    let Some(server) = super::s3::shared() else {
        return;
    };
    let env = env();
    let (id, report) = recorded_call(&env);
    let recordings = recording_ids(&report);
    assert_eq!(recordings.len(), 1, "{report}");
    let bucket = server.fresh_bucket();
    let archive = format!("s3://{bucket}/calls");
    let vars = server.env();
    let with_s3 = |command: &mut assert_cmd::Command| {
        for (name, value) in &vars {
            command.env(name, value);
        }
    };
    let mut sync = env.cer_with_token();
    with_s3(&mut sync);
    let synced = sync
        .args(["sync", "--since", "10m", "--archive", &archive])
        .output()
        .unwrap();
    assert!(synced.status.success(), "{}", stderr_of(&synced));
    let asked = env.sandbox.storage_requests().len();

    let mut show = env.cer_with_token();
    with_s3(&mut show);
    let output = show
        .env("COLUMNS", "200")
        .args(["show", "--archive", &archive, &id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let page = stdout_of(&output);
    let named = format!("{archive}/");
    let line = page
        .lines()
        .find(|l| l.contains(&named) && l.contains(&recordings[0]))
        .unwrap_or_else(|| panic!("no recording named in {page}"));
    assert!(line.trim_end().ends_with("bytes)"), "{line}");
    assert!(page.contains("\nTranscript\n"), "{page}");

    let file = env.dir.path().join("call.wav");
    let mut recording = env.cer_with_token();
    with_s3(&mut recording);
    let written = recording
        .args(["recording", &id, "--archive", &archive, "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", stderr_of(&written));
    assert_eq!(
        env.sandbox.storage_requests().len(),
        asked,
        "GoTo's storage was asked"
    );
    assert_eq!(
        sha256(&std::fs::read(&file).unwrap()),
        sha256(&simulator_audio(&env, &recordings[0]))
    );
}

#[test]
fn recording_from_goto_without_the_recording_scope_is_exit_4_before_any_download() {
    let env = env();
    let (id, _) = recorded_call(&env);
    // The default login asks for cer's two scopes only.
    env.login();
    let before = env.sandbox.requests().len();
    let out = env.dir.path().join("call.wav");
    let filters = Filters::default().literal(&id, "[CALL]").world(&env);
    cer_snapshot!(
        env,
        &["recording", &id, "-o", out.to_str().unwrap()],
        &[],
        filters
    );
    let asked: Vec<String> = env.sandbox.requests()[before..]
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p.starts_with("/recording/"))
        .collect();
    assert!(asked.is_empty(), "{asked:?}");
    assert!(!out.exists());
}

#[test]
fn an_archived_transcript_broken_hostile_or_too_big_reads_safely_and_the_layout_finds_files() {
    let env = env();
    let (id, _) = recorded_call(&env);
    let archive = env.dir.path().join("archive");
    archive_into(&env, &archive);
    let files = files_in(&archive);
    let transcript = files
        .iter()
        .find(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("transcript-")
        })
        .expect("an archived transcript");
    let recording = files
        .iter()
        .find(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("recording-")
        })
        .expect("an archived recording");
    let size = std::fs::metadata(recording).unwrap().len();
    // A store that knows nothing of the archive: the call comes from GoTo, its files from
    // the archive's layout.
    let empty = format!("sqlite:{}", env.dir.path().join("empty.db").display());
    let page_with = |body: &[u8]| {
        std::fs::write(transcript, body).unwrap();
        let output = env
            .cer_with_token()
            .env("COLUMNS", "300")
            .args(["show", "--store", &empty, "--archive"])
            .arg(&archive)
            .arg(&id)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        stdout_of(&output)
    };
    let page = page_with(b"{\"results\": [{\"transcript\": \x1b[2J");
    let section = page.split("\nTranscript\n").nth(1).expect(&page);
    let note = section.lines().next().unwrap();
    assert!(note.contains("cannot be read"), "{page}");
    assert!(!page.contains('\u{1b}'), "{page}");
    let named = format!("{} ({size} bytes)", recording.display());
    assert!(page.contains(&named), "{named} not in {page}");

    // Terminal escapes and bidirectional overrides from GoTo reach the page escaped.
    let hostile = concat!(
        r#"{"results": [{"type": "utterances", "final": true, "startTimeMs": 1000, "#,
        r#""channel": 0, "transcript": "\u001b]0;owned\u0007\u001b[2Jhi \u202etxt.exe"}]}"#
    );
    let page = page_with(hostile.as_bytes());
    let section = page.split("\nTranscript\n").nth(1).expect(&page);
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!page.contains(raw), "{raw:?} reached the page: {page}");
    }
    assert!(
        section.contains(r"\e]0;owned\u{7}\e[2Jhi \u{202e}txt.exe"),
        "{section}"
    );

    let big = vec![b' '; 8 * 1024 * 1024 + 1];
    let page = page_with(&big);
    let section = page.split("\nTranscript\n").nth(1).expect(&page);
    assert!(section.contains("larger than 8 MiB"), "{page}");
}

#[test]
fn show_transcript_with_a_token_without_the_recording_scope_is_a_note_naming_the_login() {
    let env = env();
    let (id, _) = recorded_call(&env);
    let token = env
        .sandbox
        .issue_token_with_scopes("cr.v1.read call-events.v1.notifications.manage", None)
        .unwrap();
    let output = env
        .cer()
        .env("CER_TOKEN", token)
        .env("COLUMNS", "300")
        .args(["show", "--transcript", &id])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let page = stdout_of(&output);
    let section = page.split("\nTranscript\n").nth(1).expect(&page);
    let note = section.lines().next().unwrap();
    assert!(note.contains("is not available"), "{note}");
    assert!(note.contains("cer login --recordings"), "{note}");
}

#[test]
fn recording_interrupted_mid_download_leaves_no_file_behind() {
    let env = env();
    let (id, _) = recorded_call(&env);
    // A 40 s call's audio is over 600 KB: at 20 KB/s the download outlasts the test's signal.
    env.sandbox.faults().slow_downloads(Some(20_000));
    let folder = env.dir.path().join("out");
    std::fs::create_dir_all(&folder).unwrap();
    let mut command = env.cer_process();
    command
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .args(["recording", &id, "-o"])
        .arg(folder.join("call.wav"));
    let running = crate::harness::Running::start(command);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while files_in(&folder).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no download started");
        std::thread::sleep(Duration::from_millis(20));
    }
    running.signal("INT");
    let (code, _, stderr) = running.wait(Duration::from_secs(10));
    assert_eq!(code, Some(130), "{stderr:?}");
    assert!(files_in(&folder).is_empty(), "{:?}", files_in(&folder));
    assert!(
        stderr.iter().any(|l| l.contains("interrupted")),
        "{stderr:?}"
    );
}
