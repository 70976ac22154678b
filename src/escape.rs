//! Text from GoTo or the network is untrusted: a caller ID can carry `ESC]0;…BEL`, `ESC[2J` or a
//! newline. Everything such text shows on a terminal (or in a stderr message) passes through
//! [`terminal_safe`], which makes control characters visible instead of letting them act.
//! `--json` output never does: data stays byte-exact.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1), the bidirectional overrides and the
/// invisible format characters written as escapes (`\e`, `\n`, `\u{9b}`, `\u{200b}`…), so it
/// prints as one inert line that shows everything it holds.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => safe.push_str("\\n"),
            '\r' => safe.push_str("\\r"),
            '\t' => safe.push_str("\\t"),
            '\x1b' => safe.push_str("\\e"),
            c if needs_escape(c) => {
                let _ = write!(safe, "\\u{{{:x}}}", u32::from(c));
            }
            c => safe.push(c),
        }
    }
    Cow::Owned(safe)
}

fn needs_escape(c: char) -> bool {
    // U+202A..U+202E and U+2066..U+2069 reorder what follows them on screen; the others take
    // no room (zero-width space, directional marks, word joiner, invisible operators, BOM) or break
    // the line (U+2028, U+2029) and so hide or fake text. U+200C and U+200D stay: emoji sequences
    // and Persian words need the joiners.
    c.is_control()
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || matches!(
            c,
            '\u{200b}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{feff}'
        )
        || ('\u{2028}'..='\u{2029}').contains(&c)
        || ('\u{2060}'..='\u{2064}').contains(&c)
        || c == '\u{00ad}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            terminal_safe("Zoë 山田 📞"),
            Cow::Borrowed("Zoë 山田 📞")
        ));
    }

    #[test]
    fn escapes_title_clear_screen_newline_and_c1() {
        let hostile = "A\x1b]0;pwned\x07B\x1b[2J\nC\u{9b}D\u{202e}E";
        assert_eq!(
            terminal_safe(hostile),
            "A\\e]0;pwned\\u{7}B\\e[2J\\nC\\u{9b}D\\u{202e}E"
        );
    }

    #[test]
    fn invisible_format_characters_are_shown_not_hidden() {
        let hidden = "a\u{200b}b\u{200e}c\u{200f}d\u{2028}e\u{feff}f\u{2029}g\u{2060}h";
        assert_eq!(
            terminal_safe(hidden),
            "a\\u{200b}b\\u{200e}c\\u{200f}d\\u{2028}e\\u{feff}f\\u{2029}g\\u{2060}h"
        );
        // An emoji sequence keeps its joiner.
        assert_eq!(terminal_safe("👩\u{200d}💻"), "👩\u{200d}💻");
    }
}
