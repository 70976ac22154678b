//! Storing reports: the first revision with its cursor, deliveries and re-fetch points in one
//! transaction; a re-fetched report that differs as the next revision; and reading back the
//! newest revision exactly as GoTo sent it.

use jiff::Timestamp;
use sqlx::{Any, Connection, Row, Transaction};

use super::handed_text::HandedText;
use super::outbox::{self, Queue};
use super::row::{ReportRow, jsonb_text};
use super::{Backend, InStore, Store, StoreError, Stored, refetch};
use crate::report::{FieldDigests, Report, json_digest, same_json};

/// What storing a re-fetched report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revised {
    /// GoTo's report is the one stored: nothing changed.
    Unchanged,
    /// A new revision was stored (and queued for delivery): print and deliver it.
    New {
        /// Its number: 2 for the first change. The one it replaces is not read out (a big one
        /// costs several copies of it): [`Store::revision_fields`] says what its fields were
        /// when a person is shown what changed.
        revision: i64,
    },
    /// The report is no longer stored (retention took it meanwhile): nothing to revise.
    NotStored,
}

/// A call's newest stored revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewestRevision {
    /// 1 for the first fetch, one more for each changed re-fetch.
    pub number: i64,
    /// The report exactly as GoTo sent it.
    pub text: String,
}

/// One stored revision of a call's report, as `show` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRevision {
    /// 1 for the first fetch, one more for each changed re-fetch.
    pub number: i64,
    /// When it was fetched, as the store writes times (RFC 3339, UTC).
    pub fetched_at: String,
    /// The report exactly as GoTo sent it.
    pub text: String,
}

/// Texts up to this size are compared on the runtime's thread; bigger ones on a blocking
/// thread, so that a 30 MB comparison stalls nothing else.
const COMPARE_INLINE_UP_TO: usize = 256 * 1024;

/// `work` over `size` bytes, on a blocking thread when that is more than
/// [`COMPARE_INLINE_UP_TO`]; here after all if the runtime shuts down meanwhile, rather than
/// guess.
async fn off_the_runtime_if_big<T: Send + 'static>(
    size: usize,
    work: impl Fn() -> T + Clone + Send + 'static,
) -> T {
    if size <= COMPARE_INLINE_UP_TO {
        return work();
    }
    let theirs = work.clone();
    tokio::task::spawn_blocking(theirs)
        .await
        .unwrap_or_else(|_| work())
}

/// `report`'s [`json_digest`].
async fn digest_of(report: &Report) -> Option<i64> {
    let report = report.clone();
    off_the_runtime_if_big(report.text().len(), move || json_digest(report.text())).await
}

/// Whether `report` says the same as the stored text (PostgreSQL's, read out).
async fn compared(stored: String, report: &Report) -> bool {
    let size = stored.len().max(report.text().len());
    let (stored, report) = (std::sync::Arc::new(stored), report.clone());
    off_the_runtime_if_big(size, move || same_json(&stored, report.text())).await
}

impl Store {
    /// Stores a report, moves its account's cursor, queues it for every registered target and
    /// plans its re-fetches, all in one transaction. Only a [`Stored::New`] report may be
    /// printed. A report already there is queued for each target that never had it (one stored
    /// before the target was registered).
    pub async fn store_report(
        &self,
        report: &Report,
        cursor: Option<(&str, Timestamp)>,
        deliveries: &Queue<'_>,
        now: Timestamp,
    ) -> Result<Stored, StoreError> {
        let row = ReportRow::of(report, now);
        let mut connection = self.pool.acquire().await.in_store(self)?;
        let stored = async {
            let mut tx = connection.begin().await.in_store(self)?;
            let inserted = self.insert_row(&mut tx, &row).await?;
            if let Some((account, at)) = cursor {
                self.save_cursor_in(&mut tx, account, at, now).await?;
            }
            if inserted {
                self.insert_revision(&mut tx, &row.conversation_space_id, 1, &row.report, now)
                    .await?;
                refetch::plan(self, &mut tx, &row, deliveries.refetch_after, now).await?;
            }
            outbox::enqueue_missing(self, &mut tx, &row.conversation_space_id, now).await?;
            tx.commit().await.in_store(self)?;
            Ok(if inserted {
                Stored::New
            } else {
                Stored::AlreadyThere
            })
        }
        .await;
        if stored.is_err() {
            // A connection that failed (a file made read-only, a server restarted) may stay
            // broken: close it, so the next attempt opens a fresh one.
            let _ = connection.close().await;
        }
        self.last_write.note(&stored);
        stored
    }

    /// Stores a re-fetched report as the next revision when it differs from the newest one
    /// (any field added, removed or changed), supersedes older revisions still waiting for a
    /// target and queues the new one for every registered target. Two listeners racing store
    /// one revision: the row lock taken first makes the second one see the first one's report,
    /// unchanged. The revision is of the call stored as `id`, whatever letter case GoTo's
    /// answer writes it in. `_queue` is taken like [`Store::store_report`]'s, but a revision
    /// needs nothing of it: its deliveries go to the registered targets, and re-fetch points
    /// are planned when the report is first stored.
    pub async fn store_revision(
        &self,
        id: &str,
        report: &Report,
        _queue: &Queue<'_>,
        now: Timestamp,
    ) -> Result<Revised, StoreError> {
        let revised = self.revise(id, report, now).await;
        // A re-fetch is a write like a report's: health sees it fail or work.
        self.last_write.note(&revised);
        revised
    }

    async fn revise(
        &self,
        id: &str,
        report: &Report,
        now: Timestamp,
    ) -> Result<Revised, StoreError> {
        // GoTo's usual answer to a re-fetch is the stored report byte for byte: the store
        // finds that where the text lies, since reading a big revision out through sqlx costs
        // several copies of it.
        match self.newest_is(id, report).await? {
            None => return Ok(Revised::NotStored),
            Some(true) => return Ok(Revised::Unchanged),
            Some(false) => {}
        }
        // Compared before the write lock is taken: comparing a 30 MB report takes a while, and
        // every live call's write waits for that lock.
        // PostgreSQL compares the texts themselves (`compared`): the digest is SQLite's.
        let digest = match self.backend {
            Backend::Sqlite => digest_of(report).await,
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await.in_store(self)?;
        let newest = self.newest_compared_in(&mut tx, id, report, digest).await?;
        tx.commit().await.in_store(self)?;
        let Some((number, same)) = newest else {
            return Ok(Revised::NotStored);
        };
        if same {
            return Ok(Revised::Unchanged);
        }
        let mut row = ReportRow::of(report, now);
        // The row is the stored call's: an answer in capitals must not miss it.
        row.conversation_space_id = id.to_string();
        let mut tx = self.pool.begin().await.in_store(self)?;
        // A write first: it takes the row's lock on PostgreSQL and the write lock on SQLite,
        // so the revision read below cannot go stale before this transaction ends.
        let Some(revision) = self.lock_revision(&mut tx, id).await? else {
            tx.rollback().await.in_store(self)?;
            return Ok(Revised::NotStored);
        };
        if revision != number {
            // Another listener stored a revision meanwhile: compare with that one (rare).
            let newest = self.newest_compared_in(&mut tx, id, report, digest).await?;
            if newest.is_none_or(|(_, same)| same) {
                tx.rollback().await.in_store(self)?;
                return Ok(newest.map_or(Revised::NotStored, |_| Revised::Unchanged));
            }
        }
        let revision = revision + 1;
        self.insert_revision(&mut tx, id, revision, &row.report, now)
            .await?;
        self.update_row(&mut tx, &row, revision, now).await?;
        outbox::supersede_and_enqueue(self, &mut tx, id, revision, now).await?;
        tx.commit().await.in_store(self)?;
        Ok(Revised::New { revision })
    }

    /// The call's newest revision number and whether `report` (whose [`json_digest`] is
    /// `digest`) says the same as that revision; `None` when the call is not stored. SQLite
    /// digests the stored text where it lies (`cer_json_digest`); PostgreSQL's is read out.
    async fn newest_compared_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        report: &Report,
        digest: Option<i64>,
    ) -> Result<Option<(i64, bool)>, StoreError> {
        if self.backend == Backend::Postgres {
            let Some((number, text)) = self.newest_in(tx, id).await? else {
                return Ok(None);
            };
            return Ok(Some((number, compared(text, report).await)));
        }
        // A report stored before revisions were kept has no revision row: its own text. The
        // COALESCE's value goes straight to the function (measured: no copy beside SQLite's
        // own buffer for the stored text).
        let newest: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT r.revision, cer_json_digest(COALESCE(v.report, r.report)) FROM cer_reports r \
             LEFT JOIN cer_report_revisions v ON v.conversation_space_id = r.conversation_space_id \
             AND v.revision = r.revision WHERE r.conversation_space_id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .in_store(self)?;
        Ok(newest.map(|(number, stored)| (number, stored.is_some() && stored == digest)))
    }

    /// Whether the call's newest revision is `report`'s text byte for byte; `None` when the
    /// call is not stored. On SQLite the text is handed, not bound (see [`HandedText`]).
    async fn newest_is(&self, id: &str, report: &Report) -> Result<Option<bool>, StoreError> {
        let handed = self.handed(report);
        let (revision, report_text, given) = match self.backend {
            Backend::Sqlite => ("v.report", "r.report", "cer_report_text($2)"),
            Backend::Postgres => ("v.exact", "r.report::text", "$2"),
        };
        // A report stored before revisions were kept has no revision row: its own text. Each
        // text is compared where it lies (a COALESCE of them would copy the one it takes), and
        // only one branch reads the handed text.
        let sql = format!(
            "SELECT CASE WHEN v.conversation_space_id IS NULL \
             THEN CASE WHEN {report_text} = {given} THEN 1 ELSE 0 END \
             ELSE CASE WHEN {revision} = {given} THEN 1 ELSE 0 END END FROM cer_reports r \
             LEFT JOIN cer_report_revisions v ON v.conversation_space_id = r.conversation_space_id \
             AND v.revision = r.revision WHERE r.conversation_space_id = $1"
        );
        let query = sqlx::query_scalar::<_, i32>(&sql).bind(id);
        let query = match &handed {
            Some(handed) => query.bind(handed.key()),
            None => query.bind(report.text()),
        };
        let same = query.fetch_optional(&self.pool).await.in_store(self)?;
        Ok(same.map(|same| same == 1))
    }

    /// Takes the call's row lock (the write lock on SQLite) and reads its revision number;
    /// `None` when the call is no longer stored.
    async fn lock_revision(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
    ) -> Result<Option<i64>, StoreError> {
        if self.backend == Backend::Sqlite {
            // Any write statement takes SQLite's write lock, one that changes no row too.
            // Rewriting the call's row would read its report back whole (30 MB of a 30 MB
            // report) only to write it again.
            sqlx::query("UPDATE cer_reports SET revision = revision WHERE 0")
                .execute(&mut **tx)
                .await
                .in_store(self)?;
            return sqlx::query_scalar(
                "SELECT revision FROM cer_reports WHERE conversation_space_id = $1",
            )
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .in_store(self);
        }
        sqlx::query_scalar(
            "UPDATE cer_reports SET revision = revision WHERE conversation_space_id = $1 \
             RETURNING revision",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .in_store(self)
    }

    /// The newest stored revision of a call: its number and its text exactly as GoTo sent it.
    pub async fn newest_revision(&self, id: &str) -> Result<Option<NewestRevision>, StoreError> {
        let mut tx = self.pool.begin().await.in_store(self)?;
        let newest = self.newest_in(&mut tx, id).await?;
        tx.commit().await.in_store(self)?;
        Ok(newest.map(|(number, text)| NewestRevision { number, text }))
    }

    /// What one revision's top-level fields are, name and digest of value: enough to name the
    /// fields a later one changed. On SQLite they are taken where the text lies
    /// (`cer_field_digests`), not read out (a 30 MB revision costs several copies of it);
    /// `None` when the call or that revision is not stored (any more).
    pub async fn revision_fields(
        &self,
        id: &str,
        number: i64,
    ) -> Result<Option<FieldDigests>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT cer_field_digests(report) FROM cer_report_revisions \
                 WHERE conversation_space_id = $1 AND revision = $2"
            }
            Backend::Postgres => {
                "SELECT exact FROM cer_report_revisions \
                 WHERE conversation_space_id = $1 AND revision = $2"
            }
        };
        let read: Option<String> = sqlx::query_scalar(sql)
            .bind(id)
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .in_store(self)?;
        Ok(read.map(|read| match self.backend {
            Backend::Sqlite => FieldDigests::from_json(&read).unwrap_or_default(),
            Backend::Postgres => FieldDigests::of(&read),
        }))
    }

    /// Every revision of a call, oldest first.
    pub async fn revisions(&self, id: &str) -> Result<Vec<StoredRevision>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT revision, fetched_at, report FROM cer_report_revisions \
                 WHERE conversation_space_id = $1 ORDER BY revision"
            }
            Backend::Postgres => {
                "SELECT revision, to_char(fetched_at AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), exact FROM cer_report_revisions \
                 WHERE conversation_space_id = $1 ORDER BY revision"
            }
        };
        let rows = sqlx::query(sql)
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .in_store(self)?;
        rows.iter()
            .map(|row| {
                Ok(StoredRevision {
                    number: row.try_get(0)?,
                    fetched_at: row.try_get(1)?,
                    text: row.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .in_store(self)
    }

    async fn newest_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let exact = match self.backend {
            Backend::Sqlite => "v.report",
            Backend::Postgres => "v.exact",
        };
        let report = match self.backend {
            Backend::Sqlite => "r.report",
            Backend::Postgres => "r.report::text",
        };
        // A report stored before revisions were kept has no revision row: its own text.
        let sql = format!(
            "SELECT r.revision, COALESCE({exact}, {report}) FROM cer_reports r \
             LEFT JOIN cer_report_revisions v ON v.conversation_space_id = r.conversation_space_id \
             AND v.revision = r.revision WHERE r.conversation_space_id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .in_store(self)?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
            .in_store(self)
    }

    pub(super) async fn insert_row(
        &self,
        tx: &mut Transaction<'_, Any>,
        row: &ReportRow,
    ) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO cer_reports (conversation_space_id, account_key, call_created, \
                 call_answered, call_ended, direction, outcome, caller_name, caller_number, \
                 duration_seconds, report, stored_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, cer_report_text($11), $12) \
                 ON CONFLICT (conversation_space_id) DO NOTHING"
            }
            Backend::Postgres => {
                "INSERT INTO cer_reports (conversation_space_id, account_key, call_created, \
                 call_answered, call_ended, direction, outcome, caller_name, caller_number, \
                 duration_seconds, report, stored_at) \
                 VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5::timestamptz, $6, $7, $8, \
                 $9, $10, $11::jsonb, $12::timestamptz) \
                 ON CONFLICT (conversation_space_id) DO NOTHING"
            }
        };
        let handed = self.handed(&row.report);
        let done = self
            .bind_columns(sqlx::query(sql), row, handed.as_ref())
            .bind(&row.stored_at)
            .execute(&mut **tx)
            .await
            .in_store(self)?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest revision's columns and payload on its `cer_reports` row.
    async fn update_row(
        &self,
        tx: &mut Transaction<'_, Any>,
        row: &ReportRow,
        revision: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "UPDATE cer_reports SET account_key = $2, call_created = $3, call_answered = $4, \
                 call_ended = $5, direction = $6, outcome = $7, caller_name = $8, \
                 caller_number = $9, duration_seconds = $10, report = cer_report_text($11), \
                 revision = $12, updated_at = $13 WHERE conversation_space_id = $1"
            }
            Backend::Postgres => {
                "UPDATE cer_reports SET account_key = $2, call_created = $3::timestamptz, \
                 call_answered = $4::timestamptz, call_ended = $5::timestamptz, direction = $6, \
                 outcome = $7, caller_name = $8, caller_number = $9, duration_seconds = $10, \
                 report = $11::jsonb, revision = $12, updated_at = $13::timestamptz \
                 WHERE conversation_space_id = $1"
            }
        };
        let handed = self.handed(&row.report);
        self.bind_columns(sqlx::query(sql), row, handed.as_ref())
            .bind(revision)
            .bind(super::row::utc_text(now))
            .execute(&mut **tx)
            .await
            .map(drop)
            .in_store(self)
    }

    /// Binds `$1` to `$11`: the row's key, its columns and its queryable payload (on SQLite
    /// the key `cer_report_text` reads it by), in the order both the insert and the update name
    /// them.
    fn bind_columns<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        row: &'q ReportRow,
        handed: Option<&HandedText>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        let query = query
            .bind(&row.conversation_space_id)
            .bind(&row.account_key)
            .bind(&row.call_created)
            .bind(&row.call_answered)
            .bind(&row.call_ended)
            .bind(&row.direction)
            .bind(&row.outcome)
            .bind(&row.caller_name)
            .bind(&row.caller_number)
            .bind(row.duration_seconds);
        if let Some(handed) = handed {
            return query.bind(handed.key());
        }
        // PostgreSQL's jsonb holds no NUL character: the queryable column reads U+FFFD there.
        match jsonb_text(row.report.text()) {
            std::borrow::Cow::Borrowed(text) => query.bind(text),
            std::borrow::Cow::Owned(text) => query.bind(text),
        }
    }

    /// On SQLite, the report handed to the statement about to run (see [`HandedText`]);
    /// PostgreSQL takes its text as a bound value.
    fn handed(&self, report: &Report) -> Option<HandedText> {
        (self.backend == Backend::Sqlite).then(|| HandedText::new(report))
    }

    async fn insert_revision(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        revision: i64,
        report: &Report,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let fetched_at = super::row::utc_text(now);
        let handed = self.handed(report);
        let text = report.text();
        let query = match &handed {
            Some(handed) => sqlx::query(
                "INSERT INTO cer_report_revisions (conversation_space_id, revision, report, \
                 fetched_at) VALUES ($1, $2, cer_report_text($3), $4) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(revision)
            .bind(handed.key())
            .bind(fetched_at),
            // The exact text is sent once and serves both columns, unless jsonb needs a NUL
            // replaced: then `$3` carries jsonb's version.
            None => sqlx::query(
                "INSERT INTO cer_report_revisions (conversation_space_id, revision, report, \
                 exact, fetched_at) VALUES ($1, $2, COALESCE($3, $4)::jsonb, $4, \
                 $5::timestamptz) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(revision)
            .bind(match jsonb_text(text) {
                std::borrow::Cow::Borrowed(_) => None,
                std::borrow::Cow::Owned(replaced) => Some(replaced),
            })
            .bind(text)
            .bind(fetched_at),
        };
        query.execute(&mut **tx).await.map(drop).in_store(self)
    }
}
