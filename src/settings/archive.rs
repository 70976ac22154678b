//! `--archive DEST` / `CER_ARCHIVE` and the `AWS_*` variables of an `s3://` archive, resolved
//! into typed values; an `s3://` archive without credentials is a usage error found before
//! anything starts.

use url::Url;

use super::{Settings, Sources};
use crate::archive::{ArchiveLocation, S3Settings};
use crate::errors::UsageError;
use crate::secret::Secret;

/// Where to archive, and how to reach it.
#[derive(Debug, Clone)]
pub struct ArchiveSettings {
    /// The destination.
    pub location: ArchiveLocation,
    /// The `AWS_*` settings (used by an `s3://` destination only).
    pub s3: S3Settings,
}

/// The `AWS_*` variables as the AWS tools read them.
pub(super) fn s3_settings(sources: &Sources) -> Result<S3Settings, UsageError> {
    let get = |name: &str| {
        sources
            .get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let endpoint = match get("AWS_ENDPOINT_URL") {
        Some(text) => Some(
            Url::parse(&text)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                .ok_or_else(|| {
                    UsageError::new(format!("AWS_ENDPOINT_URL {text:?} is not an http(s) URL"))
                        .with_hint("e.g. AWS_ENDPOINT_URL=http://127.0.0.1:9000 for a local MinIO")
                })?,
        ),
        None => None,
    };
    Ok(S3Settings {
        access_key_id: get("AWS_ACCESS_KEY_ID"),
        secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
        session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
        region: get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_string()),
        endpoint,
    })
}

/// `--archive`, else `CER_ARCHIVE`; `None`: no archive.
pub fn archive_settings(
    flag: Option<&str>,
    settings: &Settings,
) -> Result<Option<ArchiveSettings>, UsageError> {
    let location = match flag {
        Some(text) => parse_archive(text)?,
        None => match settings.archive.clone()? {
            Some(location) => location,
            None => return Ok(None),
        },
    };
    let s3 = settings.s3.clone();
    if matches!(location, ArchiveLocation::S3 { .. })
        && (s3.access_key_id.is_none() || s3.secret_access_key.is_none())
    {
        return Err(UsageError::new(format!(
            "the archive {location} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ))
        .with_hint("set them (and AWS_ENDPOINT_URL for MinIO, SeaweedFS or Ceph) in the environment or ./.env"));
    }
    Ok(Some(ArchiveSettings { location, s3 }))
}

/// A `--archive` or `CER_ARCHIVE` value.
pub(super) fn parse_archive(text: &str) -> Result<ArchiveLocation, UsageError> {
    ArchiveLocation::parse(text).map_err(|why| {
        UsageError::new(format!("--archive / CER_ARCHIVE: {why}"))
            .with_hint("e.g. --archive /srv/cer-archive or --archive s3://my-bucket/calls")
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, UsageError> {
        let cli = Cli::try_parse_from(["cer", "status"]).unwrap();
        let mut env = vec![("HOME", "/home/u")];
        env.extend_from_slice(vars);
        Settings::resolve(&cli.global, &Sources::from_maps(&env, &[]))
    }

    #[test]
    fn the_flag_wins_over_cer_archive_and_s3_needs_credentials() {
        let plain = settings(&[("CER_ARCHIVE", "/srv/a")]).unwrap();
        let chosen = archive_settings(Some("/srv/b"), &plain).unwrap().unwrap();
        assert_eq!(chosen.location, ArchiveLocation::Folder("/srv/b".into()));
        assert!(
            archive_settings(None, &settings(&[]).unwrap())
                .unwrap()
                .is_none()
        );
        assert!(archive_settings(Some("s3://calls"), &plain).is_err());
        let aws = settings(&[
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "shh-secret"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ])
        .unwrap();
        let s3 = archive_settings(Some("s3://calls/x"), &aws)
            .unwrap()
            .unwrap();
        assert_eq!(s3.s3.region, "us-east-1");
        assert!(!format!("{s3:?}").contains("shh-secret"), "{s3:?}");
    }

    #[test]
    fn a_bad_endpoint_is_a_usage_error() {
        assert!(settings(&[("AWS_ENDPOINT_URL", "not a url")]).is_err());
    }
}
