//! A file that appears whole or not at all, for the folder archive and `cer recording -o`
//! alike: written under a temporary name beside its final one by a [`DiskWriter`] (which has
//! the kernel write it out to disk as it comes, so the flush before the rename waits only for
//! the tail), then renamed; the temporary file goes when anything breaks off or the write is
//! dropped half-way (Ctrl-C, a listener stopping). A crash or a power cut can still leave one
//! behind: it is hidden (`.NAME.partial-…`), never takes the final name, and the archive
//! removes it the next time it writes into that folder ([`remove_left_behind`]).

use std::collections::BTreeSet;
use std::fs::{OpenOptions, Permissions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::disk::DiskWriter;
use super::{Chunks, Tally};

/// Who may read the file: only its owner (the archive's 0600), whoever could read the file it
/// replaces, or whoever the umask lets (a new file a person asked for with `-o`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Readers {
    Owner,
    AsBefore(Permissions),
    Umask,
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WholeFileError {
    /// The bytes broke off (a download failed): no temporary file is left, and the target
    /// keeps what it had.
    #[error("{0}")]
    Source(io::Error),
    /// The disk refused a step (`create`, `write`, `flush`, `rename into`) of writing `path`.
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

/// A file a person asked for (`cer recording -o`), not hashed; its size. A new file is made
/// as the umask says; a file that is there is replaced only once the new one is whole and on
/// disk, keeps its permissions, and is reached through a symbolic link to it; a device or a
/// pipe (`/dev/null`, `>(…)`) is written as the bytes come, as curl would.
pub(crate) async fn write_asked(target: &Path, chunks: Chunks<'_>) -> Result<u64, WholeFileError> {
    let tally = match tokio::fs::metadata(target).await {
        Ok(there) if there.is_file() => {
            let real = tokio::fs::canonicalize(target)
                .await
                .map_err(disk_failed("find", target))?;
            let readers = Readers::AsBefore(there.permissions());
            write_whole(&real, chunks, readers, Tally::counting()).await?
        }
        Ok(_) => write_through(target, chunks).await?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            write_whole(target, chunks, Readers::Umask, Tally::counting()).await?
        }
        Err(err) => return Err(disk_failed("read", target)(err)),
    };
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
    let temp =
        TemporaryFile::new(folder.join(format!(".{name}.partial-{:08x}", fastrand::u32(..))));
    let tally = write_new(&temp, target, chunks, readers, tally).await?;
    // Not on a blocking task: a rename that went on after this future was dropped (Ctrl-C)
    // would put the file in place while cer says it did not.
    std::fs::rename(&temp.path, target).map_err(disk_failed("rename into", target))?;
    temp.kept();
    Ok(tally)
}

/// Creates the temporary file and writes every chunk to it, flushed to disk; errors name
/// `target`, the path the caller knows.
async fn write_new(
    temp: &TemporaryFile,
    target: &Path,
    mut chunks: Chunks<'_>,
    readers: Readers,
    tally: Tally,
) -> Result<Tally, WholeFileError> {
    let file = temp
        .create(readers)
        .await
        .map_err(disk_failed("create", target))?;
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
        .map_err(|failed| disk_failed(failed.what, target)(failed.err))
}

/// A device or a pipe, written as the bytes come (there is nothing to rename or flush).
async fn write_through(target: &Path, mut chunks: Chunks<'_>) -> Result<Tally, WholeFileError> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(target)
        .await
        .map_err(disk_failed("open", target))?;
    let mut tally = Tally::counting();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(WholeFileError::Source)?;
        tally.add(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(disk_failed("write", target))?;
    }
    file.flush().await.map_err(disk_failed("write", target))?;
    Ok(tally)
}

/// How old a temporary file must be before it is taken for a crash's leftover: far longer
/// than any download takes (a gigabyte at a listener's 8 MiB/s is two minutes).
pub(crate) const LEFT_BEHIND_AFTER: Duration = Duration::from_secs(3600);

/// Removes the temporary files in `folder` that a crash or a power cut left behind, those
/// last written more than `older_than` ago; a write under way is younger. Best effort: what
/// cannot be read or removed stays for the next time.
pub(crate) async fn remove_left_behind(folder: &Path, older_than: Duration) {
    let folder = folder.to_path_buf();
    let swept = tokio::task::spawn_blocking(move || {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with('.') && name.contains(".partial-")) {
                continue;
            }
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok());
            if age.is_some_and(|age| age > older_than) {
                tracing::debug!(file = %entry.path().display(), "removing a write left behind");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
    let _ = swept.await;
}

fn disk_failed(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WholeFileError {
    let path = path.to_path_buf();
    move |err| WholeFileError::Disk { what, path, err }
}

/// The temporary files being written now. A listener's are written on its idle-priority
/// thread, which on a busy machine may not run again before the process ends: whoever stops
/// the process removes what is left here ([`remove_unfinished`]).
static UNFINISHED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn unfinished() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    // A panic while it was held leaves a set that is still right.
    UNFINISHED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes the temporary files of writes still under way or abandoned: for a process about
/// to end, once its workers were told to stop.
pub(crate) fn remove_unfinished() {
    for path in std::mem::take(&mut *unfinished()) {
        let _ = std::fs::remove_file(path);
    }
}

/// The temporary name, removed when dropped unless it became the file.
struct TemporaryFile {
    path: PathBuf,
    kept: bool,
    /// Set when dropped before it was kept: a create still running on its blocking task then
    /// removes what it made (the drop's own removal may have come before it).
    given_up: Arc<AtomicBool>,
}

impl TemporaryFile {
    fn new(path: PathBuf) -> Self {
        unfinished().insert(path.clone());
        Self {
            path,
            kept: false,
            given_up: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Creates the file (it must not exist yet) with the permissions `readers` asks for.
    async fn create(&self, readers: Readers) -> io::Result<std::fs::File> {
        let (path, given_up) = (self.path.clone(), Arc::clone(&self.given_up));
        let created =
            tokio::task::spawn_blocking(move || create_unless_given_up(&path, &readers, &given_up));
        created.await.map_err(io::Error::other)?
    }

    fn kept(mut self) {
        self.kept = true;
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.kept {
            self.given_up.store(true, Ordering::SeqCst);
            let _ = std::fs::remove_file(&self.path);
        }
        unfinished().remove(&self.path);
    }
}

/// Creates `path`, and removes it again when the write was given up meanwhile: asked after
/// the create, so whichever of this and the drop's removal comes last finds the file.
fn create_unless_given_up(
    path: &Path,
    readers: &Readers,
    given_up: &AtomicBool,
) -> io::Result<std::fs::File> {
    let file = open_new(path, readers)?;
    if given_up.load(Ordering::SeqCst) {
        let _ = std::fs::remove_file(path);
        return Err(io::Error::other("the write was given up"));
    }
    Ok(file)
}

fn open_new(path: &Path, readers: &Readers) -> io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    match readers {
        Readers::Owner => {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        Readers::AsBefore(permissions) => {
            // Never wider than the file it replaces, even before the exact mode is set below.
            use std::os::unix::fs::PermissionsExt;
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, permissions.mode() & 0o777);
        }
        Readers::Umask => {}
    }
    let file = options.open(path)?;
    if let Readers::AsBefore(permissions) = readers {
        file.set_permissions(permissions.clone())?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests;
