//! Several `cer listen` processes on one PostgreSQL store (SPEC section 9, high availability),
//! each run as its own "machine" (its own HOME, CER_STATE_DIR, config folder and metrics
//! port): every call printed exactly once across their stdouts while one is SIGKILLed and
//! another restarted, every webhook-id delivered, the outbox empty at the end; what a listener
//! that died left behind (a report stored but never printed, a delivery leased mid-POST) is
//! delivered by another; and `/healthz` follows the store down and up again.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use cer::store::outbox::Queue;
use cer::store::{Store, StoreLocation};

use crate::harness::READY;
use crate::harness::{Running, TestEnv, json_lines};
use crate::probe::{eventually, healthz, served_address};

const ARRIVE: Duration = Duration::from_secs(30);
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One machine's folders: its own HOME, state and config, as on another host.
pub(crate) fn machine(env: &TestEnv, name: &str) -> PathBuf {
    let home = env.dir.path().join(name);
    std::fs::create_dir_all(&home).expect("a machine folder");
    home
}

/// `cer listen --json --store URL` on `machine`, started and Ready.
pub(crate) fn listener(env: &TestEnv, home: &PathBuf, store: &str, args: &[&str]) -> Running {
    ready(listen_command(env, home, store, args))
}

fn listen_command(env: &TestEnv, home: &PathBuf, store: &str, args: &[&str]) -> Command {
    let mut command = env.cer_process();
    command
        .env("HOME", home)
        .env("CER_STATE_DIR", home.join("state"))
        .env("CER_CONFIG_DIR", home.join("config"))
        .env("CER_TOKEN", env.sandbox.issue_token(None))
        .env("CER_FORWARD_SECRET", SECRET)
        .args(["listen", "--json", "--store", store])
        .args(args);
    command
}

fn ready(command: Command) -> Running {
    let mut running = Running::start(command);
    running.wait_for_stderr("Ready", READY);
    running
}

/// What each listener printed, by name: the conversationSpaceIds in stdout order.
#[derive(Default)]
struct Printed(BTreeMap<String, Vec<String>>);

impl Printed {
    fn total(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    fn take(&mut self, name: &str, lines: Vec<String>) {
        let ids = json_lines(&lines)
            .iter()
            .map(|r| r["conversationSpaceId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        self.0.entry(name.to_string()).or_default().extend(ids);
    }

    /// Reads the running listeners until `total` reports were printed between all of them,
    /// then a quiet moment more, so a report printed twice would show.
    fn gather(&mut self, running: &mut [(&str, &mut Running)], total: usize) {
        let deadline = Instant::now() + ARRIVE;
        while self.total() < total && Instant::now() < deadline {
            for (name, listener) in running.iter_mut() {
                let lines = listener.more_stdout(Duration::from_millis(50));
                self.take(name, lines);
            }
        }
        for (name, listener) in running.iter_mut() {
            let lines = listener.more_stdout(Duration::from_millis(400));
            self.take(name, lines);
        }
    }

    /// Each of `calls` printed exactly once, by any listener, and nothing else.
    fn assert_each_once(&self, calls: &[String]) {
        let all: Vec<&String> = self.0.values().flatten().collect();
        let unique: HashSet<&String> = all.iter().copied().collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "a call printed twice: {:?}",
            self.0
        );
        assert_eq!(
            unique,
            calls.iter().collect::<HashSet<_>>(),
            "printed: {:?}",
            self.0
        );
    }
}

/// A webhook receiver that records each `webhook-id` it got; the first `hang_first` requests
/// are answered only after cer's (scaled) timeout, so they count as failed.
struct Receiver {
    url: String,
    /// Every request's `webhook-id`, and whether it was answered in time.
    seen: Arc<Mutex<Vec<(String, bool)>>>,
}

impl Receiver {
    fn start(env: &TestEnv) -> Self {
        Self::hanging(env, 0)
    }

    fn hanging(env: &TestEnv, hang_first: usize) -> Self {
        let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let record = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap| {
                let record = record.clone();
                async move {
                    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok());
                    let hang = {
                        let mut seen = record.lock().unwrap();
                        let hang = seen.len() < hang_first;
                        seen.push((id.unwrap_or_default().to_string(), !hang));
                        hang
                    };
                    if hang {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = env
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("the receiver binds");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        env.spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The IDs answered in time (with repeats).
    fn received(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(_, accepted)| *accepted)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn wait_for(&self, wanted: &[String]) {
        let deadline = Instant::now() + ARRIVE;
        while Instant::now() < deadline {
            let got: HashSet<String> = self.received().into_iter().collect();
            if wanted.iter().all(|id| got.contains(id)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "not delivered: wanted {wanted:?}, got {:?}",
            self.received()
        );
    }
}

fn open(env: &TestEnv, url: &str) -> Store {
    env.block_on(Store::open(&StoreLocation::parse(url).unwrap()))
        .expect("the store opens")
}

/// Waits until the outbox (pending and failed) is empty; panics with what is left.
fn wait_for_empty_outbox(env: &TestEnv, store: &Store) {
    let deadline = Instant::now() + ARRIVE;
    loop {
        let left = env
            .block_on(store.list_deliveries(false, jiff::Timestamp::now()))
            .unwrap();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "the outbox still has {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The sandbox's every-call loop: three listeners share the work; one is SIGKILLed and one
/// restarted between batches of calls. The kill lands when the outbox is empty, so no POST is
/// cut short and each webhook-id must arrive exactly once (a POST cut short is the next test).
#[test]
fn three_listeners_one_killed_one_restarted_print_and_deliver_each_call_once() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    let receiver = Receiver::start(&env);
    let store = open(&env, &url);
    let hook = ["--forward-to", receiver.url.as_str()];
    let homes = ["one", "two", "three"].map(|name| machine(&env, name));
    let mut one = listener(&env, &homes[0], &url, &hook);
    let mut two = listener(&env, &homes[1], &url, &hook);
    let mut three = listener(&env, &homes[2], &url, &hook);
    let mut printed = Printed::default();
    let mut calls = env.place_calls(4);
    printed.gather(
        &mut [("one", &mut one), ("two", &mut two), ("three", &mut three)],
        calls.len(),
    );
    receiver.wait_for(&calls);
    wait_for_empty_outbox(&env, &store);

    one.signal("KILL");
    drop(one);
    calls.extend(env.place_calls(4));
    printed.gather(&mut [("two", &mut two), ("three", &mut three)], calls.len());

    let rest = two.stop().0;
    printed.take("two", rest);
    // The restarted listener starts from the shared cursor: it catches up on nothing the
    // others stored, and prints nothing again.
    let mut two_again = listener(&env, &homes[1], &url, &hook);
    calls.extend(env.place_calls(4));
    printed.gather(
        &mut [("two again", &mut two_again), ("three", &mut three)],
        calls.len(),
    );
    printed.assert_each_once(&calls);

    receiver.wait_for(&calls);
    wait_for_empty_outbox(&env, &store);
    let mut received = receiver.received();
    received.sort();
    let mut wanted = calls.clone();
    wanted.sort();
    assert_eq!(received, wanted, "each webhook-id once");
    for running in [two_again, three] {
        assert!(running.stop().0.is_empty());
    }
    let stored = env.block_on(async {
        let mut stored = 0;
        for id in &calls {
            stored += usize::from(store.has_report(id).await.unwrap());
        }
        stored
    });
    assert_eq!(stored, calls.len());
}

/// The kill lands while calls are being handled (right after a call ended, its report being
/// fetched and stored by both listeners). Whatever the moment: no call is printed twice, every
/// call is stored and every webhook-id arrives (twice at most, if the kill cut a POST short),
/// and the outbox ends empty. Only a report the killed listener had stored but not yet printed
/// may be missing from stdout, and then it is stored and delivered like the others.
#[test]
fn a_listener_killed_while_calls_end_loses_no_call_and_prints_none_twice() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    let receiver = Receiver::start(&env);
    let store = open(&env, &url);
    let hook = ["--forward-to", receiver.url.as_str()];
    let mut one = listener(&env, &machine(&env, "one"), &url, &hook);
    let mut two = listener(&env, &machine(&env, "two"), &url, &hook);
    let mut calls = Vec::new();
    for n in 0..10 {
        calls.extend(env.place_calls(1));
        if n == 3 {
            one.signal("KILL");
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    receiver.wait_for(&calls);
    let mut printed = Printed::default();
    printed.take("one", one.more_stdout(Duration::from_millis(100)));
    printed.gather(&mut [("two", &mut two)], calls.len());
    let all: Vec<&String> = printed.0.values().flatten().collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a call printed twice: {:?}",
        printed.0
    );
    let missing: Vec<&String> = calls.iter().filter(|id| !unique.contains(id)).collect();
    assert!(missing.len() <= 1, "not printed: {missing:?}");
    wait_for_empty_outbox(&env, &store);
    let stored = env.block_on(async {
        let mut stored = 0;
        for id in &calls {
            stored += usize::from(store.has_report(id).await.unwrap());
        }
        stored
    });
    assert_eq!(stored, calls.len());
    let received = receiver.received();
    for id in &calls {
        let times = received.iter().filter(|got| *got == id).count();
        assert!((1..=2).contains(&times), "{id} delivered {times} times");
    }
    assert!(two.stop().0.is_empty());
}

/// What a listener leaves when it dies at the worst moments: a report it stored but never
/// printed (its deliveries were queued in the same transaction), and a delivery it had leased
/// when it died mid-POST. Another listener prints neither (the report is another process's)
/// but delivers both, the second once the dead one's lease has run out.
#[test]
fn what_a_dead_listener_stored_or_leased_is_delivered_by_another_and_not_printed() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    let receiver = Receiver::start(&env);
    let store = open(&env, &url);
    let calls = env.place_calls(2);
    let text = include_str!("../fixtures/report_answered_then_voicemail.json");
    let targets = crate::store::targets(&[receiver.url.as_str()]);
    env.block_on(async {
        let now = jiff::Timestamp::now();
        let forward_for = Duration::from_secs(600);
        store
            .register_targets(&targets, forward_for, now)
            .await
            .unwrap();
        for id in &calls {
            let mut report: serde_json::Value = serde_json::from_str(text).unwrap();
            report["conversationSpaceId"] = id.as_str().into();
            report["callEnded"] = now.to_string().into();
            let queue = Queue::NONE;
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
        // The dead listener's POST of the second call: claimed for a second, never settled.
        let lease = Duration::from_secs(1);
        let claimed = store
            .claim_due(targets[0].key(), now, lease, 1)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
    });
    let home = machine(&env, "survivor");
    let mut survivor = listener(
        &env,
        &home,
        &url,
        &["--since", "1h", "--forward-to", &receiver.url],
    );
    receiver.wait_for(&calls);
    wait_for_empty_outbox(&env, &store);
    let printed = survivor.more_stdout(Duration::from_millis(500));
    assert!(
        printed.is_empty(),
        "another process's reports printed: {printed:?}"
    );
    assert!(survivor.stop().0.is_empty());
}

/// A listener stopped (SIGTERM, as in a rolling deploy) in the middle of a batch of
/// deliveries hands back the ones it had not started, so another listener sends them at once
/// instead of after the stopped one's lease (55 s at real timings). The POSTs it was making
/// when it stopped stay leased: it may have sent them.
#[test]
fn a_listener_stopped_mid_batch_hands_its_unsent_deliveries_to_another() {
    let Some(url) = crate::postgres::fresh_database() else {
        return;
    };
    let env = TestEnv::new();
    let receiver = Receiver::hanging(&env, 4);
    let store = open(&env, &url);
    let text = include_str!("../fixtures/report_answered_then_voicemail.json");
    let targets = crate::store::targets(&[receiver.url.as_str()]);
    let ids: Vec<String> = (0..12).map(|i| format!("batch-{i:02}")).collect();
    env.block_on(async {
        let now = jiff::Timestamp::now();
        let forward_for = Duration::from_secs(600);
        store
            .register_targets(&targets, forward_for, now)
            .await
            .unwrap();
        for id in &ids {
            let mut report: serde_json::Value = serde_json::from_str(text).unwrap();
            report["conversationSpaceId"] = id.as_str().into();
            let queue = Queue::NONE;
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
    let hook = ["--forward-to", receiver.url.as_str()];
    // Real timings for the first: a 10 s timeout, so its first four POSTs are still under way
    // when it stops, and the lease is long enough that waiting for it would show.
    let mut command = listen_command(&env, &machine(&env, "first"), &url, &hook);
    command.env("CER_TIME_SCALE", "1");
    let first = ready(command);
    assert!(eventually(ARRIVE, || receiver.requests() >= 4));
    let under_way: Vec<String> = receiver.seen.lock().unwrap()[..4]
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    let stopped_at = Instant::now();
    assert!(first.stop().0.is_empty());
    let second = listener(&env, &machine(&env, "second"), &url, &hook);
    let unsent: Vec<String> = ids
        .iter()
        .filter(|id| !under_way.contains(id))
        .cloned()
        .collect();
    receiver.wait_for(&unsent);
    let took = stopped_at.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "the unsent deliveries waited for the lease: {took:?}"
    );
    // The receiver counts a delivery before cer records it: give the last ones a moment.
    let mut under_way = under_way;
    under_way.sort();
    let left = || {
        let mut left: Vec<String> = env
            .block_on(store.list_deliveries(false, jiff::Timestamp::now()))
            .unwrap()
            .into_iter()
            .map(|d| d.conversation_space_id)
            .collect();
        left.sort();
        left
    };
    eventually(ARRIVE, || left() == under_way);
    assert_eq!(left(), under_way, "only the POSTs under way stay leased");
    assert!(second.stop().0.is_empty());
}

/// Two "machines" with their own HOME, state folder and metrics port: the calls are printed
/// once between them, `/healthz` is 503 on both while the PostgreSQL server is stopped and 200
/// again once it is back, and the calls that ended meanwhile are printed once after it.
#[test]
fn two_machines_on_one_postgres_store_share_the_calls_and_report_its_outage() {
    let Some(mut server) = crate::postgres::PgServer::start() else {
        return;
    };
    let url = server.create_database();
    let env = TestEnv::new();
    let [a, b] = ["machine-a", "machine-b"].map(|name| machine(&env, name));
    let mut first = listener(&env, &a, &url, &["--metrics", "127.0.0.1:0"]);
    let mut second = listener(&env, &b, &url, &["--metrics", "127.0.0.1:0"]);
    let addresses = [&first, &second].map(served_address);
    for address in &addresses {
        assert_eq!(healthz(&env, address).0, 200);
    }
    let mut printed = Printed::default();
    let mut calls = env.place_calls(3);
    printed.gather(&mut [("a", &mut first), ("b", &mut second)], calls.len());

    server.stop();
    for address in &addresses {
        let down = eventually(ARRIVE, || healthz(&env, address).0 == 503);
        let (_, body) = healthz(&env, address);
        assert!(down && body.contains("store"), "{address}: {body}");
    }
    calls.extend(env.place_calls(2));
    server.resume();
    for address in &addresses {
        assert!(eventually(ARRIVE, || healthz(&env, address) == (200, "ok\n".into())));
    }
    printed.gather(&mut [("a", &mut first), ("b", &mut second)], calls.len());
    printed.assert_each_once(&calls);
    for running in [first, second] {
        assert!(running.stop().0.is_empty());
    }
}
