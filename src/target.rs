//! A `--forward-to` target as cer shows it and keys it. A webhook URL often carries its
//! receiver's credentials (`user:pw@`, `?token=…`, a Slack-style token in the path), so the
//! full URL is used only to send; everywhere a target is shown (logs, the delivery line,
//! `cer deliveries`, metrics labels, the outbox's `target` column) it is in one redacted form,
//! and the outbox finds a target's rows by a digest of the full URL, not by the URL itself.

use sha2::{Digest, Sha256};

/// What stands in for a hidden part of a URL.
const HIDDEN: &str = "***";

/// A webhook target: the URL to POST to, its redacted form, and its outbox key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    url: url::Url,
    shown: String,
    key: String,
}

impl ForwardTarget {
    /// Reads the redacted form and the key of `url` once.
    pub fn new(url: url::Url) -> Self {
        Self {
            shown: redact(&url),
            key: key_of(url.as_str()),
            url,
        }
    }

    /// The full URL, secrets included: only for sending.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The form every output shows.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The outbox key: a SHA-256 digest of the full URL, so two URLs that redact alike
    /// (two Slack hooks) keep apart and the store holds no secret of either.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The outbox key of a full target URL.
pub fn key_of(full_url: &str) -> String {
    let digest = Sha256::digest(full_url.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `https://***@hooks.example/services/T0/B0/***?token=***`: user info and query values
/// hidden, and each path segment that looks like a token; names of query parameters stay,
/// since they tell a person which hook it is.
pub fn redact(url: &url::Url) -> String {
    let mut shown = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        shown.push_str(HIDDEN);
        shown.push('@');
    }
    shown.push_str(url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    let path: Vec<&str> = url
        .path()
        .split('/')
        .map(|segment| {
            if looks_like_a_token(segment) {
                HIDDEN
            } else {
                segment
            }
        })
        .collect();
    shown.push_str(&path.join("/"));
    if let Some(query) = url.query() {
        let pairs: Vec<String> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}={HIDDEN}"),
                None => HIDDEN.to_string(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    if url.fragment().is_some() {
        shown.push('#');
        shown.push_str(HIDDEN);
    }
    shown
}

/// A path segment of 16 or more characters, letters and digits mixed (with `-`, `_`, `.`,
/// `~`, `=` or `%`): a Slack, Discord or Teams hook token, a UUID, a key; or one of 20 or more
/// letters and digits alone, whatever they are (a random token may hold no digit, and a path
/// word that long without a separator is rare: hiding one is the cheaper mistake). Words and
/// short IDs stay readable.
fn looks_like_a_token(segment: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.~=%+".contains(c);
    let mixed = segment.len() >= 16
        && segment.chars().all(allowed)
        && segment.chars().any(|c| c.is_ascii_digit())
        && segment.chars().any(|c| c.is_ascii_alphabetic());
    let long_run = segment.len() >= 20 && segment.chars().all(|c| c.is_ascii_alphanumeric());
    mixed || long_run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        redact(&url::Url::parse(text).unwrap())
    }

    #[test]
    fn user_info_and_query_values_are_hidden() {
        assert_eq!(
            shown("http://user:pw@127.0.0.1:3000/hook?token=abc&x=1"),
            "http://***@127.0.0.1:3000/hook?token=***&x=***"
        );
        assert_eq!(
            shown("https://user@h.example/in"),
            "https://***@h.example/in"
        );
    }

    #[test]
    fn a_token_in_the_path_is_hidden_and_words_stay() {
        assert_eq!(
            shown("https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/abcdEFGH1234ijklMNOP5678"),
            "https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/***"
        );
        assert_eq!(
            shown("https://example.com/notifications-service/calls"),
            "https://example.com/notifications-service/calls"
        );
        assert_eq!(
            shown("https://x.example/h/3f2b8c1e-9d4a-4e5f-8a7b-1c2d3e4f5a6b#frag"),
            "https://x.example/h/***#***"
        );
        // Regression: a token of letters alone was shown in clear.
        assert_eq!(
            shown("https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/abcdEFGHijklMNOPqrstUVWX"),
            "https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/***"
        );
    }

    #[test]
    fn a_plain_local_hook_reads_as_given() {
        assert_eq!(
            shown("http://127.0.0.1:3000/hook"),
            "http://127.0.0.1:3000/hook"
        );
    }

    #[test]
    fn keys_differ_for_urls_that_redact_alike_and_hold_no_secret() {
        let a = ForwardTarget::new(url::Url::parse("https://h.example/in?token=one").unwrap());
        let b = ForwardTarget::new(url::Url::parse("https://h.example/in?token=two").unwrap());
        assert_eq!(a.shown(), b.shown());
        assert_ne!(a.key(), b.key());
        assert!(!a.key().contains("one"));
        assert_eq!(a.key(), key_of("https://h.example/in?token=one"));
    }
}
