//! `cer_json_digest(TEXT)`: a stored revision's digest computed where SQLite holds its text.
//! Reading a 30 MB revision out through sqlx costs several copies of it (sqlx's owned `String`
//! beside SQLite's own buffer), all to learn whether a re-fetched report says something new;
//! the digest answers that from SQLite's buffer, and the text is read out only when a person
//! is shown what changed. Registered with `cer_report_text` on every connection cer opens
//! (by `handed_text.rs`), directly callable only.

use std::ffi::c_int;

use libsqlite3_sys as ffi;

use crate::report::{FieldDigests, json_digest};

/// The function's name as the SQL spells it.
pub(super) const NAME: &std::ffi::CStr = c"cer_json_digest";
/// `cer_field_digests(TEXT)`: the text's [`FieldDigests`] as JSON, what `listen --updates`
/// names the changed fields from.
pub(super) const FIELDS_NAME: &std::ffi::CStr = c"cer_field_digests";

/// The text of SQLite's one argument, borrowed from SQLite's own buffer; `None` for NULL or
/// a text that is not UTF-8.
///
/// # Safety
/// `values` must be what SQLite passed a scalar function with `count` arguments, and the text
/// must not outlive the call.
unsafe fn argument_text<'a>(count: c_int, values: *mut *mut ffi::sqlite3_value) -> Option<&'a str> {
    if count != 1 {
        return None;
    }
    // SAFETY: as the caller promises; the length is read after the text, as SQLite documents.
    unsafe {
        let value = *values;
        let text = ffi::sqlite3_value_text(value);
        let length = usize::try_from(ffi::sqlite3_value_bytes(value)).unwrap_or(0);
        if text.is_null() {
            return None;
        }
        std::str::from_utf8(std::slice::from_raw_parts(text, length)).ok()
    }
}

/// `cer_field_digests(TEXT)`: [`FieldDigests`] of the text as JSON (`[]` for one that is not a
/// JSON object), NULL for NULL.
pub(super) unsafe extern "C" fn field_digests(
    context: *mut ffi::sqlite3_context,
    count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `count` valid values for this call.
    let fields =
        unsafe { argument_text(count, values) }.map(|text| FieldDigests::of(text).to_json());
    // SAFETY: `context` is the one SQLite passed; SQLite copies the text (SQLITE_TRANSIENT)
    // before `fields` is dropped.
    unsafe {
        match fields {
            Some(fields) => ffi::sqlite3_result_text64(
                context,
                fields.as_ptr().cast(),
                fields.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            ),
            None => ffi::sqlite3_result_null(context),
        }
    }
}

/// `cer_json_digest(TEXT)`: [`json_digest`] of the text, NULL for NULL or a text that is not
/// JSON (or not UTF-8).
pub(super) unsafe extern "C" fn digest_text(
    context: *mut ffi::sqlite3_context,
    count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `count` (1, as registered) valid values; the text is used only
    // within this call, before the value could change or be freed.
    let digest = unsafe { argument_text(count, values) }.and_then(json_digest);
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
}
