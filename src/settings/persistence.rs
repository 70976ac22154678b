//! The store and delivery settings several commands share (`listen`, `sync`, `deliveries`,
//! `show`, `recording`): `--store` / `CER_STORE`, `--keep`, `--refetch`, `--forward-for` and the
//! signing secret, parsed in one place so each reads the same way everywhere.

use std::time::Duration;

use crate::cli::StoreArgs;
use crate::errors::UsageError;
use crate::store::StoreLocation;
use crate::target::Signer;

use super::Settings;

/// How long reports are kept by default: 90 days.
const DEFAULT_KEEP: Duration = Duration::from_secs(90 * 86_400);
/// How long a delivery is tried by default: 24 hours.
pub const DEFAULT_FORWARD_FOR: Duration = Duration::from_secs(24 * 3600);

/// Where the store is: `--store`, else `CER_STORE`, else `sqlite:STATE_DIR/cer.db` (with
/// `--sandbox`, its layer of the sources hides `CER_STORE` and moves the state folder).
pub fn store_location(args: &StoreArgs, settings: &Settings) -> Result<StoreLocation, UsageError> {
    match args.store.as_deref() {
        Some(text) => parse_store(text),
        None => Ok(settings
            .store
            .clone()?
            .unwrap_or_else(|| StoreLocation::default_in(&settings.state_dir))),
    }
}

/// A `--store` or `CER_STORE` value.
pub(super) fn parse_store(text: &str) -> Result<StoreLocation, UsageError> {
    StoreLocation::parse(text).map_err(|err| {
        UsageError::new(err.to_string())
            .with_hint("e.g. --store sqlite:/var/lib/cer/cer.db or --store postgres://cer@db/cer")
    })
}

/// `--keep`: `None` keeps reports forever.
pub fn keep(text: Option<&str>) -> Result<Option<Duration>, UsageError> {
    match text {
        None => Ok(Some(DEFAULT_KEEP)),
        Some(t) if t.trim().eq_ignore_ascii_case("forever") => Ok(None),
        Some(t) => super::parse_duration("--keep", t).map(Some),
    }
}

/// When listen fetches a stored report again by default: `2m,15m,1h` after the call ended.
const DEFAULT_REFETCH: [Duration; 3] = [
    Duration::from_secs(120),
    Duration::from_secs(900),
    Duration::from_secs(3600),
];

/// The latest re-fetch point: GoTo's analysis lands within minutes or hours, and a point
/// beyond a year (`--refetch 9999999999d`) would never fire while looking planned.
pub const MAX_REFETCH: Duration = Duration::from_secs(365 * 86_400);

/// `--refetch`, else `CER_REFETCH`, else the default: durations after `callEnded`, in order;
/// `off` (or `none`) is the empty list.
pub fn refetch_after(flag: Option<&str>, settings: &Settings) -> Result<Vec<Duration>, UsageError> {
    match flag {
        Some(text) => refetch_points(text, "--refetch"),
        None => Ok(settings
            .refetch
            .clone()?
            .unwrap_or_else(|| DEFAULT_REFETCH.to_vec())),
    }
}

/// The re-fetch points of `text`; an error names `source` (`--refetch` or `CER_REFETCH`), where
/// the bad value came from.
pub(super) fn refetch_points(text: &str, source: &str) -> Result<Vec<Duration>, UsageError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let give = if source.starts_with("--") {
        format!("{source} ")
    } else {
        format!("{source}=")
    };
    let hint = || format!("e.g. {give}2m,15m,1h, or {give}off");
    let mut points = text
        .split(',')
        .map(|part| super::parse_duration(source, part.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if points.iter().any(Duration::is_zero) {
        return Err(UsageError::new(format!(
            "{source} points must be after the call ended, not 0"
        ))
        .with_hint(hint()));
    }
    if points.iter().any(|point| *point > MAX_REFETCH) {
        return Err(UsageError::new(format!(
            "{source} {text:?} has a point more than 365d after the call ended: re-fetch \
             points may be at most 365d (GoTo's analysis lands within hours)"
        ))
        .with_hint(hint()));
    }
    points.sort_unstable();
    points.dedup();
    Ok(points)
}

/// `--forward-for`.
pub fn forward_for(text: Option<&str>) -> Result<Duration, UsageError> {
    text.map_or(Ok(DEFAULT_FORWARD_FOR), |t| {
        super::parse_duration("--forward-for", t)
    })
}

/// The signer from `--forward-secret-file`, else `CER_FORWARD_SECRET`; `None`: unsigned.
pub fn signer(
    secret_file: Option<&std::path::Path>,
    settings: &Settings,
) -> Result<Option<Signer>, UsageError> {
    let secret = match secret_file {
        Some(path) => std::fs::read_to_string(path).map_err(|err| {
            UsageError::new(format!(
                "cannot read --forward-secret-file {}: {err}",
                path.display()
            ))
        })?,
        None => match &settings.forward_secret {
            Some(secret) => secret.expose().to_string(),
            None => return Ok(None),
        },
    };
    Signer::from_secret(&secret).map(Some).map_err(|why| {
        UsageError::new(why.to_string()).with_hint("write it as whsec_BASE64 or plain text")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_and_forward_for_read_durations() {
        assert_eq!(keep(None).unwrap(), Some(DEFAULT_KEEP));
        assert_eq!(keep(Some("forever")).unwrap(), None);
        assert_eq!(
            keep(Some("30d")).unwrap(),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert!(keep(Some("soon")).is_err());
        assert_eq!(forward_for(None).unwrap(), DEFAULT_FORWARD_FOR);
        assert_eq!(forward_for(Some("2h")).unwrap(), Duration::from_secs(7200));
    }

    fn with_variable(refetch: Option<&str>) -> Settings {
        use clap::Parser as _;
        let cli = crate::cli::Cli::try_parse_from(["cer", "status"]).unwrap();
        let mut env = vec![("HOME", "/home/u")];
        env.extend(refetch.map(|value| ("CER_REFETCH", value)));
        let sources = super::super::sources::Sources::from_maps(&env, &[]);
        Settings::resolve(&cli.global, &sources).unwrap()
    }

    /// Issue 26 finding 11: `CER_REFETCH=abc` was reported as a bad `--refetch`, a flag
    /// `sync` does not have; the error names the variable the value came from.
    #[test]
    fn a_bad_cer_refetch_names_the_variable_not_a_flag() {
        let err = refetch_after(None, &with_variable(Some("abc"))).unwrap_err();
        let text = format!("{err:?}");
        assert!(err.to_string().contains("CER_REFETCH \"abc\""), "{text}");
        assert!(!text.contains("--refetch"), "{text}");
        let err = refetch_after(Some("abc"), &with_variable(Some("2m"))).unwrap_err();
        assert!(err.to_string().contains("--refetch \"abc\""), "{err}");
        let err = refetch_after(None, &with_variable(Some("0s"))).unwrap_err();
        assert!(err.to_string().starts_with("CER_REFETCH points"), "{err}");
    }

    /// Issue 26 finding 11: `--refetch 9999999999d` was accepted and never fired.
    #[test]
    fn a_refetch_point_beyond_a_year_is_refused_saying_the_bound() {
        let err = refetch_after(Some("2m,9999999999d"), &with_variable(None)).unwrap_err();
        assert!(err.to_string().contains("at most 365d"), "{err}");
        let err = refetch_after(None, &with_variable(Some("366d"))).unwrap_err();
        assert!(err.to_string().contains("CER_REFETCH"), "{err}");
        let year = refetch_after(Some("365d,1h"), &with_variable(None)).unwrap();
        assert_eq!(year, [Duration::from_secs(3600), MAX_REFETCH]);
    }
}
