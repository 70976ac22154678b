//! Retention (`--keep`): reports of calls that ended long ago go, with their revisions,
//! re-fetch points and outbox rows; never one with a delivery still pending, and never one a
//! listener's next backfill could bring back (it would print and deliver it again).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;

use super::{Backend, Store, StoreError};

impl Store {
    /// Deletes the reports of calls that ended before `before`, but none that ended after the
    /// oldest cursor minus `margin` (the backfill's overlap and the longest call): a backfill
    /// from that cursor would find them again and take them for new. Without a cursor the
    /// floor is `now` minus `margin`. Returns how many reports went.
    pub async fn forget_before(
        &self,
        before: Timestamp,
        margin: Duration,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let cutoff = before.min(self.retention_floor(margin, now).await?);
        let ended = match self.backend {
            Backend::Sqlite => "call_ended < $1",
            Backend::Postgres => "call_ended < $1::timestamptz",
        };
        let old = format!(
            "SELECT conversation_space_id FROM cer_reports WHERE {ended} \
             AND conversation_space_id NOT IN \
             (SELECT conversation_space_id FROM cer_outbox WHERE state = 'pending')"
        );
        let mut tx = self.pool.begin().await.map_err(|e| self.failed(e))?;
        for table in ["cer_report_revisions", "cer_outbox", "cer_refetches"] {
            let sql = format!("DELETE FROM {table} WHERE conversation_space_id IN ({old})");
            sqlx::query(&sql)
                .bind(super::row::utc_text(cutoff))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.failed(e))?;
        }
        let sql = format!("DELETE FROM cer_reports WHERE conversation_space_id IN ({old})");
        let done = sqlx::query(&sql)
            .bind(super::row::utc_text(cutoff))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.failed(e))?;
        tx.commit().await.map_err(|e| self.failed(e))?;
        Ok(done.rows_affected())
    }

    /// The oldest cursor (or `now`) minus `margin`.
    async fn retention_floor(
        &self,
        margin: Duration,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        let oldest: Option<i64> = sqlx::query("SELECT MIN(cursor_ms) FROM cer_cursors")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.failed(e))?;
        let from = oldest
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(now)
            .min(now);
        let margin = SignedDuration::try_from(margin).unwrap_or(SignedDuration::MAX);
        Ok(from.checked_sub(margin).unwrap_or(Timestamp::MIN))
    }
}
