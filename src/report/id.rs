//! A call's `conversationSpaceId`, checked once wherever it comes from (a person's argument, a
//! notification, a summary, a report): it goes into a request path, a file name and onto the
//! terminal, so only the UUID shape GoTo documents passes.

use std::fmt;

/// A `conversationSpaceId`: 8-4-4-4-12 hexadecimal digits, in the letter case it was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(String);

impl ConversationId {
    /// The ID if `text` has the shape of one; nothing else is ever requested or stored.
    pub fn parse(text: &str) -> Option<Self> {
        Self::is_valid(text).then(|| Self(text.to_string()))
    }

    /// Whether `text` has the 8-4-4-4-12 hexadecimal shape of a UUID (either letter case).
    pub fn is_valid(text: &str) -> bool {
        let lengths = [8, 4, 4, 4, 12];
        let mut groups = text.split('-');
        let shaped = lengths.iter().all(|&len| {
            groups.next().is_some_and(|group| {
                group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit())
            })
        });
        shaped && groups.next().is_none()
    }

    /// The ID as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path of this call's report under the API's base. The ID needs no escaping: it is
    /// only hexadecimal digits and dashes.
    pub fn report_path(&self) -> String {
        format!("/call-events-report/v1/reports/{}", self.0)
    }

    /// Whether `other` names the same call: GoTo's UUIDs compare without regard to case.
    pub fn names(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ConversationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: an ID from a notification went into the request path as it was.
    #[test]
    fn only_uuids_are_ids() {
        for good in [
            "29a1c77a-e52a-3764-8606-8b02b1277be8",
            "29A1C77A-E52A-3764-8606-8B02B1277BE8",
        ] {
            assert!(ConversationId::is_valid(good), "{good}");
            assert_eq!(ConversationId::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "../../oauth/token",
            "a?b=c",
            "x\u{1b}[2J",
            "29a1c77a-e52a-3764-8606-8b02b1277be",
            "29a1c77a-e52a-3764-8606-8b02b1277be8-",
            "29a1c77a-e52a-3764-8606-8b02b1277be8-0000",
            "29a1c77ae52a-3764-8606-8b02b1277be8",
            "g9a1c77a-e52a-3764-8606-8b02b1277be8",
            "29a1c77a-e52a-3764-8606-8b02b1277bé",
        ] {
            assert!(!ConversationId::is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_path_is_the_reports_path_and_case_does_not_tell_calls_apart() {
        let id = ConversationId::parse("29a1c77a-e52a-3764-8606-8b02b1277be8").unwrap();
        assert_eq!(
            id.report_path(),
            "/call-events-report/v1/reports/29a1c77a-e52a-3764-8606-8b02b1277be8"
        );
        assert!(id.names("29A1C77A-E52A-3764-8606-8B02B1277BE8"));
        assert!(!id.names("29a1c77a-e52a-3764-8606-8b02b1277be9"));
    }
}
