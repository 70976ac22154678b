//! Wall-clock helpers: GoTo speaks millisecond-precision UTC timestamps, so the whole simulator
//! works in Unix milliseconds and formats at the edge.

use jiff::Timestamp;

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// A Unix-millisecond instant as a [`Timestamp`] (clamped to jiff's range).
pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// `2026-09-30T15:04:30.185Z`: GoTo's payload format (always three fraction digits).
pub(crate) fn fmt_ms(ms: i64) -> String {
    format!("{:.3}", timestamp(ms))
}

/// `2023-04-24T18:55:35.993967226Z`: the nanosecond form GoTo uses in notification envelopes.
pub(crate) fn fmt_now_nanos() -> String {
    format!("{:.9}", Timestamp::now())
}

/// Parses a query-string date-time the way GoTo's API documents it: ISO-8601 in UTC
/// (`YYYY-MM-DDTHH:MM:SSZ`, optionally with a 1–9 digit fraction). Anything else is `None`.
pub(crate) fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shape_ok = b.len() >= 20
        && b.last() == Some(&b'Z')
        && b.iter().take(19).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let frac = &b[19..b.len() - 1];
    let frac_ok = frac.is_empty()
        || (frac[0] == b'.'
            && (2..=10).contains(&frac.len())
            && frac[1..].iter().all(u8::is_ascii_digit));
    if !frac_ok {
        return None;
    }
    s.parse::<Timestamp>().ok().map(Timestamp::as_millisecond)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_three_digits() {
        assert_eq!(fmt_ms(1_790_783_070_185), "2026-09-30T15:44:30.185Z");
        assert_eq!(fmt_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_only_utc_iso_8601() {
        assert_eq!(parse_utc("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_utc("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_utc("1970-01-01T00:00:01.250000000Z"), Some(1250));
        for bad in [
            "1970-01-01",
            "1970-01-01T00:00:01",
            "1970-01-01T00:00:01+00:00",
            "1970-01-01 00:00:01Z",
            "1970-13-01T00:00:01Z",
            "1970-01-01T00:00:01.Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
