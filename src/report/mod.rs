//! One typed view of a call's report: GoTo's exact text, read once when it arrives, beside the
//! few values cer needs (its ID, times, direction, parties, and what the call reached). What
//! is printed, stored and delivered is the text; everything cer decides is read from the
//! values. Nothing builds a tree of the whole report, so a report costs about its size.

mod id;
pub mod media;
mod same;
mod view;

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::value::RawValue;

pub use id::ConversationId;
pub use same::{FieldDigests, json_digest, same_json};
pub use view::top_level_fields;
use view::{EntryShape, KindShape, NamedShape, ParticipantShape, Shape, each, object, text};

/// A report as GoTo sent it, and what cer reads from it. Cloning shares both.
#[derive(Debug, Clone)]
pub struct Report(Arc<Inner>);

/// The text keeps the buffer the body was read into: no copy of a report is ever made.
#[derive(Debug)]
struct Inner {
    text: String,
    facts: Facts,
}

/// The values cer reads from a report; a field GoTo left out (or sent as another type) is
/// `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `conversationSpaceId`, as GoTo wrote it.
    pub id: Option<String>,
    /// `accountKey`.
    pub account_key: Option<String>,
    /// `callCreated`, read as a time.
    pub call_created: Option<Timestamp>,
    /// `callAnswered`: on inbound calls the dial plan's pickup, not a person's.
    pub call_answered: Option<Timestamp>,
    /// `callEnded`, read once: the cursor, the order of a catch-up and the line all use it.
    pub call_ended: Option<Timestamp>,
    /// `direction` (`INBOUND`, `OUTBOUND`…).
    pub direction: Option<String>,
    /// The originating participant (else the first one).
    pub caller: Option<Party>,
    /// The first participant besides the caller.
    pub callee: Option<Party>,
    /// How many participants besides the caller.
    pub others: usize,
    /// What the call reached, for its outcome.
    pub reach: Reach,
}

/// A party as people name it: trimmed, never empty, GoTo's text otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// The name GoTo shows for it.
    pub name: Option<String>,
    /// Its phone number, else its extension.
    pub number: Option<String>,
}

/// What happened in a call, as its call states and voice response systems show it: the facts
/// the outcome rule weighs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// A party other than the caller was `CONNECTED` in some call state.
    pub connected: bool,
    /// A voicemail box took a message (`voicemailStatus` `SUCCESS`).
    pub voicemail_message: bool,
    /// A queue says the caller abandoned it.
    pub queue_abandoned: bool,
    /// A party other than the caller was in some call state (rung, at least).
    pub rung: bool,
    /// Someone was in the dial plan (`IN_INTERACTIVE_VOICE_RESPONSE`).
    pub in_dial_plan: bool,
    /// The report has any call state with participants at all.
    pub any_state: bool,
}

/// Why a body is not a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Valid or not, it is no JSON object.
    #[error("the report is not a JSON object")]
    NotAnObject,
    /// Not JSON, or not one document (the parser's words, escaped).
    #[error("the report is not valid JSON: {0}")]
    Invalid(String),
}

/// The one rule for who placed a call: the participant whose `originator` is its own `id`.
pub fn is_caller(id: Option<&str>, originator: Option<&str>) -> bool {
    id.is_some() && id == originator
}

/// [`is_caller`] for a participant as a `serde_json::Value` (a stored report `show` reads).
pub fn is_caller_value(participant: &serde_json::Value) -> bool {
    let field = |name| participant.get(name).and_then(serde_json::Value::as_str);
    is_caller(field("id"), field("originator"))
}

/// What a call reached, from a report as fetched or from one a reader holds as a `Value`
/// (`show` reads stored reports that way).
pub trait Reached {
    /// What the call reached.
    fn reach(&self) -> Reach;
}

impl Reached for Report {
    fn reach(&self) -> Reach {
        self.0.facts.reach
    }
}

impl Reached for serde_json::Value {
    fn reach(&self) -> Reach {
        Report::parse(self.to_string())
            .map(|report| report.0.facts.reach)
            .unwrap_or_default()
    }
}

impl Report {
    /// Reads a report from GoTo's text: one JSON object, any fields, any shape.
    pub fn parse(text: impl Into<String>) -> Result<Self, ReportError> {
        let text: String = text.into();
        if !text.trim_start().starts_with('{') {
            return Err(ReportError::NotAnObject);
        }
        let facts = {
            let shape: Shape<'_> = serde_json::from_str(&text).map_err(|err| {
                ReportError::Invalid(crate::escape::terminal_safe(&err.to_string()).into_owned())
            })?;
            Facts::of(&shape)
        };
        Ok(Self(Arc::new(Inner { text, facts })))
    }

    /// A report held as a `Value` (a test's, a benchmark's), read from its JSON text.
    pub fn of_value(value: &serde_json::Value) -> Result<Self, ReportError> {
        Self::parse(value.to_string())
    }

    /// The report exactly as GoTo sent it.
    pub fn text(&self) -> &str {
        &self.0.text
    }

    /// What cer reads from it.
    pub fn facts(&self) -> &Facts {
        &self.0.facts
    }

    /// Its `conversationSpaceId`, or `""` when it has none.
    pub fn id(&self) -> &str {
        self.0.facts.id.as_deref().unwrap_or_default()
    }
}

impl Facts {
    fn of(shape: &Shape<'_>) -> Self {
        let owned = |raw: Option<&RawValue>| text(raw).map(std::borrow::Cow::into_owned);
        let time = |raw: Option<&RawValue>| text(raw).and_then(|t| t.parse::<Timestamp>().ok());
        let (caller, callee, others) = parties(shape.participants);
        Self {
            id: owned(shape.conversation_space_id),
            account_key: owned(shape.account_key),
            call_created: time(shape.call_created),
            call_answered: time(shape.call_answered),
            call_ended: time(shape.call_ended),
            direction: owned(shape.direction),
            caller,
            callee,
            others,
            reach: reach(shape),
        }
    }
}

fn originates(participant: &ParticipantShape<'_>) -> bool {
    is_caller(
        text(participant.id).as_deref(),
        text(participant.originator).as_deref(),
    )
}

/// The caller (the originator, else the first participant), the first other participant, and
/// how many others there are, in one pass.
fn parties(participants: Option<&RawValue>) -> (Option<Party>, Option<Party>, usize) {
    let (mut first_two, mut originator) = (Vec::with_capacity(2), None);
    let mut count = 0usize;
    each(participants, |p: ParticipantShape<'_>| {
        if count < 2 {
            first_two.push(party(&p));
        }
        if originator.is_none() && originates(&p) {
            originator = Some((count, party(&p)));
        }
        count += 1;
    });
    let mut first_two = first_two.into_iter();
    let (first, second) = (first_two.next(), first_two.next());
    let others = count.saturating_sub(1);
    match originator {
        Some((0, caller)) => (Some(caller), second, others),
        Some((_, caller)) => (Some(caller), first, others),
        None => (first, second, others),
    }
}

/// A participant's outside party (`caller` or `callee` of a phone-number leg), else its line,
/// agent or number itself.
fn party(participant: &ParticipantShape<'_>) -> Party {
    let clean = |raw: Option<&RawValue>| {
        text(raw)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let kind: KindShape<'_> = object(participant.kind).unwrap_or_default();
    let outside = kind.caller.or(kind.callee);
    match object::<NamedShape<'_>>(outside) {
        Some(outside) => Party {
            name: clean(outside.name),
            number: clean(outside.number),
        },
        None => Party {
            name: clean(kind.name),
            number: clean(kind.extension_number).or_else(|| clean(kind.number)),
        },
    }
}

/// What the call reached: each call state's participants and each voice response system,
/// read one at a time.
fn reach(shape: &Shape<'_>) -> Reach {
    let mut reach = Reach::default();
    each(shape.call_states, |state: EntryShape<'_>| {
        each(state.participants, |p: ParticipantShape<'_>| {
            let status = object::<NamedShape<'_>>(p.status).and_then(|s| text(s.value));
            let status = status.as_deref();
            let other = !originates(&p);
            reach.any_state = true;
            reach.rung |= other;
            reach.connected |= other && status == Some("CONNECTED");
            reach.in_dial_plan |= status == Some("IN_INTERACTIVE_VOICE_RESPONSE");
        });
    });
    each(
        shape.interactive_voice_response_systems,
        |ivr: EntryShape<'_>| {
            let kind: KindShape<'_> = object(ivr.kind).unwrap_or_default();
            let is = |raw, want: &str| text(raw).as_deref() == Some(want);
            match text(kind.value).as_deref() {
                Some("VOICEMAIL") => {
                    reach.voicemail_message |= is(kind.voicemail_status, "SUCCESS");
                }
                Some("CALL_QUEUE") => {
                    reach.queue_abandoned |= is(kind.left_queue_reason, "ABANDON");
                }
                _ => {}
            }
        },
    );
    reach
}

#[cfg(test)]
mod tests;
