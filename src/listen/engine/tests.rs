//! The listen engine driven directly, without a terminal: its events, dedupe, backfill order and
//! reconnects, against the in-process simulator.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::api::ApiClient;
use crate::api::tests::TestEnv;
use crate::auth::Tokens;
use crate::events::{ListenEvent, Origin};
use crate::listen::{
    Clock, ListenConfig, ListenError, REMEMBER_AT_MOST, StartFrom, SystemClock, Timing,
};
use crate::net::retry::RetryPolicy;
use crate::secret::Secret;

struct Harness {
    events: mpsc::Receiver<ListenEvent>,
    stop: CancellationToken,
    engine: tokio::task::JoinHandle<Result<(), ListenError>>,
}

fn config(env: &TestEnv, start: StartFrom) -> ListenConfig {
    ListenConfig {
        account_keys: vec![env.sandbox.account_key().to_string()],
        event_types: vec!["REPORT_SUMMARY".into()],
        start,
        backfill: true,
        max_call_duration: Duration::from_secs(4 * 3600),
        state_dir: env.state_dir(),
        channel_nickname: "test".into(),
        timing: Timing::scaled(crate::time_scale::TimeScale::from_factor(0.05).unwrap()),
        proxy: None,
        remember_at_most: REMEMBER_AT_MOST,
        recording_notifications: false,
    }
}

fn start(env: &TestEnv, config: ListenConfig, clock: Arc<dyn Clock>) -> Harness {
    let base = url::Url::parse(&env.sandbox.base_url()).unwrap();
    let tokens = Tokens::fixed(Secret::new(env.sandbox.issue_token(None)));
    let retry = RetryPolicy::default().with_base(Duration::from_millis(5));
    let api = ApiClient::new(reqwest::Client::new(), base, tokens, 50, retry);
    let (send, events) = mpsc::channel(16);
    let stop = CancellationToken::new();
    let engine = env.spawn(Engine::new(api, config, send, clock).run(stop.clone()));
    Harness {
        events,
        stop,
        engine,
    }
}

/// The next event, answering reports as a renderer does.
fn next(env: &TestEnv, harness: &mut Harness) -> Option<ListenEvent> {
    env.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), harness.events.recv())
            .await
            .ok()
            .flatten()
    })
}

/// Collects reports (id, origin) until `count` arrived; other events go to `others`.
fn reports(
    env: &TestEnv,
    harness: &mut Harness,
    count: usize,
    others: &mut Vec<String>,
) -> Vec<(String, Origin)> {
    let mut found = Vec::new();
    while found.len() < count {
        match next(env, harness) {
            Some(ListenEvent::Report {
                report,
                origin,
                printed,
            }) => {
                found.push((report.id().to_string(), origin));
                let _ = printed.send(());
            }
            Some(other) => others.push(format!("{other:?}")),
            None => panic!(
                "only {} of {count} reports; other events: {others:?}",
                found.len()
            ),
        }
    }
    found
}

/// Nothing but non-report events for a while.
fn no_more_reports(env: &TestEnv, harness: &mut Harness) {
    let quiet = env.block_on(async {
        tokio::time::timeout(Duration::from_millis(700), async {
            loop {
                match harness.events.recv().await {
                    Some(ListenEvent::Report { report, .. }) => return Some(report),
                    Some(_) => continue,
                    None => return None,
                }
            }
        })
        .await
    });
    if let Ok(Some(report)) = quiet {
        panic!("an extra report: {}", report.id());
    }
}

fn finish(env: &TestEnv, harness: Harness) {
    harness.stop.cancel();
    let Harness {
        mut events, engine, ..
    } = harness;
    env.block_on(async {
        let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
        engine.await.unwrap().unwrap();
        drain.await.unwrap();
    });
    assert!(env.sandbox.channels().is_empty());
}

#[test]
fn ready_comes_first_and_duplicate_notifications_yield_one_report() {
    let env = TestEnv::with(cer_sandbox::SandboxConfig {
        call_every: None,
        to_be_closed_grace: Duration::from_millis(800),
        ..Default::default()
    });
    let mut harness = start(&env, config(&env, StartFrom::Cursor), Arc::new(SystemClock));
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Ready { .. })
    ));
    env.sandbox.faults().send_to_be_closed();
    std::thread::sleep(Duration::from_millis(300));
    // Two sockets on one channel now: GoTo announces this call on both.
    let id = env.sandbox.place_call().conversation_space_id;
    let got = reports(&env, &mut harness, 1, &mut Vec::new());
    assert_eq!(got, vec![(id, Origin::Notification)]);
    no_more_reports(&env, &mut harness);
    finish(&env, harness);
}

#[test]
fn backfill_emits_missed_calls_oldest_first() {
    let env = TestEnv::new();
    let placed: Vec<String> = (0..4)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            env.sandbox.place_call().conversation_space_id
        })
        .collect();
    let mut harness = start(
        &env,
        config(&env, StartFrom::Since(Duration::from_secs(3600))),
        Arc::new(SystemClock),
    );
    let got = reports(&env, &mut harness, 4, &mut Vec::new());
    let ids: Vec<String> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, placed, "in callEnded order");
    assert!(got.iter().all(|(_, origin)| *origin == Origin::Backfill));
    finish(&env, harness);
}

#[test]
fn a_dropped_socket_is_announced_and_followed_by_a_reconnect() {
    let env = TestEnv::new();
    let mut harness = start(&env, config(&env, StartFrom::Cursor), Arc::new(SystemClock));
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Ready { .. })
    ));
    env.sandbox.faults().drop_websockets();
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Reconnecting { attempt: 1, .. })
    ));
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Reconnected)
    ));
    let id = env.sandbox.place_call().conversation_space_id;
    assert_eq!(reports(&env, &mut harness, 1, &mut Vec::new())[0].0, id);
    finish(&env, harness);
}

/// A clock stuck at a chosen instant.
struct FixedClock(jiff::Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        self.0
    }
}

#[test]
fn a_first_run_starts_its_cursor_at_the_clocks_now() {
    let env = TestEnv::new();
    let at: jiff::Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let mut harness = start(
        &env,
        config(&env, StartFrom::Cursor),
        Arc::new(FixedClock(at)),
    );
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Ready { .. })
    ));
    finish(&env, harness);
    let location = crate::store::StoreLocation::default_in(&env.state_dir());
    let cursors = env.block_on(async {
        let store = crate::store::Store::open(&location).await.unwrap();
        store.cursors().await.unwrap()
    });
    assert_eq!(cursors[env.sandbox.account_key()], at);
}

/// Every event until `until` matches, as short names; reports are answered as printed.
fn events_until(
    env: &TestEnv,
    harness: &mut Harness,
    until: impl Fn(&ListenEvent) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let Some(event) = next(env, harness) else {
            panic!("no more events after {seen:?}");
        };
        let done = until(&event);
        seen.push(match event {
            ListenEvent::Report {
                report, printed, ..
            } => {
                let _ = printed.send(());
                report.id().to_string()
            }
            ListenEvent::CatchingUp { calls, at_start } => format!("CatchingUp {calls} {at_start}"),
            ListenEvent::Reconnecting { .. } => "Reconnecting".into(),
            other => format!("{other:?}"),
        });
        if done {
            return seen;
        }
    }
}

#[test]
fn a_fresh_listen_never_replays_calls_that_ended_before_it_started() {
    let env = TestEnv::new();
    let before = (0..3)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect::<Vec<_>>();
    std::thread::sleep(Duration::from_millis(50));
    let mut harness = start(&env, config(&env, StartFrom::Cursor), Arc::new(SystemClock));
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Ready { .. })
    ));
    env.sandbox.faults().drop_websockets();
    let during = env.sandbox.place_call().conversation_space_id;
    let mut others = Vec::new();
    let got = reports(&env, &mut harness, 1, &mut others);
    assert_eq!(got[0].0, during, "before the start: {before:?}");
    no_more_reports(&env, &mut harness);
    finish(&env, harness);
}

#[test]
fn a_catch_up_is_announced_printed_in_order_and_followed_by_live_again() {
    let env = TestEnv::new();
    let placed: Vec<String> = (0..3)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            env.sandbox.place_call().conversation_space_id
        })
        .collect();
    let mut harness = start(
        &env,
        config(&env, StartFrom::Since(Duration::from_secs(3600))),
        Arc::new(SystemClock),
    );
    let seen = events_until(&env, &mut harness, |e| matches!(e, ListenEvent::CaughtUp));
    let mut expected = vec![seen[0].clone(), "CatchingUp 3 true".to_string()];
    expected.extend(placed);
    expected.push("CaughtUp".into());
    assert!(seen[0].starts_with("Ready"), "{seen:?}");
    assert_eq!(seen, expected);
    // After a reconnect, the gap's calls are announced as missed while disconnected. The
    // first call surely falls in the gap; the second may already be announced live.
    env.sandbox.faults().drop_websockets();
    let missed: Vec<String> = (0..2)
        .map(|n| {
            std::thread::sleep(Duration::from_millis(20 * n));
            env.sandbox.place_call().conversation_space_id
        })
        .collect();
    let seen = events_until(&env, &mut harness, |e| matches!(e, ListenEvent::CaughtUp));
    let catching = seen.iter().position(|e| e.starts_with("CatchingUp"));
    let catching = catching.unwrap_or_else(|| panic!("no catch-up in {seen:?}"));
    let caught_up = &seen[catching + 1..seen.len() - 1];
    assert_eq!(
        seen[catching],
        format!("CatchingUp {} false", caught_up.len()),
        "{seen:?}"
    );
    assert_eq!(caught_up, &missed[..caught_up.len()], "{seen:?}");
    let more = reports(&env, &mut harness, 2 - caught_up.len(), &mut Vec::new());
    assert!(more.iter().all(|(id, _)| missed.contains(id)), "{more:?}");
    finish(&env, harness);
}

#[test]
fn live_reports_wait_until_the_catch_up_is_printed() {
    let env = TestEnv::new();
    let placed: Vec<String> = (0..30)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    let mut harness = start(
        &env,
        config(&env, StartFrom::Since(Duration::from_secs(3600))),
        Arc::new(SystemClock),
    );
    assert!(matches!(
        next(&env, &mut harness),
        Some(ListenEvent::Ready { .. })
    ));
    let live = env.sandbox.place_call().conversation_space_id;
    let got = reports(&env, &mut harness, placed.len() + 1, &mut Vec::new());
    let mut ids: Vec<String> = got.into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids.pop(),
        Some(live),
        "the live call comes after the catch-up"
    );
    ids.sort();
    let mut placed = placed;
    placed.sort();
    assert_eq!(ids, placed);
    finish(&env, harness);
}

#[test]
fn a_listen_that_never_connects_gives_up_with_the_cause() {
    let env = TestEnv::new();
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let tokens = Tokens::fixed(Secret::new(env.sandbox.issue_token(None)));
    let base = url::Url::parse(&format!("http://127.0.0.1:{closed}/")).unwrap();
    let retry = RetryPolicy::default().with_base(Duration::from_millis(5));
    let api = ApiClient::new(reqwest::Client::new(), base, tokens, 50, retry);
    let (send, mut events) = mpsc::channel(16);
    let stopped = CancellationToken::new();
    let engine = Engine::new(
        api,
        config(&env, StartFrom::Cursor),
        send,
        Arc::new(SystemClock),
    );
    let started = std::time::Instant::now();
    let result = env.block_on(async {
        let run = tokio::spawn(engine.run(stopped));
        let drain = async {
            while let Some(event) = events.recv().await {
                assert!(!matches!(event, ListenEvent::Ready { .. }));
            }
        };
        let (result, ()) = tokio::join!(tokio::time::timeout(Duration::from_secs(20), run), drain);
        result
    });
    let err = result.expect("gave up in time").unwrap().unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    // 30 s scaled by 0.05, plus the last attempt.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

// The ledger remembers a bounded number of IDs; a backfill asks the store about the calls it
// let go, so a restart (or a reconnect after a burst) fetches none of them again.
#[test]
fn a_backfill_fetches_nothing_the_store_has_beyond_the_ledgers_memory() {
    let env = TestEnv::new();
    let placed: Vec<String> = (0..8)
        .map(|_| env.sandbox.place_call().conversation_space_id)
        .collect();
    let since = StartFrom::Since(Duration::from_secs(3600));
    let mut first = start(&env, config(&env, since), Arc::new(SystemClock));
    let got = reports(&env, &mut first, 8, &mut Vec::new());
    assert_eq!(got.len(), placed.len());
    finish(&env, first);
    let fetched_before = env.report_requests();
    // Ended while no listener ran: the only call the second run is to fetch.
    let newest = env.sandbox.place_call().conversation_space_id;
    let mut small = config(&env, since);
    small.remember_at_most = 2;
    let mut second = start(&env, small, Arc::new(SystemClock));
    let got = reports(&env, &mut second, 1, &mut Vec::new());
    assert_eq!(got, vec![(newest, Origin::Backfill)]);
    no_more_reports(&env, &mut second);
    assert_eq!(
        env.report_requests() - fetched_before,
        1,
        "only the new call's report is fetched"
    );
    finish(&env, second);
}
