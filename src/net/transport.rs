//! What went wrong below HTTP, said in one line a user can act on and safe to log.

/// A one-line reason for a transport error, without the URL's query (it may name account keys
/// in logs users share) but with the innermost cause, which is the useful part.
pub fn describe_transport(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off"
    } else {
        "request failed"
    };
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let host = err
        .url()
        .map(|u| format!(" ({})", u.host_str().unwrap_or("?")))
        .unwrap_or_default();
    format!("{kind}{host}: {source}")
}
