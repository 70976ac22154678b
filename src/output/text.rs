//! Display width on a terminal, not bytes or chars: East-Asian wide characters and emoji take
//! two columns, combining marks none. `unicode-width` knows the Unicode tables (and is already
//! in the tree through clap and indicatif); cutting happens only between grapheme clusters
//! (`unicode-segmentation`), so an emoji sequence or an accent is never split in half.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Columns `text` takes on a terminal.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` columns, marking a cut with `…`.
pub fn shorten(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        let w = width(grapheme);
        if used + w > max - 1 {
            break;
        }
        kept.push_str(grapheme);
        used += w;
    }
    kept.push('…');
    kept
}

/// `text` followed by spaces up to `columns` (nothing added when it is already as wide).
pub fn pad(text: &str, columns: usize) -> String {
    let w = width(text);
    let mut padded = String::with_capacity(text.len() + columns.saturating_sub(w));
    padded.push_str(text);
    padded.extend(std::iter::repeat_n(' ', columns.saturating_sub(w)));
    padded
}

/// `text` preceded by spaces up to `columns`.
pub fn pad_left(text: &str, columns: usize) -> String {
    let mut padded: String =
        std::iter::repeat_n(' ', columns.saturating_sub(width(text))).collect();
    padded.push_str(text);
    padded
}

/// `1,234,567`: counts people read at a glance.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A line that may carry cer's own colour codes (`ESC[…m`; text from GoTo has none left once
/// escaped) cut to at most `columns` visible columns, marking a cut with `…` and closing any
/// colour left open, so a line never wraps on a terminal.
pub fn cut_styled(line: &str, columns: usize) -> String {
    if width(&strip_styles(line)) <= columns {
        return line.to_string();
    }
    let mut kept = String::with_capacity(line.len());
    let (mut used, mut styled, mut rest) = (0, false, line);
    while !rest.is_empty() {
        if let Some(code) = leading_style(rest) {
            kept.push_str(code);
            styled = true;
            rest = &rest[code.len()..];
            continue;
        }
        let Some(grapheme) = rest.graphemes(true).next() else {
            break;
        };
        let w = width(grapheme);
        if used + w + 1 > columns {
            break;
        }
        kept.push_str(grapheme);
        used += w;
        rest = &rest[grapheme.len()..];
    }
    if columns > 0 {
        kept.push('…');
    }
    if styled {
        kept.push_str("\x1b[0m");
    }
    kept
}

/// `line` without cer's colour codes: what a person sees of it.
pub fn strip_styles(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('\x1b') {
        plain.push_str(&rest[..at]);
        rest = &rest[at..];
        match leading_style(rest) {
            Some(code) => rest = &rest[code.len()..],
            None => {
                plain.push('\x1b');
                rest = &rest[1..];
            }
        }
    }
    plain.push_str(rest);
    plain
}

/// The `ESC[…m` colour code `text` starts with, if it starts with one.
fn leading_style(text: &str) -> Option<&str> {
    let body = text.strip_prefix("\x1b[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (body.as_bytes().get(end) == Some(&b'm')).then(|| &text[..end + 3])
}

/// `text` broken into lines of at most `columns` columns at spaces; a word wider than a whole
/// line is cut between grapheme clusters. Never returns an empty list.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let gap = usize::from(!line.is_empty());
        if width(&line) + gap + width(word) <= columns {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for grapheme in word.graphemes(true) {
            if width(&line) + width(grapheme) > columns && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line.push_str(grapheme);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("山田太郎"), 8);
        assert_eq!(width("😀"), 2);
        assert_eq!(width("e\u{301}"), 1);
    }

    #[test]
    fn shortening_counts_columns_and_keeps_clusters_whole() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ab", 4), "ab");
        assert_eq!(shorten("山田太郎", 6), "山田…");
        assert_eq!(width(&shorten("山田太郎", 6)), 5);
        assert_eq!(shorten("👩‍👩‍👧 family", 3), "👩‍👩‍👧…");
        assert_eq!(shorten("abc", 0), "");
    }

    #[test]
    fn padding_reaches_the_column_count() {
        assert_eq!(pad("山", 4), "山  ");
        assert_eq!(pad_left("7", 3), "  7");
        assert_eq!(pad("toolong", 3), "toolong");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(3610), "3,610");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
    #[test]
    fn styled_lines_are_cut_by_what_shows() {
        let line = "\x1b[1mab\x1b[0m cdef";
        assert_eq!(cut_styled(line, 7), line);
        assert_eq!(cut_styled(line, 5), "\x1b[1mab\x1b[0m c…\x1b[0m");
        assert_eq!(width(&strip_styles(&cut_styled(line, 5))), 5);
        assert_eq!(cut_styled("山田太郎", 5), "山田…");
        assert_eq!(strip_styles("a\x1b[31mb\x1b[0m\x1bc"), "ab\x1bc");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_only_overlong_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("山田太郎 x", 5), ["山田", "太郎", "x"]);
        for line in wrap("a very long sentence with 山田太郎 and 😀😀😀 in it", 6) {
            assert!(width(&line) <= 6, "{line}");
        }
    }
}
