//! `tracing` logs on stderr, at `LOG_LEVEL` / `-v` / `-q`, cer's own events only: as text for
//! people, or with `--log-format json` / `LOG_FORMAT=json` one JSON object per line for log
//! collectors.
//!
//! Other crates are held at `warn` whatever the level, because HTTP and TLS libraries log
//! connection details at trace level that cer cannot vouch for; cer's own events never carry a
//! secret (tokens travel as [`crate::secret::Secret`]).

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

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored).
pub fn init(level: LevelFilter, color: bool, format: LogFormat) {
    let filter = EnvFilter::new(format!("warn,cer={level}"));
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
