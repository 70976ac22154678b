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

use crate::cli::{Command, GlobalArgs};
use crate::exit_status::ExitStatus;
use crate::output::Output;
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

/// Runs one command to completion. The context, and with it `--sandbox`, is set up before any
/// command resolves its own settings, so every command sees the same sandbox settings.
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
    let context = Context::new(global, sources, settings, output).await?;
    let settings = &context.settings;
    let local = || settings.time_zone.clone();
    match command {
        // Both ran above, without a context.
        Command::Completions(_) | Command::Sandbox(_) => Ok(ExitStatus::Success),
        Command::Fetch(args) => fetch::run(FetchSettings::resolve(&args)?, &context).await,
        Command::Summaries(args) => {
            let now = jiff::Timestamp::now();
            let summaries = SummariesSettings::resolve(&args, settings, now, local())?;
            summaries::run(summaries, &context).await
        }
        Command::Status(args) => {
            status::run(StatusSettings::resolve(&args, settings), &context).await
        }
        Command::Token => token::run(&context).await,
        Command::Logout => logout::run(LogoutSettings::resolve(settings), &context).await,
        Command::Login(args) => {
            login::run(LoginSettings::resolve(&args, settings)?, &context).await
        }
        Command::Listen(args) => {
            let terminal = context.output.stdout_is_terminal();
            let listen = ListenSettings::resolve(&args, settings, terminal)?;
            listen::run(listen, &context).await
        }
        Command::Show(args) => {
            show::run(ShowSettings::resolve(&args, settings, local())?, &context).await
        }
        Command::Recording(args) => {
            let terminal = context.output.stdout_is_terminal();
            let recording = RecordingSettings::resolve(&args, settings, terminal)?;
            recording::run(recording, &context).await
        }
        Command::Sync(args) => {
            let now = jiff::Timestamp::now();
            let sync = SyncSettings::resolve(&args, settings, now, local())?;
            sync::run(sync, &context).await
        }
        Command::Deliveries(args) => {
            deliveries::run(DeliveriesSettings::resolve(&args, settings)?, &context).await
        }
    }
}
