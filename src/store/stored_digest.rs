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
mod tests;
