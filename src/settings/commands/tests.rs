//! Command settings: IDs, dates, ranges and filters checked before any request.

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};
use crate::settings::Sources;

const NOW: &str = "2026-11-24T15:30:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn paris() -> TimeZone {
    TimeZone::fixed(jiff::tz::offset(1))
}

fn summaries(argv: &[&str]) -> Result<SummariesSettings, UsageError> {
    let mut full = vec!["cer", "summaries"];
    full.extend_from_slice(argv);
    let cli = Cli::try_parse_from(full).unwrap();
    let settings = Settings::resolve(
        &cli.global,
        &Sources::from_maps(&[("HOME", "/h"), ("ACCOUNT_KEY", "111")], &[]),
    )
    .unwrap();
    let Command::Summaries(args) = cli.command else {
        unreachable!()
    };
    SummariesSettings::resolve(&args, &settings, now(), paris())
}

fn range(argv: &[&str]) -> (String, String) {
    let s = summaries(argv).unwrap();
    (s.start.to_string(), s.end.to_string())
}

#[test]
fn no_range_flag_means_the_local_day_so_far() {
    assert_eq!(range(&[]), ("2026-11-23T23:00:00Z".into(), NOW.into()));
    assert_eq!(range(&["--day"]), range(&[]));
    assert_eq!(range(&["--day", "today"]), range(&[]));
}

#[test]
fn day_yesterday_and_dates_are_whole_local_days() {
    assert_eq!(
        range(&["--day", "yesterday"]),
        ("2026-11-22T23:00:00Z".into(), "2026-11-23T23:00:00Z".into())
    );
    assert_eq!(
        range(&["--day", "2026-11-01"]),
        ("2026-10-31T23:00:00Z".into(), "2026-11-01T23:00:00Z".into())
    );
    assert_eq!(
        range(&["--day", "2026-11-01", "--utc"]),
        ("2026-11-01T00:00:00Z".into(), "2026-11-02T00:00:00Z".into())
    );
}

#[test]
fn from_and_to_take_times_or_whole_days() {
    assert_eq!(
        range(&["--from", "2026-11-01", "--to", "2026-11-02", "--utc"]),
        ("2026-11-01T00:00:00Z".into(), "2026-11-03T00:00:00Z".into())
    );
    assert_eq!(
        range(&[
            "--from",
            "2026-11-01T10:00:00+02:00",
            "--to",
            "2026-11-01T12:00:00Z"
        ]),
        ("2026-11-01T08:00:00Z".into(), "2026-11-01T12:00:00Z".into())
    );
    assert_eq!(range(&["--from", "2026-11-24T15:00:00Z"]).1, NOW);
    assert_eq!(
        range(&["--since", "2h"]),
        ("2026-11-24T13:30:00Z".into(), NOW.into())
    );
}

#[test]
fn an_end_in_the_future_is_clipped_to_now() {
    assert_eq!(
        range(&["--from", "2026-11-24", "--to", "2026-12-31"]).1,
        NOW
    );
}

#[test]
fn bad_ranges_are_usage_errors() {
    for argv in [
        &["--day", "2026-13-01"][..],
        &["--day", "24/11/2026"],
        &["--day", "2026-11-30"],
        &["--from", "tomorrow"],
        &["--from", "2026-11-10", "--to", "2026-11-01"],
        &["--from", "2026-11-25T00:00:00Z"],
        &["--to", "2026-11-01"],
        &["--since", "soon"],
    ] {
        assert!(summaries(argv).is_err(), "{argv:?} was accepted");
    }
}

#[test]
fn filters_are_checked_and_normalised() {
    let s = summaries(&["--outcome", "missed", "--scope", "internal"]).unwrap();
    assert_eq!(s.outcome.as_deref(), Some("MISSED"));
    assert_eq!(s.scope.as_deref(), Some("INTERNAL"));
    let err = summaries(&["--outcome", "HAPPY"]).unwrap_err();
    assert!(err.to_string().contains("--outcome"), "{err}");
    assert!(summaries(&["--scope", "GLOBAL"]).is_err());
}

#[test]
fn page_size_stays_within_goto_bounds() {
    assert_eq!(summaries(&[]).unwrap().page_size, None);
    assert_eq!(
        summaries(&["--page-size", "50"]).unwrap().page_size,
        Some(50)
    );
    assert!(summaries(&["--page-size", "0"]).is_err());
    assert!(summaries(&["--page-size", "1001"]).is_err());
}

#[test]
fn selectors_replace_the_account_key_one_at_a_time() {
    assert_eq!(
        summaries(&[]).unwrap().selector,
        Selector::AccountKey("111".into())
    );
    assert_eq!(
        summaries(&["--account-key", "222"]).unwrap().selector,
        Selector::AccountKey("222".into())
    );
    assert_eq!(
        summaries(&["--user-key", "u"]).unwrap().selector,
        Selector::UserKey("u".into())
    );
    assert!(summaries(&["--user-key", "u", "--line-id", "l"]).is_err());
}

#[test]
fn uuids_are_recognised() {
    assert!(crate::report::ConversationId::is_valid(
        "29a1c77a-e52a-3764-8606-8b02b1277be8"
    ));
    assert!(crate::report::ConversationId::is_valid(
        "29A1C77A-E52A-3764-8606-8B02B1277BE8"
    ));
    for bad in [
        "",
        "29a1c77a",
        "29a1c77a-e52a-3764-8606-8b02b1277be",
        "g9a1c77a-e52a-3764-8606-8b02b1277be8",
        "29a1c77ae52a-3764-8606-8b02-b1277be8",
    ] {
        assert!(!crate::report::ConversationId::is_valid(bad), "{bad}");
    }
}

#[test]
fn redirect_uris_must_be_loopback_with_a_port() {
    assert!(loopback_redirect("http://127.0.0.1:12021/app/redirect").is_ok());
    for bad in [
        "https://127.0.0.1:1/x",
        "http://localhost:1/x",
        "http://127.0.0.1/x",
        "http://10.0.0.1:1/x",
        "nope",
        "http://127.0.0.1:1/x?a=b",
    ] {
        assert!(loopback_redirect(bad).is_err(), "{bad}");
    }
}

// Regression: `--forward-header 'Content-Length: 0'` made the webhook read empty bodies that
// counted as delivered.
#[test]
fn headers_that_frame_or_route_the_request_are_refused() {
    for text in [
        "Content-Length: 0",
        "transfer-encoding: chunked",
        "Host: elsewhere",
        "Connection: close",
    ] {
        let err = header(text).unwrap_err().to_string();
        assert!(err.contains("cannot be set"), "{text}: {err}");
    }
    assert!(header("X-Token: abc").is_ok());
}

#[test]
fn a_bad_header_is_named_without_its_value() {
    let err = header("Authorization secret-token")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("secret-token"), "{err}");
    let err = header("Bad Name: secret-token").unwrap_err().to_string();
    assert!(!err.contains("secret-token"), "{err}");
}

// Regression: `--since 1000000000000s` asked GoTo for year −9999, and `99999w` sent 23,000
// requests; `--limit 0`, an empty key and `--day 9999-12-31` went through or showed internals.
#[test]
fn summaries_inputs_beyond_sane_bounds_are_usage_errors() {
    for argv in [
        &["--since", "1000000000000s"][..],
        &["--since", "99999w"],
        &["--from", "1900-01-01"],
        &["--limit", "0"],
        &["--account-key", ""],
        &["--user-key", " "],
    ] {
        assert!(summaries(argv).is_err(), "{argv:?}");
    }
    let err = summaries(&["--day", "9999-12-31"]).unwrap_err().to_string();
    assert!(err.contains("9999-12-31"), "{err}");
    assert!(!err.contains("jiff") && !err.contains("parameter"), "{err}");
    assert!(summaries(&["--since", "30d", "--limit", "1"]).is_ok());
}

#[test]
fn redirect_ports_0_and_80_are_judged_by_the_port_cer_listens_on() {
    assert!(loopback_redirect("http://127.0.0.1:80/app/redirect").is_ok());
    assert!(loopback_redirect("http://127.0.0.1:0/app/redirect").is_err());
}

fn sandbox(argv: &[&str]) -> Result<SandboxSettings, UsageError> {
    let mut full = vec!["cer", "sandbox"];
    full.extend_from_slice(argv);
    let cli = Cli::try_parse_from(full).unwrap();
    let Command::Sandbox(args) = cli.command else {
        unreachable!()
    };
    SandboxSettings::resolve(&args)
}

#[test]
fn analysis_delay_takes_seconds_zero_or_off() {
    let delay = |argv: &[&str]| sandbox(argv).map(|s| s.config.analysis_delay);
    assert_eq!(
        delay(&[]).unwrap(),
        Some(cer_sandbox::DEFAULT_ANALYSIS_DELAY)
    );
    assert_eq!(
        delay(&["--analysis-delay", "2.5"]).unwrap(),
        Some(Duration::from_millis(2_500))
    );
    assert_eq!(
        delay(&["--analysis-delay", "0"]).unwrap(),
        Some(Duration::ZERO)
    );
    assert_eq!(delay(&["--analysis-delay", "off"]).unwrap(), None);
    for bad in ["-1", "soon", "inf", "100000"] {
        let flag = format!("--analysis-delay={bad}");
        assert!(delay(&[flag.as_str()]).is_err(), "{bad}");
    }
}

// Regression (issue 26): a value holding CR or LF was refused as "not a valid header", which
// named the header but not what was wrong with its value.
#[test]
fn a_header_value_with_a_line_break_says_so_without_quoting_it() {
    for text in [
        "X-Token: s3cr3t\r\nInjected: 1",
        "X-Token: s3cr3t\nx",
        "X-Token: s3cr3t\rx",
    ] {
        let err = header(text).unwrap_err().to_string();
        assert!(err.contains("\"X-Token\""), "{err}");
        assert!(err.contains("CR or LF"), "{err}");
        assert!(
            !err.contains("s3cr3t") && !err.contains("Injected"),
            "{err}"
        );
    }
}

// Regression (issue 26): a mistyped `--forward-to` showed its scheme, which in
// `name:password@host/…` is the user name.
#[test]
fn a_bad_forward_to_shows_no_part_of_itself() {
    for text in [
        "tok3n:s3cret@hooks.example/catch/1/k",
        "https://u:s3cret@",
        "hooks.example/s3cret",
        "ftp://u:s3cret@hooks.example/x",
    ] {
        let err = webhook_url(text).unwrap_err().to_string();
        for part in ["s3cret", "tok3n", "hooks", "u:"] {
            assert!(!err.contains(part), "{text}: {err}");
        }
    }
    let err = webhook_url("ftp://h/x").unwrap_err().to_string();
    assert!(err.contains("its scheme is ftp"), "{err}");
    assert!(webhook_url("http://127.0.0.1:3000/hook/s3cret").is_ok());
}
