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
    let find = |fields: &FieldDigests, name: &str| {
        fields
            .0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, digest)| *digest)
    };
    let mut changes = FieldChanges::default();
    for (name, digest) in &newer.0 {
        match find(older, name) {
            None => changes.added.push(name.clone()),
            // A value that is not JSON has no digest: taken as changed.
            Some(before) if before.is_none() || before != *digest => {
                changes.changed.push(name.clone());
            }
            Some(_) => {}
        }
    }
    changes.removed = older
        .0
        .iter()
        .filter(|(name, _)| find(newer, name).is_none())
        .map(|(name, _)| name.clone())
        .collect();
    changes
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
