//! Which top-level fields each revision of a stored report brought (SPEC section 11: GoTo adds
//! post-call analysis later, and the store keeps every version): the difference of two
//! reports' top-level fields, and its line under `cer show`'s "Revisions".

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::super::escape::terminal_safe;

/// One stored revision of a report: its number (1 is the report as first stored), when cer
/// fetched it, and the report as GoTo sent it then.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Revision<'a> {
    pub number: u32,
    pub fetched_at: Timestamp,
    pub report: &'a Value,
}

/// The top-level fields one report added, changed and removed compared with the one before;
/// in the newer report's order (the older one's for removed fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl FieldChanges {
    /// Whether the two reports have the same top-level fields with the same values.
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// What `newer`'s fields (name and value, in order) added, changed and removed against
    /// `older`'s: the one comparison for `show`'s parsed revisions and for `listen --updates`'
    /// field digests.
    pub(crate) fn between<V: PartialEq>(older: &[(&str, V)], newer: &[(&str, V)]) -> Self {
        let find = |fields: &[(&str, V)], name: &str| fields.iter().position(|(n, _)| *n == name);
        let mut changes = FieldChanges::default();
        for (name, value) in newer {
            match find(older, name) {
                None => changes.added.push((*name).to_string()),
                Some(at) if older[at].1 != *value => changes.changed.push((*name).to_string()),
                Some(_) => {}
            }
        }
        changes.removed = older
            .iter()
            .filter(|(name, _)| find(newer, name).is_none())
            .map(|(name, _)| (*name).to_string())
            .collect();
        changes
    }

    /// `added callReason, aiAnalysis; changed participants`.
    pub(crate) fn describe(&self) -> String {
        if self.is_empty() {
            return "no field changed".to_string();
        }
        let parts: Vec<String> = [
            ("added", &self.added),
            ("changed", &self.changed),
            ("removed", &self.removed),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(verb, names)| {
            let names: Vec<String> = names
                .iter()
                .map(|n| terminal_safe(n).into_owned())
                .collect();
            format!("{verb} {}", names.join(", "))
        })
        .collect();
        parts.join("; ")
    }
}

/// Compares the top-level fields of two reports (a field that is not an object counts as
/// having none).
pub(crate) fn top_level_changes(older: &Value, newer: &Value) -> FieldChanges {
    FieldChanges::between(&fields_of(older), &fields_of(newer))
}

/// A report's top-level fields, name and value, in its order; none when it is not an object.
fn fields_of(report: &Value) -> Vec<(&str, &Value)> {
    report.as_object().map_or_else(Vec::new, |fields| {
        fields
            .iter()
            .map(|(name, value)| (name.as_str(), value))
            .collect()
    })
}

/// One line per revision: `revision 2 (fetched 15:57:00) added callReason, aiAnalysis`.
pub(crate) fn revision_lines(revisions: &[Revision<'_>], zone: &TimeZone) -> Vec<String> {
    let mut sorted: Vec<&Revision<'_>> = revisions.iter().collect();
    sorted.sort_by_key(|r| r.number);
    let mut lines = Vec::with_capacity(sorted.len());
    let mut before: Option<&Value> = None;
    for revision in sorted {
        let fetched = revision.fetched_at.to_zoned_datetime(zone.clone());
        let what = match before {
            None => "the report as first stored".to_string(),
            Some(older) => top_level_changes(older, revision.report).describe(),
        };
        lines.push(format!(
            "revision {} (fetched {}) {what}",
            revision.number,
            fetched.strftime("%Y-%m-%d %H:%M")
        ));
        before = Some(revision.report);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn added_changed_and_removed_fields_in_the_reports_order() {
        let older = json!({"a": 1, "b": [1], "c": "x", "gone": true});
        let newer =
            json!({"callReason": "billing", "a": 1, "b": [1, 2], "c": "x", "aiAnalysis": {}});
        let changes = top_level_changes(&older, &newer);
        assert_eq!(changes.added, ["callReason", "aiAnalysis"]);
        assert_eq!(changes.changed, ["b"]);
        assert_eq!(changes.removed, ["gone"]);
        assert_eq!(
            changes.describe(),
            "added callReason, aiAnalysis; changed b; removed gone"
        );
    }

    #[test]
    fn equal_reports_and_non_objects_change_nothing_or_everything() {
        let report = json!({"a": {"deep": [1, 2]}});
        assert!(top_level_changes(&report, &report).is_empty());
        assert_eq!(
            top_level_changes(&report, &report).describe(),
            "no field changed"
        );
        let from_nothing = top_level_changes(&Value::Null, &report);
        assert_eq!(from_nothing.added, ["a"]);
        // A nested change shows as its top-level field.
        let deeper = json!({"a": {"deep": [1, 3]}});
        assert_eq!(top_level_changes(&report, &deeper).changed, ["a"]);
    }

    #[test]
    fn lines_name_each_revision_by_what_it_brought() {
        let first = json!({"conversationSpaceId": "x", "participants": []});
        let second =
            json!({"conversationSpaceId": "x", "participants": [1], "callReason": "r\u{1b}[2J"});
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let revisions = [
            Revision {
                number: 2,
                fetched_at: at("2026-09-30T15:57:00Z"),
                report: &second,
            },
            Revision {
                number: 1,
                fetched_at: at("2026-09-30T15:54:50Z"),
                report: &first,
            },
        ];
        assert_eq!(
            revision_lines(&revisions, &TimeZone::UTC),
            [
                "revision 1 (fetched 2026-09-30 15:54) the report as first stored",
                "revision 2 (fetched 2026-09-30 15:57) added callReason; changed participants",
            ]
        );
    }
}
