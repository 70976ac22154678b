//! Versioned migrations, embedded in the binary, one list per dialect. sqlx records what was
//! applied; PostgreSQL serialises two processes with an advisory lock, and on SQLite a process
//! that lost the race simply runs the (idempotent) migrations once more.

use std::borrow::Cow;

use sqlx::AnyPool;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

const SQLITE: &[(i64, &str, &str)] =
    &[(1, "store", include_str!("migrations/sqlite/0001_store.sql"))];
const POSTGRES: &[(i64, &str, &str)] = &[(
    1,
    "store",
    include_str!("migrations/postgres/0001_store.sql"),
)];

/// Applies what is missing.
pub(super) async fn run(
    pool: &AnyPool,
    backend: Backend,
) -> Result<(), sqlx::migrate::MigrateError> {
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
    match migrator.run(pool).await {
        Err(_) if backend == Backend::Sqlite => migrator.run(pool).await,
        result => result,
    }
}
