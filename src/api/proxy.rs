//! `HTTPS_PROXY` and `NO_PROXY`. reqwest proxies the REST calls, but the WebSocket library
//! connects directly, so cer opens an HTTP CONNECT tunnel for it with hyper-util's `Tunnel`
//! (the connector under reqwest's own proxying). Which hosts bypass the proxy is decided by
//! one matcher, [`NoProxy`], for both: reqwest's proxy asks it (see `http.rs`). It is cer's
//! own and not hyper-util's `Matcher`, because curl's rules, which cer documents, limit an
//! entry to a port (`host:8443`) and separate entries by spaces too; hyper-util's does neither.

use std::net::IpAddr;

use base64::Engine as _;
use http::{HeaderValue, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use percent_encoding::percent_decode_str;
use tokio::net::TcpStream;
use tower_service::Service as _;
use url::{Host, Url};

use crate::net::ApiError;

/// `HTTPS_PROXY` and `NO_PROXY`, parsed once when the settings are resolved: the proxy the
/// REST calls take and, when it speaks plain http, the one the WebSocket tunnels through.
#[derive(Debug, Clone)]
pub struct HttpsProxy {
    url: Url,
    no_proxy: NoProxy,
}

/// An `HTTPS_PROXY` that is no URL; it is shown without its password.
#[derive(Debug, Clone, thiserror::Error)]
#[error("HTTPS_PROXY {shown:?} is not a usable proxy URL ({why})")]
pub struct BadProxyUrl {
    shown: String,
    why: url::ParseError,
}

impl HttpsProxy {
    /// From `HTTPS_PROXY` and `NO_PROXY`; `None` without a proxy. A URL without a scheme is
    /// `http://`.
    pub fn from_variables(
        proxy: Option<&str>,
        no_proxy: Option<&str>,
    ) -> Result<Option<Self>, BadProxyUrl> {
        let Some(given) = proxy else { return Ok(None) };
        let url = proxy_url(given).map_err(|why| BadProxyUrl {
            shown: crate::secret::redact_url_password(given),
            why,
        })?;
        let no_proxy = NoProxy::parse(no_proxy.unwrap_or(""));
        Ok(Some(Self { url, no_proxy }))
    }

    /// The proxy for one REST request: `HTTPS_PROXY` serves `https` URLs only (curl's rule),
    /// and not those `NO_PROXY` exempts.
    pub fn for_rest(&self, url: &Url) -> Option<Url> {
        (url.scheme() == "https" && !self.no_proxy.bypasses_url(url)).then(|| self.url.clone())
    }

    /// The WebSocket's tunnel; `None` unless the proxy is an `http://` URL with a host (a
    /// tunnel is opened with a plain CONNECT).
    pub fn tunnel(&self) -> Option<ProxyConfig> {
        (self.url.scheme() == "http" && self.url.host_str().is_some()).then(|| ProxyConfig {
            proxy: self.url.clone(),
            no_proxy: self.no_proxy.clone(),
        })
    }
}

/// The proxy for the WebSocket tunnel and the hosts that bypass it.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    proxy: Url,
    no_proxy: NoProxy,
}

impl ProxyConfig {
    /// From `HTTPS_PROXY` and `NO_PROXY`, as [`HttpsProxy::tunnel`] reads them: the tests'
    /// shorthand; cer itself has the settings' [`HttpsProxy`] and asks it for its tunnel.
    #[cfg(test)]
    pub fn new(proxy: Option<&str>, no_proxy: Option<&str>) -> Option<Self> {
        HttpsProxy::from_variables(proxy, no_proxy)
            .ok()
            .flatten()?
            .tunnel()
    }

    /// Whether traffic to `url` goes through the proxy: unless `NO_PROXY` exempts its host.
    pub fn applies_to(&self, url: &Url) -> bool {
        !self.no_proxy.bypasses_url(url)
    }

    /// A TCP stream to `host:port` through the proxy (HTTP CONNECT), by hyper-util's tunnel:
    /// the connector reqwest itself uses, so REST and the WebSocket meet a proxy alike.
    pub async fn tunnel(&self, host: &str, port: u16) -> Result<TcpStream, ApiError> {
        let fail = |why: String| ApiError::Transport(format!("proxy {}: {why}", self.redacted()));
        let proxy_host = self.proxy.host_str().unwrap_or_default();
        let proxy_port = self.proxy.port_or_known_default().unwrap_or(80);
        let uri = |host: &str, port: u16| -> Result<Uri, ApiError> {
            let host = match host.contains(':') {
                true => format!("[{}]", host.trim_start_matches('[').trim_end_matches(']')),
                false => host.to_string(),
            };
            format!("http://{host}:{port}/")
                .parse()
                .map_err(|e| fail(format!("{host}:{port} is no address ({e})")))
        };
        let mut tunnel = Tunnel::new(uri(proxy_host, proxy_port)?, HttpConnector::new());
        if let Some(credentials) = basic_credentials(&self.proxy) {
            let value = HeaderValue::from_str(&credentials)
                .map_err(|_| fail("its credentials cannot be sent".to_string()))?;
            tunnel = tunnel.with_auth(value);
        }
        let destination = uri(host, port)?;
        std::future::poll_fn(|cx| tunnel.poll_ready(cx))
            .await
            .map_err(|e| fail(tunnel_failure(&e)))?;
        let stream = tunnel
            .call(destination)
            .await
            .map_err(|e| fail(tunnel_failure(&e)))?;
        Ok(stream.into_inner())
    }

    /// The proxy URL without its credentials, for messages.
    fn redacted(&self) -> String {
        let mut shown = self.proxy.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.to_string()
    }
}

/// The proxy URL as curl and reqwest read `HTTPS_PROXY`: a URL with a host, or else the
/// text taken as `http://TEXT` (`proxy:3128` is `http://proxy:3128`).
pub fn proxy_url(given: &str) -> Result<Url, url::ParseError> {
    match Url::parse(given) {
        Ok(url) if url.has_host() => Ok(url),
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {
            Url::parse(&format!("http://{given}"))
        }
        Err(err) => Err(err),
    }
}

/// The hosts that bypass the proxy, read from `NO_PROXY` by curl's rules: entries separated
/// by commas or spaces; `*` for every host; a name matches itself and the names under it
/// (`example.com` and `.example.com` both match `example.com` and `www.example.com`, never
/// `badexample.com`), case-insensitively; an IP address or CIDR block (`10.0.0.0/8`,
/// `::1`, `[::1]`) matches addresses only; `:PORT` after an entry limits it to that port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    everything: bool,
    entries: Vec<Exempt>,
}

/// One `NO_PROXY` entry other than `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exempt {
    /// A name, lower case, without leading or trailing dot.
    Name { name: String, port: Option<u16> },
    /// An address block: the address and how many of its leading bits must match.
    Block {
        addr: IpAddr,
        bits: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    /// Reads a `NO_PROXY` value; entries it cannot read are left out (they exempt nothing).
    pub fn parse(list: &str) -> Self {
        let mut no_proxy = Self::default();
        for entry in list.split([',', ' ', '\t']).filter(|e| !e.is_empty()) {
            if entry == "*" {
                no_proxy.everything = true;
            } else if let Some(exempt) = Exempt::parse(entry) {
                no_proxy.entries.push(exempt);
            }
        }
        no_proxy
    }

    /// Whether `url` (its host, and its port or the scheme's) is exempt from the proxy.
    pub fn bypasses_url(&self, url: &Url) -> bool {
        url.host()
            .is_some_and(|host| self.bypasses(&host, url.port_or_known_default()))
    }

    /// Whether `host`, reached on `port`, is exempt from the proxy.
    pub fn bypasses(&self, host: &Host<&str>, port: Option<u16>) -> bool {
        if self.everything {
            return true;
        }
        let host = match host {
            Host::Domain(name) => match name.trim_end_matches('.').parse::<IpAddr>() {
                Ok(addr) => Target::Addr(addr),
                Err(_) => Target::Name(name.trim_end_matches('.').to_ascii_lowercase()),
            },
            Host::Ipv4(addr) => Target::Addr(IpAddr::V4(*addr)),
            Host::Ipv6(addr) => Target::Addr(IpAddr::V6(*addr)),
        };
        self.entries
            .iter()
            .any(|exempt| exempt.matches(&host, port))
    }
}

/// A host to match: names and addresses never match each other.
enum Target {
    Name(String),
    Addr(IpAddr),
}

impl Exempt {
    fn parse(entry: &str) -> Option<Self> {
        let (host, port) = split_port(entry)?;
        if host.contains('/') || host.parse::<IpAddr>().is_ok() {
            return Self::block(host, port);
        }
        let name = host.trim_start_matches('.').trim_end_matches('.');
        (!name.is_empty()).then(|| Self::Name {
            name: name.to_ascii_lowercase(),
            port,
        })
    }

    /// `ADDR` or `ADDR/BITS`; `None` for a bad address or more bits than it has.
    fn block(text: &str, port: Option<u16>) -> Option<Self> {
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(width);
        (bits <= width).then_some(Self::Block { addr, bits, port })
    }

    fn matches(&self, host: &Target, port: Option<u16>) -> bool {
        let (Self::Name { port: only, .. } | Self::Block { port: only, .. }) = self;
        if only.is_some() && *only != port {
            return false;
        }
        match (self, host) {
            (Self::Name { name, .. }, Target::Name(host)) => {
                host == name
                    || host
                        .strip_suffix(name.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            (Self::Block { addr, bits, .. }, Target::Addr(host)) => in_block(*host, *addr, *bits),
            _ => false,
        }
    }
}

/// Splits `HOST:PORT`, `[V6]:PORT` and `[V6]`; a bare IPv6 address has no port. `None` when
/// what follows the last colon is not a port.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        return match after {
            "" => Some((addr, None)),
            _ => Some((addr, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

/// Whether the first `bits` bits of `host` and `block` agree (both of one family).
fn in_block(host: IpAddr, block: IpAddr, bits: u8) -> bool {
    let (host, block, width) = match (host, block) {
        (IpAddr::V4(h), IpAddr::V4(b)) => (u128::from(h.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(h), IpAddr::V6(b)) => (h.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let ignored = width - u32::from(bits);
    ignored >= width || (host ^ block) >> ignored == 0
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

/// Why the tunnel failed, in words. hyper-util does not export its error type, so this reads
/// its text: a refusal (any status but 2xx, or 407) is the case people act on.
fn tunnel_failure(err: &(dyn std::error::Error + 'static)) -> String {
    let text = err.to_string();
    let why = err
        .source()
        .map(|source| format!(": {source}"))
        .unwrap_or_default();
    match text.as_str() {
        "tunnel error: unsuccessful" => "refused the tunnel".into(),
        "tunnel error: proxy authorization required" => {
            "refused the tunnel (407: it wants credentials)".into()
        }
        _ => format!("{}{why}", text.trim_start_matches("tunnel error: ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn bypassed(no_proxy: &str, target: &str) -> bool {
        NoProxy::parse(no_proxy).bypasses_url(&url(target))
    }

    #[test]
    fn no_proxy_matches_hosts_and_suffixes() {
        let config =
            ProxyConfig::new(Some("http://proxy:3128"), Some("localhost, .internal.test")).unwrap();
        assert!(config.applies_to(&url("wss://webrtc.jive.com/x")));
        assert!(!config.applies_to(&url("ws://localhost:8080/x")));
        assert!(!config.applies_to(&url("wss://a.internal.test/x")));
        assert!(!config.applies_to(&url("wss://internal.test/x")));
        let everything = ProxyConfig::new(Some("http://proxy:3128"), Some("*")).unwrap();
        assert!(!everything.applies_to(&url("wss://webrtc.jive.com/x")));
    }

    #[test]
    fn names_match_on_a_label_boundary_in_any_case() {
        for entry in ["example.com", ".example.com", "EXAMPLE.com", "example.com."] {
            assert!(bypassed(entry, "https://example.com/"), "{entry}");
            assert!(bypassed(entry, "https://www.Example.COM/"), "{entry}");
            assert!(bypassed(entry, "https://a.b.example.com./"), "{entry}");
            assert!(!bypassed(entry, "https://badexample.com/"), "{entry}");
            assert!(
                !bypassed(entry, "https://example.com.evil.test/"),
                "{entry}"
            );
            assert!(!bypassed(entry, "https://example.org/"), "{entry}");
        }
    }

    #[test]
    fn entries_are_split_on_commas_and_spaces_and_bad_ones_exempt_nothing() {
        let list = " a.test,b.test  c.test,,\td.test ";
        for host in ["a.test", "b.test", "c.test", "d.test"] {
            assert!(bypassed(list, &format!("https://{host}/")), "{host}");
        }
        assert!(!bypassed("", "https://a.test/"));
        assert!(!bypassed(".", "https://a.test/"));
        assert!(!bypassed("a.test:port", "https://a.test/"));
        assert!(!bypassed("10.0.0.0/33", "https://10.0.0.1/"));
        assert!(!bypassed("[::1", "https://[::1]/"));
    }

    #[test]
    fn a_star_anywhere_exempts_every_host() {
        assert!(bypassed("*", "https://api.goto.com/"));
        assert!(bypassed("a.test, *", "https://[2001:db8::1]/"));
        assert!(!bypassed("*.goto.com", "https://api.goto.com.evil.test/"));
    }

    #[test]
    fn a_port_limits_an_entry_to_that_port() {
        assert!(bypassed("api.test:8443", "https://api.test:8443/"));
        assert!(!bypassed("api.test:8443", "https://api.test/"));
        assert!(bypassed("api.test:443", "https://api.test/"));
        assert!(bypassed("api.test:80", "ws://sub.api.test/x"));
        assert!(bypassed("127.0.0.1:9000", "http://127.0.0.1:9000/"));
        assert!(!bypassed("127.0.0.1:9000", "http://127.0.0.1:9001/"));
        assert!(bypassed("[::1]:9000", "http://[::1]:9000/"));
        assert!(!bypassed("[::1]:9000", "http://[::1]:9001/"));
    }

    #[test]
    fn addresses_and_blocks_match_addresses_only() {
        assert!(bypassed("127.0.0.1", "http://127.0.0.1:9000/"));
        assert!(!bypassed("127.0.0.1", "http://127.0.0.2/"));
        assert!(bypassed("10.0.0.0/8", "https://10.200.3.4/"));
        assert!(!bypassed("10.0.0.0/8", "https://11.0.0.1/"));
        assert!(bypassed("192.168.1.0/24", "https://192.168.1.255/"));
        assert!(!bypassed("192.168.1.0/24", "https://192.168.2.1/"));
        assert!(bypassed("0.0.0.0/0", "https://8.8.8.8/"));
        assert!(bypassed("::1", "https://[::1]/"));
        assert!(bypassed("[::1]", "https://[0:0::1]/"));
        assert!(bypassed("2001:db8::/32", "https://[2001:db8:ffff::1]/"));
        assert!(!bypassed("2001:db8::/32", "https://[2001:db9::1]/"));
        assert!(bypassed("::/0", "https://[2001:db9::1]/"));
        // A name entry never matches an address's trailing digits, nor a block a name.
        assert!(!bypassed("0.1", "https://10.0.0.1/"));
        assert!(!bypassed("10.0.0.0/8", "https://10.example.test/"));
        assert!(!bypassed("::1", "https://127.0.0.1/"));
    }

    #[test]
    fn a_proxy_without_a_scheme_is_http() {
        assert_eq!(
            proxy_url("proxy:3128").unwrap().as_str(),
            "http://proxy:3128/"
        );
        assert_eq!(
            proxy_url("10.0.0.1:3128").unwrap().as_str(),
            "http://10.0.0.1:3128/"
        );
        assert_eq!(
            proxy_url("https://proxy:8443").unwrap().as_str(),
            "https://proxy:8443/"
        );
        assert!(proxy_url("http://bob:hunter2@[::1").is_err());
        let schemeless = ProxyConfig::new(Some("proxy:3128"), None).unwrap();
        assert_eq!(schemeless.redacted(), "http://proxy:3128/");
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
