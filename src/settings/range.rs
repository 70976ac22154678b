//! The day or range of `summaries` and `sync` (`--day`, `--from`/`--to`, `--since`), read in
//! one place into `[start, end)` timestamps, bounded so no flag can ask for centuries.

use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::cli::RangeArgs;
use crate::errors::UsageError;

/// The zone the range's days are in (`--utc`, else `local`) and the range in it.
pub fn zoned_range(
    args: &RangeArgs,
    now: Timestamp,
    local: TimeZone,
) -> Result<(TimeZone, Timestamp, Timestamp), UsageError> {
    let zone = if args.utc { TimeZone::UTC } else { local };
    let (start, end) = resolve_range(args, now, &zone)?;
    Ok((zone, start, end))
}

/// The `[start, end)` range the flags ask for, with `end` clipped to now.
pub fn resolve_range(
    args: &RangeArgs,
    now: Timestamp,
    zone: &TimeZone,
) -> Result<(Timestamp, Timestamp), UsageError> {
    let (start, end) = if let Some(since) = &args.since {
        let back = lookback("--since", since)?;
        let back =
            jiff::SignedDuration::try_from(back).map_err(|_| range_error("--since is too long"))?;
        (
            now.saturating_sub(back)
                .map_err(|_| range_error("--since is too long"))?,
            now,
        )
    } else if let Some(from) = &args.from {
        let start = parse_time("--from", from, zone, DayEdge::Start)?;
        let end = match &args.to {
            Some(to) => parse_time("--to", to, zone, DayEdge::End)?,
            None => now,
        };
        (start, end)
    } else if args.to.is_some() {
        return Err(
            UsageError::new("--to needs --from").with_hint("or use --day DATE or --since DURATION")
        );
    } else {
        day_range(args.day.as_deref().unwrap_or("today"), now, zone)?
    };
    if start >= now {
        return Err(range_error(
            "the range starts in the future: there are no reports yet",
        ));
    }
    if start >= end {
        return Err(range_error("--from must be before --to"));
    }
    let end = end.min(now);
    if end.duration_since(start) > jiff::SignedDuration::try_from(MAX_LOOKBACK).unwrap_or_default()
    {
        return Err(too_far("the range"));
    }
    Ok((start, end))
}

/// How far back cer looks at most (`--since`, a summaries range): far beyond any report
/// retention, and still few enough windows that a typo cannot send thousands of requests.
pub const MAX_LOOKBACK: Duration = Duration::from_secs(5 * 366 * 86_400);

/// A `--since`-style duration, at most [`MAX_LOOKBACK`].
pub(super) fn lookback(flag: &str, text: &str) -> Result<Duration, UsageError> {
    let back = super::parse_duration(flag, text)?;
    if back > MAX_LOOKBACK {
        return Err(too_far(flag));
    }
    Ok(back)
}

fn too_far(what: &str) -> UsageError {
    UsageError::new(format!("{what} reaches back more than 5 years"))
        .with_hint("ask for a shorter range, e.g. --since 30d")
}

/// An identifier flag that is set must say something.
pub(super) fn non_empty(flag: &str, value: &str) -> Result<(), UsageError> {
    if value.trim().is_empty() {
        return Err(UsageError::new(format!("{flag} is empty")));
    }
    Ok(())
}

fn range_error(message: &str) -> UsageError {
    UsageError::new(message.to_string())
}

#[derive(Clone, Copy)]
enum DayEdge {
    Start,
    End,
}

fn day_range(
    text: &str,
    now: Timestamp,
    zone: &TimeZone,
) -> Result<(Timestamp, Timestamp), UsageError> {
    let today = now.to_zoned_datetime(zone.clone()).date();
    let day = match text {
        "today" => today,
        "yesterday" => today
            .checked_sub(1.day())
            .map_err(|_| range_error("no such day"))?,
        other => parse_date("--day", other)?,
    };
    Ok((day_start(day, zone)?, day_start(next_day(day)?, zone)?))
}

fn parse_time(
    flag: &str,
    text: &str,
    zone: &TimeZone,
    edge: DayEdge,
) -> Result<Timestamp, UsageError> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let day = parse_date(flag, text).map_err(|_| {
        UsageError::new(format!(
            "{flag} {text:?} is neither an RFC 3339 time nor a date"
        ))
        .with_hint("write 2026-11-24T09:00:00Z, 2026-11-24T10:00:00+01:00 or 2026-11-24")
    })?;
    match edge {
        DayEdge::Start => day_start(day, zone),
        DayEdge::End => day_start(next_day(day)?, zone),
    }
}

fn parse_date(flag: &str, text: &str) -> Result<Date, UsageError> {
    let valid_shape = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    text.parse::<Date>()
        .ok()
        .filter(|_| valid_shape)
        .ok_or_else(|| {
            UsageError::new(format!("{flag} {text:?} is not a date"))
                .with_hint("write YYYY-MM-DD, today or yesterday")
        })
}

fn next_day(day: Date) -> Result<Date, UsageError> {
    day.tomorrow()
        .map_err(|_| range_error(&format!("{day} is beyond the dates cer can work with")))
}

fn day_start(day: Date, zone: &TimeZone) -> Result<Timestamp, UsageError> {
    day.to_zoned_datetime(zone.clone())
        .map(|zdt| zdt.timestamp())
        .map_err(|_| range_error(&format!("{day} is beyond the dates cer can work with")))
}
