//! Report-summary JSON, shaped field for field (and in key order) like GoTo's answers in
//! `goto-api/spiritai-report_summaries_page*.json`.

use serde_json::{Map, Value, json};

use super::calls::{CallFacts, Leg, Party};
use super::directory::Directory;
use super::rng::format_uuid;
use super::time::fmt_ms;

/// One item of `GET /call-events-report/v1/report-summaries`.
pub(crate) fn summary(dir: &Directory, call: &CallFacts) -> Value {
    let mut m = Map::new();
    m.insert("conversationSpaceId".into(), json!(format_uuid(call.id)));
    m.insert("accountKey".into(), json!(dir.account_key));
    m.insert("callCreated".into(), json!(fmt_ms(call.created_ms)));
    if let Some(answered) = call.answered_ms {
        m.insert("callAnswered".into(), json!(fmt_ms(answered)));
    }
    m.insert("callEnded".into(), json!(fmt_ms(call.ended_ms)));
    m.insert("callInitiator".into(), json!("DIRECT"));
    m.insert("direction".into(), json!(call.direction()));
    let legs = call.legs(dir);
    m.insert("caller".into(), summary_party(call, &legs[0], true));
    m.insert("callerOutcome".into(), json!(call.outcome.as_str()));
    let participants: Vec<Value> = call
        .answered_legs(dir)
        .iter()
        .map(|leg| summary_party(call, leg, false))
        .collect();
    m.insert("participants".into(), Value::Array(participants));
    Value::Object(m)
}

/// `{name, number, legId, type}`: the outsider's name and number for a PSTN leg, the user's for a line.
fn summary_party(call: &CallFacts, leg: &Leg<'_>, is_caller: bool) -> Value {
    let leg_id = call.leg_id(leg.index);
    match leg.party {
        Party::Line(p) | Party::Agent(p) => json!({
            "name": p.name,
            "number": p.extension,
            "legId": leg_id,
            "type": {
                "value": "LINE",
                "lineId": p.line_id,
                "userId": p.user_id,
                "userKey": p.user_key,
            },
        }),
        Party::Pstn { did, outsider, .. } => json!({
            // GoTo leaves a dialled party's name empty: it only knows the caller-id name of callers.
            "name": if is_caller { outsider.name } else { "" },
            "number": outsider.number,
            "legId": leg_id,
            "type": {
                "value": "PHONE_NUMBER",
                "phoneNumberId": did.phone_number_id,
                "number": did.number,
                "name": did.number,
                "callProvider": "PSTN",
            },
        }),
    }
}
