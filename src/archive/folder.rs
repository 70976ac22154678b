//! A folder archive: folders 0700, files 0600, each file written under a temporary name in its
//! own folder, flushed to disk, then renamed, so a reader or a crash never meets half a file.

use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use super::whole_file::{LEFT_BEHIND_AFTER, WholeFileError, remove_left_behind, write_archived};
use super::{ArchiveError, Archived, Chunks, Tally};

/// A local folder holding the archive.
#[derive(Debug, Clone)]
pub struct FolderArchive {
    root: PathBuf,
}

impl FolderArchive {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub(super) fn shown(&self) -> String {
        self.root.display().to_string()
    }

    fn failed(&self, what: &str, path: &Path, err: &std::io::Error) -> ArchiveError {
        ArchiveError::Failed {
            archive: self.shown(),
            reason: format!("cannot {what} {}: {err}", path.display()),
        }
    }

    pub(super) async fn put(
        &self,
        key: &str,
        chunks: Chunks<'_>,
    ) -> Result<Archived, ArchiveError> {
        let path = self.root.join(key);
        let folder = path.parent().unwrap_or(&self.root).to_path_buf();
        let made = create_private_dirs(folder.clone()).await;
        made.map_err(|err| self.failed("create", &folder, &err))?;
        remove_left_behind(&folder, LEFT_BEHIND_AFTER).await;
        match write_archived(&path, chunks).await {
            Ok(tally) => Ok(tally.finish(key)),
            Err(WholeFileError::Source(err)) => Err(ArchiveError::Source(err)),
            Err(WholeFileError::Disk { what, path, err }) => Err(self.failed(what, &path, &err)),
        }
    }

    pub(super) async fn rehash(&self, key: &str) -> Result<Option<Archived>, ArchiveError> {
        let path = self.root.join(key);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.failed("open", &path, &err)),
        };
        let mut tally = Tally::default();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = file
                .read(&mut buffer)
                .await
                .map_err(|err| self.failed("read", &path, &err))?;
            if read == 0 {
                return Ok(Some(tally.finish(key)));
            }
            tally.add(&buffer[..read]);
        }
    }

    pub(super) fn locate(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }

    pub(super) async fn read(&self, key: &str) -> Result<Option<Chunks<'static>>, ArchiveError> {
        let path = self.root.join(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.failed("open", &path, &err)),
        };
        let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
            let mut buffer = vec![0; 64 * 1024];
            let read = file.read(&mut buffer).await?;
            buffer.truncate(read);
            Ok((read > 0).then(|| (bytes::Bytes::from(buffer), file)))
        });
        Ok(Some(Box::pin(chunks)))
    }

    pub(super) async fn list(&self, folder: &str) -> Result<Vec<String>, ArchiveError> {
        let path = self.root.join(folder);
        let mut entries = match tokio::fs::read_dir(&path).await {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(self.failed("list", &path, &err)),
        };
        let mut keys = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|err| self.failed("list", &path, &err))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                keys.push(format!("{folder}/{name}"));
            }
        }
        keys.sort();
        Ok(keys)
    }
}

impl FolderArchive {
    /// Removes `folder` and all it holds (leftovers of interrupted writes too), then its day,
    /// month and year folders once empty. A folder already gone is fine.
    pub(super) async fn remove_folder(&self, folder: &str) -> Result<(), ArchiveError> {
        let path = self.root.join(folder);
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(self.failed("remove", &path, &err)),
        }
        let mut parent = path.parent();
        for _ in 0..3 {
            let Some(dir) = parent.filter(|dir| dir.starts_with(&self.root) && *dir != self.root)
            else {
                break;
            };
            // Not empty (another call of that day): it stays.
            if tokio::fs::remove_dir(dir).await.is_err() {
                break;
            }
            parent = dir.parent();
        }
        Ok(())
    }
}

/// Creates `folder` and its missing parents, each mode 0700.
async fn create_private_dirs(folder: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&folder)
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::StreamExt;

    use super::*;

    fn chunks(parts: Vec<Result<&'static [u8], std::io::Error>>) -> Chunks<'static> {
        Box::pin(futures_util::stream::iter(
            parts.into_iter().map(|p| p.map(Bytes::from_static)),
        ))
    }

    #[tokio::test]
    async fn a_file_is_written_whole_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let archive = FolderArchive::new(&dir.path().join("archive"));
        let done = archive
            .put(
                "2026/01/02/c1/recording-r.mp3",
                chunks(vec![Ok(b"ab"), Ok(b"cd")]),
            )
            .await
            .unwrap();
        assert_eq!(done.bytes, 4);
        // sha256("abcd")
        assert_eq!(
            done.sha256,
            "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
        );
        let file = dir.path().join("archive/2026/01/02/c1/recording-r.mp3");
        assert_eq!(std::fs::read(&file).unwrap(), b"abcd");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&file), 0o600);
            for folder in ["archive", "archive/2026", "archive/2026/01/02/c1"] {
                assert_eq!(mode(&dir.path().join(folder)), 0o700, "{folder}");
            }
        }
        assert_eq!(
            archive
                .rehash("2026/01/02/c1/recording-r.mp3")
                .await
                .unwrap(),
            Some(done)
        );
        assert_eq!(
            archive.list("2026/01/02/c1").await.unwrap(),
            vec!["2026/01/02/c1/recording-r.mp3"]
        );
    }

    #[tokio::test]
    async fn a_write_into_a_folder_removes_what_a_crash_left_there() {
        let dir = tempfile::tempdir().unwrap();
        let archive = FolderArchive::new(dir.path());
        let folder = dir.path().join("d/c");
        std::fs::create_dir_all(&folder).unwrap();
        let left = folder.join(".recording-r.wav.partial-0badf00d");
        let file = std::fs::File::create(&left).unwrap();
        let yesterday = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        file.set_modified(yesterday).unwrap();
        archive
            .put("d/c/report.json", chunks(vec![Ok(b"{}")]))
            .await
            .unwrap();
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    #[tokio::test]
    async fn an_interrupted_write_leaves_nothing_under_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let archive = FolderArchive::new(dir.path());
        let cut = std::io::Error::other("connection reset");
        let err = archive
            .put("d/c/recording-r.mp3", chunks(vec![Ok(b"ab"), Err(cut)]))
            .await
            .unwrap_err();
        assert!(matches!(err, ArchiveError::Source(_)), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("d/c")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(archive.rehash("d/c/recording-r.mp3").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_object_is_read_back_whole_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let archive = FolderArchive::new(dir.path());
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let once = futures_util::stream::once({
            let big = Bytes::from(big.clone());
            async move { Ok(big) }
        });
        archive
            .put("d/c/recording-r.wav", Box::pin(once))
            .await
            .unwrap();
        let mut chunks = archive.read("d/c/recording-r.wav").await.unwrap().unwrap();
        let mut read = Vec::new();
        while let Some(chunk) = chunks.next().await {
            read.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(read, big);
        assert!(archive.read("d/c/none.wav").await.unwrap().is_none());
        assert_eq!(
            archive.locate("d/c/recording-r.wav"),
            dir.path().join("d/c/recording-r.wav").display().to_string()
        );
    }
}
