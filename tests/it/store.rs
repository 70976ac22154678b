//! The store's interface, one suite run twice: on a SQLite file and on a real PostgreSQL 15.

use std::time::Duration;

use cer::store::outbox::{Queue, Settled};
use cer::store::{Store, StoreLocation, Stored};
use cer::target::ForwardTarget;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sqlx::Row;

use super::postgres;

/// A report shaped like GoTo's, with a field cer does not know, in a deliberate key order.
pub fn report(id: &str, ended: &str) -> Value {
    json!({
        "conversationSpaceId": id,
        "accountKey": "acc-1",
        "zzUnknownField": {"kept": [1, 2.50, "x"]},
        "callCreated": "2026-11-20T10:00:00Z",
        "callAnswered": "2026-11-20T10:00:05.250Z",
        "callEnded": ended,
        "direction": "INBOUND",
        "participants": [{
            "id": "p1", "originator": "p1",
            "type": {"value": "PHONE_NUMBER", "caller": {"name": "Ada", "number": "+15550100"}}
        }]
    })
}

/// Forward targets from URLs.
pub fn targets(urls: &[&str]) -> Vec<ForwardTarget> {
    urls.iter()
        .map(|u| ForwardTarget::new(url::Url::parse(u).unwrap()))
        .collect()
}

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `suite` on SQLite, then on PostgreSQL when it is there.
fn on_both<F, Fut>(suite: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let sqlite = StoreLocation::Sqlite(dir.path().join("state/cer.db"));
    rt.block_on(async { suite(Store::open(&sqlite).await.unwrap()).await });
    if let Some(url) = postgres::fresh_database() {
        let pg = StoreLocation::parse(&url).unwrap();
        rt.block_on(async { suite(Store::open(&pg).await.unwrap()).await });
    }
}

#[test]
fn a_report_is_stored_once_with_its_columns_and_exact_payload() {
    on_both(|store| async move {
        let now = at("2026-11-20T10:06:00Z");
        let first = report("id-1", "2026-11-20T10:05:00.5Z");
        let stored = store
            .store_report(
                &cer::report::Report::of_value(&first).unwrap(),
                None,
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        assert_eq!(stored, Stored::New);
        let again = store
            .store_report(
                &cer::report::Report::of_value(&first).unwrap(),
                None,
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        assert_eq!(again, Stored::AlreadyThere);
        assert!(store.has_report("id-1").await.unwrap());
        assert!(!store.has_report("id-2").await.unwrap());

        let row = read_row(&store, "id-1").await;
        assert_eq!(row["account_key"], "acc-1");
        assert_eq!(row["direction"], "INBOUND");
        let outcome = cer::outcome::Outcome::of_report(&first).as_str();
        assert_eq!(
            row["outcome"], outcome,
            "the outcome column uses cer's vocabulary"
        );
        assert_eq!(row["caller_name"], "Ada");
        assert_eq!(row["caller_number"], "+15550100");
        assert_eq!(row["duration_seconds"], 300);
        assert_eq!(row["call_ended_ok"], 1, "call_ended is the report's time");
        let kept: Value = serde_json::from_str(row["report"].as_str().unwrap()).unwrap();
        assert_eq!(kept, first, "the report column is the report");
    });
}

/// The row as JSON, reading each column the way a person's SQL would.
async fn read_row(store: &Store, id: &str) -> Value {
    let pg = store.backend() == cer::store::Backend::Postgres;
    let (report, ended) = if pg {
        (
            "report::text",
            "call_ended = '2026-11-20T10:05:00.5Z'::timestamptz",
        )
    } else {
        ("report", "call_ended = '2026-11-20T10:05:00.500000Z'")
    };
    let sql = format!(
        "SELECT account_key, direction, outcome, caller_name, caller_number, duration_seconds, \
         {report}, CASE WHEN {ended} THEN 1 ELSE 0 END FROM cer_reports \
         WHERE conversation_space_id = '{id}'"
    );
    let pool = sqlx::AnyPool::connect(&connect_url(store)).await.unwrap();
    let row = sqlx::query(&sql).fetch_one(&pool).await.unwrap();
    let text = |i: usize| Value::from(row.try_get::<String, _>(i).unwrap());
    json!({
        "account_key": text(0), "direction": text(1), "outcome": text(2),
        "caller_name": text(3), "caller_number": text(4),
        "duration_seconds": row.try_get::<i64, _>(5).unwrap(),
        "report": text(6),
        "call_ended_ok": if pg { i64::from(row.try_get::<i32, _>(7).unwrap()) } else { row.try_get::<i64, _>(7).unwrap() },
    })
}

fn connect_url(store: &Store) -> String {
    let shown = store.shown();
    match shown.strip_prefix("sqlite:") {
        Some(path) => format!("sqlite://{path}"),
        None => shown.to_string(),
    }
}

#[test]
fn cursors_only_move_forward_and_travel_with_the_report() {
    on_both(|store| async move {
        let now = at("2026-11-20T11:00:00Z");
        let later = at("2026-11-20T10:30:00Z");
        store.save_cursors(&["a", "b"], later, now).await.unwrap();
        let earlier = at("2026-11-20T10:00:00Z");
        store.save_cursors(&["a"], earlier, now).await.unwrap();
        let report = report("id-c", "2026-11-20T10:45:00Z");
        let cursor = Some(("b", at("2026-11-20T10:45:00Z")));
        store
            .store_report(
                &cer::report::Report::of_value(&report).unwrap(),
                cursor,
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        let cursors = store.cursors().await.unwrap();
        assert_eq!(cursors["a"], later);
        assert_eq!(cursors["b"], at("2026-11-20T10:45:00Z"));
        let recent = store.ended_since(at("2026-11-20T10:40:00Z")).await.unwrap();
        assert_eq!(
            recent,
            vec![("id-c".to_string(), at("2026-11-20T10:45:00Z"))]
        );
        assert!(
            store
                .ended_since(at("2026-11-20T10:46:00Z"))
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn the_outbox_hands_out_oldest_first_once_and_keeps_failures() {
    on_both(|store| async move {
        let targets = targets(&["http://a/hook", "http://b/hook"]);
        let queue = Queue::NONE;
        let a = targets[0].key();
        let t0 = at("2026-11-20T12:00:00Z");
        store
            .register_targets(&targets, Duration::from_secs(60), t0)
            .await
            .unwrap();
        for (i, id) in ["old", "mid", "new"].iter().enumerate() {
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
        // A report stored again queues nothing more.
        let again = report("old", "2026-11-20T11:59:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&again).unwrap(),
                None,
                &queue,
                t0,
            )
            .await
            .unwrap();
        assert_eq!(store.pending_count().await.unwrap(), 6);

        let now = t0 + SignedDuration::from_secs(10);
        let lease = Duration::from_secs(30);
        let claimed = store.claim_due(a, now, lease, 2).await.unwrap();
        let ids: Vec<&str> = claimed.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["old", "mid"]);
        assert_eq!(
            claimed[0].body,
            again.to_string(),
            "the body is the report as stored"
        );
        // Leased: a second claimer (another listener) gets only what is left.
        let rest = store.claim_due(a, now, lease, 10).await.unwrap();
        assert_eq!(
            rest.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["new"]
        );

        // "old" keeps failing: it waits, and never holds "new" back.
        let retry_at = now + SignedDuration::from_secs(5);
        let error = "500 Internal Server Error".to_string();
        store
            .settle(
                &claimed[0],
                &Settled::Retry {
                    at: retry_at,
                    error,
                },
            )
            .await
            .unwrap();
        store
            .settle(&claimed[1], &Settled::Delivered)
            .await
            .unwrap();
        store
            .settle(
                &rest[0],
                &Settled::Failed {
                    error: "refused".into(),
                },
            )
            .await
            .unwrap();
        let due = store.claim_due(a, now, lease, 10).await.unwrap();
        assert!(due.is_empty(), "nothing is due before the retry time");
        let due = store.claim_due(a, retry_at, lease, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 1);

        let listed = store.list_deliveries(true, retry_at).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].conversation_space_id, "new");
        assert_eq!(listed[0].last_error.as_deref(), Some("refused"));
        assert_eq!(
            store.list_deliveries(false, retry_at).await.unwrap().len(),
            5
        );
        assert_eq!(
            store
                .retry_failed(retry_at, Duration::from_secs(60))
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .list_deliveries(true, retry_at)
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn retention_keeps_reports_with_a_pending_delivery() {
    on_both(|store| async move {
        let targets = targets(&["http://a/hook"]);
        let now = at("2026-11-20T12:00:00Z");
        let old = report("old", "2026-08-01T10:00:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&old).unwrap(),
                None,
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        // Registered after "old" was stored: only what is stored from now on is queued.
        store
            .register_targets(&targets, Duration::from_secs(60), now)
            .await
            .unwrap();
        let queue = Queue::NONE;
        let pending = report("pending", "2026-08-01T10:00:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&pending).unwrap(),
                None,
                &queue,
                now,
            )
            .await
            .unwrap();
        let recent = report("recent", "2026-11-19T10:00:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&recent).unwrap(),
                None,
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        let gone = store
            .forget_before(at("2026-08-20T00:00:00Z"), Duration::ZERO, now)
            .await
            .unwrap();
        assert_eq!(gone, 1);
        assert!(!store.has_report("old").await.unwrap());
        assert!(store.has_report("pending").await.unwrap());
        assert!(store.has_report("recent").await.unwrap());
    });
}

#[test]
fn two_processes_opening_a_new_store_together_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut locations = vec![StoreLocation::Sqlite(dir.path().join("cer.db"))];
    locations.extend(postgres::fresh_database().map(|u| StoreLocation::parse(&u).unwrap()));
    for location in locations {
        rt.block_on(async {
            let (a, b) = tokio::join!(Store::open(&location), Store::open(&location));
            let (a, b) = (a.unwrap(), b.unwrap());
            a.ping().await.unwrap();
            b.ping().await.unwrap();
        });
    }
}

// Regression: one opener in about sixty failed with "database is locked" (SQLite refuses a
// reader's upgrade to writer at once) or a broken unique migration version, and the single
// retry did not always save it. Forty new files, three openers each, all must succeed.
#[test]
fn three_openers_racing_on_new_sqlite_files_all_succeed() {
    let rt = runtime();
    for round in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Sqlite(dir.path().join("cer.db"));
        rt.block_on(async {
            let opened = tokio::join!(
                Store::open(&location),
                Store::open(&location),
                Store::open(&location)
            );
            for store in [opened.0, opened.1, opened.2] {
                if let Err(err) = store {
                    panic!("round {round}: {err}");
                }
            }
        });
    }
}

#[cfg(unix)]
#[test]
fn the_sqlite_file_is_private_and_its_folder_created() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/cer.db");
    runtime().block_on(async {
        Store::open(&StoreLocation::Sqlite(path.clone()))
            .await
            .unwrap();
    });
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn an_unreachable_store_says_which_and_hides_the_password() {
    let port = super::harness::free_port();
    let url = format!("postgres://cer:hunter2@127.0.0.1:{port}/cer");
    let err = runtime().block_on(async {
        Store::open(&StoreLocation::parse(&url).unwrap())
            .await
            .unwrap_err()
    });
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A store an earlier version wrote holds the words of the earlier outcome rule: the next
/// start recomputes them once (a step migration 0004 records), by "was a person reached".
#[test]
fn outcomes_an_earlier_version_stored_are_recomputed_once_by_the_new_rule() {
    on_both(|store| async move {
        let text = include_str!("../fixtures/spiritai-report_answered_then_voicemail.json");
        let report = cer::report::Report::parse(text).unwrap();
        let now = at("2026-11-20T10:06:00Z");
        store
            .store_report(&report, None, &Queue::NONE, now)
            .await
            .unwrap();
        let pool = sqlx::AnyPool::connect(&connect_url(&store)).await.unwrap();
        let outcome = || async {
            let sql = "SELECT outcome FROM cer_reports";
            let row = sqlx::query(sql).fetch_one(&pool).await.unwrap();
            row.try_get::<String, _>(0).unwrap()
        };
        assert_eq!(outcome().await, "answered");
        // As the earlier version left it: its word, and no record of the step.
        for sql in [
            "UPDATE cer_reports SET outcome = 'voicemail'",
            "DELETE FROM cer_steps",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        let location = StoreLocation::parse(store.shown()).unwrap();
        let (one, two) = tokio::join!(Store::open(&location), Store::open(&location));
        let (_one, _two) = (one.unwrap(), two.unwrap());
        assert_eq!(outcome().await, "answered", "recomputed at the next start");
        sqlx::query("UPDATE cer_reports SET outcome = 'voicemail'")
            .execute(&pool)
            .await
            .unwrap();
        let _again = Store::open(&location).await.unwrap();
        assert_eq!(outcome().await, "voicemail", "once: the step is recorded");
    });
}

/// The archive files a claimed object under its call's day, read from the row's columns (not
/// the report's text): the end, else the start, to the microsecond on both backends.
#[test]
fn a_stored_calls_time_is_read_from_its_columns() {
    on_both(|store| async move {
        let now = at("2026-11-20T10:06:00Z");
        let ended = report("id-t", "2026-11-20T10:05:00.5Z");
        let mut unended = report("id-u", "2026-11-20T10:05:00Z");
        unended.as_object_mut().unwrap().remove("callEnded");
        for report in [&ended, &unended] {
            let report = cer::report::Report::of_value(report).unwrap();
            store
                .store_report(&report, None, &Queue::NONE, now)
                .await
                .unwrap();
        }
        let time = |id: &'static str| store.call_time(id);
        assert_eq!(
            time("id-t").await.unwrap(),
            Some(Some(at("2026-11-20T10:05:00.5Z")))
        );
        assert_eq!(
            time("id-u").await.unwrap(),
            Some(Some(at("2026-11-20T10:00:00Z")))
        );
        assert_eq!(time("id-none").await.unwrap(), None);
    });
}
