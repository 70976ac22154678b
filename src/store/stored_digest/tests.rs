//! The SQL functions of `stored_digest.rs` against a real SQLite connection of cer's.

use crate::report::json_digest;
use crate::store::{Store, StoreLocation};

/// SQLite's digest of a text is the one cer computes; field order and whitespace aside,
/// any change differs; NULL, non-JSON and a blob that is not UTF-8 digest to NULL.
#[tokio::test]
async fn sqlite_digests_a_text_as_cer_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreLocation::Sqlite(dir.path().join("cer.db")))
        .await
        .unwrap();
    let digest = |sql: String| {
        let pool = store.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let text = r#"{"a": [1, "é"], "b": {"c": null}}"#;
    let reordered = r#"{"b":{"c":null},"a":[1,"\u00e9"]}"#;
    let quoted = |t: &str| format!("SELECT cer_json_digest('{}')", t.replace('\'', "''"));
    assert_eq!(digest(quoted(text)).await, json_digest(text));
    assert!(json_digest(text).is_some());
    assert_eq!(digest(quoted(reordered)).await, json_digest(text));
    assert_ne!(
        digest(quoted(r#"{"a": [1, "e"], "b": {"c": null}}"#)).await,
        json_digest(text)
    );
    assert_eq!(digest(quoted("{not json")).await, None);
    assert_eq!(digest("SELECT cer_json_digest(NULL)".into()).await, None);
    assert_eq!(
        digest("SELECT cer_json_digest(x'ff7b7d')".into()).await,
        None
    );
}

/// SQLite hands the fields of a stored text over as cer takes them from the text itself:
/// each name in order with its value's digest; `[]` for a text that is not an object.
#[tokio::test]
async fn sqlite_names_a_texts_fields_with_their_digests_as_cer_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreLocation::Sqlite(dir.path().join("cer.db")))
        .await
        .unwrap();
    let fields = |text: &str| {
        let sql = format!("SELECT cer_field_digests('{}')", text.replace('\'', "''"));
        let pool = store.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let text = r#"{"b": [1, {"x": "é"}], "a": null, "c": "it's"}"#;
    let taken = fields(text).await.unwrap();
    let ours = crate::report::FieldDigests::of(text);
    assert_eq!(
        crate::report::FieldDigests::from_json(&taken),
        Some(ours.clone())
    );
    let names: Vec<&str> = ours.0.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["b", "a", "c"]);
    assert_eq!(fields("[1, 2]").await.as_deref(), Some("[]"));
    assert_eq!(fields("{not json").await.as_deref(), Some("[]"));
}
