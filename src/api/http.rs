//! The one HTTP client cer shares between the OAuth and REST calls: rustls, connection reuse,
//! the contract's timeouts, no redirects (OAuth's advice against SSRF) and the proxy settings.

use std::time::Duration;

use anyhow::Context;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether reaching one of `urls` can take TLS (anything but plain `http`).
pub fn needs_tls(urls: &[&str]) -> bool {
    urls.iter().any(|url| !url.starts_with("http://"))
}

/// Builds a client fit for `urls`. `proxy` is `HTTPS_PROXY` as given and `no_proxy` the hosts
/// that bypass it (`NO_PROXY`): plain values, so this layer knows nothing of where settings come
/// from. The platform's root certificates are read only when one of `urls` needs TLS: loading
/// them was over half of a `cer fetch` against a local http base (callgrind). The client
/// follows no redirects and its proxy serves `https` URLs only, so a plain-http client never
/// makes a TLS handshake.
pub fn client_reaching(
    proxy: Option<&str>,
    no_proxy: Option<&str>,
    urls: &[&str],
) -> anyhow::Result<reqwest::Client> {
    // Both rustls providers can end up in the graph through dependencies; pick one explicitly so
    // neither reqwest nor tungstenite has to guess. An error means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("cer/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if !needs_tls(urls) {
        builder = builder.tls_certs_only(std::iter::empty());
    }
    if let Some(proxy_url) = proxy {
        // Neither the URL nor reqwest's error (which repeats it) may show the proxy password.
        let proxy = reqwest::Proxy::https(proxy_url)
            .map_err(|err| {
                anyhow::anyhow!(
                    "HTTPS_PROXY {:?} is not a usable proxy URL ({})",
                    crate::secret::redact_url_password(proxy_url),
                    crate::secret::redact_url_password(&err.without_url().to_string())
                )
            })?
            .no_proxy(no_proxy.and_then(reqwest::NoProxy::from_string));
        builder = builder.proxy(proxy);
    }
    builder.build().context("cannot set up the HTTP client")
}
