//! A caller or callee as people read it, `Name (number) +2`, fitted into a number of columns
//! by shortening the name first: a phone number is never cut. The summaries table, `listen`'s
//! call line and `cer show` all fit parties this way.

use super::escape::terminal_safe;
use super::text::{shorten, width};
use serde_json::Value;

use crate::summary_view::PartyView;

/// What GoTo puts in place of a hidden caller's number.
const ANONYMOUS: &str = "Anonymous";

/// How a hidden number reads: in brackets after a name it must not look like part of it.
pub(crate) const WITHHELD: &str = "withheld number";

/// `text` trimmed, with every run of spaces inside it made one: `GRAND PR     TX` is written
/// the same way wherever a name appears (other whitespace is left for escaping to show).
pub(crate) fn one_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.trim().split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A caller or callee cell before fitting: escaped name and number, and how many more parties.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartyCell {
    pub name: String,
    pub number: String,
    pub more: usize,
}

impl PartyCell {
    pub fn of(party: Option<&PartyView>, more: usize) -> Self {
        Self::named(
            party.and_then(|p| p.name.as_deref()),
            party.and_then(|p| p.number.as_deref()),
            more,
        )
    }

    /// From a name and a number as GoTo sent them: trimmed, inner runs of spaces collapsed,
    /// escaped, GoTo's `Anonymous` number read as a withheld one, and the name dropped when it
    /// only repeats the number.
    pub fn named(name: Option<&str>, number: Option<&str>, more: usize) -> Self {
        let clean = |v: Option<&str>| terminal_safe(&one_space(v.unwrap_or(""))).into_owned();
        let (name, number) = (clean(name), clean(number));
        let number = if number.eq_ignore_ascii_case(ANONYMOUS) {
            WITHHELD.to_string()
        } else {
            number
        };
        let name = if name == number || name.eq_ignore_ascii_case(ANONYMOUS) {
            String::new()
        } else {
            name
        };
        Self { name, number, more }
    }

    /// A participant of a report (top level or inside a call state): the outside party of a
    /// phone-number leg (`caller` or `callee`), else the line, agent or number itself.
    pub fn of_participant(participant: &Value, more: usize) -> Self {
        let kind = participant.get("type").unwrap_or(&Value::Null);
        fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        }
        let outside = kind.get("caller").or_else(|| kind.get("callee"));
        let (name, number) = match outside {
            Some(party) => (text(party, "name"), text(party, "number")),
            None => (
                text(kind, "name"),
                text(kind, "extensionNumber").or_else(|| text(kind, "number")),
            ),
        };
        Self::named(name, number, more)
    }

    /// Nothing known about this party.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.number.is_empty()
    }

    fn suffix(&self) -> String {
        if self.more > 0 {
            format!(" +{}", self.more)
        } else {
            String::new()
        }
    }

    /// Columns it takes uncut.
    pub fn full(&self) -> usize {
        width(&self.fitted(usize::MAX))
    }

    /// Columns it needs keeping `floor` columns of name (the number is never cut).
    pub fn needs(&self, floor: usize) -> usize {
        let number = width(&self.number);
        let least = match (self.number.is_empty(), self.name.is_empty()) {
            (true, _) => width(&self.name).min(floor.max(6)),
            (false, true) => number,
            (false, false) if floor == 0 => number,
            (false, false) => number + 3 + floor,
        };
        least.min(self.full())
    }

    /// Like [`PartyCell::needs`], keeping the `+N` of more parties too.
    pub fn needs_with_count(&self, floor: usize) -> usize {
        (self.needs(floor) + width(&self.suffix())).min(self.full())
    }

    /// The cell in at most `columns` (more only when the number alone is wider).
    pub fn fitted(&self, columns: usize) -> String {
        let suffix = self.suffix();
        let whole = match (self.name.is_empty(), self.number.is_empty()) {
            (false, false) => format!("{} ({}){suffix}", self.name, self.number),
            (false, true) => format!("{}{suffix}", self.name),
            (true, _) => format!("{}{suffix}", self.number),
        };
        if width(&whole) <= columns || self.number.is_empty() && self.name.is_empty() {
            return whole;
        }
        if self.number.is_empty() {
            return shorten(&self.name, columns);
        }
        let around = width(&self.number) + 3 + width(&suffix);
        if !self.name.is_empty() && columns >= around + 2 {
            let name = shorten(&self.name, columns - around);
            return format!("{name} ({}){suffix}", self.number);
        }
        let bare = format!("{}{suffix}", self.number);
        if width(&bare) <= columns {
            bare
        } else {
            self.number.clone()
        }
    }
}

/// Splits `room` between the two party columns: each gets what it needs, then the rest goes
/// to both in proportion to how much more they could use, up to their full width.
pub(crate) fn share(room: usize, needs: (usize, usize), full: (usize, usize)) -> (usize, usize) {
    let want = (
        full.0.saturating_sub(needs.0),
        full.1.saturating_sub(needs.1),
    );
    let spare = room.saturating_sub(needs.0 + needs.1);
    if spare >= want.0 + want.1 {
        return (needs.0 + want.0, needs.1 + want.1);
    }
    let first = (spare * want.0).checked_div(want.0 + want.1).unwrap_or(0);
    (needs.0 + first, needs.1 + (spare - first).min(want.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_runs_of_spaces_read_as_one() {
        let cell = PartyCell::named(Some("  GRAND PR     TX "), Some("+12015550100"), 0);
        assert_eq!(cell.fitted(usize::MAX), "GRAND PR TX (+12015550100)");
    }

    #[test]
    fn an_anonymous_number_reads_as_withheld_not_as_a_name() {
        let cell = PartyCell::named(Some("PROBE CALLER"), Some("Anonymous"), 0);
        assert_eq!(cell.fitted(usize::MAX), "PROBE CALLER (withheld number)");
        let nameless = PartyCell::named(Some("Anonymous"), Some("Anonymous"), 0);
        assert_eq!(nameless.fitted(usize::MAX), "withheld number");
    }
}
