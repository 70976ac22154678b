//! How report summaries look: on a terminal a glance then the newest calls in a fitted table
//! and a footer; in a pipe tab-separated values; with `--json` the raw items as NDJSON; with
//! `--stats` the glance alone. [`SummaryPrinter`] takes pages as they arrive and hands back
//! text to write, holding at most the rows a terminal shows, so memory stays flat.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Palette;
use super::glance::render_glance;
use super::table::TableLayout;
use super::text::thousands;
use crate::glance::Glance;
use crate::outcome::Outcome;
use crate::summary_view::{PartyView, SummaryView};

/// Rows a terminal table holds back until the glance is printed; a larger `--limit` (or
/// `--all`) streams the table and prints the glance after it.
pub const MAX_HELD_ROWS: u64 = 1000;

/// Rows of the first page a streamed table is fitted to.
const STREAM_SAMPLE: usize = 200;

/// What `cer summaries` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    /// Glance, table and footer, for a person at a terminal.
    Table,
    /// Tab-separated values for a pipe.
    Tsv,
    /// The raw items, one per line.
    Json,
    /// The glance alone, as text.
    Stats,
    /// The glance alone, as one JSON object.
    StatsJson,
}

/// What the printer needs to know about the query and the screen.
#[derive(Debug, Clone)]
pub struct PrintOptions {
    pub format: SummaryFormat,
    /// At most this many rows (`None`: every one).
    pub limit: Option<u64>,
    pub zone: TimeZone,
    pub palette: Palette,
    /// Terminal width, for the table and the glance.
    pub columns: usize,
    pub from: Timestamp,
    pub to: Timestamp,
}

use SummaryFormat::{Json, Stats, StatsJson, Tsv};

/// Turns pages of summaries (newest first) into text.
pub struct SummaryPrinter {
    options: PrintOptions,
    glance: Option<Glance>,
    held: Vec<Value>,
    streamed: Option<TableLayout>,
    seen: u64,
    printed: u64,
}

impl SummaryPrinter {
    pub fn new(options: PrintOptions) -> Self {
        let glance = matches!(
            options.format,
            SummaryFormat::Table | SummaryFormat::Stats | SummaryFormat::StatsJson
        )
        .then(|| Glance::new(options.from, options.to, options.zone.clone()));
        Self {
            options,
            glance,
            held: Vec::new(),
            streamed: None,
            seen: 0,
            printed: 0,
        }
    }

    /// Summaries seen so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Whether more pages are wanted: a pipe stops at `--limit`, the glance needs them all.
    pub fn wants_more(&self) -> bool {
        self.glance.is_some() || self.printed < self.options.limit.unwrap_or(u64::MAX)
    }

    /// Takes one page, each item's JSON text as GoTo sent it, and appends what to write now
    /// to `text` (one buffer for every page, so each page does not take a new one).
    pub fn page(&mut self, items: &[&str], text: &mut String) {
        let limit = self.options.limit.unwrap_or(u64::MAX);
        let format = self.options.format;
        if format == SummaryFormat::Table && self.streams() && self.streamed.is_none() {
            self.start_stream(items, text);
        }
        for &raw in items {
            self.seen += 1;
            let printing = self.printed < limit && !matches!(format, Stats | StatsJson);
            if format == Json {
                // The item's own text: parsing it into a `Value` to write it again was over
                // half of `summaries --json`'s instructions (callgrind).
                if printing {
                    super::json::push_compact(raw, text);
                    text.push('\n');
                    self.printed += 1;
                }
                continue;
            }
            // One item at a time becomes a `Value`, never a page of them.
            let item = serde_json::from_str::<Value>(raw).unwrap_or(Value::Null);
            if let Some(glance) = self.glance.as_mut() {
                glance.add(&item);
            }
            if printing {
                self.print_row(item, text);
                self.printed += 1;
            }
        }
    }

    /// A TSV row, or a table row: streamed once the glance comes last, else held for after it.
    fn print_row(&mut self, item: Value, text: &mut String) {
        if self.options.format == Tsv {
            text.push_str(&tsv_row(&item));
            return;
        }
        match &self.streamed {
            Some(layout) => text.push_str(&layout.row(&item, self.options.palette)),
            None => self.held.push(item),
        }
    }

    /// Fits a streamed table to the first page's rows (a bounded sample of them) and writes
    /// its header.
    fn start_stream(&mut self, items: &[&str], text: &mut String) {
        let sample: Vec<Value> = items
            .iter()
            .take(STREAM_SAMPLE)
            .filter_map(|raw| serde_json::from_str(raw).ok())
            .collect();
        if sample.is_empty() {
            return;
        }
        let layout = self.layout(&sample);
        text.push_str(&layout.header(self.options.palette));
        self.streamed = Some(layout);
    }

    /// The text that ends the output, and the footer for stderr, if any.
    pub fn finish(self) -> (String, Option<String>) {
        let Some(glance) = &self.glance else {
            return (String::new(), None);
        };
        let palette = self.options.palette;
        match self.options.format {
            SummaryFormat::StatsJson => (format!("{}\n", glance.to_json()), None),
            SummaryFormat::Stats => (render_glance(glance, self.options.columns, palette), None),
            _ if self.seen == 0 => (String::new(), None),
            _ if self.streamed.is_some() => {
                let glance = render_glance(glance, self.options.columns, palette);
                (format!("\n{glance}"), None)
            }
            _ => {
                let layout = self.layout(&self.held);
                let mut text = render_glance(glance, self.options.columns, palette);
                text.push('\n');
                text.push_str(&layout.header(palette));
                for item in &self.held {
                    text.push_str(&layout.row(item, palette));
                }
                (text, self.footer())
            }
        }
    }

    fn streams(&self) -> bool {
        self.options.limit.is_none_or(|n| n > MAX_HELD_ROWS)
    }

    fn layout(&self, sample: &[Value]) -> TableLayout {
        let zone = &self.options.zone;
        let last = self
            .options
            .to
            .checked_sub(jiff::SignedDuration::from_nanos(1));
        let day = |t: Timestamp| t.to_zoned_datetime(zone.clone()).date();
        let one_day = last.is_ok_and(|last| day(last) == day(self.options.from));
        TableLayout::fit(self.options.columns, sample, zone.clone(), one_day)
    }

    fn footer(&self) -> Option<String> {
        (self.printed < self.seen).then(|| {
            format!(
                "Showing {} of {} calls: --all for every one, --json for the data",
                thousands(self.printed),
                thousands(self.seen)
            )
        })
    }
}

/// `started, length (s), direction, outcome, caller, callee, id`: UTC times with milliseconds
/// always written, so the column sorts as text.
fn tsv_row(item: &Value) -> String {
    let view = SummaryView::of(item);
    let length = match (view.call_created, view.call_ended) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs().max(0).to_string(),
        _ => String::new(),
    };
    let cells = [
        view.call_created.map(rfc3339_millis).unwrap_or_default(),
        length,
        view.direction.clone().unwrap_or_default(),
        Outcome::of_summary(item).as_str().to_string(),
        party(view.caller.as_ref()),
        callees(&view.participants),
        view.conversation_space_id.clone().unwrap_or_default(),
    ];
    let mut row = cells
        .map(|cell| cell.replace(['\t', '\n', '\r'], " "))
        .join("\t");
    row.push('\n');
    row
}

/// `2026-09-30T15:04:30.185Z`: UTC, always three decimals.
pub fn rfc3339_millis(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Value {
        serde_json::json!({
            "conversationSpaceId": "702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f",
            "accountKey": "1",
            "callCreated": "2026-09-30T15:04:30Z",
            "callAnswered": "2026-09-30T15:04:31.2Z",
            "callEnded": "2026-09-30T15:09:10.933Z",
            "direction": "INBOUND",
            "caller": {"name": "PROBE CALLER", "number": "+12015550100"},
            "callerOutcome": "LEFT_DIAL_PLAN",
            "participants": [{"name": "Test Person 8625", "number": "8625"}, {"name": "", "number": "8629"}]
        })
    }

    /// The text `printer` writes for one page of `items`.
    fn page(printer: &mut SummaryPrinter, items: &[&str]) -> String {
        let mut text = String::new();
        printer.page(items, &mut text);
        text
    }

    fn printer(format: SummaryFormat, limit: Option<u64>) -> SummaryPrinter {
        SummaryPrinter::new(PrintOptions {
            format,
            limit,
            zone: TimeZone::UTC,
            palette: Palette::new(false),
            columns: 100,
            from: "2026-09-30T00:00:00Z".parse().unwrap(),
            to: "2026-10-01T00:00:00Z".parse().unwrap(),
        })
    }

    #[test]
    fn tsv_is_utc_rfc3339_with_fixed_millis_and_cer_outcome() {
        let mut tsv = printer(SummaryFormat::Tsv, None);
        assert_eq!(
            page(&mut tsv, &[&item().to_string()]),
            "2026-09-30T15:04:30.000Z\t280\tINBOUND\tanswered\tPROBE CALLER (+12015550100)\tTest Person 8625 \
                (8625) +1\t702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f\n"
        );
        assert_eq!(tsv.finish(), (String::new(), None));
    }

    #[test]
    fn json_is_the_item_unchanged_and_stops_at_the_limit() {
        let mut json = printer(SummaryFormat::Json, Some(1));
        let text = page(&mut json, &[&item().to_string(), &item().to_string()]);
        assert_eq!(text.lines().count(), 1);
        let back: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back, item());
        assert!(!json.wants_more());
    }

    #[test]
    fn json_lines_are_the_text_goto_sent_on_one_line() {
        let sent = "{\n  \"zeta\": 1.50,\n  \"alpha\": \"Test  Person\",\n  \"n\": 12345678901234567890\n}";
        let mut json = printer(SummaryFormat::Json, None);
        let text = page(&mut json, &[sent]);
        assert_eq!(
            text,
            "{\"zeta\":1.50,\"alpha\":\"Test  Person\",\"n\":12345678901234567890}\n"
        );
    }

    #[test]
    fn a_streamed_table_fits_its_first_page_and_prints_every_row() {
        let mut table = printer(SummaryFormat::Table, None);
        let row = item().to_string();
        let text = page(&mut table, &[row.as_str(); 2]);
        assert!(text.starts_with("STARTED"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("15:04:30")).count(),
            2
        );
        assert_eq!(page(&mut table, &[]), "");
        let (end, footer) = table.finish();
        assert!(end.contains("2 calls from"), "{end}");
        assert_eq!(footer, None);
    }

    #[test]
    fn a_terminal_table_holds_its_rows_for_after_the_glance() {
        let mut table = printer(SummaryFormat::Table, Some(1));
        let row = item().to_string();
        assert_eq!(page(&mut table, &[row.as_str(); 3]), "");
        assert!(table.wants_more(), "the glance needs every call");
        let (text, footer) = table.finish();
        assert!(text.starts_with("3 calls from 2026-09-30 00:00"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("15:04:30")).count(),
            1
        );
        assert_eq!(
            footer.as_deref(),
            Some("Showing 1 of 3 calls: --all for every one, --json for the data")
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::super::time::human_duration(42), "42s");
        assert_eq!(super::super::time::human_duration(247), "4m 07s");
        assert_eq!(super::super::time::human_duration(3720), "1h 02m");
    }
}
