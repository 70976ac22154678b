//! The SQL functions of `stored_digest.rs` against a real SQLite connection of cer's.

use sqlx::Any;

use crate::report::{FieldDigests, json_digest};
use crate::store::{Store, StoreLocation};

/// A fresh SQLite store of cer's (its connections know the functions), in its own folder.
async fn sqlite_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreLocation::Sqlite(dir.path().join("cer.db")))
        .await
        .unwrap();
    (dir, store)
}

/// `SELECT function('text')`, the text quoted as SQL quotes it.
async fn called<T>(store: &Store, function: &str, text: &str) -> Option<T>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + Send + Unpin,
{
    let sql = format!("SELECT {function}('{}')", text.replace('\'', "''"));
    sqlx::query_scalar(&sql)
        .fetch_one(&store.pool)
        .await
        .unwrap()
}

/// SQLite's digest of a text is the one cer computes; field order and whitespace aside,
/// any change differs; NULL, non-JSON and a blob that is not UTF-8 digest to NULL.
#[tokio::test]
async fn sqlite_digests_a_text_as_cer_does() {
    let (_dir, store) = sqlite_store().await;
    let digest = |text: &'static str| called::<i64>(&store, "cer_json_digest", text);
    let text = r#"{"a": [1, "é"], "b": {"c": null}}"#;
    assert!(json_digest(text).is_some());
    assert_eq!(digest(text).await, json_digest(text));
    assert_eq!(
        digest(r#"{"b":{"c":null},"a":[1,"\u00e9"]}"#).await,
        json_digest(text)
    );
    assert_ne!(
        digest(r#"{"a": [1, "e"], "b": {"c": null}}"#).await,
        json_digest(text)
    );
    assert_eq!(digest("{not json").await, None);
    for sql in [
        "SELECT cer_json_digest(NULL)",
        "SELECT cer_json_digest(x'ff7b7d')",
    ] {
        let digest: Option<i64> = sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(digest, None, "{sql}");
    }
}

/// SQLite hands the fields of a stored text over as cer takes them from the text itself:
/// each name in order with its value's digest; `[]` for a text that is not an object.
#[tokio::test]
async fn sqlite_names_a_texts_fields_with_their_digests_as_cer_does() {
    let (_dir, store) = sqlite_store().await;
    let fields = |text: &'static str| called::<String>(&store, "cer_field_digests", text);
    let text = r#"{"b": [1, {"x": "é"}], "a": null, "c": "it's"}"#;
    let taken = fields(text).await.unwrap();
    let ours = FieldDigests::of(text);
    assert_eq!(FieldDigests::from_json(&taken), Some(ours.clone()));
    let names: Vec<&str> = ours.0.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["b", "a", "c"]);
    assert_eq!(fields("[1, 2]").await.as_deref(), Some("[]"));
    assert_eq!(fields("{not json").await.as_deref(), Some("[]"));
}
