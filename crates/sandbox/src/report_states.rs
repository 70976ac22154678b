//! The `callStates` timeline of a report: STARTING, the ACTIVE steps a call of its kind goes
//! through, then ENDING; every timestamp within [callCreated, callEnded] and non-decreasing.

use serde_json::{Value, json};

use super::calls::{CallFacts, Flow, Leg, Outcome, Party};
use super::directory::Directory;
use super::report_parts::{
    IVR_DIAL_PLAN, IVR_QUEUE, IVR_VOICEMAIL, ivr_id, outside_role, voicemail_number,
};
use super::report_shape::{QUEUE_ROUNDS, SECOND_DEVICE, Shape, shape};
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
    let shape = shape(dir, call);
    let caller = &legs[0];
    let p = |leg: &Leg<'_>, status| state_participant(call, leg, status);
    let in_ivr = || vec![p(caller, "IN_INTERACTIVE_VOICE_RESPONSE")];
    let mut steps = vec![step(
        "STARTING",
        t.created,
        vec![p(caller, "RINGING")],
        vec![],
    )];
    dial_plan_steps(dir, call, &t, &shape, &in_ivr, &mut steps);
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
    if shape.queue_agents.is_empty() {
        ring_and_answer(call, legs, &t, &shape, &mut steps);
    } else {
        queue_rounds(dir, call, &t, &shape, &in_ivr, &mut steps);
    }
    if call.outcome == Outcome::Voicemail {
        steps.push(step(
            "ACTIVE",
            t.voicemail,
            in_ivr(),
            vec![voicemail(dir, call)],
        ));
    }
    if shape.failed_voicemail {
        let mut failed = voicemail(dir, call);
        steps.push(step("ACTIVE", t.connect, in_ivr(), vec![failed.clone()]));
        failed["status"] = json!({ "value": "DISCONNECTING" });
        failed["type"]["voicemailStatus"] = json!("FAILED");
        let at = t.connect + (t.disconnect - t.connect) / 2;
        steps.push(step("ACTIVE", at, in_ivr(), vec![failed]));
    }
    let still_on: Vec<&Leg<'_>> = match (call.connected, shape.transfer) {
        (true, true) => vec![&legs[0], &legs[2]],
        (true, false) => legs.iter().collect(),
        (false, _) => vec![&legs[0]],
    };
    finish(call, &still_on, &t, steps)
}

/// The dial plan's first node, then (as GoTo does) a later state of the same node with its
/// result; with a menu, the menu node and a later state with the caller's key.
fn dial_plan_steps(
    dir: &Directory,
    call: &CallFacts,
    t: &Times,
    shape: &Shape,
    in_ivr: &dyn Fn() -> Vec<Value>,
    steps: &mut Vec<Step>,
) {
    let node = |id: &str, kind: &str, extra: Value| {
        let mut current = json!({ "id": id, "type": kind });
        if let (Some(obj), Some(more)) = (current.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        current
    };
    let first = node("ModifyCallerIdNode_1003", "ModifyCallerIdNode", json!({}));
    let done = node(
        "ModifyCallerIdNode_1003",
        "ModifyCallerIdNode",
        json!({"result": "CONTINUE"}),
    );
    steps.push(step(
        "ACTIVE",
        t.dial_plan,
        in_ivr(),
        vec![dial_plan(dir, call, first, None)],
    ));
    steps.push(step(
        "ACTIVE",
        t.dial_plan,
        in_ivr(),
        vec![dial_plan(dir, call, done, None)],
    ));
    let Some(option) = shape.menu_option else {
        return;
    };
    let previous = Some(("ModifyCallerIdNode_1003", "nextNode"));
    let span = t.queue - t.dial_plan;
    let menu = node("AttendantPromptNode_1004", "AttendantPromptNode", json!({}));
    let chosen = node(
        "AttendantPromptNode_1004",
        "AttendantPromptNode",
        json!({"option": option.to_string(), "result": "DIALED_OPTION"}),
    );
    let (asked, answered) = (t.dial_plan + span / 4, t.dial_plan + span * 3 / 4);
    steps.push(step(
        "ACTIVE",
        asked,
        in_ivr(),
        vec![dial_plan(dir, call, menu, previous)],
    ));
    steps.push(step(
        "ACTIVE",
        answered,
        in_ivr(),
        vec![dial_plan(dir, call, chosen, previous)],
    ));
}

/// The people rung (the first on two devices, maybe), who answered, and a transfer; or, when
/// nobody answered, the rings ending before the call goes on (to voicemail, or to its end).
fn ring_and_answer(
    call: &CallFacts,
    legs: &[Leg<'_>],
    t: &Times,
    shape: &Shape,
    steps: &mut Vec<Step>,
) {
    let targets = &legs[1..];
    if targets.is_empty() {
        return;
    }
    let p = |leg: &Leg<'_>, status| state_participant(call, leg, status);
    let rung = if shape.transfer {
        &targets[..1]
    } else {
        targets
    };
    let second = |status| {
        shape
            .second_device
            .as_ref()
            .map(|device| other_device(call, &targets[0], device, status))
    };
    let mut ps = vec![p(&legs[0], "IN_INTERACTIVE_VOICE_RESPONSE")];
    ps.extend(rung.iter().map(|l| p(l, "RINGING")));
    ps.extend(second("RINGING"));
    steps.push(step("ACTIVE", t.ring, ps, vec![]));
    let mut ps: Vec<Value> = if call.connected {
        std::iter::once(&legs[0])
            .chain(rung)
            .map(|l| p(l, "CONNECTED"))
            .collect()
    } else {
        // Nobody took it: the rings end, the caller stays with the dial plan.
        std::iter::once(p(&legs[0], "IN_INTERACTIVE_VOICE_RESPONSE"))
            .chain(rung.iter().map(|l| p(l, "DISCONNECTING")))
            .collect()
    };
    ps.extend(second("DISCONNECTING"));
    steps.push(step("ACTIVE", t.connect, ps, vec![]));
    if shape.transfer {
        transfer_steps(call, legs, t, steps);
    }
}

/// The first person transfers the caller to the second person's extension, who answers.
fn transfer_steps(call: &CallFacts, legs: &[Leg<'_>], t: &Times, steps: &mut Vec<Step>) {
    let p = |leg: &Leg<'_>, status| state_participant(call, leg, status);
    let (caller, first, second) = (&legs[0], &legs[1], &legs[2]);
    let at = t.connect + (t.disconnect - t.connect) / 2;
    let answered = at + ((t.disconnect - at) / 4).min(3_000);
    let mut transferring = p(caller, "IN_DIRECT_TRANSFER");
    if let (Party::Line(by) | Party::Agent(by), Party::Line(to) | Party::Agent(to)) =
        (first.party, second.party)
    {
        transferring["status"] = json!({
            "initiator": {
                "participantId": call.participant_id(first.index),
                "conversationSpaceId": super::rng::format_uuid(call.id),
                "extensionNumber": by.extension,
                "name": by.name,
            },
            "destination": { "number": to.extension },
            "value": "IN_DIRECT_TRANSFER",
        });
    }
    steps.push(step(
        "ACTIVE",
        at,
        vec![transferring.clone(), p(first, "CONNECTED")],
        vec![],
    ));
    steps.push(step(
        "ACTIVE",
        at,
        vec![transferring.clone(), p(first, "DISCONNECTING")],
        vec![],
    ));
    steps.push(step(
        "ACTIVE",
        at,
        vec![transferring, p(second, "RINGING")],
        vec![],
    ));
    let ps = vec![p(caller, "CONNECTED"), p(second, "CONNECTED")];
    steps.push(step("ACTIVE", answered, ps, vec![]));
}

/// An abandoned queue rings its agents (GoTo shows them as lines) in two rounds, each ring a
/// participant of its own, until the caller gives up.
fn queue_rounds(
    dir: &Directory,
    call: &CallFacts,
    t: &Times,
    shape: &Shape,
    in_ivr: &dyn Fn() -> Vec<Value>,
    steps: &mut Vec<Step>,
) {
    let second_round = t.ring + (t.disconnect - t.ring) / 2;
    for (round, (from, to)) in [(t.ring, second_round), (second_round, t.disconnect)]
        .into_iter()
        .enumerate()
    {
        let agent = |k: usize, status| {
            let leg = Leg {
                index: QUEUE_ROUNDS + 10 * round as u64 + k as u64,
                party: Party::Line(&dir.people[shape.queue_agents[k]]),
            };
            state_participant(call, &leg, status)
        };
        let mut ringing = in_ivr();
        ringing.extend((0..shape.queue_agents.len()).map(|k| agent(k, "RINGING")));
        steps.push(step("ACTIVE", from, ringing, vec![]));
        let gone = (0..shape.queue_agents.len()).map(|k| agent(k, "DISCONNECTING"));
        let mut ended = in_ivr();
        ended.extend(gone);
        steps.push(step("ACTIVE", to, ended, vec![]));
    }
}

/// The person of `leg` on another device: another participant, the same user.
fn other_device(call: &CallFacts, leg: &Leg<'_>, device: &str, status: &str) -> Value {
    let extra = Leg {
        index: SECOND_DEVICE,
        party: leg.party,
    };
    let mut v = state_participant(call, &extra, status);
    v["type"]["deviceId"] = json!(device);
    v["type"]["device"]["id"] = json!(device);
    v
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
    let still_on: Vec<&Leg<'_>> = if call.connected {
        legs.iter().collect()
    } else {
        // The callee's ringing stops before the caller gives up.
        let mut ps = vec![p(&legs[0], "CONNECTED")];
        ps.extend(legs[1..].iter().map(|l| p(l, "DISCONNECTING")));
        steps.push(step("ACTIVE", t.disconnect, ps, vec![]));
        vec![&legs[0]]
    };
    finish(call, &still_on, &t, steps)
}

/// Everyone still on the call disconnects, then the call ends with no participants.
fn finish(call: &CallFacts, still_on: &[&Leg<'_>], t: &Times, mut steps: Vec<Step>) -> Vec<Step> {
    let still_on: Vec<Value> = still_on
        .iter()
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

/// The dial plan's state at `node`, reached from `previous` (node id, connector).
fn dial_plan(
    dir: &Directory,
    call: &CallFacts,
    node: Value,
    previous: Option<(&str, &str)>,
) -> Value {
    let (id, connector) = previous.unwrap_or(("", ""));
    ivr_state(
        call,
        IVR_DIAL_PLAN,
        json!({
            "dialPlanId": dir.dial_plan_id,
            "executionId": uuid_from(&[call.salt, D_EXECUTION], 4),
            "currentNode": node,
            "previousNode": { "id": id, "connector": connector },
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
