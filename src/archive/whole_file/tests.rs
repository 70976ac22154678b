//! The whole-or-nothing file: its modes, its tally, and what a broken or dropped write leaves.

use std::time::Duration;

use bytes::Bytes;

use super::*;

fn chunks(parts: Vec<io::Result<&'static [u8]>>) -> Chunks<'static> {
    Box::pin(futures_util::stream::iter(
        parts.into_iter().map(|p| p.map(Bytes::from_static)),
    ))
}

fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_asked_file_is_whole_counted_and_made_as_the_umask_says() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("call.wav");
    let bytes = write_asked(&target, chunks(vec![Ok(b"RIFF"), Ok(b"data")]))
        .await
        .unwrap();
    assert_eq!(bytes, 8);
    assert_eq!(std::fs::read(&target).unwrap(), b"RIFFdata");
    assert_eq!(names_in(dir.path()), ["call.wav"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        // What the umask leaves of 0666, as curl -o would make it; never more than that.
        let beside = dir.path().join("plain");
        std::fs::write(&beside, b"").unwrap();
        let plain = std::fs::metadata(&beside).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, plain);
    }
}

#[tokio::test]
async fn an_archived_file_is_private_and_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("recording-r.mp3");
    let tally = write_archived(&target, chunks(vec![Ok(b"ab"), Ok(b"cd")]))
        .await
        .unwrap();
    // sha256("abcd")
    assert_eq!(
        tally.finish("k").sha256,
        "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test]
async fn a_download_that_breaks_off_leaves_nothing_and_keeps_what_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("call.wav");
    std::fs::write(&target, b"before").unwrap();
    let cut = io::Error::other("connection reset");
    let err = write_asked(&target, chunks(vec![Ok(b"ab"), Err(cut)]))
        .await
        .unwrap_err();
    assert!(matches!(err, WholeFileError::Source(_)), "{err}");
    assert_eq!(names_in(dir.path()), ["call.wav"]);
    assert_eq!(std::fs::read(&target).unwrap(), b"before");
}

#[tokio::test]
async fn a_write_dropped_half_way_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("call.wav");
    // One chunk, then a download that never ends: the write is dropped (Ctrl-C, a listener
    // stopping) while its temporary file is open.
    let first = futures_util::stream::iter([Ok(Bytes::from_static(b"ab"))]);
    let stalled: Chunks<'static> = Box::pin(futures_util::StreamExt::chain(
        first,
        futures_util::stream::pending(),
    ));
    let mut write = Box::pin(write_asked(&target, stalled));
    for _ in 0..400 {
        tokio::select! {
            written = &mut write => panic!("the write ended: {written:?}"),
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        if !names_in(dir.path()).is_empty() {
            break;
        }
    }
    let open = names_in(dir.path());
    assert!(
        open.len() == 1 && open[0].starts_with(".call.wav.partial-"),
        "{open:?}"
    );
    drop(write);
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[tokio::test]
async fn a_file_that_cannot_be_created_says_which_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-folder").join("call.wav");
    let err = write_asked(&target, chunks(vec![Ok(b"ab")]))
        .await
        .unwrap_err();
    let said = err.to_string();
    assert!(said.starts_with("cannot create "), "{said}");
    assert!(said.contains("no-such-folder"), "{said}");
}
