//! The listen engine driven directly, without a terminal: its events, dedupe, backfill order and
//! reconnects, against the in-process simulator.

use std::sync::Arc;
use std::time::Duration;

use cer::api::ApiClient;
use cer::api::retry::RetryPolicy;
use cer::auth::Tokens;
use cer::listen::{
    Clock, Engine, ListenConfig, ListenEvent, Origin, StartFrom, SystemClock, Timing,
};
use cer::secret::Secret;
use tokio::sync::{mpsc, watch};

use crate::harness::TestEnv;

struct Harness {
    events: mpsc::Receiver<ListenEvent>,
    stop: watch::Sender<bool>,
    engine: tokio::task::JoinHandle<Result<(), cer::api::ApiError>>,
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
        timing: Timing::scaled(0.05),
        proxy: None,
    }
}

fn start(env: &TestEnv, config: ListenConfig, clock: Arc<dyn Clock>) -> Harness {
    let base = url::Url::parse(&env.sandbox.base_url()).unwrap();
    let tokens = Tokens::fixed(Secret::new(env.sandbox.issue_token(None)));
    let retry = RetryPolicy::default().with_base(Duration::from_millis(5));
    let api = ApiClient::new(reqwest::Client::new(), base, tokens, 50, retry);
    let (send, events) = mpsc::channel(16);
    let (stop, stopped) = watch::channel(false);
    let engine = env.spawn(Engine::new(api, config, send, clock).run(stopped));
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
                found.push((
                    report["conversationSpaceId"].as_str().unwrap().to_string(),
                    origin,
                ));
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
        panic!("an extra report: {}", report["conversationSpaceId"]);
    }
}

fn finish(env: &TestEnv, harness: Harness) {
    harness.stop.send(true).unwrap();
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
    let env = TestEnv::with(cer::sandbox::SandboxConfig {
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
    let location = cer::store::StoreLocation::default_in(&env.state_dir());
    let cursors = env.block_on(async {
        let store = cer::store::Store::open(&location).await.unwrap();
        store.cursors().await.unwrap()
    });
    assert_eq!(cursors[env.sandbox.account_key()], at);
}
