//! The summaries table fitted to the terminal: every column sized from the rows it will show
//! and the terminal's width, so nothing wraps. When room runs short, names shorten first (to a
//! dozen columns), then the ID is shortened and dropped, then names go, the date shortens, the
//! gaps narrow and the direction goes. A phone number is never cut: its column is as wide as
//! the widest number in the rows measured (a later, longer number widens its row instead).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::Palette;
use super::escape::terminal_safe;
use super::party::{PartyCell, share};
use super::text::{pad, pad_left, shorten, width};
use super::time::human_duration;
use crate::outcome::Outcome;
use crate::summary_view::SummaryView;

/// How the STARTED column shows a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeStyle {
    /// `14:03:12`, when the whole range is one local day.
    Clock,
    /// `2026-11-25 14:03:12`.
    Full,
    /// `11-25 14:03`.
    Short,
}

impl TimeStyle {
    fn columns(self) -> usize {
        match self {
            TimeStyle::Clock => 8,
            TimeStyle::Full => 19,
            TimeStyle::Short => 11,
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            TimeStyle::Clock => "%H:%M:%S",
            TimeStyle::Full => "%Y-%m-%d %H:%M:%S",
            TimeStyle::Short => "%m-%d %H:%M",
        }
    }
}

/// How much of the conversationSpaceId shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdStyle {
    Full,
    Short,
    Hidden,
}

impl IdStyle {
    fn columns(self) -> usize {
        match self {
            IdStyle::Full => 36,
            IdStyle::Short => 8,
            IdStyle::Hidden => 0,
        }
    }
}

/// One way to lay the table out, tried in order of preference.
#[derive(Debug, Clone, Copy)]
struct Plan {
    time: TimeStyle,
    id: IdStyle,
    gap: usize,
    direction: bool,
    /// Columns of name each party keeps at least, beside its number.
    name_floor: usize,
}

/// The cells of one summary.
struct Row {
    started: Option<Timestamp>,
    length: String,
    direction: String,
    outcome: Outcome,
    caller: PartyCell,
    callee: PartyCell,
    id: String,
}

impl Row {
    fn of(item: &Value) -> Self {
        let view = SummaryView::of(item);
        let length = match (view.call_created, view.call_ended) {
            (Some(a), Some(b)) => human_duration(b.duration_since(a).as_secs().max(0)),
            _ => String::new(),
        };
        let direction = match view.direction.as_deref() {
            Some("INBOUND") => "in".to_string(),
            Some("OUTBOUND") => "out".to_string(),
            Some(other) => shorten(&terminal_safe(&other.to_lowercase()), 3),
            None => String::new(),
        };
        let callee = PartyCell::of(
            view.participants.first(),
            view.participants.len().saturating_sub(1),
        );
        Self {
            started: view.call_created,
            length,
            direction,
            outcome: Outcome::of_summary(item),
            caller: PartyCell::of(view.caller.as_ref(), 0),
            callee,
            id: terminal_safe(view.conversation_space_id.as_deref().unwrap_or("")).into_owned(),
        }
    }
}

const HEADERS: [&str; 7] = [
    "STARTED", "LENGTH", "DIR", "OUTCOME", "CALLER", "CALLEE", "ID",
];
const OUTCOME_COLUMNS: usize = 9;

/// Column widths chosen for one table.
#[derive(Debug, Clone)]
pub struct TableLayout {
    plan: Plan,
    length: usize,
    caller: usize,
    callee: usize,
    zone: TimeZone,
}

impl TableLayout {
    /// Fits the columns of the rows in `sample` into `columns` terminal columns.
    /// `one_day` says the whole range is within one local day (times show without a date).
    pub fn fit(columns: usize, sample: &[Value], zone: TimeZone, one_day: bool) -> Self {
        let rows: Vec<Row> = sample.iter().map(Row::of).collect();
        let longest = |f: &dyn Fn(&Row) -> usize| rows.iter().map(f).max().unwrap_or(0);
        let length = longest(&|r| width(&r.length)).max(HEADERS[1].len());
        let full = (longest(&|r| r.caller.full()), longest(&|r| r.callee.full()));
        let plans = plans(one_day);
        for plan in &plans {
            let needs = |floor| {
                (
                    longest(&|r| r.caller.needs(floor)).max(6),
                    longest(&|r| r.callee.needs(floor)).max(6),
                )
            };
            let (caller, callee) = needs(plan.name_floor);
            let room = columns.saturating_sub(fixed_columns(plan, length));
            if room >= caller + callee {
                let (caller, callee) =
                    share(room, (caller, callee), (full.0.max(6), full.1.max(6)));
                return Self {
                    plan: *plan,
                    length,
                    caller,
                    callee,
                    zone,
                };
            }
        }
        let plan = plans[plans.len() - 1];
        let room = columns.saturating_sub(fixed_columns(&plan, length));
        let (caller, callee) = (
            longest(&|r| r.caller.needs(0)),
            longest(&|r| r.callee.needs(0)),
        );
        let (caller, callee) = share(room.max(caller + callee), (caller, callee), full);
        Self {
            plan,
            length,
            caller,
            callee,
            zone,
        }
    }

    /// The header line.
    pub fn header(&self, palette: Palette) -> String {
        let cells = self.cells(HEADERS.map(str::to_string));
        format!("{}\n", palette.bold(&cells))
    }

    /// One summary's line, coloured by its outcome.
    pub fn row(&self, item: &Value, palette: Palette) -> String {
        let row = Row::of(item);
        let started = row
            .started
            .map(|t| {
                t.to_zoned_datetime(self.zone.clone())
                    .strftime(self.plan.time.pattern())
                    .to_string()
            })
            .unwrap_or_default();
        let id = match self.plan.id {
            IdStyle::Full => row.id.clone(),
            IdStyle::Short => row.id.chars().take(8).collect(),
            IdStyle::Hidden => String::new(),
        };
        let cells = [
            started,
            pad_left(&row.length, self.length),
            row.direction.clone(),
            row.outcome.as_str().to_string(),
            row.caller.fitted(self.caller),
            row.callee.fitted(self.callee),
            id,
        ];
        let line = self.cells(cells);
        let line = match row.outcome {
            Outcome::Missed | Outcome::Abandoned => palette.red(&line).to_string(),
            Outcome::Voicemail => palette.yellow(&line).to_string(),
            Outcome::Answered | Outcome::Other => line,
        };
        format!("{line}\n")
    }

    /// Pads each shown cell to its column and joins them; no trailing spaces.
    fn cells(&self, cells: [String; 7]) -> String {
        let widths = [
            self.plan.time.columns(),
            self.length,
            if self.plan.direction { 3 } else { 0 },
            OUTCOME_COLUMNS,
            self.caller,
            self.callee,
            self.plan.id.columns(),
        ];
        let gap = " ".repeat(self.plan.gap);
        let shown: Vec<String> = cells
            .iter()
            .zip(widths)
            .filter(|(_, w)| *w > 0)
            .map(|(cell, w)| pad(cell, w))
            .collect();
        shown.join(&gap).trim_end().to_string()
    }
}

fn plans(one_day: bool) -> [Plan; 7] {
    let (full, short) = if one_day {
        (TimeStyle::Clock, TimeStyle::Clock)
    } else {
        (TimeStyle::Full, TimeStyle::Short)
    };
    let plan = |time, id, gap, direction, name_floor| Plan {
        time,
        id,
        gap,
        direction,
        name_floor,
    };
    [
        plan(full, IdStyle::Full, 2, true, 12),
        plan(full, IdStyle::Short, 2, true, 12),
        plan(full, IdStyle::Hidden, 2, true, 12),
        plan(full, IdStyle::Hidden, 2, true, 0),
        plan(short, IdStyle::Hidden, 2, true, 0),
        plan(short, IdStyle::Hidden, 1, true, 0),
        plan(short, IdStyle::Hidden, 1, false, 0),
    ]
}

/// Columns taken by everything but the two party columns, gaps included.
fn fixed_columns(plan: &Plan, length: usize) -> usize {
    let mut shown = vec![plan.time.columns(), length, OUTCOME_COLUMNS];
    if plan.direction {
        shown.push(3);
    }
    if plan.id != IdStyle::Hidden {
        shown.push(plan.id.columns());
    }
    let columns = shown.len() + 2;
    shown.iter().sum::<usize>() + plan.gap * (columns - 1)
}

#[cfg(test)]
mod tests;
