//! `tracing` logs for people: on stderr, at `LOG_LEVEL` / `-v` / `-q`, cer's own events only.
//!
//! Other crates are held at `warn` whatever the level, because HTTP and TLS libraries log
//! connection details at trace level that cer cannot vouch for; cer's own events never carry a
//! secret (tokens travel as [`crate::secret::Secret`]).

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored).
pub fn init(level: LevelFilter, color: bool) {
    let filter = EnvFilter::new(format!("warn,cer={level}"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(level >= LevelFilter::DEBUG);
    let result = if level >= LevelFilter::DEBUG {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
    drop(result);
}
