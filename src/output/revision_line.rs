//! The line `listen --updates` prints on a terminal when a re-fetch brought post-call
//! analysis, naming the top-level fields that came (the diff `show` uses too):
//! `  ↻ b6ad7073 revision 2: added callReason, aiAnalysis; changed participants`.

use super::Palette;
use super::escape::terminal_safe;
use super::show::revisions::FieldChanges;
use crate::report::{FieldDigests, Report};

/// One line for a new revision of a call already printed, from the fields of the revision
/// before it; without them (the store could not give them), the line names no fields.
pub fn revision_line(
    report: &Report,
    revision: i64,
    previous: Option<&FieldDigests>,
    palette: Palette,
) -> String {
    let short: String = terminal_safe(report.id()).chars().take(8).collect();
    let short = if short.is_empty() {
        "?".to_string()
    } else {
        short
    };
    let arrow = palette.yellow("↻");
    match previous {
        Some(previous) => {
            let changes = changes(previous, &FieldDigests::of(report.text())).describe();
            format!("  {arrow} {short} revision {revision}: {changes}")
        }
        None => format!("  {arrow} {short} revision {revision}"),
    }
}

/// The top-level fields `newer` added, changed and removed, by name and digest of value.
fn changes(older: &FieldDigests, newer: &FieldDigests) -> FieldChanges {
    FieldChanges::between(&named(older), &named(newer))
}

fn named(fields: &FieldDigests) -> Vec<(&str, Option<i64>)> {
    fields
        .0
        .iter()
        .map(|(name, digest)| (name.as_str(), *digest))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(value: &serde_json::Value) -> Report {
        Report::parse(value.to_string()).unwrap()
    }

    #[test]
    fn names_what_came_what_changed_and_what_went() {
        let before = json!({"conversationSpaceId": "b6ad7073-be3a", "a": 1, "gone": true});
        let after = json!({"conversationSpaceId": "b6ad7073-be3a", "a": 2,
            "callReason": "billing", "aiAnalysis": {"sentiment": "POSITIVE"}});
        assert_eq!(
            revision_line(
                &report(&after),
                2,
                Some(&FieldDigests::of(&before.to_string())),
                Palette::new(false)
            ),
            "  ↻ b6ad7073 revision 2: added callReason, aiAnalysis; changed a; removed gone"
        );
    }

    #[test]
    fn without_the_revision_before_it_names_no_fields() {
        let after = json!({"conversationSpaceId": "b6ad7073-be3a", "callReason": "billing"});
        assert_eq!(
            revision_line(&report(&after), 4, None, Palette::new(false)),
            "  ↻ b6ad7073 revision 4"
        );
    }

    #[test]
    fn a_hostile_field_name_is_escaped() {
        let after = json!({"x\u{1b}[2J": 1});
        let line = revision_line(
            &report(&after),
            3,
            Some(&FieldDigests::of("{}")),
            Palette::new(false),
        );
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }
}
