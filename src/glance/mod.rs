//! The glance: a day or range of calls in a few figures (SPEC section 10), computed in one
//! streaming pass over report summaries with memory that does not grow with the number of
//! calls: fixed counters, fixed histograms, a top-k counter and fixed-size sets.
//!
//! "Not called back" needs the calls newest first (cer's order): when an unanswered inbound
//! call from a number is met, every later call has already been seen, so whether that number
//! was reached afterwards (an answered call with it, either way) is already known.

pub mod bounded;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::outcome::Outcome;
use crate::summary_view::{PartyView, SummaryView};
use bounded::{SecondsHistogram, SeenSet, TopCounter};

/// How many line counters the busiest-lines figure keeps (exact up to this many lines).
const LINE_COUNTERS: usize = 512;
/// How many busiest lines and unreturned callers the glance lists.
pub const LISTED: usize = 5;
/// Longer names or numbers are cut before they are kept.
const KEY_CHARS: usize = 80;

/// The figures of a glance, fed one summary at a time.
#[derive(Debug, Clone)]
pub struct Glance {
    pub from: Timestamp,
    pub to: Timestamp,
    zone: TimeZone,
    pub calls: u64,
    pub inbound: u64,
    pub outbound: u64,
    pub other_direction: u64,
    outcomes: [u64; 5],
    pub per_hour: [u64; 24],
    /// From `callCreated` to GoTo's `callAnswered`, every answered call (`answerSeconds`).
    pub answer: SecondsHistogram,
    /// The same, outbound calls only: there `callAnswered` is the callee picking up.
    pub outbound_answer: SecondsHistogram,
    /// The same, inbound calls only: there `callAnswered` is the dial plan's automatic pickup,
    /// not a person answering (summaries do not say when a person did).
    pub inbound_pickup: SecondsHistogram,
    pub talk: SecondsHistogram,
    lines: TopCounter<(String, String)>,
    reached: SeenSet,
    judged: SeenSet,
    pub not_called_back: u64,
    /// Inbound callers (by number) with a call nobody answered, reached later or not.
    pub unanswered_callers: u64,
    pub not_called_back_newest: Vec<Unreturned>,
}

/// An inbound caller whose newest unanswered call was not followed by an answered one.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreturned {
    pub number: String,
    pub name: String,
    pub last_call: Option<Timestamp>,
}

impl Glance {
    pub fn new(from: Timestamp, to: Timestamp, zone: TimeZone) -> Self {
        Self {
            from,
            to,
            zone,
            calls: 0,
            inbound: 0,
            outbound: 0,
            other_direction: 0,
            outcomes: [0; 5],
            per_hour: [0; 24],
            answer: SecondsHistogram::default(),
            outbound_answer: SecondsHistogram::default(),
            inbound_pickup: SecondsHistogram::default(),
            talk: SecondsHistogram::default(),
            lines: TopCounter::new(LINE_COUNTERS),
            reached: SeenSet::default(),
            judged: SeenSet::default(),
            not_called_back: 0,
            unanswered_callers: 0,
            not_called_back_newest: Vec::new(),
        }
    }

    /// Counts one summary; summaries must come newest first.
    pub fn add(&mut self, item: &Value) {
        let view = SummaryView::of(item);
        let outcome = Outcome::of_summary(item);
        self.calls += 1;
        let inbound = view.direction.as_deref() == Some("INBOUND");
        match view.direction.as_deref() {
            Some("INBOUND") => self.inbound += 1,
            Some("OUTBOUND") => self.outbound += 1,
            _ => self.other_direction += 1,
        }
        // `Outcome`'s declaration order is `Outcome::ALL`'s, so the discriminant indexes it.
        self.outcomes[outcome as usize] += 1;
        if let Some(created) = view.call_created {
            let hour = created.to_zoned_datetime(self.zone.clone()).hour();
            self.per_hour[usize::try_from(hour).unwrap_or(0) % 24] += 1;
        }
        if outcome == Outcome::Answered {
            self.add_times(&view);
        }
        self.add_lines(item);
        self.follow_callbacks(&view, outcome, inbound);
    }

    fn add_times(&mut self, view: &SummaryView) {
        let seconds =
            |a: Timestamp, b: Timestamp| u64::try_from(b.duration_since(a).as_secs()).unwrap_or(0);
        if let (Some(created), Some(answered)) = (view.call_created, view.call_answered) {
            let after = seconds(created, answered);
            self.answer.add(after);
            match view.direction.as_deref() {
                Some("INBOUND") => self.inbound_pickup.add(after),
                Some("OUTBOUND") => self.outbound_answer.add(after),
                _ => {}
            }
        }
        if let (Some(answered), Some(ended)) = (view.call_answered, view.call_ended) {
            self.talk.add(seconds(answered, ended));
        }
    }

    /// Every line (a user's phone) on the call counts once for that line.
    fn add_lines(&mut self, item: &Value) {
        let caller = item.get("caller").into_iter();
        let participants = item
            .get("participants")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let mut seen: Vec<(String, String)> = Vec::new();
        for party in caller.chain(participants) {
            if party.pointer("/type/value").and_then(Value::as_str) != Some("LINE") {
                continue;
            }
            let text = |name: &str| {
                let value = party.get(name).and_then(Value::as_str).unwrap_or("").trim();
                value.chars().take(KEY_CHARS).collect::<String>()
            };
            let key = (text("name"), text("number"));
            if !seen.contains(&key) && seen.len() < 8 {
                seen.push(key.clone());
                self.lines.add(key);
            }
        }
    }

    fn follow_callbacks(&mut self, view: &SummaryView, outcome: Outcome, inbound: bool) {
        if outcome == Outcome::Answered {
            let others: Vec<&PartyView> = if inbound {
                view.caller.iter().collect()
            } else {
                view.participants.iter().collect()
            };
            for party in others {
                if let Some(number) = dialable(party) {
                    self.reached.insert(&number);
                }
            }
            return;
        }
        let unanswered = matches!(
            outcome,
            Outcome::Missed | Outcome::Voicemail | Outcome::Abandoned
        );
        let Some(number) = view.caller.as_ref().and_then(dialable) else {
            return;
        };
        if !inbound || !unanswered || self.judged.contains(&number) {
            return;
        }
        self.judged.insert(&number);
        self.unanswered_callers += 1;
        if self.reached.contains(&number) {
            return;
        }
        self.not_called_back += 1;
        if self.not_called_back_newest.len() < LISTED {
            let caller = view.caller.as_ref();
            let text = |v: Option<&String>| -> String {
                v.map_or("", |s| s.trim()).chars().take(KEY_CHARS).collect()
            };
            let name = text(caller.and_then(|p| p.name.as_ref()));
            self.not_called_back_newest.push(Unreturned {
                number: text(caller.and_then(|p| p.number.as_ref())),
                name,
                last_call: view.call_created,
            });
        }
    }

    /// Calls with this outcome.
    pub fn outcome_count(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome as usize]
    }

    /// Share of all calls, in percent with one decimal.
    pub fn percent(&self, count: u64) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        (count as f64 * 1000.0 / self.calls as f64).round() / 10.0
    }

    /// The busiest lines: (name, number, calls), busiest first.
    pub fn busiest(&self) -> Vec<(String, String, u64)> {
        self.lines
            .top(LISTED)
            .into_iter()
            .map(|((name, number), n)| (name, number, n))
            .collect()
    }

    /// The zone the hours are counted in.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The figures as one JSON object, for dashboards (`--stats --json`).
    pub fn to_json(&self) -> Value {
        let outcomes: serde_json::Map<String, Value> = Outcome::ALL
            .iter()
            .map(|&o| {
                let n = self.outcome_count(o);
                (
                    o.as_str().to_string(),
                    json!({"calls": n, "percent": self.percent(n)}),
                )
            })
            .collect();
        json!({
            "from": millis(self.from),
            "to": millis(self.to),
            "timeZone": self.zone.iana_name().unwrap_or("UTC"),
            "calls": self.calls,
            "directions": {"inbound": self.inbound, "outbound": self.outbound, "other": self.other_direction},
            "outcomes": outcomes,
            "callsPerHour": self.per_hour,
            "answerSeconds": {"median": self.answer.quantile(0.5), "p90": self.answer.quantile(0.9)},
            "outboundAnswerSeconds": quantiles(&self.outbound_answer),
            "inboundPickupSeconds": quantiles(&self.inbound_pickup),
            "talkSeconds": {"median": self.talk.quantile(0.5), "longest": self.talk.longest()},
            "busiestLines": self.busiest().into_iter()
                .map(|(name, number, calls)| json!({"name": name, "number": number, "calls": calls}))
                .collect::<Vec<_>>(),
            "notCalledBack": {
                "callers": self.not_called_back,
                "unansweredCallers": self.unanswered_callers,
                "newest": self.not_called_back_newest.iter()
                    .map(|u| json!({"number": u.number, "name": u.name,
                                    "lastCall": u.last_call.map(millis)}))
                    .collect::<Vec<_>>(),
            },
        })
    }
}

fn quantiles(h: &SecondsHistogram) -> Value {
    json!({"median": h.quantile(0.5), "p90": h.quantile(0.9)})
}

/// RFC 3339 UTC with milliseconds always written, as the TSV shows times.
fn millis(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A number that can be called back: digits, with `+` and separators dropped to compare.
fn dialable(party: &PartyView) -> Option<String> {
    let number = party.number.as_deref()?;
    let digits: String = number
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(KEY_CHARS)
        .collect();
    (digits.len() >= 3).then(|| format!("+{digits}"))
}

#[cfg(test)]
pub(crate) mod tests;
