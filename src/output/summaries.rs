//! How report summaries look: an aligned table on a terminal, tab-separated values in a pipe,
//! or the raw items as NDJSON. Rows are rendered page by page, so memory stays flat.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Palette;
use crate::api::reports::{PartyView, SummaryView};

/// The three shapes summaries can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    Table,
    Tsv,
    Json,
}

/// Column widths of the terminal table; fixed, so pages stream without buffering.
const WIDTHS: [usize; 6] = [19, 8, 8, 14, 28, 28];
const HEADERS: [&str; 7] = [
    "START", "DURATION", "DIR", "OUTCOME", "CALLER", "CALLEE", "ID",
];

/// Renders summary items into lines of text.
pub struct SummaryRenderer {
    format: SummaryFormat,
    zone: TimeZone,
    palette: Palette,
}

impl SummaryRenderer {
    pub fn new(format: SummaryFormat, zone: TimeZone, palette: Palette) -> Self {
        Self {
            format,
            zone,
            palette,
        }
    }

    /// The table header, for the table format only.
    pub fn header(&self) -> Option<String> {
        (self.format == SummaryFormat::Table).then(|| {
            let cells: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
            format!("{}\n", self.palette.bold(&pad_row(&cells)))
        })
    }

    /// Appends one item's line to `buffer`.
    pub fn render(&self, item: &Value, buffer: &mut String) {
        match self.format {
            SummaryFormat::Json => buffer.push_str(&item.to_string()),
            SummaryFormat::Tsv => buffer.push_str(&self.tsv_row(&SummaryView::of(item))),
            SummaryFormat::Table => buffer.push_str(&self.table_row(&SummaryView::of(item))),
        }
        buffer.push('\n');
    }

    fn tsv_row(&self, view: &SummaryView) -> String {
        let cells = [
            view.call_created.map(|t| t.to_string()).unwrap_or_default(),
            duration_of(view).map(|d| d.to_string()).unwrap_or_default(),
            text(&view.direction),
            text(&view.caller_outcome),
            party(view.caller.as_ref()),
            callees(&view.participants),
            text(&view.conversation_space_id),
        ];
        cells
            .map(|cell| cell.replace(['\t', '\n', '\r'], " "))
            .join("\t")
    }

    fn table_row(&self, view: &SummaryView) -> String {
        let start = view
            .call_created
            .map(|t| {
                t.to_zoned_datetime(self.zone.clone())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let cells = vec![
            start,
            duration_of(view).map(human_duration).unwrap_or_default(),
            text(&view.direction),
            text(&view.caller_outcome),
            party(view.caller.as_ref()),
            callees(&view.participants),
            text(&view.conversation_space_id),
        ];
        let row = pad_row(&cells);
        match view.caller_outcome.as_deref() {
            Some("MISSED") => self.palette.red(&row).to_string(),
            Some("VOICEMAIL") => self.palette.yellow(&row).to_string(),
            _ => row,
        }
    }
}

fn pad_row(cells: &[String]) -> String {
    let mut row = String::new();
    for (i, cell) in cells.iter().enumerate() {
        match WIDTHS.get(i) {
            Some(&width) => {
                row.push_str(&fit(cell, width));
                row.push_str("  ");
            }
            None => row.push_str(cell),
        }
    }
    row
}

/// Pads or cuts `text` to exactly `width` characters, marking a cut with an ellipsis.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text}{}", " ".repeat(width - count))
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// A party as "Name (number)", or whichever of the two it has.
pub fn party(party: Option<&PartyView>) -> String {
    let Some(party) = party else {
        return String::new();
    };
    let name = party.name.as_deref().unwrap_or("").trim();
    let number = party.number.as_deref().unwrap_or("").trim();
    match (name.is_empty(), number.is_empty()) {
        (false, false) if name != number => format!("{name} ({number})"),
        (false, _) => name.to_string(),
        (true, _) => number.to_string(),
    }
}

/// The first participant, and how many more there were.
fn callees(participants: &[PartyView]) -> String {
    match participants {
        [] => String::new(),
        [only] => party(Some(only)),
        [first, rest @ ..] => format!("{} +{}", party(Some(first)), rest.len()),
    }
}

/// Whole seconds from creation to end.
fn duration_of(view: &SummaryView) -> Option<i64> {
    let (start, end): (Timestamp, Timestamp) = (view.call_created?, view.call_ended?);
    Some(end.duration_since(start).as_secs().max(0))
}

/// `42s`, `4m 07s`, `1h 02m`.
pub fn human_duration(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Value {
        serde_json::json!({
            "conversationSpaceId": "702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f",
            "accountKey": "1",
            "callCreated": "2026-09-30T15:04:30.185Z",
            "callEnded": "2026-09-30T15:09:10.933Z",
            "direction": "INBOUND",
            "caller": {"name": "PROBE CALLER", "number": "+12015550100"},
            "callerOutcome": "LEFT_DIAL_PLAN",
            "participants": [{"name": "Test Person 8625", "number": "8625"}, {"name": "", "number": "8629"}]
        })
    }

    fn render(format: SummaryFormat, zone: TimeZone) -> String {
        let renderer = SummaryRenderer::new(format, zone, Palette::new(false));
        let mut out = String::new();
        renderer.render(&item(), &mut out);
        out
    }

    #[test]
    fn tsv_is_utc_rfc3339_without_header() {
        let renderer = SummaryRenderer::new(SummaryFormat::Tsv, TimeZone::UTC, Palette::new(false));
        assert!(renderer.header().is_none());
        assert_eq!(
            render(SummaryFormat::Tsv, TimeZone::fixed(jiff::tz::offset(2))),
            "2026-09-30T15:04:30.185Z\t280\tINBOUND\tLEFT_DIAL_PLAN\tPROBE CALLER (+12015550100)\tTest Person 8625 (8625) +1\t702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f\n"
        );
    }

    #[test]
    fn table_rows_use_the_given_zone_and_align() {
        let row = render(SummaryFormat::Table, TimeZone::fixed(jiff::tz::offset(2)));
        assert!(
            row.starts_with("2026-09-30 17:04:30  4m 40s    INBOUND   LEFT_DIAL_PLAN  "),
            "{row}"
        );
        assert!(
            row.trim_end()
                .ends_with("702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f")
        );
    }

    #[test]
    fn json_is_the_item_unchanged() {
        let line = render(SummaryFormat::Json, TimeZone::UTC);
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, item());
        assert!(line.starts_with("{\"conversationSpaceId\""));
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(42), "42s");
        assert_eq!(human_duration(247), "4m 07s");
        assert_eq!(human_duration(3720), "1h 02m");
    }
}
