//! Human durations on the command line (`90s`, `30m`, `2h`, `1d`, `1h30m`), as `gh` and `stripe`
//! accept them.

use std::time::Duration;

use crate::errors::UsageError;

/// Parses a duration made of `<number><unit>` parts; units are `s`, `m`, `h`, `d` and `w`.
pub fn parse_duration(flag: &str, text: &str) -> Result<Duration, UsageError> {
    let bad = || {
        UsageError::new(format!("{flag} {text:?} is not a duration"))
            .with_hint("write it like 90s, 30m, 2h, 1d or 1h30m")
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let amount: u64 = digits.parse().map_err(|_| bad())?;
        total = amount
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
        digits.clear();
        parts += 1;
    }
    if parts == 0 || !digits.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        let secs = |t| parse_duration("--since", t).unwrap().as_secs();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("30m"), 1800);
        assert_eq!(secs("2h"), 7200);
        assert_eq!(secs("1d"), 86_400);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("1w"), 604_800);
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "2", "h", "2x", "-1h", "1.5h", "99999999999999999999d"] {
            let err = parse_duration("--since", text).unwrap_err();
            assert!(err.to_string().contains("--since"), "{text}: {err}");
        }
    }
}
