//! What `--forward-to` and `--forward-header` take: webhook URLs and header lines, checked so
//! that an error never shows a secret a target or a header may hold.

use std::path::Path;

use crate::errors::UsageError;

/// Schemes an error may name: no part of a mistyped target may show (it still holds the
/// secrets of the real one), but a scheme on this list is no secret.
const WELL_KNOWN_SCHEMES: [&str; 8] = ["ftp", "ftps", "ws", "wss", "file", "ssh", "sftp", "mailto"];

/// A `--forward-to` URL. Its error shows no part of it, bar a well-known scheme:
/// `user:pw@host/hook` parses as the scheme `user` with the password in its path.
pub(super) fn webhook_url(text: &str) -> Result<url::Url, UsageError> {
    let http = |url: &url::Url| matches!(url.scheme(), "http" | "https");
    let why = match url::Url::parse(text) {
        Ok(url) if http(&url) && url.host_str().is_some() => return Ok(url),
        Ok(url) if http(&url) => "it names no host".to_string(),
        Ok(url) if WELL_KNOWN_SCHEMES.contains(&url.scheme()) => {
            format!("its scheme is {}, not http or https", url.scheme())
        }
        Ok(_) => "its scheme is not http or https".to_string(),
        Err(_) => "it is not a URL".to_string(),
    };
    Err(UsageError::new(format!(
        "--forward-to is not an http(s) URL: {why} (the value is not shown: it may hold a secret)"
    ))
    .with_hint("give the receiver's URL, e.g. --forward-to http://127.0.0.1:3000/hook"))
}

/// Headers that frame or route a request: set by hand, they make a receiver read an empty
/// or cut body (`Content-Length: 0` counted as delivered) or reach another host.
const FRAMING_HEADERS: [&str; 10] = [
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-connection",
];

/// `Name: value`. Errors name the header but never quote its value (it is often a token).
/// What the header hints suggest: credentials belong in a file, not in argv, which every
/// local user can read.
const HEADER_HINT: &str = "write it as 'Name: value', e.g. 'X-Source: cer'; put credentials such \
     as 'Authorization: Bearer …' in --forward-header-file PATH, out of the process list";

/// `--forward-header` flags, then the lines of `--forward-header-file`.
pub(super) fn forward_headers(
    flags: &[String],
    file: Option<&Path>,
) -> Result<Vec<(String, String)>, UsageError> {
    let mut headers: Vec<(String, String)> =
        flags.iter().map(|h| header(h)).collect::<Result<_, _>>()?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|err| {
            UsageError::new(format!(
                "cannot read --forward-header-file {}: {err}",
                path.display()
            ))
        })?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The file's lines may be secrets: an error names the file, never the line.
            let parsed = header(line).map_err(|_| {
                UsageError::new(format!(
                    "--forward-header-file {} has a line that is not a valid header",
                    path.display()
                ))
                .with_hint(HEADER_HINT)
            })?;
            headers.push(parsed);
        }
    }
    Ok(headers)
}

pub(super) fn header(text: &str) -> Result<(String, String), UsageError> {
    let (name, value) = text.split_once(':').ok_or_else(|| {
        UsageError::new("--forward-header needs a name and a value").with_hint(HEADER_HINT)
    })?;
    let (name, value) = (name.trim(), value.trim());
    let shown = crate::escape::terminal_safe(name);
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
        && value.contains(['\r', '\n'])
    {
        return Err(UsageError::new(format!(
            "--forward-header {shown:?} has a value that holds a line break (CR or LF)"
        ))
        .with_hint("give the value on one line; a header cannot span lines"));
    }
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
        || reqwest::header::HeaderValue::from_str(value).is_err()
    {
        return Err(
            UsageError::new(format!("--forward-header {shown:?} is not a valid header"))
                .with_hint(HEADER_HINT),
        );
    }
    if FRAMING_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(UsageError::new(format!(
            "--forward-header {shown:?} cannot be set: cer frames and routes the request itself"
        ))
        .with_hint(
            "pass only headers the webhook reads; credentials such as Authorization belong in \
             --forward-header-file PATH, out of the process list",
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: `--forward-header 'Content-Length: 0'` made the webhook read empty bodies that
    // counted as delivered.
    #[test]
    fn headers_that_frame_or_route_the_request_are_refused() {
        for text in [
            "Content-Length: 0",
            "transfer-encoding: chunked",
            "Host: elsewhere",
            "Connection: close",
        ] {
            let err = header(text).unwrap_err().to_string();
            assert!(err.contains("cannot be set"), "{text}: {err}");
        }
        assert!(header("X-Token: abc").is_ok());
    }

    #[test]
    fn a_bad_header_is_named_without_its_value() {
        let err = header("Authorization secret-token")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret-token"), "{err}");
        let err = header("Bad Name: secret-token").unwrap_err().to_string();
        assert!(!err.contains("secret-token"), "{err}");
    }

    // Regression (issue 26): a value holding CR or LF was refused as "not a valid header", which
    // named the header but not what was wrong with its value.
    #[test]
    fn a_header_value_with_a_line_break_says_so_without_quoting_it() {
        for text in [
            "X-Token: s3cr3t\r\nInjected: 1",
            "X-Token: s3cr3t\nx",
            "X-Token: s3cr3t\rx",
        ] {
            let err = header(text).unwrap_err().to_string();
            assert!(err.contains("\"X-Token\""), "{err}");
            assert!(err.contains("CR or LF"), "{err}");
            assert!(
                !err.contains("s3cr3t") && !err.contains("Injected"),
                "{err}"
            );
        }
    }

    // Regression (issue 26): a mistyped `--forward-to` showed its scheme, which in
    // `name:password@host/…` is the user name.
    #[test]
    fn a_bad_forward_to_shows_no_part_of_itself() {
        for text in [
            "tok3n:s3cret@hooks.example/catch/1/k",
            "https://u:s3cret@",
            "hooks.example/s3cret",
            "ftp://u:s3cret@hooks.example/x",
        ] {
            let err = webhook_url(text).unwrap_err().to_string();
            for part in ["s3cret", "tok3n", "hooks", "u:"] {
                assert!(!err.contains(part), "{text}: {err}");
            }
        }
        let err = webhook_url("ftp://h/x").unwrap_err().to_string();
        assert!(err.contains("its scheme is ftp"), "{err}");
        assert!(webhook_url("http://127.0.0.1:3000/hook/s3cret").is_ok());
    }
}
