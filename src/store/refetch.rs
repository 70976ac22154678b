//! The re-fetch schedule (`listen --refetch`): one row per report and point in time after its
//! call ended at which GoTo is asked for the report again, because post-call analysis lands
//! in it later. Kept in the store, so it survives restarts and several listeners on one store
//! share it: a point is claimed with a lease, done once, then removed.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sqlx::{Any, Row, Transaction};

use super::row::ReportRow;
use super::{Backend, InStore, Store, StoreError};

/// A re-fetch point claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRefetch {
    /// The call whose report is fetched again.
    pub id: String,
    /// Which point of the schedule (0 for the first).
    pub point: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The lease this attempt holds; only its holder settles it.
    pub lease_ms: i64,
}

/// What a re-fetch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefetchDone {
    /// Fetched and stored (changed or not): the point goes.
    Done,
    /// GoTo did not answer usefully: tried once more later, then given up.
    Failed,
}

/// Writes the points of `after` still ahead of `now` for a newly stored report. Points that
/// already passed are left out: the report just fetched is at least as new as they would be.
pub(super) async fn plan(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    row: &ReportRow,
    after: &[Duration],
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(ended) = row
        .call_ended
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
    else {
        return Ok(());
    };
    for (point, wait) in after.iter().enumerate() {
        let Some(due) = SignedDuration::try_from(*wait)
            .ok()
            .and_then(|wait| ended.checked_add(wait).ok())
        else {
            continue;
        };
        if due <= now {
            continue;
        }
        sqlx::query(
            "INSERT INTO cer_refetches (conversation_space_id, point, due_ms, attempts, lease_ms) \
             VALUES ($1, $2, $3, 0, 0) ON CONFLICT DO NOTHING",
        )
        .bind(&row.conversation_space_id)
        .bind(i64::try_from(point).unwrap_or(i64::MAX))
        .bind(due.as_millisecond())
        .execute(&mut **tx)
        .await
        .in_store(store)?;
    }
    Ok(())
}

impl Store {
    /// Claims up to `limit` due re-fetches, the earliest first, each for `lease`. Of several
    /// points of one report that are all due (a listener that was down), only the last one is
    /// worth a request: the earlier ones are dropped.
    pub async fn claim_refetches(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<DueRefetch>, StoreError> {
        let now_ms = now.as_millisecond();
        // A read first: the schedule is looked at every second, and most looks find nothing,
        // which must cost no write (no WAL growth, no fsync, no lock taken).
        let due: i64 =
            sqlx::query("SELECT COUNT(*) FROM cer_refetches WHERE due_ms <= $1 AND lease_ms <= $1")
                .bind(now_ms)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get(0))
                .in_store(self)?;
        if due == 0 {
            return Ok(Vec::new());
        }
        self.drop_overtaken_points(now_ms).await?;
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let lease_ms = now_ms.saturating_add(millis(lease));
        let sql = format!(
            "UPDATE cer_refetches SET lease_ms = $1 WHERE (conversation_space_id, point) IN \
             (SELECT conversation_space_id, point FROM cer_refetches \
             WHERE due_ms <= $2 AND lease_ms <= $2 ORDER BY due_ms LIMIT $3 {lock}) \
             RETURNING conversation_space_id, point, attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        self.due_points(&rows, lease_ms)
    }

    /// Claims up to `limit` due re-fetches of the calls created in `[from, to)` (a later
    /// `sync` of that range), each for `lease`, with the same leases as a listener's claims:
    /// a sync and a listener on one store never do one point twice.
    pub async fn claim_refetches_between(
        &self,
        (from, to): (Timestamp, Timestamp),
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<DueRefetch>, StoreError> {
        let now_ms = now.as_millisecond();
        self.drop_overtaken_points(now_ms).await?;
        let (range, lock) = match self.backend {
            Backend::Sqlite => ("r.call_created >= $4 AND r.call_created < $5", ""),
            Backend::Postgres => (
                "r.call_created >= $4::timestamptz AND r.call_created < $5::timestamptz",
                "FOR UPDATE OF f SKIP LOCKED",
            ),
        };
        let lease_ms = now_ms.saturating_add(millis(lease));
        let sql = format!(
            "UPDATE cer_refetches SET lease_ms = $1 WHERE (conversation_space_id, point) IN \
             (SELECT f.conversation_space_id, f.point FROM cer_refetches f JOIN cer_reports r \
             ON r.conversation_space_id = f.conversation_space_id \
             WHERE f.due_ms <= $2 AND f.lease_ms <= $2 AND {range} \
             ORDER BY f.due_ms LIMIT $3 {lock}) \
             RETURNING conversation_space_id, point, attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(lease_ms)
            .bind(now_ms)
            .bind(limit)
            .bind(super::row::utc_text(from))
            .bind(super::row::utc_text(to))
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        self.due_points(&rows, lease_ms)
    }

    /// The points a claim's `RETURNING conversation_space_id, point, attempts` names.
    fn due_points(
        &self,
        rows: &[sqlx::any::AnyRow],
        lease_ms: i64,
    ) -> Result<Vec<DueRefetch>, StoreError> {
        rows.iter()
            .map(|row| {
                Ok(DueRefetch {
                    id: row.try_get(0)?,
                    point: row.try_get(1)?,
                    attempts: row.try_get(2)?,
                    lease_ms,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .in_store(self)
    }

    /// Of several points of one report that are all due, only the last is worth a request.
    async fn drop_overtaken_points(&self, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM cer_refetches WHERE due_ms <= $1 AND lease_ms <= $1 AND EXISTS \
             (SELECT 1 FROM cer_refetches later WHERE later.conversation_space_id = \
             cer_refetches.conversation_space_id AND later.point > cer_refetches.point \
             AND later.due_ms <= $1)",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map(drop)
        .in_store(self)
    }

    /// Records a re-fetch: done, the point goes; failed, it is tried once more `retry_after`
    /// later (a point due meanwhile replaces it), then given up. Only the lease's holder
    /// settles it (a listener whose lease ran out changes nothing).
    pub async fn settle_refetch(
        &self,
        due: &DueRefetch,
        done: RefetchDone,
        now: Timestamp,
        retry_after: Duration,
    ) -> Result<(), StoreError> {
        let give_up = done == RefetchDone::Done || due.attempts >= 1;
        let query = if give_up {
            sqlx::query(
                "DELETE FROM cer_refetches WHERE conversation_space_id = $1 AND point = $2 \
                 AND lease_ms = $3",
            )
            .bind(&due.id)
            .bind(due.point)
            .bind(due.lease_ms)
        } else {
            let retry_at = now.as_millisecond().saturating_add(millis(retry_after));
            sqlx::query(
                "UPDATE cer_refetches SET attempts = attempts + 1, lease_ms = 0, due_ms = $4 \
                 WHERE conversation_space_id = $1 AND point = $2 AND lease_ms = $3",
            )
            .bind(&due.id)
            .bind(due.point)
            .bind(due.lease_ms)
            .bind(retry_at)
        };
        query.execute(&self.pool).await.map(drop).in_store(self)
    }

    /// How many re-fetches are due now (`cer_refetches_due`), and how many later.
    pub async fn refetches_due(&self, now: Timestamp) -> Result<RefetchCounts, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN due_ms <= $1 THEN 1 ELSE 0 END), 0), COUNT(*) \
             FROM cer_refetches",
        )
        .bind(now.as_millisecond())
        .fetch_one(&self.pool)
        .await
        .in_store(self)?;
        RefetchCounts::of_row(&row).in_store(self)
    }

    /// Re-fetches of the calls created in `[from, to)` (`sync --check`): how many are due at
    /// `now` (a later `sync` of the range does them), and how many are planned later.
    pub async fn refetches_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<RefetchCounts, StoreError> {
        let created = match self.backend {
            Backend::Sqlite => "r.call_created >= $1 AND r.call_created < $2",
            Backend::Postgres => {
                "r.call_created >= $1::timestamptz AND r.call_created < $2::timestamptz"
            }
        };
        let sql = format!(
            "SELECT COALESCE(SUM(CASE WHEN f.due_ms <= $3 THEN 1 ELSE 0 END), 0), COUNT(*) \
             FROM cer_refetches f JOIN cer_reports r \
             ON r.conversation_space_id = f.conversation_space_id WHERE {created}"
        );
        let row = sqlx::query(&sql)
            .bind(super::row::utc_text(from))
            .bind(super::row::utc_text(to))
            .bind(now.as_millisecond())
            .fetch_one(&self.pool)
            .await
            .in_store(self)?;
        RefetchCounts::of_row(&row).in_store(self)
    }
}

/// Planned re-fetches, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefetchCounts {
    /// Due now (a running listener, or a later `sync` of the range, does them).
    pub due: i64,
    /// Planned for later.
    pub later: i64,
}

impl RefetchCounts {
    /// From a row of two counts: those due, and all those planned.
    fn of_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let due: i64 = row.try_get(0)?;
        let planned: i64 = row.try_get(1)?;
        Ok(Self {
            due,
            later: planned - due,
        })
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;
    use crate::store::StoreLocation;
    use crate::store::outbox::Queue;
    use crate::target::ForwardTarget;

    const ID: &str = "29a1c77a-e52a-3764-8606-8b02b1277be8";

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn report(reason: Option<&str>) -> serde_json::Value {
        let mut report = serde_json::json!({
            "conversationSpaceId": ID,
            "callCreated": "2026-01-01T10:00:00Z",
            "callEnded": "2026-01-01T10:05:00Z",
            "callStates": [],
        });
        if let Some(reason) = reason {
            report["callReason"] = reason.into();
        }
        report
    }

    /// A store holding the call, with one re-fetch point 2 minutes after it ended.
    async fn store_with_a_point(targets: &[ForwardTarget]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Sqlite(dir.path().join("cer.db"));
        let store = Store::open(&location).await.unwrap();
        let points = [Duration::from_secs(120)];
        let forward_for = Duration::from_secs(3600);
        let registered = at("2026-01-01T10:05:00Z");
        store
            .register_targets(targets, forward_for, registered)
            .await
            .unwrap();
        let queue = Queue {
            refetch_after: &points,
        };
        store
            .store_report(
                &Report::of_value(&report(None)).unwrap(),
                None,
                &queue,
                at("2026-01-01T10:05:01Z"),
            )
            .await
            .unwrap();
        (dir, store)
    }

    const RANGE: (&str, &str) = ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");

    fn range() -> (Timestamp, Timestamp) {
        (at(RANGE.0), at(RANGE.1))
    }

    /// A sync and a running listener on one store never do one point twice: a point the
    /// listener holds is not the sync's, and the other way round.
    #[tokio::test]
    async fn a_point_a_listener_holds_is_not_claimed_by_a_sync_nor_the_other_way() {
        let (_dir, store) = store_with_a_point(&[]).await;
        let now = at("2026-01-01T10:08:00Z");
        let lease = Duration::from_secs(60);
        let held = store.claim_refetches(now, lease, 8).await.unwrap();
        assert_eq!(held.len(), 1);
        assert!(
            store
                .claim_refetches_between(range(), now, lease, 8)
                .await
                .unwrap()
                .is_empty()
        );
        let later = at("2026-01-01T10:10:00Z");
        let synced = store
            .claim_refetches_between(range(), later, lease, 8)
            .await
            .unwrap();
        assert_eq!(synced.len(), 1, "the listener's lease ran out");
        assert!(
            store
                .claim_refetches(later, lease, 8)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_sync_claims_only_the_due_points_of_calls_of_its_range() {
        let (_dir, store) = store_with_a_point(&[]).await;
        let lease = Duration::from_secs(60);
        let early = at("2026-01-01T10:06:00Z");
        let none_due = store.claim_refetches_between(range(), early, lease, 8);
        assert!(none_due.await.unwrap().is_empty(), "not due yet");
        let now = at("2026-01-01T10:08:00Z");
        let other_day = (at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z"));
        let elsewhere = store.claim_refetches_between(other_day, now, lease, 8);
        assert!(elsewhere.await.unwrap().is_empty(), "another range");
        assert_eq!(
            store
                .refetches_between(range().0, range().1, now)
                .await
                .unwrap(),
            RefetchCounts { due: 1, later: 0 }
        );
        assert_eq!(
            store
                .refetches_between(range().0, range().1, early)
                .await
                .unwrap(),
            RefetchCounts { due: 0, later: 1 }
        );
    }

    /// A revision found by a process without targets (`sync`) still reaches the targets that
    /// had the call, as `ID:2`, and supersedes what of revision 1 still waited.
    #[tokio::test]
    async fn a_revision_a_sync_found_is_queued_for_the_targets_that_had_the_call() {
        let target = ForwardTarget::new(url::Url::parse("https://hooks.example/in").unwrap());
        let (_dir, store) = store_with_a_point(std::slice::from_ref(&target)).await;
        let now = at("2026-01-01T10:08:00Z");
        let revised = store
            .store_revision(
                ID,
                &Report::of_value(&report(Some("Billing"))).unwrap(),
                &Queue::NONE,
                now,
            )
            .await
            .unwrap();
        assert!(matches!(
            revised,
            crate::store::Revised::New { revision: 2, .. }
        ));
        let mut rows: Vec<(i64, &str)> = store
            .list_deliveries(false, now)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.revision, d.state.as_str()))
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, [(1, "superseded"), (2, "pending")]);
    }
}
