//! The store: one small interface over an embedded SQLite file (the default) and PostgreSQL (a
//! store shared by machines). It keeps each account's cursor, every emitted report in
//! `cer_reports` for people to query, and the forwarding outbox, so nothing `listen` promised
//! lives only in memory.
//!
//! One code path serves both backends through sqlx's `Any` driver; where their SQL differs
//! (timestamp and JSON types, row locking) [`Backend`] picks the text. A report is stored with
//! `INSERT … ON CONFLICT DO NOTHING`, and "this process inserted it" means "this process prints
//! it and queues its deliveries", so several listeners on one store never print a call twice.

mod connect;
pub mod cursor_file;
pub mod cursor_rules;
mod handed_text;
mod last_write;
mod location;
pub mod media;
mod migrate;
pub mod outbox;
mod read;
pub mod refetch;
mod reports;
mod retention;
mod row;
pub mod set_aside;
mod steps;
mod stored_digest;
pub mod targets;

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Row, Transaction};

pub use location::StoreLocation;
pub use reports::{NewestRevision, Revised, StoredRevision};

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating, connecting to or migrating the store failed.
    #[error("cannot open the store {store}: {reason}")]
    Open {
        /// The store's location, password hidden.
        store: String,
        /// What failed, for a person.
        reason: String,
    },
    /// A statement on an open store failed.
    #[error("the store {store} failed: {source}")]
    Query {
        /// The store's location, password hidden.
        store: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// `--store` / `CER_STORE` is not a store location cer can read.
    #[error("{0}")]
    Location(String),
}

/// The one way a statement's failure leaves `store/`: as [`StoreError::Query`], naming the
/// store (without its password) that failed.
trait InStore<T> {
    fn in_store(self, store: &Store) -> Result<T, StoreError>;
}

impl<T> InStore<T> for Result<T, sqlx::Error> {
    fn in_store(self, store: &Store) -> Result<T, StoreError> {
        self.map_err(|source| store.failed(source))
    }
}

impl StoreError {
    /// Whether the store refused this data for good (PostgreSQL's data exceptions, integrity
    /// and size limits; SQLite's too big, mismatch and range errors), as opposed to the store
    /// failing (unreachable, read-only, busy): storing the same report again cannot help.
    pub fn refused_the_data(&self) -> bool {
        let Self::Query { source, .. } = self else {
            return false;
        };
        let Some(db) = source.as_database_error() else {
            return false;
        };
        let Some(code) = db.code() else {
            return false;
        };
        if db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some()
        {
            // SQLSTATE classes 22 data exception, 23 integrity (a duplicate key never gets
            // here: inserts are ON CONFLICT DO NOTHING), 54 program limit exceeded.
            return ["22", "23", "54"]
                .iter()
                .any(|class| code.starts_with(class));
        }
        // SQLite's primary result codes: 18 too big, 20 mismatch, 25 range.
        code.parse::<u32>()
            .is_ok_and(|c| matches!(c & 0xff, 18 | 20 | 25))
    }
}

/// Which SQL dialect the store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local file (`sqlite:PATH`), the default.
    Sqlite,
    /// A server shared by several listeners (`postgres://…`).
    Postgres,
}

/// An open, migrated store. Cheap to clone: it is a connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The location with any password hidden, for messages.
    shown: String,
    /// Names this process on the leases it takes (outbox rows), so only it settles them.
    holder: String,
    /// For health: whether writes work.
    last_write: std::sync::Arc<last_write::LastWrite>,
}

/// What storing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// This call inserted the row: print it and deliver it.
    New,
    /// The report was already there (an earlier run, another listener): do nothing with it.
    AlreadyThere,
}

/// A page cache of 256 KiB per SQLite connection (a negative size is in KiB).
const SQLITE_CACHE: &str = "PRAGMA cache_size = -256";

impl Store {
    /// Connects, creating the SQLite file and folder if needed, and applies the migrations.
    pub async fn open(location: &StoreLocation) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let shown = location.to_string();
        let failed = |reason: String| StoreError::Open {
            store: shown.clone(),
            reason: location.redact(&reason),
        };
        location.prepare().map_err(|err| failed(err.to_string()))?;
        let backend = location.backend();
        if backend == Backend::Sqlite {
            handed_text::install();
        }
        let pool = match AnyPoolOptions::new()
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // SQLite's default page cache (2 MiB) per pooled connection grew a
                        // listener's RSS by 8 MB over 10,000 reports (`cargo bench`); the
                        // store only appends and looks rows up by key, so a small one serves.
                        sqlx::query(SQLITE_CACHE).execute(connection).await?;
                    }
                    Ok(())
                })
            })
            .max_connections(location.max_connections())
            .idle_timeout(location.idle_timeout())
            .max_lifetime(location.idle_timeout())
            .test_before_acquire(location.ping_before_use())
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&location.connect_url())
            .await
        {
            Ok(pool) => pool,
            Err(err) => return Err(failed(connect::why_not(location, &err).await)),
        };
        let store = Self {
            pool,
            backend: location.backend(),
            shown: shown.clone(),
            holder: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
            last_write: std::sync::Arc::default(),
        };
        let earlier =
            migrate::prepare(&store.pool, store.backend)
                .await
                .map_err(|err| match err {
                    sqlx::migrate::MigrateError::Execute(err) => failed(connect::describe(&err)),
                    other => failed(other.to_string()),
                })?;
        steps::run(&store).await?;
        store.forget_clear_targets().await?;
        if earlier {
            store.compact().await;
        }
        Ok(store)
    }

    /// Which dialect this store speaks.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the store is, without any password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn failed(&self, source: sqlx::Error) -> StoreError {
        StoreError::Query {
            store: self.shown.clone(),
            source,
        }
    }

    pub(super) async fn save_cursor_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        account: &str,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Never backwards: another listener on the same store may already be further on.
        sqlx::query(
            "INSERT INTO cer_cursors (account_key, cursor_ms, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (account_key) DO UPDATE SET \
             cursor_ms = CASE WHEN excluded.cursor_ms > cer_cursors.cursor_ms \
             THEN excluded.cursor_ms ELSE cer_cursors.cursor_ms END, \
             updated_ms = excluded.updated_ms",
        )
        .bind(account)
        .bind(at.as_millisecond())
        .bind(now.as_millisecond())
        .execute(&mut **tx)
        .await
        .in_store(self)?;
        Ok(())
    }

    /// Moves the cursors of `accounts` forward to `at` (never back).
    pub async fn save_cursors(
        &self,
        accounts: &[&str],
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let saved = async {
            let mut tx = self.pool.begin().await.in_store(self)?;
            for account in accounts {
                self.save_cursor_in(&mut tx, account, at, now).await?;
            }
            tx.commit().await.in_store(self)
        }
        .await;
        self.last_write.note(&saved);
        saved
    }

    /// Sets a cursor that lies in the future back to `at` (the cursor rules of `listen`):
    /// the one write that moves a cursor backwards, and only from a time later than `later_than`.
    pub async fn pull_back_cursor(
        &self,
        account: &str,
        at: Timestamp,
        later_than: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cer_cursors SET cursor_ms = $1, updated_ms = $2 \
             WHERE account_key = $3 AND cursor_ms > $4",
        )
        .bind(at.as_millisecond())
        .bind(at.as_millisecond())
        .bind(account)
        .bind(later_than.as_millisecond())
        .execute(&self.pool)
        .await
        .in_store(self)?;
        Ok(())
    }

    /// Every saved cursor, by account key.
    pub async fn cursors(&self) -> Result<HashMap<String, Timestamp>, StoreError> {
        let rows = sqlx::query("SELECT account_key, cursor_ms FROM cer_cursors")
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        let mut cursors = HashMap::new();
        for row in rows {
            let key: String = row.try_get(0).in_store(self)?;
            let ms: i64 = row.try_get(1).in_store(self)?;
            if let Ok(at) = Timestamp::from_millisecond(ms) {
                cursors.insert(key, at);
            }
        }
        Ok(cursors)
    }

    /// The reports that ended at or after `since`: (ID, when it ended), for dedupe.
    pub async fn ended_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT conversation_space_id, call_ended FROM cer_reports WHERE call_ended >= $1"
            }
            Backend::Postgres => {
                "SELECT conversation_space_id, to_char(call_ended AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM cer_reports \
                 WHERE call_ended >= $1::timestamptz"
            }
        };
        let rows = sqlx::query(sql)
            .bind(row::utc_text(since))
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0).in_store(self)?;
            let ended: Option<String> = row.try_get(1).in_store(self)?;
            if let Some(ended) = ended.and_then(|t| t.parse().ok()) {
                found.push((id, ended));
            }
        }
        Ok(found)
    }

    /// Whether a report is stored.
    pub async fn has_report(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM cer_reports WHERE conversation_space_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .in_store(self)?;
        Ok(row.is_some())
    }

    /// Answers when the store can be reached (for retries after a failure).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .in_store(self)
    }
}
