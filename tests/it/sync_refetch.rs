//! Issue 26 finding 3: a later `cer sync` carries out the re-fetches due for the calls of its
//! range (SPEC section 11), as a running listener would: the report is fetched again, a changed
//! one becomes revision 2, the closing line says so and `sync --check` then has none due.
//! Without a listener this was the only way the analysis could arrive, and `sync` did nothing.

use std::time::{Duration, Instant};

use cer::store::{Store, StoreLocation};
use cer_sandbox::SandboxConfig;
use serde_json::Value;

use crate::harness::TestEnv;
use crate::probe::report_gets;

/// The re-fetch point: after `callEnded`, soon enough to keep the test short.
const POINT: &str = "2s";
const LIMIT: Duration = Duration::from_secs(20);

/// A simulator whose reports change only when the test adds analysis.
fn env() -> TestEnv {
    TestEnv::with(SandboxConfig {
        call_every: None,
        analysis_delay: None,
        ..SandboxConfig::default()
    })
}

/// `--store` of the test: the default SQLite file, or a PostgreSQL database.
fn sqlite(env: &TestEnv) -> String {
    format!("sqlite:{}", env.state_dir().join("cer.db").display())
}

fn store(env: &TestEnv, url: &str) -> Store {
    let location = StoreLocation::parse(url).unwrap();
    env.block_on(Store::open(&location))
        .expect("the store opens")
}

/// Stores one call with a re-fetch point ahead, adds its analysis, and waits until the
/// point is due; the call's ID.
fn a_call_with_a_due_refetch(env: &TestEnv, url: &str) -> String {
    let id = env.place_calls(1).remove(0);
    let first = sync(env, url, POINT);
    assert_eq!(first.code, 0, "{first:?}");
    env.sandbox.add_analysis(&id, None).expect("a known call");
    let store = store(env, url);
    let deadline = Instant::now() + LIMIT;
    loop {
        let counts = env
            .block_on(store.refetches_due(jiff::Timestamp::now()))
            .unwrap();
        if counts.due == 1 {
            return id;
        }
        assert!(Instant::now() < deadline, "the point never fell due");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sync(env: &TestEnv, url: &str, refetch: &str) -> cer::Captured {
    let args = ["sync", "--since", "1h", "--store", url];
    env.run_with_token(&args, &[("CER_REFETCH", refetch)])
}

fn check(env: &TestEnv, url: &str) -> Value {
    let args = ["sync", "--check", "--since", "1h", "--json", "--store", url];
    let check = env.run_with_token(&args, &[]);
    assert_eq!(check.code, 0, "{check:?}");
    serde_json::from_str(&check.stdout).unwrap()
}

fn later_sync_does_the_due_refetches(env: &TestEnv, url: &str) {
    let id = a_call_with_a_due_refetch(env, url);
    assert_eq!(
        check(env, url)["refetchesDue"],
        1,
        "due before the second sync"
    );
    let gets = report_gets(env, &id);

    let second = sync(env, url, POINT);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second
            .stderr
            .contains("Stored 0 new reports (1 already stored), "),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("; 1 due re-fetch(es), 1 new revision(s)"),
        "{}",
        second.stderr
    );
    assert_eq!(report_gets(env, &id), gets + 1, "fetched again, once");
    let revisions = env.block_on(store(env, url).revisions(&id)).unwrap();
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert!(
        revisions[1].text.contains("callReason"),
        "the analysis landed"
    );

    let after = check(env, url);
    assert_eq!(after["refetchesDue"], 0, "{after}");
    assert_eq!(after["refetchesLater"], 0, "{after}");
    // Nothing left: a third sync fetches nothing again.
    let third = sync(env, url, POINT);
    assert_eq!(third.code, 0, "{third:?}");
    assert_eq!(report_gets(env, &id), gets + 1, "done once");
}

#[test]
fn a_later_sync_does_the_due_refetches_of_its_range_and_stores_revision_2() {
    let env = env();
    later_sync_does_the_due_refetches(&env, &sqlite(&env));
}

#[test]
fn a_later_sync_does_the_due_refetches_of_its_range_on_postgres() {
    if let Some(url) = crate::postgres::fresh_database() {
        later_sync_does_the_due_refetches(&env(), &url);
    }
}

#[test]
fn a_sync_with_refetch_off_fetches_no_due_report_again() {
    let env = env();
    let url = sqlite(&env);
    let id = a_call_with_a_due_refetch(&env, &url);
    let gets = report_gets(&env, &id);

    let second = sync(&env, &url, "off");
    assert_eq!(second.code, 0, "{second:?}");
    assert!(!second.stderr.contains("re-fetch"), "{}", second.stderr);
    assert_eq!(report_gets(&env, &id), gets, "not fetched again");
    let revisions = env.block_on(store(&env, &url).revisions(&id)).unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(
        check(&env, &url)["refetchesDue"],
        1,
        "still due for a listener"
    );
}
