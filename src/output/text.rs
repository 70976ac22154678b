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
}
