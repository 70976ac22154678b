//! ANSI styles that collapse to plain text when colour is off, so callers never branch on it.

use std::fmt;

/// Colour on or off for one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    enabled: bool,
}

/// A piece of text with its style, printed with or without escape codes.
pub struct Styled<'a> {
    text: &'a str,
    code: &'static str,
    enabled: bool,
}

impl fmt::Display for Styled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.enabled {
            write!(f, "\x1b[{}m{}\x1b[0m", self.code, self.text)
        } else {
            f.write_str(self.text)
        }
    }
}

impl Palette {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn style<'a>(&self, code: &'static str, text: &'a str) -> Styled<'a> {
        Styled {
            text,
            code,
            enabled: self.enabled,
        }
    }

    pub fn error<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("1;31", text)
    }

    pub fn warning<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("1;33", text)
    }

    pub fn hint<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("1;36", text)
    }

    pub fn bold<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("1", text)
    }

    pub fn dim<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("2", text)
    }

    pub fn green<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("32", text)
    }

    pub fn red<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("31", text)
    }

    pub fn yellow<'a>(&self, text: &'a str) -> Styled<'a> {
        self.style("33", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_when_disabled() {
        assert_eq!(Palette::new(false).error("error:").to_string(), "error:");
    }

    #[test]
    fn ansi_when_enabled() {
        assert_eq!(
            Palette::new(true).error("error:").to_string(),
            "\x1b[1;31merror:\x1b[0m"
        );
    }
}
