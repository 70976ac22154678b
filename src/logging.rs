//! `tracing` logs on stderr, at `LOG_LEVEL` / `-v` / `-q`, cer's own events only: as text for
//! people, or with `--log-format json` / `LOG_FORMAT=json` one JSON object per line for log
//! collectors.
//!
//! Other crates are held at `warn` whatever the level, because HTTP and TLS libraries log
//! connection details at trace level that cer cannot vouch for; cer's own events never carry a
//! secret (tokens travel as [`crate::secret::Secret`]). sqlx is silenced at every level: its
//! warnings quote connection parameters with their values (`sslpassword=…`) and `.pgpass`
//! lines, and cer reports every store failure itself, with the secrets hidden.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

/// How log lines look on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, message, fields, target.
    Json,
}

/// Set once JSON logs are on, so every other stderr line (status, warnings, errors) is also
/// written as a JSON log event rather than as bare text.
static JSON_LINES: AtomicBool = AtomicBool::new(false);

/// Whether stderr carries JSON objects only.
pub fn json_lines() -> bool {
    JSON_LINES.load(Ordering::Relaxed)
}

/// The filter directives: cer's own events at `level`, sqlx's none (a target directive
/// matches by prefix, so `sqlx` also covers `sqlx_core`, `sqlx_postgres` and `sqlx_sqlite`),
/// everything else at `warn`.
fn filter(level: LevelFilter) -> String {
    format!("warn,sqlx=off,cer={level}")
}

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored).
pub fn init(level: LevelFilter, color: bool, format: LogFormat) {
    let filter = EnvFilter::new(filter(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => {
            let result = builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_target(true)
                .try_init();
            JSON_LINES.store(result.is_ok(), Ordering::Relaxed);
            result
        }
        LogFormat::Text => {
            let builder = builder
                .with_ansi(color)
                .with_target(level >= LevelFilter::DEBUG);
            if level >= LevelFilter::DEBUG {
                builder.try_init()
            } else {
                builder.without_time().try_init()
            }
        }
    };
    drop(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlx_is_silent_at_every_level() {
        use tracing_subscriber::layer::SubscriberExt as _;
        for level in [LevelFilter::ERROR, LevelFilter::INFO, LevelFilter::TRACE] {
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let writer = Capture(seen.clone());
            let subscriber = tracing_subscriber::registry()
                .with(EnvFilter::new(filter(level)))
                .with(tracing_subscriber::fmt::layer().with_writer(move || writer.clone()));
            tracing::subscriber::with_default(subscriber, || {
                tracing::error!(target: "sqlx_postgres::options::parse", "sslpassword=SECRET3");
                tracing::warn!(target: "sqlx::query", "password=SECRET2");
                tracing::error!(target: "sqlx_core::pool::inner", "SECRETPW");
                tracing::warn!(target: "hyper", "kept");
            });
            let text = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
            assert!(!text.contains("SECRET"), "at {level}: {text}");
            assert!(text.contains("kept"), "at {level}: {text}");
        }
    }

    #[derive(Clone)]
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
