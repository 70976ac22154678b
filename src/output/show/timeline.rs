//! A call's `callStates` read as what happened, in order: each state is a snapshot of who is
//! on the call and which voice systems hold it, so a line is written only for what changed
//! since the snapshot before (someone rang, answered, went on hold, left; the dial plan moved
//! on; a queue or a voicemail box took the caller). Facts the report keeps outside its states
//! (how long the caller waited in a queue, how long a voicemail was, who hung up) complete the
//! line of the step they belong to, or come last when the states never showed that step.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value;

use super::facts::{CallFacts, words};

/// One line of the timeline: when (none for a fact the states do not place), and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub at: Option<Timestamp>,
    pub text: String,
}

/// Everything the walk over the states remembers between snapshots.
#[derive(Default)]
struct Walk {
    events: Vec<Event>,
    status: HashMap<String, String>,
    ivr_steps: HashMap<String, String>,
    hung_up: bool,
    started: bool,
}

impl Walk {
    fn say(&mut self, at: Option<Timestamp>, text: String) {
        self.events.push(Event { at, text });
    }
}

/// The timeline of a report.
pub(crate) fn events(report: &Value, facts: &CallFacts) -> Vec<Event> {
    let mut walk = Walk::default();
    for state in sorted_states(report) {
        let at = time_of(state);
        if !walk.started {
            walk.started = true;
            walk.say(at, facts.opening());
        }
        participants_changed(&mut walk, state, at, facts);
        voice_systems_changed(&mut walk, state, at, facts);
        if state.get("type").and_then(Value::as_str) == Some("ENDING") {
            finish(&mut walk, at, facts);
        }
    }
    for (id, ivr) in &facts.ivrs {
        if !walk.ivr_steps.contains_key(id) {
            // Out of the states' order: say who answered, which the states did not show.
            walk.say(None, facts.ivr_text(ivr, true));
        }
    }
    if !walk.hung_up {
        finish(&mut walk, facts.ended, facts);
    }
    walk.events
}

/// The states in GoTo's sequence order (the array order breaks ties).
fn sorted_states(report: &Value) -> Vec<&Value> {
    let mut states: Vec<&Value> = report
        .get("callStates")
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    states.sort_by_key(|s| {
        s.get("sequenceNumber")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX)
    });
    states
}

fn time_of(state: &Value) -> Option<Timestamp> {
    state.get("timestamp")?.as_str()?.parse().ok()
}

/// Lines for the participants whose status changed: rang, answered, on hold, left.
fn participants_changed(walk: &mut Walk, state: &Value, at: Option<Timestamp>, facts: &CallFacts) {
    let list: &[Value] = state
        .get("participants")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let someone_stays = list.iter().any(|p| status(p) != "DISCONNECTING");
    let was_connected = walk
        .status
        .iter()
        .any(|(id, s)| s == "CONNECTED" && !facts.is_originator(id));
    let (mut rang, mut answered) = (Vec::new(), Vec::new());
    for participant in list {
        let Some(id) = participant.get("id").and_then(Value::as_str) else {
            continue;
        };
        let now = status(participant).to_string();
        let before = walk.status.insert(id.to_string(), now.clone());
        if before.as_deref() == Some(now.as_str()) {
            continue;
        }
        let who = facts.name_of(id, participant);
        let caller = facts.is_originator(id);
        match now.as_str() {
            "RINGING" if !caller => rang.push(who),
            "CONNECTED" if before.as_deref().is_some_and(is_hold) => {
                walk.say(at, format!("{who} back from hold"));
            }
            "CONNECTED" if !caller => answered.push(who),
            "DISCONNECTING" if facts.hangup_by(id) => {
                walk.hung_up = true;
                walk.say(at, format!("{who} hung up"));
            }
            "DISCONNECTING" if someone_stays => walk.say(at, format!("{who} left")),
            s if is_hold(s) => walk.say(at, format!("{who} on hold")),
            "RINGING" | "CONNECTED" | "DISCONNECTING" | "IN_INTERACTIVE_VOICE_RESPONSE" | "" => {}
            other => walk.say(at, format!("{who}: {}", words(other))),
        }
    }
    if !rang.is_empty() {
        let verb = if was_connected {
            "transferred: rang"
        } else {
            "rang"
        };
        walk.say(at, format!("{verb} {}", rang.join(", ")));
    }
    if !answered.is_empty() {
        walk.say(at, format!("{} answered", answered.join(" and ")));
    }
}

/// Lines for voice systems that took the caller or moved to another step.
fn voice_systems_changed(walk: &mut Walk, state: &Value, at: Option<Timestamp>, facts: &CallFacts) {
    let list: &[Value] = state
        .get("interactiveVoiceResponseSystems")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    for ivr in list {
        let id = ivr
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let step = step_of(ivr);
        if walk.ivr_steps.get(&id) == Some(&step) {
            continue;
        }
        let first = !walk.ivr_steps.contains_key(&id);
        walk.ivr_steps.insert(id.clone(), step);
        // The report's own entry knows more (waits, durations) than the state's, except for
        // a dial plan, whose steps only the states show.
        let known = facts
            .ivrs
            .iter()
            .find(|(known, entry)| *known == id || same_box(ivr, entry));
        let text = match known {
            Some((known_id, known)) if first && ivr_type(ivr) != Some("DIAL_PLAN") => {
                // Seen now, under whichever id: not listed again at the end.
                walk.ivr_steps.insert(known_id.clone(), String::new());
                facts.ivr_text(known, false)
            }
            _ => facts.ivr_text(ivr, false),
        };
        walk.say(at, text);
    }
}

/// Whether a state's voice system is the report's entry under another id: the same queue or
/// the same voicemail box (GoTo's samples use one id for both, which nothing promises).
fn same_box(in_state: &Value, entry: &Value) -> bool {
    let key = |ivr: &Value| {
        let kind = ivr.get("type")?;
        let value = kind.get("value")?.as_str()?;
        let id = kind
            .get("queueId")
            .or_else(|| kind.get("voicemailBoxId"))?
            .as_str()?;
        Some((value.to_string(), id.to_string()))
    };
    key(in_state).is_some_and(|k| key(entry) == Some(k))
}

/// What identifies a voice system's step: the dial plan's node, else nothing (one line).
fn step_of(ivr: &Value) -> String {
    ivr.pointer("/type/currentNode/id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The end of the call: who hung up, or that it ended.
fn finish(walk: &mut Walk, at: Option<Timestamp>, facts: &CallFacts) {
    if walk.hung_up {
        return;
    }
    walk.hung_up = true;
    match facts.hangup_name() {
        Some(who) => walk.say(at, format!("{who} hung up")),
        None => walk.say(at, "call ended".to_string()),
    }
}

fn ivr_type(ivr: &Value) -> Option<&str> {
    ivr.pointer("/type/value").and_then(Value::as_str)
}

fn status(participant: &Value) -> &str {
    participant
        .pointer("/status/value")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// GoTo has no documented hold status; any status that names holding is read as one.
fn is_hold(status: &str) -> bool {
    status.contains("HOLD")
}

/// `+0:12`, `+12:03`, `+1:02:03`: time since the call started.
pub(crate) fn offset(at: Timestamp, start: Timestamp) -> String {
    let seconds = at.duration_since(start).as_secs().max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("+{h}:{m:02}:{s:02}")
    } else {
        format!("+{m}:{s:02}")
    }
}
