//! Flags, environment, `.env` and defaults resolved once into typed values
//! (precedence: flag > environment > `.env` > default), so no other module reads the environment.

pub mod archive;
pub mod context;
pub mod deliveries;
mod duration;
pub mod fetch;
mod forward;
pub mod listen;
pub mod login;
pub mod logout;
pub mod persistence;
mod range;
pub mod recording;
pub mod sandbox;
pub mod sandboxed;
pub mod show;
mod sources;
pub mod status;
pub mod summaries;
pub mod sync;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::level_filters::LevelFilter;
use url::Url;

pub use crate::time_scale::TimeScale;
pub use duration::parse_duration;
pub use sources::Sources;

use crate::api::proxy::{BadProxyUrl, HttpsProxy};
use crate::cli::{ColorWhen, GlobalArgs};
use crate::errors::UsageError;
use crate::logging::LogFormat;
use crate::output::{ColorPolicy, Terminals, Verbosity};
use crate::secret::Secret;
use crate::store::StoreLocation;

/// A variable's value, parsed when the settings are resolved; its error reaches only the
/// commands that read it (a bad `CER_STORE` does not stop `cer token`).
pub type Checked<T> = Result<T, UsageError>;

pub const DEFAULT_API_BASE: &str = "https://api.goto.com";
pub const DEFAULT_AUTH_BASE: &str = "https://authentication.logmeininc.com";
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:12021/app/redirect";
pub const DEFAULT_RATE: u32 = 10;

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub log_level: LevelFilter,
    pub log_format: LogFormat,
    pub color: ColorPolicy,
    /// `CER_FORCE_TTY=stdout|stderr|both`: the streams taken for terminals; `None`: ask the OS.
    pub force_tty: Option<Terminals>,
    pub api_base: Url,
    pub auth_base: Url,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub account_key: Option<String>,
    /// `OAUTH_REDIRECT_URI`, else the default; an error is `login`'s, unless `--redirect-uri`
    /// replaces it.
    pub redirect_uri: Checked<Url>,
    /// `CER_TOKEN`: used as is, with no store and no refresh.
    pub token_override: Option<Secret>,
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
    pub use_keyring: bool,
    pub rate: u32,
    pub sandbox: bool,
    /// `HTTPS_PROXY` and `NO_PROXY`; an error is that of any command that reaches a server.
    pub proxy: Result<Option<HttpsProxy>, BadProxyUrl>,
    /// `CER_RETRY_BASE_MS`: the first backoff wait; tests shrink it to stay fast.
    pub retry_base_ms: Option<u64>,
    /// `CER_TIME_SCALE`: multiplies `listen`'s timers; tests run them 20 times faster.
    /// `None`: real time.
    pub time_scale: Option<TimeScale>,
    /// `CER_STORE`: where the store is, unless `--store` says otherwise.
    pub store: Checked<Option<StoreLocation>>,
    /// `CER_REFETCH`: when `listen` and `sync` fetch stored reports again, unless `--refetch`
    /// says.
    pub refetch: Checked<Option<Vec<Duration>>>,
    /// `CER_FORWARD_SECRET`: signs forwarded reports.
    pub forward_secret: Option<Secret>,
    /// `CER_ARCHIVE`: where recordings, transcripts and reports are archived, unless
    /// `--archive` says otherwise.
    pub archive: Checked<Option<crate::archive::ArchiveLocation>>,
    /// `AWS_*`: the credentials, region and endpoint of an `s3://` archive.
    pub s3: crate::archive::S3Settings,
    /// `COLUMNS`: how wide the terminal is, when the terminal cannot say (or a test fakes one).
    pub columns: Option<usize>,
    /// `BROWSER`: the command `login` opens the authorize URL with.
    pub browser: Option<String>,
    /// `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`: systemd's notify protocol.
    pub service_manager: ServiceManager,
    /// `TMPDIR`: where `--sandbox` keeps its scratch folder.
    pub temp_dir: PathBuf,
    /// `TZ`: the local time zone of times shown to a person.
    pub time_zone: jiff::tz::TimeZone,
}

/// What systemd tells a `Type=notify` service about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceManager {
    /// Where notifications go; `None`: not run by a service manager.
    pub notify_socket: Option<PathBuf>,
    /// How often systemd wants a `WATCHDOG=1`; `None`: no watchdog (or one for another process).
    pub watchdog: Option<Duration>,
}

impl Settings {
    /// Resolves the global flags against the variables in `sources`.
    pub fn resolve(args: &GlobalArgs, sources: &Sources) -> Result<Self, UsageError> {
        let get = |name: &str| sources.get(name).map(str::to_string);
        Ok(Self {
            log_level: log_level(args, sources.get("LOG_LEVEL"))?,
            log_format: log_format(args.log_format.as_deref(), sources.get("LOG_FORMAT"))?,
            color: color_policy(args.color, sources),
            force_tty: Terminals::forced(sources.get("CER_FORCE_TTY")),
            api_base: base_url(
                "--api-base / CER_API_BASE",
                flag_or_variable(&args.api_base, "CER_API_BASE", sources),
                DEFAULT_API_BASE,
            )?,
            auth_base: base_url(
                "--auth-base / CER_AUTH_BASE",
                flag_or_variable(&args.auth_base, "CER_AUTH_BASE", sources),
                DEFAULT_AUTH_BASE,
            )?,
            client_id: get("OAUTH_CLIENT_ID"),
            client_secret: get("OAUTH_CLIENT_SECRET").map(Secret::new),
            account_key: get("ACCOUNT_KEY"),
            redirect_uri: login::loopback_redirect(
                sources
                    .get("OAUTH_REDIRECT_URI")
                    .unwrap_or(DEFAULT_REDIRECT_URI),
            ),
            token_override: get("CER_TOKEN").map(Secret::new),
            config_dir: dir_setting(sources, "CER_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")?,
            state_dir: dir_setting(sources, "CER_STATE_DIR", "XDG_STATE_HOME", ".local/state")?,
            use_keyring: sources.get("CER_KEYRING") != Some("0"),
            rate: rate(args.rate, sources.get("CER_RATE"))?,
            sandbox: args.sandbox,
            proxy: HttpsProxy::from_variables(
                sources
                    .get("HTTPS_PROXY")
                    .or_else(|| sources.get("https_proxy")),
                sources.get("NO_PROXY").or_else(|| sources.get("no_proxy")),
            ),
            retry_base_ms: sources
                .get("CER_RETRY_BASE_MS")
                .and_then(|v| v.parse().ok()),
            time_scale: sources.get("CER_TIME_SCALE").and_then(TimeScale::parse),
            store: sources
                .get("CER_STORE")
                .map(persistence::parse_store)
                .transpose(),
            refetch: sources
                .get("CER_REFETCH")
                .filter(|s| !s.trim().is_empty())
                .map(|text| persistence::refetch_points(text, "CER_REFETCH"))
                .transpose(),
            forward_secret: get("CER_FORWARD_SECRET")
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            archive: sources
                .get("CER_ARCHIVE")
                .map(archive::parse_archive)
                .transpose(),
            s3: archive::s3_settings(sources)?,
            columns: sources
                .get("COLUMNS")
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0),
            browser: get("BROWSER"),
            service_manager: service_manager(sources),
            temp_dir: get("TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from),
            time_zone: time_zone(sources.get("TZ")),
        })
    }

    /// How much a command may say on stderr at this log level.
    pub fn verbosity(&self) -> Verbosity {
        if self.log_level >= LevelFilter::INFO {
            Verbosity::Normal
        } else if self.log_level >= LevelFilter::WARN {
            Verbosity::Warnings
        } else {
            Verbosity::Errors
        }
    }
}

/// The flag, else the variable; a variable the `--sandbox` layer sets wins over the flag too.
fn flag_or_variable(flag: &Option<String>, name: &str, sources: &Sources) -> Option<String> {
    match flag {
        Some(flag) if !sources.set_by_sandbox(name) => Some(flag.clone()),
        _ => sources.get(name).map(str::to_string),
    }
}

fn log_level(args: &GlobalArgs, variable: Option<&str>) -> Result<LevelFilter, UsageError> {
    const LEVELS: [LevelFilter; 5] = [
        LevelFilter::ERROR,
        LevelFilter::WARN,
        LevelFilter::INFO,
        LevelFilter::DEBUG,
        LevelFilter::TRACE,
    ];
    if args.verbose > 0 {
        return Ok(LEVELS[(2 + usize::from(args.verbose)).min(4)]);
    }
    if args.quiet > 0 {
        return Ok(LEVELS[2usize.saturating_sub(usize::from(args.quiet))]);
    }
    let Some(text) = variable else {
        return Ok(LevelFilter::INFO);
    };
    match text.to_ascii_lowercase().as_str() {
        "error" => Ok(LevelFilter::ERROR),
        "warn" | "warning" => Ok(LevelFilter::WARN),
        "info" => Ok(LevelFilter::INFO),
        "debug" => Ok(LevelFilter::DEBUG),
        "trace" => Ok(LevelFilter::TRACE),
        _ => Err(
            UsageError::new(format!("LOG_LEVEL={text:?} is not a log level"))
                .with_hint("use one of error, warn, info, debug, trace"),
        ),
    }
}

/// The zone `TZ` names (an IANA name, `:name`, or a POSIX rule such as `EST5EDT`), else the
/// system's: read here, with the other variables, so the zone of a run is the one its sources
/// give, also for a run inside a test.
fn time_zone(tz: Option<&str>) -> jiff::tz::TimeZone {
    let Some(tz) = tz else {
        return jiff::tz::TimeZone::system();
    };
    let name = tz.strip_prefix(':').unwrap_or(tz);
    jiff::tz::TimeZone::get(name)
        .or_else(|_| jiff::tz::TimeZone::posix(name))
        .unwrap_or_else(|_| jiff::tz::TimeZone::system())
}

fn log_format(flag: Option<&str>, variable: Option<&str>) -> Result<LogFormat, UsageError> {
    match flag.or(variable).map(str::to_ascii_lowercase).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(
            UsageError::new(format!("LOG_FORMAT={other:?} is not a log format"))
                .with_hint("use text or json"),
        ),
    }
}

fn color_policy(flag: Option<ColorWhen>, sources: &Sources) -> ColorPolicy {
    match flag {
        Some(ColorWhen::Always) => return ColorPolicy::Always,
        Some(ColorWhen::Never) => return ColorPolicy::Never,
        Some(ColorWhen::Auto) | None => {}
    }
    if flag.is_none() {
        if sources.get("NO_COLOR").is_some() {
            return ColorPolicy::Never;
        }
        if sources.get("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
            return ColorPolicy::Always;
        }
    }
    if sources.get("TERM") == Some("dumb") {
        return ColorPolicy::Never;
    }
    ColorPolicy::Auto
}

/// A base URL: absolute http(s), no query, and no trailing slash so paths can be appended.
fn base_url(what: &str, value: Option<String>, default: &str) -> Result<Url, UsageError> {
    let text = value.unwrap_or_else(|| default.to_string());
    let bad = |why: &str| {
        UsageError::new(format!("{what} is not a usable base URL ({text:?}): {why}"))
            .with_hint("give an absolute http:// or https:// URL, e.g. https://api.goto.com")
    };
    let url = Url::parse(text.trim_end_matches('/')).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    Ok(url)
}

fn dir_setting(
    sources: &Sources,
    own: &str,
    xdg: &str,
    home_relative: &str,
) -> Result<PathBuf, UsageError> {
    if let Some(dir) = sources.get(own) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(base) = sources.get(xdg).filter(|p| Path::new(p).is_absolute()) {
        return Ok(Path::new(base).join("cer"));
    }
    match sources.get("HOME") {
        Some(home) => Ok(Path::new(home).join(home_relative).join("cer")),
        None => Err(UsageError::new(format!(
            "cannot tell where to keep cer's files: neither {own}, {xdg} nor HOME is set"
        ))
        .with_hint(format!("set {own} to a folder"))),
    }
}

/// The watchdog counts only when `WATCHDOG_PID`, if set, is this process (sd_watchdog_enabled).
fn service_manager(sources: &Sources) -> ServiceManager {
    let pid_matches = sources
        .get("WATCHDOG_PID")
        .is_none_or(|pid| pid.parse() == Ok(std::process::id()));
    let watchdog = sources
        .get("WATCHDOG_USEC")
        .and_then(|usec| usec.parse().ok())
        .filter(|&usec: &u64| usec > 0 && pid_matches)
        .map(Duration::from_micros);
    ServiceManager {
        notify_socket: sources.get("NOTIFY_SOCKET").map(PathBuf::from),
        watchdog,
    }
}

fn rate(flag: Option<u32>, variable: Option<&str>) -> Result<u32, UsageError> {
    let value = match (flag, variable) {
        (Some(n), _) => n,
        (None, Some(text)) => text
            .parse()
            .map_err(|_| UsageError::new(format!("CER_RATE={text:?} is not a whole number")))?,
        (None, None) => DEFAULT_RATE,
    };
    if value == 0 {
        return Err(UsageError::new(
            "--rate must be at least 1 request per second",
        ));
    }
    Ok(value)
}

/// The error of a command that needs an account key and has none.
pub(crate) fn missing_account_key() -> UsageError {
    UsageError::new("no account key: set ACCOUNT_KEY or pass --account-key")
        .with_hint(
            "the account key is in GoTo Connect's admin portal; set ACCOUNT_KEY in the environment or in ./.env",
        )
}

#[cfg(test)]
mod tests;
