//! The glance as a person reads it on a terminal: a title, one labelled line (or a few wrapped
//! ones) per figure, and calls per hour as a small vertical bar chart, all fitted to the width.

use jiff::Timestamp;

use super::Palette;
use super::party::PartyCell;
use super::text::{shorten, thousands, width};
use super::time::human_duration;
use crate::glance::Glance;
use crate::outcome::Outcome;

const LABEL: usize = 12;
const CHART_ROWS: usize = 3;
const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The whole glance, ending with a newline.
pub fn render_glance(glance: &Glance, columns: usize, palette: Palette) -> String {
    let columns = columns.max(LABEL + 24);
    let mut out = String::new();
    let title = format!(
        "{} {} from {} to {}",
        thousands(glance.calls),
        if glance.calls == 1 { "call" } else { "calls" },
        local(glance, glance.from),
        local(glance, glance.to)
    );
    out.push_str(&palette.bold(&shorten(&title, columns)).to_string());
    out.push('\n');
    let line = |out: &mut String, label: &str, items: Vec<String>| {
        out.push_str(&labelled(label, &items, columns, palette));
    };
    let share = |n: u64| format!("{} ({:.1}%)", thousands(n), glance.percent(n));
    let mut directions = vec![
        format!("inbound {}", share(glance.inbound)),
        format!("outbound {}", share(glance.outbound)),
    ];
    if glance.other_direction > 0 {
        directions.push(format!("other {}", share(glance.other_direction)));
    }
    line(&mut out, "direction", directions);
    let outcomes = Outcome::ALL
        .iter()
        .map(|&o| format!("{} {}", o.as_str(), share(glance.outcome_count(o))))
        .collect();
    line(&mut out, "outcome", outcomes);
    out.push_str(&hour_chart(glance, columns, palette));
    line(&mut out, "answer time", answer_items(glance));
    if let Some(items) = pickup_items(glance) {
        line(&mut out, "pickup", items);
    }
    line(&mut out, "talk time", talk_items(glance));
    let busiest = glance
        .busiest()
        .into_iter()
        .map(|(name, number, n)| format!("{} {}", who(&name, &number), thousands(n)))
        .collect::<Vec<_>>();
    line(&mut out, "busiest", or_none(busiest));
    out.push_str(&unreturned(glance, columns, palette));
    out
}

/// How long callees took to pick up outbound calls: the one answer time the summaries
/// measure from a person (on inbound calls GoTo's `callAnswered` is the dial plan's pickup).
fn answer_items(glance: &Glance) -> Vec<String> {
    let h = &glance.outbound_answer;
    match (h.quantile(0.5), h.quantile(0.9)) {
        (Some(median), Some(p90)) => vec![
            format!("outbound median {}", seconds(median)),
            format!("90% within {}", seconds(p90)),
        ],
        _ => vec!["no answered outbound calls".into()],
    }
}

/// Inbound calls' `callAnswered`, named for what it is; nothing without answered inbound calls.
fn pickup_items(glance: &Glance) -> Option<Vec<String>> {
    let h = &glance.inbound_pickup;
    let (median, p90) = (h.quantile(0.5)?, h.quantile(0.9)?);
    Some(vec![
        format!("inbound median {}", seconds(median)),
        format!("90% within {}", seconds(p90)),
        "when GoTo picked up, not a person".into(),
    ])
}

fn talk_items(glance: &Glance) -> Vec<String> {
    match (glance.talk.quantile(0.5), glance.talk.longest()) {
        (Some(median), Some(longest)) => vec![
            format!("median {}", seconds(median)),
            format!("longest {}", seconds(longest)),
        ],
        _ => vec!["no answered calls".into()],
    }
}

/// The count on the label's line, then the newest such callers wrapped below it.
fn unreturned(glance: &Glance, columns: usize, palette: Palette) -> String {
    let n = glance.not_called_back;
    if glance.unanswered_callers == 0 {
        // Every inbound call was answered: nothing to say about callers left waiting.
        return String::new();
    }
    if n == 0 {
        let items = ["every inbound caller not answered was reached later".to_string()];
        return labelled("unreturned", &items, columns, palette);
    }
    let callers = if n == 1 { "caller" } else { "callers" };
    let count = format!(
        "{} inbound {callers} not reached back; newest:",
        thousands(n)
    );
    let mut text = labelled("unreturned", &[count], columns, palette);
    let one_day = one_day(glance);
    let callers: Vec<String> = glance
        .not_called_back_newest
        .iter()
        .map(|u| {
            let at = u.last_call.map(|t| when(glance, t, one_day));
            format!("{} {}", who(&u.name, &u.number), at.unwrap_or_default())
        })
        .collect();
    text.push_str(&labelled("", &callers, columns, palette));
    text
}

fn or_none(items: Vec<String>) -> Vec<String> {
    if items.is_empty() {
        vec!["no calls on a line".into()]
    } else {
        items
    }
}

/// `Name (number)`, escaped, or whichever of the two there is: written as the tables and
/// `cer show` write a party.
fn who(name: &str, number: &str) -> String {
    PartyCell::named(Some(name), Some(number), 0).fitted(usize::MAX)
}

fn seconds(s: u64) -> String {
    human_duration(i64::try_from(s).unwrap_or(i64::MAX))
}

/// A label, then the items joined by ` · `, wrapped under the label to stay within `columns`.
fn labelled(label: &str, items: &[String], columns: usize, palette: Palette) -> String {
    let room = columns - LABEL;
    let mut out = format!(
        "{}{}",
        palette.dim(label),
        " ".repeat(LABEL.saturating_sub(width(label)))
    );
    let mut used = 0;
    for item in items {
        let item = shorten(item, room);
        let needed = width(&item) + if used == 0 { 0 } else { 3 };
        if used > 0 && used + needed > room {
            out.push('\n');
            out.push_str(&" ".repeat(LABEL));
            used = 0;
        }
        if used > 0 {
            out.push_str(" · ");
        }
        used += width(&item) + if used == 0 { 0 } else { 3 };
        out.push_str(&item);
    }
    out.push('\n');
    out
}

/// Calls per hour of the day: 24 bars, `CHART_ROWS` lines tall in eighths of a line, an hour
/// axis below, and the busiest hour named.
fn hour_chart(glance: &Glance, columns: usize, palette: Palette) -> String {
    let cell = if columns >= LABEL + 48 { 2 } else { 1 };
    let max = glance.per_hour.iter().copied().max().unwrap_or(0);
    let levels: Vec<usize> = glance
        .per_hour
        .iter()
        .map(|&n| match n {
            0 => 0,
            n => ((n as f64 / max as f64 * (CHART_ROWS * 8) as f64).round() as usize).max(1),
        })
        .collect();
    let mut out = String::new();
    for row in 0..CHART_ROWS {
        if row == 0 {
            out.push_str(&format!("{}  ", palette.dim("calls/hour")));
        } else {
            out.push_str(&" ".repeat(LABEL));
        }
        let floor = (CHART_ROWS - 1 - row) * 8;
        let bars: String = levels
            .iter()
            .map(|&level| {
                let bar = EIGHTHS[level.saturating_sub(floor).min(8)];
                if cell == 2 {
                    format!("{bar} ")
                } else {
                    bar.to_string()
                }
            })
            .collect();
        out.push_str(bars.trim_end());
        out.push('\n');
    }
    out.push_str(&hour_axis(glance, cell, columns, max));
    out
}

fn hour_axis(glance: &Glance, cell: usize, columns: usize, max: u64) -> String {
    let mut axis = " ".repeat(LABEL);
    for hour in (0..24).step_by(6) {
        let at = LABEL + hour * cell;
        let text = format!("{hour:02}");
        while width(&axis) < at {
            axis.push(' ');
        }
        axis.push_str(&text);
    }
    if max > 0 {
        let peak = glance.per_hour.iter().position(|&n| n == max).unwrap_or(0);
        let note = format!("  peak {peak:02}:00 ({})", thousands(max));
        let end = LABEL + 24 * cell;
        while width(&axis) < end {
            axis.push(' ');
        }
        if width(&axis) + width(&note) <= columns {
            axis.push_str(&note);
        }
    }
    let mut axis = axis.trim_end().to_string();
    axis.push('\n');
    axis
}

fn local(glance: &Glance, at: Timestamp) -> String {
    at.to_zoned_datetime(glance.zone().clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// A call's time: the clock alone when the whole range is one local day.
fn when(glance: &Glance, at: Timestamp, one_day: bool) -> String {
    let pattern = if one_day { "%H:%M" } else { "%m-%d %H:%M" };
    at.to_zoned_datetime(glance.zone().clone())
        .strftime(pattern)
        .to_string()
}

fn one_day(glance: &Glance) -> bool {
    let day = |t: Timestamp| t.to_zoned_datetime(glance.zone().clone()).date();
    let last = glance.to.checked_sub(jiff::SignedDuration::from_nanos(1));
    last.is_ok_and(|last| day(last) == day(glance.from))
}

#[cfg(test)]
mod tests {
    use super::render_glance;
    use crate::output::Palette;
    use crate::output::text::width;

    #[test]
    fn the_rendered_glance_fits_every_width_from_60_up() {
        let g = crate::glance::tests::glance();
        for columns in 60..=200 {
            let text = render_glance(&g, columns, Palette::new(false));
            for line in text.lines() {
                assert!(width(line) <= columns, "{columns}: {line}");
            }
            assert!(text.contains("+15550002"), "{text}");
        }
        let text = render_glance(&g, 100, Palette::new(false));
        insta::assert_snapshot!("glance_100", text);
    }

    #[test]
    fn nothing_is_said_about_unanswered_callers_when_there_were_none() {
        let answered: Vec<serde_json::Value> = crate::glance::tests::day()
            .into_iter()
            .filter(|i| crate::outcome::Outcome::of_summary(i) == crate::outcome::Outcome::Answered)
            .collect();
        let mut g = crate::glance::tests::empty_glance();
        for item in &answered {
            g.add(item);
        }
        let text = render_glance(&g, 100, Palette::new(false));
        assert!(!text.contains("unreturned"), "{text}");
        assert!(!text.contains("caller"), "{text}");
    }

    #[test]
    fn the_answer_time_is_named_for_what_it_measures() {
        let g = crate::glance::tests::glance();
        let text = render_glance(&g, 100, Palette::new(false));
        let answer = text.lines().find(|l| l.starts_with("answer time")).unwrap();
        assert!(answer.contains("outbound median"), "{text}");
        let pickup = text.lines().find(|l| l.starts_with("pickup")).unwrap();
        assert!(
            pickup.contains("inbound median") && pickup.contains("not a person"),
            "{text}"
        );
    }
}
