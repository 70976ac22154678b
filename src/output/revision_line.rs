//! The line `listen --updates` prints on a terminal when a re-fetch brought post-call
//! analysis, naming the top-level fields that came (the diff `show` uses too):
//! `  ↻ b6ad7073 revision 2: added callReason, aiAnalysis; changed participants`.

use super::Palette;
use super::escape::terminal_safe;
use super::show::revisions::FieldChanges;
use serde_json::value::RawValue;

use crate::report::{Report, same_json, top_level_fields};

/// One line for a new revision of a call already printed; without the revision before it
/// (the store could not give it back), the line names no fields.
pub fn revision_line(
    report: &Report,
    revision: i64,
    previous: Option<&str>,
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
            let changes = changes(previous, report.text()).describe();
            format!("  {arrow} {short} revision {revision}: {changes}")
        }
        None => format!("  {arrow} {short} revision {revision}"),
    }
}

/// The top-level fields `newer` added, changed and removed, from the two texts: each field
/// compared where it lies, without a tree of either report.
fn changes(older: &str, newer: &str) -> FieldChanges {
    let (old, new) = (top_level_fields(older), top_level_fields(newer));
    fn find<'a>(fields: &[(String, &'a RawValue)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, raw)| raw.get())
    }
    let mut changes = FieldChanges::default();
    for (name, value) in &new {
        match find(&old, name) {
            None => changes.added.push(name.clone()),
            Some(before) if !same_json(before, value.get()) => changes.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    changes.removed = old
        .iter()
        .filter(|(name, _)| find(&new, name).is_none())
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
                Some(&before.to_string()),
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
        let line = revision_line(&report(&after), 3, Some("{}"), Palette::new(false));
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }
}
