//! What `cer show` reads from a report's top level before it walks the call states: when the
//! call started and ended, who the parties are (by participant id), the voice systems with
//! their waits and durations, and who hung up. Every text here is escaped for the terminal.

use std::collections::HashSet;

use jiff::Timestamp;
use serde_json::Value;

use super::super::escape::terminal_safe;
use super::super::party::{PartyCell, one_space};
use super::super::time::human_duration;

/// A report's top level, read once.
pub(crate) struct CallFacts<'a> {
    pub created: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub participants: Vec<&'a Value>,
    /// The voice systems (queue, voicemail…) by id, in the report's order.
    pub ivrs: Vec<(String, &'a Value)>,
    /// GoTo's `actions` (a new voicemail names its box's extension).
    actions: Vec<&'a Value>,
    /// Participants some state shows on the call: only they can have hung up.
    connected: HashSet<&'a str>,
    originator: Option<&'a str>,
    hangup: Option<&'a str>,
}

/// One person of the call however many devices rang: a user by GoTo's user id, else a name
/// and number.
pub(crate) struct Person<'a> {
    pub key: String,
    pub participant: &'a Value,
    pub devices: usize,
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
        let connected = list("callStates")
            .into_iter()
            .filter_map(|s| s.get("participants")?.as_array())
            .flatten()
            .filter(|p| {
                // On the call in any way (talking, held, in the dial plan), not only ringing.
                let status = p.pointer("/status/value").and_then(Value::as_str);
                !matches!(status, None | Some("RINGING" | "DISCONNECTING" | ""))
            })
            .filter_map(|p| p.get("id")?.as_str())
            .collect();
        Self {
            created: time("callCreated"),
            ended: time("callEnded"),
            participants,
            ivrs,
            actions: list("actions"),
            connected,
            originator,
            hangup: report.get("hangupOriginatorId").and_then(Value::as_str),
        }
    }

    /// Whether some state shows participant `id` connected.
    pub(crate) fn was_connected(&self, id: &str) -> bool {
        self.connected.contains(id)
    }

    /// Which person participant `id` is: GoTo's user id (the report's or the state's device
    /// user), else the name and number shown.
    pub(crate) fn person_key(&self, id: &str, in_state: &Value) -> String {
        let user = |p: &Value| {
            p.pointer("/type/userId")
                .or_else(|| p.pointer("/type/device/user/id"))
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
                .map(|u| format!("user {u}"))
        };
        self.participant(id)
            .and_then(user)
            .or_else(|| user(in_state))
            .unwrap_or_else(|| format!("party {}", self.name_of(id, in_state)))
    }

    /// The report's participants as people, in order: one entry for a person on several
    /// devices (or rung several times by a queue), with how many devices.
    pub(crate) fn persons(&self) -> Vec<Person<'a>> {
        let mut persons: Vec<Person<'a>> = Vec::new();
        let mut devices: Vec<HashSet<String>> = Vec::new();
        for p in &self.participants {
            let id = text(p, "id").unwrap_or("");
            let key = self.person_key(id, p);
            let device = p
                .pointer("/type/deviceId")
                .and_then(Value::as_str)
                .map_or_else(|| id.to_string(), str::to_string);
            match persons.iter().position(|known| known.key == key) {
                Some(k) => {
                    devices[k].insert(device);
                    persons[k].devices = devices[k].len();
                }
                None => {
                    persons.push(Person {
                        key,
                        participant: p,
                        devices: 1,
                    });
                    devices.push(HashSet::from([device]));
                }
            }
        }
        persons
    }

    /// A transfer's target in words: the queue or the party with that extension, else the
    /// number itself.
    pub(crate) fn destination(&self, number: &str) -> String {
        let queue = self.ivrs.iter().find(|(_, ivr)| {
            ivr.pointer("/type/extensionNumber").and_then(Value::as_str) == Some(number)
                && ivr.pointer("/type/value").and_then(Value::as_str) == Some("CALL_QUEUE")
        });
        if let Some((_, ivr)) = queue {
            let kind = ivr.get("type").unwrap_or(&Value::Null);
            let field = |n: &str| text(kind, n).map(|t| terminal_safe(t).into_owned());
            return queue_name_text(field("queueName"), field("extensionNumber"));
        }
        let party = self
            .participants
            .iter()
            .find(|p| p.pointer("/type/extensionNumber").and_then(Value::as_str) == Some(number));
        match party {
            Some(p) => self.name_of(text(p, "id").unwrap_or(""), p),
            None => terminal_safe(number).into_owned(),
        }
    }

    /// Whose voicemail box `kind` is: a new-voicemail action for the same box names the
    /// extension, and a participant with that extension names the person.
    fn voicemail_owner(&self, kind: &Value) -> Option<String> {
        let boxed = text(kind, "voicemailBoxId")?;
        let extension = self.actions.iter().find_map(|action| {
            let detail = action.get("type")?;
            (text(detail, "voicemailboxId").or_else(|| text(detail, "voicemailBoxId"))
                == Some(boxed))
            .then(|| text(detail, "extensionNumber"))
            .flatten()
        })?;
        Some(self.destination(extension))
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

    /// Who hung up, when GoTo names a participant of the call who was connected (GoTo can
    /// name one who only rang).
    pub(crate) fn hangup_name(&self) -> Option<String> {
        let id = self.hangup.filter(|id| self.was_connected(id))?;
        Some(self.name_of(id, self.participant(id)?))
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
            Some("VOICEMAIL") => {
                let owner = self.voicemail_owner(kind).map(|o| format!("of {o}"));
                voicemail_text(kind, owner.or_else(|| field("number")))
            }
            Some("SATISFACTION_SURVEY") => survey_text(kind),
            Some(other) => words(other),
            None => "a voice system".to_string(),
        }
    }

    /// The participant id of the agent a queue says answered, when it names just one.
    pub(crate) fn answering_agent(&self) -> Option<&'a str> {
        self.ivrs.iter().find_map(|(id, ivr)| {
            let answered = ivr.pointer("/type/leftQueueReason").and_then(Value::as_str);
            if answered != Some("ANSWERED") {
                return None;
            }
            let agent = self.only_agent_of(id)?;
            text(agent, "id")
        })
    }

    /// The one agent participant linked to queue `ivr_id` (none when several are).
    fn only_agent_of(&self, ivr_id: &str) -> Option<&'a Value> {
        if ivr_id.is_empty() {
            return None;
        }
        let mut agents = self.participants.iter().copied().filter(|p| {
            p.pointer("/type/interactiveVoiceResponseSystemId")
                .and_then(Value::as_str)
                == Some(ivr_id)
        });
        match (agents.next(), agents.next()) {
            (Some(agent), None) => Some(agent),
            _ => None,
        }
    }

    /// The agent who took the call from the queue with voice-system id `ivr_id`: GoTo links an
    /// agent to the queue it answered for by `type.interactiveVoiceResponseSystemId`.
    fn agent_from(&self, ivr_id: &str) -> Option<String> {
        // Several agents of the queue took part (rung, or one after another): which one
        // answered is not known here, so none is named.
        let agent = self.only_agent_of(ivr_id)?;
        Some(self.name_of(text(agent, "id").unwrap_or(""), agent))
    }

    /// The first queue of the report, in words (`queue Sales (1101)`).
    pub(crate) fn queue(&self) -> Option<String> {
        self.ivrs.iter().find_map(|(_, ivr)| {
            let kind = ivr.get("type")?;
            (text(kind, "value") == Some("CALL_QUEUE")).then(|| {
                let field = |n: &str| text(kind, n).map(|t| terminal_safe(t).into_owned());
                queue_name_text(field("queueName"), field("extensionNumber"))
            })
        })
    }

    /// The queue an agent took the call from, by the agent's voice-system id.
    pub(crate) fn queue_name(&self, ivr_id: &str) -> Option<String> {
        let (_, ivr) = self.ivrs.iter().find(|(id, _)| id == ivr_id)?;
        text(ivr.get("type")?, "queueName").map(|n| terminal_safe(n).into_owned())
    }
}

/// `queue Sales (1101)`.
pub(crate) fn queue_name_text(name: Option<String>, extension: Option<String>) -> String {
    match (name, extension) {
        (Some(n), Some(e)) => format!("queue {n} ({e})"),
        (Some(n), None) => format!("queue {n}"),
        (None, Some(e)) => format!("queue {e}"),
        (None, None) => "a queue".to_string(),
    }
}

fn queue_text(
    kind: &Value,
    name: Option<String>,
    extension: Option<String>,
    agent: Option<String>,
) -> String {
    let mut line = queue_name_text(name, extension);
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

/// `whose`: `of Ann (8601)` or the box's number.
fn voicemail_text(kind: &Value, whose: Option<String>) -> String {
    let mut line = match whose {
        Some(w) => format!("voicemail box {w}"),
        None => "voicemail".to_string(),
    };
    let status = text(kind, "voicemailStatus");
    match (kind.get("duration").and_then(Value::as_i64), status) {
        (_, Some(other)) if other != "SUCCESS" => {
            line.push_str(&format!(": no message left ({})", words(other)));
        }
        (Some(ms), _) => {
            line.push_str(&format!(": the caller left a {} message", seconds_text(ms)));
        }
        (None, _) => {}
    }
    line
}

/// A satisfaction survey: GoTo has not published its fields, so any score or feedback-like
/// field is shown by its own name (a score with its maximum as `4/5`), and a survey without
/// them still reads as one.
fn survey_text(kind: &Value) -> String {
    let Some(fields) = kind.as_object() else {
        return "satisfaction survey".to_string();
    };
    let maximum = fields.iter().find_map(|(name, value)| {
        let lower = name.to_ascii_lowercase();
        (lower.starts_with("max") && lower.contains("score")).then(|| value.as_f64())?
    });
    let mut parts = Vec::new();
    for (name, value) in fields {
        let lower = name.to_ascii_lowercase();
        let wanted = ["score", "rating", "feedback", "comment"]
            .iter()
            .any(|w| lower.contains(w));
        if !wanted || lower.starts_with("max") {
            continue;
        }
        let shown = match (value, maximum) {
            (Value::Number(n), Some(max)) => format!("{n}/{max}"),
            (Value::Number(n), None) => n.to_string(),
            (Value::String(s), _) if !s.trim().is_empty() => {
                format!("\"{}\"", terminal_safe(&one_space(s)))
            }
            _ => continue,
        };
        parts.push(format!("{} {shown}", terminal_safe(name)));
    }
    if parts.is_empty() {
        "satisfaction survey".to_string()
    } else {
        format!("satisfaction survey: {}", parts.join(", "))
    }
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
    } else {
        human_duration((ms + 500) / 1000)
    }
}
