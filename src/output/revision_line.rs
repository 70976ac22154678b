//! The line `listen --updates` prints on a terminal when a re-fetch brought post-call
//! analysis, naming the top-level fields that came (the diff `show` uses too):
//! `  ↻ b6ad7073 revision 2: added callReason, aiAnalysis; changed participants`.

use serde_json::Value;

use super::Palette;
use super::escape::terminal_safe;
use super::show::revisions::top_level_changes;

/// One line for a new revision of a call already printed.
pub fn revision_line(report: &Value, revision: i64, previous: &Value, palette: Palette) -> String {
    let id = report
        .get("conversationSpaceId")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let short: String = terminal_safe(id).chars().take(8).collect();
    let changes = top_level_changes(previous, report).describe();
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
