//! The steps of a migration that SQL cannot do, done in Rust once after the migrations and
//! recorded in `cer_steps` (migration 0004). Each step is idempotent, so two processes that
//! start together may both do it and both record it; one interrupted is done again whole at
//! the next start.

use jiff::Timestamp;
use sqlx::Row;

use super::row::utc_text;
use super::{Backend, InStore, Store, StoreError};
use crate::outcome::Outcome;
use crate::report::Report;

/// The outcome rule "was a person reached" (SPEC section 10): the words earlier versions
/// stored for answered-then-voicemail calls and for voicemails that took no message change.
const OUTCOMES_BY_REACH: &str = "outcomes-by-reach";

/// Rows read at a time: reports are about a hundred kilobytes each.
const BATCH: i64 = 100;

/// Does each step not yet recorded, then records it.
pub(super) async fn run(store: &Store) -> Result<(), StoreError> {
    if done(store, OUTCOMES_BY_REACH).await? {
        return Ok(());
    }
    let changed = recompute_outcomes(store).await?;
    if changed > 0 {
        tracing::info!("recomputed the outcome of {changed} stored calls by the new rule");
    }
    record(store, OUTCOMES_BY_REACH).await
}

async fn done(store: &Store, step: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 FROM cer_steps WHERE step = $1")
        .bind(step)
        .fetch_optional(&store.pool)
        .await
        .in_store(store)?;
    Ok(row.is_some())
}

async fn record(store: &Store, step: &str) -> Result<(), StoreError> {
    let sql = match store.backend {
        Backend::Sqlite => {
            "INSERT INTO cer_steps (step, done_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        }
        Backend::Postgres => {
            "INSERT INTO cer_steps (step, done_at) VALUES ($1, $2::timestamptz) ON CONFLICT DO NOTHING"
        }
    };
    sqlx::query(sql)
        .bind(step)
        .bind(utc_text(Timestamp::now()))
        .execute(&store.pool)
        .await
        .map(drop)
        .in_store(store)
}

/// Reads every stored report again, in batches by ID, and rewrites the `outcome` column where
/// the rule now gives another word; how many rows changed.
async fn recompute_outcomes(store: &Store) -> Result<u64, StoreError> {
    let sql = match store.backend {
        Backend::Sqlite => {
            "SELECT conversation_space_id, report, outcome FROM cer_reports \
             WHERE conversation_space_id > $1 ORDER BY conversation_space_id LIMIT $2"
        }
        Backend::Postgres => {
            "SELECT conversation_space_id, report::text, outcome FROM cer_reports \
             WHERE conversation_space_id > $1 ORDER BY conversation_space_id LIMIT $2"
        }
    };
    let (mut after, mut changed) = (String::new(), 0u64);
    loop {
        let rows = sqlx::query(sql)
            .bind(&after)
            .bind(BATCH)
            .fetch_all(&store.pool)
            .await
            .in_store(store)?;
        let Some(last) = rows.last() else {
            return Ok(changed);
        };
        after = last.try_get(0).in_store(store)?;
        for row in &rows {
            let (id, text, stored): (String, String, String) = (
                row.try_get(0).in_store(store)?,
                row.try_get(1).in_store(store)?,
                row.try_get(2).in_store(store)?,
            );
            // A row whose report cannot be read keeps its word.
            let Ok(report) = Report::parse(text) else {
                continue;
            };
            let outcome = Outcome::of_report(&report).as_str();
            if outcome != stored {
                sqlx::query("UPDATE cer_reports SET outcome = $2 WHERE conversation_space_id = $1")
                    .bind(&id)
                    .bind(outcome)
                    .execute(&store.pool)
                    .await
                    .in_store(store)?;
                changed += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreLocation;
    use crate::store::outbox::Queue;

    async fn outcome_of(store: &Store, id: &str) -> String {
        sqlx::query("SELECT outcome FROM cer_reports WHERE conversation_space_id = $1")
            .bind(id)
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .get(0)
    }

    // A store written by an earlier version holds the old word: it is recomputed once, also
    // when two processes open the store together.
    #[tokio::test]
    async fn an_earlier_versions_outcomes_are_recomputed_once() {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Sqlite(dir.path().join("cer.db"));
        let store = Store::open(&location).await.unwrap();
        let text =
            include_str!("../../tests/fixtures/spiritai-report_answered_then_voicemail.json");
        let report = Report::parse(text).unwrap();
        let now = Timestamp::now();
        store
            .store_report(&report, None, &Queue::NONE, now)
            .await
            .unwrap();
        assert_eq!(outcome_of(&store, report.id()).await, "answered");
        // What the earlier rule stored, before this step existed.
        for sql in [
            "UPDATE cer_reports SET outcome = 'voicemail'",
            "DELETE FROM cer_steps",
        ] {
            sqlx::query(sql).execute(&store.pool).await.unwrap();
        }
        let (one, two) = tokio::join!(Store::open(&location), Store::open(&location));
        let (one, _two) = (one.unwrap(), two.unwrap());
        assert_eq!(outcome_of(&one, report.id()).await, "answered");
        assert!(done(&one, OUTCOMES_BY_REACH).await.unwrap());
        // Recorded: a word changed by hand afterwards stays.
        sqlx::query("UPDATE cer_reports SET outcome = 'voicemail'")
            .execute(&one.pool)
            .await
            .unwrap();
        let again = Store::open(&location).await.unwrap();
        assert_eq!(outcome_of(&again, report.id()).await, "voicemail");
    }
}
