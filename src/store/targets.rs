//! Which targets the running listeners serve: each listener writes its `--forward-to`
//! targets (redacted, by key) at start and then every minute, so a delivery whose target no
//! listener serves any more is told apart (`orphaned`) instead of counting as pending forever
//! and holding its report back from retention.

use std::time::Duration;

use jiff::Timestamp;
use sqlx::Row;

use super::{Store, StoreError};
use crate::target::{ForwardTarget, key_of, redact};

impl Store {
    /// Says that this listener serves `targets` now.
    pub async fn register_targets(
        &self,
        targets: &[ForwardTarget],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        for target in targets {
            sqlx::query(
                "INSERT INTO cer_targets (target_key, target, seen_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (target_key) DO UPDATE SET target = excluded.target, \
                 seen_ms = excluded.seen_ms",
            )
            .bind(target.key())
            .bind(target.shown())
            .bind(now.as_millisecond())
            .execute(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// At a listener's start: pending deliveries to targets that neither it nor any other
    /// listener seen within `fresh` serves become `orphaned`; orphaned ones to its own
    /// targets are pending again. Returns how many were orphaned.
    pub async fn orphan_unserved(
        &self,
        own: &[ForwardTarget],
        now: Timestamp,
        fresh: Duration,
    ) -> Result<u64, StoreError> {
        let since = now
            .as_millisecond()
            .saturating_sub(i64::try_from(fresh.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.pool.begin().await.map_err(|e| self.failed(e))?;
        for target in own {
            sqlx::query(
                "UPDATE cer_outbox SET state = 'pending', next_ms = $2 \
                 WHERE state = 'orphaned' AND target_key = $1",
            )
            .bind(target.key())
            .bind(now.as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.failed(e))?;
        }
        let orphaned = sqlx::query(
            "UPDATE cer_outbox SET state = 'orphaned' WHERE state = 'pending' \
             AND target_key NOT IN (SELECT target_key FROM cer_targets WHERE seen_ms >= $1)",
        )
        .bind(since)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.failed(e))?;
        tx.commit().await.map_err(|e| self.failed(e))?;
        Ok(orphaned.rows_affected())
    }

    /// Rows of an older outbox name their target in clear (`legacy:URL`): each gets its key
    /// and redacted form, so the secret leaves the store. Cheap when there is none.
    pub(super) async fn forget_clear_targets(&self) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT target_key FROM cer_outbox WHERE target_key LIKE 'legacy:%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.failed(e))?;
        for row in rows {
            let legacy: String = row.try_get(0).map_err(|e| self.failed(e))?;
            let url = legacy.trim_start_matches("legacy:");
            let shown =
                url::Url::parse(url).map_or_else(|_| "(unreadable URL)".into(), |u| redact(&u));
            let key = url::Url::parse(url).map_or_else(|_| key_of(url), |u| key_of(u.as_str()));
            sqlx::query("UPDATE cer_outbox SET target_key = $1, target = $2 WHERE target_key = $3")
                .bind(key)
                .bind(shown)
                .bind(&legacy)
                .execute(&self.pool)
                .await
                .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }
}
