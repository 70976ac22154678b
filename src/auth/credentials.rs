//! The tokens cer keeps between runs, and the rule that says when to refresh them.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// What a token answer gave cer, as stored in the keyring or the credentials file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The bearer token every GoTo call carries.
    pub access_token: Secret,
    /// Trades for a new access token; GoTo may rotate it on each refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// When the access token was issued and when it expires, as GoTo's `expires_in` said.
    pub issued_at: Timestamp,
    /// See `issued_at`.
    pub expires_at: Timestamp,
    /// The scopes GoTo granted, space-separated, when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Who logged in (GoTo's `principal`, an email address), when GoTo said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The account key GoTo's legacy hosts add to the token answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<String>,
}

impl Credentials {
    /// Credentials for a token answer received just now.
    pub fn issued_now(
        access_token: Secret,
        refresh_token: Option<Secret>,
        lifetime: Duration,
        scope: Option<String>,
        principal: Option<String>,
        account_key: Option<String>,
    ) -> Self {
        let issued_at = Timestamp::now();
        let lifetime =
            jiff::SignedDuration::try_from(lifetime).unwrap_or(jiff::SignedDuration::MAX);
        Self {
            access_token,
            refresh_token,
            issued_at,
            expires_at: issued_at.saturating_add(lifetime).unwrap_or(Timestamp::MAX),
            scope,
            principal,
            account_key,
        }
    }

    /// True once less than a third of the token's lifetime is left, as GoTo's demo does it:
    /// early enough that a failed refresh can be retried before the token expires.
    pub fn needs_refresh(&self, now: Timestamp) -> bool {
        let lifetime = self.expires_at.duration_since(self.issued_at);
        let left = self.expires_at.duration_since(now);
        left < lifetime / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(at: &str, lifetime_secs: i64) -> Credentials {
        let issued_at: Timestamp = at.parse().unwrap();
        Credentials {
            access_token: Secret::new("a"),
            refresh_token: None,
            issued_at,
            expires_at: issued_at + jiff::SignedDuration::from_secs(lifetime_secs),
            scope: None,
            principal: None,
            account_key: None,
        }
    }

    #[test]
    fn refreshes_when_a_third_of_the_lifetime_is_left() {
        let creds = issued("2026-01-01T00:00:00Z", 3600);
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(!creds.needs_refresh(at("2026-01-01T00:00:00Z")));
        assert!(!creds.needs_refresh(at("2026-01-01T00:39:59Z")));
        assert!(creds.needs_refresh(at("2026-01-01T00:40:01Z")));
        assert!(creds.needs_refresh(at("2026-01-01T02:00:00Z")));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let mut creds = issued("2026-01-01T00:00:00Z", 60);
        creds.refresh_token = Some(Secret::new("refresh-me"));
        let text = format!("{creds:?}");
        assert!(!text.contains("refresh-me"), "{text}");
    }
}
