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

/// How a run's log lines look and where they go.
#[derive(Debug, Clone, Copy)]
pub struct LogStyle {
    /// Events of cer's own up to this level.
    pub level: LevelFilter,
    /// ANSI colour in text lines.
    pub color: bool,
    /// Text or JSON lines.
    pub format: LogFormat,
}

/// The subscriber of a run, writing its lines through `writer`.
fn subscriber<W>(style: LogStyle, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter(style.level));
    let debug = style.level >= LevelFilter::DEBUG;
    match style.format {
        LogFormat::Json => Box::new(
            registry.with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_target(true),
            ),
        ),
        LogFormat::Text if debug => {
            Box::new(registry.with(layer.with_ansi(style.color).with_target(true)))
        }
        LogFormat::Text => Box::new(
            registry.with(
                layer
                    .with_ansi(style.color)
                    .with_target(false)
                    .without_time(),
            ),
        ),
    }
}

/// Installs the process's subscriber, on stderr. Calling it twice is harmless (the second
/// call is ignored).
pub fn init(style: LogStyle) {
    drop(subscriber(style, std::io::stderr).try_init());
}

/// A subscriber for this thread only, writing through `writer`, until the guard is dropped:
/// a run inside a test gets its log lines with the rest of its stderr.
pub fn scoped<W>(style: LogStyle, writer: W) -> tracing::subscriber::DefaultGuard
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    subscriber(style, writer).set_default()
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
