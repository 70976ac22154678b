//! `HTTPS_PROXY` for the channel's WebSocket: reqwest proxies the REST calls itself, but the
//! WebSocket library connects directly, so cer opens an HTTP CONNECT tunnel for it.

use base64::Engine as _;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use super::ApiError;

/// The proxy and the hosts that bypass it.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    proxy: Url,
    no_proxy: Vec<String>,
}

impl ProxyConfig {
    /// From `HTTPS_PROXY` and `NO_PROXY`; `None` without a usable `http://` proxy URL.
    pub fn new(proxy: Option<&str>, no_proxy: Option<&str>) -> Option<Self> {
        let proxy = Url::parse(proxy?)
            .ok()
            .filter(|u| u.scheme() == "http" && u.host_str().is_some())?;
        let no_proxy = no_proxy
            .unwrap_or("")
            .split(',')
            .map(|entry| entry.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .collect();
        Some(Self { proxy, no_proxy })
    }

    /// Whether traffic to `host` goes through the proxy (`NO_PROXY`: `*`, or host suffixes).
    pub fn applies_to(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        !self
            .no_proxy
            .iter()
            .any(|entry| entry == "*" || host == *entry || host.ends_with(&format!(".{entry}")))
    }

    /// A TCP stream to `host:port` through the proxy (HTTP CONNECT).
    pub async fn tunnel(&self, host: &str, port: u16) -> Result<TcpStream, ApiError> {
        let fail = |why: String| ApiError::Transport(format!("proxy {}: {why}", self.redacted()));
        let proxy_host = self.proxy.host_str().unwrap_or_default();
        let proxy_port = self.proxy.port_or_known_default().unwrap_or(80);
        let mut stream = TcpStream::connect((proxy_host, proxy_port))
            .await
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        if let Some(credentials) = basic_credentials(&self.proxy) {
            request.push_str(&format!("Proxy-Authorization: {credentials}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| fail(format!("cannot send CONNECT: {e}")))?;
        let head = read_head(&mut stream)
            .await
            .map_err(|e| fail(format!("no answer to CONNECT: {e}")))?;
        let status_line = head.lines().next().unwrap_or("");
        match status_line.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(stream),
            _ => Err(fail(format!("refused the tunnel ({status_line})"))),
        }
    }

    /// The proxy URL without its credentials, for messages.
    fn redacted(&self) -> String {
        let mut shown = self.proxy.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.to_string()
    }
}

/// The `Proxy-Authorization` value for the user and password in the proxy URL, if it names a
/// user. A URL keeps them percent-encoded (RFC 3986): `%40` is `@`, and `+` stays a plus (form
/// rules, which make it a space, do not apply).
fn basic_credentials(proxy: &Url) -> Option<String> {
    if proxy.username().is_empty() {
        return None;
    }
    let mut pair: Vec<u8> = percent_decode_str(proxy.username()).collect();
    pair.push(b':');
    pair.extend(percent_decode_str(proxy.password().unwrap_or("")));
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// Reads the proxy's answer up to the blank line, byte by byte so nothing of the tunnelled
/// stream is consumed; capped so a misbehaving proxy cannot grow it without bound.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("answer too long"));
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_hosts_and_suffixes() {
        let config =
            ProxyConfig::new(Some("http://proxy:3128"), Some("localhost, .internal.test")).unwrap();
        assert!(config.applies_to("webrtc.jive.com"));
        assert!(!config.applies_to("localhost"));
        assert!(!config.applies_to("a.internal.test"));
        assert!(!config.applies_to("internal.test"));
        let everything = ProxyConfig::new(Some("http://proxy:3128"), Some("*")).unwrap();
        assert!(!everything.applies_to("webrtc.jive.com"));
    }

    #[test]
    fn only_http_proxies_are_used() {
        assert!(ProxyConfig::new(Some("socks5://proxy:1080"), None).is_none());
        assert!(ProxyConfig::new(Some("not a url"), None).is_none());
        assert!(ProxyConfig::new(None, None).is_none());
    }

    // Regression: credentials were decoded with form rules, so a `+` in a password became a
    // space and the proxy refused them.
    #[test]
    fn credentials_are_percent_decoded_and_keep_their_plus() {
        let url = Url::parse("http://us%40er:p+w%3Ad@proxy:3128").unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p+w:d");
        assert_eq!(basic_credentials(&url), Some(format!("Basic {expected}")));
        assert_eq!(
            basic_credentials(&Url::parse("http://proxy:3128").unwrap()),
            None
        );
    }

    #[test]
    fn messages_hide_proxy_credentials() {
        let config = ProxyConfig::new(Some("http://user:pw@proxy:3128"), None).unwrap();
        assert_eq!(config.redacted(), "http://proxy:3128/");
    }
}
