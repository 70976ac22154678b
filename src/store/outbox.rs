//! The forwarding outbox: one row per report and target, from the moment the report is stored
//! until a 2xx answer (the row goes) or `--forward-for` runs out (the row stays, `failed`).
//! Rows are claimed with a lease, so several listeners on one store never send a delivery at
//! the same time (PostgreSQL adds `FOR UPDATE SKIP LOCKED` so they do not wait on each other).

use jiff::Timestamp;
use sqlx::{Any, Row, Transaction};

use super::row::ReportRow;
use super::{Backend, Store, StoreError};

/// Where a newly stored report is to be delivered, and for how long to keep trying.
#[derive(Debug, Clone, Default)]
pub struct Queue<'a> {
    /// The `--forward-to` URLs: one outbox row per target.
    pub targets: &'a [String],
    /// `--forward-for`: how long after storing the report its deliveries are tried.
    pub forward_for: std::time::Duration,
}

impl Queue<'_> {
    /// No deliveries (`sync`, or `listen` without `--forward-to`).
    pub const NONE: Queue<'static> = Queue {
        targets: &[],
        forward_for: std::time::Duration::ZERO,
    };
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The report's `conversationSpaceId`, sent as `webhook-id`.
    pub id: String,
    /// The URL to POST to.
    pub target: String,
    /// The report as GoTo sent it: the POST body.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// After this an attempt that fails marks the delivery failed (`--forward-for`).
    pub deadline: Timestamp,
}

/// A row of `cer deliveries`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The URL the report goes to.
    pub target: String,
    /// The report's call.
    pub conversation_space_id: String,
    /// `pending` (still tried) or `failed` (given up; `cer deliveries --retry` revives it).
    pub state: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_try: Option<Timestamp>,
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub enum Settled {
    /// A 2xx answer: the row goes.
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

pub(super) async fn enqueue(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    row: &ReportRow,
    queue: &Queue<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let deadline = now
        .as_millisecond()
        .saturating_add(millis(queue.forward_for));
    for target in queue.targets {
        sqlx::query(
            "INSERT INTO cer_outbox (conversation_space_id, target, body, state, attempts, \
             created_ms, next_ms, lease_ms, deadline_ms) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $4, 0, $5) \
             ON CONFLICT (conversation_space_id, target) DO NOTHING",
        )
        .bind(&row.conversation_space_id)
        .bind(target)
        .bind(&row.report)
        .bind(now.as_millisecond())
        .bind(deadline)
        .execute(&mut **tx)
        .await
        .map_err(|e| store.failed(e))?;
    }
    Ok(())
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Claims up to `limit` due deliveries to `target`, oldest first, each for `lease`.
    pub async fn claim_due(
        &self,
        target: &str,
        now: Timestamp,
        lease: std::time::Duration,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE cer_outbox SET lease_ms = $1 WHERE target = $2 AND conversation_space_id IN \
             (SELECT conversation_space_id FROM cer_outbox WHERE target = $2 \
             AND state = 'pending' AND next_ms <= $3 AND lease_ms <= $3 \
             ORDER BY created_ms, conversation_space_id LIMIT $4 {lock}) \
             RETURNING conversation_space_id, body, attempts, deadline_ms, created_ms"
        );
        let rows = sqlx::query(&sql)
            .bind(now.as_millisecond().saturating_add(millis(lease)))
            .bind(target)
            .bind(now.as_millisecond())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let get_i64 = |i: usize| row.try_get::<i64, _>(i);
            let deadline_ms = get_i64(3).map_err(|e| self.failed(e))?;
            let created_ms = get_i64(4).map_err(|e| self.failed(e))?;
            claimed.push((
                created_ms,
                Claimed {
                    id: row.try_get(0).map_err(|e| self.failed(e))?,
                    target: target.to_string(),
                    body: row.try_get(1).map_err(|e| self.failed(e))?,
                    attempts: get_i64(2).map_err(|e| self.failed(e))?,
                    deadline: Timestamp::from_millisecond(deadline_ms).unwrap_or(Timestamp::MAX),
                },
            ));
        }
        claimed.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        Ok(claimed.into_iter().map(|(_, c)| c).collect())
    }

    /// Records an attempt's result and releases the lease.
    pub async fn settle(&self, delivery: &Claimed, settled: &Settled) -> Result<(), StoreError> {
        let (sql, next, error) = match settled {
            Settled::Delivered => (
                "DELETE FROM cer_outbox WHERE conversation_space_id = $1 AND target = $2",
                None,
                None,
            ),
            Settled::Retry { at, error } => (
                "UPDATE cer_outbox SET attempts = attempts + 1, next_ms = $3, lease_ms = 0, \
                 last_error = $4 WHERE conversation_space_id = $1 AND target = $2",
                Some(at.as_millisecond()),
                Some(error),
            ),
            Settled::Failed { error } => (
                "UPDATE cer_outbox SET attempts = attempts + 1, state = 'failed', lease_ms = 0, \
                 next_ms = $3, last_error = $4 WHERE conversation_space_id = $1 AND target = $2",
                Some(0),
                Some(error),
            ),
        };
        let mut query = sqlx::query(sql).bind(&delivery.id).bind(&delivery.target);
        if let (Some(next), Some(error)) = (next, error) {
            query = query.bind(next).bind(error.as_str());
        }
        query
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| self.failed(e))
    }

    /// Hands claimed deliveries back unattempted: due again at once, for any listener.
    pub async fn release(&self, deliveries: &[Claimed]) -> Result<(), StoreError> {
        for delivery in deliveries {
            sqlx::query(
                "UPDATE cer_outbox SET lease_ms = 0 \
                 WHERE conversation_space_id = $1 AND target = $2 AND state = 'pending'",
            )
            .bind(&delivery.id)
            .bind(&delivery.target)
            .execute(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// The outbox for `cer deliveries`: pending and failed, or failed only; oldest first.
    pub async fn list_deliveries(&self, failed_only: bool) -> Result<Vec<Listed>, StoreError> {
        let filter = if failed_only {
            "WHERE state = 'failed'"
        } else {
            ""
        };
        let sql = format!(
            "SELECT target, conversation_space_id, state, attempts, last_error, next_ms \
             FROM cer_outbox {filter} ORDER BY created_ms, conversation_space_id, target"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get(2)?;
                let next_ms: i64 = row.try_get(5)?;
                Ok(Listed {
                    target: row.try_get(0)?,
                    conversation_space_id: row.try_get(1)?,
                    next_try: (state == "pending")
                        .then(|| Timestamp::from_millisecond(next_ms).ok())
                        .flatten(),
                    state,
                    attempts: row.try_get(3)?,
                    last_error: row.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.failed(e))
    }

    /// Queues every failed delivery again, due now, with `forward_for` more to succeed.
    pub async fn retry_failed(
        &self,
        now: Timestamp,
        forward_for: std::time::Duration,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE cer_outbox SET state = 'pending', next_ms = $1, lease_ms = 0, \
             deadline_ms = $2 WHERE state = 'failed'",
        )
        .bind(now.as_millisecond())
        .bind(now.as_millisecond().saturating_add(millis(forward_for)))
        .execute(&self.pool)
        .await
        .map_err(|e| self.failed(e))?;
        Ok(done.rows_affected())
    }

    /// Pending deliveries per target, for `cer_deliveries_pending{target}`.
    pub async fn pending_by_target(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT target, COUNT(*) FROM cer_outbox WHERE state = 'pending' GROUP BY target",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.failed(e))
    }

    /// How many deliveries to `target` are pending (for the shutdown note and for tests).
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        sqlx::query("SELECT COUNT(*) FROM cer_outbox WHERE state = 'pending'")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(|e| self.failed(e))
    }
}
