//! Post-call analysis: GoTo makes a report available when the call ends and adds `callReason`,
//! `actions`, `aiAnalysis`, recordings and transcripts later, each when it is done, without
//! telling anyone (`goto-api/API.md`, "The report can be incomplete at first"). What a call gains
//! and when is a pure function of the call (so of the seed) and the analysis delay; the report
//! served at instant T holds exactly the additions due by T, applied in the order they came, so
//! new top-level keys land after the existing ones, as GoTo adds attributes.

use serde_json::{Map, Value, json};

use super::calls::{CallFacts, Flow};
use super::media_ids::{MediaKind, media_id_string};
use super::report_states::Times;
use super::rng::{SplitMix64, hash};
use super::time::fmt_ms;

const D_ANALYSIS: u64 = 0x0A1A_15E5;

/// Answered calls with `actions` (percent).
const ACTIONS_PERCENT: u64 = 30;
/// Answered calls that were recorded (percent): they gain a recording and a transcript.
const RECORDED_PERCENT: u64 = 40;
/// Recordings and transcripts take this many times the analysis delay (up to twice that).
const TRANSCRIPT_FACTOR: i64 = 5;

/// Why people call, with the topics an analysis would find and what the caller asked about.
const REASONS: [(&str, [&str; 2], &str); 8] = [
    (
        "Billing question",
        ["billing", "invoice"],
        "a charge on the last invoice",
    ),
    (
        "Order status",
        ["orders", "delivery"],
        "when an order would arrive",
    ),
    (
        "Technical support",
        ["support", "connectivity"],
        "a device that would not connect",
    ),
    (
        "Appointment booking",
        ["appointments", "scheduling"],
        "booking an appointment",
    ),
    (
        "Cancel subscription",
        ["cancellation", "retention"],
        "cancelling a subscription",
    ),
    (
        "Refund request",
        ["refunds", "billing"],
        "a refund for a returned item",
    ),
    (
        "Change of address",
        ["account", "address"],
        "updating the address on file",
    ),
    (
        "Product information",
        ["products", "pricing"],
        "prices and availability",
    ),
];

/// One change to a report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A top-level attribute: appended when new, replaced in place when present.
    Field(String, Value),
    /// An entry appended to `participants[participant][list]` (`recordings`, `transcripts`).
    Entry {
        participant: usize,
        list: &'static str,
        entry: Value,
    },
}

/// Changes that become visible together at `at` (Unix ms).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Addition {
    pub at: i64,
    pub changes: Vec<Change>,
}

/// Fields added by hand through the control endpoint, at the instant they were added.
pub(crate) type Forced = (i64, Map<String, Value>);

/// The draws that decide a call's analysis; their order is part of the history's definition.
struct Draws {
    reason: usize,
    sentiment: &'static str,
    actions: bool,
    recorded: bool,
    analysis_frac: u64,
    transcript_frac: u64,
}

fn draws(call: &CallFacts) -> Draws {
    let mut rng = SplitMix64::new(hash(&[call.salt, D_ANALYSIS]));
    Draws {
        reason: rng.below(REASONS.len() as u64) as usize,
        sentiment: ["POSITIVE", "NEUTRAL", "NEGATIVE"][rng.weighted(&[50, 30, 20])],
        actions: rng.chance(ACTIONS_PERCENT),
        recorded: rng.chance(RECORDED_PERCENT),
        analysis_frac: rng.next_u64(),
        transcript_frac: rng.next_u64(),
    }
}

/// A value in `base..2*base` picked by `frac` (`0` when `base` is 0: everything at once).
fn spread(base: i64, frac: u64) -> i64 {
    let base = base.max(0);
    base.saturating_add(((u128::from(frac) * base as u128) >> 64) as i64)
}

/// `callReason` and `aiAnalysis` of a call: what the scheduled analysis adds, and what the
/// control endpoint adds by default (to any call, answered or not).
pub(crate) fn default_fields(call: &CallFacts) -> Map<String, Value> {
    let d = draws(call);
    let (reason, topics, about) = REASONS[d.reason];
    let outcome = match d.sentiment {
        "POSITIVE" => "The agent resolved it on the call.",
        "NEUTRAL" => "The agent took the details and promised a follow-up.",
        _ => "It was not resolved and the caller was unhappy.",
    };
    let mut out = Map::new();
    out.insert("callReason".into(), json!(reason));
    out.insert(
        "aiAnalysis".into(),
        json!({
            "sentiment": d.sentiment,
            "summary": format!("The caller asked about {about}. {outcome}"),
            "topics": topics,
            "flags": [],
        }),
    );
    out
}

/// What the caller asked about, in words a transcript can use.
pub(crate) fn call_about(call: &CallFacts) -> &'static str {
    REASONS[draws(call).reason].2
}

fn actions(call: &CallFacts) -> Value {
    let (_, _, about) = REASONS[draws(call).reason];
    let form = if call.hangup_by_caller {
        "Callback request"
    } else {
        "Customer details"
    };
    json!([
        { "type": { "value": "KNOWLEDGE_SEARCH", "query": about } },
        { "type": { "value": "INFO_CAPTURE", "form": { "name": form } } },
    ])
}

/// The participant a recording belongs to: the company's side of the call (the line that
/// answered an inbound call, the line that placed an outbound or internal one).
pub(crate) fn recorded_participant(call: &CallFacts) -> usize {
    match call.flow {
        Flow::Inbound => 1,
        Flow::Outbound | Flow::Internal => 0,
    }
}

/// When a call's recording and transcript are uploaded (and its report lists them), if it was
/// recorded: answered calls only, a share of them by their draws, or any answered call placed
/// with `force` (a test that needs a recording). `delay_ms` as for [`scheduled`].
pub(crate) fn recording_upload_ms(
    call: &CallFacts,
    delay_ms: Option<i64>,
    recorded: Recorded,
) -> Option<i64> {
    let delay = delay_ms.filter(|_| call.connected)?;
    let d = draws(call);
    let on = match recorded {
        Recorded::Drawn => d.recorded,
        Recorded::Always => true,
        Recorded::Never => false,
    };
    on.then(|| {
        let later = delay.saturating_mul(TRANSCRIPT_FACTOR);
        call.ended_ms
            .saturating_add(spread(later, d.transcript_frac))
    })
}

/// The recorded span of a call: from the moment its line connected to the disconnect (Unix ms).
pub(crate) fn recorded_span(call: &CallFacts) -> (i64, i64) {
    let times = Times::of(call);
    (times.connect, times.disconnect.max(times.connect))
}

/// Whether an answered call is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// As its draws say (one call in a few).
    Drawn,
    /// Placed as a recorded call (`place_recorded_call`).
    Always,
    /// Not placed as one while drawn recordings are off (`set_drawn_recordings(false)`).
    Never,
}

/// What a call gains after it ended, oldest first. Only answered calls gain anything;
/// `delay_ms` is the analysis delay (`None`: no post-call analysis at all); `recorded` says
/// whether the call gains a recording.
pub(crate) fn scheduled(
    call: &CallFacts,
    delay_ms: Option<i64>,
    recorded: Recorded,
) -> Vec<Addition> {
    let Some(delay) = delay_ms.filter(|_| call.connected) else {
        return Vec::new();
    };
    let d = draws(call);
    let mut first: Vec<Change> = default_fields(call)
        .into_iter()
        .map(|(k, v)| Change::Field(k, v))
        .collect();
    if d.actions {
        first.push(Change::Field("actions".into(), actions(call)));
    }
    let mut out = vec![Addition {
        at: call.ended_ms.saturating_add(spread(delay, d.analysis_frac)),
        changes: first,
    }];
    if let Some(at) = recording_upload_ms(call, delay_ms, recorded) {
        let participant = recorded_participant(call);
        let recording = media_id_string(call.id, MediaKind::Recording);
        let transcript = media_id_string(call.id, MediaKind::Transcript);
        let start = fmt_ms(recorded_span(call).0);
        out.push(Addition {
            at,
            changes: vec![
                Change::Entry {
                    participant,
                    list: "recordings",
                    entry: json!({ "id": recording, "startTimestamp": start, "transcriptEnabled": true }),
                },
                Change::Entry {
                    participant,
                    list: "transcripts",
                    entry: json!({ "id": transcript }),
                },
            ],
        });
    }
    out
}

/// Applies the additions due by `now` in the order they came (hand-made ones after scheduled
/// ones of the same instant).
pub(crate) fn apply(report: &mut Value, mut additions: Vec<Addition>, now: i64) {
    additions.sort_by_key(|a| a.at);
    for change in additions
        .into_iter()
        .filter(|a| a.at <= now)
        .flat_map(|a| a.changes)
    {
        match change {
            Change::Field(key, value) => {
                if let Some(obj) = report.as_object_mut() {
                    obj.insert(key, value);
                }
            }
            Change::Entry {
                participant,
                list,
                entry,
            } => {
                let target = report
                    .get_mut("participants")
                    .and_then(|ps| ps.get_mut(participant))
                    .and_then(|p| p.get_mut(list))
                    .and_then(Value::as_array_mut);
                if let Some(items) = target {
                    items.push(entry);
                }
            }
        }
    }
}

/// The report as served at `now`: the report of the call end, then what analysis (scheduled
/// and by hand) added by then; `record` as `force` of [`scheduled`].
pub(crate) fn served(
    mut report: Value,
    call: &CallFacts,
    (delay_ms, record): (Option<i64>, Recorded),
    forced: &[Forced],
    now: i64,
) -> Value {
    let mut additions = scheduled(call, delay_ms, record);
    additions.extend(forced.iter().map(|(at, fields)| {
        Addition {
            at: *at,
            changes: fields
                .iter()
                .map(|(k, v)| Change::Field(k.clone(), v.clone()))
                .collect(),
        }
    }));
    apply(&mut report, additions, now);
    report
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
