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
use std::sync::Arc;

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
    /// Asks the OS, unless `forced` (the value of `CER_FORCE_TTY`) says otherwise.
    pub fn detect(forced: Option<&str>) -> Self {
        match forced {
            Some("stdout") => Self {
                stdout: true,
                stderr: false,
            },
            Some("stderr") => Self {
                stdout: false,
                stderr: true,
            },
            Some("both") => Self {
                stdout: true,
                stderr: true,
            },
            _ => Self {
                stdout: std::io::stdout().is_terminal(),
                stderr: std::io::stderr().is_terminal(),
            },
        }
    }
}

/// The handle commands print through. Cheap to clone; safe to share between tasks.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    terminals: Terminals,
    stdout_palette: Palette,
    stderr_palette: Palette,
    show_status: bool,
    show_warnings: bool,
}

/// How chatty stderr may be, from the log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verbosity {
    Errors,
    Warnings,
    Normal,
}

impl Output {
    pub fn new(terminals: Terminals, color: ColorPolicy, verbosity: Verbosity) -> Self {
        let palette_for = |is_tty: bool| {
            Palette::new(match color {
                ColorPolicy::Always => true,
                ColorPolicy::Never => false,
                ColorPolicy::Auto => is_tty,
            })
        };
        Self {
            inner: Arc::new(Inner {
                terminals,
                stdout_palette: palette_for(terminals.stdout),
                stderr_palette: palette_for(terminals.stderr),
                show_status: verbosity >= Verbosity::Normal,
                show_warnings: verbosity >= Verbosity::Warnings,
            }),
        }
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
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    /// Whether status lines are shown at this verbosity.
    pub fn shows_status(&self) -> bool {
        self.inner.show_status
    }

    /// A status line on stderr for a person (`Ready`, reconnects); hidden by `-q`.
    pub fn status(&self, message: impl AsRef<str>) {
        if self.inner.show_status {
            if crate::logging::json_lines() {
                tracing::info!("{}", message.as_ref());
                return;
            }
            self.stderr_line(message.as_ref());
        }
    }

    /// A warning on stderr; hidden only by `-qq`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.inner.show_warnings {
            if crate::logging::json_lines() {
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
        if crate::logging::json_lines() {
            tracing::error!("{}", message.as_ref());
            return;
        }
        let label = self.inner.stderr_palette.error("error:");
        self.stderr_line(&format!("{label} {}", message.as_ref()));
    }

    /// A hint line on stderr, after an error.
    pub fn hint(&self, message: impl AsRef<str>) {
        if crate::logging::json_lines() {
            tracing::info!(hint = message.as_ref(), "hint");
            return;
        }
        let label = self.inner.stderr_palette.hint("hint:");
        self.stderr_line(&format!("{label} {}", message.as_ref()));
    }

    fn stderr_line(&self, line: &str) {
        // A closed stderr must not turn into a failure of the command itself.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}
