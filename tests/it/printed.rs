//! What a person reads, run inside the test's process (`cer::run_captured`) and pinned with insta
//! snapshots: the error and hint texts, `status`, `deliveries`. Exit codes, signals, terminals
//! and pipes of a real process stay with the tests that spawn the binary.

use std::time::Duration;

use cer::Captured;
use cer::store::outbox::{Queue, Settled};
use cer::store::{Store, StoreLocation};
use jiff::SignedDuration;

use crate::harness::TestEnv;
use crate::snapshot::{self, Filters};
use crate::store::{at, report, runtime, targets};

/// The transcript of a run, through the test world's filters.
fn transcript(env: &TestEnv, args: &[&str], run: &Captured) -> String {
    Filters::of(env).apply(&snapshot::of_run(args, run))
}

/// A command line and the variables it runs with beyond the harness's.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

/// Each mistake a user makes, and what cer answers: one line of what failed and one of what to
/// do, exit 2 for usage, 3 for not found, 4 for a login, before any request where it can be.
#[test]
fn error_and_hint_texts() {
    let env = TestEnv::new();
    let token = env.sandbox.issue_token(None);
    let no_account = [("ACCOUNT_KEY", "")];
    let with_token = [("CER_TOKEN", token.as_str())];
    let cases: &[Case] = &[
        (&["fetch", "not-a-uuid"], &[]),
        (
            &["fetch", "00000000-0000-3000-8000-000000000001"],
            &with_token,
        ),
        (&["summaries", "--day", "2026-02-30"], &with_token),
        (&["summaries", "--since", "2h"], &no_account),
        (&["--rate", "0", "summaries"], &with_token),
        (&["status"], &[]),
        (&["token"], &[]),
        (&["show", "1234"], &[]),
        (&["listen", "--refetch", "5x"], &with_token),
        (
            &[
                "listen",
                "--forward-to",
                "ftp://user:pw@example.test/hook?token=s3cret",
            ],
            &with_token,
        ),
        (
            &["listen", "--forward-to", "user:s3cret@example.test/hook"],
            &with_token,
        ),
        (
            &[
                "listen",
                "--forward-to",
                "http://127.0.0.1:9/hook",
                "--forward-header",
                "Host: x",
            ],
            &with_token,
        ),
        (&["--env-file", "nope.env", "status"], &[]),
        (&["sync", "--check", "--day", "2026-13-01"], &with_token),
    ];
    let mut all = String::new();
    for (args, extra) in cases {
        let run = env.run(args, extra);
        assert_ne!(run.code, 0, "{args:?} must fail: {run:?}");
        assert!(
            run.stdout.is_empty(),
            "{args:?}: an error writes nothing to stdout"
        );
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("s3cret"), "{args:?}: {}", run.stderr);
        all.push_str(&transcript(&env, args, &run));
    }
    insta::assert_snapshot!(all);
}

/// `status` for a token given as is, and for a stored login; the times of a login change with
/// every run, so the snapshot names them.
#[test]
fn status_as_a_person_reads_it() {
    let env = TestEnv::new();
    let token = env.sandbox.issue_token(None);
    let given = env.run(&["status"], &[("CER_TOKEN", &token)]);
    env.login();
    let stored = env.run(&["status"], &[]);
    assert_eq!((given.code, stored.code), (0, 0), "{given:?} {stored:?}");
    let stored_text = transcript(&env, &["status"], &stored);
    let lines: Vec<String> = stored_text
        .lines()
        .map(|line| match line.split_once("expires ") {
            Some((label, _)) => format!("{label}expires [WHEN] (in [LEFT])"),
            None => line.to_string(),
        })
        .collect();
    insta::assert_snapshot!(format!(
        "{}{}",
        transcript(&env, &["status"], &given),
        lines.join("\n")
    ));
}

/// An outbox with a row in each state: pending with its last error, failed, superseded by a
/// newer revision, delivered (not listed). Queued through the store's own interface at fixed
/// times, so the listing is the same on every run.
fn outbox_of_every_state(path: &std::path::Path) {
    runtime().block_on(async {
        let store = Store::open(&StoreLocation::Sqlite(path.to_path_buf()))
            .await
            .unwrap();
        let targets = targets(&["http://user:pw@127.0.0.1:9/hook?token=s3cret"]);
        let queue = Queue::NONE;
        let t0 = at("2026-11-20T12:00:00Z");
        // Registered by a listener that stopped: the pending delivery shows as orphaned, and
        // stays so for years, whenever the test runs.
        let forward_for = Duration::from_secs(20 * 365 * 24 * 3600);
        store
            .register_targets(&targets, forward_for, t0)
            .await
            .unwrap();
        for (i, id) in [
            "4d9c1a7e-0000-4000-8000-00000000000a",
            "8b0f2c3d-0000-4000-8000-00000000000b",
            "c1d2e3f4-0000-4000-8000-00000000000c",
        ]
        .iter()
        .enumerate()
        {
            let now = t0 + SignedDuration::from_secs(i as i64);
            let report = report(id, "2026-11-20T11:59:00Z");
            store
                .store_report(
                    &cer::report::Report::of_value(&report).unwrap(),
                    None,
                    &queue,
                    now,
                )
                .await
                .unwrap();
        }
        let key = targets[0].key();
        let claimed = store
            .claim_due(
                key,
                t0 + SignedDuration::from_secs(10),
                Duration::from_secs(30),
                3,
            )
            .await
            .unwrap();
        let retry = Settled::Retry {
            at: at("2026-11-20T12:05:00Z"),
            error: "503 Service Unavailable".into(),
        };
        store.settle(&claimed[0], &retry).await.unwrap();
        let failed = Settled::Failed {
            error: "connection refused".into(),
        };
        store.settle(&claimed[1], &failed).await.unwrap();
        store
            .settle(&claimed[2], &Settled::Delivered)
            .await
            .unwrap();
        // Post-call analysis came for the first call: its pending revision 1 gives way to 2.
        let mut analysed = report(
            "4d9c1a7e-0000-4000-8000-00000000000a",
            "2026-11-20T11:59:00Z",
        );
        analysed["callReason"] = "billing question".into();
        let later = at("2026-11-20T12:02:00Z");
        store
            .store_revision(
                cer::report::Report::of_value(&analysed).unwrap().id(),
                &cer::report::Report::of_value(&analysed).unwrap(),
                &queue,
                later,
            )
            .await
            .unwrap();
    });
}

/// `deliveries` on a terminal, in a pipe (TSV) and as JSON: target secrets masked everywhere.
#[test]
fn deliveries_as_a_person_and_a_script_read_them() {
    let env = TestEnv::new();
    let db = env.dir.path().join("outbox.db");
    outbox_of_every_state(&db);
    let store = format!("sqlite:{}", db.display());
    let terminal = [("CER_FORCE_TTY", "stdout"), ("COLUMNS", "100")];
    let mut all = String::new();
    for (args, extra) in [
        (vec!["deliveries", "--store", store.as_str()], &terminal[..]),
        (vec!["deliveries", "--store", store.as_str()], &[][..]),
        (
            vec![
                "deliveries",
                "--failed",
                "--json",
                "--store",
                store.as_str(),
            ],
            &[][..],
        ),
    ] {
        let run = env.run(&args, extra);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            !run.stdout.contains("s3cret") && !run.stdout.contains("pw@"),
            "{run:?}"
        );
        all.push_str(&transcript(&env, &args, &run));
    }
    insta::assert_snapshot!(all);
}
