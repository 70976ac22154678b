//! The one-line human view of a full report that `listen` prints on a terminal: when the call
//! ended, its direction, who called whom, how long, how it went, and its short ID, fitted to
//! the terminal's width the way the summaries table is: names shorten first, then the
//! direction shortens and the ID goes; a phone number is cut only when nothing else is left.

use super::Palette;
use super::escape::terminal_safe;
use super::party::{PartyCell, share};
use super::text::{cut_styled, shorten, width};
use super::time::human_duration;
use crate::outcome::Outcome;
use crate::report::{Party, Report};
use jiff::tz::TimeZone;

/// How much of the direction and the ID a line shows.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// `INBOUND ` (8 columns), else `in ` (3).
    long_direction: bool,
    /// The 8-character short ID at the end.
    id: bool,
    /// Columns of name each party keeps at least, beside its number.
    name_floor: usize,
}

const PLANS: [Plan; 4] = [
    Plan {
        long_direction: true,
        id: true,
        name_floor: 12,
    },
    Plan {
        long_direction: false,
        id: true,
        name_floor: 12,
    },
    Plan {
        long_direction: false,
        id: true,
        name_floor: 0,
    },
    Plan {
        long_direction: false,
        id: false,
        name_floor: 0,
    },
];

/// `14:03:12  INBOUND   PROBE CALLER (+12015550100) → Test Person 8625 (8625)  4m 40s  answered  b6ad7073`,
/// in at most `columns` columns.
pub fn report_line(report: &Report, zone: &TimeZone, palette: Palette, columns: usize) -> String {
    let cells = Cells::of(report, zone);
    let (plan, caller, callee) = cells.fit(columns);
    let direction = if plan.long_direction {
        format!("{:<8}", cells.direction)
    } else {
        format!("{:<3}", shorten(&cells.direction_short, 3))
    };
    let outcome = cells.outcome.as_str();
    let outcome = match cells.outcome {
        Outcome::Missed | Outcome::Abandoned => palette.red(outcome).to_string(),
        Outcome::Voicemail => palette.yellow(outcome).to_string(),
        Outcome::Other => outcome.to_string(),
        Outcome::Answered => palette.green(outcome).to_string(),
    };
    let mut line = format!(
        "{}  {direction}  {caller} → {callee}  {}  {outcome}",
        palette.bold(&cells.ended),
        cells.duration,
    );
    if plan.id && !cells.id.is_empty() {
        line.push_str(&format!("  {}", palette.dim(&cells.id)));
    }
    // Only a number wider than the whole terminal gets here cut: the line never wraps.
    cut_styled(&line, columns)
}

/// The parts of a line, escaped, before fitting.
struct Cells {
    ended: String,
    direction: String,
    direction_short: String,
    caller: PartyCell,
    callee: PartyCell,
    duration: String,
    outcome: Outcome,
    id: String,
}

impl Cells {
    fn of(report: &Report, zone: &TimeZone) -> Self {
        let facts = report.facts();
        let ended = facts
            .call_ended
            .map(|t| {
                t.to_zoned_datetime(zone.clone())
                    .strftime("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "--:--:--".into());
        let duration = match (facts.call_created, facts.call_ended) {
            (Some(start), Some(end)) => human_duration(end.duration_since(start).as_secs().max(0)),
            _ => "?".into(),
        };
        // Every field is GoTo's (and a caller ID is the caller's own): escaped for the terminal.
        let direction = terminal_safe(facts.direction.as_deref().unwrap_or("?")).into_owned();
        let direction_short = match direction.as_str() {
            "INBOUND" => "in".to_string(),
            "OUTBOUND" => "out".to_string(),
            other => other.to_lowercase(),
        };
        let party = |party: &Option<Party>, more| {
            party.as_ref().map_or_else(PartyCell::default, |p| {
                PartyCell::named(p.name.as_deref(), p.number.as_deref(), more)
            })
        };
        let id = facts.id.as_deref().unwrap_or("?");
        Self {
            ended,
            direction,
            direction_short,
            caller: party(&facts.caller, 0),
            callee: party(&facts.callee, facts.others.saturating_sub(1)),
            duration,
            outcome: Outcome::of_report(report),
            id: terminal_safe(&id.chars().take(8).collect::<String>()).into_owned(),
        }
    }

    /// The first plan whose fixed columns leave the parties what they need, and each party's
    /// text in its share of the room.
    fn fit(&self, columns: usize) -> (Plan, String, String) {
        let full = (self.caller.full().max(1), self.callee.full().max(1));
        for plan in &PLANS {
            let room = columns.saturating_sub(self.fixed(plan));
            let needs = (
                self.caller.needs_with_count(plan.name_floor),
                self.callee.needs_with_count(plan.name_floor),
            );
            if room >= needs.0 + needs.1 {
                let (a, b) = share(room, needs, full);
                return (
                    *plan,
                    self.party(&self.caller, a),
                    self.party(&self.callee, b),
                );
            }
        }
        let plan = PLANS[PLANS.len() - 1];
        let room = columns.saturating_sub(self.fixed(&plan));
        let (a, b) = share(room, (room / 2, room - room / 2), full);
        let cut = |cell: &PartyCell, n| shorten(&self.party(cell, n), n);
        (plan, cut(&self.caller, a), cut(&self.callee, b))
    }

    fn party(&self, cell: &PartyCell, columns: usize) -> String {
        if cell.is_empty() {
            "?".to_string()
        } else {
            cell.fitted(columns)
        }
    }

    /// Columns of everything but the two parties, gaps and arrow included.
    fn fixed(&self, plan: &Plan) -> usize {
        let direction = if plan.long_direction {
            8.max(width(&self.direction))
        } else {
            3
        };
        let id = if plan.id && !self.id.is_empty() {
            2 + width(&self.id)
        } else {
            0
        };
        width(&self.ended)
            + 2
            + direction
            + 2
            + 3
            + 2
            + width(&self.duration)
            + 2
            + self.outcome.as_str().len()
            + id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fixture_report() {
        let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
        let report = Report::parse(text).unwrap();
        let line = report_line(&report, &TimeZone::UTC, Palette::new(false), 200);
        // The trimmed fixture keeps no call state in which Test Person 8633 answered.
        assert_eq!(
            line,
            "15:54:43  INBOUND   PROBE CALLER (+12015550100) → Test Person 8633 (8633) +1  2m 11s  voicemail  b6ad7073"
        );
    }

    // Regression: a caller name with `ESC]0;…BEL`, `ESC[2J` or a newline reached the terminal
    // raw, rewriting the title, clearing the screen and faking an output line.
    #[test]
    fn a_hostile_caller_id_is_escaped() {
        let report = serde_json::json!({
            "direction": "IN\u{1b}[2J",
            "conversationSpaceId": "x\ny",
            "participants": [
                {"id": "1", "originator": "1", "type": {"caller": {
                    "name": "A\u{1b}]0;pwned\u{7}\n12:00:00 fake",
                    "number": "+1"
                }}},
                {"id": "2", "type": {"name": "B", "extensionNumber": "9"}}
            ]
        });
        let report = Report::of_value(&report).unwrap();
        let line = report_line(&report, &TimeZone::UTC, Palette::new(false), 200);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            line.contains("A\\e]0;pwned\\u{7}\\n12:00:00 fake (+1)"),
            "{line}"
        );
    }

    #[test]
    fn survives_a_report_with_almost_nothing() {
        let line = report_line(
            &Report::parse("{}").unwrap(),
            &TimeZone::UTC,
            Palette::new(false),
            80,
        );
        // No call states at all: nothing says how the call went.
        assert_eq!(line, "--:--:--  ?         ? → ?  ?  other  ?");
    }

    fn long_names() -> Report {
        Report::of_value(&serde_json::json!({
            "conversationSpaceId": "702e4d82-c7e6-30a0-90f0-ce7eaf8f9b4f",
            "callCreated": "2026-11-25T09:04:30.185Z",
            "callEnded": "2026-11-25T10:09:10.933Z",
            "direction": "INBOUND",
            "participants": [
                {"id": "1", "originator": "1", "type": {"value": "PHONE_NUMBER", "caller":
                    {
                        "name": "Bartholomew Featherstonehaugh-Worthington III 山田太郎 e\u{301}",
                        "number": "+442079460958"
                    }}},
                {"id": "2", "originator": "1", "type": {
                    "value": "LINE",
                    "name": "Maximiliana Oyelaran-Vasquez 😀",
                    "extensionNumber": "8625"
                },
                 "status": {"value": "CONNECTED"}},
                {"id": "3", "originator": "1", "type": {"value": "LINE", "name": "Ann", "extensionNumber": "8629"}}
            ],
            "callStates": [{"participants": [{"id": "2", "originator": "1", "status": {"value": "CONNECTED"}}]}]
        }))
        .unwrap()
    }

    #[test]
    fn fits_every_width_from_60_to_200_keeping_the_numbers() {
        use crate::output::text::{strip_styles, width};
        for columns in 60..=200 {
            let line = report_line(&long_names(), &TimeZone::UTC, Palette::new(true), columns);
            let shown = strip_styles(&line);
            assert!(width(&shown) <= columns, "{columns}: {shown}");
            assert!(!shown.contains('\n'));
            assert!(shown.contains("+442079460958"), "{columns}: {shown}");
            assert!(shown.contains("8625"), "{columns}: {shown}");
            assert!(shown.contains(" +1  1h 04m  "), "{columns}: {shown}");
            assert!(shown.contains("answered"), "{columns}: {shown}");
        }
        let wide = report_line(&long_names(), &TimeZone::UTC, Palette::new(false), 200);
        assert_eq!(
            wide,
            "10:09:10  INBOUND   Bartholomew Featherstonehaugh-Worthington III 山田太郎 e\u{301} (+442079460958) \
                → Maximiliana Oyelaran-Vasquez 😀 (8625) +1  1h 04m  answered  702e4d82"
        );
        let at = |columns| report_line(&long_names(), &TimeZone::UTC, Palette::new(false), columns);
        assert_eq!(
            at(60),
            "10:09:10  in   +442079460958 → 8625 +1  1h 04m  answered"
        );
        assert_eq!(
            at(80),
            "10:09:10  in   Bart… (+442079460958) → Ma… (8625) +1  1h 04m  answered  702e4d82"
        );
        assert_eq!(
            at(110),
            "10:09:10  INBOUND   Bartholomew Feath… (+442079460958) → Maximiliana Oy… (8625) +1  1h 04m  \
                answered  702e4d82"
        );
    }
}

/// What a person watching `cer listen` on a terminal reads, pinned: a call line at the
/// narrowest, a usual and a wide terminal, each with the delivery lines that come under it and
/// the line of a later revision.
#[cfg(test)]
mod screen {
    use std::time::Duration;

    use super::*;
    use crate::events::DeliveryResult;
    use crate::output::delivery_line::{delivery_line, fit_delivery_line};
    use crate::output::revision_line::revision_line;

    fn screen(columns: usize) -> String {
        let text = include_str!("../../tests/fixtures/report_answered_then_voicemail.json");
        let first: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut analysed = first.clone();
        analysed["callReason"] = "Asked about an unpaid invoice".into();
        let plain = Palette::new(false);
        let id = "b6ad7073-be3a-31d5-a956-777109126542";
        let target = "https://hooks.example.test/cer?token=***";
        let results = [
            (
                1,
                DeliveryResult::Delivered {
                    status: 200,
                    elapsed: Duration::from_millis(12),
                },
            ),
            (
                1,
                DeliveryResult::WillRetry {
                    error: "503 Service Unavailable".into(),
                    elapsed: Duration::from_millis(4),
                    next_in: Duration::from_millis(1500),
                },
            ),
            (
                2,
                DeliveryResult::Delivered {
                    status: 204,
                    elapsed: Duration::from_millis(9),
                },
            ),
        ];
        let report = Report::parse(text).unwrap();
        let mut lines = vec![report_line(&report, &TimeZone::UTC, plain, columns)];
        for (revision, result) in &results {
            let line = delivery_line(target, result, Some((id, *revision)), plain);
            lines.push(fit_delivery_line(&line, columns));
        }
        let analysed = Report::of_value(&analysed).unwrap();
        let revised = revision_line(
            &analysed,
            2,
            Some(&crate::report::FieldDigests::of(text)),
            plain,
        );
        lines.push(fit_delivery_line(&revised, columns));
        format!("{columns} columns\n{}\n", lines.join("\n"))
    }

    #[test]
    fn listen_lines_at_60_80_and_120_columns() {
        let all: String = [60, 80, 120].into_iter().map(screen).collect();
        insta::assert_snapshot!(all);
    }
}
