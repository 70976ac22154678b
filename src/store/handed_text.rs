//! A report's text handed to SQLite without a copy. A value bound through sqlx is copied twice
//! before SQLite reads it (sqlx's worker thread takes an owned copy, SQLite its own with
//! `SQLITE_TRANSIENT`), so a 30 MB report cost four times its size while it was stored
//! (section 5 allows about three). Instead, the SQL reads the text through
//! `cer_report_text(KEY)`, a function registered on every SQLite connection cer opens, which
//! gives SQLite the report's own buffer and keeps the report alive until SQLite lets it go.
//!
//! Only cer's own connections know the function, and only directly in a statement (not in a
//! trigger or a view), so a store file cannot make it run. The same registration adds
//! `cer_json_digest` ([`super::stored_digest`]).

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use libsqlite3_sys as ffi;

use super::stored_digest;
use crate::report::Report;

/// The function's name as the SQL spells it.
const NAME: &std::ffi::CStr = c"cer_report_text";

/// Reports handed to a statement that SQLite has not read yet, by key.
static WAITING: Mutex<Option<HashMap<i64, Report>>> = Mutex::new(None);

/// Reports SQLite is reading, by the address of their text (the one thing SQLite gives back
/// when it lets a value go). Several can share an address: the same report in two statements.
static READING: Mutex<Option<HashMap<usize, Vec<Report>>>> = Mutex::new(None);

static NEXT_KEY: AtomicI64 = AtomicI64::new(1);

/// A lock that a panic elsewhere cannot poison for good: the maps stay consistent, as every
/// change to them is a single insert or remove.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `cer_report_text` on every SQLite connection the process opens from now on. Call
/// it before opening a SQLite store's pool; later calls do nothing.
pub(super) fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `register` has the signature SQLite calls an automatic extension with.
        let status = unsafe { ffi::sqlite3_auto_extension(Some(register)) };
        if status != ffi::SQLITE_OK {
            // Every statement that names the function then fails with "no such function",
            // which the store reports like any other write error.
            tracing::error!("cannot register cer's SQL functions with SQLite (code {status})");
        }
    });
}

/// A report waiting to be read by one statement, as `cer_report_text(key)`. Dropping it
/// withdraws the report if SQLite never read it (the statement failed before, or was never run).
pub(super) struct HandedText {
    key: i64,
}

impl HandedText {
    pub(super) fn new(report: &Report) -> Self {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        locked(&WAITING)
            .get_or_insert_with(HashMap::new)
            .insert(key, report.clone());
        Self { key }
    }

    /// The value to bind where the SQL says `cer_report_text($n)`.
    pub(super) fn key(&self) -> i64 {
        self.key
    }
}

impl Drop for HandedText {
    fn drop(&mut self) {
        if let Some(waiting) = locked(&WAITING).as_mut() {
            waiting.remove(&self.key);
        }
    }
}

/// SQLite's entry point for an automatic extension: defines the function on a new connection.
unsafe extern "C" fn register(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    let functions = [
        (NAME, read_text as ScalarFunction, 0),
        (
            stored_digest::NAME,
            stored_digest::digest_text,
            ffi::SQLITE_DETERMINISTIC,
        ),
        (
            stored_digest::FIELDS_NAME,
            stored_digest::field_digests,
            ffi::SQLITE_DETERMINISTIC,
        ),
    ];
    for (name, function, flags) in functions {
        // SAFETY: SQLite passes the connection being opened; the name is a NUL-terminated
        // constant; each function has the signature of a scalar one and uses no application data.
        let status = unsafe {
            ffi::sqlite3_create_function_v2(
                db,
                name.as_ptr(),
                1,
                ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY | flags,
                std::ptr::null_mut(),
                Some(function),
                None,
                None,
                None,
            )
        };
        if status != ffi::SQLITE_OK {
            return status;
        }
    }
    ffi::SQLITE_OK
}

/// What SQLite calls a scalar function with.
type ScalarFunction =
    unsafe extern "C" fn(*mut ffi::sqlite3_context, c_int, *mut *mut ffi::sqlite3_value);

/// `cer_report_text(KEY)`: the text of the report handed under KEY, in the report's own buffer.
/// SQLite calls `let_go` with the buffer's address when it no longer needs it.
unsafe extern "C" fn read_text(
    context: *mut ffi::sqlite3_context,
    count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `count` (1, as registered) valid values.
    let key = unsafe {
        if count != 1 {
            None
        } else {
            Some(ffi::sqlite3_value_int64(*values))
        }
    };
    let report = key.and_then(|key| locked(&WAITING).as_mut()?.remove(&key));
    let Some(report) = report else {
        // SAFETY: a NUL-terminated constant message, length -1 (up to the NUL).
        unsafe {
            ffi::sqlite3_result_error(context, c"no report handed under this key".as_ptr(), -1);
        }
        return;
    };
    let text = report.text();
    let (address, length) = (text.as_ptr(), text.len() as u64);
    locked(&READING)
        .get_or_insert_with(HashMap::new)
        .entry(address as usize)
        .or_default()
        .push(report);
    // SAFETY: the buffer is valid UTF-8 of `length` bytes and stays alive in READING until
    // SQLite calls `let_go` with its address (it does so even when it refuses the value).
    unsafe {
        ffi::sqlite3_result_text64(
            context,
            address.cast::<c_char>(),
            length,
            Some(let_go),
            ffi::SQLITE_UTF8 as u8,
        );
    }
}

/// SQLite is done with a text `read_text` gave it: one report held for that address goes.
unsafe extern "C" fn let_go(address: *mut c_void) {
    let mut reading = locked(&READING);
    let Some(reading) = reading.as_mut() else {
        return;
    };
    if let Some(held) = reading.get_mut(&(address as usize)) {
        held.pop();
        if held.is_empty() {
            reading.remove(&(address as usize));
        }
    }
}

/// Whether SQLite still holds this report's text, or it still waits to be read: the tests
/// check that each one is let go.
#[cfg(test)]
pub(super) fn still_held(report: &Report) -> bool {
    let address = report.text().as_ptr() as usize;
    let reading = locked(&READING)
        .as_ref()
        .is_some_and(|reading| reading.contains_key(&address));
    let waiting = locked(&WAITING).as_ref().is_some_and(|waiting| {
        waiting
            .values()
            .any(|handed| handed.text().as_ptr() as usize == address)
    });
    reading || waiting
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::store::outbox::Queue;
    use crate::store::{Revised, Store, StoreLocation, Stored};

    const ID: &str = "29a1c77a-e52a-3764-8606-8b02b1277be8";

    fn report(tail: &str) -> Report {
        let head =
            format!(r#"{{"conversationSpaceId":"{ID}", "callCreated":"2026-01-01T10:00:00Z","#);
        Report::parse(format!(
            r#"{head}"callEnded":"2026-01-01T10:05:00Z","callStates":[]{tail}}}"#
        ))
        .unwrap()
    }

    async fn column(store: &Store, sql: &str) -> String {
        sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// Both tables get the report's exact text, read from its own buffer, and SQLite lets
    /// every report go once its statement ends: a report, then a revision of it.
    #[tokio::test]
    async fn a_report_and_its_revision_are_stored_exactly_and_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::Sqlite(dir.path().join("cer.db")))
            .await
            .unwrap();
        let queue = Queue { refetch_after: &[] };
        let now: Timestamp = "2026-01-01T10:05:01Z".parse().unwrap();
        let first = report("");
        let stored = store.store_report(&first, None, &queue, now).await;
        assert_eq!(stored.unwrap(), Stored::New);
        assert!(
            !still_held(&first),
            "the report is let go after its statements"
        );
        let second = report(r#","z":"\u0000 é ✓""#);
        let revised = store.store_revision(ID, &second, &queue, now).await;
        assert!(matches!(revised.unwrap(), Revised::New { revision: 2, .. }));
        assert!(
            !still_held(&second),
            "the revision is let go after its statements"
        );
        let newest = column(&store, "SELECT report FROM cer_reports").await;
        assert_eq!(newest, second.text());
        let revisions = "SELECT group_concat(report, '|') FROM cer_report_revisions";
        let both = format!("{}|{}", first.text(), second.text());
        assert_eq!(column(&store, revisions).await, both);
    }

    /// A key nobody handed (another statement's, or one already read) is an error of the
    /// statement, not a crash; and a report handed but never read is withdrawn.
    #[tokio::test]
    async fn a_key_never_handed_is_an_error_and_an_unread_report_is_withdrawn() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::Sqlite(dir.path().join("cer.db")))
            .await
            .unwrap();
        let unread = report(r#","unread":true"#);
        let handed = HandedText::new(&unread);
        let key = handed.key();
        assert!(still_held(&unread));
        drop(handed);
        assert!(!still_held(&unread), "withdrawn when dropped unread");
        let read = sqlx::query("SELECT cer_report_text($1)")
            .bind(key)
            .execute(&store.pool)
            .await;
        let error = read.unwrap_err().to_string();
        assert!(error.contains("no report handed under this key"), "{error}");
    }
}
