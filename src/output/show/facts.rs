//! What `cer show` reads from a report's top level before it walks the call states: when the
//! call started and ended, who the parties are (by participant id), the voice systems with
//! their waits and durations, and who hung up. Every text here is escaped for the terminal.

use jiff::Timestamp;
use serde_json::Value;

use super::super::escape::terminal_safe;
use super::super::party::PartyCell;
use super::super::time::human_duration;

/// A report's top level, read once.
pub(crate) struct CallFacts<'a> {
    pub created: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub participants: Vec<&'a Value>,
    /// The voice systems (queue, voicemail…) by id, in the report's order.
    pub ivrs: Vec<(String, &'a Value)>,
    originator: Option<&'a str>,
    hangup: Option<&'a str>,
}

impl<'a> CallFacts<'a> {
    pub(crate) fn of(report: &'a Value) -> Self {
        let time = |name: &str| report.get(name)?.as_str()?.parse::<Timestamp>().ok();
        let list = |name: &str| -> Vec<&'a Value> {
            report
                .get(name)
                .and_then(Value::as_array)
                .map(|l| l.iter().collect())
                .unwrap_or_default()
        };
        let participants = list("participants");
        let originator = participants
            .iter()
            .find_map(|p| p.get("originator").and_then(Value::as_str));
        let ivrs = list("interactiveVoiceResponseSystems")
            .into_iter()
            .map(|ivr| (text(ivr, "id").unwrap_or("").to_string(), ivr))
            .collect();
        Self {
            created: time("callCreated"),
            ended: time("callEnded"),
            participants,
            ivrs,
            originator,
            hangup: report.get("hangupOriginatorId").and_then(Value::as_str),
        }
    }

    /// The participant who started the call.
    pub(crate) fn is_originator(&self, id: &str) -> bool {
        self.originator == Some(id)
    }

    /// Whether `id` is the participant GoTo says hung up.
    pub(crate) fn hangup_by(&self, id: &str) -> bool {
        self.hangup == Some(id)
    }

    pub(crate) fn participant(&self, id: &str) -> Option<&'a Value> {
        self.participants
            .iter()
            .copied()
            .find(|p| text(p, "id") == Some(id))
    }

    /// A party by name and number: from the state's own copy, else the report's.
    pub(crate) fn name_of(&self, id: &str, in_state: &Value) -> String {
        let cell = PartyCell::of_participant(in_state, 0);
        let cell = match self.participant(id) {
            Some(known) if cell.is_empty() => PartyCell::of_participant(known, 0),
            _ => cell,
        };
        if cell.is_empty() {
            "someone".to_string()
        } else {
            cell.fitted(usize::MAX)
        }
    }

    /// Who hung up, when GoTo names a participant of the call.
    pub(crate) fn hangup_name(&self) -> Option<String> {
        let participant = self.participant(self.hangup?)?;
        Some(self.name_of(self.hangup?, participant))
    }

    /// The first line: who called which number, or who placed the call.
    pub(crate) fn opening(&self) -> String {
        let Some(caller) = self.originator.and_then(|id| self.participant(id)) else {
            return "call started".to_string();
        };
        let who = self.name_of(self.originator.unwrap_or(""), caller);
        match (
            caller.pointer("/type/caller"),
            caller.pointer("/type/number"),
        ) {
            (Some(_), Some(Value::String(number))) => {
                format!("{who} called {}", terminal_safe(number))
            }
            _ => format!("{who} placed the call"),
        }
    }

    /// A voice system in words: the dial plan's step, the queue and the wait, the voicemail.
    /// `name_agent`: whether a queue's line names the agent who took the call, which only
    /// helps where the states do not show that agent answering.
    pub(crate) fn ivr_text(&self, ivr: &Value, name_agent: bool) -> String {
        let kind = ivr.get("type").unwrap_or(&Value::Null);
        let field = |name: &str| text(kind, name).map(|t| terminal_safe(t).into_owned());
        match text(kind, "value") {
            Some("DIAL_PLAN") => {
                let node = kind.pointer("/currentNode/type").and_then(Value::as_str);
                let result = kind.pointer("/currentNode/result").and_then(Value::as_str);
                match (node, result) {
                    (Some(n), Some(r)) => format!("dial plan: {} ({})", terminal_safe(n), words(r)),
                    (Some(n), None) => format!("dial plan: {}", terminal_safe(n)),
                    _ => "in the dial plan".to_string(),
                }
            }
            Some("CALL_QUEUE") => {
                let agent = name_agent
                    .then(|| self.agent_from(text(ivr, "id").unwrap_or("")))
                    .flatten();
                queue_text(kind, field("queueName"), field("extensionNumber"), agent)
            }
            Some("VOICEMAIL") => voicemail_text(kind, field("number")),
            Some(other) => words(other),
            None => "a voice system".to_string(),
        }
    }

    /// The agent who took the call from the queue with voice-system id `ivr_id`: GoTo links an
    /// agent to the queue it answered for by `type.interactiveVoiceResponseSystemId`.
    fn agent_from(&self, ivr_id: &str) -> Option<String> {
        if ivr_id.is_empty() {
            return None;
        }
        let mut agents = self.participants.iter().filter(|p| {
            p.pointer("/type/interactiveVoiceResponseSystemId")
                .and_then(Value::as_str)
                == Some(ivr_id)
        });
        // Several agents of the queue took part (rung, or one after another): which one
        // answered is not known here, so none is named.
        let (Some(agent), None) = (agents.next(), agents.next()) else {
            return None;
        };
        Some(self.name_of(text(agent, "id").unwrap_or(""), agent))
    }

    /// The queue an agent took the call from, by the agent's voice-system id.
    pub(crate) fn queue_name(&self, ivr_id: &str) -> Option<String> {
        let (_, ivr) = self.ivrs.iter().find(|(id, _)| id == ivr_id)?;
        text(ivr.get("type")?, "queueName").map(|n| terminal_safe(n).into_owned())
    }
}

fn queue_text(
    kind: &Value,
    name: Option<String>,
    extension: Option<String>,
    agent: Option<String>,
) -> String {
    let mut line = match (name, extension) {
        (Some(n), Some(e)) => format!("queue {n} ({e})"),
        (Some(n), None) => format!("queue {n}"),
        (None, Some(e)) => format!("queue {e}"),
        (None, None) => "a queue".to_string(),
    };
    let waited = kind.get("callerWaitDuration").and_then(Value::as_i64);
    let reason = text(kind, "leftQueueReason");
    let detail = match (reason, waited) {
        (Some("ANSWERED"), Some(ms)) => match agent {
            Some(agent) => format!(
                ": {agent} answered after the caller waited {}",
                seconds_text(ms)
            ),
            None => format!(": answered after {}", seconds_text(ms)),
        },
        (Some("ABANDON"), Some(ms)) => format!(": the caller gave up after {}", seconds_text(ms)),
        (Some(other), Some(ms)) => format!(": waited {}, {}", seconds_text(ms), words(other)),
        (None, Some(ms)) => format!(": waited {}", seconds_text(ms)),
        (Some("ABANDON"), None) => ": the caller gave up".to_string(),
        (Some(other), None) => format!(": {}", words(other)),
        (None, None) => String::new(),
    };
    line.push_str(&detail);
    if kind.get("callbackOffered").and_then(Value::as_bool) == Some(true) {
        line.push_str(", callback offered");
    }
    line
}

fn voicemail_text(kind: &Value, number: Option<String>) -> String {
    let mut line = match number {
        Some(n) => format!("voicemail box {n}"),
        None => "voicemail".to_string(),
    };
    if let Some(ms) = kind.get("duration").and_then(Value::as_i64) {
        line.push_str(&format!(": the caller left a {} message", seconds_text(ms)));
    }
    match text(kind, "voicemailStatus") {
        Some("SUCCESS") | None => {}
        Some(other) => line.push_str(&format!(" ({})", words(other))),
    }
    line
}

/// `PARKED_CALL` as `parked call`, escaped.
pub(crate) fn words(value: &str) -> String {
    terminal_safe(&value.to_lowercase().replace('_', " ")).into_owned()
}

fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// A duration GoTo gives in milliseconds: `2.9s`, `35s`, `2m 50s`.
pub(crate) fn seconds_text(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else {
        human_duration(ms / 1000)
    }
}
