//! Times in messages for people: whole seconds in UTC, since nanoseconds only get in the way
//! of reading "from 09:14:01 to 11:14:01"; lengths as a person says them (`4m 07s`).

use jiff::{Timestamp, Unit};

/// `42s`, `4m 07s`, `1h 02m`.
pub fn human_duration(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
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
    fn drops_the_fraction() {
        let at: Timestamp = "2026-11-25T09:14:01.2984502Z".parse().unwrap();
        assert_eq!(in_seconds(at), "2026-11-25T09:14:01Z");
    }
}
