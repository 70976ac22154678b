//! The `callStates` timeline of a report: STARTING, the ACTIVE steps a call of its kind goes
//! through, then ENDING; every timestamp within [callCreated, callEnded] and non-decreasing.

use serde_json::{Value, json};

use super::calls::{CallFacts, Flow, Leg, Outcome, Party};
use super::directory::Directory;
use super::report_parts::{
    IVR_DIAL_PLAN, IVR_QUEUE, IVR_VOICEMAIL, ivr_id, outside_role, voicemail_number,
};
use super::rng::uuid_from;
use super::time::fmt_ms;

const D_STATE: u64 = 0x57A7E;
const D_EXECUTION: u64 = 0xE7EC;

/// The instants of a call's steps, derived from its facts alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub created: i64,
    pub dial_plan: i64,
    pub queue: i64,
    pub ring: i64,
    pub connect: i64,
    pub voicemail: i64,
    pub disconnect: i64,
    pub ended: i64,
}

impl Times {
    pub(crate) fn of(call: &CallFacts) -> Times {
        let (t0, te) = (call.created_ms, call.ended_ms);
        let span = te - t0;
        let clamp = |t: i64, floor: i64| t.clamp(floor, te);
        let dial_plan = clamp(t0 + 137.min(span / 8), t0);
        let queue = clamp(dial_plan + (span / 10).min(1_500), dial_plan);
        let ring = match call.flow {
            Flow::Inbound => clamp(queue + (span / 10).min(2_000), queue),
            Flow::Outbound | Flow::Internal => clamp(t0 + 80.min(span / 8), t0),
        };
        let connect = match call.flow {
            Flow::Inbound => clamp(ring + (span / 6).min(6_000), ring),
            Flow::Outbound | Flow::Internal => clamp(call.answered_ms.unwrap_or(ring), ring),
        };
        let voicemail = clamp(connect.max(t0 + span / 4), connect);
        let disconnect = clamp(te - 400.min(span / 20), voicemail);
        Times {
            created: t0,
            dial_plan,
            queue,
            ring,
            connect,
            voicemail,
            disconnect,
            ended: te,
        }
    }
}

/// One ACTIVE (or STARTING/ENDING) step before numbering.
struct Step {
    kind: &'static str,
    at: i64,
    participants: Vec<Value>,
    ivrs: Vec<Value>,
}

pub(crate) fn call_states(dir: &Directory, call: &CallFacts, legs: &[Leg<'_>]) -> Vec<Value> {
    let steps = match call.flow {
        Flow::Inbound => inbound_steps(dir, call, legs),
        Flow::Outbound | Flow::Internal => outbound_steps(dir, call, legs),
    };
    steps
        .into_iter()
        .enumerate()
        .map(|(k, s)| {
            let seq = k as u64 + 1;
            let mut v = json!({
                "id": uuid_from(&[call.salt, D_STATE, seq], 5),
                "type": s.kind,
                "sequenceNumber": seq,
                "timestamp": fmt_ms(s.at),
                "participants": s.participants,
            });
            if let (Some(obj), false) = (v.as_object_mut(), s.ivrs.is_empty()) {
                obj.insert(
                    "interactiveVoiceResponseSystems".into(),
                    Value::Array(s.ivrs),
                );
            }
            v
        })
        .collect()
}

fn inbound_steps(dir: &Directory, call: &CallFacts, legs: &[Leg<'_>]) -> Vec<Step> {
    let t = Times::of(call);
    let caller = &legs[0];
    let targets = &legs[1..];
    let p = |leg: &Leg<'_>, status| state_participant(call, leg, status);
    let in_ivr = || vec![p(caller, "IN_INTERACTIVE_VOICE_RESPONSE")];
    let mut steps = vec![step(
        "STARTING",
        t.created,
        vec![p(caller, "RINGING")],
        vec![],
    )];
    steps.push(step(
        "ACTIVE",
        t.dial_plan,
        in_ivr(),
        vec![dial_plan(dir, call)],
    ));
    if let Some(q) = call.queue {
        let queue = &dir.queues[q];
        let ivr = ivr_state(
            call,
            IVR_QUEUE,
            json!({
                "queueId": queue.queue_id,
                "queueName": queue.name,
                "queueType": "BASIC",
                "extensionNumber": queue.extension,
                "value": "CALL_QUEUE",
            }),
        );
        steps.push(step("ACTIVE", t.queue, in_ivr(), vec![ivr]));
    }
    if !targets.is_empty() {
        let mut ps = in_ivr();
        ps.extend(targets.iter().map(|l| p(l, "RINGING")));
        steps.push(step("ACTIVE", t.ring, ps, vec![]));
    }
    if call.connected {
        let ps = legs.iter().map(|l| p(l, "CONNECTED")).collect();
        steps.push(step("ACTIVE", t.connect, ps, vec![]));
    }
    if call.outcome == Outcome::Voicemail {
        steps.push(step(
            "ACTIVE",
            t.voicemail,
            in_ivr(),
            vec![voicemail(dir, call)],
        ));
    }
    finish(call, legs, &t, steps)
}

fn outbound_steps(dir: &Directory, call: &CallFacts, legs: &[Leg<'_>]) -> Vec<Step> {
    let t = Times::of(call);
    let p = |leg: &Leg<'_>, status| state_participant(call, leg, status);
    let mut steps = vec![step(
        "STARTING",
        t.created,
        vec![p(&legs[0], "CONNECTED")],
        vec![],
    )];
    let mut ringing = vec![p(&legs[0], "CONNECTED")];
    ringing.extend(legs[1..].iter().map(|l| p(l, "RINGING")));
    steps.push(step("ACTIVE", t.ring, ringing, vec![]));
    if call.connected {
        let ps = legs.iter().map(|l| p(l, "CONNECTED")).collect();
        steps.push(step("ACTIVE", t.connect, ps, vec![]));
    }
    if call.outcome == Outcome::Voicemail {
        let ps = vec![p(&legs[0], "CONNECTED")];
        steps.push(step("ACTIVE", t.voicemail, ps, vec![voicemail(dir, call)]));
    }
    finish(call, legs, &t, steps)
}

/// Everyone still on the call disconnects, then the call ends with no participants.
fn finish(call: &CallFacts, legs: &[Leg<'_>], t: &Times, mut steps: Vec<Step>) -> Vec<Step> {
    let still_on: Vec<Value> = if call.connected {
        legs.iter().collect::<Vec<_>>()
    } else {
        vec![&legs[0]]
    }
    .into_iter()
    .map(|l| state_participant(call, l, "DISCONNECTING"))
    .collect();
    steps.push(step("ACTIVE", t.disconnect, still_on, vec![]));
    steps.push(step("ENDING", t.ended, vec![], vec![]));
    steps
}

fn step(kind: &'static str, at: i64, participants: Vec<Value>, ivrs: Vec<Value>) -> Step {
    Step {
        kind,
        at,
        participants,
        ivrs,
    }
}

fn dial_plan(dir: &Directory, call: &CallFacts) -> Value {
    ivr_state(
        call,
        IVR_DIAL_PLAN,
        json!({
            "dialPlanId": dir.dial_plan_id,
            "executionId": uuid_from(&[call.salt, D_EXECUTION], 4),
            "currentNode": { "id": "ModifyCallerIdNode_1003", "type": "ModifyCallerIdNode", "result": "CONTINUE" },
            "previousNode": { "id": "", "connector": "" },
            "value": "DIAL_PLAN",
        }),
    )
}

fn voicemail(dir: &Directory, call: &CallFacts) -> Value {
    ivr_state(
        call,
        IVR_VOICEMAIL,
        json!({
            "voicemailBoxId": dir.dids[call.did].voicemail_box_id,
            "number": voicemail_number(dir, call),
            "folder": "INBOX",
            "value": "VOICEMAIL",
        }),
    )
}

fn ivr_state(call: &CallFacts, which: u64, kind: Value) -> Value {
    json!({
        "id": ivr_id(call, which),
        "status": { "value": "CONNECTED" },
        "originator": call.participant_id(0),
        "type": kind,
    })
}

/// A participant inside a call state: GoTo lists `value` last in these `type` objects.
fn state_participant(call: &CallFacts, leg: &Leg<'_>, status: &str) -> Value {
    let kind = match leg.party {
        Party::Line(p) | Party::Agent(p) => {
            let mut v = json!({
                "lineId": p.line_id,
                "deviceId": p.device_id,
                "extensionNumber": p.extension,
                "name": p.name,
                "userId": p.user_id,
                "userKey": p.user_key,
                "device": { "id": p.device_id, "model": p.device_model, "user": { "id": p.user_id } },
            });
            if let (Some(obj), Party::Agent(_)) = (v.as_object_mut(), leg.party) {
                obj.insert(
                    "interactiveVoiceResponseSystemId".into(),
                    json!(ivr_id(call, IVR_QUEUE)),
                );
            }
            let value = if matches!(leg.party, Party::Agent(_)) {
                "AGENT"
            } else {
                "LINE"
            };
            if let Some(obj) = v.as_object_mut() {
                obj.insert("value".into(), json!(value));
            }
            v
        }
        Party::Pstn {
            did,
            outsider,
            inbound,
        } => {
            let (role, name) = outside_role(inbound, outsider.name);
            json!({
                "phoneNumberId": did.phone_number_id,
                "name": did.number,
                "number": did.number,
                "callProvider": "PSTN",
                role: { "name": name, "number": outsider.number },
                "value": "PHONE_NUMBER",
            })
        }
    };
    json!({
        "id": call.participant_id(leg.index),
        "legId": call.leg_id(leg.index),
        "originator": call.participant_id(0),
        "type": kind,
        "status": { "value": status },
    })
}
