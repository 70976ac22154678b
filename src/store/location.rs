//! Where the store is (`--store` / `CER_STORE`): a SQLite file or a PostgreSQL URL, parsed
//! once, shown without its secrets (the password, and `?password=`, `?sslpassword=` or any
//! query parameter named like a secret), and turned into what sqlx connects to.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use super::{Backend, StoreError};

/// A parsed `--store` value.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`; the password, if any, stays inside the URL.
    Postgres(Url),
}

impl StoreLocation {
    /// Reads `sqlite:PATH`, `sqlite://PATH` or a `postgres[ql]://` URL.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::Location(format!("--store {}: {why}", shown_input(text)));
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(bad("the SQLite path is empty"));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
            return Ok(Self::Postgres(url));
        }
        Err(bad("expected sqlite:PATH or postgres://USER@HOST/DB"))
    }

    /// The default store: `sqlite:$CER_STATE_DIR/cer.db`.
    pub fn default_in(state_dir: &Path) -> Self {
        Self::Sqlite(state_dir.join("cer.db"))
    }

    /// `SQLite` or `PostgreSQL`, for messages.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// The SQL dialect spoken there.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// A SQLite file is written by one connection at a time anyway, so a second one is for a
    /// reader (health, a backfill) beside the writer; more only add a worker thread, its
    /// page cache and its malloc arena each, and writers that wait on SQLite's lock instead
    /// of in the pool. PostgreSQL gets a few.
    pub(super) fn max_connections(&self) -> u32 {
        match self {
            Self::Sqlite(_) => 2,
            Self::Postgres(_) => 8,
        }
    }

    /// SQLite connections are closed soon (idle, or after this long at all): a new one sees
    /// the file as it is now (made read-only, or writable again), where an old one keeps the
    /// access it opened with. Opening one costs well under a millisecond.
    pub(super) fn idle_timeout(&self) -> std::time::Duration {
        match self {
            Self::Sqlite(_) => std::time::Duration::from_secs(1),
            Self::Postgres(_) => std::time::Duration::from_secs(600),
        }
    }

    /// Whether the pool pings a connection before lending it. A SQLite file cannot go away
    /// under an open connection, and each ping is one more hand-off to the connection's
    /// worker thread on every report; a PostgreSQL server can restart, so it is asked.
    pub(super) fn ping_before_use(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    pub(super) fn connect_url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            Self::Postgres(url) => url.to_string(),
        }
    }

    /// Creates the SQLite file's folder, and the file itself with mode 0600, before sqlx
    /// opens it, so a report is never readable by others even for a moment.
    pub(super) fn prepare(&self) -> Result<(), PrepareError> {
        let Self::Sqlite(path) = self else {
            return Ok(());
        };
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|error| PrepareError::Folder {
                folder: folder.to_path_buf(),
                error,
            })?;
        }
        not_a_database(path)?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(path)
            .map(drop)
            .map_err(|error| PrepareError::File {
                path: path.clone(),
                error,
            })
    }
}

/// What every SQLite database file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A file at the store's path that is not empty and not an SQLite database (a text file, a
/// file of another program) is refused at once: SQLite only notices on the first statement,
/// and the pool then retries for its whole timeout and blames the connection.
fn not_a_database(path: &Path) -> Result<(), PrepareError> {
    use std::io::Read as _;
    let Ok(file) = std::fs::File::open(path) else {
        // Missing (it is created next), or unreadable (opening it says why).
        return Ok(());
    };
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    let read = file
        .take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut header);
    match read {
        Ok(0) => Ok(()),
        Ok(_) if header == SQLITE_HEADER => Ok(()),
        Ok(_) => Err(PrepareError::NotAStore {
            path: path.to_path_buf(),
        }),
        Err(error) => Err(PrepareError::File {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Why the SQLite file or its folder could not be made ready; it becomes the reason of a
/// [`StoreError::Open`], so the I/O error is part of the text rather than a separate source.
#[derive(Debug, thiserror::Error)]
pub(super) enum PrepareError {
    #[error("cannot create {}: {error}", .folder.display())]
    Folder {
        folder: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot open {}: {error}", .path.display())]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{} is not a cer store (the file is not an SQLite database); point --store or CER_STORE \
         at a cer store, or move the file away",
        .path.display()
    )]
    NotAStore { path: PathBuf },
}

impl fmt::Display for StoreLocation {
    /// The location for messages: every secret of a PostgreSQL URL is replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => write!(f, "{}", without_secrets(url)),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl StoreLocation {
    /// `text` with every secret of this location replaced by `***`, for a message that may
    /// quote what a driver was given (as written, and percent-decoded).
    pub(super) fn redact(&self, text: &str) -> String {
        let Self::Postgres(url) = self else {
            return text.to_string();
        };
        let mut secrets: Vec<String> = url
            .query_pairs()
            .filter(|(name, value)| secret_name(name) && !value.is_empty())
            .map(|(_, value)| value.into_owned())
            .collect();
        if let Some(password) = url.password() {
            secrets.push(password.to_string());
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                secrets.push(decoded.into_owned());
            }
        }
        // Longest first, so a secret that contains another is hidden whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets
            .iter()
            .fold(text.to_string(), |text, secret| text.replace(secret, "***"))
    }
}

/// Whether a connection parameter's name says it holds a secret: `password`, `sslpassword`,
/// and any other that names a password, secret, token or key.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

fn without_secrets(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    if url.query_pairs().any(|(name, _)| secret_name(&name)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret_name(&name) {
                    "***".to_string()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

/// The user's text for an error message, with its secrets hidden if it parses as a URL.
fn shown_input(text: &str) -> String {
    Url::parse(text)
        .map(|url| without_secrets(&url))
        .unwrap_or_else(|_| "(unreadable URL)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_kinds_and_hides_the_password() {
        let sqlite = StoreLocation::parse("sqlite:/tmp/x/cer.db").unwrap();
        assert_eq!(sqlite, StoreLocation::Sqlite("/tmp/x/cer.db".into()));
        let pg = StoreLocation::parse("postgres://cer:hunter2@db:5432/cer").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.to_string(), "postgres://cer:***@db:5432/cer");
        assert!(!format!("{pg:?}").contains("hunter2"));
        let err = StoreLocation::parse("mysql://a:hunter2@b/c").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(StoreLocation::parse("sqlite:").is_err());
    }

    #[test]
    fn secret_query_parameters_are_hidden_and_others_kept() {
        let pg = StoreLocation::parse(
            "postgres://u:SECRETPW@db/cer?sslmode=require&password=SECRET2\
             &sslpassword=SECRET3&api_token=SECRET4&application_name=cer",
        )
        .unwrap();
        let shown = pg.to_string();
        assert_eq!(
            shown,
            "postgres://u:***@db/cer?sslmode=require&password=***&sslpassword=***\
             &api_token=***&application_name=cer"
        );
        let quoted = "failed: u:SECRETPW SECRET2 SECRET3 SECRET4 cer";
        assert_eq!(pg.redact(quoted), "failed: u:*** *** *** *** cer");
        let err = StoreLocation::parse("mysql://a@b/c?password=SECRET2").unwrap_err();
        assert!(!err.to_string().contains("SECRET2"), "{err}");
        let encoded = StoreLocation::parse("postgres://u:p%40ss@db/cer").unwrap();
        assert_eq!(encoded.redact("p@ss and p%40ss"), "*** and ***");
    }

    #[test]
    fn prepare_makes_a_private_file_and_names_what_it_could_not_make() {
        let dir = tempfile::tempdir().unwrap();
        let fine = StoreLocation::Sqlite(dir.path().join("new/cer.db"));
        fine.prepare().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("new/cer.db")).unwrap();
            assert_eq!(mode.permissions().mode() & 0o777, 0o600);
        }
        let file = dir.path().join("plain");
        std::fs::write(&file, b"").unwrap();
        let under_a_file = StoreLocation::Sqlite(file.join("cer.db"));
        let err = under_a_file.prepare().unwrap_err();
        assert!(matches!(err, PrepareError::Folder { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot create {}: ", file.display())),
            "{err}"
        );
        let a_folder = StoreLocation::Sqlite(dir.path().join("new"));
        let err = a_folder.prepare().unwrap_err();
        assert!(matches!(err, PrepareError::File { .. }), "{err}");
        assert!(err.to_string().starts_with("cannot open "), "{err}");
        assert!(
            StoreLocation::Postgres(Url::parse("postgres://h/d").unwrap())
                .prepare()
                .is_ok()
        );
    }
}
