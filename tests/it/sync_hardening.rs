//! Issue 26 findings 8, 9 and 11, each through `cer` itself: a summary that names no call is
//! counted by `sync --check` instead of dropped, a store file that is not a database is
//! refused at once by name, a bad `CER_REFETCH` names the variable, and `show` finds a stored
//! call by its whole ID typed in upper case.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::TestEnv;
use crate::hostile::Hostile;
use crate::snapshot::{self, Filters, assert_filtered};

/// GoTo's summaries of a range: one page with these items.
fn summaries_server(env: &TestEnv, items: Value) -> Hostile {
    let router = axum::Router::new().route(
        "/call-events-report/v1/report-summaries",
        axum::routing::get(move || {
            let items = items.clone();
            async move { axum::Json(json!({ "items": items })) }
        }),
    );
    Hostile::serve(env, router)
}

/// Before: the item was dropped silently and the check said the range was complete (exit 0).
#[test]
fn sync_check_counts_a_summary_without_an_id_as_unusable_and_exits_1() {
    let env = TestEnv::new();
    let items =
        json!([{"callCreated": "2026-11-20T10:00:00Z", "callEnded": "2026-11-20T10:01:00Z"}]);
    let hostile = summaries_server(&env, items);
    let store = format!("sqlite:{}", env.state_dir().join("cer.db").display());
    let args = [
        "sync",
        "--check",
        "--day",
        "2026-11-20",
        "--utc",
        "--store",
        &store,
    ];
    let output = hostile
        .cer(&env)
        .args(args)
        .arg("--json")
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["unusable"], 1, "{result}");
    assert_eq!(result["complete"], false, "{result}");

    let text = hostile
        .cer(&env)
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let json_args = [&args[..], &["--json"]].concat();
    assert_filtered!(
        Filters::of(&env),
        snapshot::of_output(&json_args, &output) + &snapshot::of_output(&args, &text)
    );
}

/// `sync` itself says so too, and fails, instead of storing the rest and saying nothing.
#[test]
fn sync_of_a_range_with_a_summary_without_an_id_says_so_and_exits_1() {
    let env = TestEnv::new();
    let hostile = summaries_server(&env, json!([{"callCreated": "2026-11-20T10:00:00Z"}]));
    let store = format!("sqlite:{}", env.state_dir().join("cer.db").display());
    let args = ["sync", "--day", "2026-11-20", "--utc", "--store", &store];
    let output = hostile
        .cer(&env)
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_filtered!(Filters::of(&env), snapshot::of_output(&args, &output));
}

/// Before: each command waited the pool's 5 s and said "timed out connecting (it answers
/// now; try again)", which no retry could fix.
#[test]
fn a_store_file_that_is_not_a_database_is_refused_at_once_by_name() {
    let env = TestEnv::new();
    let path = env.work_dir().join("notes.txt");
    std::fs::write(&path, "these are my notes, not a database\n").unwrap();
    let store = format!("sqlite:{}", path.display());
    let id = "29a1c77a-e52a-3764-8606-8b02b1277be8";
    let commands: [&[&str]; 3] = [
        &["deliveries", "--store", &store],
        &["show", id, "--store", &store],
        &["sync", "--check", "--since", "1h", "--store", &store],
    ];
    let mut seen = String::new();
    for args in commands {
        let started = Instant::now();
        let run = env.run_with_token(args, &[]);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{args:?} took {:?}",
            started.elapsed()
        );
        seen.push_str(&snapshot::of_run(args, &run));
    }
    assert_filtered!(Filters::of(&env), seen);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text, "these are my notes, not a database\n",
        "left as it was"
    );
}

/// Before: `CER_REFETCH=abc` made `sync` fail about a `--refetch` flag it does not have, and
/// a point of 9999999999 days was accepted.
#[test]
fn a_bad_cer_refetch_makes_sync_name_the_variable() {
    let env = TestEnv::new();
    let args = ["sync", "--since", "1h"];
    let run = env.run_with_token(&args, &[("CER_REFETCH", "abc")]);
    // Before: accepted, and planned points that would never fire.
    let far = env.run_with_token(&args, &[("CER_REFETCH", "2m,9999999999d")]);
    assert_filtered!(
        Filters::of(&env),
        format!("CER_REFETCH=abc\n{}", snapshot::of_run(&args, &run))
            + &format!(
                "CER_REFETCH=2m,9999999999d\n{}",
                snapshot::of_run(&args, &far)
            )
    );
}

/// `show` of a whole ID finds a call stored under another case than the one typed (a
/// prefix always did): before, the look-up missed the store and asked GoTo, which had
/// nothing (exit 3).
#[test]
fn show_finds_a_stored_call_by_its_whole_id_in_another_case() {
    let env = TestEnv::new();
    let stored = "ABCDEF12-E52A-4764-8606-8B02B1277BE8";
    let report = json!({
        "conversationSpaceId": stored,
        "accountKey": env.sandbox.account_key(),
        "callCreated": "2026-11-20T10:00:00Z",
        "callEnded": "2026-11-20T10:01:00Z",
        "direction": "INBOUND",
        "callStates": [],
        "participants": [],
    });
    let location = cer::store::StoreLocation::Sqlite(env.state_dir().join("cer.db"));
    env.block_on(async {
        let store = cer::store::Store::open(&location).await.unwrap();
        let queue = cer::store::outbox::Queue::NONE;
        let now = jiff::Timestamp::now();
        store
            .store_report(
                &cer::report::Report::of_value(&report).unwrap(),
                None,
                &queue,
                now,
            )
            .await
            .unwrap();
    });
    let before = env.report_requests();
    for typed in [stored.to_string(), stored.to_lowercase()] {
        let shown = env.run_with_token(&["show", &typed], &[("COLUMNS", "100")]);
        assert_eq!(shown.code, 0, "{typed}: {shown:?}");
    }
    assert_eq!(env.report_requests(), before, "found in the store");
}
