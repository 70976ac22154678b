//! The command line as clap sees it: flags, arguments and help text, nothing else.
//!
//! Doc comments here are the `--help` text. Values are checked and combined with the environment
//! in `settings`, so this file never decides anything.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

const ROOT_EXAMPLES: &str = "\
Examples:
  cer --sandbox listen                 Try the whole pipeline against the built-in simulator
  cer login                            Log in to GoTo (opens a browser)
  cer listen --json | jq .             Stream every call's report as it ends
  cer summaries --day yesterday        Browse yesterday's calls
  cer fetch 29a1c77a-e52a-3764-8606-8b02b1277be8";

const SHOW_EXAMPLES: &str = "\
Examples:
  cer show 29a1c77a-e52a-3764-8606-8b02b1277be8
  cer show --utc 29a1c77a-e52a-3764-8606-8b02b1277be8 | less

An ID may also be the first 8 or more characters of a call in the store (the ID column of
`cer summaries`), e.g. `cer show 29a1c77a`. A call the store lacks is fetched from GoTo
by its whole ID. `cer fetch` prints the JSON.

With --archive (CER_ARCHIVE), the page names each archived recording (its path or object key
and size) and prints each archived transcript as a conversation; --transcript fetches a
transcript the archive lacks from GoTo (the scope recording.v1.read: `cer login --recordings`).";

const RECORDING_EXAMPLES: &str = "\
Examples:
  cer recording 29a1c77a-e52a-3764-8606-8b02b1277be8 -o call.wav
  cer recording 29a1c77a-e52a-3764-8606-8b02b1277be8 | ffplay -nodisp -

An ID may also be the first 8 or more characters of a call in the store, as for `cer show`.
A call with several recordings needs -o DIR: each is written as DIR/recording-ID.EXT. The
archive (--archive, CER_ARCHIVE) is read first; GoTo is asked for what it lacks (the scope
recording.v1.read: `cer login --recordings`). Exit 3 when the call has no recording.";

/// Command-line client for GoTo Connect Call Events Reports.
///
/// cer logs in with OAuth, streams each call's full report the moment the call ends (reconnecting,
/// backfilling and deduplicating so none is lost or printed twice), fetches single reports and
/// browses report summaries. `--sandbox` runs any command against a built-in GoTo simulator.
#[derive(Debug, Parser)]
#[command(name = "cer", version, about, long_about, after_help = ROOT_EXAMPLES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after any command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Run against a built-in, deterministic GoTo simulator instead of GoTo
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// Read variables from this file instead of ./.env
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// When to use colour [default: auto; honours NO_COLOR and CLICOLOR_FORCE]
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorWhen>,

    /// Log more (-v: debug, -vv: trace); overrides LOG_LEVEL
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Log less (-q: warnings and errors only, -qq: errors only); overrides LOG_LEVEL
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Log lines on stderr as text or as one JSON object each (LOG_FORMAT) [default: text]
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,

    /// Client-side limit of requests per second to each GoTo API [default: 10]
    #[arg(long, global = true, value_name = "N")]
    pub rate: Option<u32>,

    /// Base URL of the REST APIs (CER_API_BASE)
    #[arg(long, global = true, hide = true, value_name = "URL")]
    pub api_base: Option<String>,

    /// Base URL of the OAuth endpoints (CER_AUTH_BASE)
    #[arg(long, global = true, hide = true, value_name = "URL")]
    pub auth_base: Option<String>,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Log in to GoTo with OAuth and store the tokens
    #[command(after_help = "Examples:\n  \
                      cer login\n  \
                      cer login --no-browser      # on a remote machine: paste the address you were sent to\n  \
                      cer login --recordings      # also the scopes --archive needs for recordings")]
    Login(LoginArgs),

    /// Delete the stored tokens (keyring and file)
    #[command(after_help = "Example:\n  cer logout")]
    Logout,

    /// Show who is logged in, where the tokens are stored and when the access token expires
    #[command(
        after_help = "Examples:\n  cer status\n  cer status --check          # also ask GoTo whether the token works"
    )]
    Status(StatusArgs),

    /// Print a valid access token (refreshed if needed) alone on stdout
    #[command(after_help = "Example:\n  \
                      curl -H \"Authorization: Bearer $(cer token)\" \\\n    \
                      https://api.goto.com/call-events-report/v1/reports/ID")]
    Token,

    /// Stream each call's full report as soon as the call ends, until Ctrl-C
    ///
    /// With --sandbox, the simulator's business day ends a call every 10 s on average even at
    /// night and at weekends, so the first line shows within about 15 s.
    #[command(after_help = "Examples:\n  \
                      cer listen\n  \
                      cer listen --json | jq .conversationSpaceId\n  \
                      cer listen --since 2h --forward-to http://127.0.0.1:8080/calls")]
    Listen(ListenArgs),

    /// Print the report of each conversationSpaceId
    #[command(after_help = "Examples:\n  \
                      cer fetch 29a1c77a-e52a-3764-8606-8b02b1277be8\n  \
                      cer fetch --wait 60 29a1c77a-e52a-3764-8606-8b02b1277be8 | jq .callEnded")]
    Fetch(FetchArgs),

    /// One call for a person: who called whom, a timeline of what happened, post-call analysis
    #[command(after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),

    /// The audio of a call's recordings, from the archive or from GoTo, to a file or a pipe
    #[command(after_help = RECORDING_EXAMPLES)]
    Recording(RecordingArgs),

    /// Browse the report summaries of a day or a time range
    #[command(after_help = "Examples:\n  \
                      cer summaries                          # today\n  \
                      cer summaries --day yesterday --outcome MISSED\n  \
                      cer summaries --stats --json           # today's figures for a dashboard\n  \
                      cer summaries --from 2026-11-01 --to 2026-11-07 --json | jq .conversationSpaceId")]
    Summaries(SummariesArgs),

    /// Run the local GoTo simulator until Ctrl-C and print the variables that point cer at it
    ///
    /// Its calls follow a business day in the local time zone (TZ): a call every 2 s at the
    /// busiest hours (10:00 and 15:00 on weekdays), a fifth of that at night and at weekends,
    /// so that at any hour `cer listen` against it shows a call within about 15 s.
    #[command(after_help = "Examples:\n  \
                      cer sandbox --port 8700              # then paste the printed export lines into another shell\n  \
                      cer sandbox --seed 7 --call-every 5 --report-delay 3 --analysis-delay 5\n  \
                      cer sandbox --fault-every 60:drop-websockets --fault 'rate-limit-next?count=5'\n  \
                      curl -X POST \"$CER_API_BASE/_sandbox/faults/expire-channels\"   # a fault while it runs\n  \
                      curl -X POST \"$CER_API_BASE/_sandbox/reports/ID/analysis\"   # post-call analysis now")]
    Sandbox(SandboxArgs),

    /// Copy every report of a day or a range into the store; run it again to resume
    #[command(after_help = "Examples:\n  \
                      cer sync --day yesterday\n  \
                      cer sync --from 2026-10-01 --to 2026-10-31 --store postgres://cer@db/cer\n  \
                      \
                      cer sync --day yesterday --archive /srv/cer-archive   # also recordings and transcripts\n  \
                      cer sync --check --day yesterday --archive /srv/cer-archive --verify")]
    Sync(SyncArgs),

    /// List the forwarding outbox (pending and failed deliveries); --retry sends failed ones again
    #[command(after_help = "Examples:\n  \
                      cer deliveries\n  \
                      cer deliveries --failed --json | jq .conversationSpaceId\n  \
                      cer deliveries --retry")]
    Deliveries(DeliveriesArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  cer completions bash > ~/.local/share/bash-completion/completions/cer"
    )]
    Completions(CompletionsArgs),
}

/// `cer login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Do not open a browser: print the URL and read the address you were redirected to from stdin
    #[arg(long)]
    pub no_browser: bool,

    /// Give up waiting for the browser after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,

    /// Redirect URI registered on the OAuth client (OAUTH_REDIRECT_URI)
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,

    /// Log in again without asking, replacing the stored tokens
    #[arg(long)]
    pub force: bool,

    /// Also ask for recording.v1.read and recording.v1.notifications.manage, so --archive can
    /// keep recordings and transcripts (the OAuth client must have both scopes)
    #[arg(long)]
    pub recordings: bool,
}

/// `cer status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Also make one authenticated request, to see whether GoTo accepts the token
    #[arg(long)]
    pub check: bool,
}

/// `cer listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// GoTo account key to listen to; repeat for several accounts (ACCOUNT_KEY)
    #[arg(long, value_name = "KEY")]
    pub account_key: Vec<String>,

    /// Print one full report per line as JSON, also on a terminal
    #[arg(long)]
    pub json: bool,

    /// Subscription event types, comma-separated [default: REPORT_SUMMARY]
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub event_types: Vec<String>,

    /// At start, backfill the calls that ended in this past duration (e.g. 30m, 2h, 1d)
    #[arg(long, value_name = "DURATION", conflicts_with = "no_backfill")]
    pub since: Option<String>,

    /// Do not catch up (from report summaries) on calls that ended while cer was not listening
    #[arg(long)]
    pub no_backfill: bool,

    /// Longest call to expect; backfill queries reach back this far [default: 4h]
    #[arg(long, value_name = "DURATION")]
    pub max_call_duration: Option<String>,

    /// Also POST each report as JSON to this URL (a local webhook)
    #[arg(long, value_name = "URL")]
    pub forward_to: Vec<String>,

    /// Header to send with each forwarded report, as 'Name: value'; repeatable. Visible to
    /// every local user in the process list: put credentials in --forward-header-file
    #[arg(long, value_name = "HEADER", requires = "forward_to")]
    pub forward_header: Vec<String>,

    /// File of headers to send with each forwarded report, one 'Name: value' per line
    /// (blank lines and lines starting with # are skipped): for receiver credentials
    #[arg(long, value_name = "PATH", requires = "forward_to")]
    pub forward_header_file: Option<std::path::PathBuf>,

    /// When to fetch each stored report again for post-call analysis, after the call ended:
    /// comma-separated durations, or 'off' (CER_REFETCH) [default: 2m,15m,1h]
    #[arg(long, value_name = "LIST")]
    pub refetch: Option<String>,

    /// Also print each later revision of a report (post-call analysis came): the whole report
    /// with --json, else a line naming the call and the fields that came
    #[arg(long)]
    pub updates: bool,

    /// Serve Prometheus metrics on http://ADDR/metrics and a health check on /healthz
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Keep trying each delivery for this long before marking it failed [default: 24h]
    #[arg(long, value_name = "DURATION")]
    pub forward_for: Option<String>,

    /// File holding the secret that signs forwarded reports (instead of CER_FORWARD_SECRET)
    #[arg(long, value_name = "PATH")]
    pub forward_secret_file: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Delete stored reports of calls that ended longer ago than this, or 'forever' [default: 90d]
    #[arg(long, value_name = "DURATION")]
    pub keep: Option<String>,

    /// Also archive each call's report, recordings and transcripts to DEST, a folder or
    /// s3://BUCKET[/PREFIX], as they come (CER_ARCHIVE); needs `cer login --recordings`
    #[arg(long, value_name = "DEST")]
    pub archive: Option<String>,
}

/// `--store`, shared by the commands that use the store.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct StoreArgs {
    /// Where cursors, reports and the outbox are kept: sqlite:PATH or postgres://… (CER_STORE)
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// The day or range of `summaries` and `sync`: the same flags, read the same way.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RangeArgs {
    /// A day: YYYY-MM-DD, today or yesterday [default: today]
    #[arg(long, value_name = "DATE", num_args = 0..=1, default_missing_value = "today",
          conflicts_with_all = ["from", "to", "since"])]
    pub day: Option<String>,

    /// Start of the range: RFC 3339, or YYYY-MM-DD for the start of that day
    #[arg(long, value_name = "TIME", conflicts_with = "since")]
    pub from: Option<String>,

    /// End of the range: RFC 3339, or YYYY-MM-DD for the end of that whole day [default: now]
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,

    /// The range from this long ago until now (e.g. 30m, 2h, 3d)
    #[arg(long, value_name = "DURATION", conflicts_with = "to")]
    pub since: Option<String>,

    /// Read (and show) days and times in UTC instead of the local time zone
    #[arg(long)]
    pub utc: bool,
}

/// `cer sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    #[command(flatten)]
    pub range: RangeArgs,

    /// GoTo account key (ACCOUNT_KEY)
    #[arg(long, value_name = "KEY")]
    pub account_key: Option<String>,

    /// Fetch no report: compare GoTo's summaries of the range with the store and say what is
    /// missing, which re-fetches are still due and which deliveries wait or failed; exit 1
    /// when a call of the range is not stored (-v or --json list them)
    #[arg(long)]
    pub check: bool,

    /// With --check: the result as one JSON object on stdout
    #[arg(long, requires = "check")]
    pub json: bool,

    /// Also archive each call's report, recordings and transcripts to DEST, a folder or
    /// s3://BUCKET[/PREFIX] (CER_ARCHIVE); with --check, count what the archive lacks
    #[arg(long, value_name = "DEST")]
    pub archive: Option<String>,

    /// With --check and an archive: read every archived object again and compare its SHA-256
    #[arg(long, requires = "check")]
    pub verify: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `cer deliveries`.
#[derive(Debug, Args)]
pub(crate) struct DeliveriesArgs {
    /// Only the deliveries that failed for good
    #[arg(long)]
    pub failed: bool,

    /// One JSON object per delivery, also on a terminal
    #[arg(long)]
    pub json: bool,

    /// Queue the failed deliveries again (sent by the next or the running `cer listen`)
    #[arg(long, conflicts_with = "failed")]
    pub retry: bool,

    /// Unregister a target and drop its queue: its tag (shown in brackets after the target,
    /// e.g. 3f2a91) or its URL. Stop the listeners that name it first, or they register it again
    #[arg(long, value_name = "TARGET", conflicts_with_all = ["failed", "retry", "json"])]
    pub forget: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `cer fetch`.
#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// conversationSpaceId of each report to print
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,

    /// Keep retrying a report that is not ready yet for up to this many seconds
    #[arg(long, value_name = "SECS")]
    pub wait: Option<u64>,

    /// Pretty-print JSON even when stdout is not a terminal
    #[arg(long, conflicts_with = "compact")]
    pub pretty: bool,

    /// Print one compact JSON document per line even on a terminal
    #[arg(long)]
    pub compact: bool,
}

/// `cer show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// conversationSpaceId of each call, or its first 8 or more characters for a stored call
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,

    /// Show times in UTC instead of the local time zone
    #[arg(long)]
    pub utc: bool,

    /// Read archived recordings and transcripts from DEST, a folder or s3://BUCKET[/PREFIX]
    /// (CER_ARCHIVE)
    #[arg(long, value_name = "DEST")]
    pub archive: Option<String>,

    /// Fetch the call's transcript from GoTo when the archive lacks it
    #[arg(long)]
    pub transcript: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `cer recording`.
#[derive(Debug, Args)]
pub(crate) struct RecordingArgs {
    /// conversationSpaceId of each call, or its first 8 or more characters for a stored call
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,

    /// Write to PATH (a folder when there are several recordings) instead of stdout
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,

    /// Read recordings from the archive DEST first, a folder or s3://BUCKET[/PREFIX]
    /// (CER_ARCHIVE)
    #[arg(long, value_name = "DEST")]
    pub archive: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `cer summaries`.
#[derive(Debug, Args)]
pub(crate) struct SummariesArgs {
    #[command(flatten)]
    pub range: RangeArgs,

    /// GoTo account key (ACCOUNT_KEY)
    #[arg(long, value_name = "KEY")]
    pub account_key: Option<String>,

    /// Only calls of this user (GoTo's userKey selector, instead of the account)
    #[arg(long, value_name = "KEY")]
    pub user_key: Option<String>,

    /// Only calls of this line (GoTo's lineId selector)
    #[arg(long, value_name = "ID")]
    pub line_id: Option<String>,

    /// Only calls of this phone number (GoTo's phoneNumberId selector)
    #[arg(long, value_name = "ID")]
    pub phone_number_id: Option<String>,

    /// Only calls with this virtual participant
    #[arg(long, value_name = "ID")]
    pub virtual_participant_id: Option<String>,

    /// Conversation scope: INTERNAL or EXTERNAL
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,

    /// Caller outcome, e.g. NORMAL, MISSED, VOICEMAIL, LEFT_DIAL_PLAN
    #[arg(long, value_name = "OUTCOME")]
    pub outcome: Option<String>,

    /// Summaries per page requested from GoTo (1 to 1000)
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,

    /// Show at most this many calls [default: 50 on a terminal, every one in a pipe]
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Show every call on a terminal (the table streams; the glance comes after it)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Print only the glance: calls by direction and outcome, per hour, answer and talk times,
    /// busiest lines, callers not called back (with --json: one JSON object)
    #[arg(long)]
    pub stats: bool,

    /// Print the raw summaries as JSON, one per line
    #[arg(long)]
    pub json: bool,
}

/// `cer sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Port to listen on, on 127.0.0.1 [default: any free port]
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub port: u16,

    /// Seed of the simulated call history; equal seeds give equal calls
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// At the busiest hour one simulated call starts every SECS seconds [default: 2, or 10
    /// with --flat]; 0 turns scheduled calls off
    #[arg(long, value_name = "SECS")]
    pub call_every: Option<f64>,

    /// The same number of calls in every hour of every day, instead of a business day
    #[arg(long)]
    pub flat: bool,

    /// Lifetime of issued access tokens, in seconds
    #[arg(long, value_name = "SECS")]
    pub token_lifetime: Option<u64>,

    /// Lifetime of notification channels, in seconds
    #[arg(long, value_name = "SECS")]
    pub channel_lifetime: Option<u64>,

    /// Reports answer 404 (not ready) for this many seconds after each call ends
    #[arg(long, value_name = "SECS")]
    pub report_delay: Option<u64>,

    /// Post-call analysis (callReason, aiAnalysis) reaches an answered call's report SECS to
    /// 2×SECS after it ends, a recording and transcript 5× to 10× SECS after; 0: at once, off:
    /// never [default: 60]
    #[arg(long, value_name = "SECS|off")]
    pub analysis_delay: Option<String>,

    /// Trigger a fault once at start, as NAME or NAME?key=value&... (e.g.
    /// 'fail-next?count=3&status=503'); repeatable; see --list-faults
    #[arg(long, value_name = "FAULT")]
    pub fault: Vec<String>,

    /// Trigger a fault every SECS seconds, as SECS:NAME[?key=value&...] (e.g.
    /// 30:drop-websockets); repeatable
    #[arg(long, value_name = "SECS:FAULT")]
    pub fault_every: Vec<String>,

    /// List the fault names and exit
    #[arg(long)]
    pub list_faults: bool,
}

/// `cer completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// Shell to generate the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The clap command with the touches derive cannot express: global flags that mean nothing
/// for one command are kept out of its help. clap propagates a global flag only to commands
/// that lack one of that name, so a hidden copy given to the command wins.
pub fn command() -> clap::Command {
    let command = Cli::command();
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| ["sandbox", "rate"].contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().hide(true))
        .collect();
    command.mut_subcommand("sandbox", |sandbox| sandbox.args(hidden))
}

/// Parses `args` (the program's name first) with [`command`].
pub(crate) fn try_parse_from(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Cli, clap::Error> {
    let mut command = command();
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}
