//! Where the archive is, as `--archive` / `CER_ARCHIVE` name it: a folder (also as a `file://`
//! URL) or `s3://BUCKET[/PREFIX]`, and the `AWS_*` settings an `s3://` archive reads.

use std::fmt;
use std::path::PathBuf;

use url::Url;

use crate::secret::Secret;

/// A parsed archive destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveLocation {
    /// A local folder.
    Folder(PathBuf),
    /// A bucket of an S3-compatible store, and a key prefix (no leading or trailing `/`).
    S3 {
        /// The bucket's name.
        bucket: String,
        /// Keys start with `PREFIX/` when not empty.
        prefix: String,
    },
}

impl ArchiveLocation {
    /// Reads `text`: `s3://BUCKET[/PREFIX]`, `file:///PATH`, or a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the archive is empty: give a folder or s3://BUCKET[/PREFIX]".into());
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            return s3(rest);
        }
        if text.starts_with("file:") {
            // `file:rel` parses as `file:///rel`: a folder at the root, not the one meant.
            if !text.starts_with("file://") {
                return Err(format!(
                    "{text:?} is not a file URL: write file:///ABSOLUTE/PATH, or the folder itself"
                ));
            }
            let url =
                Url::parse(text).map_err(|err| format!("{text:?} is not a file URL ({err})"))?;
            let path = url
                .to_file_path()
                .map_err(|()| format!("{text:?} is not a local file URL"))?;
            return Ok(Self::Folder(path));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "{scheme}:// archives are not supported: give a folder or s3://BUCKET[/PREFIX]"
            ));
        }
        Ok(Self::Folder(PathBuf::from(text)))
    }
}

fn s3(rest: &str) -> Result<ArchiveLocation, String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid {
        return Err(format!(
            "{bucket:?} is not an S3 bucket name (3 to 63 of a-z, 0-9, '.', '-'): \
             write s3://BUCKET[/PREFIX]"
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|part| part == ".." || part == ".") {
        return Err(format!(
            "the S3 prefix {prefix:?} may not hold '.' or '..' parts"
        ));
    }
    Ok(ArchiveLocation::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

impl fmt::Display for ArchiveLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Folder(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The `AWS_*` settings of an `s3://` archive. Debug never shows the secrets.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<Secret>,
    /// `AWS_REGION` (else `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: String,
    /// `AWS_ENDPOINT_URL`: an S3-compatible store; requests are then path-style.
    pub endpoint: Option<Url>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_file_urls_and_buckets_are_read() {
        assert_eq!(
            ArchiveLocation::parse("/srv/calls").unwrap(),
            ArchiveLocation::Folder("/srv/calls".into())
        );
        assert_eq!(
            ArchiveLocation::parse("file:///srv/calls").unwrap(),
            ArchiveLocation::Folder("/srv/calls".into())
        );
        assert_eq!(
            ArchiveLocation::parse("s3://calls-archive/goto/").unwrap(),
            ArchiveLocation::S3 {
                bucket: "calls-archive".into(),
                prefix: "goto".into()
            }
        );
        assert_eq!(
            ArchiveLocation::parse("s3://calls").unwrap().to_string(),
            "s3://calls"
        );
    }

    #[test]
    fn bad_destinations_are_refused() {
        for bad in [
            "",
            "s3://",
            "s3://A_B",
            "s3://ok-bucket/../x",
            "http://host/x",
            "file://host/x",
            "file:rel",
            "file:/abs",
        ] {
            assert!(ArchiveLocation::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
