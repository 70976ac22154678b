//! What `listen` says about its store while running: `/healthz` follows the store's writes
//! (not only whether it answers a ping), and a restart says nothing about cursor files that
//! were imported long ago.
//!
//! The read-only store is a PostgreSQL database set to read-only transactions: it works as
//! root, and it is exact. A SQLite file made read-only with chmod is not: SQLite hands a new
//! connection a descriptor still open on the same file, with the write access it had, and
//! writes went on working for 18 s in one run out of eight.

use std::time::{Duration, Instant};

use crate::harness::{TestEnv, json_lines};
use crate::probe::{healthz, served_address};

/// Polls `/healthz` until its status is `want` or `limit` passes; returns the last answer.
fn healthz_turns(env: &TestEnv, address: &str, want: u16, limit: Duration) -> (u16, String) {
    let deadline = Instant::now() + limit;
    loop {
        let answer = healthz(env, address);
        if answer.0 == want || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs SQL on the test server's `postgres` database (never made read-only itself).
fn admin(env: &TestEnv, url: &str, statements: &[String]) {
    let (base, _) = url.rsplit_once('/').unwrap();
    let admin = format!("{base}/postgres");
    env.block_on(async {
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        for statement in statements {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
}

/// Makes a database refuse (or accept again) every write of new sessions, and ends the
/// sessions open on it, so cer's next connections get the new setting. Reads still work.
fn read_only(env: &TestEnv, url: &str, on: bool) {
    let name = url.rsplit_once('/').unwrap().1;
    let setting = if on { "on" } else { "off" };
    admin(
        env,
        url,
        &[
            format!("ALTER DATABASE {name} SET default_transaction_read_only = {setting}"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        ],
    );
}

#[test]
fn healthz_is_503_naming_the_store_while_its_writes_fail_and_200_once_they_work() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    let mut running = env.listen(&["--json", "--store", &url, "--metrics", "127.0.0.1:0"]);
    let address = served_address(&running);
    let first = env.place_calls(1);
    assert_eq!(running.stdout_lines(1, Duration::from_secs(20)).len(), 1);
    assert_eq!(healthz(&env, &address), (200, "ok\n".to_string()));
    read_only(&env, &url, true);
    let held = env.place_calls(1);
    let (status, body) = healthz_turns(&env, &address, 503, Duration::from_secs(15));
    assert_eq!(
        status,
        503,
        "{body}\nstderr:\n{}",
        running.stderr_seen.join("\n")
    );
    assert!(body.starts_with("store: the last write failed"), "{body}");
    assert!(body.contains("read-only transaction"), "{body}");
    read_only(&env, &url, false);
    let (status, body) = healthz_turns(&env, &address, 200, Duration::from_secs(30));
    assert_eq!(
        status,
        200,
        "{body}\nstderr:\n{}",
        running.stderr_seen.join("\n")
    );
    // The call that ended while writes failed is stored and printed now, once.
    let mut later = running.stdout_lines(1, Duration::from_secs(20));
    later.extend(running.more_stdout(Duration::from_millis(300)));
    let printed: Vec<String> = json_lines(&later)
        .iter()
        .map(|r| r["conversationSpaceId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(printed, held, "after {first:?}");
    running.stop();
}

#[test]
fn restarts_say_nothing_about_an_imported_cursor_file_that_is_gone() {
    let env = TestEnv::new();
    let mut stderr = Vec::new();
    for _ in 0..3 {
        let mut running = env.listen(&["--json"]);
        env.place_calls(1);
        assert_eq!(running.stdout_lines(1, Duration::from_secs(20)).len(), 1);
        stderr.extend(running.stop().1);
    }
    let renames: Vec<&String> = stderr
        .iter()
        .filter(|line| line.contains("cannot rename"))
        .collect();
    assert!(renames.is_empty(), "{renames:?}");
}

/// Issue 19: a re-fetch point that falls due while the store refuses writes is neither lost
/// nor done twice: `listen` keeps it (a claim or a revision that fails leaves the point in the
/// schedule) and, once the store writes again, the report reaches revision 2, once.
#[test]
fn a_refetch_due_while_the_store_refuses_writes_is_done_once_it_writes_again() {
    use cer::store::{Store, StoreLocation};

    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::with(cer_sandbox::SandboxConfig {
        call_every: None,
        analysis_delay: None,
        ..cer_sandbox::SandboxConfig::default()
    });
    let mut running = env.listen(&["--json", "--store", &url, "--refetch", "2s"]);
    let id = env.place_calls(1).remove(0);
    let printed = running.stdout_lines(1, Duration::from_secs(20));
    assert_eq!(printed.len(), 1);
    let ended: jiff::Timestamp = json_lines(&printed)[0]["callEnded"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("the report says when the call ended");
    env.sandbox.add_analysis(&id, None).expect("a known call");
    read_only(&env, &url, true);
    // The point falls due two seconds after the call's end, while every write fails: waited
    // for until then (from the call's end, not a fixed sleep), and a second more, some twenty
    // of the re-fetcher's looks at the schedule (50 ms each at the tests' scale), each a claim
    // the store refuses.
    let refused_for = ended + jiff::SignedDuration::from_secs(3);
    while jiff::Timestamp::now() < refused_for {
        std::thread::sleep(Duration::from_millis(50));
    }
    read_only(&env, &url, false);

    let store = env
        .block_on(Store::open(&StoreLocation::parse(&url).unwrap()))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while env.block_on(store.revisions(&id)).unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the point was lost");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, stderr) = running.stop();
    let revisions = env.block_on(store.revisions(&id)).unwrap();
    assert_eq!(revisions.len(), 2, "{revisions:?}\n{}", stderr.join("\n"));
    let counts = env
        .block_on(store.refetches_due(jiff::Timestamp::now()))
        .unwrap();
    assert_eq!(
        (counts.due, counts.later),
        (0, 0),
        "the point was done and removed"
    );
}
