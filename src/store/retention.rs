//! Retention (`--keep`): reports of calls that ended long ago go, with their revisions,
//! re-fetch points, outbox rows and archive rows; never one with a delivery still pending, and never one a
//! listener's next backfill could bring back (it would print and deliver it again).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;

use super::{Backend, InStore, Store, StoreError};

/// The tables a forgotten call's rows go from, the reports last.
const FORGOTTEN_WITH_THE_CALL: [&str; 5] = [
    "cer_report_revisions",
    "cer_outbox",
    "cer_refetches",
    "cer_media",
    "cer_reports",
];

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
        let forgotten = self.forget_calls_before(before, margin, now).await?;
        Ok(forgotten.len() as u64)
    }

    /// [`Store::forget_before`], also the archive's rows of those calls (`cer_media`);
    /// returns each call that went with when it ended, so its archive folder can go too.
    pub async fn forget_calls_before(
        &self,
        before: Timestamp,
        margin: Duration,
        now: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let cutoff = before.min(self.retention_floor(margin, now).await?);
        let (ended, shown) = match self.backend {
            Backend::Sqlite => ("call_ended < $1", "call_ended"),
            Backend::Postgres => (
                "call_ended < $1::timestamptz",
                "to_char(call_ended AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            ),
        };
        let old = format!(
            "SELECT conversation_space_id FROM cer_reports WHERE {ended} \
             AND conversation_space_id NOT IN \
             (SELECT conversation_space_id FROM cer_outbox WHERE state = 'pending')"
        );
        let cutoff = super::row::utc_text(cutoff);
        let mut tx = self.pool.begin().await.in_store(self)?;
        let listed = format!(
            "SELECT conversation_space_id, {shown} FROM cer_reports \
             WHERE conversation_space_id IN ({old})"
        );
        // A write first: SQLite then holds the write lock for the whole transaction (a read
        // first would have to upgrade, and fails when another connection wrote meanwhile).
        let mut rows = Vec::new();
        for (n, table) in FORGOTTEN_WITH_THE_CALL.into_iter().enumerate() {
            if n == 1 {
                rows = sqlx::query(&listed)
                    .bind(&cutoff)
                    .fetch_all(&mut *tx)
                    .await
                    .in_store(self)?;
            }
            let sql = format!("DELETE FROM {table} WHERE conversation_space_id IN ({old})");
            sqlx::query(&sql)
                .bind(&cutoff)
                .execute(&mut *tx)
                .await
                .in_store(self)?;
        }
        tx.commit().await.in_store(self)?;
        let mut forgotten = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0).in_store(self)?;
            let ended: Option<String> = row.try_get(1).in_store(self)?;
            if let Some(ended) = ended.and_then(|text| text.parse::<Timestamp>().ok()) {
                forgotten.push((id, ended));
            }
        }
        Ok(forgotten)
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
            .in_store(self)?;
        let from = oldest
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(now)
            .min(now);
        let margin = SignedDuration::try_from(margin).unwrap_or(SignedDuration::MAX);
        Ok(from.checked_sub(margin).unwrap_or(Timestamp::MIN))
    }
}
