//! Versioned migrations, embedded in the binary, one list per dialect. sqlx records what was
//! applied; PostgreSQL serialises two processes with an advisory lock, and on SQLite a process
//! that lost the race for the file's lock waits a moment and runs the (idempotent) migrations
//! again.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use super::Backend;

const SQLITE: &[(i64, &str, &str)] = &[
    (1, "store", include_str!("migrations/sqlite/0001_store.sql")),
    (
        2,
        "revisions",
        include_str!("migrations/sqlite/0002_revisions.sql"),
    ),
    (
        3,
        "targets",
        include_str!("migrations/sqlite/0003_targets.sql"),
    ),
    (
        4,
        "outcomes",
        include_str!("migrations/sqlite/0004_outcomes.sql"),
    ),
    (5, "media", include_str!("migrations/sqlite/0005_media.sql")),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "store",
        include_str!("migrations/postgres/0001_store.sql"),
    ),
    (
        2,
        "revisions",
        include_str!("migrations/postgres/0002_revisions.sql"),
    ),
    (
        3,
        "targets",
        include_str!("migrations/postgres/0003_targets.sql"),
    ),
    (
        4,
        "outcomes",
        include_str!("migrations/postgres/0004_outcomes.sql"),
    ),
    (
        5,
        "media",
        include_str!("migrations/postgres/0005_media.sql"),
    ),
];

/// How often a SQLite store another process is setting up at the same moment is tried
/// again, and how long apart: about two seconds in all, beyond SQLite's own busy wait.
const SQLITE_ATTEMPTS: u32 = 20;
const SQLITE_PAUSE: Duration = Duration::from_millis(100);

/// Readies a new or older store: WAL on SQLite, so readers (`sqlite3`, `cer deliveries`) work
/// while a listener writes, then the migrations that are missing.
///
/// Two processes opening a new SQLite file together race. SQLite answers "database is
/// locked" at once, without waiting, where waiting could deadlock (a reader that wants to
/// write while the other writes); or both saw the migration missing and the second one to
/// record it breaks the unique version. The loser tries again shortly, a few times, and
/// then finds the migration done.
///
/// Returns whether a SQLite store an earlier version left was migrated: its file's free pages
/// may still hold target URLs that migration 3 deleted, until the file is compacted.
pub(super) async fn prepare(pool: &AnyPool, backend: Backend) -> Result<bool, MigrateError> {
    if backend == Backend::Postgres {
        return run(pool, backend).await.map(|()| false);
    }
    let earlier = left_before_targets(pool).await;
    let mut attempt = 1;
    loop {
        match sqlite_schema(pool).await {
            Err(err) if attempt < SQLITE_ATTEMPTS && lost_a_race(&err) => {
                attempt += 1;
                tokio::time::sleep(SQLITE_PAUSE).await;
            }
            done => return done.map(|()| earlier),
        }
    }
}

/// Whether the store holds migrations, but not yet 3 (targets kept without their URL).
async fn left_before_targets(pool: &AnyPool) -> bool {
    let newest = sqlx::query_scalar::<_, i64>("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await;
    matches!(newest, Ok(version) if version < 3)
}

async fn sqlite_schema(pool: &AnyPool) -> Result<(), MigrateError> {
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(pool)
        .await?;
    run(pool, Backend::Sqlite).await
}

/// SQLITE_BUSY, SQLITE_LOCKED or SQLITE_CONSTRAINT, with any extended code (the low byte is
/// the primary one), or a column another process just added. Only a race breaks a migration.
fn lost_a_race(err: &MigrateError) -> bool {
    let (MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _)) = err else {
        return false;
    };
    let Some(db) = err.as_database_error() else {
        return false;
    };
    // A migration that adds a column cannot say IF NOT EXISTS on SQLite: the loser of a race
    // finds the column there (SQLITE_ERROR), or one that a migration drops gone, and its
    // transaction was rolled back.
    if db.message().starts_with("duplicate column name")
        || db.message().starts_with("no such column")
    {
        return true;
    }
    let primary = db
        .code()
        .and_then(|code| code.parse::<u32>().ok())
        .map(|code| code & 0xff);
    matches!(primary, Some(5 | 6 | 19))
}

/// Applies what is missing.
async fn run(pool: &AnyPool, backend: Backend) -> Result<(), MigrateError> {
    let list = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let migrations: Vec<Migration> = list
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect();
    let migrator = Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    };
    migrator.run(pool).await
}
