//! `tracing` logs on stderr, at `LOG_LEVEL` / `-v` / `-q`, cer's own events only: as text for
//! people, or with `--log-format json` / `LOG_FORMAT=json` one JSON object per line for log
//! collectors.
//!
//! Other crates are held at `warn` whatever the level, because HTTP and TLS libraries log
//! connection details at trace level that cer cannot vouch for; cer's own events never carry a
//! secret (tokens travel as [`crate::secret::Secret`]). sqlx is silenced at every level: its
//! warnings quote connection parameters with their values (`sslpassword=…`) and `.pgpass`
//! lines, and cer reports every store failure itself, with the secrets hidden.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines look on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, message, fields, target.
    Json,
}

/// Which events pass: cer's own at `level`, sqlx's none (a target matches by prefix, so `sqlx`
/// also covers `sqlx_core`, `sqlx_postgres` and `sqlx_sqlite`), everything else at `warn`.
/// Fixed targets need no directive parser: `Targets`, not `EnvFilter` and its regex engine,
/// which was a tenth of a first build's compile time.
fn filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("sqlx", LevelFilter::OFF)
        .with_target("cer", level)
}

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored).
pub fn init(level: LevelFilter, color: bool, format: LogFormat) {
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter(level));
    let result = match format {
        LogFormat::Json => registry
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_target(true),
            )
            .try_init(),
        LogFormat::Text => {
            let layer = layer
                .with_ansi(color)
                .with_target(level >= LevelFilter::DEBUG);
            if level >= LevelFilter::DEBUG {
                registry.with(layer).try_init()
            } else {
                registry.with(layer.without_time()).try_init()
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
        for level in [LevelFilter::ERROR, LevelFilter::INFO, LevelFilter::TRACE] {
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let writer = Capture(seen.clone());
            let subscriber = tracing_subscriber::registry()
                .with(filter(level))
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
