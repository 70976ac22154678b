//! The store's side of post-call analysis and of the outbox hardening, run on SQLite and on
//! a real PostgreSQL 15: revisions, the re-fetch schedule, superseded deliveries, leases that
//! only their holder settles, retention's floor, orphaned targets and reports with a NUL.

use std::time::Duration;

use cer::store::outbox::{Queue, Settled};
use cer::store::refetch::{RefetchCounts, RefetchDone};
use cer::store::{Revised, Store, StoreLocation, Stored};
use jiff::SignedDuration;
use serde_json::{Value, json};

use super::postgres;
use super::store::{at, report, runtime, targets};

/// Runs `suite` on a SQLite file, then on PostgreSQL; it gets two handles on the one store,
/// as two listeners would have.
fn on_both<F, Fut>(suite: F)
where
    F: Fn(Store, Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut locations = vec![StoreLocation::Sqlite(dir.path().join("cer.db"))];
    locations.extend(postgres::fresh_database().map(|u| StoreLocation::parse(&u).unwrap()));
    for location in locations {
        rt.block_on(async {
            let first = Store::open(&location).await.unwrap();
            let second = Store::open(&location).await.unwrap();
            suite(first, second).await;
        });
    }
}

/// Re-fetches due now and planned for later.
fn counts(due: i64, later: i64) -> RefetchCounts {
    RefetchCounts { due, later }
}

fn analysed(mut report: Value) -> Value {
    let map = report.as_object_mut().unwrap();
    map.insert("callReason".into(), json!("billing question"));
    map.insert("aiAnalysis".into(), json!({"sentiment": "POSITIVE"}));
    report
}

#[test]
fn a_changed_refetch_is_revision_2_with_revision_1_kept_exactly() {
    on_both(|store, _| async move {
        let now = at("2026-11-20T12:00:00Z");
        let first = report("r1", "2026-11-20T11:59:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&first).unwrap(),
                None,
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        let same = store
            .store_revision(
                cer::report::Report::of_value(&first).unwrap().id(),
                &cer::report::Report::of_value(&first).unwrap(),
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        assert_eq!(same, Revised::Unchanged, "an unchanged report adds nothing");
        assert_eq!(store.revisions("r1").await.unwrap().len(), 1);

        let later = now + SignedDuration::from_mins(2);
        let second = analysed(first.clone());
        let revised = store
            .store_revision(
                cer::report::Report::of_value(&second).unwrap().id(),
                &cer::report::Report::of_value(&second).unwrap(),
                &Queue::NONE,
                later,
            )
            .await
            .unwrap();
        assert_eq!(revised, Revised::New { revision: 2 });
        // What `listen --updates` names the changed fields from: on SQLite taken where the
        // text lies, on PostgreSQL from its exact text; the same either way.
        let fields = store.revision_fields("r1", 1).await.unwrap().unwrap();
        assert_eq!(fields, cer::report::FieldDigests::of(&first.to_string()));
        assert!(!fields.0.is_empty() && fields.0.iter().all(|(_, d)| d.is_some()));
        assert_eq!(store.revision_fields("r1", 3).await.unwrap(), None);
        let revisions = store.revisions("r1").await.unwrap();
        assert_eq!(revisions.len(), 2);
        assert_eq!(
            revisions[0].text,
            first.to_string(),
            "revision 1 stays as sent"
        );
        assert_eq!(revisions[1].text, second.to_string(), "in GoTo's key order");
        let newest = store.newest_revision("r1").await.unwrap().unwrap();
        assert_eq!((newest.number, newest.text), (2, second.to_string()));
        let unknown = store
            .store_revision(
                cer::report::Report::of_value(&report("nobody", "2026-11-20T11:59:00Z"))
                    .unwrap()
                    .id(),
                &cer::report::Report::of_value(&report("nobody", "2026-11-20T11:59:00Z")).unwrap(),
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        assert_eq!(unknown, Revised::NotStored);
    });
}

#[test]
fn two_listeners_storing_the_same_revision_make_one_row() {
    on_both(|one, two| async move {
        let now = at("2026-11-20T12:00:00Z");
        let first = report("race", "2026-11-20T11:59:00Z");
        one.store_report(
            &cer::report::Report::of_value(&first).unwrap(),
            None,
            &Queue::NONE,
            now,
        )
        .await
        .unwrap();
        let second = analysed(first);
        let second = cer::report::Report::of_value(&second).unwrap();
        let (a, b) = tokio::join!(
            one.store_revision(second.id(), &second, &Queue::NONE, now),
            two.store_revision(second.id(), &second, &Queue::NONE, now)
        );
        let mut results = [a.unwrap(), b.unwrap()];
        results.sort_by_key(|r| matches!(r, Revised::New { .. }));
        assert_eq!(results[0], Revised::Unchanged, "{results:?}");
        assert!(matches!(results[1], Revised::New { revision: 2, .. }));
        assert_eq!(one.revisions("race").await.unwrap().len(), 2);
    });
}

#[test]
fn two_listeners_storing_different_revisions_at_once_keep_both_in_order() {
    on_both(|one, two| async move {
        let now = at("2026-11-20T12:00:00Z");
        let first = report("race2", "2026-11-20T11:59:00Z");
        let stored = cer::report::Report::of_value(&first).unwrap();
        one.store_report(&stored, None, &Queue::NONE, now)
            .await
            .unwrap();
        // Each listener re-fetched at its own moment and GoTo had changed the report between.
        let analysed_only = analysed(first.clone());
        let mut transcribed = analysed(first);
        transcribed["transcriptEnabled"] = json!(true);
        let (a, b) = (
            cer::report::Report::of_value(&analysed_only).unwrap(),
            cer::report::Report::of_value(&transcribed).unwrap(),
        );
        let (from_one, from_two) = tokio::join!(
            one.store_revision(a.id(), &a, &Queue::NONE, now),
            two.store_revision(b.id(), &b, &Queue::NONE, now)
        );
        let (from_one, from_two) = (from_one.unwrap(), from_two.unwrap());
        let mut numbers = [from_one.clone(), from_two.clone()].map(|revised| match revised {
            Revised::New { revision } => revision,
            other => panic!("each is a new revision: {other:?}"),
        });
        numbers.sort_unstable();
        assert_eq!(numbers, [2, 3], "one number each, none twice");
        let revisions = one.revisions("race2").await.unwrap();
        let listed: Vec<i64> = revisions.iter().map(|r| r.number).collect();
        assert_eq!(listed, [1, 2, 3]);
        // Whichever came second is the newest, and each revision is the text its listener sent.
        let numbers_of = |revised: &Revised| match revised {
            Revised::New { revision } => *revision,
            _ => unreachable!(),
        };
        let text_of = |revised: &Revised| {
            let index = usize::try_from(numbers_of(revised) - 1).unwrap();
            revisions[index].text.clone()
        };
        assert_eq!(text_of(&from_one), analysed_only.to_string());
        assert_eq!(text_of(&from_two), transcribed.to_string());
        // The newest is the text of whichever listener's revision is 3.
        let third = if numbers_of(&from_one) == 3 {
            &analysed_only
        } else {
            &transcribed
        };
        let newest = two.newest_revision("race2").await.unwrap().unwrap();
        assert_eq!((newest.number, newest.text), (3, third.to_string()));
    });
}

#[test]
fn a_newer_revision_supersedes_the_pending_older_one_and_carries_its_number() {
    on_both(|store, _| async move {
        let targets = targets(&["http://127.0.0.1:9/hook"]);
        let key = targets[0].key().to_string();
        let queue = Queue::NONE;
        let now = at("2026-11-20T12:00:00Z");
        let forward_for = Duration::from_secs(600);
        store
            .register_targets(&targets, forward_for, now)
            .await
            .unwrap();
        let first = report("sup", "2026-11-20T11:59:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&first).unwrap(),
                None,
                &queue,
                now,
            )
            .await
            .unwrap();
        let second = analysed(first);
        store
            .store_revision(
                cer::report::Report::of_value(&second).unwrap().id(),
                &cer::report::Report::of_value(&second).unwrap(),
                &queue,
                now,
            )
            .await
            .unwrap();
        let listed = store.list_deliveries(false, now).await.unwrap();
        let states: Vec<(i64, &str)> = listed
            .iter()
            .map(|row| (row.revision, row.state.as_str()))
            .collect();
        assert_eq!(states, [(1, "superseded"), (2, "pending")]);
        assert!(listed.iter().all(|row| row.target == targets[0].shown()));
        let claimed = store
            .claim_due(&key, now, Duration::from_secs(30), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].webhook_id(), "sup:2");
        assert_eq!(claimed[0].body, second.to_string());
    });
}

#[test]
fn only_the_lease_holder_settles_a_delivery() {
    on_both(|one, two| async move {
        let targets = targets(&["http://127.0.0.1:9/hook"]);
        let key = targets[0].key().to_string();
        let queue = Queue::NONE;
        let now = at("2026-11-20T12:00:00Z");
        let lease = Duration::from_secs(10);
        let forward_for = Duration::from_secs(600);
        one.register_targets(&targets, forward_for, now)
            .await
            .unwrap();
        one.store_report(
            &cer::report::Report::of_value(&report("lease", "2026-11-20T11:59:00Z")).unwrap(),
            None,
            &queue,
            now,
        )
        .await
        .unwrap();
        let stale = one.claim_due(&key, now, lease, 1).await.unwrap();
        // The first listener's lease runs out; the second one takes the delivery.
        let later = now + SignedDuration::from_secs(20);
        let current = two.claim_due(&key, later, lease, 1).await.unwrap();
        assert_eq!(current.len(), 1);
        let failed = Settled::Failed {
            error: "late".into(),
        };
        one.settle(&stale[0], &failed).await.unwrap();
        let listed = one.list_deliveries(false, later).await.unwrap();
        assert_eq!(
            listed[0].state.as_str(),
            "pending",
            "the former holder changed nothing"
        );
        assert_eq!(listed[0].attempts, 0);
        assert!(
            one.claim_due(&key, later, lease, 1)
                .await
                .unwrap()
                .is_empty(),
            "the second listener's lease still holds"
        );
        two.settle(&current[0], &Settled::Delivered).await.unwrap();
        assert!(one.list_deliveries(false, later).await.unwrap().is_empty());
    });
}

#[test]
fn refetch_points_are_planned_ahead_claimed_once_and_retried_once() {
    on_both(|one, two| async move {
        let points = [Duration::from_secs(120), Duration::from_secs(900)];
        let queue = Queue {
            refetch_after: &points,
        };
        let ended = at("2026-11-20T12:00:00Z");
        let now = ended + SignedDuration::from_secs(60);
        let fresh = report("fresh", "2026-11-20T12:00:00Z");
        one.store_report(
            &cer::report::Report::of_value(&fresh).unwrap(),
            None,
            &queue,
            now,
        )
        .await
        .unwrap();
        // A call stored 10 minutes after it ended: its 2-minute point has passed already.
        let late = report("late", "2026-11-20T11:50:00Z");
        one.store_report(
            &cer::report::Report::of_value(&late).unwrap(),
            None,
            &queue,
            now,
        )
        .await
        .unwrap();
        assert_eq!(one.refetches_due(now).await.unwrap(), counts(0, 3));

        let lease = Duration::from_secs(30);
        let due_at = ended + SignedDuration::from_secs(121);
        let claimed = one.claim_refetches(due_at, lease, 10).await.unwrap();
        assert_eq!(
            claimed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["fresh"]
        );
        assert!(
            two.claim_refetches(due_at, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let retry = Duration::from_secs(60);
        one.settle_refetch(&claimed[0], RefetchDone::Failed, due_at, retry)
            .await
            .unwrap();
        let again_at = due_at + SignedDuration::from_secs(61);
        let again = two.claim_refetches(again_at, lease, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        two.settle_refetch(&again[0], RefetchDone::Failed, again_at, retry)
            .await
            .unwrap();
        assert_eq!(
            one.refetches_due(again_at).await.unwrap(),
            counts(0, 2),
            "given up"
        );

        // A listener that was down past both of a report's points makes one request.
        let much_later = ended + SignedDuration::from_hours(2);
        let overdue = one.claim_refetches(much_later, lease, 10).await.unwrap();
        let mut ids: Vec<&str> = overdue.iter().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["fresh", "late"]);
        for due in &overdue {
            one.settle_refetch(due, RefetchDone::Done, much_later, retry)
                .await
                .unwrap();
        }
        assert_eq!(one.refetches_due(much_later).await.unwrap(), counts(0, 0));
    });
}

#[test]
fn a_report_with_a_nul_character_is_stored_and_given_back_exactly() {
    on_both(|store, _| async move {
        let targets = targets(&["http://127.0.0.1:9/hook"]);
        let queue = Queue::NONE;
        let forward_for = Duration::from_secs(600);
        let registered = at("2026-11-20T12:00:00Z");
        store
            .register_targets(&targets, forward_for, registered)
            .await
            .unwrap();
        let mut nul = report("nul", "2026-11-20T11:59:00Z");
        nul["participants"][0]["type"]["caller"]["name"] = json!("Ad\u{0}a");
        nul["k\u{0}"] = json!(["\u{0}"]);
        let now = at("2026-11-20T12:00:00Z");
        let stored = store
            .store_report(
                &cer::report::Report::of_value(&nul).unwrap(),
                None,
                &queue,
                now,
            )
            .await
            .unwrap();
        assert_eq!(stored, Stored::New);
        let text = store.newest_revision("nul").await.unwrap().unwrap().text;
        assert_eq!(text, nul.to_string(), "the NUL comes back as GoTo sent it");
        let claimed = store
            .claim_due(targets[0].key(), now, Duration::from_secs(30), 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].body, nul.to_string());
    });
}

#[test]
fn retention_never_deletes_what_a_backfill_from_the_cursor_would_bring_back() {
    on_both(|store, _| async move {
        let now = at("2026-11-20T12:00:00Z");
        let recent = report("recent", "2026-11-20T11:00:00Z");
        store
            .store_report(
                &cer::report::Report::of_value(&recent).unwrap(),
                Some(("acc-1", now)),
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        let margin = Duration::from_secs(4 * 3600 + 300);
        // `--keep 1s` asks for everything older than a second ago: the floor says no.
        let gone = store
            .forget_before(now - SignedDuration::from_secs(1), margin, now)
            .await
            .unwrap();
        assert_eq!(gone, 0);
        assert!(store.has_report("recent").await.unwrap());
        let much_later = now + SignedDuration::from_hours(10);
        store
            .save_cursors(&["acc-1"], much_later, much_later)
            .await
            .unwrap();
        let gone = store
            .forget_before(
                much_later - SignedDuration::from_secs(1),
                margin,
                much_later,
            )
            .await
            .unwrap();
        assert_eq!(gone, 1, "behind the floor, --keep applies");
        assert!(store.revisions("recent").await.unwrap().is_empty());
    });
}

/// A target no running listener names keeps its queue, shown as orphaned, until its
/// --forward-for runs out; then it is failed and goes with retention like any failure.
#[test]
fn orphaned_deliveries_wait_until_forward_for_runs_out_then_go_with_retention() {
    on_both(|store, other| async move {
        let old_target = targets(&["http://127.0.0.1:9/old?token=SECRET"]);
        let now = at("2026-11-20T12:00:00Z");
        let forward_for = Duration::from_secs(600);
        store
            .register_targets(&old_target, forward_for, now)
            .await
            .unwrap();
        for id in ["failed", "orphan"] {
            let old = report(id, "2026-08-01T10:00:00Z");
            store
                .store_report(
                    &cer::report::Report::of_value(&old).unwrap(),
                    None,
                    &Queue::NONE,
                    now,
                )
                .await
                .unwrap();
        }
        let lease = Duration::from_secs(30);
        let claimed = store
            .claim_due(old_target[0].key(), now, lease, 1)
            .await
            .unwrap();
        let failed = Settled::Failed {
            error: "gone".into(),
        };
        store.settle(&claimed[0], &failed).await.unwrap();
        let states = |listed: Vec<cer::store::outbox::Listed>| -> Vec<String> {
            listed.into_iter().map(|r| r.state.to_string()).collect()
        };
        let listed = store.list_deliveries(false, now).await.unwrap();
        assert_eq!(states(listed), ["failed", "pending"], "a listener names it");
        // The listener stops: nobody forwards to the target any more.
        store.unserve_targets().await.unwrap();
        let listed = other.list_deliveries(false, now).await.unwrap();
        assert!(listed.iter().all(|r| !r.target.contains("SECRET")));
        assert_eq!(states(listed), ["failed", "orphaned"]);
        let gone = store
            .forget_before(at("2026-09-01T00:00:00Z"), Duration::ZERO, now)
            .await
            .unwrap();
        assert_eq!(gone, 1, "the orphaned delivery keeps its report");
        assert_eq!(store.expire_orphans(now).await.unwrap(), 0);
        let later = now + SignedDuration::from_secs(601);
        assert_eq!(store.expire_orphans(later).await.unwrap(), 1);
        let listed = store.list_deliveries(false, later).await.unwrap();
        assert_eq!(states(listed), ["failed"]);
        let gone = store
            .forget_before(at("2026-09-01T00:00:00Z"), Duration::ZERO, later)
            .await
            .unwrap();
        assert_eq!(gone, 1, "then it goes with retention");
        assert!(
            store
                .list_deliveries(false, later)
                .await
                .unwrap()
                .is_empty()
        );
    });
}

// Regression (issue 26 finding 11): GoTo answering a re-fetch with the call's ID in another
// letter case looked for a row under that spelling, found none, and counted the re-fetch as
// unchanged. The revision is of the call as stored, and the new spelling is a change.
#[test]
fn a_refetch_answering_the_id_in_capitals_is_a_new_revision_of_the_stored_call() {
    on_both(|store, _| async move {
        let now = at("2026-11-20T12:00:00Z");
        let id = "b6ad7073-be3a-31d5-a956-777109126542";
        let first = report(id, "2026-11-20T11:59:00Z");
        let typed = |value: &Value| cer::report::Report::of_value(value).unwrap();
        store
            .store_report(&typed(&first), None, &Queue::NONE, now)
            .await
            .unwrap();
        let capitals = report(&id.to_uppercase(), "2026-11-20T11:59:00Z");
        let revised = store
            .store_revision(id, &typed(&capitals), &Queue::NONE, now)
            .await
            .unwrap();
        assert!(
            matches!(revised, Revised::New { revision: 2, .. }),
            "{revised:?}"
        );
        let revisions = store.revisions(id).await.unwrap();
        assert_eq!(
            revisions[1].text,
            capitals.to_string(),
            "GoTo's text, as sent"
        );
        let again = store
            .store_revision(id, &typed(&capitals), &Queue::NONE, now)
            .await
            .unwrap();
        assert_eq!(again, Revised::Unchanged);
    });
}
