//! The archive (SPEC section 13): each call's report, recordings and transcripts kept in a
//! folder or an S3-compatible bucket. Everything is streamed (memory does not grow with an
//! object's size), hashed (SHA-256) and counted on the way, and appears under its final name
//! only once whole: a folder writes a temporary file and renames it; S3 sends one PUT for a
//! small object and completes a multipart upload only when every part is in.

mod disk;
mod folder;
pub mod layout;
pub mod location;
mod s3;
pub mod wanted;
pub(crate) mod whole_file;

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha256};

pub use location::{ArchiveLocation, S3Settings};

/// The bytes of one object, as they arrive; an error ends the object unwritten.
pub type Chunks<'a> = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + 'a>>;

/// Why archiving failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// What was being archived broke off (a download failed): nothing was written.
    #[error("{0}")]
    Source(std::io::Error),
    /// The archive itself failed.
    #[error("the archive {archive} failed: {reason}")]
    Failed {
        /// The archive, as the user named it (no secret).
        archive: String,
        /// What failed, for a person.
        reason: String,
    },
    /// An `s3://` archive without what it needs.
    #[error("{0}")]
    Config(String),
}

/// What was written: the key (relative to the archive), its size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    /// Where, relative to the archive's root (without an S3 prefix).
    pub key: String,
    /// How many bytes.
    pub bytes: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// An open archive.
#[derive(Debug, Clone)]
pub enum Archive {
    /// A local folder.
    Folder(folder::FolderArchive),
    /// An S3-compatible bucket (boxed: it is much the larger).
    S3(Box<s3::S3Archive>),
}

impl Archive {
    /// Opens the archive `location` names; `http` reaches an S3 endpoint.
    pub fn open(
        location: &ArchiveLocation,
        settings: &S3Settings,
        http: reqwest::Client,
    ) -> Result<Self, ArchiveError> {
        match location {
            ArchiveLocation::Folder(root) => Ok(Self::Folder(folder::FolderArchive::new(root))),
            ArchiveLocation::S3 { bucket, prefix } => Ok(Self::S3(Box::new(s3::S3Archive::new(
                bucket, prefix, settings, http,
            )?))),
        }
    }

    /// Writes `chunks` under `key`, whole or not at all.
    pub async fn put(
        &self,
        key: &str,
        content_type: &str,
        chunks: Chunks<'_>,
    ) -> Result<Archived, ArchiveError> {
        match self {
            Self::Folder(folder) => folder.put(key, chunks).await,
            Self::S3(s3) => s3.put(key, content_type, chunks).await,
        }
    }

    /// Writes `bytes` under `key`, replacing what was there.
    pub async fn put_bytes(
        &self,
        key: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Archived, ArchiveError> {
        let once = futures_util::stream::once(async move { Ok(bytes) });
        self.put(key, content_type, Box::pin(once)).await
    }

    /// Reads the object under `key` again and hashes it; `None` when there is none.
    pub async fn rehash(&self, key: &str) -> Result<Option<Archived>, ArchiveError> {
        match self {
            Self::Folder(folder) => folder.rehash(key).await,
            Self::S3(s3) => s3.rehash(key).await,
        }
    }

    /// The object under `key` as it is read, `None` when there is none: streamed, so memory
    /// does not grow with its size.
    pub async fn read(&self, key: &str) -> Result<Option<Chunks<'static>>, ArchiveError> {
        match self {
            Self::Folder(folder) => folder.read(key).await,
            Self::S3(s3) => s3.read(key).await,
        }
    }

    /// Where the object under `key` is, for a person: a path, or an `s3://` URL.
    pub fn locate(&self, key: &str) -> String {
        match self {
            Self::Folder(folder) => folder.locate(key),
            Self::S3(s3) => format!("{}/{key}", s3.shown()),
        }
    }

    /// The keys of the objects directly in `folder` (relative keys, as `put` takes them).
    pub async fn list(&self, folder: &str) -> Result<Vec<String>, ArchiveError> {
        match self {
            Self::Folder(archive) => archive.list(folder).await,
            Self::S3(s3) => s3.list(folder).await,
        }
    }

    /// Removes every object of `folder` (`--keep`: a call's folder goes with its rows).
    pub async fn remove_folder(&self, folder: &str) -> Result<(), ArchiveError> {
        match self {
            Self::Folder(archive) => archive.remove_folder(folder).await,
            Self::S3(s3) => {
                for key in s3.list(folder).await? {
                    s3.delete(&key).await?;
                }
                Ok(())
            }
        }
    }

    /// Whether the archive keeps its data on this machine only.
    pub fn is_local(&self) -> bool {
        matches!(self, Self::Folder(_))
    }

    /// What the archive is, for messages.
    pub fn shown(&self) -> String {
        match self {
            Self::Folder(folder) => folder.shown(),
            Self::S3(s3) => s3.shown(),
        }
    }
}

/// Counts and hashes what passes (or only counts it: [`Tally::counting`]).
pub(crate) struct Tally {
    hasher: Option<Sha256>,
    bytes: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            hasher: Some(Sha256::new()),
            bytes: 0,
        }
    }
}

impl Tally {
    /// Counts without hashing: a file nobody records the digest of (`cer recording -o`)
    /// spares the SHA-256, about half a second of a core per gigabyte.
    pub(crate) fn counting() -> Self {
        Self {
            hasher: None,
            bytes: 0,
        }
    }

    /// How many bytes were written.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    fn add(&mut self, chunk: &[u8]) {
        if let Some(hasher) = &mut self.hasher {
            hasher.update(chunk);
        }
        self.bytes += chunk.len() as u64;
    }

    /// What was archived under `key`; a tally that only counted has the digest of nothing
    /// (only [`Tally::default`] is archived).
    fn finish(self, key: &str) -> Archived {
        let digest = self.hasher.unwrap_or_default().finalize();
        Archived {
            key: key.to_string(),
            bytes: self.bytes,
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}
