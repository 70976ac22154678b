//! Times in messages for people: whole seconds in UTC, since nanoseconds only get in the way
//! of reading "from 09:14:01 to 11:14:01"; lengths as a person says them (`4m 07s`).

use jiff::{SignedDuration, Timestamp, Unit};

/// `42s`, `4m 07s`, `1h 02m`.
pub fn human_duration(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// A length in whole seconds, rounded half up: 4m 37.95s is `4m 38s`, never cut to `4m 37s`.
pub fn rounded_seconds(length: SignedDuration) -> i64 {
    let ms = length.as_millis().max(0);
    i64::try_from((ms + 500) / 1000).unwrap_or(i64::MAX)
}

/// How long from `start` to `end`, rounded to the second, as a person says it.
pub fn length_between(start: Timestamp, end: Timestamp) -> String {
    human_duration(rounded_seconds(end.duration_since(start)))
}

/// `2026-11-25T09:14:01Z`: the instant truncated to the second.
pub fn in_seconds(at: Timestamp) -> String {
    let whole = at.round(
        jiff::TimestampRound::new()
            .smallest(Unit::Second)
            .mode(jiff::RoundMode::Trunc),
    );
    whole
        .unwrap_or(at)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_rounded_not_cut() {
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let start = at("2026-11-25T09:00:00Z");
        assert_eq!(
            length_between(start, at("2026-11-25T09:04:37.95Z")),
            "4m 38s"
        );
        assert_eq!(
            length_between(start, at("2026-11-25T09:04:37.49Z")),
            "4m 37s"
        );
        assert_eq!(length_between(start, at("2026-11-25T08:59:00Z")), "0s");
    }

    #[test]
    fn drops_the_fraction() {
        let at: Timestamp = "2026-11-25T09:14:01.2984502Z".parse().unwrap();
        assert_eq!(in_seconds(at), "2026-11-25T09:14:01Z");
    }
}
