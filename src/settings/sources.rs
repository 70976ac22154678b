//! Where variables come from: the `--sandbox` layer first, then the process environment, then
//! the `.env` file.
//!
//! Reading both into one value once, instead of calling `std::env::var` all over the code, keeps
//! the precedence rule in one place and lets tests resolve settings from plain maps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::errors::UsageError;

/// Variables from the `--sandbox` layer, the environment and a `.env` file, looked up in that
/// order.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// What `--sandbox` sets (`Some`) or hides (`None`); it wins over every other source.
    sandbox: HashMap<&'static str, Option<String>>,
    process: HashMap<String, String>,
    dotenv: HashMap<String, String>,
}

impl Sources {
    /// Reads the process environment and the `.env` file: `env_file` when given (it must exist),
    /// else `./.env` if there is one.
    pub fn load(env_file: Option<&Path>) -> Result<Self, UsageError> {
        let process = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::with_process(process, env_file, true)
    }

    /// `process` as the environment, then `env_file` when given (it must exist), else
    /// `./.env` if `default_dotenv` and there is one.
    pub fn with_process(
        process: HashMap<String, String>,
        env_file: Option<&Path>,
        default_dotenv: bool,
    ) -> Result<Self, UsageError> {
        let dotenv = match env_file {
            Some(path) => read_dotenv(path)?,
            None => {
                let default = PathBuf::from(".env");
                if default_dotenv && default.is_file() {
                    read_dotenv(&default)?
                } else {
                    HashMap::new()
                }
            }
        };
        Ok(Self {
            sandbox: HashMap::new(),
            process,
            dotenv,
        })
    }

    /// Sources made of the given pairs, for tests.
    #[cfg(test)]
    pub fn from_maps(process: &[(&str, &str)], dotenv: &[(&str, &str)]) -> Self {
        let own = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Self {
            sandbox: HashMap::new(),
            process: own(process),
            dotenv: own(dotenv),
        }
    }

    /// These sources under the `--sandbox` layer: each variable of `layer` set to its value, or
    /// unset for `None`, whatever the environment and `.env` say.
    pub fn with_sandbox(
        mut self,
        layer: impl IntoIterator<Item = (&'static str, Option<String>)>,
    ) -> Self {
        self.sandbox.extend(layer);
        self
    }

    /// Whether the `--sandbox` layer sets `name`: it then wins over the flag of that name too.
    pub fn set_by_sandbox(&self, name: &str) -> bool {
        self.sandbox.get(name).is_some_and(Option::is_some)
    }

    /// The value of a variable: the `--sandbox` layer wins over the environment, which wins
    /// over `.env`; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(value) = self.sandbox.get(name) {
            return value.as_deref();
        }
        [&self.process, &self.dotenv]
            .into_iter()
            .filter_map(|map| map.get(name))
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    }
}

/// The largest `.env` file cer reads: a real one holds a few dozen short lines, and reading
/// `/dev/zero` or a log by mistake must end in a clear error, not an out-of-memory abort.
pub const MAX_ENV_FILE_BYTES: u64 = 1024 * 1024;

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, UsageError> {
    let bytes = read_capped(path).map_err(|reason| env_file_error(path, &reason))?;
    dotenvy::from_read_iter(bytes.as_slice())
        .map(|item| item.map_err(|err| dotenv_error(path, &bytes, &err)))
        .collect()
}

fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|io| match io.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => io.to_string(),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_ENV_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|io| io.to_string())?;
    if bytes.len() as u64 > MAX_ENV_FILE_BYTES {
        return Err(format!(
            "it is larger than {} KiB, so it is not a .env file",
            MAX_ENV_FILE_BYTES / 1024
        ));
    }
    Ok(bytes)
}

/// Describes a `.env` error without quoting any value: a line may hold the client secret.
fn dotenv_error(path: &Path, bytes: &[u8], err: &dotenvy::Error) -> UsageError {
    let reason = match err {
        dotenvy::Error::LineParse(line, index) => {
            let text = String::from_utf8_lossy(bytes);
            let number = text
                .lines()
                .position(|l| l.trim_end() == line.trim_end())
                .map(|n| format!("line {}", n + 1))
                .unwrap_or_else(|| "a line".into());
            let name = crate::secret::variable_name_of(line)
                .map(|name| format!(" (`{name}=`, value not shown)"))
                .unwrap_or_default();
            format!("cannot parse {number}{name} at character {index}")
        }
        dotenvy::Error::Io(io) => io.to_string(),
        // Other errors (variable substitution) may quote values too.
        _ => "cannot parse it".to_string(),
    };
    env_file_error(path, &reason)
}

fn env_file_error(path: &Path, reason: &str) -> UsageError {
    UsageError::new(format!("cannot read env file {}: {reason}", path.display()))
        .with_hint(
            "check the --env-file path; the file holds lines like OAUTH_CLIENT_ID=…, OAUTH_CLIENT_SECRET=… \
                and ACCOUNT_KEY=…",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_dotenv() {
        let sources = Sources::from_maps(&[("A", "env")], &[("A", "file"), ("B", "file")]);
        assert_eq!(sources.get("A"), Some("env"));
        assert_eq!(sources.get("B"), Some("file"));
        assert_eq!(sources.get("C"), None);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let sources = Sources::from_maps(&[("A", "  ")], &[("A", "file")]);
        assert_eq!(sources.get("A"), Some("file"));
    }

    #[test]
    fn a_missing_env_file_is_a_usage_error() {
        let err = Sources::load(Some(Path::new("/nonexistent/cer.env"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/cer.env"), "{err}");
        assert!(err.to_string().contains("no such file"), "{err}");
    }

    // Regression: a parse error quoted the whole line, client secret included.
    #[test]
    fn a_parse_error_names_the_line_but_never_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "ACCOUNT_KEY=1\nOAUTH_CLIENT_SECRET=s3cr3t'unclosed\n",
        )
        .unwrap();
        let err = Sources::load(Some(&path)).unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("OAUTH_CLIENT_SECRET"), "{err}");
    }

    // Regression: `--env-file /dev/zero` ran out of memory and aborted with a backtrace.
    #[test]
    fn an_endless_env_file_is_refused() {
        let err = Sources::load(Some(Path::new("/dev/zero"))).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
