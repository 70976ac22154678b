//! `cer listen` and its store: every printed report is in `cer_reports` exactly as printed,
//! a restart prints nothing the store already has, two listeners on one SQLite file print
//! each call once between them, and a store that fails while listening holds reports back
//! and backfills them once it is back.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cer::store::{Store, StoreLocation};
use sqlx::Row;

use crate::harness::{Running, TestEnv, json_lines};

fn ids(reports: &[serde_json::Value]) -> Vec<String> {
    reports
        .iter()
        .map(|r| r["conversationSpaceId"].as_str().unwrap().to_string())
        .collect()
}

fn stop(running: Running) -> Vec<String> {
    let (rest, stderr) = running.stop();
    assert!(rest.is_empty(), "printed after the end: {rest:?}");
    stderr
}

/// `(conversation_space_id, report)` of every row in the default store.
fn stored_rows(env: &TestEnv) -> Vec<(String, String)> {
    let path = env.state_dir().join("cer.db");
    env.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let rows = sqlx::query("SELECT conversation_space_id, report FROM cer_reports")
            .fetch_all(&pool)
            .await
            .unwrap();
        rows.iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect()
    })
}

#[test]
fn each_printed_report_is_stored_as_printed_and_a_restart_prints_nothing_again() {
    let env = TestEnv::new();
    let mut running = env.listen(&[]);
    let calls = env.place_calls(3);
    let lines = running.stdout_lines(3, Duration::from_secs(20));
    stop(running);
    let rows = stored_rows(&env);
    assert_eq!(rows.len(), 3);
    for line in &lines {
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = report["conversationSpaceId"].as_str().unwrap();
        let (_, stored) = rows.iter().find(|(row_id, _)| row_id == id).unwrap();
        assert_eq!(
            stored, line,
            "the report column is the report exactly as printed"
        );
    }
    assert_eq!(
        ids(&json_lines(&lines)).into_iter().collect::<HashSet<_>>(),
        calls.iter().cloned().collect::<HashSet<_>>()
    );
    // A backfill over the same calls finds them all in the store: nothing is printed twice.
    let mut again = env.listen(&["--since", "1h"]);
    let more = env.place_calls(1);
    let next = again.stdout_lines(1, Duration::from_secs(20));
    let rest = again.more_stdout(Duration::from_millis(800));
    assert_eq!(ids(&json_lines(&next)), more);
    assert!(rest.is_empty(), "printed again: {rest:?}");
    stop(again);
    assert_eq!(stored_rows(&env).len(), 4);
}

/// Two listeners on one store: each call printed by exactly one of them, stored once.
fn two_listeners_on_one_store(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let mut first = env.listen(args);
    let mut second = env.listen(args);
    let calls = env.place_calls(6);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while a.len() + b.len() < calls.len() && Instant::now() < deadline {
        a.extend(first.more_stdout(Duration::from_millis(200)));
        b.extend(second.more_stdout(Duration::from_millis(200)));
    }
    a.extend(first.more_stdout(Duration::from_millis(800)));
    b.extend(second.more_stdout(Duration::from_millis(800)));
    let mut printed = ids(&json_lines(&a));
    printed.extend(ids(&json_lines(&b)));
    let unique: HashSet<&String> = printed.iter().collect();
    assert_eq!(
        unique.len(),
        printed.len(),
        "a call printed twice: {printed:?}"
    );
    assert_eq!(unique, calls.iter().collect::<HashSet<_>>());
    stop(first);
    stop(second);
    calls
}

#[test]
fn two_listeners_on_one_sqlite_store_print_each_call_once_between_them() {
    let env = TestEnv::new();
    let calls = two_listeners_on_one_store(&env, &[]);
    assert_eq!(stored_rows(&env).len(), calls.len());
}

#[test]
fn two_listeners_on_one_postgres_store_print_each_call_once_between_them() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    let calls = two_listeners_on_one_store(&env, &["--store", &url]);
    let stored = env.block_on(async {
        let store = Store::open(&StoreLocation::parse(&url).unwrap())
            .await
            .unwrap();
        let mut stored = 0;
        for id in &calls {
            stored += usize::from(store.has_report(id).await.unwrap());
        }
        stored
    });
    assert_eq!(stored, calls.len());
}

/// `cer listen` as a user that file modes apply to: `postgres` when the tests run as root.
fn listen_as_plain_user(env: &TestEnv) -> Running {
    let mut plain = env.cer_process();
    plain
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        // No re-fetcher: its looks at the schedule would keep a pooled connection, opened
        // writable before the chmod, from going idle.
        .args(["listen", "--refetch", "off"]);
    let command = if running_as_root() {
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres"])
            .arg(env.dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let mut wrapped = std::process::Command::new("runuser");
        wrapped
            .args(["-u", "postgres", "--"])
            .arg(plain.get_program());
        wrapped.args(plain.get_args());
        for (name, value) in plain.get_envs() {
            match value {
                Some(value) => wrapped.env(name, value),
                None => wrapped.env_remove(name),
            };
        }
        if let Some(dir) = plain.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    } else {
        plain
    };
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", Duration::from_secs(15));
    running
}

#[cfg(unix)]
#[test]
fn a_read_only_store_holds_reports_back_and_they_come_once_it_is_writable() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let mut running = listen_as_plain_user(&env);
    let first = env.place_calls(1);
    running.stdout_lines(1, Duration::from_secs(20));
    let db = env.state_dir().join("cer.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    // Open connections keep writing through their descriptors; idle ones close after 1 s
    // (checked about every second).
    std::thread::sleep(Duration::from_millis(3000));
    let held = env.place_calls(2);
    let early = running.more_stdout(Duration::from_millis(1500));
    assert!(early.is_empty(), "printed without being stored: {early:?}");
    // As a person would: `chmod 600 cer.db*` (SQLite gives a -shm it creates meanwhile the
    // database file's mode).
    for entry in std::fs::read_dir(env.state_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("cer.db") {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    let later = running.stdout_lines(2, Duration::from_secs(30));
    let mut got = ids(&json_lines(&later));
    got.sort();
    let mut want = held.clone();
    want.sort();
    assert_eq!(got, want, "stderr:\n{}", running.stderr_seen.join("\n"));
    stop_plain_user(running);
    assert_eq!(stored_rows(&env).len(), first.len() + held.len());
}

/// SIGTERM to cer itself: `runuser` would end it with SIGKILL after its own SIGTERM.
fn stop_plain_user(running: Running) {
    let pid = running.child.id();
    let children = format!("/proc/{pid}/task/{pid}/children");
    let cer = std::fs::read_to_string(children).unwrap_or_default();
    let target = cer
        .split_whitespace()
        .next()
        .map_or(pid.to_string(), str::to_string);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &target])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, _, stderr) = running.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0), "stderr:\n{}", stderr.join("\n"));
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn a_postgres_store_stopped_and_restarted_while_calls_end_loses_nothing() {
    let Some(mut server) = crate::postgres::PgServer::start() else {
        return;
    };
    let url = server.create_database();
    let env = TestEnv::new();
    let mut running = env.listen(&["--store", &url]);
    let before = env.place_calls(2);
    let mut lines = running.stdout_lines(2, Duration::from_secs(20));
    server.stop();
    let during = env.place_calls(3);
    // Waited for, not slept: the listener is at work on them while the store is down (it
    // takes one at a time, so one fetched report is the sign).
    let at_work = crate::probe::eventually(Duration::from_secs(20), || {
        during
            .iter()
            .any(|id| crate::probe::report_gets(&env, id) >= 1)
    });
    assert!(at_work, "no call taken while the store was down");
    lines.extend(running.more_stdout(Duration::from_millis(100)));
    server.resume();
    let after = env.place_calls(1);
    let want: HashSet<String> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .cloned()
        .collect();
    let deadline = Instant::now() + Duration::from_secs(40);
    while lines.len() < want.len() && Instant::now() < deadline {
        lines.extend(running.more_stdout(Duration::from_millis(300)));
    }
    lines.extend(running.more_stdout(Duration::from_millis(800)));
    let printed = ids(&json_lines(&lines));
    let unique: HashSet<String> = printed.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        printed.len(),
        "a call printed twice: {printed:?}"
    );
    assert_eq!(unique, want, "stderr:\n{}", running.stderr_seen.join("\n"));
    stop(running);
    let rows = env.block_on(async {
        let store = Store::open(&StoreLocation::parse(&url).unwrap())
            .await
            .unwrap();
        let mut stored = 0;
        for id in &want {
            stored += usize::from(store.has_report(id).await.unwrap());
        }
        stored
    });
    assert_eq!(rows, want.len());
}

#[test]
fn keep_deletes_reports_of_old_calls_but_not_recent_ones() {
    let env = TestEnv::new();
    let location = StoreLocation::default_in(&env.state_dir());
    env.block_on(async {
        let store = Store::open(&location).await.unwrap();
        let queue = cer::store::outbox::Queue::NONE;
        let now = jiff::Timestamp::now();
        for (id, ended) in [
            ("old", "2020-01-01T00:00:00Z"),
            ("recent", &now.to_string()),
        ] {
            let report = serde_json::json!({"conversationSpaceId": id, "callEnded": ended});
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
    });
    let running = env.listen(&["--keep", "30d"]);
    std::thread::sleep(Duration::from_millis(300));
    stop(running);
    let ids: Vec<String> = stored_rows(&env).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["recent"]);
}

#[test]
fn an_unreachable_store_at_start_is_exit_1_naming_it() {
    let env = TestEnv::new();
    let port = crate::harness::free_port();
    let url = format!("postgres://cer:hunter2@127.0.0.1:{port}/cer");
    let output = env
        .cer_with_token()
        .args(["listen", "--store", &url])
        .output()
        .unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}/cer")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let bad = env
        .cer_with_token()
        .args(["listen", "--store", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

// Regression: a store that opens but fails while the saved cursors are read was reported as a
// configuration error (exit 2, with a hint about OAuth variables) instead of the store's.
#[test]
fn a_store_that_fails_reading_cursors_is_exit_1_naming_the_store() {
    let env = TestEnv::new();
    let path = env.state_dir().join("cer.db");
    env.block_on(async {
        Store::open(&StoreLocation::Sqlite(path.clone()))
            .await
            .unwrap();
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("DROP TABLE cer_cursors")
            .execute(&pool)
            .await
            .unwrap();
    });
    let output = env.cer_with_token().arg("listen").output().unwrap();
    let stderr = crate::harness::stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cer.db"), "{stderr}");
    assert!(!stderr.contains("OAUTH_CLIENT_ID"), "{stderr}");
}

/// Regression (issue 21, point 3): a report PostgreSQL refused (a NUL in a caller's name)
/// was never stored or printed, and listen held every later report back forever. A report
/// the store refuses for good is now set aside in a file, loudly, and listening goes on.
/// The refusal is forced with a CHECK constraint, since a NUL itself is now storable.
#[test]
fn a_report_the_store_refuses_for_good_is_set_aside_and_nothing_stalls() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    env.block_on(async {
        let store = Store::open(&StoreLocation::parse(&url).unwrap())
            .await
            .unwrap();
        drop(store);
        let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("ALTER TABLE cer_reports ADD CONSTRAINT refuse CHECK (duration_seconds < 0)")
            .execute(&mut db)
            .await
            .unwrap();
    });
    let mut running = env.listen(&["--store", &url]);
    let calls = env.place_calls(2);
    let printed = json_lines(&running.stdout_lines(2, Duration::from_secs(20)));
    assert_eq!(ids(&printed).len(), 2, "both printed, none held back");
    let (_, stderr) = running.stop();
    let stderr = stderr.join("\n");
    assert!(stderr.contains("set aside"), "{stderr}");
    assert!(!stderr.contains("holding reports back"), "{stderr}");
    for id in &calls {
        let path = env.state_dir().join("set-aside").join(format!("{id}.json"));
        let kept: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(kept["conversationSpaceId"], id.as_str());
    }
    // Regression: a restart whose catch-up reached them set them aside and printed them again.
    let mut again = env.listen(&["--store", &url, "--since", "10m"]);
    let later = env.place_calls(1);
    let printed = json_lines(&again.stdout_lines(1, Duration::from_secs(20)));
    assert_eq!(ids(&printed), later, "only the new call");
    let (rest, stderr) = again.stop();
    assert!(
        rest.is_empty(),
        "printed again: {rest:?}\n{}",
        stderr.join("\n")
    );
}
