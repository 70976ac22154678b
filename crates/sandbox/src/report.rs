//! Full Call Events Report JSON, shaped like GoTo's `reports/{id}` answer
//! (`goto-api/spiritai-report_answered_then_voicemail.TRIMMED.json`): same top-level fields in
//! the same order, and consistent with the call's summary (same ids, legs and timestamps).

use serde_json::{Value, json};

use super::calls::{CallFacts, Leg, Outcome, Party};
use super::directory::Directory;
use super::report_parts::{
    IVR_QUEUE, IVR_SURVEY, IVR_VOICEMAIL, ivr_id, outside_role, voicemail_number,
};
use super::report_shape::{QUEUE_ROUNDS, SECOND_DEVICE, Shape, shape, survey_type};
use super::report_states::call_states;
use super::rng::format_uuid;
use super::time::fmt_ms;

/// The whole report of a call.
pub(crate) fn report(dir: &Directory, call: &CallFacts) -> Value {
    let legs = call.legs(dir);
    let originator = call.participant_id(0);
    let shape = shape(dir, call);
    let mut participants: Vec<Value> = legs
        .iter()
        .map(|leg| report_participant(call, leg, &originator, &shape))
        .collect();
    participants.extend(report_only_participants(
        dir,
        call,
        &legs,
        &shape,
        &originator,
    ));
    // Nobody but the caller can hang up a call nobody answered.
    let hangup_index = if call.hangup_by_caller || !call.connected {
        0
    } else {
        legs.len() as u64 - 1
    };
    json!({
        "conversationSpaceId": format_uuid(call.id),
        "callCreated": fmt_ms(call.created_ms),
        "callEnded": fmt_ms(call.ended_ms),
        "callInitiator": "DIRECT",
        "direction": call.direction(),
        "accountKey": dir.account_key,
        "participants": participants,
        "interactiveVoiceResponseSystems": ivrs(dir, call, &originator, &shape),
        "associatedConversations": [],
        "hangupOriginatorId": call.participant_id(hangup_index),
        "callStates": call_states(dir, call, &legs),
    })
}

fn report_participant(call: &CallFacts, leg: &Leg<'_>, originator: &str, shape: &Shape) -> Value {
    let mut kind = participant_type(call, leg);
    if let (Party::Pstn { .. }, Some(contact), Some(obj)) =
        (leg.party, &shape.contact, kind.as_object_mut())
    {
        // GoTo (2026-01): the contact matched to the number; only `contact.id` is public.
        obj.insert("contact".into(), json!({ "id": contact }));
    }
    json!({
        "id": call.participant_id(leg.index),
        "originator": originator,
        "legId": call.leg_id(leg.index),
        "recordings": [],
        "liveTranscripts": [],
        "transcripts": [],
        "type": kind,
    })
}

/// Rings only the report lists (a summary lists those who answered): the first person's
/// second device, the agents an abandoned queue rang in each round.
fn report_only_participants(
    dir: &Directory,
    call: &CallFacts,
    legs: &[Leg<'_>],
    shape: &Shape,
    originator: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    if let (Some(device), Some(first)) = (&shape.second_device, legs.get(1)) {
        let leg = Leg {
            index: SECOND_DEVICE,
            party: first.party,
        };
        let mut p = report_participant(call, &leg, originator, shape);
        p["type"]["deviceId"] = json!(device);
        out.push(p);
    }
    for round in 0..2u64 {
        for (k, person) in shape.queue_agents.iter().enumerate() {
            let leg = Leg {
                index: QUEUE_ROUNDS + 10 * round + k as u64,
                party: Party::Line(&dir.people[*person]),
            };
            out.push(report_participant(call, &leg, originator, shape));
        }
    }
    out
}

/// A participant's `type` as the report's top level shows it (`value` first).
fn participant_type(call: &CallFacts, leg: &Leg<'_>) -> Value {
    match leg.party {
        Party::Line(p) => json!({
            "value": "LINE",
            "lineId": p.line_id,
            "deviceId": p.device_id,
            "extensionNumber": p.extension,
            "name": p.name,
            "userId": p.user_id,
            "userKey": p.user_key,
        }),
        Party::Agent(p) => json!({
            "value": "AGENT",
            "lineId": p.line_id,
            "deviceId": p.device_id,
            "extensionNumber": p.extension,
            "name": p.name,
            "userId": p.user_id,
            "userKey": p.user_key,
            "wrapUpDuration": 5_000 + (call.salt % 30_000),
            "interactiveVoiceResponseSystemId": ivr_id(call, IVR_QUEUE),
            "skills": [],
            "matchedSkills": [],
        }),
        Party::Pstn {
            did,
            outsider,
            inbound,
        } => {
            let (role, name) = outside_role(inbound, outsider.name);
            json!({
                "value": "PHONE_NUMBER",
                "phoneNumberId": did.phone_number_id,
                "number": did.number,
                "name": did.number,
                role: { "name": name, "number": outsider.number },
                "callProvider": "PSTN",
            })
        }
    }
}

/// The queue and voicemail the call went through, if any.
fn ivrs(dir: &Directory, call: &CallFacts, originator: &str, shape: &Shape) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(q) = call.queue {
        let queue = &dir.queues[q];
        let times = super::report_states::Times::of(call);
        let waited_until = if call.connected {
            times.connect
        } else {
            call.ended_ms
        };
        out.push(json!({
            "id": ivr_id(call, IVR_QUEUE),
            "originator": originator,
            "type": {
                "value": "CALL_QUEUE",
                "queueId": queue.queue_id,
                "queueName": queue.name,
                "queueType": "BASIC",
                "extensionNumber": queue.extension,
                "leftQueueReason": if call.connected { "ANSWERED" } else { "ABANDON" },
                "callbackOffered": false,
                "intents": [],
                "configuredWrapUpDuration": 30,
                "callerWaitDuration": (waited_until - times.queue).max(0),
            },
        }));
    }
    if call.outcome == Outcome::Voicemail {
        let times = super::report_states::Times::of(call);
        let length = (times.disconnect - times.voicemail).max(0);
        out.push(voicemail_box(dir, call, originator, (length, "SUCCESS")));
    }
    // A box that answered and took no message: GoTo lists it too, as report_missed shows.
    if shape.failed_voicemail {
        out.push(voicemail_box(dir, call, originator, (0, "FAILED")));
    }
    if let Some((score, feedback)) = shape.survey {
        out.push(json!({
            "id": ivr_id(call, IVR_SURVEY),
            "originator": originator,
            "type": survey_type(score, feedback),
        }));
    }
    out
}

/// The call's voicemail box among `interactiveVoiceResponseSystems`: how long the message was,
/// and whether one was left (`SUCCESS`) or not (`FAILED`).
fn voicemail_box(
    dir: &Directory,
    call: &CallFacts,
    originator: &str,
    (length, status): (i64, &str),
) -> Value {
    json!({
        "id": ivr_id(call, IVR_VOICEMAIL),
        "originator": originator,
        "type": {
            "value": "VOICEMAIL",
            "voicemailBoxId": dir.dids[call.did].voicemail_box_id,
            "number": voicemail_number(dir, call),
            "folder": "INBOX",
            "duration": length,
            "voicemailStatus": status,
        },
    })
}

#[cfg(test)]
mod shape_tests {
    //! The report shapes of `report_shape` over half a day of the history.
    use super::report;
    use crate::calls::Schedule;
    use crate::config::DayShape;
    use crate::directory::Directory;
    use crate::report_shape::{Shape, shape};
    use serde_json::Value;

    /// Half a day of reports (one call a minute) with their shapes.
    fn day() -> Vec<(Shape, Value)> {
        let dir = Directory::new(11);
        let schedule = Schedule::new(11, 60_000, DayShape::Flat);
        (29_000_000..29_000_720)
            .filter_map(|i| schedule.call(&dir, i))
            .map(|call| (shape(&dir, &call), report(&dir, &call)))
            .collect()
    }

    fn states(report: &Value) -> &[Value] {
        report["callStates"].as_array().map_or(&[], Vec::as_slice)
    }

    fn has_state(report: &Value, found: impl Fn(&Value) -> bool) -> bool {
        states(report).iter().any(found)
    }

    #[test]
    fn every_real_shape_occurs_and_states_stay_in_time_order() {
        let day = day();
        let count =
            |f: &dyn Fn(&Shape, &Value) -> bool| day.iter().filter(|(s, r)| f(s, r)).count();
        let menu = |_: &Shape, r: &Value| {
            has_state(r, |s| {
                s.pointer("/interactiveVoiceResponseSystems/0/type/currentNode/option")
                    .is_some()
            })
        };
        let transfer = |_: &Shape, r: &Value| {
            has_state(r, |s| {
                s.pointer("/participants/0/status/destination/number")
                    .is_some()
            })
        };
        assert!(count(&menu) > 100, "menu choices");
        assert!(count(&transfer) > 0, "transfers");
        assert!(
            count(&|s, _| s.second_device.is_some()) > 20,
            "second devices"
        );
        assert!(
            count(&|s, _| !s.queue_agents.is_empty()) > 10,
            "queue rounds"
        );
        assert!(count(&|s, _| s.survey.is_some()) > 20, "surveys");
        assert!(count(&|s, _| s.contact.is_some()) > 100, "contacts");
        let failed = |_: &Shape, r: &Value| {
            has_state(r, |s| {
                s.pointer("/interactiveVoiceResponseSystems/0/type/voicemailStatus")
                    == Some(&Value::from("FAILED"))
            })
        };
        assert!(count(&failed) > 5, "failed voicemails");
        for (_, report) in &day {
            let times: Vec<&str> = states(report)
                .iter()
                .map(|s| s["timestamp"].as_str().unwrap())
                .collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "{report}");
        }
    }

    #[test]
    fn a_node_result_comes_on_a_later_state_of_the_same_node() {
        let (_, report) = &day()[0];
        let nodes: Vec<&Value> = states(report)
            .iter()
            .filter_map(|s| s.pointer("/interactiveVoiceResponseSystems/0/type/currentNode"))
            .collect();
        assert_eq!(nodes[0]["id"], nodes[1]["id"]);
        assert!(nodes[0].get("result").is_none() && nodes[1].get("result").is_some());
    }

    #[test]
    fn a_call_keeps_its_shape() {
        let (a, b) = (day(), day());
        assert_eq!(a, b);
    }
}
