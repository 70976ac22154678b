//! Targets belong to the store, not to a process: a `--forward-to` target is registered the
//! first time a listener names it, and from then on every revision any process stores (a
//! `listen` without `--forward-to`, `sync`, a re-fetch) is queued for it. The register holds
//! each target's shown form and tag, keyed by a digest of its URL, never the URL. Listeners
//! say every minute which targets they deliver to, so a target none of them names is told
//! apart (`orphaned`): its queue waits for a listener until `--forward-for` runs out.

use std::time::Duration;

use jiff::Timestamp;
use sqlx::Row;

use super::{InStore, Store, StoreError};
use crate::target::{ForwardTarget, key_of, tag_of_key};

/// A target no listener has said it delivers to for this long is orphaned.
pub const SERVED_WITHIN: Duration = Duration::from_secs(300);

/// How long a target registered by an earlier version (which kept no `--forward-for`) has
/// its deliveries tried: the default `--forward-for`.
const EARLIER_FORWARD_FOR: Duration = Duration::from_secs(24 * 3600);

/// The longest `--forward-for` the store keeps (a century), so that a deadline never
/// overflows.
const LONGEST_FORWARD_FOR_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// What the last error of a delivery says that no listener delivered in time.
const NO_LISTENER: &str =
    "no running listener forwarded to this target before --forward-for ran out";

/// A registered target, as `cer deliveries --forget` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The store key ([`ForwardTarget::key`]).
    pub key: String,
    /// The shown form: `https://hooks.example.com/… [3f2a91]`.
    pub target: String,
    /// The tag within it.
    pub tag: String,
}

/// The SQL condition that a running listener delivers to the outbox row `row`'s target,
/// with `since` the placeholder of the oldest time a listener counts as running.
pub(super) fn served(row: &str, since: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM cer_target_listeners l WHERE l.target_key = {row}.target_key \
         AND l.seen_ms >= {since})"
    )
}

/// The oldest time a listener's word counts, in the store's milliseconds.
pub(super) fn served_since(now: Timestamp) -> i64 {
    now.as_millisecond()
        .saturating_sub(i64::try_from(SERVED_WITHIN.as_millis()).unwrap_or(i64::MAX))
}

impl Store {
    /// Registers `targets` (each revision stored from now on is queued for them, tried for
    /// `forward_for`) and says that this listener delivers to them now.
    pub async fn register_targets(
        &self,
        targets: &[ForwardTarget],
        forward_for: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let forward_for = i64::try_from(forward_for.as_millis())
            .unwrap_or(i64::MAX)
            .min(LONGEST_FORWARD_FOR_MS);
        let mut tx = self.pool.begin().await.in_store(self)?;
        // The word of listeners that died without taking it back has run out: it goes.
        sqlx::query("DELETE FROM cer_target_listeners WHERE seen_ms < $1")
            .bind(served_since(now))
            .execute(&mut *tx)
            .await
            .in_store(self)?;
        for target in targets {
            sqlx::query(
                "INSERT INTO cer_targets (target_key, target, tag, forward_for_ms, registered_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (target_key) DO UPDATE SET \
                 target = excluded.target, tag = excluded.tag, \
                 forward_for_ms = excluded.forward_for_ms",
            )
            .bind(target.key())
            .bind(target.shown())
            .bind(target.tag())
            .bind(forward_for)
            .bind(now.as_millisecond())
            .execute(&mut *tx)
            .await
            .in_store(self)?;
            sqlx::query(
                "INSERT INTO cer_target_listeners (target_key, holder, seen_ms) \
                 VALUES ($1, $2, $3) ON CONFLICT (target_key, holder) DO UPDATE SET \
                 seen_ms = excluded.seen_ms",
            )
            .bind(target.key())
            .bind(&self.holder)
            .bind(now.as_millisecond())
            .execute(&mut *tx)
            .await
            .in_store(self)?;
        }
        tx.commit().await.in_store(self)
    }

    /// At a listener's end: it delivers to its targets no more (they stay registered).
    pub async fn unserve_targets(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cer_target_listeners WHERE holder = $1")
            .bind(&self.holder)
            .execute(&self.pool)
            .await
            .map(drop)
            .in_store(self)
    }

    /// Every registered target, by tag.
    pub async fn registered_targets(&self) -> Result<Vec<Registered>, StoreError> {
        let rows = sqlx::query("SELECT target_key, target, tag FROM cer_targets ORDER BY tag")
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        rows.iter()
            .map(|row| {
                Ok(Registered {
                    key: row.try_get(0)?,
                    target: row.try_get(1)?,
                    tag: row.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .in_store(self)
    }

    /// Unregisters a target and drops its queue (every delivery to it, whatever its state).
    /// Returns how many deliveries went.
    pub async fn forget_target(&self, key: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.in_store(self)?;
        let dropped = sqlx::query("DELETE FROM cer_outbox WHERE target_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .in_store(self)?;
        for table in ["cer_target_listeners", "cer_targets"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE target_key = $1"))
                .bind(key)
                .execute(&mut *tx)
                .await
                .in_store(self)?;
        }
        tx.commit().await.in_store(self)?;
        Ok(dropped.rows_affected())
    }

    /// Orphaned deliveries whose `--forward-for` ran out are failed (`--retry` revives them),
    /// so they no longer hold their report back from retention. Returns how many.
    pub async fn expire_orphans(&self, now: Timestamp) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE cer_outbox SET state = 'failed', last_error = $3 WHERE state = 'pending' \
             AND deadline_ms <= $1 AND lease_ms <= $1 AND NOT {}",
            served("cer_outbox", "$2")
        );
        let done = sqlx::query(&sql)
            .bind(now.as_millisecond())
            .bind(served_since(now))
            .bind(NO_LISTENER)
            .execute(&self.pool)
            .await
            .in_store(self)?;
        Ok(done.rows_affected())
    }

    /// Rows of the oldest outbox name their target in clear (`legacy:URL`): each gets its
    /// key, and its target is registered, so the secret leaves the store. Cheap when there is
    /// none.
    pub(super) async fn forget_clear_targets(&self) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT target_key FROM cer_outbox WHERE target_key LIKE 'legacy:%'",
        )
        .fetch_all(&self.pool)
        .await
        .in_store(self)?;
        for row in rows {
            let legacy: String = row.try_get(0).in_store(self)?;
            let url = legacy.trim_start_matches("legacy:");
            let (key, shown) = match url::Url::parse(url) {
                Ok(url) => {
                    let target = ForwardTarget::new(url);
                    (target.key().to_string(), target.shown().to_string())
                }
                Err(_) => {
                    let key = key_of(url);
                    let shown = format!("unknown [{}]", tag_of_key(&key));
                    (key, shown)
                }
            };
            self.reregister_legacy(&legacy, &key, &shown).await?;
        }
        Ok(())
    }

    /// Rewrites a SQLite file an earlier version left, once: the target URLs it deleted stay
    /// in its free pages and its write-ahead log until then. A store busy with another
    /// process is compacted another time.
    pub(super) async fn compact(&self) {
        for statement in ["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"] {
            if let Err(err) = sqlx::query(statement).execute(&self.pool).await {
                tracing::info!("could not compact the store {}: {err}", self.shown);
                return;
            }
        }
    }

    async fn reregister_legacy(
        &self,
        legacy: &str,
        key: &str,
        shown: &str,
    ) -> Result<(), StoreError> {
        let forward_for = i64::try_from(EARLIER_FORWARD_FOR.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await.in_store(self)?;
        sqlx::query(
            "INSERT INTO cer_targets (target_key, target, tag, forward_for_ms, registered_ms) \
             VALUES ($1, $2, $3, $4, 0) ON CONFLICT (target_key) DO NOTHING",
        )
        .bind(key)
        .bind(shown)
        .bind(tag_of_key(key))
        .bind(forward_for)
        .execute(&mut *tx)
        .await
        .in_store(self)?;
        sqlx::query("UPDATE cer_outbox SET target_key = $1 WHERE target_key = $2")
            .bind(key)
            .bind(legacy)
            .execute(&mut *tx)
            .await
            .in_store(self)?;
        tx.commit().await.in_store(self)
    }
}
