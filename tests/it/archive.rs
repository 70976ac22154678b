//! The archive (SPEC section 13) on a real S3-compatible store: what cer writes is read back
//! with boto3, byte for byte; large objects go up in parts; an upload that breaks off leaves
//! no object under its name and no open multipart upload.

use bytes::Bytes;
use cer::archive::{Archive, ArchiveError, ArchiveLocation, Chunks, S3Settings};
use cer::secret::Secret;

use super::s3;
use crate::probe::{http_client, sha256_hex};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn s3_archive(server: &s3::S3Server, bucket: &str, prefix: &str) -> Archive {
    let settings = S3Settings {
        access_key_id: Some(s3::ACCESS_KEY.to_string()),
        secret_access_key: Some(Secret::new(s3::SECRET_KEY)),
        session_token: None,
        region: "us-east-1".to_string(),
        endpoint: Some(server.endpoint.parse().unwrap()),
    };
    let location = ArchiveLocation::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    };
    let http = http_client();
    Archive::open(&location, &settings, http).unwrap()
}

/// `len` bytes no two runs of which repeat soon, in chunks of 64 KiB.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn chunks_of(bytes: &[u8], then_fail: bool) -> Chunks<'static> {
    let mut parts: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    if then_fail {
        parts.push(Err(std::io::Error::other(
            "connection reset by GoTo's storage",
        )));
    }
    Box::pin(futures_util::stream::iter(parts))
}

#[test]
fn s3_archive_is_byte_identical_path_style_and_multipart_when_large() {
    let Some(server) = s3::shared() else { return };
    let bucket = server.fresh_bucket();
    let archive = s3_archive(server, &bucket, "goto/calls");
    let rt = runtime();
    let small = br#"{"conversationSpaceId": "c1", "z": 1, "a": 2}"#.to_vec();
    let done = rt
        .block_on(archive.put(
            "2026/01/02/c1/report.json",
            "application/json",
            chunks_of(&small, false),
        ))
        .unwrap();
    assert_eq!(done.bytes, small.len() as u64);
    assert_eq!(done.sha256, sha256_hex(&small));
    // The endpoint is an IP address: only a path-style request can reach the bucket.
    assert_eq!(
        server.object(&bucket, "goto/calls/2026/01/02/c1/report.json"),
        Some(small)
    );

    let large = data(19 * 1024 * 1024);
    let key = "2026/01/02/c1/recording-r1.mp3";
    let done = rt
        .block_on(archive.put(key, "audio/mpeg", chunks_of(&large, false)))
        .unwrap();
    assert_eq!(done.sha256, sha256_hex(&large));
    let full = format!("goto/calls/{key}");
    assert!(
        server.object(&bucket, &full) == Some(large.clone()),
        "the large object differs"
    );
    let (etag, content_type) = server.head(&bucket, &full);
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "not a 3-part upload: {etag}"
    );
    assert_eq!(content_type, "audio/mpeg");
    assert_eq!(rt.block_on(archive.rehash(key)).unwrap(), Some(done));
    assert_eq!(
        rt.block_on(archive.list("2026/01/02/c1")).unwrap(),
        vec![
            "2026/01/02/c1/recording-r1.mp3",
            "2026/01/02/c1/report.json"
        ]
    );
    assert_eq!(
        rt.block_on(archive.rehash("2026/01/02/c1/none.mp3"))
            .unwrap(),
        None
    );
}

#[test]
fn an_interrupted_s3_upload_leaves_no_object_under_its_name() {
    let Some(server) = s3::shared() else { return };
    let bucket = server.fresh_bucket();
    let archive = s3_archive(server, &bucket, "");
    let rt = runtime();
    // Cut after two parts' worth (a multipart upload under way) and before one (a single PUT).
    for (key, len) in [
        ("d/c/recording-big.mp3", 17 * 1024 * 1024),
        ("d/c/recording-small.mp3", 1000),
    ] {
        let err = rt
            .block_on(archive.put(key, "audio/mpeg", chunks_of(&data(len), true)))
            .unwrap_err();
        assert!(matches!(err, ArchiveError::Source(_)), "{err}");
    }
    assert_eq!(server.keys(&bucket), Vec::<String>::new());
    assert_eq!(
        server.open_uploads(&bucket),
        0,
        "the multipart upload was not aborted"
    );
}

mod media_rows {
    use std::time::Duration;

    use cer::store::media::{MediaItem, MediaKind, MediaOutcome};
    use cer::store::{Store, StoreLocation};
    use jiff::Timestamp;

    use super::super::postgres;

    fn item(call: &str, kind: MediaKind, id: &str) -> MediaItem {
        MediaItem {
            call: call.to_string(),
            kind,
            media_id: id.to_string(),
            participant_id: Some("p1".to_string()),
        }
    }

    /// Two openings of one store are two listeners: each holds its own leases.
    async fn each_object_is_claimed_once(location: StoreLocation) {
        let (a, b) = (
            Store::open(&location).await.unwrap(),
            Store::open(&location).await.unwrap(),
        );
        let now: Timestamp = "2026-01-02T10:00:00Z".parse().unwrap();
        let lease = Duration::from_secs(60);
        let items = [
            item("c1", MediaKind::Recording, "r1"),
            item("c1", MediaKind::Transcript, "t1"),
            item("c2", MediaKind::Recording, "r2"),
        ];
        a.plan_media(&items, now).await.unwrap();
        a.plan_media(&items, now).await.unwrap();
        let only_c1 = a.claim_media(Some("c1"), now, lease, 10).await.unwrap();
        assert_eq!(only_c1.len(), 2, "{only_c1:?}");
        let rest = b.claim_media(None, now, lease, 10).await.unwrap();
        assert_eq!(
            rest.iter()
                .map(|c| c.item.media_id.as_str())
                .collect::<Vec<_>>(),
            ["r2"]
        );
        assert!(
            b.claim_media(None, now, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let archived = MediaOutcome::Archived {
            object_key: "2026/01/02/c1/recording-r1.mp3".into(),
            bytes: 4,
            sha256: "ab".into(),
            content_type: "audio/mpeg".into(),
        };
        assert!(a.settle_media(&only_c1[0], &archived, now).await.unwrap());
        // A's lease on t1 runs out: B takes it, and A's late result no longer counts.
        let later = now + jiff::SignedDuration::from_secs(61);
        let taken = b.claim_media(Some("c1"), later, lease, 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert!(
            !a.settle_media(&only_c1[1], &MediaOutcome::Gone, later)
                .await
                .unwrap()
        );
        assert!(
            b.settle_media(&taken[0], &MediaOutcome::Gone, later)
                .await
                .unwrap()
        );
        let rows = a.media_of_call("c1").await.unwrap();
        let states: Vec<_> = rows
            .iter()
            .map(|r| (r.item.media_id.as_str(), r.state.as_str()))
            .collect();
        assert_eq!(states, [("r1", "archived"), ("t1", "gone")]);
        assert_eq!(rows[0].sha256.as_deref(), Some("ab"));
        assert_eq!(rows[0].bytes, Some(4));
        // A retry waits until it is due.
        let retry = MediaOutcome::Retry {
            error: "not ready".into(),
            next: later + jiff::SignedDuration::from_secs(30),
        };
        assert!(b.settle_media(&rest[0], &retry, now).await.unwrap());
        assert!(
            a.claim_media(None, later, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let due = later + jiff::SignedDuration::from_secs(30);
        assert_eq!(a.claim_media(None, due, lease, 10).await.unwrap().len(), 1);
    }

    /// A stopping sync gives back every claim it holds, by its holder, and none of another's.
    async fn a_stopping_opening_releases_its_own_claims(location: StoreLocation) {
        let (a, b) = (
            Store::open(&location).await.unwrap(),
            Store::open(&location).await.unwrap(),
        );
        let now: Timestamp = "2026-01-02T10:00:00Z".parse().unwrap();
        let lease = Duration::from_secs(600);
        let items = [
            item("c1", MediaKind::Recording, "r1"),
            item("c1", MediaKind::Transcript, "t1"),
            item("c2", MediaKind::Recording, "r2"),
        ];
        a.plan_media(&items, now).await.unwrap();
        assert_eq!(
            a.claim_media(Some("c1"), now, lease, 10)
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(b.claim_media(None, now, lease, 10).await.unwrap().len(), 1);
        a.release_all_media().await.unwrap();
        // A's two are free at once, long before their lease ends; B's stays B's.
        let freed = b.claim_media(None, now, lease, 10).await.unwrap();
        let freed: Vec<_> = freed.iter().map(|c| c.item.media_id.as_str()).collect();
        assert_eq!(freed, ["r1", "t1"]);
        b.release_all_media().await.unwrap();
        a.release_all_media().await.unwrap();
        assert_eq!(a.claim_media(None, now, lease, 10).await.unwrap().len(), 3);
    }

    #[test]
    fn a_stopping_sync_releases_what_it_claimed_and_nothing_else() {
        let rt = super::runtime();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(a_stopping_opening_releases_its_own_claims(
            StoreLocation::Sqlite(dir.path().join("cer.db")),
        ));
        if let Some(url) = postgres::fresh_database() {
            rt.block_on(a_stopping_opening_releases_its_own_claims(
                StoreLocation::parse(&url).unwrap(),
            ));
        }
    }

    #[test]
    fn listeners_sharing_a_store_archive_each_object_once() {
        let rt = super::runtime();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(each_object_is_claimed_once(StoreLocation::Sqlite(
            dir.path().join("cer.db"),
        )));
        if let Some(url) = postgres::fresh_database() {
            rt.block_on(each_object_is_claimed_once(
                StoreLocation::parse(&url).unwrap(),
            ));
        }
    }
}

/// `cer sync --archive` against the simulator's Recording API, end to end.
mod end_to_end {
    use std::path::Path;
    use std::time::Duration;

    use cer_sandbox::SandboxConfig;
    use serde_json::Value;

    use super::super::harness::{Running, TestEnv};
    use super::s3;
    use crate::probe::{call_folder, files_under};
    use crate::snapshot::{self, Filters, assert_filtered, cer_snapshot};

    /// No scheduled calls; recordings and transcripts uploaded as each call ends.
    fn env() -> TestEnv {
        TestEnv::with(SandboxConfig {
            call_every: None,
            analysis_delay: Some(Duration::ZERO),
            ..SandboxConfig::default()
        })
    }

    /// What GoTo (the simulator) serves for a recorded call, fetched by hand: the report text,
    /// and (id, bytes) of its recording and of its transcript.
    struct Served {
        call: String,
        report: String,
        recording: (String, Vec<u8>),
        transcript: (String, Vec<u8>),
    }

    fn served(env: &TestEnv, call: &str) -> Served {
        let token = env.sandbox.issue_token(None);
        let base = env.sandbox.base_url();
        let http = crate::probe::http_client();
        env.block_on(async {
            let get = |url: String, bearer: bool| {
                let request = http.get(url);
                let request = if bearer {
                    request.bearer_auth(&token)
                } else {
                    request
                };
                async move { request.send().await.unwrap() }
            };
            let report = get(format!("{base}/call-events-report/v1/reports/{call}"), true).await;
            let report = report.text().await.unwrap();
            let parsed: Value = serde_json::from_str(&report).unwrap();
            let recorded = parsed["participants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["recordings"].as_array().is_some_and(|r| !r.is_empty()))
                .expect("a recorded participant")
                .clone();
            let rid = recorded["recordings"][0]["id"]
                .as_str()
                .unwrap()
                .to_string();
            let tid = recorded["transcripts"][0]["id"]
                .as_str()
                .unwrap()
                .to_string();
            let answer = get(
                format!("{base}/recording/v1/recordings/{rid}/content"),
                true,
            )
            .await;
            let body: Value = answer.json().await.unwrap();
            let download = if body["token"].is_object() {
                &body["token"]["token"]
            } else {
                &body["token"]
            };
            let download = download.as_str().unwrap();
            let mut at = format!("{base}/recording/v1/recordings/{rid}/content/{download}");
            let mut bearer = true;
            let audio = loop {
                let answer = get(at.clone(), bearer).await;
                if !answer.status().is_redirection() {
                    assert!(answer.status().is_success(), "{}", answer.status());
                    break answer.bytes().await.unwrap().to_vec();
                }
                at = answer.headers()["location"].to_str().unwrap().to_string();
                bearer = false;
            };
            let mut at = format!("{base}/recording/v1/transcriptions/{tid}");
            let mut bearer = true;
            let transcript = loop {
                let answer = get(at.clone(), bearer).await;
                if !answer.status().is_redirection() {
                    break answer.bytes().await.unwrap().to_vec();
                }
                at = answer.headers()["location"].to_str().unwrap().to_string();
                bearer = false;
            };
            Served {
                call: call.to_string(),
                report,
                recording: (rid, audio),
                transcript: (tid, transcript),
            }
        })
    }

    fn sync(env: &TestEnv, store: &str, extra: &[&str]) -> cer::Captured {
        let mut args = vec!["sync", "--since", "1h", "--store", store];
        args.extend_from_slice(extra);
        env.run_with_token(&args, &[])
    }

    /// The test's own SQLite store, in its state folder.
    fn state_store(env: &TestEnv) -> String {
        format!("sqlite:{}", env.state_dir().join("cer.db").display())
    }

    /// `n` calls of 40 s, each with a recording and a transcript: their IDs.
    fn recorded_calls(env: &TestEnv, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                env.sandbox
                    .place_recorded_call(Duration::from_secs(40))
                    .conversation_space_id
            })
            .collect()
    }

    /// A range of calls is archived several calls at a time, not one object after another: with
    /// slow downloads the storage host sends more than one at once, and every object of every
    /// call arrives whole.
    #[test]
    fn sync_archive_downloads_several_objects_at_once() {
        let env = env();
        let calls = recorded_calls(&env, 3);
        // A recording of a 40 s call (about 300 KB) takes more than a second at this rate.
        env.sandbox.faults().slow_downloads(Some(250_000));
        let store = state_store(&env);
        let root = env.work_dir().join("archive");
        let run = sync(&env, &store, &["--archive", &root.display().to_string()]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("Archived 6 recordings and transcripts"),
            "{}",
            run.stderr
        );
        let at_once = env.sandbox.most_downloads_at_once();
        assert!(at_once >= 2, "at most {at_once} download at once");
        env.sandbox.faults().slow_downloads(None);
        for call in &calls {
            let want = served(&env, call);
            let folder = call_folder(&root, call);
            let recording = format!("recording-{}.wav", want.recording.0);
            let transcript = format!("transcript-{}.json", want.transcript.0);
            assert!(std::fs::read(folder.join(recording)).unwrap() == want.recording.1);
            assert_eq!(
                std::fs::read(folder.join(transcript)).unwrap(),
                want.transcript.1
            );
        }
    }

    /// Within a call, objects go one after another: a transcript's request never comes between
    /// a recording's two, where the rate limit (10 a second; cer lets two go at once) would
    /// hold the recording's download back a tenth of a second.
    #[test]
    fn a_calls_recording_asks_its_two_requests_together() {
        let env = env();
        env.sandbox.place_recorded_call(Duration::from_secs(40));
        let store = state_store(&env);
        let root = env.work_dir().join("archive");
        let run = sync(&env, &store, &["--archive", &root.display().to_string()]);
        assert_eq!(run.code, 0, "{run:?}");
        // Each request to the Recording API, named by its shape.
        let asked: Vec<&str> = env
            .sandbox
            .requests()
            .iter()
            .map(|r| match r.path.split('/').collect::<Vec<_>>()[..] {
                [_, "recording", "v1", "recordings", _, "content"] => "content token",
                [_, "recording", "v1", "recordings", _, "content", _] => "audio redirect",
                [_, "recording", "v1", "transcriptions", _] => "transcript",
                _ => "",
            })
            .filter(|asked| !asked.is_empty())
            .collect();
        assert_eq!(asked, ["content token", "audio redirect", "transcript"]);
    }

    /// A sync that stops with downloads under way (GoTo refuses the recordings) releases what
    /// it claimed: the next sync archives every object at once, not after a lease runs out.
    #[test]
    fn a_sync_stopped_mid_range_leaves_its_claims_to_the_next_at_once() {
        let env = env();
        let calls = recorded_calls(&env, 3);
        env.sandbox.faults().slow_downloads(Some(250_000));
        env.sandbox
            .faults()
            .fail_next_on("/recording/v1/transcriptions", 1, 403);
        let store = state_store(&env);
        let root = env.work_dir().join("archive");
        let archive = root.display().to_string();
        let stopped = sync(&env, &store, &["--archive", &archive]);
        assert_ne!(stopped.code, 0, "{stopped:?}");
        assert!(stopped.stderr.contains("refused"), "{}", stopped.stderr);
        env.sandbox.faults().slow_downloads(None);
        let again = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(again.code, 0, "{again:?}");
        for call in &calls {
            let want = served(&env, call);
            let folder = call_folder(&root, call);
            let recording = format!("recording-{}.wav", want.recording.0);
            let transcript = format!("transcript-{}.json", want.transcript.0);
            assert!(folder.join(recording).exists(), "{}", again.stderr);
            assert!(folder.join(transcript).exists(), "{}", again.stderr);
        }
    }

    #[test]
    fn sync_archive_writes_the_layout_byte_exact_with_private_modes() {
        let env = env();
        let call = env
            .sandbox
            .place_recorded_call(Duration::from_secs(40))
            .conversation_space_id;
        let store = state_store(&env);
        let root = env.work_dir().join("archive");
        let archive = root.display().to_string();
        let run = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("Archived 2 recordings and transcripts"),
            "{}",
            run.stderr
        );
        let want = served(&env, &call);
        let folder = call_folder(&root, &want.call);
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let recording = format!("recording-{}.wav", want.recording.0);
        let transcript = format!("transcript-{}.json", want.transcript.0);
        assert_eq!(
            names,
            vec![
                recording.clone(),
                "report.json".to_string(),
                transcript.clone()
            ]
        );
        assert_eq!(
            std::fs::read_to_string(folder.join("report.json")).unwrap(),
            want.report
        );
        assert!(
            std::fs::read(folder.join(&recording)).unwrap() == want.recording.1,
            "audio differs"
        );
        assert_eq!(
            std::fs::read(folder.join(&transcript)).unwrap(),
            want.transcript.1
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for file in [&recording, &transcript, &"report.json".to_string()] {
            assert_eq!(mode(&folder.join(file)), 0o600, "{file}");
        }
        let mut dir = folder.as_path();
        while dir != root.parent().unwrap() {
            assert_eq!(mode(dir), 0o700, "{}", dir.display());
            dir = dir.parent().unwrap();
        }
        // The storage host never saw GoTo's bearer token (the simulator's refuses it).
        assert!(
            env.sandbox
                .storage_requests()
                .iter()
                .all(|r| !r.authorization)
        );
        // Again: nothing new to do.
        let again = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(again.code, 0, "{again:?}");
        assert!(
            again
                .stderr
                .contains("Archived 0 recordings and transcripts"),
            "{}",
            again.stderr
        );
    }

    #[test]
    fn sync_check_archive_finds_a_missing_transcript_and_verify_an_altered_file() {
        let env = env();
        let call = env
            .sandbox
            .place_recorded_call(Duration::from_secs(20))
            .conversation_space_id;
        let store = state_store(&env);
        let root = env.work_dir().join("archive");
        let archive = root.display().to_string();
        assert_eq!(sync(&env, &store, &[]).code, 0);
        let recording_api = || {
            let requests = env.sandbox.requests();
            requests
                .iter()
                .filter(|r| r.path.starts_with("/recording/"))
                .count()
        };
        // Every check: it downloads nothing from GoTo's Recording API.
        let check = |extra: &[&str]| {
            let mut args = vec!["--check", "--archive", archive.as_str()];
            args.extend_from_slice(extra);
            let before = recording_api();
            let run = sync(&env, &store, &args);
            assert_eq!(recording_api(), before, "a check asked the Recording API");
            run
        };
        let before = check(&["--json"]);
        assert_eq!(before.code, 1, "{before:?}");
        let json: Value = serde_json::from_str(before.stdout.trim()).unwrap();
        // Each missing object as fields a script can read: the call, the kind, the media ID.
        let mut missing: Vec<(String, String, bool)> = json["archive"]["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["conversationSpaceId"].as_str().unwrap().to_string(),
                    m["kind"].as_str().unwrap().to_string(),
                    m["mediaId"].is_string(),
                )
            })
            .collect();
        missing.sort();
        let named = |kind: &str, media: bool| (call.clone(), kind.to_string(), media);
        assert_eq!(
            missing,
            [
                named("recording", true),
                named("report", false),
                named("transcript", true)
            ],
            "{json}"
        );
        let archived = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(archived.code, 0, "{archived:?}");
        let after = check(&[]);
        assert_eq!(after.code, 0, "{after:?}");
        assert!(
            after.stdout.contains("3 objects archived, 0 missing"),
            "{}",
            after.stdout
        );

        let want = served(&env, &call);
        let folder = call_folder(&root, &call);
        std::fs::remove_file(folder.join(format!("transcript-{}.json", want.transcript.0)))
            .unwrap();
        let lacking = check(&["-v"]);
        assert_eq!(lacking.code, 1, "{lacking:?}");
        assert!(
            lacking
                .stdout
                .contains(&format!("transcript {}", want.transcript.0)),
            "{}",
            lacking.stdout
        );
        assert_eq!(sync(&env, &store, &["--archive", &archive]).code, 0);
        assert_eq!(check(&["--verify"]).code, 0);

        let recording = folder.join(format!("recording-{}.wav", want.recording.0));
        let mut bytes = std::fs::read(&recording).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&recording, bytes).unwrap();
        assert_eq!(
            check(&[]).code,
            0,
            "without --verify only presence is checked"
        );
        let verified = check(&["--verify"]);
        assert_eq!(verified.code, 1, "{verified:?}");
        assert!(verified.stdout.contains("1 differ"), "{}", verified.stdout);
        // The way out the check names works: the altered file removed, a sync archives it again.
        assert!(
            verified.stderr.contains("delete each one that differs"),
            "{}",
            verified.stderr
        );
        std::fs::remove_file(&recording).unwrap();
        assert_eq!(sync(&env, &store, &["--archive", &archive]).code, 0);
        assert_eq!(check(&["--verify"]).code, 0);
    }

    #[test]
    fn the_download_token_and_the_storage_address_never_reach_a_log_line() {
        let env = env();
        env.sandbox.place_recorded_call(Duration::from_secs(10));
        let store = state_store(&env);
        let archive = env.work_dir().join("archive").display().to_string();
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &store,
            "--archive",
            &archive,
        ];
        let run = env.run_with_token(&args, &[("LOG_LEVEL", "trace")]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("/content/(token)"),
            "the download was not logged at all"
        );
        let after_content: Vec<&str> = run.stderr.split("/content/").skip(1).collect();
        assert!(
            after_content.iter().all(|rest| rest.starts_with("(token)")),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(&env.sandbox.storage_url()),
            "{}",
            run.stderr
        );
    }

    #[test]
    fn a_token_goto_refuses_for_recordings_is_exit_4_and_frees_what_it_claimed() {
        let env = env();
        env.sandbox.place_recorded_call(Duration::from_secs(10));
        let store = state_store(&env);
        let archive = env.work_dir().join("archive").display().to_string();
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &store,
            "--archive",
            &archive,
        ];
        let scopes = "cr.v1.read call-events.v1.notifications.manage";
        let narrow = env.sandbox.issue_token_with_scopes(scopes, None).unwrap();
        let filters = Filters::of(&env).instants();
        cer_snapshot!(env, &args, &[("CER_TOKEN", &narrow)], filters);
        // A token with the scope, at once: nothing is still held by the run that stopped.
        let run = env.run_with_token(&args, &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("Archived 2 recordings and transcripts"),
            "{}",
            run.stderr
        );
    }

    #[test]
    fn a_folder_archive_beside_a_shared_store_is_a_warning() {
        let Some(url) = super::super::postgres::fresh_database() else {
            return;
        };
        let env = env();
        env.sandbox.place_recorded_call(Duration::from_secs(10));
        let archive = env.work_dir().join("archive").display().to_string();
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &url,
            "--archive",
            &archive,
        ];
        let run = env.run_with_token(&args, &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("is a folder but the store is shared"),
            "{}",
            run.stderr
        );
        let sqlite = state_store(&env);
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &sqlite,
            "--archive",
            &archive,
        ];
        let alone = env.run_with_token(&args, &[]);
        assert!(!alone.stderr.contains("is a folder"), "{}", alone.stderr);
    }

    #[test]
    fn verify_without_an_archive_and_s3_without_credentials_are_usage_errors() {
        let env = env();
        let verify = ["sync", "--since", "1h", "--check", "--verify"];
        let s3 = ["sync", "--since", "1h", "--archive", "s3://calls"];
        let mut seen = String::new();
        for args in [&verify[..], &s3] {
            seen.push_str(&snapshot::of_run(args, &env.run_with_token(args, &[])));
        }
        assert_filtered!(Filters::of(&env), seen);
        assert!(
            env.sandbox.requests().is_empty(),
            "a usage error made a request"
        );
    }

    /// Runs `cer ARGS` (with a token) under `/usr/bin/time`, wants it to succeed, and gives its
    /// peak RSS in KiB; `None` when `/usr/bin/time` is missing.
    fn peak_rss(env: &TestEnv, args: &[&str], vars: &[(&str, String)]) -> Option<u64> {
        if !Path::new("/usr/bin/time").exists() {
            eprintln!("/usr/bin/time is missing: skipping the memory measurement");
            return None;
        }
        let cer = env.cer_process();
        let mut command = std::process::Command::new("/usr/bin/time");
        command
            .args(["-f", "peak-rss-kib %M", "--"])
            .arg(cer.get_program())
            .args(args);
        command.env_clear();
        for (name, value) in cer.get_envs() {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        command.env("CER_TOKEN", env.sandbox.issue_token(None));
        command.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        command.current_dir(env.work_dir());
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let kib = stderr
            .lines()
            .find_map(|line| line.strip_prefix("peak-rss-kib "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
        assert!(output.status.success(), "{stderr}");
        Some(kib)
    }

    /// A recording of 160 MiB goes to a folder and to S3 without
    /// cer growing with it: it is streamed, and S3 holds one 8 MiB part at most.
    #[test]
    fn memory_stays_flat_whatever_the_size_of_a_recording() {
        const MIB: u64 = 1024 * 1024;
        let env = env();
        env.sandbox.set_recording_bytes(Some(160 * MIB));
        env.sandbox.place_recorded_call(Duration::from_secs(10));
        let store = state_store(&env);
        let folder = env.work_dir().join("archive").display().to_string();
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &store,
            "--archive",
            &folder,
        ];
        let Some(folder_kib) = peak_rss(&env, &args, &[]) else {
            return;
        };
        eprintln!(
            "peak RSS archiving 160 MiB to a folder: {} MiB",
            folder_kib / 1024
        );
        // About 31 MiB measured (debug build); a copy held in memory would pass 160.
        assert!(folder_kib < 80 * 1024, "{folder_kib} KiB");
        let Some(server) = s3::shared() else { return };
        let bucket = server.fresh_bucket();
        let archive = format!("s3://{bucket}");
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &store,
            "--archive",
            &archive,
        ];
        let vars = server.env();
        let s3_kib = peak_rss(&env, &args, &vars).unwrap();
        eprintln!("peak RSS archiving 160 MiB to S3: {} MiB", s3_kib / 1024);
        // About 45 MiB measured (debug build, one 8 MiB part in flight).
        assert!(s3_kib < 100 * 1024, "{s3_kib} KiB");
        assert_eq!(server.keys(&bucket).len(), 3);
    }

    #[test]
    fn archive_with_a_login_lacking_the_recording_scope_is_exit_4_before_anything() {
        let env = env();
        env.login();
        let requests = env.sandbox.requests().len();
        let archive = env.work_dir().join("archive").display().to_string();
        cer_snapshot!(env, &["sync", "--since", "1h", "--archive", &archive]);
        assert_eq!(env.sandbox.requests().len(), requests, "a request went out");
        assert!(!env.work_dir().join("archive").exists());
        // Nor was the store made: exit 4 leaves nothing behind.
        assert!(!env.state_dir().join("cer.db").exists());
    }

    /// `sync --archive` naming a file is a usage error found before GoTo is asked anything (a
    /// listener starts anyway, `/healthz` saying why: `listen_archive::healthz_…`).
    #[test]
    fn an_archive_that_is_a_file_is_exit_2_before_any_request() {
        let env = env();
        env.sandbox.place_recorded_call(Duration::from_secs(40));
        let file = env.work_dir().join("not-a-folder");
        std::fs::write(&file, "x").unwrap();
        let requests = env.sandbox.requests().len();
        // The file itself, named as a folder, or a folder under it.
        let path = file.display().to_string();
        for archive in [path.clone(), format!("{path}/"), format!("{path}/calls")] {
            let run = sync(&env, &state_store(&env), &["--archive", &archive]);
            assert_eq!(run.code, 2, "{archive}: {run:?}");
            let said = format!("{path} is a file");
            assert!(run.stderr.contains(&said), "{archive}: {}", run.stderr);
        }
        assert_eq!(env.sandbox.requests().len(), requests, "a request went out");
        assert!(
            !env.state_dir().join("cer.db").exists(),
            "the store was made"
        );
    }

    /// A sync never ends 0 with an object of its range still to archive: a recording GoTo has
    /// not finished uploading is "to try again later" (exit 1), and the next sync tries it at
    /// once, not when a listener's backoff would; one another process holds is said to be
    /// archived elsewhere (exit 1) until it lets go.
    #[test]
    fn a_sync_leaves_no_object_of_its_range_unsaid() {
        let env = env();
        env.sandbox
            .faults()
            .recording_not_ready_for(Duration::from_millis(1500));
        let call = env
            .sandbox
            .place_recorded_call(Duration::from_secs(40))
            .conversation_space_id;
        let db = env.state_dir().join("cer.db");
        let store = format!("sqlite:{}", db.display());
        let root = env.work_dir().join("archive");
        let archive = root.display().to_string();
        let early = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(early.code, 1, "{early:?}");
        assert!(
            early.stderr.contains("1 to try again later"),
            "{}",
            early.stderr
        );
        // Held by another process (a listener, say): said, exit 1, nothing downloaded.
        let other = env
            .block_on(cer::store::Store::open(&cer::store::StoreLocation::Sqlite(
                db.clone(),
            )))
            .unwrap();
        let now = jiff::Timestamp::now();
        let lease = Duration::from_secs(600);
        let held = env.block_on(async {
            let mut held = Vec::new();
            for row in other.media_of_call(&call).await.unwrap() {
                let claimed = other.claim_media_item(&row.item, now, lease).await.unwrap();
                held.extend(claimed);
            }
            held
        });
        assert_eq!(held.len(), 1, "the recording, still pending");
        std::thread::sleep(Duration::from_millis(1600));
        let elsewhere = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(elsewhere.code, 1, "{elsewhere:?}");
        assert!(
            elsewhere
                .stderr
                .contains("1 held by another sync or listener"),
            "{}",
            elsewhere.stderr
        );
        env.block_on(other.release_all_media()).unwrap();
        // Ready now, long before the backoff of the first try runs out: archived at once.
        let done = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(done.code, 0, "{done:?}");
        let want = served(&env, &call);
        let recording = format!("recording-{}.wav", want.recording.0);
        assert!(
            std::fs::read(call_folder(&root, &call).join(recording)).unwrap() == want.recording.1
        );
    }

    /// Ctrl-C during `sync --archive` stops the downloads at once (exit 130), leaves no
    /// temporary file behind, and gives back what it claimed: the next sync archives every
    /// object at once instead of waiting ten minutes for the leases.
    #[test]
    fn ctrl_c_stops_a_sync_archive_and_the_next_one_finishes_at_once() {
        let env = env();
        let calls = recorded_calls(&env, 3);
        env.sandbox.faults().slow_downloads(Some(20_000));
        let store = state_store(&env);
        let root = env.work_dir().join("archive");
        let archive = root.display().to_string();
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &store,
            "--archive",
            &archive,
        ];
        let mut command = env.cer_process();
        command
            .env("CER_TOKEN", env.sandbox.issue_token(None))
            .args(args);
        let running = Running::start(command);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while env.sandbox.most_downloads_at_once() == 0 {
            assert!(std::time::Instant::now() < deadline, "no download began");
            std::thread::sleep(Duration::from_millis(20));
        }
        running.signal("INT");
        let (code, _, stderr) = running.wait(Duration::from_secs(10));
        assert_eq!(code, Some(130), "{}", stderr.join("\n"));
        let left: Vec<_> = files_under(&root)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".partial-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        env.sandbox.faults().slow_downloads(None);
        let again = sync(&env, &store, &["--archive", &archive]);
        assert_eq!(again.code, 0, "{again:?}");
        for call in &calls {
            let names: Vec<_> = files_under(&call_folder(&root, call))
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names.len(), 3, "{names:?}\n{}", again.stderr);
        }
    }

    /// A sync to S3 that stops on an error (GoTo refuses a transcript) lets the uploads under
    /// way finish instead of dropping them half-way: no multipart upload is left open in the
    /// bucket, and the next sync archives the rest.
    #[test]
    fn a_sync_to_s3_stopping_on_an_error_leaves_no_upload_open() {
        let Some(server) = s3::shared() else { return };
        let env = env();
        // Two parts (8 MiB and the rest), about a second a download: when the first call's
        // transcript is refused, the other calls' uploads are past their first part.
        env.sandbox.set_recording_bytes(Some(12_000_000));
        recorded_calls(&env, 3);
        env.sandbox.faults().slow_downloads(Some(12_000_000));
        env.sandbox
            .faults()
            .fail_next_on("/recording/v1/transcriptions", 1, 403);
        let bucket = server.fresh_bucket();
        let store = state_store(&env);
        let vars = server.env();
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let archive = format!("s3://{bucket}");
        let args = [
            "sync",
            "--since",
            "1h",
            "--store",
            &store,
            "--archive",
            &archive,
        ];
        let stopped = env.run_with_token(&args, &pairs);
        assert_ne!(stopped.code, 0, "{stopped:?}");
        assert_eq!(server.open_uploads(&bucket), 0, "{}", stopped.stderr);
        env.sandbox.faults().slow_downloads(None);
        let again = env.run_with_token(&args, &pairs);
        assert_eq!(again.code, 0, "{again:?}");
        // Each call: its report, its recording, its transcript.
        assert_eq!(server.keys(&bucket).len(), 9, "{}", again.stderr);
        assert_eq!(server.open_uploads(&bucket), 0);
    }

    #[test]
    fn sync_archive_to_s3_is_byte_identical_as_boto3_reads_it() {
        let Some(server) = s3::shared() else { return };
        let env = env();
        let call = env
            .sandbox
            .place_recorded_call(Duration::from_secs(30))
            .conversation_space_id;
        let bucket = server.fresh_bucket();
        let store = state_store(&env);
        let vars = server.env();
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let archive = format!("s3://{bucket}/archive");
        let run = env.run_with_token(
            &[
                "sync",
                "--since",
                "1h",
                "--store",
                &store,
                "--archive",
                &archive,
            ],
            &pairs,
        );
        assert_eq!(run.code, 0, "{run:?}");
        let want = served(&env, &call);
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let folder = format!(
            "archive/{:04}/{:02}/{:02}/{call}",
            today.year(),
            today.month(),
            today.day()
        );
        let recording = format!("{folder}/recording-{}.wav", want.recording.0);
        let transcript = format!("{folder}/transcript-{}.json", want.transcript.0);
        let report = format!("{folder}/report.json");
        assert_eq!(
            server.keys(&bucket),
            vec![recording.clone(), report.clone(), transcript.clone()]
        );
        assert!(
            server.object(&bucket, &recording) == Some(want.recording.1),
            "audio differs"
        );
        assert_eq!(server.object(&bucket, &transcript), Some(want.transcript.1));
        assert_eq!(
            server.object(&bucket, &report),
            Some(want.report.into_bytes())
        );
        assert_eq!(server.head(&bucket, &recording).1, "audio/wav");
        let check = env.run_with_token(
            &[
                "sync",
                "--since",
                "1h",
                "--store",
                &store,
                "--check",
                "--archive",
                &archive,
                "--verify",
            ],
            &pairs,
        );
        assert_eq!(check.code, 0, "{check:?}");
    }
}
