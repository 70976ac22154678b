//! The archive's bookkeeping (`cer_media`): one row per recording or transcript a stored
//! report names, `pending` until archived (or `gone` from GoTo, or `failed` for good). A row
//! is claimed with a lease before its download starts, so listeners and syncs sharing one
//! store archive each object once; only the holder of the lease settles it.

use std::time::Duration;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::row::utc_text;
use super::{Backend, InStore, Store, StoreError};

/// What kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// A recording's audio.
    Recording,
    /// A transcript's JSON.
    Transcript,
}

impl MediaKind {
    /// The word in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::Transcript => "transcript",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "transcript" {
            Self::Transcript
        } else {
            Self::Recording
        }
    }
}

/// One object a report names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaItem {
    /// The call (`conversationSpaceId`).
    pub call: String,
    /// Recording or transcript.
    pub kind: MediaKind,
    /// GoTo's id of it (for a transcript asked for by its recording, the recording's id).
    pub media_id: String,
    /// The participant whose entry named it.
    pub participant_id: Option<String>,
}

/// A row claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMedia {
    /// What to archive.
    pub item: MediaItem,
    /// Attempts settled before this one.
    pub attempts: i64,
    /// The lease this attempt holds.
    pub lease_ms: i64,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOutcome {
    /// Written whole: where, how large, its SHA-256 and content type.
    Archived {
        /// The key relative to the archive's root.
        object_key: String,
        /// Its size.
        bytes: u64,
        /// SHA-256, hex.
        sha256: String,
        /// The content type GoTo's storage sent.
        content_type: String,
    },
    /// Not now (not ready, a failure that may pass): tried again at `next`.
    Retry {
        /// Why, for a person.
        error: String,
        /// When to try again.
        next: Timestamp,
    },
    /// Failed for good.
    Failed {
        /// Why, for a person.
        error: String,
    },
    /// GoTo no longer has it (404).
    Gone,
}

/// A row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRow {
    /// What it is.
    pub item: MediaItem,
    /// `pending`, `archived`, `failed` or `gone`.
    pub state: String,
    /// Where it was archived.
    pub object_key: Option<String>,
    /// Its size, once archived.
    pub bytes: Option<i64>,
    /// Its SHA-256, once archived.
    pub sha256: Option<String>,
    /// Its content type, once archived.
    pub content_type: Option<String>,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Adds the objects not yet known, `pending` and due at once; known ones stay as they are.
    pub async fn plan_media(&self, items: &[MediaItem], now: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.in_store(self)?;
        for item in items {
            sqlx::query(
                "INSERT INTO cer_media (conversation_space_id, kind, media_id, participant_id, \
                 state, attempts, created_ms, next_ms, lease_ms) \
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, 0) ON CONFLICT DO NOTHING",
            )
            .bind(&item.call)
            .bind(item.kind.as_str())
            .bind(&item.media_id)
            .bind(item.participant_id.as_deref())
            .bind(now.as_millisecond())
            .execute(&mut *tx)
            .await
            .in_store(self)?;
        }
        tx.commit().await.in_store(self)
    }

    /// Makes the objects of `call` that failed, or that were archived but are missing from
    /// the archive (`missing`), pending and due again: an explicit `sync --archive` retries.
    pub async fn reopen_media(
        &self,
        call: &str,
        missing: &[MediaItem],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cer_media SET state = 'pending', next_ms = $2 \
             WHERE conversation_space_id = $1 AND state = 'failed'",
        )
        .bind(call)
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await
        .in_store(self)?;
        for item in missing {
            sqlx::query(
                "UPDATE cer_media SET state = 'pending', next_ms = $4 \
                 WHERE conversation_space_id = $1 AND kind = $2 AND media_id = $3 \
                 AND state = 'archived'",
            )
            .bind(&item.call)
            .bind(item.kind.as_str())
            .bind(&item.media_id)
            .bind(now.as_millisecond())
            .execute(&self.pool)
            .await
            .in_store(self)?;
        }
        Ok(())
    }

    /// Claims up to `limit` due pending objects (of `call` only, when given), oldest first,
    /// each for `lease`.
    pub async fn claim_media(
        &self,
        call: Option<&str>,
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedMedia>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let only_call = if call.is_some() {
            "AND m.conversation_space_id = $6"
        } else {
            ""
        };
        let now_ms = now.as_millisecond();
        let lease_ms = now_ms.saturating_add(millis(lease));
        let sql = format!(
            "UPDATE cer_media SET lease_ms = $1, holder = $2 \
             WHERE (conversation_space_id, kind, media_id) IN \
             (SELECT m.conversation_space_id, m.kind, m.media_id FROM cer_media m \
             WHERE m.state = 'pending' AND m.next_ms <= $3 AND m.lease_ms <= $4 {only_call} \
             ORDER BY m.created_ms, m.conversation_space_id, m.kind, m.media_id LIMIT $5 {lock}) \
             RETURNING conversation_space_id, kind, media_id, participant_id, attempts"
        );
        let mut query = sqlx::query(&sql)
            .bind(lease_ms)
            .bind(&self.holder)
            .bind(now_ms)
            .bind(now_ms)
            .bind(limit);
        if let Some(call) = call {
            query = query.bind(call);
        }
        let rows = query.fetch_all(&self.pool).await.in_store(self)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(ClaimedMedia {
                    item: item_of(row)?,
                    attempts: row.try_get(4)?,
                    lease_ms,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .in_store(self)?;
        claimed.sort_by(|a, b| a.item.cmp(&b.item));
        Ok(claimed)
    }

    /// Claims `item` when it is pending and no lease holds it, due or not: a person running
    /// `sync --archive` wants it tried now, not when a listener's backoff says. `None` when it
    /// is not pending, or another process holds it.
    pub async fn claim_media_item(
        &self,
        item: &MediaItem,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<ClaimedMedia>, StoreError> {
        let now_ms = now.as_millisecond();
        let lease_ms = now_ms.saturating_add(millis(lease));
        let row = sqlx::query(
            "UPDATE cer_media SET lease_ms = $1, holder = $2 \
             WHERE conversation_space_id = $3 AND kind = $4 AND media_id = $5 \
             AND state = 'pending' AND lease_ms <= $6 \
             RETURNING conversation_space_id, kind, media_id, participant_id, attempts",
        )
        .bind(lease_ms)
        .bind(&self.holder)
        .bind(&item.call)
        .bind(item.kind.as_str())
        .bind(&item.media_id)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .in_store(self)?;
        row.map(|row| {
            Ok(ClaimedMedia {
                item: item_of(&row)?,
                attempts: row.try_get(4)?,
                lease_ms,
            })
        })
        .transpose()
        .in_store(self)
    }

    /// Records an attempt's outcome, if this process still holds the lease; `false` when
    /// another one took the row meanwhile (its result stands).
    pub async fn settle_media(
        &self,
        claimed: &ClaimedMedia,
        outcome: &MediaOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let at = match self.backend {
            Backend::Sqlite => "$9",
            Backend::Postgres => "$9::timestamptz",
        };
        let Columns {
            state,
            key,
            bytes,
            sha,
            content_type,
            error,
            next,
        } = Columns::of(outcome, now);
        let archived_at = (state == "archived").then(|| utc_text(now));
        let sql = format!(
            "UPDATE cer_media SET state = $1, object_key = COALESCE($2, object_key), \
             bytes = COALESCE($3, bytes), sha256 = COALESCE($4, sha256), \
             content_type = COALESCE($5, content_type), last_error = $6, next_ms = $7, \
             attempts = attempts + 1, lease_ms = 0, holder = NULL, \
             archived_at = COALESCE({at}, archived_at) \
             WHERE conversation_space_id = $10 AND kind = $11 AND media_id = $12 \
             AND holder = $8 AND lease_ms = $13"
        );
        let done = sqlx::query(&sql)
            .bind(state)
            .bind(key)
            .bind(bytes)
            .bind(sha)
            .bind(content_type)
            .bind(error)
            .bind(next.as_millisecond())
            .bind(&self.holder)
            .bind(archived_at)
            .bind(&claimed.item.call)
            .bind(claimed.item.kind.as_str())
            .bind(&claimed.item.media_id)
            .bind(claimed.lease_ms)
            .execute(&self.pool)
            .await
            .in_store(self)?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back claims this process will not settle (it is stopping): others may take
    /// them at once instead of when the lease runs out.
    pub async fn release_media(&self, claims: &[ClaimedMedia]) -> Result<(), StoreError> {
        for claim in claims {
            sqlx::query(
                "UPDATE cer_media SET lease_ms = 0, holder = NULL \
                 WHERE conversation_space_id = $1 AND kind = $2 AND media_id = $3 \
                 AND holder = $4 AND lease_ms = $5",
            )
            .bind(&claim.item.call)
            .bind(claim.item.kind.as_str())
            .bind(&claim.item.media_id)
            .bind(&self.holder)
            .bind(claim.lease_ms)
            .execute(&self.pool)
            .await
            .in_store(self)?;
        }
        Ok(())
    }

    /// Gives back every claim this opening of the store holds (a sync stopping), including one
    /// whose answer never reached it because the claim was dropped half-way: by its holder,
    /// not by a list of what came back.
    pub async fn release_all_media(&self) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cer_media SET lease_ms = 0, holder = NULL \
             WHERE holder = $1 AND state = 'pending'",
        )
        .bind(&self.holder)
        .execute(&self.pool)
        .await
        .in_store(self)?;
        Ok(())
    }

    /// A notification says GoTo has `media_id` now: a pending row of it (waiting for its
    /// retry) is due at once. Whether any stored report names it.
    pub async fn media_uploaded(
        &self,
        kind: MediaKind,
        media_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "UPDATE cer_media SET next_ms = $3 WHERE kind = $1 AND media_id = $2 \
             AND state = 'pending' AND next_ms > $3",
        )
        .bind(kind.as_str())
        .bind(media_id)
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await
        .in_store(self)?;
        let row = sqlx::query("SELECT COUNT(*) FROM cer_media WHERE kind = $1 AND media_id = $2")
            .bind(kind.as_str())
            .bind(media_id)
            .fetch_one(&self.pool)
            .await
            .in_store(self)?;
        let known: i64 = row.try_get(0).in_store(self)?;
        Ok(known > 0)
    }

    /// The calls that ended since `since` whose reports name nothing of `kind` yet (at most
    /// 20): where a notification's recording most likely belongs. Those naming a recording come
    /// first (a transcript's call names its recording), then the newest; each with whether it
    /// names a recording.
    pub async fn calls_lacking_media(
        &self,
        kind: MediaKind,
        since: Timestamp,
    ) -> Result<Vec<(String, bool)>, StoreError> {
        let ended = match self.backend {
            Backend::Sqlite => "r.call_ended >= $1",
            Backend::Postgres => "r.call_ended >= $1::timestamptz",
        };
        // An integer on both: SQLite's EXISTS is one, PostgreSQL's a boolean.
        let recorded = "CAST(CASE WHEN EXISTS (SELECT 1 FROM cer_media m WHERE \
                        m.conversation_space_id = r.conversation_space_id \
                        AND m.kind = 'recording') THEN 1 ELSE 0 END AS BIGINT)";
        let sql = format!(
            "SELECT r.conversation_space_id, {recorded} AS recorded FROM cer_reports r \
             WHERE {ended} AND NOT EXISTS \
             (SELECT 1 FROM cer_media m WHERE m.conversation_space_id = r.conversation_space_id \
             AND m.kind = $2) \
             ORDER BY recorded DESC, r.call_ended DESC, r.conversation_space_id LIMIT 20"
        );
        let rows = sqlx::query(&sql)
            .bind(utc_text(since))
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? > 0)))
            .collect::<Result<_, sqlx::Error>>()
            .in_store(self)
    }

    /// When a stored call ended (else began), from its row's columns: the day its archive
    /// folder is under, read without its report's text (which may be megabytes). The outer
    /// `None`: the call is not stored; the inner: it has neither time.
    pub async fn call_time(&self, call: &str) -> Result<Option<Option<Timestamp>>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COALESCE(call_ended, call_created) FROM cer_reports \
                 WHERE conversation_space_id = $1"
            }
            Backend::Postgres => {
                "SELECT to_char(COALESCE(call_ended, call_created) AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM cer_reports \
                 WHERE conversation_space_id = $1"
            }
        };
        let row = sqlx::query(sql)
            .bind(call)
            .fetch_optional(&self.pool)
            .await
            .in_store(self)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let time: Option<String> = row.try_get(0).in_store(self)?;
        Ok(Some(time.and_then(|time| time.parse().ok())))
    }

    /// How many objects are pending (not yet archived, failed or gone).
    pub async fn media_pending(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM cer_media WHERE state = 'pending'")
            .fetch_one(&self.pool)
            .await
            .in_store(self)?;
        row.try_get(0).in_store(self)
    }

    /// Every object of `call` the store knows, in a stable order.
    pub async fn media_of_call(&self, call: &str) -> Result<Vec<MediaRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT conversation_space_id, kind, media_id, participant_id, state, object_key, \
             bytes, sha256, content_type FROM cer_media WHERE conversation_space_id = $1 \
             ORDER BY kind, media_id",
        )
        .bind(call)
        .fetch_all(&self.pool)
        .await
        .in_store(self)?;
        rows.iter()
            .map(|row| {
                Ok(MediaRow {
                    item: item_of(row)?,
                    state: row.try_get(4)?,
                    object_key: row.try_get(5)?,
                    bytes: row.try_get(6)?,
                    sha256: row.try_get(7)?,
                    content_type: row.try_get(8)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .in_store(self)
    }
}

/// The columns an outcome sets.
struct Columns<'a> {
    state: &'static str,
    key: Option<&'a str>,
    bytes: Option<i64>,
    sha: Option<&'a str>,
    content_type: Option<&'a str>,
    error: Option<&'a str>,
    next: Timestamp,
}

impl<'a> Columns<'a> {
    fn of(outcome: &'a MediaOutcome, now: Timestamp) -> Self {
        let bare = |state, error: Option<&'a str>, next| Columns {
            state,
            key: None,
            bytes: None,
            sha: None,
            content_type: None,
            error,
            next,
        };
        match outcome {
            MediaOutcome::Archived {
                object_key,
                bytes,
                sha256,
                content_type,
            } => Columns {
                state: "archived",
                key: Some(object_key),
                bytes: Some(i64::try_from(*bytes).unwrap_or(i64::MAX)),
                sha: Some(sha256),
                content_type: Some(content_type),
                error: None,
                next: now,
            },
            MediaOutcome::Retry { error, next } => bare("pending", Some(error), *next),
            MediaOutcome::Failed { error } => bare("failed", Some(error), now),
            MediaOutcome::Gone => bare("gone", None, now),
        }
    }
}

fn item_of(row: &AnyRow) -> Result<MediaItem, sqlx::Error> {
    let kind: String = row.try_get(1)?;
    Ok(MediaItem {
        call: row.try_get(0)?,
        kind: MediaKind::parse(&kind),
        media_id: row.try_get(2)?,
        participant_id: row.try_get(3)?,
    })
}
