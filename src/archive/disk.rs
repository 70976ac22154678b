//! Writing one file off the async threads (an archived object, or a recording asked for with
//! `-o`): a blocking task takes the chunks as they arrive, counts (and for the archive hashes)
//! and writes them, and has the kernel start writing them out to disk as it goes, so the flush
//! before the rename waits only for the tail, and neither the hashing nor the writing holds a
//! thread that live report work runs on.

use std::fs::File;
use std::io::{self, Write};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Tally;

/// Chunks waiting for the writer, at most: when the disk is behind, the download waits, so
/// memory stays flat in the file's size.
const QUEUED: usize = 4;

/// How much is written before the kernel is asked to start writing it out to disk (it does so
/// in the background, while the download goes on).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const WRITE_OUT_EVERY: u64 = 4 * 1024 * 1024;

/// Without `sync_file_range`: how much is written before it is flushed, so that the flush
/// before the rename, and a live report's own flush to the store, never wait behind a hundred
/// megabytes of it.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const WRITE_OUT_EVERY: u64 = 8 * 1024 * 1024;

/// What the writer is handed.
enum Piece {
    Chunk(Bytes),
    /// Everything came: flush the file and say what was written.
    End,
}

/// One file being written by its own blocking task.
pub(super) struct DiskWriter {
    pieces: mpsc::Sender<Piece>,
    task: JoinHandle<Result<Option<Tally>, WriteFailed>>,
}

/// Why a file could not be written: what was being done (`write`, `flush`) and the error.
#[derive(Debug)]
pub(super) struct WriteFailed {
    pub(super) what: &'static str,
    pub(super) err: io::Error,
}

impl WriteFailed {
    fn to(what: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |err| Self { what, err }
    }
}

impl DiskWriter {
    /// Starts writing `file` (new and empty), each chunk added to `tally` on the way.
    pub(super) fn start(file: File, tally: Tally) -> Self {
        let (pieces, received) = mpsc::channel(QUEUED);
        let task = tokio::task::spawn_blocking(move || write_pieces(file, received, tally));
        Self { pieces, task }
    }

    /// Hands `chunk` on, waiting while the writer is behind; false when the writer stopped
    /// (it failed: [`DiskWriter::finish`] says why).
    pub(super) async fn write(&self, chunk: Bytes) -> bool {
        self.pieces.send(Piece::Chunk(chunk)).await.is_ok()
    }

    /// Flushes the file to disk once all is written: the tally of what was.
    pub(super) async fn finish(self) -> Result<Tally, WriteFailed> {
        // A writer that failed has dropped its end; its error is what the task returns.
        let _ = self.pieces.send(Piece::End).await;
        drop(self.pieces);
        match self.task.await {
            Ok(Ok(Some(tally))) => Ok(tally),
            Ok(Ok(None)) => Err(WriteFailed::to("write")(io::Error::other(
                "the writer stopped before the end",
            ))),
            Ok(Err(failed)) => Err(failed),
            Err(err) => Err(WriteFailed::to("write")(io::Error::other(err))),
        }
    }

    /// Stops writing without a flush (the file is to be removed), once the writer let go of it.
    pub(super) async fn abandon(self) {
        drop(self.pieces);
        let _ = self.task.await;
    }
}

/// The blocking task: writes each piece as it comes; `None` when the sender went away before
/// the end (nothing is flushed then).
fn write_pieces(
    mut file: File,
    mut pieces: mpsc::Receiver<Piece>,
    mut tally: Tally,
) -> Result<Option<Tally>, WriteFailed> {
    let mut out = WriteOut::default();
    while let Some(piece) = pieces.blocking_recv() {
        match piece {
            Piece::Chunk(chunk) => {
                tally.add(&chunk);
                file.write_all(&chunk).map_err(WriteFailed::to("write"))?;
                if let Some((offset, len)) = out.wrote(chunk.len()) {
                    start_write_out(&file, offset, len).map_err(WriteFailed::to("flush"))?;
                }
            }
            Piece::End => {
                file.sync_all().map_err(WriteFailed::to("flush"))?;
                return Ok(Some(tally));
            }
        }
    }
    Ok(None)
}

/// Which written bytes are not on their way to disk yet.
#[derive(Debug, Default)]
struct WriteOut {
    written: u64,
    started: u64,
}

impl WriteOut {
    /// `len` more bytes were written: the range to start writing out, once there is enough.
    fn wrote(&mut self, len: usize) -> Option<(u64, u64)> {
        self.written += len as u64;
        let pending = self.written - self.started;
        if pending < WRITE_OUT_EVERY {
            return None;
        }
        let range = (self.started, pending);
        self.started = self.written;
        Some(range)
    }
}

/// Has the kernel start writing `len` bytes at `offset` out to disk, without waiting for them:
/// by the final flush most of the file is there already.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn start_write_out(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return file.sync_data();
    };
    // SAFETY: the descriptor belongs to `file`, open for the whole call; sync_file_range reads
    // and writes no memory of this process, it only queues the range's dirty pages for writing.
    let started = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    if started == 0 {
        Ok(())
    } else {
        // A file system that cannot (ENOSYS, EINVAL): flushed the portable way, which reports
        // a real failure of the disk too.
        file.sync_data()
    }
}

/// Elsewhere the range is flushed and waited for, a step at a time.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn start_write_out(file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_range_is_written_out_once_it_is_big_enough_and_none_twice() {
        let mut out = WriteOut::default();
        let step = usize::try_from(WRITE_OUT_EVERY).unwrap();
        assert_eq!(out.wrote(step - 1), None);
        assert_eq!(out.wrote(1), Some((0, WRITE_OUT_EVERY)));
        assert_eq!(out.wrote(10), None);
        assert_eq!(
            out.wrote(step + 5),
            Some((WRITE_OUT_EVERY, WRITE_OUT_EVERY + 15))
        );
        assert_eq!(out.wrote(step - 1), None);
    }

    #[tokio::test]
    async fn a_file_written_in_many_chunks_is_whole_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let writer = DiskWriter::start(File::create(&path).unwrap(), Tally::default());
        let chunk = Bytes::from(vec![7u8; 1024 * 1024]);
        let mut whole = Vec::new();
        for _ in 0..=(2 * WRITE_OUT_EVERY / (1024 * 1024)) {
            assert!(writer.write(chunk.clone()).await);
            whole.extend_from_slice(&chunk);
        }
        let done = writer.finish().await.unwrap().finish("k");
        assert_eq!(done.bytes, whole.len() as u64);
        let mut expected = Tally::default();
        expected.add(&whole);
        assert_eq!(done, expected.finish("k"));
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }
}
