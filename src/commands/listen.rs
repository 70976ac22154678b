//! `cer listen`: opens the store, runs the listen engine and the delivery tasks, and renders
//! their events: reports to stdout (a human line on a terminal, NDJSON otherwise), delivery
//! results under their call lines on a terminal, status and warnings to stderr; on Ctrl-C or
//! SIGTERM it asks the engine to clean up, and a second Ctrl-C exits 130 at once.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::signals::StopSignals;
use crate::api::ApiClient;
use crate::archive::Archive;
use crate::auth::recordings::RecordingAccess;
use crate::events::ListenEvent;
use crate::exit_status::ExitStatus;
use crate::listen::first_connection::FirstConnectionFailed;
use crate::listen::{Clock, Engine, Handoff, ListenError, LiveWork, OVERLAP, SystemClock};
use crate::output::delivery_line::{delivery_line, fit_delivery_line};
use crate::output::json;
use crate::output::report_line::report_line;
use crate::output::revision_line::revision_line;
use crate::output::width::terminal_width;
use crate::service::retention::keep_only;
use crate::service::store_watch::{serve_targets, watch_store};
use crate::service::{ServerTiming, Service, memory};
use crate::settings::listen::ListenSettings;
use crate::store::Store;
use crate::target::ForwardTarget;
use crate::workers::archive::{Announced, ArchiveTiming, ArchiveWorker};
use crate::workers::delivery::{Delivery, DeliveryTiming};
use crate::workers::media::Apart;
use crate::workers::refetch::{RefetchTiming, Refetcher};

/// How often the store's health and the outbox's size are looked at for the service view.
const STORE_CHECK_EVERY: Duration = Duration::from_secs(2);

pub async fn run(mut settings: ListenSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let signals = StopSignals::register()?;
    let access = match settings.archive {
        Some(_) => Some(require_recording_read(settings.sandbox, context).await?),
        None => None,
    };
    settings.engine.recording_notifications = access.is_some_and(|a| a.notifications);
    let store = Store::open(&settings.store).await?;
    let archive = settings.archive.as_ref();
    let archive = archive
        .map(|a| super::sync_archive::open(a, &store, context))
        .transpose()?;
    let api = context.api();
    let (events, mut received) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let service = start_service(&settings, &stop, context).await?;
    api.observe_requests(service.request_observer());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let beside = (&api, &store, &service, &events, &stop, &clock);
    let workers = start_workers(&settings, context, beside, archive.clone()).await?;
    let upkeep = start_upkeep(&settings, (&store, &service, &clock), archive);
    let mut engine = Engine::new(api, settings.engine.clone(), events, clock)
        .with_store(store.clone(), workers.handoff);
    engine.load().await?;
    let engine = tokio::spawn(engine.run(stop.clone()));
    tokio::spawn(watch_signals(signals, stop.clone(), context.output.clone()));
    let archived = workers.announce.as_ref();
    let (render_failure, ready) = render_events(
        &mut received,
        &stop,
        &service,
        archived,
        (&settings, context),
    )
    .await;
    drop(received);
    let result = engine
        .await
        .context("the listen engine stopped unexpectedly")?;
    stop.cancel();
    upkeep.iter().for_each(tokio::task::JoinHandle::abort);
    finish_deliveries(workers.tasks, &store, &settings.forward_to, context).await;
    // A download the archive thread had no time to drop leaves no temporary file behind.
    crate::archive::whole_file::remove_unfinished();
    if let Some(err) = render_failure {
        return Err(err);
    }
    ended(result, ready, settings.engine.timing.first_connect_limit)?;
    Ok(ExitStatus::Success)
}

/// The workers beside the engine, each on its own leased loop over the store: delivery to
/// each target, the re-fetcher, the archive.
struct Workers {
    handoff: Handoff,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Where the engine's stored reports are announced to the archive, when there is one.
    announce: Option<mpsc::UnboundedSender<Announced>>,
}

/// What the workers run beside: GoTo, the store, the service view, the engine's events, the
/// stop signal and the engine's clock.
type Beside<'a> = (
    &'a ApiClient,
    &'a Store,
    &'a Service,
    &'a mpsc::Sender<ListenEvent>,
    &'a CancellationToken,
    &'a Arc<dyn Clock>,
);

async fn start_workers(
    settings: &ListenSettings,
    context: &Context,
    (api, store, service, events, stop, clock): Beside<'_>,
    archive: Option<Archive>,
) -> anyhow::Result<Workers> {
    let handoff = Handoff {
        targets: settings.forward_to.clone(),
        refetch_after: settings.refetch_after.clone(),
        wake: Arc::default(),
        live: LiveWork::default(),
    };
    serve_targets(store, &handoff.targets, settings.forward_for, clock.now()).await;
    let urls: Vec<String> = handoff
        .targets
        .iter()
        .map(|t| t.url().to_string())
        .collect();
    let scale = settings.time_scale;
    let refetcher = Refetcher {
        api: api.clone(),
        store: store.clone(),
        handoff: handoff.clone(),
        timing: RefetchTiming::scaled(scale, settings.rate),
        events: events.downgrade(),
        clock: clock.clone(),
        describe_changes: settings.updates && !settings.json,
    };
    let delivery = Delivery {
        http: context.http_reaching(&urls)?,
        store: store.clone(),
        headers: settings.forward_headers.clone(),
        signer: settings.signer.clone(),
        timing: DeliveryTiming::scaled(scale),
        wake: handoff.wake.clone(),
        events: events.downgrade(),
        clock: clock.clone(),
    };
    let mut tasks = delivery.spawn(&handoff.targets, stop);
    if !handoff.refetch_after.is_empty() {
        tasks.push(refetcher.clone().spawn(stop.clone()));
    }
    let announce = archive.map(|archive| {
        let timing = ArchiveTiming::scaled(scale, settings.forward_for);
        let apart = (settings.archive.as_ref()).and_then(|a| super::archived::apart(a, context));
        let (worker, announce) = start_archiving((archive, apart), &refetcher, service, timing);
        tasks.push(worker.spawn(stop.clone()));
        announce
    });
    Ok(Workers {
        handoff,
        tasks,
        announce,
    })
}

/// The loops that keep a long-running listener tidy: retention, the store's health for the
/// service view, and handing freed memory back.
fn start_upkeep(
    settings: &ListenSettings,
    (store, service, clock): (&Store, &Service, &Arc<dyn Clock>),
    archive: Option<Archive>,
) -> [tokio::task::JoinHandle<()>; 3] {
    let scale = settings.time_scale;
    let margin = settings.engine.max_call_duration + OVERLAP.unsigned_abs();
    let retention = tokio::spawn(keep_only(
        store.clone(),
        settings.keep,
        margin,
        archive,
        clock.clone(),
    ));
    let watch_store = tokio::spawn(watch_store(
        store.clone(),
        service.clone(),
        (settings.forward_to.clone(), settings.forward_for),
        scale.scale(STORE_CHECK_EVERY),
        clock.clone(),
    ));
    let give_back = tokio::spawn(memory::give_back_freed_memory());
    [retention, watch_store, give_back]
}

/// Why listening ended, for a person: a first connection that never worked is diagnosed.
fn ended(result: Result<(), ListenError>, ready: bool, waited: Duration) -> anyhow::Result<()> {
    match result {
        Err(ListenError::Api(err)) if !ready => {
            let diagnosis = FirstConnectionFailed::diagnose(&err, waited);
            let err = anyhow::Error::new(err);
            match diagnosis {
                Some(diagnosis) => Err(err.context(diagnosis)),
                None => Err(err.context("listening stopped")),
            }
        }
        result => result.context("listening stopped"),
    }
}

/// Renders the engine's events until it stops or stdout goes away (a failed write, or a
/// reader that left: `listen | head -1` must end soon, not at the next report). Returns why
/// rendering stopped early, if it did, and whether listening ever became ready.
async fn render_events(
    received: &mut mpsc::Receiver<ListenEvent>,
    stop: &CancellationToken,
    service: &Service,
    archived: Option<&mpsc::UnboundedSender<Announced>>,
    (settings, context): (&ListenSettings, &Context),
) -> (Option<anyhow::Error>, bool) {
    let mut ready = false;
    let stdout_closed = crate::output::closed_pipe::stdout_closed();
    tokio::pin!(stdout_closed);
    loop {
        let event = tokio::select! {
            event = received.recv() => event,
            () = &mut stdout_closed => {
                stop.cancel();
                return (Some(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into()), ready);
            }
        };
        let Some(event) = event else {
            return (None, ready);
        };
        ready |= matches!(event, ListenEvent::Ready { .. });
        service.observe(&event);
        if let (Some(archived), Some(announced)) = (archived, announced(&event)) {
            let _ = archived.send(announced);
        }
        if let Err(err) = render(event, ready, settings, context) {
            // stdout is gone: stop listening the clean way, then report why.
            stop.cancel();
            return (Some(err), ready);
        }
    }
}

/// What the archive worker hears of an event: a report or revision stored, a recording
/// notification.
fn announced(event: &ListenEvent) -> Option<Announced> {
    match event {
        ListenEvent::Report { report, .. } | ListenEvent::Revision { report, .. } => {
            Some(Announced::Stored(report.id().to_string()))
        }
        ListenEvent::MediaUploaded { transcript, id } => Some(Announced::Uploaded {
            transcript: *transcript,
            id: id.clone(),
        }),
        _ => None,
    }
}

/// The archive worker (`--archive`), sharing the re-fetcher's API client, store and pace
/// (its recordings' bytes moved `apart`), and the sender the renderer announces stored
/// reports and notifications with.
fn start_archiving(
    (archive, apart): (Archive, Option<Apart>),
    refetcher: &Refetcher,
    service: &Service,
    timing: ArchiveTiming,
) -> (ArchiveWorker, mpsc::UnboundedSender<Announced>) {
    let (announce, announced) = mpsc::unbounded_channel();
    let worker = ArchiveWorker {
        api: refetcher.api.clone(),
        store: refetcher.store.clone(),
        archive,
        timing,
        service: service.clone(),
        announced,
        refetcher: refetcher.clone(),
        apart,
    };
    (worker, announce)
}

/// What the login allows for `--archive` (exit 4 without `recording.v1.read`); lacking only
/// the notifications scope is said once.
async fn require_recording_read(
    sandbox: bool,
    context: &Context,
) -> anyhow::Result<RecordingAccess> {
    let access = super::archived::require_recording_read(sandbox, context).await?;
    if !access.notifications {
        context.output.status(
            "The login lacks recording.v1.notifications.manage: recordings are archived as the \
             reports' revisions name them (`cer login --recordings` adds the scope).",
        );
    }
    Ok(access)
}

/// Lets running delivery attempts end (briefly), then says how many deliveries wait in the
/// outbox: nothing is dropped, the next `listen` sends them.
async fn finish_deliveries(
    deliveries: Vec<tokio::task::JoinHandle<()>>,
    store: &Store,
    targets: &[ForwardTarget],
    context: &Context,
) {
    for task in deliveries {
        // An attempt cut short here is leased in the store and sent again by the next run.
        if tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .is_err()
        {
            tracing::debug!("a delivery was still running at shutdown");
        }
    }
    if !targets.is_empty()
        && let Err(err) = store.unserve_targets().await
    {
        // Its word runs out instead: its targets show as orphaned a few minutes later.
        tracing::debug!("cannot say that this listener stops forwarding: {err}");
    }
    let keys: Vec<&str> = targets.iter().map(ForwardTarget::key).collect();
    let counts = store.pending_by_target().await.unwrap_or_default();
    let pending: i64 = counts
        .iter()
        .filter(|(key, _)| keys.contains(&key.as_str()))
        .map(|(_, n)| n)
        .sum();
    if pending > 0 {
        let deliveries = if pending == 1 {
            "delivery is"
        } else {
            "deliveries are"
        };
        context.output.status(format!(
            "{pending} {deliveries} still pending in the store; the next `cer listen` with the same \
             --forward-to sends them."
        ));
    }
}

/// Metrics, health and systemd notifications; says where metrics are served.
async fn start_service(
    settings: &ListenSettings,
    stop: &CancellationToken,
    context: &Context,
) -> anyhow::Result<Service> {
    let timing = ServerTiming::scaled(settings.time_scale);
    let manager = &settings.service_manager;
    let (service, address) =
        Service::start(settings.metrics, manager, timing, stop.clone()).await?;
    if let Some(address) = address {
        context.output.status(format!(
            "Serving metrics on http://{address}/metrics and health on http://{address}/healthz"
        ));
        if !address.ip().is_loopback() {
            context.output.warn(format!(
                "--metrics {address} is not a loopback address: anyone who can reach that port \
                 reads cer's metrics and health; bind 127.0.0.1 unless a scraper on another \
                 host needs it, and then let a firewall admit only that one"
            ));
        }
    }
    Ok(service)
}

fn render(
    event: ListenEvent,
    ready: bool,
    settings: &ListenSettings,
    context: &Context,
) -> anyhow::Result<()> {
    let output = &context.output;
    match event {
        ListenEvent::Ready { account_keys, .. } => output.status(format!(
            "Ready: listening for the calls of account {}. Press Ctrl-C to stop.",
            account_keys.join(", ")
        )),
        event @ (ListenEvent::Report { .. }
        | ListenEvent::Revision { .. }
        | ListenEvent::Delivery { .. }) => print_data(event, settings, context)?,
        ListenEvent::Refetched(_) | ListenEvent::MediaUploaded { .. } => {}
        ListenEvent::SetAside {
            conversation_space_id,
            path,
            reason,
        } => tracing::error!(
            "the store refused the report of {conversation_space_id} ({reason}); it was set aside in {} and \
                listening goes on",
            path.display()
        ),
        ListenEvent::Reconnecting {
            attempt,
            delay,
            reason,
        } if ready => output.status(format!(
            "Connection lost ({reason}); reconnecting in {delay:.1?} (attempt {attempt})"
        )),
        ListenEvent::Reconnecting {
            attempt,
            delay,
            reason,
        } => output.status(format!(
            "Cannot connect yet ({reason}); trying again in {delay:.1?} (attempt {attempt})"
        )),
        ListenEvent::Reconnected => output.status("Reconnected."),
        ListenEvent::CatchingUp { calls, at_start } => output.status(catching_up(calls, at_start)),
        ListenEvent::CaughtUp => output.status("Caught up; live again."),
        ListenEvent::Warning(message) => output.warn(message),
    }
    Ok(())
}

/// What goes to stdout: a report (its first revision), a later revision with `--updates`,
/// and on a terminal each delivery's result under its call line.
fn print_data(
    event: ListenEvent,
    settings: &ListenSettings,
    context: &Context,
) -> anyhow::Result<()> {
    let output = &context.output;
    match event {
        ListenEvent::Report {
            report, printed, ..
        } => {
            let line = if settings.json {
                json::compact(report.text())
            } else {
                Cow::Owned(report_line(
                    &report,
                    &settings.zone,
                    output.stdout_palette(),
                    terminal_width(settings.columns),
                ))
            };
            output.data_line(&line)?;
            let _ = printed.send(());
        }
        ListenEvent::Revision {
            report,
            revision,
            previous,
        } if settings.updates => {
            let line = if settings.json {
                json::compact(report.text())
            } else {
                let previous = previous.as_ref();
                let line = revision_line(&report, revision, previous, output.stdout_palette());
                Cow::Owned(fit_delivery_line(&line, terminal_width(settings.columns)))
            };
            output.data_line(&line)?;
        }
        ListenEvent::Delivery {
            conversation_space_id,
            revision,
            target,
            result,
        } if !settings.json => {
            let about = Some((conversation_space_id.as_str(), revision));
            let line = delivery_line(&target, &result, about, output.stdout_palette());
            let mut line = fit_delivery_line(&line, terminal_width(settings.columns));
            line.push('\n');
            output.data(line.as_bytes())?;
        }
        _ => {}
    }
    Ok(())
}

/// The status line before a catch-up's reports.
fn catching_up(calls: usize, at_start: bool) -> String {
    let calls = match calls {
        1 => "1 call".to_string(),
        n => format!("{n} calls"),
    };
    let when = if at_start {
        "before this listen started"
    } else {
        "while disconnected"
    };
    format!("Catching up on {calls} that ended {when}…")
}

/// First Ctrl-C or SIGTERM: ask for a clean shutdown. Second Ctrl-C: leave at once with 130.
async fn watch_signals(
    mut signals: StopSignals,
    stop: CancellationToken,
    output: crate::output::Output,
) {
    signals.either().await;
    output.status("Shutting down: deleting the subscription and channel…");
    stop.cancel();
    signals.interrupt().await;
    std::process::exit(i32::from(ExitStatus::Interrupted.code()));
}
