//! `cer listen`'s settings: the engine's configuration, the forward targets and their headers,
//! the store, retention and re-fetch points, all checked before the first connection.

use std::time::Duration;

use jiff::tz::TimeZone;

use super::forward::{forward_headers, webhook_url};
use super::range::{lookback, non_empty};
use super::{ServiceManager, Settings, TimeScale, missing_account_key};
use crate::cli::ListenArgs;
use crate::errors::UsageError;
use crate::listen::{ListenConfig, StartFrom, Timing};

/// `listen`'s engine configuration plus what the renderer needs.
#[derive(Debug, Clone)]
pub struct ListenSettings {
    pub engine: ListenConfig,
    /// One full report per line; otherwise a human line per call.
    pub json: bool,
    pub forward_to: Vec<crate::target::ForwardTarget>,
    pub forward_headers: Vec<(String, String)>,
    /// `--refetch`: when after a call's end its stored report is fetched again; empty: never.
    pub refetch_after: Vec<Duration>,
    /// `--updates`: print later revisions too.
    pub updates: bool,
    /// `--metrics ADDR`: where to serve `/metrics` and `/healthz`.
    pub metrics: Option<std::net::SocketAddr>,
    /// Where reports, cursors and the outbox are kept.
    pub store: crate::store::StoreLocation,
    /// Retention: `None` keeps reports forever.
    pub keep: Option<Duration>,
    pub forward_for: Duration,
    pub signer: Option<crate::target::Signer>,
    /// `--archive` / `CER_ARCHIVE`: also archive each call's media as it comes.
    pub archive: Option<super::archive::ArchiveSettings>,
    /// `--sandbox`: the simulator's login may archive, whatever scopes it names.
    pub sandbox: bool,
    /// `CER_TIME_SCALE`: the workers' and the service's timers, scaled as the engine's.
    pub time_scale: TimeScale,
    /// `--rate` / `CER_RATE`: the re-fetcher keeps to the API client's pace.
    pub rate: u32,
    /// systemd's notify protocol, for a listener run as a `Type=notify` service.
    pub service_manager: ServiceManager,
    /// `TZ`: the zone of the human lines.
    pub zone: TimeZone,
    /// `COLUMNS`: how wide the human lines may be when the terminal cannot say.
    pub columns: Option<usize>,
}

impl ListenSettings {
    pub fn resolve(
        args: &ListenArgs,
        settings: &Settings,
        stdout_is_terminal: bool,
    ) -> Result<Self, UsageError> {
        let account_keys = listen_account_keys(args, settings)?;
        let event_types = listen_event_types(args)?;
        let start = match &args.since {
            Some(text) => StartFrom::Since(lookback("--since", text)?),
            None => StartFrom::Cursor,
        };
        let max_call_duration = match &args.max_call_duration {
            Some(text) => super::parse_duration("--max-call-duration", text)?,
            None => Duration::from_secs(4 * 3600),
        };
        let timing = settings
            .time_scale
            .map_or_else(Timing::default, Timing::scaled);
        Ok(Self {
            engine: ListenConfig {
                account_keys,
                event_types,
                start,
                backfill: !args.no_backfill,
                max_call_duration,
                state_dir: settings.state_dir.clone(),
                channel_nickname: "cer".to_string(),
                timing,
                proxy: settings
                    .proxy
                    .as_ref()
                    .ok()
                    .and_then(Option::as_ref)
                    .and_then(crate::api::proxy::HttpsProxy::tunnel),
                remember_at_most: crate::listen::REMEMBER_AT_MOST,
                recording_notifications: false,
            },
            json: args.json || !stdout_is_terminal,
            forward_to: args
                .forward_to
                .iter()
                .map(|u| webhook_url(u).map(crate::target::ForwardTarget::new))
                .collect::<Result<_, _>>()?,
            forward_headers: forward_headers(
                &args.forward_header,
                args.forward_header_file.as_deref(),
            )?,
            refetch_after: super::persistence::refetch_after(args.refetch.as_deref(), settings)?,
            updates: args.updates,
            metrics: args.metrics.as_deref().map(metrics_address).transpose()?,
            store: super::persistence::store_location(&args.store, settings)?,
            keep: super::persistence::keep(args.keep.as_deref())?,
            forward_for: super::persistence::forward_for(args.forward_for.as_deref())?,
            signer: super::persistence::signer(args.forward_secret_file.as_deref(), settings)?,
            archive: super::archive::archive_settings(args.archive.as_deref(), settings)?,
            sandbox: settings.sandbox,
            time_scale: settings.time_scale.unwrap_or_default(),
            rate: settings.rate,
            service_manager: settings.service_manager.clone(),
            zone: settings.time_zone.clone(),
            columns: settings.columns,
        })
    }
}

/// `--account-key` (repeatable), else `ACCOUNT_KEY`: at least one, none empty.
fn listen_account_keys(args: &ListenArgs, settings: &Settings) -> Result<Vec<String>, UsageError> {
    let mut account_keys = args.account_key.clone();
    if account_keys.is_empty() {
        account_keys.extend(settings.account_key.clone());
    }
    if account_keys.is_empty() {
        return Err(missing_account_key());
    }
    account_keys.dedup();
    for key in &account_keys {
        non_empty("--account-key", key)?;
    }
    Ok(account_keys)
}

/// `--event-types`, upper case, `REPORT_SUMMARY` when not given.
fn listen_event_types(args: &ListenArgs) -> Result<Vec<String>, UsageError> {
    let event_types: Vec<String> = match args.event_types.as_slice() {
        [] => vec!["REPORT_SUMMARY".to_string()],
        given => given
            .iter()
            .map(|t| t.trim().to_ascii_uppercase())
            .filter(|t| !t.is_empty())
            .collect(),
    };
    if event_types.is_empty() {
        return Err(UsageError::new("--event-types names no event type")
            .with_hint("e.g. --event-types REPORT_SUMMARY"));
    }
    Ok(event_types)
}

/// `--metrics ADDR`: an IP address and port, so it is clear which interface is exposed.
fn metrics_address(text: &str) -> Result<std::net::SocketAddr, UsageError> {
    text.parse().map_err(|_| {
        UsageError::new(format!("--metrics {text:?} is not an address and port"))
            .with_hint("give an IP address and a port, e.g. --metrics 127.0.0.1:9464")
    })
}
