//! A typed view of the few fields of a report summary that cer reads itself, apart from the
//! client that fetches summaries: rendering (`output`) and the glance read it without
//! depending on `api`.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

/// The few summary fields cer reads itself (to render a row, or to backfill); the item stays
/// a `Value` for output.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SummaryView {
    pub conversation_space_id: Option<String>,
    pub call_created: Option<Timestamp>,
    pub call_answered: Option<Timestamp>,
    pub call_ended: Option<Timestamp>,
    pub direction: Option<String>,
    pub caller_outcome: Option<String>,
    pub caller: Option<PartyView>,
    pub participants: Vec<PartyView>,
}

/// A caller or participant as a summary shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PartyView {
    pub name: Option<String>,
    pub number: Option<String>,
}

impl SummaryView {
    /// Reads what it can; a field of an unexpected type is left out instead of failing.
    pub fn of(item: &Value) -> Self {
        // Deserialized from the borrowed value: no copy of the item per row.
        Self::deserialize(item).unwrap_or_else(|_| Self::lenient(item))
    }

    /// The same, read straight from the item's JSON text as GoTo sent it, with no `Value`
    /// built unless a field of an unexpected type needs the lenient reading.
    pub fn of_text(item: &str) -> Self {
        serde_json::from_str(item).unwrap_or_else(|_| {
            serde_json::from_str::<Value>(item)
                .map(|value| Self::lenient(&value))
                .unwrap_or_default()
        })
    }

    fn lenient(item: &Value) -> Self {
        let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
        let time = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok())
        };
        Self {
            conversation_space_id: text("conversationSpaceId"),
            call_created: time("callCreated"),
            call_answered: time("callAnswered"),
            call_ended: time("callEnded"),
            direction: text("direction"),
            caller_outcome: text("callerOutcome"),
            caller: None,
            participants: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_summary_fields_from_the_fixture_shape() {
        let item = serde_json::json!({
            "conversationSpaceId": "702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f",
            "callCreated": "2026-09-30T15:04:30.185Z",
            "callEnded": "2026-09-30T15:09:10.933Z",
            "direction": "INBOUND",
            "caller": {"name": "PROBE CALLER", "number": "+12015550100", "type": {"value": "PHONE_NUMBER"}},
            "callerOutcome": "LEFT_DIAL_PLAN",
            "participants": [{"name": "Test Person 8625", "number": "8625"}]
        });
        let view = SummaryView::of(&item);
        assert_eq!(view.direction.as_deref(), Some("INBOUND"));
        assert_eq!(view.caller.unwrap().number.as_deref(), Some("+12015550100"));
        assert_eq!(
            view.participants[0].name.as_deref(),
            Some("Test Person 8625")
        );
        assert!(view.call_answered.is_none());
    }

    #[test]
    fn a_field_of_an_odd_type_does_not_lose_the_rest() {
        let item = serde_json::json!({"conversationSpaceId": "x", "participants": "odd"});
        assert_eq!(
            SummaryView::of(&item).conversation_space_id.as_deref(),
            Some("x")
        );
        assert_eq!(
            SummaryView::of_text(&item.to_string())
                .conversation_space_id
                .as_deref(),
            Some("x")
        );
    }
}
