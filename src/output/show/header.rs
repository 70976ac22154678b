//! The top of `cer show`: one headline (direction, caller → callee, fitted to the width with
//! names shortened before numbers), when the call started and ended, its length and outcome,
//! and every party of the call with its role.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::super::Palette;
use super::super::escape::terminal_safe;
use super::super::party::{PartyCell, share};
use super::super::text::{cut_styled, shorten, width};
use super::super::time::length_between;
use super::facts::{CallFacts, Person, words};
use crate::outcome::Outcome;

/// `INBOUND  PROBE CALLER (+12015550100) → Test Person 8633 (8633) +1`, in `columns`.
pub(crate) fn headline(
    report: &Value,
    facts: &CallFacts,
    palette: Palette,
    columns: usize,
) -> String {
    let direction = report
        .get("direction")
        .and_then(Value::as_str)
        .unwrap_or("CALL");
    let direction = terminal_safe(direction).into_owned();
    let (caller, callee) = caller_and_callee(facts);
    let room = columns.saturating_sub(width(&direction) + 2 + 3);
    let full = (caller.full().max(1), callee.full().max(1));
    let mut needs = [12, 0].into_iter().map(|floor| {
        (
            caller.needs_with_count(floor),
            callee.needs_with_count(floor),
        )
    });
    let needs = needs
        .find(|(a, b)| a + b <= room)
        .unwrap_or((room / 2, room - room / 2));
    let (a, b) = share(room, needs, full);
    let show = |cell: &PartyCell, n: usize| {
        if cell.is_empty() {
            "?".to_string()
        } else {
            shorten(&cell.fitted(n), n.max(1))
        }
    };
    let line = format!(
        "{}  {} → {}",
        palette.bold(&direction),
        show(&caller, a),
        show(&callee, b)
    );
    cut_styled(&line, columns)
}

/// The originator, and who the call reached: the first person who answered, else the queue
/// that held it, else the first person rung (or, with nobody but the caller, the number the
/// caller dialled); with a count of the other people.
fn caller_and_callee(facts: &CallFacts) -> (PartyCell, PartyCell) {
    let persons = facts.persons();
    let is_caller =
        |p: &Value| facts.is_originator(p.get("id").and_then(Value::as_str).unwrap_or(""));
    let caller = persons
        .iter()
        .find(|p| is_caller(p.participant))
        .map_or_else(PartyCell::default, |p| {
            PartyCell::of_participant(p.participant, 0)
        });
    let others: Vec<&Person> = persons
        .iter()
        .filter(|p| !is_caller(p.participant))
        .collect();
    let answered_by = |p: &Person, answered: &dyn Fn(&str) -> bool| {
        facts.participants.iter().any(|q| {
            let id = q.get("id").and_then(Value::as_str).unwrap_or("");
            answered(id) && facts.person_key(id, q) == p.key
        })
    };
    // The states show who was connected; a report without them may still name the agent
    // who took the call from a queue.
    let agent = facts.answering_agent();
    let answered = others
        .iter()
        .position(|p| answered_by(p, &|id| facts.was_connected(id)))
        .or_else(|| {
            others
                .iter()
                .position(|p| answered_by(p, &|id| agent == Some(id)))
        });
    let dialled = || {
        let originator = persons
            .iter()
            .find(|p| is_caller(p.participant))?
            .participant;
        let number = originator.pointer("/type/number")?.as_str()?;
        originator.pointer("/type/caller")?;
        Some(PartyCell::named(None, Some(number), 0))
    };
    let callee = match (answered, facts.queue()) {
        (Some(k), _) => PartyCell::of_participant(others[k].participant, others.len() - 1),
        (None, Some(queue)) => PartyCell::named(Some(&queue), None, 0),
        (None, None) => match others.first() {
            Some(p) => PartyCell::of_participant(p.participant, others.len() - 1),
            None => dialled().unwrap_or_default(),
        },
    };
    (caller, callee)
}

/// `outcome`, `started`, `ended` (with the length) and `id`.
pub(crate) fn when_lines(
    report: &Value,
    facts: &CallFacts,
    zone: &TimeZone,
    palette: Palette,
) -> Vec<(String, String)> {
    let outcome = Outcome::of_report(report);
    let word = outcome.as_str();
    let word = match outcome {
        Outcome::Missed | Outcome::Abandoned => palette.red(word).to_string(),
        Outcome::Voicemail => palette.yellow(word).to_string(),
        Outcome::Answered => palette.green(word).to_string(),
        Outcome::Other => word.to_string(),
    };
    let local = |at: Option<Timestamp>| {
        at.map_or_else(
            || "?".to_string(),
            |t| {
                t.to_zoned_datetime(zone.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            },
        )
    };
    let length = match (facts.created, facts.ended) {
        (Some(a), Some(b)) => format!(" ({})", length_between(a, b)),
        _ => String::new(),
    };
    let id = report
        .get("conversationSpaceId")
        .and_then(Value::as_str)
        .unwrap_or("?");
    vec![
        ("outcome".to_string(), word),
        ("started".to_string(), local(facts.created)),
        (
            "ended".to_string(),
            format!("{}{length}", local(facts.ended)),
        ),
        ("id".to_string(), terminal_safe(id).into_owned()),
    ]
}

/// Every person of the report with their role: the caller, agents (with their queue), lines,
/// outside numbers; one line for a person rung on several devices.
pub(crate) fn party_lines(facts: &CallFacts) -> Vec<(String, String)> {
    facts
        .persons()
        .iter()
        .map(|person| {
            let p = person.participant;
            let id = p.get("id").and_then(Value::as_str).unwrap_or("");
            let kind = p
                .pointer("/type/value")
                .and_then(Value::as_str)
                .unwrap_or("");
            let cell = PartyCell::of_participant(p, 0);
            let mut text = if cell.is_empty() {
                "?".to_string()
            } else {
                cell.fitted(usize::MAX)
            };
            let number = p
                .pointer("/type/number")
                .and_then(Value::as_str)
                .map(terminal_safe);
            let label = if facts.is_originator(id) {
                "caller".to_string()
            } else {
                match kind {
                    "AGENT" => "agent".to_string(),
                    "LINE" => "line".to_string(),
                    "PHONE_NUMBER" => "callee".to_string(),
                    other => words(other),
                }
            };
            match (p.pointer("/type/caller"), p.pointer("/type/callee"), number) {
                (Some(_), _, Some(n)) => text.push_str(&format!(", dialled {n}")),
                (_, Some(_), Some(n)) => text.push_str(&format!(", called from {n}")),
                _ => {}
            }
            let queue = p
                .pointer("/type/interactiveVoiceResponseSystemId")
                .and_then(Value::as_str)
                .and_then(|q| facts.queue_name(q));
            if let Some(queue) = queue {
                text.push_str(&format!(", queue {queue}"));
            }
            if person.devices > 1 {
                text.push_str(&format!(", rang on {} devices", person.devices));
            }
            // GoTo's matched contact (2026-01): only its id is public.
            if let Some(contact) = p.pointer("/type/contact/id").and_then(Value::as_str) {
                text.push_str(&format!(", contact {}", terminal_safe(contact)));
            }
            (label, text)
        })
        .collect()
}
