//! cer: a command-line client for GoTo Connect Call Events Reports, and its GoTo simulator.
//!
//! Layers, from the outside in: [`cli`] (flags), `settings` (resolved values), `commands`
//! (one file per command), then [`api`] (GoTo HTTP and WebSocket), [`auth`] (tokens),
//! [`output`] (what reaches the terminal). The simulator is the `cer-sandbox` crate of this
//! workspace, which cannot import any of this.

// The public modules are what the binary, the integration tests and the benchmarks reach
// through `cer::`; the rest are the binary's own internals, visible to the crate only.
pub mod api;
pub mod auth;
pub mod cli;
mod commands;
mod delivery;
mod errors;
mod escape;
mod glance;
pub mod listen;
mod logging;
mod net;
pub mod outcome;
pub mod output;
pub mod secret;
mod service;
mod settings;
pub mod store;
mod summary_view;
pub mod target;

use std::process::ExitCode;

use tracing::level_filters::LevelFilter;

use crate::output::{Output, Terminals};
use crate::settings::{Settings, Sources};

/// Runs cer with the process's arguments and environment; returns the exit code.
pub fn main() -> ExitCode {
    let cli = match cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // clap uses 2 for usage errors, which is the contract's code too; help is 0.
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(errors::code::USAGE));
        }
    };
    let sources = Sources::load(cli.global.env_file.as_deref());
    let settings = sources.and_then(|sources| Settings::resolve(&cli.global, &sources));
    let settings = match settings {
        Ok(settings) => settings,
        Err(err) => {
            let output = Output::new(
                Terminals::detect(None),
                output::ColorPolicy::Auto,
                output::Verbosity::Normal,
            );
            if cli.global.log_format.as_deref() == Some("json") {
                // A log collector should get even a configuration error as JSON.
                logging::init(LevelFilter::ERROR, false, logging::LogFormat::Json);
            }
            return errors::report(&err.into(), output.stderr_palette());
        }
    };
    let output = Output::new(
        Terminals::detect(settings.force_tty.as_deref()),
        settings.color,
        settings.verbosity(),
    );
    logging::init(
        settings.log_level,
        output.stderr_palette().enabled(),
        settings.log_format,
    );
    // One thread runs every task: cer waits on GoTo, the store and the terminal, never on
    // its own CPU, and each extra worker cost a malloc arena that kept what a burst of
    // reports left in it (`cargo bench --bench cer`: RSS and latency, see the README).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return errors::report(&err.into(), output.stderr_palette()),
    };
    let result = runtime.block_on(commands::run(cli.command, settings, output.clone()));
    // Detached tasks (a hung keyring call, a socket) must not hold the exit back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => errors::report(&err, output.stderr_palette()),
    }
}
