//! Everything cer prints goes through [`Output`]: data to stdout, everything else to stderr,
//! coloured only where the colour policy allows, and never a byte of chatter on stdout.

// Only `text` is reached from outside (the tests measure widths with it); the rest serves
// cer's own commands.
pub(crate) mod closed_pipe;
pub(crate) mod delivery_line;
use crate::escape;
pub(crate) mod glance;
pub(crate) mod json;
mod palette;
pub(crate) mod party;
pub(crate) mod progress;
pub(crate) mod report_line;
pub(crate) mod revision_line;
pub(crate) mod show;
pub(crate) mod summaries;
pub(crate) mod table;
pub mod text;
pub(crate) mod time;
pub(crate) mod width;

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

pub(crate) use palette::Palette;

/// The `--color` policy once flags and variables are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorPolicy {
    Auto,
    Always,
    Never,
}

/// Which streams are terminals. Tests fake a terminal with `CER_FORCE_TTY=stdout|stderr|both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Terminals {
    pub stdout: bool,
    pub stderr: bool,
}

impl Terminals {
    /// Neither stream is a terminal: what a test's buffers are.
    pub const NONE: Self = Self {
        stdout: false,
        stderr: false,
    };

    /// Asks the OS, unless `forced` (`CER_FORCE_TTY`) says otherwise.
    pub fn detect(forced: Option<Self>) -> Self {
        forced.unwrap_or_else(|| Self {
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
        })
    }

    /// What `CER_FORCE_TTY=stdout|stderr|both` says, if it says anything.
    pub fn forced(forced: Option<&str>) -> Option<Self> {
        let (stdout, stderr) = match forced? {
            "stdout" => (true, false),
            "stderr" => (false, true),
            "both" => (true, true),
            _ => return None,
        };
        Some(Self { stdout, stderr })
    }
}

/// Where [`Output`] writes: the process's own streams in `main`, buffers in tests, so a test
/// can run a command in-process and read what it printed.
pub struct Sinks {
    stdout: Mutex<Box<dyn Write + Send>>,
    stderr: Mutex<Box<dyn Write + Send>>,
}

impl Sinks {
    /// The process's stdout and stderr.
    pub fn process() -> Self {
        Self::new(Box::new(std::io::stdout()), Box::new(std::io::stderr()))
    }

    /// Any two writers (a test's buffers).
    pub fn new(stdout: Box<dyn Write + Send>, stderr: Box<dyn Write + Send>) -> Self {
        Self {
            stdout: Mutex::new(stdout),
            stderr: Mutex::new(stderr),
        }
    }

    fn stdout(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        // A writer that panicked mid-line leaves nothing to protect: keep writing.
        self.stdout.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stderr(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sinks")
    }
}

/// The handle commands print through. Cheap to clone; safe to share between tasks.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sinks: Sinks,
    terminals: Terminals,
    stdout_palette: Palette,
    stderr_palette: Palette,
    show_status: bool,
    show_warnings: bool,
    json_logs: bool,
}

/// How an [`Output`] behaves, resolved from flags and variables before it is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub terminals: Terminals,
    pub color: ColorPolicy,
    pub verbosity: Verbosity,
    /// Text for a person, or JSON log events (`--log-format json`) so that a log collector
    /// never meets a bare text line on stderr.
    pub stderr: crate::logging::LogFormat,
}

impl Style {
    /// No terminal, no colour, text: for messages written before any setting is known.
    pub fn plain() -> Self {
        Self {
            terminals: Terminals::NONE,
            color: ColorPolicy::Never,
            verbosity: Verbosity::Normal,
            stderr: crate::logging::LogFormat::Text,
        }
    }
}

/// How chatty stderr may be, from the log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verbosity {
    Errors,
    Warnings,
    Normal,
}

impl Output {
    /// An output writing to `sinks` in `style`.
    pub fn new(sinks: Sinks, style: Style) -> Self {
        let palette_for = |is_tty: bool| {
            Palette::new(match style.color {
                ColorPolicy::Always => true,
                ColorPolicy::Never => false,
                ColorPolicy::Auto => is_tty,
            })
        };
        Self {
            inner: Arc::new(Inner {
                sinks,
                terminals: style.terminals,
                stdout_palette: palette_for(style.terminals.stdout),
                stderr_palette: palette_for(style.terminals.stderr),
                show_status: style.verbosity >= Verbosity::Normal,
                show_warnings: style.verbosity >= Verbosity::Warnings,
                json_logs: style.stderr == crate::logging::LogFormat::Json,
            }),
        }
    }

    /// Whether stderr carries JSON log events only.
    pub fn json_logs(&self) -> bool {
        self.inner.json_logs
    }

    pub fn stdout_is_terminal(&self) -> bool {
        self.inner.terminals.stdout
    }

    pub fn stderr_is_terminal(&self) -> bool {
        self.inner.terminals.stderr
    }

    /// Styles for text written to stdout.
    pub fn stdout_palette(&self) -> Palette {
        self.inner.stdout_palette
    }

    /// Styles for text written to stderr.
    pub fn stderr_palette(&self) -> Palette {
        self.inner.stderr_palette
    }

    /// Writes data to stdout and flushes, so a reader of a pipe sees each record as it comes.
    /// A closed pipe comes back as `BrokenPipe`, which ends cer quietly with exit 0.
    pub fn data(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut stdout = self.inner.sinks.stdout();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    /// Writes one line of data to stdout, its end added here rather than to a copy of it
    /// (a report's line can be 32 MiB), and flushes.
    pub fn data_line(&self, line: &str) -> std::io::Result<()> {
        let mut stdout = self.inner.sinks.stdout();
        stdout.write_all(line.as_bytes())?;
        stdout.write_all(b"\n")?;
        stdout.flush()
    }

    /// Whether status lines are shown at this verbosity.
    pub fn shows_status(&self) -> bool {
        self.inner.show_status
    }

    /// A status line on stderr for a person (`Ready`, reconnects); hidden by `-q`.
    pub fn status(&self, message: impl AsRef<str>) {
        if self.inner.show_status {
            if self.inner.json_logs {
                tracing::info!("{}", message.as_ref());
                return;
            }
            self.stderr_line(message.as_ref());
        }
    }

    /// A warning on stderr; hidden only by `-qq`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.inner.show_warnings {
            if self.inner.json_logs {
                tracing::warn!("{}", message.as_ref());
                return;
            }
            let label = self.inner.stderr_palette.warning("warning:");
            self.stderr_line(&format!("{label} {}", message.as_ref()));
        }
    }

    /// An error line on stderr for one item of a command that goes on with the others;
    /// shown at every verbosity, like the final error.
    pub fn error(&self, message: impl AsRef<str>) {
        if self.inner.json_logs {
            tracing::error!("{}", message.as_ref());
            return;
        }
        let label = self.inner.stderr_palette.error("error:");
        self.stderr_line(&format!("{label} {}", message.as_ref()));
    }

    /// A hint line on stderr, after an error.
    pub fn hint(&self, message: impl AsRef<str>) {
        if self.inner.json_logs {
            tracing::info!(hint = message.as_ref(), "hint");
            return;
        }
        let label = self.inner.stderr_palette.hint("hint:");
        self.stderr_line(&format!("{label} {}", message.as_ref()));
    }

    /// Text a person must see whatever the verbosity (the login URL, a question), written as it
    /// is: the caller ends its lines.
    pub fn say(&self, text: impl AsRef<str>) {
        let mut stderr = self.inner.sinks.stderr();
        // A closed stderr must not turn into a failure of the command itself.
        let _ = stderr.write_all(text.as_ref().as_bytes());
        let _ = stderr.flush();
    }

    fn stderr_line(&self, line: &str) {
        self.say(format!("{line}\n"));
    }
}
