//! A file that appears whole or not at all, for the folder archive and `cer recording -o`
//! alike: written under a temporary name beside its final one by a [`DiskWriter`] (which has
//! the kernel write it out to disk as it comes, so the flush before the rename waits only for
//! the tail), then renamed; the temporary file goes when anything breaks off or the write is
//! dropped half-way (Ctrl-C, a listener stopping).

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;

use super::disk::DiskWriter;
use super::{Chunks, Tally};

/// Who may read the file: only its owner (the archive's 0600), or whoever the umask lets (a
/// file a person asked for with `-o`, as curl would make it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readers {
    Owner,
    Umask,
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WholeFileError {
    /// The bytes broke off (a download failed): nothing is left under either name.
    #[error("{0}")]
    Source(io::Error),
    /// The disk refused a step (`create`, `write`, `flush`, `rename into`) on `path`.
    #[error("cannot {what} {}: {err}", path.display())]
    Disk {
        what: &'static str,
        path: PathBuf,
        err: io::Error,
    },
}

/// An archived object: `chunks` written to `target` (its folder exists), readable by its
/// owner alone, renamed into place only once whole and on disk; its size and SHA-256.
pub(crate) async fn write_archived(
    target: &Path,
    chunks: Chunks<'_>,
) -> Result<Tally, WholeFileError> {
    write_whole(target, chunks, Readers::Owner, Tally::default()).await
}

/// A file a person asked for (`cer recording -o`): made as curl would make it, not hashed,
/// renamed into place only once whole and on disk; its size.
pub(crate) async fn write_asked(target: &Path, chunks: Chunks<'_>) -> Result<u64, WholeFileError> {
    let tally = write_whole(target, chunks, Readers::Umask, Tally::counting()).await?;
    Ok(tally.bytes())
}

async fn write_whole(
    target: &Path,
    chunks: Chunks<'_>,
    readers: Readers,
    tally: Tally,
) -> Result<Tally, WholeFileError> {
    let folder = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let path = folder.join(format!(".{name}.partial-{:08x}", fastrand::u32(..)));
    let temp = TemporaryFile(Some(path.clone()));
    let tally = write_new(&path, chunks, readers, tally).await?;
    tokio::fs::rename(&path, target)
        .await
        .map_err(disk_failed("rename into", target))?;
    temp.kept();
    Ok(tally)
}

/// Creates `path` (it must not exist) and writes every chunk to it, flushed to disk.
async fn write_new(
    path: &Path,
    mut chunks: Chunks<'_>,
    readers: Readers,
    tally: Tally,
) -> Result<Tally, WholeFileError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if readers == Readers::Owner {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let opened = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || options.open(path)).await
    };
    let file = opened
        .map_err(io::Error::other)
        .and_then(|opened| opened)
        .map_err(disk_failed("create", path))?;
    let writer = DiskWriter::start(file, tally);
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                writer.abandon().await;
                return Err(WholeFileError::Source(err));
            }
        };
        if !writer.write(chunk).await {
            // The writer failed: `finish` says how.
            break;
        }
    }
    writer
        .finish()
        .await
        .map_err(|failed| disk_failed(failed.what, path)(failed.err))
}

fn disk_failed(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WholeFileError {
    let path = path.to_path_buf();
    move |err| WholeFileError::Disk { what, path, err }
}

/// The temporary name, removed when dropped unless it became the file.
struct TemporaryFile(Option<PathBuf>);

impl TemporaryFile {
    fn kept(mut self) {
        self.0 = None;
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests;
