//! A `--forward-to` target as cer shows it and keys it. A webhook URL often carries its
//! receiver's credentials, and not only in user info and queries: providers put them in the
//! path (`/hooks/catch/ID/KEY/`, `/botID:TOKEN/…`, `/services/T…/B…/…`, `;jsessionid=…`), and
//! no rule tells a secret segment from a plain one. So the full URL is used only to send;
//! everywhere a target is shown (logs, the delivery line, `cer deliveries`, metrics labels,
//! the store's columns, errors) it is its scheme, host and port, `/…` when it has more, and a
//! tag of the URL's SHA-256 that tells targets apart: `https://hooks.example.com/… [3f2a91]`.
//! The store keys a target by a longer digest of the full URL, never by the URL itself.
//! What cer sends a target is signed with its secret ([`Signer`]).

mod sign;

use sha2::{Digest, Sha256};

pub use sign::Signer;

/// How many hex characters of the URL's SHA-256 make a target's tag.
const TAG_LEN: usize = 6;

/// A webhook target: the URL to POST to, its shown form, its tag and its store key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    url: url::Url,
    shown: String,
    key: String,
}

impl ForwardTarget {
    /// Reads the shown form and the key of `url` once.
    pub fn new(url: url::Url) -> Self {
        Self {
            shown: shown(&url),
            key: key_of(url.as_str()),
            url,
        }
    }

    /// The full URL, secrets included: only for sending.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The form every output shows: `https://hooks.example.com/… [3f2a91]`.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The tag that names the target (`cer deliveries --forget 3f2a91`).
    pub fn tag(&self) -> &str {
        tag_of_key(&self.key)
    }

    /// The store key: a SHA-256 digest of the full URL, so two URLs shown alike keep apart
    /// and the store holds no secret of either.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The store key of a full target URL: `sha256:` and the first 32 hex characters.
pub fn key_of(full_url: &str) -> String {
    let digest = Sha256::digest(full_url.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The tag within a store key: the first hex characters of the same digest.
pub fn tag_of_key(key: &str) -> &str {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    hex.get(..TAG_LEN).unwrap_or(hex)
}

/// `https://hooks.example.com:8443/… [3f2a91]`: scheme, host, the port only when the URL
/// names one, `/…` when anything follows the host but a bare `/`, and the tag. Nothing of
/// the user info, path, query or fragment shows.
pub fn shown(url: &url::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        shown.push_str("/…");
    }
    let key = key_of(url.as_str());
    shown.push_str(&format!(" [{}]", tag_of_key(&key)));
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown_of(text: &str) -> String {
        shown(&url::Url::parse(text).unwrap())
    }

    fn tag(text: &str) -> String {
        let digest = Sha256::digest(url::Url::parse(text).unwrap().as_str().as_bytes());
        digest.iter().take(3).map(|b| format!("{b:02x}")).collect()
    }

    /// Regression (issue 26, finding 1): only token-like path segments were hidden, so a
    /// Telegram bot token, a Zapier hook, a session ID and a short secret showed in clear.
    #[test]
    fn nothing_but_scheme_host_and_port_shows_of_any_target() {
        for (url, head) in [
            (
                "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
                "https://api.telegram.org/…",
            ),
            (
                "https://hooks.zapier.com/hooks/catch/9876543/zap7x9k/",
                "https://hooks.zapier.com/…",
            ),
            ("http://h/x;jsessionid=0AB12CD34EF", "http://h/…"),
            (
                "http://127.0.0.1:3000/hook/s3cr3tShrt",
                "http://127.0.0.1:3000/…",
            ),
            (
                "http://user:pw@127.0.0.1:3000/?token=abc",
                "http://127.0.0.1:3000/…",
            ),
            ("https://h.example/#frag", "https://h.example/…"),
            ("https://u:p@h.example:8443/", "https://h.example:8443"),
            ("https://h.example", "https://h.example"),
        ] {
            assert_eq!(shown_of(url), format!("{head} [{}]", tag(url)), "{url}");
        }
    }

    #[test]
    fn the_tag_is_six_hex_characters_of_the_whole_urls_sha256() {
        let target = ForwardTarget::new(url::Url::parse("https://h.example/in?token=one").unwrap());
        assert_eq!(target.tag(), tag("https://h.example/in?token=one"));
        assert_eq!(target.tag().len(), 6);
        assert!(
            target
                .key()
                .starts_with(&format!("sha256:{}", target.tag()))
        );
        assert!(target.shown().ends_with(&format!(" [{}]", target.tag())));
    }

    #[test]
    fn keys_differ_for_urls_shown_alike_and_hold_no_secret() {
        let a = ForwardTarget::new(url::Url::parse("https://h.example/in?token=one").unwrap());
        let b = ForwardTarget::new(url::Url::parse("https://h.example/in?token=two").unwrap());
        assert_ne!(a.shown(), b.shown(), "the tags differ");
        assert_ne!(a.key(), b.key());
        assert!(!a.key().contains("one"));
        assert_eq!(a.key(), key_of("https://h.example/in?token=one"));
    }
}
