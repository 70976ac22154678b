//! What GoTo's own captured reports show that a call's facts alone do not: a menu the caller
//! answered, a person rung on two devices, a queue ringing its agents in rounds, a transfer
//! with who made it and where to, a matched contact and a satisfaction survey. Each is drawn
//! from the call's salt, never from the history's random stream, so every call keeps the
//! attributes (and summary) it had; the same call always gets the same shape.

use serde_json::{Value, json};

use super::calls::{CallFacts, Flow, Outcome};
use super::directory::Directory;
use super::rng::{hash, uuid_from};

const D_SHAPE: u64 = 0x5A4E;
const D_DEVICE: u64 = 0xDE71;
const D_CONTACT: u64 = 0xC047;

/// Participant indexes of the parties only the report lists (the summary never does).
pub(crate) const SECOND_DEVICE: u64 = 40;
/// Agents a queue rang in round `r` (0, 1) are `QUEUE_ROUNDS + 10 * r + k`.
pub(crate) const QUEUE_ROUNDS: u64 = 60;

/// The extra shapes of one call's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The key the caller pressed at the dial plan's menu.
    pub menu_option: Option<u64>,
    /// The first person rung also rang on a second device (its id).
    pub second_device: Option<String>,
    /// The first person who answered transferred the call to the second.
    pub transfer: bool,
    /// People an abandoned queue rang, twice, before the caller gave up.
    pub queue_agents: Vec<usize>,
    /// The contact GoTo matched to the outside party.
    pub contact: Option<String>,
    /// A satisfaction survey after the call: score and feedback.
    pub survey: Option<(u64, &'static str)>,
    /// After the rings of a missed call the voicemail box answered and took no message. The
    /// states show it; GoTo's own missed report lists it at the top level too, which the
    /// simulator does not yet, so a client that reads any voicemail entry as a voicemail still
    /// agrees with the summary's MISSED.
    pub failed_voicemail: bool,
}

const FEEDBACK: [&str; 4] = [
    "Quick and friendly, thank you.",
    "Had to wait too long in the queue.",
    "",
    "Problem solved on the first call.",
];

/// The shape of `call`'s report.
pub(crate) fn shape(dir: &Directory, call: &CallFacts) -> Shape {
    let bits = hash(&[call.salt, D_SHAPE]);
    let draw = |shift: u32, n: u64| (bits >> shift) % n;
    let inbound = call.flow == Flow::Inbound;
    let people = dir.people.len();
    let queue_agents = if inbound && call.outcome == Outcome::LeftQueue && people >= 2 {
        let first = draw(20, people as u64) as usize;
        let step = 1 + draw(28, people as u64 - 1) as usize;
        vec![first, (first + step) % people]
    } else {
        Vec::new()
    };
    Shape {
        menu_option: (inbound && draw(0, 3) != 0).then(|| 1 + draw(4, 4)),
        second_device: (inbound && !call.targets.is_empty() && draw(8, 4) == 0)
            .then(|| uuid_from(&[call.salt, D_DEVICE], 4)),
        transfer: inbound && call.connected && call.queue.is_none() && call.targets.len() == 2,
        queue_agents,
        contact: (call.flow != Flow::Internal && draw(12, 2) == 0)
            .then(|| uuid_from(&[call.salt, D_CONTACT], 4)),
        survey: (inbound && call.connected && draw(16, 4) == 0)
            .then(|| (1 + draw(36, 5), FEEDBACK[draw(40, 4) as usize])),
        failed_voicemail: inbound
            && call.outcome == Outcome::Missed
            && !call.targets.is_empty()
            && draw(44, 2) == 0,
    }
}

/// GoTo announced `SATISFACTION_SURVEY` (2025-11) without its fields: these names (`score`,
/// `feedback`) are a guess, so that clients meet one and must show what they can of it.
pub(crate) fn survey_type(score: u64, feedback: &str) -> Value {
    json!({
        "value": "SATISFACTION_SURVEY",
        "score": score,
        "maxScore": 5,
        "feedback": feedback,
    })
}
