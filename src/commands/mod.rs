//! One file per command. Each takes typed settings and the shared context and returns its
//! exit status; `errors` turns a failure into the exit status and a hint.

mod archived;
pub mod completions;
mod context;
pub mod deliveries;
pub mod fetch;
mod fetch_wait;
pub mod listen;
pub mod login;
pub mod logout;
pub mod recording;
pub mod sandbox;
pub mod show;
mod signals;
pub mod status;
pub mod summaries;
pub mod sync;
mod sync_archive;
mod sync_archive_check;
mod sync_check;
pub mod token;

pub use context::Context;
use context::Simulator;

use crate::cli::{Command, GlobalArgs};
use crate::exit_status::ExitStatus;
use crate::output::Output;
use crate::settings::context::GotoAccess;
use crate::settings::deliveries::DeliveriesSettings;
use crate::settings::fetch::FetchSettings;
use crate::settings::listen::ListenSettings;
use crate::settings::login::LoginSettings;
use crate::settings::logout::LogoutSettings;
use crate::settings::recording::RecordingSettings;
use crate::settings::sandbox::SandboxSettings;
use crate::settings::show::ShowSettings;
use crate::settings::status::StatusSettings;
use crate::settings::summaries::SummariesSettings;
use crate::settings::sync::SyncSettings;
use crate::settings::{Settings, Sources};

/// Runs one command to completion. With `--sandbox`, the simulator starts first and the
/// settings are resolved again under the layer of sources that points them at it, before the
/// context or any command's settings read them, so every command sees the same sandbox.
pub async fn run(
    command: Command,
    global: &GlobalArgs,
    sources: Sources,
    settings: Settings,
    output: Output,
) -> anyhow::Result<ExitStatus> {
    let command = match command {
        Command::Completions(args) => return completions::run(args.shell, &output),
        Command::Sandbox(args) => {
            return sandbox::run(SandboxSettings::resolve(&args)?, &output).await;
        }
        command => command,
    };
    let simulator = if settings.sandbox {
        Some(Simulator::start(&settings).await?)
    } else {
        None
    };
    let settings = match &simulator {
        Some(simulator) => Settings::resolve(global, &sources.with_sandbox(simulator.layer()?))?,
        None => settings,
    };
    let context = Context::new(GotoAccess::resolve(&settings)?, output, simulator).await?;
    dispatch(command, &settings, &context).await
}

/// Resolves the command's own settings from the global ones and runs it with the context.
async fn dispatch(
    command: Command,
    settings: &Settings,
    context: &Context,
) -> anyhow::Result<ExitStatus> {
    let local = || settings.time_zone.clone();
    let terminal = context.output.stdout_is_terminal();
    match command {
        // Both ran before the context was made, without one.
        Command::Completions(_) | Command::Sandbox(_) => Ok(ExitStatus::Success),
        Command::Fetch(args) => fetch::run(FetchSettings::resolve(&args)?, context).await,
        Command::Summaries(args) => {
            let now = jiff::Timestamp::now();
            let summaries = SummariesSettings::resolve(&args, settings, now, local())?;
            summaries::run(summaries, context).await
        }
        Command::Status(args) => {
            status::run(StatusSettings::resolve(&args, settings), context).await
        }
        Command::Token => token::run(context).await,
        Command::Logout => logout::run(LogoutSettings::resolve(settings), context).await,
        Command::Login(args) => login::run(LoginSettings::resolve(&args, settings)?, context).await,
        Command::Listen(args) => {
            let listen = ListenSettings::resolve(&args, settings, terminal)?;
            listen::run(listen, context).await
        }
        Command::Show(args) => {
            show::run(ShowSettings::resolve(&args, settings, local())?, context).await
        }
        Command::Recording(args) => {
            let recording = RecordingSettings::resolve(&args, settings, terminal)?;
            recording::run(recording, context).await
        }
        Command::Sync(args) => {
            let now = jiff::Timestamp::now();
            let sync = SyncSettings::resolve(&args, settings, now, local())?;
            sync::run(sync, context).await
        }
        Command::Deliveries(args) => {
            deliveries::run(DeliveriesSettings::resolve(&args, settings)?, context).await
        }
    }
}
