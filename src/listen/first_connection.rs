//! Why `listen` never got going: before the first `Ready` nothing has worked, so instead of
//! retrying forever cer stops and names what failed (DNS, TLS, a refused connection, an HTTP
//! status) and what to check.

use std::time::Duration;

use crate::net::ApiError;

/// `listen` gave up before its first `Ready`; the cause stays in the error chain below it.
#[derive(Debug, thiserror::Error)]
#[error("could not start listening: no connection to GoTo within {} s ({what})", .waited.as_secs())]
pub struct FirstConnectionFailed {
    /// How long cer kept trying.
    pub waited: Duration,
    /// What failed, in a few words.
    pub what: &'static str,
    /// What the person should check.
    pub hint: &'static str,
}

impl FirstConnectionFailed {
    /// Reads the last error of the first connection attempts; `None` when the engine stopped
    /// for a reason of its own (a refused login, a wrong account), which says enough itself.
    pub fn diagnose(err: &ApiError, waited: Duration) -> Option<Self> {
        if super::error::is_fatal(err, false) {
            return None;
        }
        let (what, hint) = classify(err)?;
        Some(Self { waited, what, hint })
    }
}

/// What failed and what to check, for the errors of reaching GoTo; `None` for the others
/// (no start for the backfill, an unusable store), which are not about the connection.
fn classify(err: &ApiError) -> Option<(&'static str, &'static str)> {
    let verdict = match err {
        ApiError::Transport(detail) => classify_transport(&detail.to_ascii_lowercase()),
        ApiError::Server { .. } => (
            "GoTo answered with a server error",
            "GoTo may be having an outage; try again later",
        ),
        ApiError::RateLimited { .. } => (
            "GoTo kept answering 429 Too Many Requests",
            "another client may be using the same OAuth client; try a lower --rate",
        ),
        ApiError::Rejected { .. } | ApiError::NotFound { .. } | ApiError::InvalidBody(_) => (
            "GoTo answered with an HTTP error",
            "check CER_API_BASE (unset, it is https://api.goto.com) and HTTPS_PROXY",
        ),
        _ => return None,
    };
    Some(verdict)
}

fn classify_transport(detail: &str) -> (&'static str, &'static str) {
    if detail.contains("dns") || detail.contains("lookup") || detail.contains("resolve") {
        (
            "the server name could not be resolved (DNS)",
            "check the network and the host name in CER_API_BASE",
        )
    } else if detail.contains("certificate") || detail.contains("tls") || detail.contains("ssl") {
        (
            "the TLS handshake failed",
            "check the system clock and any proxy that intercepts HTTPS (HTTPS_PROXY)",
        )
    } else if detail.contains("refused") {
        (
            "the connection was refused",
            "check CER_API_BASE and HTTPS_PROXY: nothing is listening at that address",
        )
    } else if detail.contains("timed out") || detail.contains("did not open within") {
        (
            "the connection timed out",
            "check the network, a firewall and HTTPS_PROXY",
        )
    } else {
        (
            "the connection failed",
            "check the network, HTTPS_PROXY and CER_API_BASE",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(err: ApiError) -> &'static str {
        FirstConnectionFailed::diagnose(&err, Duration::from_secs(30))
            .unwrap()
            .what
    }

    #[test]
    fn names_dns_tls_refused_and_status() {
        let transport = |s: &str| ApiError::Transport(s.to_string());
        assert!(
            what(transport(
                "request failed (x): dns error: failed to lookup address"
            ))
            .contains("DNS")
        );
        assert!(
            what(transport(
                "connection failed (x): invalid peer certificate: UnknownIssuer"
            ))
            .contains("TLS")
        );
        assert!(
            what(transport(
                "connection failed (x): Connection refused (os error 111)"
            ))
            .contains("refused")
        );
        let server = ApiError::Server {
            status: 503,
            message: String::new(),
        };
        assert!(what(server).contains("server error"));
        let refused = ApiError::Unauthorized {
            message: String::new(),
        };
        assert!(FirstConnectionFailed::diagnose(&refused, Duration::ZERO).is_none());
    }
}
