//! Reading what clients send (JSON bodies, query strings) strictly, turning every mistake into
//! the 400/415 answer GoTo would give rather than a panic or a silent default.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use super::errors::ApiError;

/// The JSON object body of a POST/PUT that must be `application/json`.
pub(crate) fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type must be application/json",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "The request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// All `name=value` pairs of a query string, in order, repeats kept.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The single value of a query parameter; a repeated one is a 400.
pub(crate) fn single<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    let mut found = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(ApiError::bad_field(name, "must be given at most once"));
    }
    Ok(first)
}

/// A required, non-empty query parameter.
pub(crate) fn required<'a>(pairs: &'a [(String, String)], name: &str) -> Result<&'a str, ApiError> {
    match single(pairs, name)? {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::bad_field(name, "is required")),
    }
}

/// `pageSize`: 1..=1000, default 100.
pub(crate) fn page_size(pairs: &[(String, String)]) -> Result<usize, ApiError> {
    match single(pairs, "pageSize")? {
        None => Ok(100),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_field(
                "pageSize",
                "must be an integer between 1 and 1000",
            )),
        },
    }
}

/// Where a page starts: 0 without `pageMarker`, else what `decode` reads from the marker this
/// list handed out (a marker it cannot read is a 400, as GoTo answers one).
pub(crate) fn page_start(
    pairs: &[(String, String)],
    decode: impl Fn(&str) -> Option<usize>,
) -> Result<usize, ApiError> {
    match single(pairs, "pageMarker")? {
        None => Ok(0),
        Some(marker) => decode(marker)
            .ok_or_else(|| ApiError::bad_field("pageMarker", "is not a valid page marker")),
    }
}

/// A required non-empty string field of a JSON body.
pub(crate) fn string_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, ApiError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::bad_field(name, "is required"))
        }
        Some(_) => Err(ApiError::bad_field(name, "must be a string")),
    }
}

/// An optional array-of-strings field of a JSON body (`None` when absent or null).
pub(crate) fn string_list(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(ApiError::bad_field(
                    name,
                    "must contain only non-empty strings",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_field(name, "must be an array of strings")),
    }
}
