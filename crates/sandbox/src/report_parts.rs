//! What a report's top level and its `callStates` timeline must agree on (the IVR ids, the
//! outside party's role, the voicemail number), in one place both draw from.

use super::calls::{CallFacts, Flow};
use super::directory::Directory;
use super::rng::uuid_from;

const D_IVR: u64 = 0x1F2;

/// Ids of the call's interactive voice response systems (dial plan, queue, voicemail).
pub(crate) fn ivr_id(call: &CallFacts, which: u64) -> String {
    uuid_from(&[call.salt, D_IVR, which], 5)
}
pub(crate) const IVR_DIAL_PLAN: u64 = 0;
pub(crate) const IVR_QUEUE: u64 = 1;
pub(crate) const IVR_VOICEMAIL: u64 = 2;
pub(crate) const IVR_SURVEY: u64 = 3;

/// The outside party of a phone-number leg: the `caller` (with the name caller ID showed)
/// on an inbound call, the `callee` (no name) on an outbound one.
pub(crate) fn outside_role(inbound: bool, name: &str) -> (&'static str, &str) {
    if inbound {
        ("caller", name)
    } else {
        ("callee", "")
    }
}

/// The number the voicemail box answered on: the company number, or the extension called.
pub(crate) fn voicemail_number(dir: &Directory, call: &CallFacts) -> String {
    match (call.flow, call.targets.first()) {
        (Flow::Internal, Some(t)) => dir.people[*t].extension.clone(),
        _ => dir.dids[call.did].number.clone(),
    }
}
