//! Pretty JSON for a person at a terminal, coloured like `jq` and `gh` (keys, strings, numbers,
//! literals): GoTo's own text re-indented token by token, so it is exactly the JSON, only laid
//! out and painted. Strings stay JSON-escaped, so nothing GoTo sent can reach the terminal as
//! a control code. For a pipe, [`push_compact`] puts a document on one line the same way.

use std::borrow::Cow;

use super::Palette;

const KEY: &[u8] = b"\x1b[1;34m";
const STRING: &[u8] = b"\x1b[32m";
const NUMBER: &[u8] = b"\x1b[36m";
const LITERAL: &[u8] = b"\x1b[33m";
const NULL: &[u8] = b"\x1b[2m";
const RESET: &[u8] = b"\x1b[0m";

/// Appends `raw`, one valid JSON document exactly as GoTo sent it, re-indented the way
/// serde_json's pretty printer lays JSON out (two spaces, `"key": value`, `[]` and `{}` when
/// empty) and coloured when `palette` allows. Only whitespace between tokens changes: every
/// string keeps GoTo's escapes, every number its spelling, every object its order. One pass
/// over the text, no tree of values.
pub fn push_pretty(raw: &str, palette: Palette, out: &mut String) {
    let bytes = raw.as_bytes();
    let paint = |out: &mut String, colour: &[u8], token: &str| {
        if palette.enabled() {
            out.push_str(ascii(colour));
            out.push_str(token);
            out.push_str(ascii(RESET));
        } else {
            out.push_str(token);
        }
    };
    // Whether each open container is an object, and whether a key comes next.
    let (mut open, mut key_next) = (Vec::<bool>::new(), false);
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'{' | b'[' => {
                let close = if byte == b'{' { "}" } else { "]" };
                let next = skip_space(bytes, at + 1);
                out.push(char::from(byte));
                if bytes.get(next) == Some(&close.as_bytes()[0]) {
                    out.push_str(close);
                    at = next + 1;
                    continue;
                }
                open.push(byte == b'{');
                key_next = byte == b'{';
                new_line(out, open.len());
            }
            b'}' | b']' => {
                open.pop();
                new_line(out, open.len());
                out.push(char::from(byte));
            }
            b',' => {
                out.push(',');
                new_line(out, open.len());
                key_next = open.last() == Some(&true);
            }
            b':' => {
                out.push_str(": ");
                key_next = false;
            }
            b'"' => {
                let end = string_end(bytes, at);
                paint(out, if key_next { KEY } else { STRING }, &raw[at..end]);
                at = end;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => {
                let end = scalar_end(bytes, at);
                let colour = match byte {
                    b't' | b'f' => LITERAL,
                    b'n' => NULL,
                    _ => NUMBER,
                };
                paint(out, colour, &raw[at..end]);
                at = end;
                continue;
            }
        }
        at += 1;
    }
}

fn ascii(code: &[u8]) -> &str {
    std::str::from_utf8(code).unwrap_or_default()
}

fn new_line(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// Where the string opening at `start` ends (after its closing quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut escaped = false;
    for (at, &byte) in bytes.iter().enumerate().skip(start + 1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return at + 1,
            _ => {}
        }
    }
    bytes.len()
}

/// Where the number or literal starting at `start` ends.
fn scalar_end(bytes: &[u8], start: usize) -> usize {
    let len = bytes[start..]
        .iter()
        .position(|b| matches!(b, b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(bytes.len() - start);
    start + len
}

/// `raw` on one line as [`push_compact`] writes it, borrowed when it already is: a report
/// GoTo sent compact is printed without a copy.
pub fn compact(raw: &str) -> Cow<'_, str> {
    let mut in_string = false;
    let mut escaped = false;
    let spaced = raw.bytes().any(|byte| {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            return false;
        }
        in_string = byte == b'"';
        matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
    });
    if !spaced {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    push_compact(raw, &mut out);
    Cow::Owned(out)
}

/// Appends `raw`, one valid JSON document exactly as GoTo sent it, to `out` on one line: the
/// whitespace between tokens is dropped and every other byte kept, so GoTo's key order,
/// escapes and number spellings pass through untouched. Valid JSON has no raw line break
/// inside a string, so the result is one NDJSON line. One pass, no allocation per token.
pub fn push_compact(raw: &str, out: &mut String) {
    let (mut in_string, mut escaped, mut run_start) = (false, false, 0);
    for (at, byte) in raw.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            // ASCII, so `at` is a character boundary.
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.push_str(&raw[run_start..at]);
                run_start = at + 1;
            }
            _ => {}
        }
    }
    out.push_str(&raw[run_start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn compact(raw: &str) -> String {
        let mut out = String::new();
        push_compact(raw, &mut out);
        out
    }

    #[test]
    fn compacting_drops_whitespace_between_tokens_only() {
        let raw = "{\n  \"name\" : \"Test  Person\\t8655\",\r\n\t\"n\": [ 1.50 , -0 ],\n  \"q\": \"a \\\" b\\\\\" }";
        let got = compact(raw);
        assert_eq!(
            got,
            r#"{"name":"Test  Person\t8655","n":[1.50,-0],"q":"a \" b\\"}"#
        );
        let parsed: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&got).unwrap(), parsed);
        assert_eq!(compact(r#"{"a":"\u001b[2J"}"#), r#"{"a":"\u001b[2J"}"#);
        assert_eq!(compact(" \"\" "), r#""""#);
    }

    #[test]
    fn a_compact_document_is_borrowed_and_a_spaced_one_compacted() {
        let tight = r#"{"a":"x y","b":[1,2]}"#;
        assert!(matches!(super::compact(tight), Cow::Borrowed(t) if t == tight));
        let spaced = "{\"a\": \"x y\",\n \"b\": [1, 2]}";
        assert_eq!(super::compact(spaced), tight);
        assert_eq!(super::compact(r#""a\" b""#), r#""a\" b""#);
    }

    #[test]
    fn compacting_matches_serde_json_on_a_pretty_document() {
        let value: Value = serde_json::from_str(
            r#"{"id":"29a1 c77a","list":[{"x":null,"y":true},[],{}],"n":12345678901234567890,"u":"é ✓"}"#,
        )
        .unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(compact(&pretty), serde_json::to_string(&value).unwrap());
    }

    fn pretty(raw: &str, palette: Palette) -> String {
        let mut out = String::new();
        push_pretty(raw, palette, &mut out);
        out
    }

    #[test]
    fn re_indents_like_serde_json_keeping_gotos_text() {
        let raw = r#" { "id" :"29a1 c77a","list":[{"x":null,"y":true},[ ],{ }, [1,[2, {}]]],
            "n":12345678901234567890, "f": -1.50, "u":"é ✓ \" ] , }", "e": {} } "#;
        let value: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(
            pretty(raw, Palette::new(false)),
            serde_json::to_string_pretty(&value).unwrap()
        );
        // GoTo's escapes and spellings stay as they were; serde_json would rewrite them.
        assert_eq!(
            pretty(r#"{"a":"\u00e9\/","b":1.0E2}"#, Palette::new(false)),
            "{\n  \"a\": \"\\u00e9\\/\",\n  \"b\": 1.0E2\n}"
        );
        assert_eq!(pretty("[]", Palette::new(false)), "[]");
        assert_eq!(pretty("7", Palette::new(false)), "7");
    }

    #[test]
    fn paints_keys_strings_numbers_and_literals_around_the_same_json() {
        let raw = r#"{"id":"a\u001b[31mb","n":1.50,"ok":true,"none":null,"list":[2, false]}"#;
        let painted = pretty(raw, Palette::new(true));
        assert!(painted.contains("\x1b[1;34m\"id\"\x1b[0m: \x1b[32m\"a\\u001b[31mb\"\x1b[0m"));
        assert!(painted.contains("\x1b[36m1.50\x1b[0m"));
        assert!(painted.contains("\x1b[33mtrue\x1b[0m"));
        assert!(painted.contains("\x1b[33mfalse\x1b[0m"));
        assert!(painted.contains("\x1b[2mnull\x1b[0m"));
        let stripped = painted
            .replace("\x1b[0m", "")
            .replace("\x1b[1;34m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[2m", "");
        assert_eq!(stripped, pretty(raw, Palette::new(false)));
    }
}
