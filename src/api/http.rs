//! The one HTTP client cer shares between the OAuth and REST calls: rustls, connection reuse,
//! the contract's timeouts, no redirects (OAuth's advice against SSRF) and the proxy settings.

use std::time::Duration;

use anyhow::Context;

use crate::settings::Settings;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the shared client from the resolved settings. The platform's root certificates are
/// read only when one of the bases is not plain `http` (loading them was over half of a
/// `cer fetch` against a local http base, measured with callgrind): see [`client_reaching`].
pub fn shared_client(settings: &Settings) -> anyhow::Result<reqwest::Client> {
    let bases = [settings.api_base.as_str(), settings.auth_base.as_str()];
    client_reaching(settings, &bases)
}

/// Whether reaching one of `urls` can take TLS (anything but plain `http`).
pub fn needs_tls(urls: &[&str]) -> bool {
    urls.iter().any(|url| !url.starts_with("http://"))
}

/// A client fit for `urls`: with the platform's roots when one of them needs TLS, with none
/// otherwise (the client follows no redirects, and its proxy serves `https` URLs only, so a
/// plain-http client never makes a TLS handshake).
pub fn client_reaching(settings: &Settings, urls: &[&str]) -> anyhow::Result<reqwest::Client> {
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
    if let Some(proxy_url) = &settings.proxy {
        let proxy = reqwest::Proxy::https(proxy_url)
            .with_context(|| format!("HTTPS_PROXY {proxy_url:?} is not a usable proxy URL"))?
            .no_proxy(
                settings
                    .no_proxy
                    .as_deref()
                    .and_then(reqwest::NoProxy::from_string),
            );
        builder = builder.proxy(proxy);
    }
    builder.build().context("cannot set up the HTTP client")
}
