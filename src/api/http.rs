//! The one HTTP client cer shares between the OAuth and REST calls: rustls, connection reuse,
//! the contract's timeouts, no redirects (OAuth's advice against SSRF) and the proxy settings.

use std::time::Duration;

use super::proxy::HttpsProxy;
use anyhow::Context;

/// How long opening a connection (TCP and TLS) may take, REST or WebSocket.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one REST request may take in all, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many idle connections to one host are kept for the next request. A burst of calls
/// opens more (a listener's live and backfill fetches together), and without a bound each
/// would stay open, with its buffers, long after the burst.
const MAX_IDLE_PER_HOST: usize = 4;

/// Whether reaching one of `urls` can take TLS (anything but plain `http`).
pub fn needs_tls(urls: &[&str]) -> bool {
    urls.iter().any(|url| !url.starts_with("http://"))
}

/// Builds a client fit for `urls`, through `proxy` (`HTTPS_PROXY` and `NO_PROXY`, parsed by the
/// settings, so this layer knows nothing of where they come from). The platform's root
/// certificates are read only when one of `urls` needs TLS: loading them was over half of a
/// `cer fetch` against a local http base (callgrind). The client follows no redirects and its
/// proxy serves `https` URLs only, so a plain-http client never makes a TLS handshake.
pub fn client_reaching(
    proxy: Option<&HttpsProxy>,
    urls: &[&str],
) -> anyhow::Result<reqwest::Client> {
    // ring is the one provider in the graph (aws-lc-rs would add a C build of over half a minute
    // to a first build on two cores); reqwest and tungstenite both take the process default.
    // An error means it is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("cer/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if !needs_tls(urls) {
        builder = builder.tls_certs_only(std::iter::empty());
    }
    if let Some(proxy) = proxy.cloned() {
        // cer's matcher, not reqwest's own NO_PROXY rules: the WebSocket tunnel asks the same
        // one, so REST and WebSocket never disagree about a host.
        builder = builder.proxy(reqwest::Proxy::custom(move |url| proxy.for_rest(url)));
    }
    builder.build().context("cannot set up the HTTP client")
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn rest_uses_the_proxy_for_https_unless_no_proxy_exempts_the_host() {
        let target = url("http://proxy:3128");
        let proxy =
            HttpsProxy::from_variables(Some(target.as_str()), Some("internal.test, 10.0.0.0/8"))
                .unwrap()
                .unwrap();
        let via = |u: &str| proxy.for_rest(&url(u));
        assert_eq!(via("https://api.goto.com/x"), Some(target.clone()));
        assert_eq!(via("http://api.goto.com/x"), None);
        assert_eq!(via("https://api.internal.test/x"), None);
        assert_eq!(via("https://10.1.2.3:8443/x"), None);
    }

    #[test]
    fn a_bad_proxy_url_is_refused_without_its_password() {
        let err = HttpsProxy::from_variables(Some("http://bob:hunter2@[::1"), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("HTTPS_PROXY "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
