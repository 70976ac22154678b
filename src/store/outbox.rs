//! The forwarding outbox: one row per report, revision and registered target, from the moment
//! the revision is stored until a 2xx answer (`delivered`), until `--forward-for` runs out
//! (`failed`), or until a newer revision replaces it (`superseded`); a pending row whose
//! target no running listener delivers to shows as `orphaned`. Rows hold no report body (it
//! is read from the revision at send time) and no target (a digest keys them; the register
//! of targets shows them); they go with their report's retention. Rows are claimed with a
//! lease that names its holder, so several listeners on one store never send a delivery at
//! the same time, and only the holder records the result (PostgreSQL adds
//! `FOR UPDATE SKIP LOCKED` so claimers do not wait).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::{Any, Row, Transaction};

use super::targets::{served, served_since};
use super::{Backend, InStore, Store, StoreError};

/// What else to do with a newly stored report: when to fetch it again for post-call
/// analysis. Its deliveries need nothing from the caller: every registered target gets one.
#[derive(Debug, Clone, Default)]
pub struct Queue<'a> {
    /// `--refetch`: when after the call's end the report is fetched again.
    pub refetch_after: &'a [Duration],
}

impl Queue<'_> {
    /// No re-fetches.
    pub const NONE: Queue<'static> = Queue { refetch_after: &[] };
}

/// Where a delivery stands. The first four are what `cer_outbox.state` holds, as the text of
/// [`DeliveryState::as_str`] (people read it with sqlite3 and psql; the statements here name
/// it literally); `Orphaned` is shown, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Due for an attempt, now or later.
    Pending,
    /// A 2xx answer came: the row stays, so the target is never sent it again.
    Delivered,
    /// `--forward-for` ran out; `cer deliveries --retry` queues it again.
    Failed,
    /// A newer revision of the report replaced it before it was delivered.
    Superseded,
    /// Pending, but no running listener delivers to its target.
    Orphaned,
}

impl DeliveryState {
    /// Every state, in the order `cer deliveries` counts them.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Delivered,
        Self::Failed,
        Self::Superseded,
        Self::Orphaned,
    ];

    /// The state as the store holds it and every output shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Orphaned => "orphaned",
        }
    }

    /// The state a stored or computed text names.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that a column's width applies (`{:<10}`).
        f.pad(self.as_str())
    }
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The report's `conversationSpaceId`.
    pub id: String,
    /// Which revision of the report this is (1 for the report as first stored).
    pub revision: i64,
    /// The target's outbox key ([`crate::target::ForwardTarget::key`]).
    pub target_key: String,
    /// The revision as GoTo sent it: the POST body.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// After this an attempt that fails marks the delivery failed (`--forward-for`).
    pub deadline: Timestamp,
    /// The lease this claim holds; only it settles the row.
    pub lease_ms: i64,
}

impl Claimed {
    /// `webhook-id`: the conversationSpaceId for revision 1, `ID:N` for a later revision, so
    /// a receiver that dedupes by it takes each revision once.
    pub fn webhook_id(&self) -> String {
        if self.revision <= 1 {
            self.id.clone()
        } else {
            format!("{}:{}", self.id, self.revision)
        }
    }
}

/// A row of `cer deliveries`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The target as every output shows it: `https://hooks.example.com/… [3f2a91]`.
    pub target: String,
    /// The report's call.
    pub conversation_space_id: String,
    /// The report's revision this delivery carries.
    pub revision: i64,
    /// Any state but `Delivered`, which the list leaves out.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: i64,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_try: Option<Timestamp>,
}

/// The deliveries of calls created in a range that still wait (`sync --check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Pending, to a target a running listener delivers to.
    pub pending: i64,
    /// Given up after `--forward-for`.
    pub failed: i64,
}

/// A claimed row as `RETURNING` gave it, with its creation time: the rows come back in no
/// order, and are sorted by it.
struct ClaimedRow {
    created_ms: i64,
    claimed: Claimed,
}

impl ClaimedRow {
    /// Oldest first, as the claim's `ORDER BY` chose them.
    fn order(&self) -> (i64, &str, i64) {
        (self.created_ms, &self.claimed.id, self.claimed.revision)
    }
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub enum Settled {
    /// A 2xx answer: the row is kept as `delivered`, so the target is never sent it again.
    Delivered,
    /// Try again at this time.
    Retry {
        /// When the next attempt is due.
        at: Timestamp,
        /// Why this one failed.
        error: String,
    },
    /// `--forward-for` has passed.
    Failed {
        /// Why the last attempt failed.
        error: String,
    },
}

/// Queues the report's newest revision for each registered target that has no row of it at
/// all: a new report, or one stored before the target was registered.
pub(super) async fn enqueue_missing(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cer_outbox (conversation_space_id, revision, target_key, state, attempts,
                                 created_ms, next_ms, lease_ms, deadline_ms)
         SELECT r.conversation_space_id, r.revision, t.target_key, 'pending', 0,
                $2, $2, 0, $2 + t.forward_for_ms
         FROM cer_reports r CROSS JOIN cer_targets t
         WHERE r.conversation_space_id = $1
           AND NOT EXISTS (SELECT 1 FROM cer_outbox o
                           WHERE o.conversation_space_id = $1
                             AND o.target_key = t.target_key)",
    )
    .bind(id)
    .bind(now.as_millisecond())
    .execute(&mut **tx)
    .await
    .map(drop)
    .in_store(store)
}

/// A new revision: what still waits of older ones is superseded, and the new one is queued
/// for every registered target, so a receiver never gets an older revision after a newer one.
pub(super) async fn supersede_and_enqueue(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    id: &str,
    revision: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cer_outbox SET state = 'superseded'
         WHERE conversation_space_id = $1 AND revision < $2
           AND state IN ('pending', 'failed')",
    )
    .bind(id)
    .bind(revision)
    .execute(&mut **tx)
    .await
    .in_store(store)?;
    // `WHERE true`: SQLite would read `ON CONFLICT` as a join's `ON` without it.
    sqlx::query(
        "INSERT INTO cer_outbox (conversation_space_id, revision, target_key, state, attempts,
                                 created_ms, next_ms, lease_ms, deadline_ms)
         SELECT $1, $2, t.target_key, 'pending', 0, $3, $3, 0, $3 + t.forward_for_ms
         FROM cer_targets t
         WHERE true
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(revision)
    .bind(now.as_millisecond())
    .execute(&mut **tx)
    .await
    .map(drop)
    .in_store(store)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Claims up to `limit` due deliveries to the target keyed `target_key`, oldest first,
    /// each for `lease`. A revision waits while an older one of the same call is still being
    /// sent to this target, so the two never cross on the way.
    pub async fn claim_due(
        &self,
        target_key: &str,
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let (lock, body) = match self.backend {
            Backend::Sqlite => ("", "v.report"),
            Backend::Postgres => ("FOR UPDATE SKIP LOCKED", "v.exact"),
        };
        let lease_ms = now.as_millisecond().saturating_add(millis(lease));
        let sql = format!(
            "UPDATE cer_outbox SET lease_ms = $1, holder = $5
             WHERE target_key = $2
               AND (conversation_space_id, revision) IN (
                   SELECT o.conversation_space_id, o.revision
                   FROM cer_outbox o
                   WHERE o.target_key = $2 AND o.state = 'pending'
                     AND o.next_ms <= $3 AND o.lease_ms <= $3
                     AND NOT EXISTS (
                         SELECT 1 FROM cer_outbox older
                         WHERE older.conversation_space_id = o.conversation_space_id
                           AND older.target_key = o.target_key
                           AND older.revision < o.revision
                           AND older.lease_ms > $3
                           AND older.state IN ('pending', 'superseded'))
                   ORDER BY o.created_ms, o.conversation_space_id, o.revision
                   LIMIT $4 {lock})
             RETURNING conversation_space_id, revision, attempts, deadline_ms, created_ms,
                       (SELECT {body} FROM cer_report_revisions v
                        WHERE v.conversation_space_id = cer_outbox.conversation_space_id
                          AND v.revision = cer_outbox.revision)"
        );
        let rows = sqlx::query(&sql)
            .bind(lease_ms)
            .bind(target_key)
            .bind(now.as_millisecond())
            .bind(limit)
            .bind(&self.holder)
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        let mut claimed = rows
            .iter()
            .map(|row| claimed_row(row, target_key, lease_ms))
            .collect::<Result<Vec<_>, _>>()
            .in_store(self)?;
        claimed.sort_by(|a, b| a.order().cmp(&b.order()));
        Ok(claimed.into_iter().map(|row| row.claimed).collect())
    }

    /// Records an attempt's result and releases the lease, if this process still holds it: a
    /// listener whose lease ran out while it sent (another one has the row now) changes
    /// nothing. A delivery superseded meanwhile stays superseded unless it was delivered.
    pub async fn settle(&self, delivery: &Claimed, settled: &Settled) -> Result<(), StoreError> {
        let (sql, next, error) = match settled {
            Settled::Delivered => (
                "UPDATE cer_outbox
                 SET state = 'delivered', attempts = attempts + 1, lease_ms = 0, last_error = NULL
                 WHERE conversation_space_id = $1 AND target_key = $2 AND revision = $3
                   AND holder = $4 AND lease_ms = $5",
                None,
                None,
            ),
            Settled::Retry { at, error } => (
                "UPDATE cer_outbox
                 SET attempts = attempts + 1, next_ms = $6, lease_ms = 0, last_error = $7
                 WHERE conversation_space_id = $1 AND target_key = $2 AND revision = $3
                   AND holder = $4 AND lease_ms = $5",
                Some(at.as_millisecond()),
                Some(error),
            ),
            Settled::Failed { error } => (
                "UPDATE cer_outbox
                 SET attempts = attempts + 1, lease_ms = 0, next_ms = $6, last_error = $7,
                     state = CASE WHEN state = 'pending' THEN 'failed' ELSE state END
                 WHERE conversation_space_id = $1 AND target_key = $2 AND revision = $3
                   AND holder = $4 AND lease_ms = $5",
                Some(0),
                Some(error),
            ),
        };
        let mut query = sqlx::query(sql)
            .bind(&delivery.id)
            .bind(&delivery.target_key)
            .bind(delivery.revision)
            .bind(&self.holder)
            .bind(delivery.lease_ms);
        if let (Some(next), Some(error)) = (next, error) {
            query = query.bind(next).bind(error.as_str());
        }
        query.execute(&self.pool).await.map(drop).in_store(self)
    }

    /// Hands claimed deliveries back unattempted: due again at once, for any listener.
    pub async fn release(&self, deliveries: &[Claimed]) -> Result<(), StoreError> {
        for delivery in deliveries {
            sqlx::query(
                "UPDATE cer_outbox SET lease_ms = 0
                 WHERE conversation_space_id = $1 AND target_key = $2 AND revision = $3
                   AND holder = $4 AND lease_ms = $5",
            )
            .bind(&delivery.id)
            .bind(&delivery.target_key)
            .bind(delivery.revision)
            .bind(&self.holder)
            .bind(delivery.lease_ms)
            .execute(&self.pool)
            .await
            .in_store(self)?;
        }
        Ok(())
    }

    /// The outbox for `cer deliveries`: every row not delivered (or only the failed ones),
    /// oldest first; a pending row whose target no listener delivers to at `now` is
    /// `orphaned`.
    pub async fn list_deliveries(
        &self,
        failed_only: bool,
        now: Timestamp,
    ) -> Result<Vec<Listed>, StoreError> {
        let filter = if failed_only {
            "o.state = 'failed'"
        } else {
            "o.state <> 'delivered'"
        };
        let sql = format!(
            "SELECT COALESCE(t.target, o.target_key), o.conversation_space_id, o.revision,
                    CASE WHEN o.state = 'pending' AND NOT {served} THEN 'orphaned'
                         ELSE o.state END,
                    o.attempts, o.last_error, o.next_ms
             FROM cer_outbox o
             LEFT JOIN cer_targets t ON t.target_key = o.target_key
             WHERE {filter}
             ORDER BY o.created_ms, o.conversation_space_id, o.revision, t.tag",
            served = served("o", "$1")
        );
        let rows = sqlx::query(&sql)
            .bind(served_since(now))
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        rows.iter()
            .map(listed_row)
            .collect::<Result<_, _>>()
            .in_store(self)
    }

    /// Queues every failed delivery again, due now, with `forward_for` more to succeed.
    pub async fn retry_failed(
        &self,
        now: Timestamp,
        forward_for: Duration,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE cer_outbox SET state = 'pending', next_ms = $1, lease_ms = 0, deadline_ms = $2
             WHERE state = 'failed'",
        )
        .bind(now.as_millisecond())
        .bind(now.as_millisecond().saturating_add(millis(forward_for)))
        .execute(&self.pool)
        .await
        .in_store(self)?;
        Ok(done.rows_affected())
    }

    /// Pending deliveries by target key, for `cer_deliveries_pending{target}`; a target with
    /// none is not a key.
    pub async fn pending_by_target(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT target_key, COUNT(*) FROM cer_outbox
             WHERE state = 'pending'
             GROUP BY target_key",
        )
        .fetch_all(&self.pool)
        .await
        .in_store(self)?;
        rows.iter()
            .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .in_store(self)
    }

    /// Queues the newest revision of each stored report of `ids` for each registered target
    /// that never had it (reports stored before the target was registered, found again by a
    /// listener's catch-up).
    pub async fn queue_stored(&self, ids: &[&str], now: Timestamp) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.in_store(self)?;
        for id in ids {
            enqueue_missing(self, &mut tx, id, now).await?;
        }
        tx.commit().await.in_store(self)
    }

    /// Deliveries pending and failed for calls created in `[from, to)` (`sync --check`); a
    /// pending one no listener delivers is counted by [`Store::orphaned_between`] instead.
    pub async fn deliveries_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<DeliveryCounts, StoreError> {
        let now = Timestamp::now();
        let sql = format!(
            "SELECT COALESCE(SUM(CASE WHEN o.state = 'pending' AND {served} THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN o.state = 'failed' THEN 1 ELSE 0 END), 0)
             FROM cer_outbox o
             JOIN cer_reports r ON r.conversation_space_id = o.conversation_space_id
             WHERE {created}",
            served = served("o", "$3"),
            created = self.created_between()
        );
        let row = sqlx::query(&sql)
            .bind(super::row::utc_text(from))
            .bind(super::row::utc_text(to))
            .bind(served_since(now))
            .fetch_one(&self.pool)
            .await
            .in_store(self)?;
        Ok(DeliveryCounts {
            pending: row.try_get(0).in_store(self)?,
            failed: row.try_get(1).in_store(self)?,
        })
    }

    /// Orphaned deliveries (pending, to a target no running listener names) for calls
    /// created in `[from, to)` (`sync --check`).
    pub async fn orphaned_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*)
             FROM cer_outbox o
             JOIN cer_reports r ON r.conversation_space_id = o.conversation_space_id
             WHERE {created} AND o.state = 'pending' AND NOT {served}",
            served = served("o", "$3"),
            created = self.created_between()
        );
        sqlx::query(&sql)
            .bind(super::row::utc_text(from))
            .bind(super::row::utc_text(to))
            .bind(served_since(Timestamp::now()))
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .in_store(self)
    }

    /// `r.call_created` in `[$1, $2)`.
    fn created_between(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "r.call_created >= $1 AND r.call_created < $2",
            Backend::Postgres => {
                "r.call_created >= $1::timestamptz AND r.call_created < $2::timestamptz"
            }
        }
    }

    /// How many deliveries are pending, to any target.
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        self.count_in_state(DeliveryState::Pending).await
    }

    /// How many deliveries the store holds in `state` (none is stored `Orphaned`).
    async fn count_in_state(&self, state: DeliveryState) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM cer_outbox WHERE state = $1";
        sqlx::query(sql)
            .bind(state.as_str())
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .in_store(self)
    }
}

/// One row that `claim_due` returned.
fn claimed_row(
    row: &sqlx::any::AnyRow,
    target_key: &str,
    lease_ms: i64,
) -> Result<ClaimedRow, sqlx::Error> {
    let deadline_ms: i64 = row.try_get(3)?;
    let body: Option<String> = row.try_get(5)?;
    Ok(ClaimedRow {
        created_ms: row.try_get(4)?,
        claimed: Claimed {
            id: row.try_get(0)?,
            revision: row.try_get(1)?,
            target_key: target_key.to_string(),
            body: body.unwrap_or_default(),
            attempts: row.try_get(2)?,
            deadline: Timestamp::from_millisecond(deadline_ms).unwrap_or(Timestamp::MAX),
            lease_ms,
        },
    })
}

/// One row that `list_deliveries` read; a state the store should not hold is an error.
fn listed_row(row: &sqlx::any::AnyRow) -> Result<Listed, sqlx::Error> {
    let text: String = row.try_get(3)?;
    let state = DeliveryState::parse(&text)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown delivery state {text:?}").into()))?;
    let next_ms: i64 = row.try_get(6)?;
    Ok(Listed {
        target: row.try_get(0)?,
        conversation_space_id: row.try_get(1)?,
        revision: row.try_get(2)?,
        state,
        attempts: row.try_get(4)?,
        last_error: row.try_get(5)?,
        next_try: (state == DeliveryState::Pending)
            .then(|| Timestamp::from_millisecond(next_ms).ok())
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::DeliveryState;

    // sqlite3 and psql users, `cer deliveries --json` and the statements here read these texts.
    #[test]
    fn each_state_keeps_its_text_in_the_store_and_in_json() {
        let texts = DeliveryState::ALL.map(DeliveryState::as_str);
        assert_eq!(
            texts,
            ["pending", "delivered", "failed", "superseded", "orphaned"]
        );
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(format!("{state:<10}|"), format!("{:<10}|", state.as_str()));
        }
        assert_eq!(DeliveryState::parse("Pending"), None);
    }
}
