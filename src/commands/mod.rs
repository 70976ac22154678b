//! One file per command. Each takes typed settings and the shared context and returns a
//! result; `errors` turns a failure into the exit code.

pub mod completions;
mod context;
pub mod deliveries;
pub mod fetch;
mod fetch_wait;
pub mod listen;
pub mod login;
pub mod logout;
pub mod sandbox;
pub mod show;
mod signals;
pub mod status;
pub mod summaries;
pub mod sync;
mod sync_check;
pub mod token;

pub use context::Context;

use crate::cli::Command;
use crate::output::Output;
use crate::settings::Settings;
use crate::settings::commands::{
    FetchSettings, ListenSettings, LoginSettings, SandboxSettings, SummariesSettings,
};
use crate::settings::store::{DeliveriesSettings, SyncSettings};

/// Runs one command to completion.
pub async fn run(command: Command, settings: Settings, output: Output) -> anyhow::Result<()> {
    match command {
        Command::Completions(args) => completions::run(args.shell, &output),
        Command::Fetch(args) => {
            let fetch = FetchSettings::resolve(&args)?;
            fetch::run(fetch, &Context::new(settings, output).await?).await
        }
        Command::Summaries(args) => {
            let context = Context::new(settings, output).await?;
            let summaries = SummariesSettings::resolve(
                &args,
                &context.settings,
                jiff::Timestamp::now(),
                jiff::tz::TimeZone::system(),
            )?;
            summaries::run(summaries, &context).await
        }
        Command::Status(args) => {
            status::run(args.check, &Context::new(settings, output).await?).await
        }
        Command::Token => token::run(&Context::new(settings, output).await?).await,
        Command::Logout => logout::run(&Context::new(settings, output).await?).await,
        Command::Login(args) => {
            let browser_variable = std::env::var_os("BROWSER").is_some_and(|b| !b.is_empty());
            let login = LoginSettings::resolve(&args, &settings, browser_variable)?;
            login::run(login, &Context::new(settings, output).await?).await
        }
        Command::Listen(args) => {
            let context = Context::new(settings, output).await?;
            let terminal = context.output.stdout_is_terminal();
            let listen = ListenSettings::resolve(&args, &context.settings, terminal)?;
            listen::run(listen, &context).await
        }
        Command::Show(args) => {
            let context = Context::new(settings, output).await?;
            let local = jiff::tz::TimeZone::system();
            let show =
                crate::settings::show::ShowSettings::resolve(&args, &context.settings, local)?;
            show::run(show, &context).await
        }
        Command::Sandbox(args) => sandbox::run(SandboxSettings::resolve(&args)?, &output).await,
        Command::Sync(args) => {
            let now = jiff::Timestamp::now();
            let sync = SyncSettings::resolve(&args, &settings, now, jiff::tz::TimeZone::system())?;
            sync::run(sync, &Context::new(settings, output).await?).await
        }
        Command::Deliveries(args) => {
            let deliveries = DeliveriesSettings::resolve(&args, &settings)?;
            deliveries::run(deliveries, &Context::new(settings, output).await?).await
        }
    }
}
