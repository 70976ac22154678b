//! A string that must never reach a log line or an error message: tokens, client secrets,
//! authorization codes and PKCE verifiers all travel inside [`Secret`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret value whose `Debug` and `Display` print `(redacted)`.
///
/// The value is reachable only through [`Secret::expose`], so every place that lets the secret out
/// is visible in a search. `Serialize` writes the real value: it exists for the credential store.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send or print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The variable a `NAME=value` line sets, if it starts like one; never the value.
pub fn variable_name_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let (name, _) = line.split_once('=')?;
    let name = name.trim_end();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// `text` with the password of a `scheme://user:password@host` URL replaced by `****`; it
/// works on text that does not parse as a URL too, since that is when it gets quoted.
pub fn redact_url_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest_start = scheme_end + 3;
    let rest = &text[rest_start..];
    let Some(at) = rest.rfind('@') else {
        return text.to_string();
    };
    let Some(colon) = rest[..at].find(':') else {
        return text.to_string();
    };
    let password_start = rest_start + colon + 1;
    format!(
        "{}****{}",
        &text[..password_start],
        &text[rest_start + at..]
    )
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: a bad HTTPS_PROXY was quoted with its password.
    #[test]
    fn url_passwords_are_redacted_even_in_broken_urls() {
        assert_eq!(
            redact_url_password("http://bob:pa:ss@proxy:3128"),
            "http://bob:****@proxy:3128"
        );
        assert_eq!(
            redact_url_password("http://bob:p@ss word@[bad"),
            "http://bob:****@[bad"
        );
        assert_eq!(
            redact_url_password("http://proxy:3128"),
            "http://proxy:3128"
        );
        assert_eq!(redact_url_password("no url"), "no url");
    }

    #[test]
    fn only_the_name_of_an_env_line_is_read() {
        assert_eq!(variable_name_of("export A_1 = 'x"), Some("A_1"));
        assert_eq!(variable_name_of("s3cr3t"), None);
        assert_eq!(variable_name_of("a b=c"), None);
    }

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "(redacted)");
        assert_eq!(format!("{secret}"), "(redacted)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some((redacted))");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn serializes_the_real_value_for_the_store() {
        let json = serde_json::to_string(&Secret::new("abc")).unwrap();
        assert_eq!(json, "\"abc\"");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "abc");
    }
}
