//! A call's `callStates` read as what happened, in order: each state is a snapshot of who is
//! on the call and which voice systems hold it, so a line is written only for what changed
//! since the snapshot before (someone rang, answered, did not answer, went on hold, left; the
//! dial plan moved on, reached a result or heard a menu choice; a queue or a voicemail box took
//! the caller; someone transferred the call). Facts the report keeps outside its states (how
//! long the caller waited in a queue, how long a voicemail was, who hung up) complete the line
//! of the step they belong to, or come last when the states never showed that step.
//!
//! GoTo's real reports shape this walk: a node's `result` and a menu `option` arrive on a later
//! state of the same node; one person rings on several devices, and a queue rings its agents
//! in rounds, each ring a participant of its own; `hangupOriginatorId` can name someone who
//! only rang. So people are grouped by person, rings of one moment make one line, and only a
//! party that was connected can hang up or leave.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::super::escape::terminal_safe;
use super::super::party::PartyCell;
use super::facts::{CallFacts, seconds_text, words};

/// One line of the timeline: when (none for a fact the states do not place), and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub at: Option<Timestamp>,
    pub text: String,
}

/// A line later states may still add people to: rings, or rings that ended unanswered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Group {
    /// `lead` is `rang` or `transferred: rang`.
    Rang { lead: &'static str },
    /// How long they rang, in words.
    NoAnswer { rang: String },
}

/// A person in a group line: key, name, devices, and whether they had been rung before.
struct Member {
    key: String,
    name: String,
    devices: usize,
    again: bool,
}

/// Where a dial plan is: its node, that node's line, and what of the node was already said.
struct Step {
    node: String,
    line: usize,
    result: bool,
    option: bool,
}

/// Rings within this of a group's first one belong to its line.
const SAME_MOMENT: SignedDuration = SignedDuration::from_secs(1);

/// Everything the walk over the states remembers between snapshots.
struct Walk<'f, 'a> {
    facts: &'f CallFacts<'a>,
    events: Vec<Event>,
    status: HashMap<String, String>,
    person: HashMap<String, String>,
    connected: HashSet<String>,
    answered: HashSet<String>,
    rung: HashSet<String>,
    ringing_since: HashMap<String, Timestamp>,
    steps: HashMap<String, Step>,
    seen_systems: HashSet<String>,
    /// The line of each voice system other than a dial plan, by its id in the states.
    system_lines: HashMap<String, usize>,
    open: Option<(usize, Group, Vec<Member>, Option<Timestamp>)>,
    transferred_by: HashSet<String>,
    left: Vec<(usize, Option<Timestamp>)>,
    hung_up: bool,
    ended: bool,
}

/// The timeline of a report.
pub(crate) fn events(report: &Value, facts: &CallFacts) -> Vec<Event> {
    let mut walk = Walk::new(facts);
    for (k, state) in sorted_states(report).into_iter().enumerate() {
        let at = time_of(state);
        if k == 0 {
            walk.say(at, facts.opening());
        }
        walk.participants_changed(state, at);
        walk.voice_systems_changed(state, at);
        if state.get("type").and_then(Value::as_str) == Some("ENDING") {
            walk.finish(at);
        }
    }
    for (id, ivr) in &facts.ivrs {
        if !walk.seen_systems.contains(id) {
            // Out of the states' order: say who answered, which the states did not show.
            walk.say(None, facts.ivr_text(ivr, true));
        }
    }
    walk.finish(facts.ended);
    walk.events.retain(|e| !e.text.is_empty());
    walk.events
}

impl<'f, 'a> Walk<'f, 'a> {
    fn new(facts: &'f CallFacts<'a>) -> Self {
        Self {
            facts,
            events: Vec::new(),
            status: HashMap::new(),
            person: HashMap::new(),
            connected: HashSet::new(),
            answered: HashSet::new(),
            rung: HashSet::new(),
            ringing_since: HashMap::new(),
            steps: HashMap::new(),
            seen_systems: HashSet::new(),
            system_lines: HashMap::new(),
            open: None,
            transferred_by: HashSet::new(),
            left: Vec::new(),
            hung_up: false,
            ended: false,
        }
    }

    fn say(&mut self, at: Option<Timestamp>, text: String) {
        self.events.push(Event { at, text });
    }

    /// Lines for the participants whose status changed.
    fn participants_changed(&mut self, state: &Value, at: Option<Timestamp>) {
        let list: &[Value] = state
            .get("participants")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let someone_stays = list.iter().any(|p| status(p) != "DISCONNECTING");
        let was_connected = self.connected.iter().any(|id| {
            !self.facts.is_originator(id) && self.status.get(id).is_some_and(|s| s == "CONNECTED")
        });
        let mut answered: Vec<String> = Vec::new();
        for participant in list {
            let Some(id) = participant.get("id").and_then(Value::as_str) else {
                continue;
            };
            let now = status(participant).to_string();
            let before = self.status.insert(id.to_string(), now.clone());
            if before.as_deref() == Some(now.as_str()) {
                continue;
            }
            if !matches!(now.as_str(), "RINGING" | "DISCONNECTING" | "") {
                // On the call (talking, held, in the dial plan): one who can hang up or leave.
                self.connected.insert(id.to_string());
            }
            let key = self.key_of(id, participant);
            let who = self.facts.name_of(id, participant);
            let caller = self.facts.is_originator(id);
            match now.as_str() {
                "RINGING" if !caller => self.rang(&key, who, at, was_connected),
                "CONNECTED" if before.as_deref().is_some_and(is_hold) => {
                    self.say(at, format!("{who} back from hold"));
                }
                "CONNECTED" => {
                    self.ringing_since.remove(&key);
                    if !caller && self.answered.insert(key) {
                        answered.push(who);
                    }
                }
                "DISCONNECTING" => self.disconnected(id, &key, who, at, someone_stays),
                s if is_hold(s) => self.say(at, format!("{who} on hold")),
                s if s.contains("TRANSFER") => self.transferred(participant, at),
                "RINGING" | "IN_INTERACTIVE_VOICE_RESPONSE" | "" => {}
                other => self.say(at, format!("{who}: {}", words(other))),
            }
        }
        if !answered.is_empty() {
            self.say(at, format!("{} answered", and_list(&answered)));
        }
    }

    /// The person participant `id` is, remembered from its first sight.
    fn key_of(&mut self, id: &str, participant: &Value) -> String {
        if let Some(key) = self.person.get(id) {
            return key.clone();
        }
        let key = self.facts.person_key(id, participant);
        self.person.insert(id.to_string(), key.clone());
        key
    }

    /// A person started ringing (on one more device, maybe): one line for a moment's rings.
    fn rang(&mut self, key: &str, who: String, at: Option<Timestamp>, was_connected: bool) {
        self.ringing_since
            .entry(key.to_string())
            .or_insert_with(|| at.unwrap_or_default());
        let again = !self.rung.insert(key.to_string());
        let lead = if was_connected && self.transferred_by.is_empty() {
            "transferred: rang"
        } else {
            "rang"
        };
        self.add_to_group(Group::Rang { lead }, key, who, again, at);
    }

    /// A participant's leg ended: a ring nobody took, a party who hung up or left.
    fn disconnected(
        &mut self,
        id: &str,
        key: &str,
        who: String,
        at: Option<Timestamp>,
        stays: bool,
    ) {
        if !self.connected.contains(id) {
            let other_device = self.person.iter().any(|(other, k)| {
                other != id
                    && k == key
                    && self
                        .status
                        .get(other)
                        .is_some_and(|s| s == "RINGING" || s == "CONNECTED")
            });
            if other_device || self.answered.contains(key) || self.facts.is_originator(id) {
                return;
            }
            let since = self.ringing_since.remove(key);
            let rang = match (since, at) {
                (Some(a), Some(b)) => seconds_text(b.duration_since(a).as_millis() as i64),
                _ => "?".to_string(),
            };
            self.add_to_group(Group::NoAnswer { rang }, key, who, false, at);
        } else if self.facts.hangup_by(id) && !self.hung_up {
            self.hung_up = true;
            self.forget_recent_leaves(at);
            self.say(at, format!("{who} hung up"));
        } else if !self.transferred_by.contains(id) && stays {
            self.left.push((self.events.len(), at));
            self.say(at, format!("{who} left"));
        }
    }

    /// Legs GoTo closes just before the leg of the one who hung up were closed by that hang-up.
    fn forget_recent_leaves(&mut self, at: Option<Timestamp>) {
        for (line, left_at) in std::mem::take(&mut self.left) {
            let close = match (left_at, at) {
                (Some(a), Some(b)) => b.duration_since(a) <= SAME_MOMENT,
                _ => false,
            };
            if close {
                self.events[line].text.clear();
            }
        }
    }

    /// A transfer, from the state's details: who transferred the call, and to what.
    fn transferred(&mut self, participant: &Value, at: Option<Timestamp>) {
        let detail = participant.get("status").unwrap_or(&Value::Null);
        let initiator = detail.get("initiator");
        let by_id = initiator
            .and_then(|i| i.get("participantId"))
            .and_then(Value::as_str);
        let by =
            initiator.map(
                |i| match by_id.and_then(|id| Some((id, self.facts.participant(id)?))) {
                    Some((id, known)) => self.facts.name_of(id, known),
                    None => PartyCell::named(text(i, "name"), text(i, "extensionNumber"), 0)
                        .fitted(usize::MAX),
                },
            );
        let by = by.filter(|b| !b.is_empty());
        if let Some(id) = by_id {
            self.transferred_by.insert(id.to_string());
        }
        let to = detail
            .pointer("/destination/number")
            .and_then(Value::as_str)
            .map(|n| self.facts.destination(n));
        let line = match (by, to) {
            (Some(by), Some(to)) => format!("{by} transferred the call to {to}"),
            (Some(by), None) => format!("{by} transferred the call"),
            (None, Some(to)) => format!("the call was transferred to {to}"),
            (None, None) => "the call was transferred".to_string(),
        };
        self.say(at, line);
    }

    /// Adds a person to the open group line of the same kind and moment, or opens one.
    fn add_to_group(
        &mut self,
        group: Group,
        key: &str,
        name: String,
        again: bool,
        at: Option<Timestamp>,
    ) {
        let last = self.events.len().checked_sub(1);
        let joins = match &self.open {
            Some((line, open, _, since)) => {
                Some(*line) == last && *open == group && within(*since, at)
            }
            None => false,
        };
        if !joins {
            self.events.push(Event {
                at,
                text: String::new(),
            });
            self.open = Some((self.events.len() - 1, group, Vec::new(), at));
        }
        let Some((line, group, members, _)) = &mut self.open else {
            return;
        };
        match members.iter_mut().find(|m| m.key == key) {
            Some(member) => member.devices += 1,
            None => members.push(Member {
                key: key.to_string(),
                name,
                devices: 1,
                again,
            }),
        }
        self.events[*line].text = group_text(group, members);
    }

    /// Lines for voice systems that took the caller, or dial plans that moved on.
    fn voice_systems_changed(&mut self, state: &Value, at: Option<Timestamp>) {
        let list: &[Value] = state
            .get("interactiveVoiceResponseSystems")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        for ivr in list {
            let id = text(ivr, "id").unwrap_or("").to_string();
            if ivr_type(ivr) == Some("DIAL_PLAN") {
                self.plan_step(id, ivr, at);
                continue;
            }
            if !self.seen_systems.insert(id.clone()) {
                self.voicemail_failed(&id, ivr);
                continue;
            }
            // The report's own entry knows more (waits, durations) than the state's.
            let known = self
                .facts
                .ivrs
                .iter()
                .find(|(known, entry)| *known == id || same_box(ivr, entry));
            let line = match known {
                Some((known_id, entry)) => {
                    self.seen_systems.insert(known_id.clone());
                    self.facts.ivr_text(entry, false)
                }
                None => self.facts.ivr_text(ivr, false),
            };
            self.system_lines.insert(id, self.events.len());
            self.say(at, line);
        }
    }

    /// A voicemail box whose later state says it took no message (`voicemailStatus` other
    /// than SUCCESS) when its line does not say so yet.
    fn voicemail_failed(&mut self, id: &str, ivr: &Value) {
        let status = ivr.pointer("/type/voicemailStatus").and_then(Value::as_str);
        let (Some(status), Some(&line)) = (status, self.system_lines.get(id)) else {
            return;
        };
        let text = &mut self.events[line].text;
        if status != "SUCCESS" && ivr_type(ivr) == Some("VOICEMAIL") && !text.contains("no message")
        {
            text.push_str(&format!(": no message left ({})", words(status)));
        }
    }

    /// A dial plan's node: a line when it is reached; its result added to that line, and a
    /// menu choice as a line of its own, when a later state of the same node brings them.
    fn plan_step(&mut self, id: String, ivr: &Value, at: Option<Timestamp>) {
        let node = ivr
            .pointer("/type/currentNode/id")
            .and_then(Value::as_str)
            .unwrap_or("");
        let result = ivr
            .pointer("/type/currentNode/result")
            .and_then(Value::as_str);
        let option = ivr.pointer("/type/currentNode/option").and_then(value_text);
        match self.steps.get_mut(&id) {
            Some(step) if step.node == node => {
                if let (Some(option), false) = (&option, step.option) {
                    step.option = true;
                    step.result = true;
                    let pressed = format!("the caller pressed {}", terminal_safe(option));
                    self.say(at, pressed);
                } else if let (Some(result), false) = (result, step.result) {
                    step.result = true;
                    // Every node a plan leaves as the call ends says COMPLETED: nothing to add.
                    if result == "COMPLETED" {
                        return;
                    }
                    let line = step.line;
                    self.events[line]
                        .text
                        .push_str(&format!(" ({})", words(result)));
                }
            }
            _ => {
                let line = self.events.len();
                let step = Step {
                    node: node.to_string(),
                    line,
                    result: result.is_some(),
                    option: false,
                };
                self.steps.insert(id.clone(), step);
                self.seen_systems.insert(id);
                self.say(at, self.facts.ivr_text(ivr, false));
                if let Some(option) = option {
                    self.say(at, format!("the caller pressed {}", terminal_safe(&option)));
                }
            }
        }
    }

    /// The end of the call, always a line: who hung up (if GoTo says and they were connected,
    /// and no state showed it), then that it ended.
    fn finish(&mut self, at: Option<Timestamp>) {
        if self.ended {
            return;
        }
        self.ended = true;
        if !self.hung_up
            && let Some(who) = self.facts.hangup_name()
        {
            self.hung_up = true;
            self.say(at, format!("{who} hung up"));
        }
        self.say(at, "call ended".to_string());
    }
}

/// `rang Ann (8601) on 2 devices and Bob (8602) again`, `Ann (8601) did not answer (rang 20s)`.
fn group_text(group: &Group, members: &[Member]) -> String {
    let names: Vec<String> = members
        .iter()
        .map(|m| {
            if m.devices > 1 {
                format!("{} on {} devices", m.name, m.devices)
            } else {
                m.name.clone()
            }
        })
        .collect();
    let names = and_list(&names);
    match group {
        Group::Rang { lead } => {
            let again = if members.iter().all(|m| m.again) {
                " again"
            } else {
                ""
            };
            format!("{lead} {names}{again}")
        }
        Group::NoAnswer { rang } => format!("{names} did not answer (rang {rang})"),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn within(since: Option<Timestamp>, at: Option<Timestamp>) -> bool {
    match (since, at) {
        (Some(a), Some(b)) => b.duration_since(a) <= SAME_MOMENT,
        _ => since.is_none() && at.is_none(),
    }
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

fn ivr_type(ivr: &Value) -> Option<&str> {
    ivr.pointer("/type/value").and_then(Value::as_str)
}

fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// A menu option as GoTo sends it: a string, or a number by another client's reading.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
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

/// `+0:12`, `+12:03`, `+1:02:03`: time since the call started, to the nearest second (as the
/// call's length is).
pub(crate) fn offset(at: Timestamp, start: Timestamp) -> String {
    let seconds = super::super::time::rounded_seconds(at.duration_since(start));
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("+{h}:{m:02}:{s:02}")
    } else {
        format!("+{m}:{s:02}")
    }
}
