//! Reads for `cer show`: one stored report by its full ID, and the stored IDs that start with
//! a prefix (the short ID a table shows), on both backends. A store that does not exist yet is
//! not created just to find it empty.

use serde_json::Value;
use sqlx::Row;

use super::{Backend, InStore, Store, StoreError, StoreLocation};

impl Store {
    /// Opens the store if there is one: a SQLite file that does not exist yet is `None`, not a
    /// new empty file (a look-up has nothing to find there). PostgreSQL is always opened.
    pub async fn open_existing(location: &StoreLocation) -> Result<Option<Self>, StoreError> {
        if let StoreLocation::Sqlite(path) = location
            && !path.exists()
        {
            return Ok(None);
        }
        Self::open(location).await.map(Some)
    }

    /// The ID a call is stored under, for a whole ID typed in any case: the exact ID first
    /// (the key's index), else the one ID that matches it without regard to case, as a
    /// prefix would (GoTo's IDs are UUIDs, which name the same call in either case).
    pub async fn stored_id(&self, id: &str) -> Result<Option<String>, StoreError> {
        let exact = sqlx::query(
            "SELECT conversation_space_id FROM cer_reports WHERE conversation_space_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .in_store(self)?;
        let row = match exact {
            Some(row) => Some(row),
            None => sqlx::query(
                "SELECT conversation_space_id FROM cer_reports \
                 WHERE lower(conversation_space_id) = $1 ORDER BY conversation_space_id LIMIT 1",
            )
            .bind(id.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .in_store(self)?,
        };
        row.map(|row| row.try_get::<String, _>(0))
            .transpose()
            .in_store(self)
    }

    /// The stored report of `id`, exactly as GoTo sent it (the newest revision). On PostgreSQL
    /// the `report` column is jsonb, which keeps neither GoTo's key order nor a NUL: the
    /// revision's `exact` text is read instead (the column only where no revision row exists).
    pub async fn report(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT report FROM cer_reports WHERE conversation_space_id = $1",
            Backend::Postgres => {
                "SELECT COALESCE((SELECT v.exact FROM cer_report_revisions v \
                 WHERE v.conversation_space_id = r.conversation_space_id \
                 AND v.revision = r.revision), r.report::text) \
                 FROM cer_reports r WHERE r.conversation_space_id = $1"
            }
        };
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .in_store(self)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text: String = row.try_get(0).in_store(self)?;
        let report = serde_json::from_str(&text)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
            .in_store(self)?;
        Ok(Some(report))
    }

    /// At most `limit` stored IDs that start with `prefix` (compared without regard to
    /// case), in order. The prefix is compared as a string, never as a LIKE pattern, so `%`
    /// and `_` in it match only themselves.
    pub async fn ids_with_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let length = prefix.chars().count();
        // The length is cer's own number, not the user's text: safe to write into the SQL,
        // which spares PostgreSQL's substr an integer parameter of the wrong width.
        let sql = format!(
            "SELECT conversation_space_id FROM cer_reports \
             WHERE lower(substr(conversation_space_id, 1, {length})) = $1 \
             ORDER BY conversation_space_id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(prefix.to_lowercase())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        rows.iter()
            .map(|row| row.try_get::<String, _>(0).in_store(self))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::Queue;

    async fn store_with(ids: &[&str]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Sqlite(dir.path().join("cer.db"));
        let store = Store::open(&location).await.unwrap();
        let now = jiff::Timestamp::now();
        for id in ids {
            let report = serde_json::json!({"conversationSpaceId": id, "callStates": []});
            store
                .store_report(
                    &crate::report::Report::of_value(&report).unwrap(),
                    None,
                    &Queue::NONE,
                    now,
                )
                .await
                .unwrap();
        }
        (dir, store)
    }

    #[tokio::test]
    async fn a_prefix_matches_as_text_not_as_a_pattern() {
        let (_dir, store) =
            store_with(&["abc_1234-x", "abcd1234-y", "abcd1234-z", "ABC%9999"]).await;
        assert_eq!(
            store.ids_with_prefix("abcd1234", 10).await.unwrap(),
            ["abcd1234-y", "abcd1234-z"]
        );
        assert_eq!(
            store.ids_with_prefix("abc_1234", 10).await.unwrap(),
            ["abc_1234-x"]
        );
        assert_eq!(
            store.ids_with_prefix("abc%", 10).await.unwrap(),
            ["ABC%9999"]
        );
        assert_eq!(
            store.ids_with_prefix("ABCD1234", 1).await.unwrap(),
            ["abcd1234-y"]
        );
        assert!(
            store
                .ids_with_prefix("ffffffff", 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// Issue 26 finding 11: a whole ID typed in another case than the stored one found
    /// nothing (a prefix did): the store finds the call, under the ID it is stored as.
    #[tokio::test]
    async fn a_whole_id_in_either_case_finds_the_call_under_its_stored_id() {
        let lower = "29a1c77a-e52a-3764-8606-8b02b1277be8";
        let upper = "ABCDEF12-E52A-3764-8606-8B02B1277BE8";
        let (_dir, store) = store_with(&[lower, upper]).await;
        let found = |id: &'static str| {
            let store = store.clone();
            async move { store.stored_id(id).await.unwrap() }
        };
        assert_eq!(found(lower).await.as_deref(), Some(lower));
        let typed = "29A1C77A-E52A-3764-8606-8B02B1277BE8";
        assert_eq!(found(typed).await.as_deref(), Some(lower));
        let typed = "abcdef12-e52a-3764-8606-8b02b1277be8";
        assert_eq!(found(typed).await.as_deref(), Some(upper));
        assert_eq!(found("00000000-e52a-3764-8606-8b02b1277be8").await, None);
    }

    #[tokio::test]
    async fn reads_a_report_back_and_none_for_another() {
        let (_dir, store) = store_with(&["one"]).await;
        let report = store.report("one").await.unwrap().unwrap();
        assert_eq!(report["conversationSpaceId"], "one");
        assert!(store.report("two").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_missing_file_is_no_store_and_stays_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/cer.db");
        let location = StoreLocation::Sqlite(path.clone());
        assert!(Store::open_existing(&location).await.unwrap().is_none());
        assert!(!path.exists());
        assert!(!dir.path().join("state").exists());
    }
}
