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
        // What the umask leaves of 0666, as curl -o would make it (under a umask of 077 this
        // cannot tell it from the archive's 0600: `an_existing_file_…` pins a mode).
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
    let named = format!("cannot create {}: ", target.display());
    assert!(said.starts_with(&named), "{said}");
}

#[cfg(unix)]
#[tokio::test]
async fn an_existing_file_is_replaced_whole_and_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("call.wav");
    std::fs::write(&target, b"an older recording").unwrap();
    std::fs::set_permissions(&target, Permissions::from_mode(0o640)).unwrap();
    let bytes = write_asked(&target, chunks(vec![Ok(b"new")]))
        .await
        .unwrap();
    assert_eq!(bytes, 3);
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(names_in(dir.path()), ["call.wav"]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_symbolic_link_is_written_through_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("kept").join("call.wav");
    std::fs::create_dir(real.parent().unwrap()).unwrap();
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("latest.wav");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_asked(&link, chunks(vec![Ok(b"new")])).await.unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), b"new");
    assert_eq!(names_in(real.parent().unwrap()), ["call.wav"]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_device_is_written_as_the_bytes_come() {
    use std::os::unix::fs::FileTypeExt;
    let bytes = write_asked(Path::new("/dev/null"), chunks(vec![Ok(b"ab"), Ok(b"cd")]))
        .await
        .unwrap();
    assert_eq!(bytes, 4);
    // Written through, not replaced by a file renamed over it (which root could do).
    let device = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(device.is_char_device(), "/dev/null is no longer a device");
}

#[test]
fn a_create_that_finishes_after_the_write_was_given_up_removes_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".call.wav.partial-1");
    // The drop came first (its removal found nothing); the create on its blocking task then
    // made the file, and must take it away again.
    let given_up = AtomicBool::new(true);
    let created = create_unless_given_up(&path, &Readers::Umask, &given_up);
    assert!(created.is_err());
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
    let going_on = AtomicBool::new(false);
    assert!(create_unless_given_up(&path, &Readers::Umask, &going_on).is_ok());
    assert_eq!(names_in(dir.path()), [".call.wav.partial-1"]);
}

/// A file last written `ago`.
fn file_written(path: &Path, ago: Duration) {
    let file = std::fs::File::create(path).unwrap();
    let then = std::time::SystemTime::now() - ago;
    file.set_modified(then).unwrap();
}

#[tokio::test]
async fn only_temporary_files_older_than_any_write_are_taken_for_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let hours = Duration::from_secs(2 * 3600);
    file_written(&dir.path().join(".recording-r.wav.partial-0badf00d"), hours);
    file_written(
        &dir.path().join(".transcript-t.json.partial-00c0ffee"),
        Duration::ZERO,
    );
    file_written(&dir.path().join("recording-r.wav"), hours);
    file_written(&dir.path().join(".hidden-by-someone"), hours);
    remove_left_behind(dir.path(), LEFT_BEHIND_AFTER).await;
    assert_eq!(
        names_in(dir.path()),
        [
            ".hidden-by-someone",
            ".transcript-t.json.partial-00c0ffee",
            "recording-r.wav"
        ]
    );
    // A folder that is not there is no error.
    remove_left_behind(&dir.path().join("none"), LEFT_BEHIND_AFTER).await;
}
