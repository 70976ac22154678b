//! `cer login`'s settings: the loopback redirect cer listens on, the timeout and the browser,
//! checked before any port is opened.

use std::time::Duration;

use super::Settings;
use crate::cli::LoginArgs;
use crate::errors::UsageError;

/// `login`'s choices.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    pub no_browser: bool,
    pub timeout: Duration,
    pub redirect_uri: url::Url,
    /// `BROWSER`: opened even when stderr is not a terminal; `None`: the platform's opener.
    pub browser: Option<String>,
    /// `--force`: replace a stored login without asking.
    pub force: bool,
    /// `--recordings`: also ask for the Recording API's scopes.
    pub recordings: bool,
    /// `--sandbox`: the simulator logged cer in already.
    pub sandbox: bool,
}

impl LoginSettings {
    pub fn resolve(args: &LoginArgs, settings: &Settings) -> Result<Self, UsageError> {
        let redirect_uri = match args.redirect_uri.as_deref() {
            Some(text) => loopback_redirect(text),
            None => settings.redirect_uri.clone(),
        };
        if args.timeout == 0 {
            return Err(UsageError::new("--timeout must be at least 1 second"));
        }
        Ok(Self {
            no_browser: args.no_browser,
            timeout: Duration::from_secs(args.timeout),
            redirect_uri: redirect_uri?,
            browser: settings.browser.clone(),
            force: args.force,
            recordings: args.recordings,
            sandbox: settings.sandbox,
        })
    }
}

/// The redirect URI must be `http://127.0.0.1:PORT/path`: cer listens there, on loopback only.
pub(super) fn loopback_redirect(text: &str) -> Result<url::Url, UsageError> {
    let bad = |why: &str| {
        UsageError::new(format!("the redirect URI {text:?} {why}")).with_hint(
            "use http://127.0.0.1:PORT/path, registered on the OAuth client (default \
                http://127.0.0.1:12021/app/redirect)",
        )
    };
    let url = url::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if url.scheme() != "http" || url.host_str() != Some("127.0.0.1") {
        return Err(bad("must start with http://127.0.0.1:"));
    }
    // `url` hides a written `:80` (http's default), so that one is looked for in the text.
    let written_80 = text.contains("127.0.0.1:80/") || text.ends_with("127.0.0.1:80");
    match url.port() {
        None if !written_80 => return Err(bad("must name its port")),
        Some(0) => return Err(bad("must name a port from 1 to 65535, not 0")),
        _ => {}
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_loopback_with_a_port() {
        assert!(loopback_redirect("http://127.0.0.1:12021/app/redirect").is_ok());
        for bad in [
            "https://127.0.0.1:1/x",
            "http://localhost:1/x",
            "http://127.0.0.1/x",
            "http://10.0.0.1:1/x",
            "nope",
            "http://127.0.0.1:1/x?a=b",
        ] {
            assert!(loopback_redirect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_ports_0_and_80_are_judged_by_the_port_cer_listens_on() {
        assert!(loopback_redirect("http://127.0.0.1:80/app/redirect").is_ok());
        assert!(loopback_redirect("http://127.0.0.1:0/app/redirect").is_err());
    }
}
