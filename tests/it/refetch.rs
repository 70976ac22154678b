//! Post-call analysis end to end (SPEC section 11): the built `cer listen` fetches each stored
//! report again at its `--refetch` points, against the simulator with analysis added by hand.
//! A changed report becomes the next revision in the store (revision 1 kept exactly), is
//! printed with `--updates` and delivered as `ID:N`; an unchanged one adds nothing; the
//! schedule survives a SIGKILL, is planned by `sync`, and is shared by two listeners on one
//! PostgreSQL store without a point done or a revision delivered twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cer::store::{Store, StoreLocation};
use cer_sandbox::SandboxConfig;
use serde_json::Value;
use sqlx::Row;

use crate::delivery::{Fault, Receiver, SECRET, header};
use crate::harness::{Running, TestEnv, json_lines};
use crate::probe::report_gets;

/// The re-fetch point of most tests: far enough after `callEnded` for the first fetch and
/// the analysis to come first on a busy machine, near enough to keep the tests short.
const POINT: &str = "2s";
const POINT_AFTER: Duration = Duration::from_secs(2);
/// How long anything asynchronous may take before a test fails.
const LIMIT: Duration = Duration::from_secs(20);

/// A simulator whose reports change only when a test adds analysis.
fn env() -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: None,
        analysis_delay: None,
        ..SandboxConfig::default()
    })
}

fn sqlite(env: &TestEnv) -> StoreLocation {
    StoreLocation::Sqlite(env.state_dir().join("cer.db"))
}

fn open(env: &TestEnv, location: &StoreLocation) -> Store {
    env.block_on(Store::open(location))
        .expect("the store opens")
}

/// Waits until the store holds `count` revisions of `id`; returns them (number, text).
fn wait_for_revisions(env: &TestEnv, store: &Store, id: &str, count: usize) -> Vec<(i64, String)> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let revisions = env.block_on(store.revisions(id)).unwrap();
        if revisions.len() >= count {
            return revisions.into_iter().map(|r| (r.number, r.text)).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{id}: {} revisions within {LIMIT:?}",
            revisions.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the simulator answered `count` GETs of `id`'s report.
fn wait_for_gets(env: &TestEnv, id: &str, count: usize) {
    let deadline = Instant::now() + LIMIT;
    while report_gets(env, id) < count {
        assert!(Instant::now() < deadline, "{id}: not fetched {count} times");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Adds the default analysis through the control endpoint, as a person driving the sandbox.
fn add_analysis_over_http(env: &TestEnv, id: &str) -> Value {
    let url = format!("{}/_sandbox/reports/{id}/analysis", env.sandbox.base_url());
    env.block_on(async {
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.unwrap()
    })
}

fn add_analysis(env: &TestEnv, id: &str) -> Value {
    env.sandbox.add_analysis(id, None).expect("a known call")
}

fn first_line(running: &mut Running) -> String {
    let lines = running.stdout_lines(1, LIMIT);
    assert_eq!(
        lines.len(),
        1,
        "stderr:\n{}",
        running.stderr_seen.join("\n")
    );
    lines[0].clone()
}

/// On a terminal, `--updates` names the fields a revision added: the revision before it is
/// read back from the store for that line (only for it: with `--json` it is never read).
#[test]
fn updates_on_a_terminal_name_the_fields_the_revision_added() {
    let env = env();
    let args = ["--updates", "--color", "never", "--refetch", POINT];
    let mut running = env.listen_with(&args, |command| {
        command.env("CER_FORCE_TTY", "stdout");
    });
    let id = env.place_calls(1).remove(0);
    first_line(&mut running);
    add_analysis(&env, &id);
    let line = first_line(&mut running);
    running.stop();
    let short = &id[..8];
    assert_eq!(
        line,
        format!("  ↻ {short} revision 2: added callReason, aiAnalysis")
    );
}

#[test]
fn a_report_enriched_after_its_first_fetch_becomes_revision_2_and_updates_prints_it() {
    let env = env();
    let mut running = env.listen(&["--json", "--updates", "--refetch", POINT]);
    let id = env.place_calls(1).remove(0);
    let first = first_line(&mut running);
    let printed: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(printed["conversationSpaceId"], id.as_str());
    assert!(printed.get("callReason").is_none(), "analysed too early");
    let analysed = add_analysis_over_http(&env, &id);

    let second = first_line(&mut running);
    let update: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(update, analysed, "the whole newest report");
    assert!(update["callReason"].as_str().is_some_and(|r| !r.is_empty()));
    running.stop();

    let path = env.state_dir().join("cer.db");
    let (revisions, current) = env.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let rows = sqlx::query(
            "SELECT revision, report FROM cer_report_revisions \
             WHERE conversation_space_id = $1 ORDER BY revision",
        )
        .bind(&id)
        .fetch_all(&pool)
        .await
        .unwrap();
        let current =
            sqlx::query("SELECT revision FROM cer_reports WHERE conversation_space_id = $1")
                .bind(&id)
                .fetch_one(&pool)
                .await
                .unwrap();
        let revisions: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        (revisions, current.get::<i64, _>(0))
    });
    let numbers: Vec<i64> = revisions.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(revisions[0].1, first, "revision 1 exactly as first printed");
    let stored: Value = serde_json::from_str(&revisions[1].1).unwrap();
    assert_eq!(stored, analysed);
    assert_eq!(current, 2);
}

#[test]
fn an_unchanged_refetch_adds_no_revision_and_prints_nothing() {
    let env = env();
    let mut running = env.listen(&["--json", "--updates", "--refetch", POINT]);
    let id = env.place_calls(1).remove(0);
    first_line(&mut running);
    wait_for_gets(&env, &id, 2);
    let more = running.more_stdout(Duration::from_millis(500));
    assert!(
        more.is_empty(),
        "printed after an unchanged re-fetch: {more:?}"
    );
    running.stop();
    let store = open(&env, &sqlite(&env));
    let revisions = env.block_on(store.revisions(&id)).unwrap();
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    assert_eq!(env.report_requests(), 2, "one fetch and one re-fetch");
}

#[test]
fn a_receiver_gets_revision_2_once_signed_with_id_colon_2() {
    let env = env();
    let receiver = Receiver::start(&env, 0, Fault::None);
    let args = ["--json", "--refetch", POINT, "--forward-to", &receiver.url];
    let mut running = env.listen_with(&args, |command| {
        command.env("CER_FORWARD_SECRET", SECRET);
    });
    let id = env.place_calls(1).remove(0);
    first_line(&mut running);
    // Revision 1 is delivered before revision 2 exists, so nothing supersedes it.
    receiver.wait_for(std::slice::from_ref(&id), LIMIT);
    let analysed = add_analysis(&env, &id);
    let second = format!("{id}:2");
    receiver.wait_for(std::slice::from_ref(&second), LIMIT);
    let more = running.more_stdout(Duration::from_millis(300));
    assert!(more.is_empty(), "no --updates, so no second line: {more:?}");
    running.stop();

    let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
    let seen = receiver.seen.lock().unwrap().clone();
    let mut ids = Vec::new();
    for request in &seen {
        verifier
            .verify(&request.body, &request.headers)
            .expect("a valid Standard Webhooks signature");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let webhook_id = header(&request.headers, "webhook-id");
        let revision = header(&request.headers, "cer-report-revision");
        if webhook_id == second {
            assert_eq!(revision, "2");
            assert_eq!(body, analysed, "the newest report");
        } else {
            assert_eq!(webhook_id, id);
            assert_eq!(revision, "1");
            assert!(body.get("callReason").is_none());
        }
        ids.push(webhook_id);
    }
    assert_eq!(ids, [id, second], "each revision once, in order");
}

#[test]
fn a_listener_killed_before_a_refetch_point_does_it_after_restart() {
    let env = env();
    let point = Duration::from_secs(3);
    let mut running = env.listen(&["--json", "--refetch", "3s"]);
    let ended = Instant::now();
    let id = env.place_calls(1).remove(0);
    first_line(&mut running);
    running.signal("KILL");
    running.wait(Duration::from_secs(10));
    assert!(ended.elapsed() < point, "killed too late to test anything");
    assert_eq!(report_gets(&env, &id), 1);
    add_analysis(&env, &id);
    // The point passes while no listener runs.
    std::thread::sleep((point + Duration::from_millis(200)).saturating_sub(ended.elapsed()));

    let restarted = env.listen(&["--json", "--refetch", "3s"]);
    let store = open(&env, &sqlite(&env));
    let revisions = wait_for_revisions(&env, &store, &id, 2);
    assert_eq!(
        revisions.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(revisions[1].1.contains("callReason"));
    restarted.stop();
}

#[test]
fn two_listeners_on_one_postgres_store_refetch_each_point_once_and_deliver_each_revision_once() {
    let Some(url) = crate::postgres::fresh_database() else {
        eprintln!("skipped: no PostgreSQL");
        return;
    };
    let env = env();
    let receiver = Receiver::start(&env, 0, Fault::None);
    let args = ["--refetch", POINT, "--forward-to", &receiver.url];
    let mut listeners: Vec<Running> = ["a", "b"]
        .iter()
        .map(|name| {
            let home = crate::high_availability::machine(&env, name);
            crate::high_availability::listener(&env, &home, &url, &args)
        })
        .collect();
    let calls = env.place_calls(3);
    receiver.wait_for(&calls, LIMIT);
    // Each listener has its own channel, so each fetches a live report once (SPEC section 9:
    // stored, printed and delivered once); what follows them is re-fetching.
    for id in &calls {
        wait_for_gets(&env, id, 2);
        add_analysis(&env, id);
    }
    let seconds: Vec<String> = calls.iter().map(|id| format!("{id}:2")).collect();
    receiver.wait_for(&seconds, LIMIT);
    // A quiet moment, so a point done twice or a revision delivered twice would show.
    std::thread::sleep(POINT_AFTER / 2);
    let mut printed = Vec::new();
    for running in listeners.drain(..) {
        printed.extend(running.stop().0);
    }

    let mut accepted: HashMap<String, usize> = HashMap::new();
    for webhook_id in receiver.accepted_ids() {
        *accepted.entry(webhook_id).or_default() += 1;
    }
    let wanted: HashMap<String, usize> = calls
        .iter()
        .chain(&seconds)
        .map(|id| (id.clone(), 1))
        .collect();
    assert_eq!(accepted, wanted, "each revision accepted exactly once");
    for id in &calls {
        let gets = report_gets(&env, id);
        assert_eq!(gets, 2 + 1, "{id}: one fetch per listener and one re-fetch");
    }
    let ids: Vec<Value> = json_lines(&printed)
        .into_iter()
        .map(|r| r["conversationSpaceId"].clone())
        .collect();
    assert_eq!(ids.len(), 3, "each call printed once between them: {ids:?}");
}

#[test]
fn sync_plans_the_refetches_still_due_and_a_running_listen_does_them() {
    let env = env();
    let id = env.place_calls(1).remove(0);
    let sync = env
        .cer_with_token()
        .env("CER_REFETCH", "3s")
        .args(["sync", "--since", "1h"])
        .output()
        .unwrap();
    assert!(sync.status.success(), "{sync:?}");
    let path = env.state_dir().join("cer.db");
    let planned: i64 = env.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("SELECT COUNT(*) FROM cer_refetches WHERE conversation_space_id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(planned, 1, "sync plans the point still ahead");
    add_analysis(&env, &id);

    let running = env.listen(&["--json", "--refetch", "3s"]);
    let store = open(&env, &sqlite(&env));
    let revisions = wait_for_revisions(&env, &store, &id, 2);
    assert!(revisions[1].1.contains("callReason"));
    let (stdout, _) = running.stop();
    assert!(
        stdout.is_empty(),
        "stored by sync, so not printed: {stdout:?}"
    );
}

/// Waits until the store plans no re-fetch at all any more (each point done or given up).
fn wait_for_no_points(env: &TestEnv, store: &Store) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let counts = env
            .block_on(store.refetches_due(jiff::Timestamp::now()))
            .unwrap();
        let planned = counts.due + counts.later;
        if planned == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{planned} re-fetches still planned"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 19's bad input: a re-fetch that GoTo answers with another call's report, and one it
/// keeps failing (5xx past the retries), each keep the stored revision, print nothing, and
/// are tried exactly once more before the point is given up.
#[test]
fn a_refetch_answered_with_another_call_or_failing_keeps_the_stored_report() {
    let env = env();
    let mut running = env.listen(&["--json", "--updates", "--refetch", POINT]);
    let ids = env.place_calls(2);
    let (swapped, failing) = (ids[0].clone(), ids[1].clone());
    let first: Vec<String> = running.stdout_lines(2, LIMIT);
    assert_eq!(first.len(), 2, "{}", running.stderr_seen.join("\n"));
    // Its next answers claim to be the other call's report, with analysis in it.
    let mut other = serde_json::Map::new();
    other.insert("conversationSpaceId".into(), failing.clone().into());
    other.insert("callReason".into(), "not this call's".into());
    env.sandbox.add_analysis(&swapped, Some(other)).unwrap();
    let path = format!("/call-events-report/v1/reports/{failing}");
    env.sandbox.faults().fail_next_on(&path, 1000, 503);

    let store = open(&env, &sqlite(&env));
    wait_for_no_points(&env, &store);
    // The swapped report: the first fetch, then two attempts of three GETs each (a report
    // about another call is asked again twice before it is an error), then nothing more.
    assert_eq!(
        report_gets(&env, &swapped),
        1 + 2 * 3,
        "tried exactly once more"
    );
    let failing_gets = report_gets(&env, &failing);
    assert!(failing_gets > 2, "{failing_gets}");
    assert_eq!(
        (failing_gets - 1) % 2,
        0,
        "two attempts alike: {failing_gets}"
    );
    let more = running.more_stdout(Duration::from_millis(500));
    assert!(more.is_empty(), "printed after failed re-fetches: {more:?}");
    let (_, stderr) = running.stop();
    let printed: Vec<Value> = json_lines(&first);
    for id in [&swapped, &failing] {
        let revisions = env.block_on(store.revisions(id)).unwrap();
        assert_eq!(revisions.len(), 1, "{id}: {revisions:?}");
        let kept: Value = serde_json::from_str(&revisions[0].text).unwrap();
        assert_eq!(kept["conversationSpaceId"], id.as_str());
        assert!(kept.get("callReason").is_none(), "{kept}");
        assert!(printed.contains(&kept), "revision 1 is what was printed");
    }
    let stderr = stderr.join("\n");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
