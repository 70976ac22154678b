//! `cer_json_digest(TEXT)`: a stored revision's digest computed where SQLite holds its text.
//! Reading a 30 MB revision out through sqlx costs several copies of it (sqlx's owned `String`
//! beside SQLite's own buffer), all to learn whether a re-fetched report says something new;
//! the digest answers that from SQLite's buffer, and the text is read out only when a person
//! is shown what changed. Registered with `cer_report_text` on every connection cer opens
//! (by `handed_text.rs`), directly callable only.

use std::ffi::c_int;

use libsqlite3_sys as ffi;

use crate::report::json_digest;

/// The function's name as the SQL spells it.
pub(super) const NAME: &std::ffi::CStr = c"cer_json_digest";

/// `cer_json_digest(TEXT)`: [`json_digest`] of the text, NULL for NULL or a text that is not
/// JSON (or not UTF-8).
pub(super) unsafe extern "C" fn digest_text(
    context: *mut ffi::sqlite3_context,
    count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `count` (1, as registered) valid values. The text pointer stays
    // valid until the value is changed or freed, which nothing here does before the digest is
    // taken; `sqlite3_value_bytes` is read after `sqlite3_value_text`, as SQLite documents.
    let digest = unsafe {
        if count != 1 {
            None
        } else {
            let value = *values;
            let text = ffi::sqlite3_value_text(value);
            let length = usize::try_from(ffi::sqlite3_value_bytes(value)).unwrap_or(0);
            if text.is_null() {
                None
            } else {
                let bytes = std::slice::from_raw_parts(text, length);
                std::str::from_utf8(bytes).ok().and_then(json_digest)
            }
        }
    };
    // SAFETY: `context` is the one SQLite passed for this call.
    unsafe {
        match digest {
            Some(digest) => ffi::sqlite3_result_int64(context, digest),
            None => ffi::sqlite3_result_null(context),
        }
    }
}

#[cfg(test)]
mod tests {
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
}
