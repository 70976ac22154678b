//! `cer listen`: runs the listen engine and renders its events: reports to stdout (a human line
//! on a terminal, NDJSON otherwise), status and warnings to stderr, reports to webhooks; on
//! Ctrl-C or SIGTERM it asks the engine to clean up, and a second Ctrl-C exits 130 at once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};

use super::Context;
use super::signals::StopSignals;
use crate::errors::code;
use crate::listen::forward::Forwarder;
use crate::listen::{Engine, ListenEvent, SystemClock};
use crate::output::report_line::report_line;
use crate::settings::commands::ListenSettings;

pub async fn run(settings: ListenSettings, context: &Context) -> anyhow::Result<()> {
    let signals = StopSignals::register()?;
    let api = context.api();
    let (events, mut received) = mpsc::channel(64);
    let (stop, stop_requested) = watch::channel(false);
    let engine = Engine::new(api, settings.engine.clone(), events, Arc::new(SystemClock));
    let engine = tokio::spawn(engine.run(stop_requested));
    tokio::spawn(watch_signals(signals, stop.clone(), context.output.clone()));
    let forwarder = (!settings.forward_to.is_empty()).then(|| {
        Forwarder::spawn(
            context.http.clone(),
            settings.forward_to.clone(),
            settings.forward_headers.clone(),
            context.retry.base * 2,
        )
    });
    let mut render_failure = None;
    let stdout_closed = crate::output::closed_pipe::stdout_closed();
    tokio::pin!(stdout_closed);
    loop {
        let event = tokio::select! {
            event = received.recv() => event,
            () = &mut stdout_closed => {
                // The reader is gone (`| head -1`): stop now, quietly, like a failed write.
                let _ = stop.send(true);
                render_failure = Some(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
                break;
            }
        };
        let Some(event) = event else { break };
        if let Err(err) = render(event, &settings, context, forwarder.as_ref().map(|f| &f.0)) {
            // stdout is gone: stop listening the clean way, then report why.
            let _ = stop.send(true);
            render_failure = Some(err);
            break;
        }
    }
    drop(received);
    let result = engine
        .await
        .context("the listen engine stopped unexpectedly")?;
    if let Some((forwarder, task)) = forwarder {
        forwarder.finish(task, Duration::from_secs(5)).await;
    }
    if let Some(err) = render_failure {
        return Err(err);
    }
    result.context("listening stopped")
}

fn render(
    event: ListenEvent,
    settings: &ListenSettings,
    context: &Context,
    forwarder: Option<&Forwarder>,
) -> anyhow::Result<()> {
    let output = &context.output;
    match event {
        ListenEvent::Ready { account_keys, .. } => output.status(format!(
            "Ready: listening for the calls of account {}. Press Ctrl-C to stop.",
            account_keys.join(", ")
        )),
        ListenEvent::Report {
            report, printed, ..
        } => {
            let mut line = if settings.json {
                serde_json::to_string(&report).context("cannot print a report")?
            } else {
                report_line(
                    &report,
                    &jiff::tz::TimeZone::system(),
                    output.stdout_palette(),
                )
            };
            line.push('\n');
            output.data(line.as_bytes())?;
            let _ = printed.send(());
            if let Some(forwarder) = forwarder {
                forwarder.forward(&report);
            }
        }
        ListenEvent::Reconnecting {
            attempt,
            delay,
            reason,
        } => output.status(format!(
            "Connection lost ({reason}); reconnecting in {delay:.1?} (attempt {attempt})"
        )),
        ListenEvent::Reconnected => {
            output.status("Reconnected; missed calls are being backfilled.")
        }
        ListenEvent::Warning(message) => output.warn(message),
    }
    Ok(())
}

/// First Ctrl-C or SIGTERM: ask for a clean shutdown. Second Ctrl-C: leave at once with 130.
async fn watch_signals(
    mut signals: StopSignals,
    stop: watch::Sender<bool>,
    output: crate::output::Output,
) {
    signals.either().await;
    output.status("Shutting down: deleting the subscription and channel…");
    let _ = stop.send(true);
    signals.interrupt().await;
    std::process::exit(i32::from(code::INTERRUPTED));
}
