//! What changed between two revisions of a report, by top-level field, and the line `listen
//! --updates` prints on a terminal when a re-fetch brought post-call analysis:
//! `  ↻ b6ad7073 revision 2: added callReason, aiAnalysis; changed participants`.

use serde_json::Value;

use super::Palette;
use super::escape::terminal_safe;

/// The top-level fields a revision added, changed and removed, each in the order of the
/// report that has them (the newer one for added and changed, the older one for removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl FieldChanges {
    /// Compares two reports field by field; a non-object report has no fields.
    pub fn between(previous: &Value, report: &Value) -> Self {
        let empty = serde_json::Map::new();
        let old = previous.as_object().unwrap_or(&empty);
        let new = report.as_object().unwrap_or(&empty);
        let mut changes = Self::default();
        for (name, value) in new {
            match old.get(name) {
                None => changes.added.push(name.clone()),
                Some(before) if before != value => changes.changed.push(name.clone()),
                Some(_) => {}
            }
        }
        changes.removed = old
            .keys()
            .filter(|name| !new.contains_key(*name))
            .cloned()
            .collect();
        changes
    }

    /// `added callReason, aiAnalysis; changed participants`, or `no field changed`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (verb, names) in [
            ("added", &self.added),
            ("changed", &self.changed),
            ("removed", &self.removed),
        ] {
            if !names.is_empty() {
                let names: Vec<String> = names
                    .iter()
                    .map(|n| terminal_safe(n).into_owned())
                    .collect();
                parts.push(format!("{verb} {}", names.join(", ")));
            }
        }
        if parts.is_empty() {
            "no field changed".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// One line for a new revision of a call already printed.
pub fn revision_line(report: &Value, revision: i64, previous: &Value, palette: Palette) -> String {
    let id = report
        .get("conversationSpaceId")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let short: String = terminal_safe(id).chars().take(8).collect();
    let changes = FieldChanges::between(previous, report).describe();
    format!(
        "  {} {short} revision {revision}: {changes}",
        palette.yellow("↻")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_what_came_what_changed_and_what_went() {
        let before = json!({"conversationSpaceId": "b6ad7073-be3a", "a": 1, "gone": true});
        let after = json!({"conversationSpaceId": "b6ad7073-be3a", "a": 2,
            "callReason": "billing", "aiAnalysis": {"sentiment": "POSITIVE"}});
        let changes = FieldChanges::between(&before, &after);
        assert_eq!(changes.added, ["callReason", "aiAnalysis"]);
        assert_eq!(changes.changed, ["a"]);
        assert_eq!(changes.removed, ["gone"]);
        assert_eq!(
            revision_line(&after, 2, &before, Palette::new(false)),
            "  ↻ b6ad7073 revision 2: added callReason, aiAnalysis; changed a; removed gone"
        );
    }

    #[test]
    fn a_hostile_field_name_is_escaped() {
        let after = json!({"x\u{1b}[2J": 1});
        let line = revision_line(&after, 3, &json!({}), Palette::new(false));
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }
}
