//! Each command's flags checked and turned into typed values before any network call, so a bad
//! date or ID is a usage error (exit 2) that never costs a request.

use std::time::Duration;

use cer_sandbox::{DayShape, SandboxConfig, fault_names};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use super::range::resolve_range;
use super::range::{lookback, non_empty};
use super::{Settings, missing_account_key};
use crate::api::reports::Selector;
use crate::cli::{FetchArgs, ListenArgs, LoginArgs, SandboxArgs, SummariesArgs};
use crate::errors::UsageError;
use crate::listen::{ListenConfig, StartFrom, Timing};
use crate::outcome::GOTO_CALLER_OUTCOMES;
use crate::report::ConversationId;

/// `login`'s choices.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    pub no_browser: bool,
    pub timeout: Duration,
    pub redirect_uri: url::Url,
    /// `BROWSER`: opened even when stderr is not a terminal; `None`: the platform's opener.
    pub browser: Option<String>,
    /// `--force`: replace a stored login without asking.
    pub force: bool,
    /// `--recordings`: also ask for the Recording API's scopes.
    pub recordings: bool,
}

impl LoginSettings {
    pub fn resolve(args: &LoginArgs, settings: &Settings) -> Result<Self, UsageError> {
        let text = args
            .redirect_uri
            .as_deref()
            .unwrap_or(&settings.redirect_uri);
        if args.timeout == 0 {
            return Err(UsageError::new("--timeout must be at least 1 second"));
        }
        Ok(Self {
            no_browser: args.no_browser,
            timeout: Duration::from_secs(args.timeout),
            redirect_uri: loopback_redirect(text)?,
            browser: settings.browser.clone(),
            force: args.force,
            recordings: args.recordings,
        })
    }
}

/// The redirect URI must be `http://127.0.0.1:PORT/path`: cer listens there, on loopback only.
fn loopback_redirect(text: &str) -> Result<url::Url, UsageError> {
    let bad = |why: &str| {
        UsageError::new(format!("the redirect URI {text:?} {why}")).with_hint(
            "use http://127.0.0.1:PORT/path, registered on the OAuth client (default \
                http://127.0.0.1:12021/app/redirect)",
        )
    };
    let url = url::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if url.scheme() != "http" || url.host_str() != Some("127.0.0.1") {
        return Err(bad("must start with http://127.0.0.1:"));
    }
    // `url` hides a written `:80` (http's default), so that one is looked for in the text.
    let written_80 = text.contains("127.0.0.1:80/") || text.ends_with("127.0.0.1:80");
    match url.port() {
        None if !written_80 => return Err(bad("must name its port")),
        Some(0) => return Err(bad("must name a port from 1 to 65535, not 0")),
        _ => {}
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url)
}

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
                proxy: crate::api::proxy::ProxyConfig::new(
                    settings.proxy.as_deref(),
                    settings.no_proxy.as_deref(),
                ),
                remember_at_most: crate::listen::REMEMBER_AT_MOST,
                recording_notifications: false,
            },
            json: args.json || !stdout_is_terminal,
            forward_to: args
                .forward_to
                .iter()
                .map(|u| webhook_url(u).map(crate::target::ForwardTarget::new))
                .collect::<Result<_, _>>()?,
            forward_headers: forward_headers(args)?,
            refetch_after: super::persistence::refetch_after(args.refetch.as_deref(), settings)?,
            updates: args.updates,
            metrics: args.metrics.as_deref().map(metrics_address).transpose()?,
            store: super::persistence::store_location(&args.store, settings)?,
            keep: super::persistence::keep(args.keep.as_deref())?,
            forward_for: super::persistence::forward_for(args.forward_for.as_deref())?,
            signer: super::persistence::signer(args.forward_secret_file.as_deref(), settings)?,
            archive: super::archive::archive_settings(args.archive.as_deref(), settings)?,
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

/// Schemes an error may name: no part of a mistyped target may show (it still holds the
/// secrets of the real one), but a scheme on this list is no secret.
const WELL_KNOWN_SCHEMES: [&str; 8] = ["ftp", "ftps", "ws", "wss", "file", "ssh", "sftp", "mailto"];

/// A `--forward-to` URL. Its error shows no part of it, bar a well-known scheme:
/// `user:pw@host/hook` parses as the scheme `user` with the password in its path.
fn webhook_url(text: &str) -> Result<url::Url, UsageError> {
    let http = |url: &url::Url| matches!(url.scheme(), "http" | "https");
    let why = match url::Url::parse(text) {
        Ok(url) if http(&url) && url.host_str().is_some() => return Ok(url),
        Ok(url) if http(&url) => "it names no host".to_string(),
        Ok(url) if WELL_KNOWN_SCHEMES.contains(&url.scheme()) => {
            format!("its scheme is {}, not http or https", url.scheme())
        }
        Ok(_) => "its scheme is not http or https".to_string(),
        Err(_) => "it is not a URL".to_string(),
    };
    Err(UsageError::new(format!(
        "--forward-to is not an http(s) URL: {why} (the value is not shown: it may hold a secret)"
    ))
    .with_hint("give the receiver's URL, e.g. --forward-to http://127.0.0.1:3000/hook"))
}

/// Headers that frame or route a request: set by hand, they make a receiver read an empty
/// or cut body (`Content-Length: 0` counted as delivered) or reach another host.
const FRAMING_HEADERS: [&str; 10] = [
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-connection",
];

/// `Name: value`. Errors name the header but never quote its value (it is often a token).
/// What the header hints suggest: credentials belong in a file, not in argv, which every
/// local user can read.
const HEADER_HINT: &str = "write it as 'Name: value', e.g. 'X-Source: cer'; put credentials such \
     as 'Authorization: Bearer …' in --forward-header-file PATH, out of the process list";

/// `--forward-header` flags, then the lines of `--forward-header-file`.
fn forward_headers(args: &ListenArgs) -> Result<Vec<(String, String)>, UsageError> {
    let mut headers: Vec<(String, String)> = args
        .forward_header
        .iter()
        .map(|h| header(h))
        .collect::<Result<_, _>>()?;
    if let Some(path) = &args.forward_header_file {
        let text = std::fs::read_to_string(path).map_err(|err| {
            UsageError::new(format!(
                "cannot read --forward-header-file {}: {err}",
                path.display()
            ))
        })?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The file's lines may be secrets: an error names the file, never the line.
            let parsed = header(line).map_err(|_| {
                UsageError::new(format!(
                    "--forward-header-file {} has a line that is not a valid header",
                    path.display()
                ))
                .with_hint(HEADER_HINT)
            })?;
            headers.push(parsed);
        }
    }
    Ok(headers)
}

fn header(text: &str) -> Result<(String, String), UsageError> {
    let (name, value) = text.split_once(':').ok_or_else(|| {
        UsageError::new("--forward-header needs a name and a value").with_hint(HEADER_HINT)
    })?;
    let (name, value) = (name.trim(), value.trim());
    let shown = crate::escape::terminal_safe(name);
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
        && value.contains(['\r', '\n'])
    {
        return Err(UsageError::new(format!(
            "--forward-header {shown:?} has a value that holds a line break (CR or LF)"
        ))
        .with_hint("give the value on one line; a header cannot span lines"));
    }
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
        || reqwest::header::HeaderValue::from_str(value).is_err()
    {
        return Err(
            UsageError::new(format!("--forward-header {shown:?} is not a valid header"))
                .with_hint(HEADER_HINT),
        );
    }
    if FRAMING_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(UsageError::new(format!(
            "--forward-header {shown:?} cannot be set: cer frames and routes the request itself"
        ))
        .with_hint(
            "pass only headers the webhook reads; credentials such as Authorization belong in \
             --forward-header-file PATH, out of the process list",
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// A fault named on the command line, with its `key=value` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub name: String,
    pub params: Vec<(String, String)>,
}

/// `cer sandbox`'s configuration and fault plan.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    pub config: SandboxConfig,
    pub list_faults: bool,
    pub faults_at_start: Vec<FaultSpec>,
    pub faults_every: Vec<(Duration, FaultSpec)>,
}

impl SandboxSettings {
    pub fn resolve(args: &SandboxArgs) -> Result<Self, UsageError> {
        let defaults = SandboxConfig::demo();
        let (day, default_every) = if args.flat {
            (DayShape::Flat, SandboxConfig::default().call_every)
        } else {
            (defaults.day.clone(), defaults.call_every)
        };
        let call_every = match args.call_every {
            None => default_every,
            Some(0.0) => None,
            Some(secs) if secs.is_finite() && secs >= 0.1 => Some(Duration::from_secs_f64(secs)),
            Some(secs) => {
                return Err(UsageError::new(format!(
                    "--call-every {secs} must be 0 (no scheduled calls) or at least 0.1 seconds"
                )));
            }
        };
        let seconds =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
        let config = SandboxConfig {
            port: args.port,
            seed: args.seed.unwrap_or(defaults.seed),
            call_every,
            token_lifetime: seconds(args.token_lifetime, defaults.token_lifetime),
            channel_lifetime: seconds(args.channel_lifetime, defaults.channel_lifetime),
            report_delay: seconds(args.report_delay, defaults.report_delay),
            analysis_delay: analysis_delay(
                args.analysis_delay.as_deref(),
                defaults.analysis_delay,
            )?,
            day,
            ..defaults
        };
        Ok(Self {
            config,
            list_faults: args.list_faults,
            faults_at_start: args
                .fault
                .iter()
                .map(|f| fault_spec(f))
                .collect::<Result<_, _>>()?,
            faults_every: args
                .fault_every
                .iter()
                .map(|f| periodic_fault(f))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `--analysis-delay SECS|off` (`None` for off), or `default` when not given.
fn analysis_delay(
    text: Option<&str>,
    default: Option<Duration>,
) -> Result<Option<Duration>, UsageError> {
    let Some(text) = text else {
        return Ok(default);
    };
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
        .map(|s| Some(Duration::from_secs_f64(s)))
        .ok_or_else(|| {
            UsageError::new(format!(
                "--analysis-delay {text:?} must be a number of seconds from 0 to 86400, or off"
            ))
        })
}

/// `NAME` or `NAME?key=value&key=value`, the syntax of the control route.
fn fault_spec(text: &str) -> Result<FaultSpec, UsageError> {
    let (name, query) = text.split_once('?').unwrap_or((text, ""));
    if !fault_names().contains(&name) {
        return Err(
            UsageError::new(format!("{name:?} is not a fault the sandbox knows"))
                .with_hint("`cer sandbox --list-faults` lists them"),
        );
    }
    Ok(FaultSpec {
        name: name.to_string(),
        params: url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    })
}

/// `SECS:NAME[?params]`.
fn periodic_fault(text: &str) -> Result<(Duration, FaultSpec), UsageError> {
    let bad = || {
        UsageError::new(format!("--fault-every {text:?} is not SECS:FAULT"))
            .with_hint("for example 30:drop-websockets")
    };
    let (secs, fault) = text.split_once(':').ok_or_else(bad)?;
    let secs: f64 = secs.parse().map_err(|_| bad())?;
    if !(secs.is_finite() && secs >= 0.1) {
        return Err(bad());
    }
    Ok((Duration::from_secs_f64(secs), fault_spec(fault)?))
}

/// `fetch`'s JSON layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// Pretty on a terminal, compact otherwise.
    Auto,
    Pretty,
    Compact,
}

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub ids: Vec<String>,
    pub wait: Option<Duration>,
    pub layout: JsonLayout,
}

impl FetchSettings {
    pub fn resolve(args: &FetchArgs) -> Result<Self, UsageError> {
        for id in &args.ids {
            if !ConversationId::is_valid(id) {
                return Err(UsageError::new(format!(
                    "{id:?} is not a conversationSpaceId (a UUID like 29a1c77a-e52a-3764-8606-8b02b1277be8)"
                ))
                .with_hint("`cer summaries` lists the IDs of past calls"));
            }
        }
        let layout = match (args.pretty, args.compact) {
            (true, _) => JsonLayout::Pretty,
            (_, true) => JsonLayout::Compact,
            _ => JsonLayout::Auto,
        };
        Ok(Self {
            ids: args.ids.clone(),
            wait: args.wait.map(Duration::from_secs),
            layout,
        })
    }
}

pub const SCOPES: [&str; 2] = ["INTERNAL", "EXTERNAL"];
pub const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Clone)]
pub struct SummariesSettings {
    pub selector: Selector,
    pub start: Timestamp,
    pub end: Timestamp,
    pub zone: TimeZone,
    pub virtual_participant_id: Option<String>,
    pub scope: Option<String>,
    pub outcome: Option<String>,
    /// `--page-size`, if given.
    pub page_size: Option<u32>,
    pub limit: Option<u64>,
    /// `--all`: no row limit on a terminal.
    pub all: bool,
    /// `--stats`: the glance alone.
    pub stats: bool,
    pub json: bool,
}

impl SummariesSettings {
    pub fn resolve(
        args: &SummariesArgs,
        settings: &Settings,
        now: Timestamp,
        local: TimeZone,
    ) -> Result<Self, UsageError> {
        let zone = if args.range.utc { TimeZone::UTC } else { local };
        let (start, end) = resolve_range(&args.range, now, &zone)?;
        Ok(Self {
            selector: selector(args, settings)?,
            start,
            end,
            zone,
            virtual_participant_id: args.virtual_participant_id.clone(),
            scope: one_of("--scope", args.scope.as_deref(), &SCOPES)?,
            outcome: one_of("--outcome", args.outcome.as_deref(), &GOTO_CALLER_OUTCOMES)?,
            page_size: page_size(args.page_size)?,
            limit: match args.limit {
                Some(0) => {
                    return Err(UsageError::new("--limit 0 would print nothing")
                        .with_hint("leave --limit out to print every summary"));
                }
                other => other,
            },
            all: args.all,
            stats: args.stats,
            json: args.json,
        })
    }
}

fn selector(args: &SummariesArgs, settings: &Settings) -> Result<Selector, UsageError> {
    let given = [
        ("--account-key", &args.account_key),
        ("--user-key", &args.user_key),
        ("--line-id", &args.line_id),
        ("--phone-number-id", &args.phone_number_id),
        ("--virtual-participant-id", &args.virtual_participant_id),
    ];
    for (flag, value) in given {
        if let Some(value) = value {
            non_empty(flag, value)?;
        }
    }
    let chosen: Vec<Selector> = [
        args.user_key.clone().map(Selector::UserKey),
        args.line_id.clone().map(Selector::LineId),
        args.phone_number_id.clone().map(Selector::PhoneNumberId),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut chosen = chosen.into_iter();
    match (chosen.next(), chosen.next()) {
        (None, _) => args
            .account_key
            .clone()
            .or_else(|| settings.account_key.clone())
            .map(Selector::AccountKey)
            .ok_or_else(missing_account_key),
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(UsageError::new(
            "--user-key, --line-id and --phone-number-id cannot be combined: GoTo takes one selector",
        )),
    }
}

fn one_of(flag: &str, value: Option<&str>, allowed: &[&str]) -> Result<Option<String>, UsageError> {
    let Some(value) = value else { return Ok(None) };
    let upper = value.to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        Ok(Some(upper))
    } else {
        Err(
            UsageError::new(format!("{flag} {value:?} is not a value GoTo knows"))
                .with_hint(format!("use one of {}", allowed.join(", "))),
        )
    }
}

/// The page size the user asked for; `None` lets the pager choose (see `api::pager`).
fn page_size(value: Option<u32>) -> Result<Option<u32>, UsageError> {
    match value {
        None => Ok(None),
        Some(n @ 1..=MAX_PAGE_SIZE) => Ok(Some(n)),
        Some(n) => Err(UsageError::new(format!(
            "--page-size {n} is out of GoTo's bounds (1 to {MAX_PAGE_SIZE})"
        ))),
    }
}

#[cfg(test)]
mod tests;
