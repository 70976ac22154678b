//! Pretty JSON for a person at a terminal, coloured like `jq` and `gh` (keys, strings, numbers,
//! literals), written by serde_json itself so the text is exactly the JSON, only painted.
//! Strings stay JSON-escaped, so nothing GoTo sent can reach the terminal as a control code.
//! For a pipe, [`push_compact`] puts a document GoTo sent on one line without parsing it.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{Formatter, PrettyFormatter};

use super::Palette;

const KEY: &[u8] = b"\x1b[1;34m";
const STRING: &[u8] = b"\x1b[32m";
const NUMBER: &[u8] = b"\x1b[36m";
const LITERAL: &[u8] = b"\x1b[33m";
const NULL: &[u8] = b"\x1b[2m";
const RESET: &[u8] = b"\x1b[0m";

/// `value` pretty-printed, coloured when `palette` allows, with a final newline.
pub fn pretty(value: &Value, palette: Palette) -> serde_json::Result<String> {
    let mut text = if palette.enabled() {
        let mut bytes = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, Painter::default());
        value.serialize(&mut serializer)?;
        String::from_utf8(bytes).map_err(|e| serde::ser::Error::custom(e.to_string()))?
    } else {
        serde_json::to_string_pretty(value)?
    };
    text.push('\n');
    Ok(text)
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

/// serde_json's pretty layout with colour codes around each token.
#[derive(Default)]
struct Painter {
    layout: PrettyFormatter<'static>,
    in_key: bool,
}

impl Painter {
    fn painted<W: ?Sized + Write>(
        writer: &mut W,
        colour: &[u8],
        token: impl FnOnce(&mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        writer.write_all(colour)?;
        token(writer)?;
        writer.write_all(RESET)
    }
}

impl Formatter for Painter {
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        Self::painted(w, NULL, |w| w.write_all(b"null"))
    }

    fn write_bool<W: ?Sized + Write>(&mut self, w: &mut W, value: bool) -> io::Result<()> {
        let text: &[u8] = if value { b"true" } else { b"false" };
        Self::painted(w, LITERAL, |w| w.write_all(text))
    }

    fn write_i64<W: ?Sized + Write>(&mut self, w: &mut W, value: i64) -> io::Result<()> {
        Self::painted(w, NUMBER, |w| write!(w, "{value}"))
    }

    fn write_u64<W: ?Sized + Write>(&mut self, w: &mut W, value: u64) -> io::Result<()> {
        Self::painted(w, NUMBER, |w| write!(w, "{value}"))
    }

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        let layout = &mut self.layout;
        Self::painted(w, NUMBER, |w| layout.write_f64(w, value))
    }

    fn write_number_str<W: ?Sized + Write>(&mut self, w: &mut W, value: &str) -> io::Result<()> {
        Self::painted(w, NUMBER, |w| w.write_all(value.as_bytes()))
    }

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.in_key { KEY } else { STRING })?;
        w.write_all(b"\"")
    }

    fn end_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\"")?;
        w.write_all(RESET)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_array(w)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_array(w)
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.layout.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_array_value(w)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_object(w)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object(w)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.in_key = true;
        self.layout.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.layout.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn compacting_matches_serde_json_on_a_pretty_document() {
        let value: Value = serde_json::from_str(
            r#"{"id":"29a1 c77a","list":[{"x":null,"y":true},[],{}],"n":12345678901234567890,"u":"é ✓"}"#,
        )
        .unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(compact(&pretty), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn paints_keys_strings_numbers_and_literals_around_the_same_json() {
        let value: Value = serde_json::from_str(
            r#"{"id":"a\u001b[31mb","n":1.50,"ok":true,"none":null,"list":[2]}"#,
        )
        .unwrap();
        let painted = pretty(&value, Palette::new(true)).unwrap();
        assert!(painted.contains("\x1b[1;34m\"id\"\x1b[0m: \x1b[32m\"a\\u001b[31mb\"\x1b[0m"));
        assert!(painted.contains("\x1b[36m1.50\x1b[0m"));
        assert!(painted.contains("\x1b[33mtrue\x1b[0m"));
        assert!(painted.contains("\x1b[2mnull\x1b[0m"));
        let stripped = painted
            .replace("\x1b[0m", "")
            .replace("\x1b[1;34m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[2m", "");
        assert_eq!(stripped, pretty(&value, Palette::new(false)).unwrap());
    }
}
