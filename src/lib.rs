//! cer: a command-line client for GoTo Connect Call Events Reports, and its GoTo simulator.
//!
//! Layers, from the outside in: [`cli`] (flags), `settings` (resolved values), `commands`
//! (one file per command), then `api` (GoTo HTTP and WebSocket), `auth` (tokens),
//! [`output`] (what reaches the terminal). The simulator is the `cer-sandbox` crate of this
//! workspace, which cannot import any of this.

// The public modules are what the binary, the integration tests and the benchmarks reach
// through `cer::`; the rest are the binary's own internals, visible to the crate only, and
// tested beside their code (the listen engine and the API client against the simulator too).
mod api;
pub mod archive;
mod auth;
pub mod cli;
pub mod clock;
mod commands;
mod errors;
mod escape;
pub mod events;
mod exit_status;
mod glance;
mod listen;
mod logging;
mod net;
pub mod outcome;
pub mod output;
pub mod report;
pub mod secret;
mod service;
mod settings;
pub mod store;
mod summary_view;
pub mod target;
pub mod time_scale;
mod workers;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::level_filters::LevelFilter;

use crate::errors::UsageError;
use crate::exit_status::ExitStatus;
use crate::output::{Output, Sinks, Style, Terminals};
use crate::settings::{Settings, Sources};

/// Runs cer with the process's arguments, environment and streams; returns the exit code.
pub fn main() -> ExitCode {
    service::memory::big_allocations_from_the_os();
    let world = World {
        sinks: Sinks::process(),
        terminals: Terminals::detect,
        sources: Box::new(Sources::load),
        logs: Logs::Process,
    };
    ExitCode::from(run(std::env::args_os(), world))
}

/// Reads the variables of a run, given its `--env-file`.
type LoadSources = Box<dyn FnOnce(Option<&std::path::Path>) -> Result<Sources, UsageError>>;

/// What one run of cer reads from and writes to: the process's own in `main`, given ones in a
/// test that runs a command in-process.
struct World {
    sinks: Sinks,
    /// Which streams are terminals, given `CER_FORCE_TTY`.
    terminals: fn(Option<Terminals>) -> Terminals,
    /// The variables, given `--env-file`.
    sources: LoadSources,
    /// Where `tracing`'s lines go.
    logs: Logs,
}

/// Where a run's log lines go.
enum Logs {
    /// The process's stderr, through the global subscriber; clap prints its own messages.
    Process,
    /// The run's stderr buffer, through a subscriber of the test's thread.
    Captured(Buffer),
}

impl Logs {
    /// Starts logging in `style`; the guard ends a captured run's subscriber.
    fn start(&self, style: logging::LogStyle) -> Option<tracing::subscriber::DefaultGuard> {
        match self {
            Self::Process => {
                logging::init(style);
                None
            }
            Self::Captured(buffer) => {
                let buffer = buffer.clone();
                Some(logging::scoped(style, move || buffer.clone()))
            }
        }
    }
}

fn run(args: impl IntoIterator<Item = OsString>, world: World) -> ExitStatus {
    let cli = match cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return clap_error(&err, world),
    };
    let resolved = (world.sources)(cli.global.env_file.as_deref()).and_then(|sources| {
        Settings::resolve(&cli.global, &sources).map(|settings| (sources, settings))
    });
    let (sources, settings) = match resolved {
        Ok(resolved) => resolved,
        Err(err) => {
            // A log collector should get even a configuration error as JSON.
            let json = cli
                .global
                .log_format
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case("json"));
            let format = if json {
                logging::LogFormat::Json
            } else {
                logging::LogFormat::Text
            };
            let style = Style {
                terminals: (world.terminals)(None),
                color: output::ColorPolicy::Auto,
                verbosity: output::Verbosity::Normal,
                stderr: format,
            };
            let _logging = json.then(|| {
                let level = LevelFilter::ERROR;
                world.logs.start(logging::LogStyle {
                    level,
                    color: false,
                    format,
                })
            });
            return errors::report(&err.into(), &Output::new(world.sinks, style));
        }
    };
    let style = Style {
        terminals: (world.terminals)(settings.force_tty),
        color: settings.color,
        verbosity: settings.verbosity(),
        stderr: settings.log_format,
    };
    let output = Output::new(world.sinks, style);
    let _logging = world.logs.start(logging::LogStyle {
        level: settings.log_level,
        color: output.stderr_palette().enabled(),
        format: settings.log_format,
    });
    execute(cli, sources, settings, &output)
}

/// Runs the command on a runtime of its own and maps its result to the exit status.
/// The sources come along for `--sandbox`, whose layer the settings are resolved again under.
fn execute(cli: cli::Cli, sources: Sources, settings: Settings, output: &Output) -> ExitStatus {
    // One thread runs every task: cer waits on GoTo, the store and the terminal, never on
    // its own CPU, and each extra worker cost a malloc arena that kept what a burst of
    // reports left in it (`cargo bench --bench cer`: RSS and latency, see the README).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return errors::report(&err.into(), output),
    };
    let run = commands::run(cli.command, &cli.global, sources, settings, output.clone());
    let result = runtime.block_on(run);
    // Detached tasks (a hung keyring call, a socket) must not hold the exit back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(status) => status,
        Err(err) => errors::report(&err, output),
    }
}

/// Prints clap's own message (help, version, a usage error) and returns its exit status: 2 for
/// usage errors, which is the contract's code too; 0 for help.
fn clap_error(err: &clap::Error, world: World) -> ExitStatus {
    if matches!(world.logs, Logs::Process) {
        let _ = err.print();
    } else {
        let output = Output::new(world.sinks, Style::plain());
        let text = err.render().to_string();
        if err.use_stderr() {
            output.say(text);
        } else {
            let _ = output.data(text.as_bytes());
        }
    }
    match err.exit_code() {
        0 => ExitStatus::Success,
        _ => ExitStatus::Usage,
    }
}

/// What a run of cer inside this process printed, and its exit code.
#[derive(Debug)]
pub struct Captured {
    /// The exit code.
    pub code: u8,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// Runs cer in this process, for tests of what a command prints: `args` without the program's
/// name, and only the variables in `env` as the variables cer reads (a `.env` only through
/// `--env-file`); its log lines join its stderr. Neither stream is a terminal unless
/// `CER_FORCE_TTY` says so. What libraries ask of the process itself stays the process's:
/// clap's help width, a child process's environment (`$BROWSER`), the working folder.
pub fn run_captured(args: &[&str], env: &[(&str, &str)]) -> Captured {
    let stdout = Buffer::default();
    let stderr = Buffer::default();
    let variables = env
        .iter()
        .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
        .collect();
    let world = World {
        sinks: Sinks::new(Box::new(stdout.clone()), Box::new(stderr.clone())),
        terminals: |forced| forced.unwrap_or(Terminals::NONE),
        sources: Box::new(move |env_file| Sources::with_process(variables, env_file, false)),
        logs: Logs::Captured(stderr.clone()),
    };
    let argv = std::iter::once("cer")
        .chain(args.iter().copied())
        .map(OsString::from);
    let code = run(argv, world).code();
    Captured {
        code,
        stdout: stdout.text(),
        stderr: stderr.text(),
    }
}

/// A writer into shared bytes: the test keeps one handle, the output the other.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        held.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
