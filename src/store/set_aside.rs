//! Reports the store refuses for good (its data, not a passing failure) are written to a file
//! in `CER_STATE_DIR/set-aside/`, one per call, so such a report is neither lost nor a reason
//! for `listen` to hold every later report back.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::report::Report;

/// Writes `report` to `DIR/ID.json` (created with mode 0600, its folder too) and says where.
pub fn write(dir: &Path, id: &str, report: &Report) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(id));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(report.text().as_bytes())?;
    file.write_all(b"\n")?;
    Ok(path)
}

/// Where `id`'s report was set aside before, if it was: a catch-up that meets it again (after
/// a restart) must neither print it nor set it aside a second time.
pub fn earlier_copy(dir: &Path, id: &str) -> Option<PathBuf> {
    let path = dir.join(file_name(id));
    path.is_file().then_some(path)
}

/// `ID.json`, with anything but letters, digits and `-` replaced, so an ID names no path.
fn file_name(id: &str) -> String {
    let safe: String = id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_cannot_name_a_path() {
        assert_eq!(file_name("../../etc/passwd"), "______etc_passwd.json");
        assert_eq!(file_name("b6ad7073-be3a"), "b6ad7073-be3a.json");
    }

    #[test]
    fn the_report_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"{"conversationSpaceId": "x", "n": "\u0000"}"#;
        let report = Report::parse(text).unwrap();
        let path = write(&dir.path().join("set-aside"), "x", &report).unwrap();
        let written = std::fs::read_to_string(path).unwrap();
        assert_eq!(written.trim_end(), text, "GoTo's exact text");
    }
}
