//! The re-fetch schedule (`listen --refetch`): one row per report and point in time after its
//! call ended at which GoTo is asked for the report again, because post-call analysis lands
//! in it later. Kept in the store, so it survives restarts and several listeners on one store
//! share it: a point is claimed with a lease, done once, then removed.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sqlx::{Any, Row, Transaction};

use super::row::ReportRow;
use super::{Backend, Store, StoreError};

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
        .map_err(|e| store.failed(e))?;
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
                .map_err(|e| self.failed(e))?;
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
            .map_err(|e| self.failed(e))?;
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
            .map_err(|e| self.failed(e))
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
        .map_err(|e| self.failed(e))
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
        query
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| self.failed(e))
    }

    /// How many re-fetches are due now (`cer_refetches_due`), and how many are planned at all.
    pub async fn refetches_due(&self, now: Timestamp) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN due_ms <= $1 THEN 1 ELSE 0 END), 0), COUNT(*) \
             FROM cer_refetches",
        )
        .bind(now.as_millisecond())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.failed(e))?;
        let due: i64 = row.try_get(0).map_err(|e| self.failed(e))?;
        let planned: i64 = row.try_get(1).map_err(|e| self.failed(e))?;
        Ok((due, planned))
    }

    /// Re-fetches still planned for calls created in `[from, to)` (`sync --check`).
    pub async fn refetches_planned_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<i64, StoreError> {
        let ended = match self.backend {
            Backend::Sqlite => "r.call_created >= $1 AND r.call_created < $2",
            Backend::Postgres => {
                "r.call_created >= $1::timestamptz AND r.call_created < $2::timestamptz"
            }
        };
        let sql = format!(
            "SELECT COUNT(*) FROM cer_refetches f JOIN cer_reports r \
             ON r.conversation_space_id = f.conversation_space_id WHERE {ended}"
        );
        sqlx::query(&sql)
            .bind(super::row::utc_text(from))
            .bind(super::row::utc_text(to))
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(|e| self.failed(e))
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
