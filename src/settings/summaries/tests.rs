//! `summaries` settings: dates, ranges, selectors and filters checked before any request.

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
