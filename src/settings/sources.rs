//! Where variables come from: the process environment first, then the `.env` file.
//!
//! Reading both into one value once, instead of calling `std::env::var` all over the code, keeps
//! the precedence rule in one place and lets tests resolve settings from plain maps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::errors::UsageError;

/// Variables from the environment and from a `.env` file, looked up in that order.
#[derive(Debug, Default, Clone)]
pub struct Sources {
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
        let dotenv = match env_file {
            Some(path) => read_dotenv(path)?,
            None => {
                let default = PathBuf::from(".env");
                if default.is_file() {
                    read_dotenv(&default)?
                } else {
                    HashMap::new()
                }
            }
        };
        Ok(Self { process, dotenv })
    }

    /// Sources made of the given pairs, for tests.
    pub fn from_maps(process: &[(&str, &str)], dotenv: &[(&str, &str)]) -> Self {
        let own = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Self {
            process: own(process),
            dotenv: own(dotenv),
        }
    }

    /// The value of a variable: the environment wins over `.env`; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        [&self.process, &self.dotenv]
            .into_iter()
            .filter_map(|map| map.get(name))
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    }
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, UsageError> {
    let iter = dotenvy::from_path_iter(path).map_err(|err| dotenv_error(path, &err))?;
    iter.map(|item| item.map_err(|err| dotenv_error(path, &err)))
        .collect()
}

fn dotenv_error(path: &Path, err: &dotenvy::Error) -> UsageError {
    let reason = match err {
        dotenvy::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "no such file".to_string()
        }
        dotenvy::Error::Io(io) => io.to_string(),
        dotenvy::Error::LineParse(line, index) => {
            format!("cannot parse line {line:?} at character {index}")
        }
        other => other.to_string(),
    };
    UsageError::new(format!("cannot read env file {}: {reason}", path.display()))
        .with_hint(
            "check the --env-file path; the file holds lines like OAUTH_CLIENT_ID=…, OAUTH_CLIENT_SECRET=… and ACCOUNT_KEY=…",
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
}
