//! The deterministic call history: every call is a pure function of (seed, slot length, slot
//! number, the shape of the day), and its id encodes the slot, so any process with the same
//! seed can answer for any call in O(1) without storing history. On a business day a slot
//! keeps its call with a chance that follows the local hour and weekday: every slot at the
//! busiest hours, one in five at night and at weekends.

use super::config::DayShape;
use super::directory::{Did, Directory, Outsider, Person};
use super::rng::{SplitMix64, hash, mix, scramble48, unscramble48, uuid_bits, uuid_from};

/// No call lasts longer than this (GoTo's summaries select by `callCreated`, so clients must
/// reach back this far to see a call that ended recently).
pub(crate) const MAX_CALL_MS: i64 = 2 * 3600 * 1000;

const D_SLOT: u64 = 0x510;
const D_ID: u64 = 0x1D;
const D_PLACED: u64 = 0x91ACED;
const D_LEG: u64 = 0x1E6;
const D_PARTICIPANT: u64 = 0x9A27;
const D_BUSY: u64 = 0xB05E;

/// Which way the call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// From the PSTN to a company number.
    Inbound,
    /// From a line to the PSTN.
    Outbound,
    /// Line to line; GoTo files these as OUTBOUND.
    Internal,
}

/// GoTo's `callerOutcome` values the generator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Normal,
    Missed,
    LeftDialPlan,
    Voicemail,
    LeftQueue,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Normal => "NORMAL",
            Outcome::Missed => "MISSED",
            Outcome::LeftDialPlan => "LEFT_DIAL_PLAN",
            Outcome::Voicemail => "VOICEMAIL",
            Outcome::LeftQueue => "LEFT_QUEUE",
        }
    }
}

/// Every `callerOutcome` value GoTo is known to use; the summaries filter accepts exactly these.
pub(crate) const OUTCOME_NAMES: [&str; 9] = [
    "NORMAL",
    "MISSED",
    "VOICEMAIL",
    "LEFT_QUEUE",
    "LEFT_PARKING_SPOT",
    "LEFT_ON_HOLD",
    "LEFT_DIAL_PLAN",
    "TRUNCATED",
    "UNKNOWN",
];

/// The compact facts of one call; payloads are rendered from these only when needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallFacts {
    /// The conversationSpaceId as a 128-bit value (its hex form sorts the same way).
    pub id: u128,
    /// Seeds every derived id (legs, participants, states).
    pub salt: u64,
    pub created_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: i64,
    pub flow: Flow,
    pub outcome: Outcome,
    /// An outsider (inbound) or a person (outbound, internal).
    pub caller: usize,
    pub did: usize,
    /// The outsider an outbound call dialled.
    pub dialled: usize,
    /// People the call rang (inbound, internal).
    pub targets: Vec<usize>,
    /// Whether the dialled party or the targets answered.
    pub connected: bool,
    pub queue: Option<usize>,
    /// Time from creation to the first answer (or to giving up ringing).
    pub ring_ms: i64,
    pub hangup_by_caller: bool,
}

/// One party of a call, as payloads describe it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Party<'a> {
    Line(&'a Person),
    Agent(&'a Person),
    /// A PSTN leg through a company number; `inbound` says whether the outsider called in.
    Pstn {
        did: &'a Did,
        outsider: &'a Outsider,
        inbound: bool,
    },
}

/// A party with its stable index within the call (0 is the caller).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leg<'a> {
    pub index: u64,
    pub party: Party<'a>,
}

impl CallFacts {
    pub(crate) fn is_internal(&self) -> bool {
        self.flow == Flow::Internal
    }

    pub(crate) fn direction(&self) -> &'static str {
        match self.flow {
            Flow::Inbound => "INBOUND",
            Flow::Outbound | Flow::Internal => "OUTBOUND",
        }
    }

    pub(crate) fn leg_id(&self, index: u64) -> String {
        uuid_from(&[self.salt, D_LEG, index], 4)
    }

    pub(crate) fn participant_id(&self, index: u64) -> String {
        uuid_from(&[self.salt, D_PARTICIPANT, index], 5)
    }

    /// Every party of the call: the caller first, then whoever was rung or dialled.
    pub(crate) fn legs<'a>(&self, dir: &'a Directory) -> Vec<Leg<'a>> {
        let did = &dir.dids[self.did];
        let mut legs = Vec::with_capacity(1 + self.targets.len());
        let caller = match self.flow {
            Flow::Inbound => {
                let outsider = &dir.outsiders[self.caller];
                Party::Pstn {
                    did,
                    outsider,
                    inbound: true,
                }
            }
            Flow::Outbound | Flow::Internal => Party::Line(&dir.people[self.caller]),
        };
        legs.push(Leg {
            index: 0,
            party: caller,
        });
        if self.flow == Flow::Outbound {
            let outsider = &dir.outsiders[self.dialled];
            let party = Party::Pstn {
                did,
                outsider,
                inbound: false,
            };
            legs.push(Leg { index: 1, party });
        }
        for (k, t) in self.targets.iter().enumerate() {
            let person = &dir.people[*t];
            let party = if self.queue.is_some() {
                Party::Agent(person)
            } else {
                Party::Line(person)
            };
            legs.push(Leg {
                index: 1 + k as u64,
                party,
            });
        }
        legs
    }

    /// The legs a summary lists as `participants`: only those that answered.
    pub(crate) fn answered_legs<'a>(&self, dir: &'a Directory) -> Vec<Leg<'a>> {
        if !self.connected {
            return Vec::new();
        }
        self.legs(dir).into_iter().skip(1).collect()
    }
}

/// Where scheduled calls come from: slot `i` creates at most one call, in
/// `[i*every, (i+1)*every)`; on a flat day every slot has one.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    seed: u64,
    every_ms: i64,
    key48: u64,
    day: DayShape,
}

/// Per mille of the slots that keep their call, by local hour: a weekday with a morning peak
/// (10:00) and an afternoon one (15:00), a lunch dip, and a fifth of the slots at night, so
/// the quietest hour still has a call every 10 s at the demo's 2 s slots.
const WEEKDAY: [u64; 24] = [
    200, 200, 200, 200, 200, 200, 200, 320, 600, 900, 1000, 880, //
    560, 660, 860, 1000, 760, 480, 300, 200, 200, 200, 200, 200,
];
/// Saturday and Sunday: the night's fifth, a little more around midday.
const WEEKEND: [u64; 24] = [
    200, 200, 200, 200, 200, 200, 200, 200, 200, 220, 250, 260, //
    260, 260, 250, 240, 220, 200, 200, 200, 200, 200, 200, 200,
];

/// The per mille of slots starting at `ms` that keep their call on a business day in `zone`.
fn busy_share(ms: i64, zone: &jiff::tz::TimeZone) -> u64 {
    let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
        return 1000;
    };
    let local = at.to_zoned_datetime(zone.clone());
    let hour = usize::try_from(local.hour()).unwrap_or(0) % 24;
    match local.weekday() {
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday => WEEKEND[hour],
        _ => WEEKDAY[hour],
    }
}

impl Schedule {
    pub(crate) fn new(seed: u64, every_ms: i64, day: DayShape) -> Self {
        Schedule {
            seed,
            every_ms,
            key48: hash(&[seed, D_ID, 48]),
            day,
        }
    }

    /// Whether slot `i` has a call: always on a flat day; on a business day by a draw of its
    /// own against the share of its local hour, so the rest of the call does not change.
    pub(crate) fn has_call(&self, i: u64) -> bool {
        match &self.day {
            DayShape::Flat => true,
            DayShape::Business(zone) => {
                let start = (i as i64).saturating_mul(self.every_ms);
                hash(&[self.seed, self.every_ms as u64, D_BUSY, i]) % 1000 < busy_share(start, zone)
            }
        }
    }

    pub(crate) fn every_ms(&self) -> i64 {
        self.every_ms
    }

    /// The slot whose window contains `ms` (negative before the epoch).
    pub(crate) fn slot_of(&self, ms: i64) -> i64 {
        ms.div_euclid(self.every_ms)
    }

    /// The conversationSpaceId of slot `i`: 48 scrambled bits of `i`, version 3, and 74 bits of
    /// a keyed hash that [`Schedule::slot_from_id`] checks.
    pub(crate) fn slot_id(&self, i: u64) -> u128 {
        let h = hash(&[self.seed, self.every_ms as u64, D_ID, i]);
        let hi = (scramble48(i, self.key48) << 16) | (h & 0xFFFF);
        uuid_bits(hi, mix(h), 3)
    }

    /// The slot an id belongs to, if it is one of this schedule's ids.
    pub(crate) fn slot_from_id(&self, id: u128) -> Option<u64> {
        let hi = (id >> 64) as u64;
        let i = unscramble48(hi >> 16, self.key48);
        (self.slot_id(i) == id).then_some(i)
    }

    /// The call of slot `i`, if the slot has one.
    pub(crate) fn call(&self, dir: &Directory, i: u64) -> Option<CallFacts> {
        self.has_call(i).then(|| self.draw(dir, i))
    }

    fn draw(&self, dir: &Directory, i: u64) -> CallFacts {
        let mut rng = SplitMix64::new(hash(&[self.seed, self.every_ms as u64, D_SLOT, i]));
        let start = (i as i64).saturating_mul(self.every_ms);
        let created = start + rng.below(self.every_ms as u64) as i64;
        let id = self.slot_id(i);
        draw_call(&mut rng, dir, id, created, None)
    }
}

/// A call placed by hand: random attributes, the given duration, ending at `ended_ms`.
/// `nonce` makes its id unique across processes (its id never decodes to a valid slot).
pub(crate) fn placed_call(
    dir: &Directory,
    seed: u64,
    nonce: u64,
    ended_ms: i64,
    duration_ms: i64,
) -> CallFacts {
    let mut rng = SplitMix64::new(hash(&[seed, D_PLACED, nonce]));
    let id = uuid_bits(rng.next_u64(), rng.next_u64(), 3);
    let duration = duration_ms.clamp(0, MAX_CALL_MS);
    draw_call(&mut rng, dir, id, ended_ms - duration, Some(duration))
}

/// The conversationSpaceId of GoTo's guide, which help texts use as their example: every
/// sandbox knows it, whatever its seed, so the examples work as printed.
pub(crate) const EXAMPLE_CALL_ID: u128 = 0x29a1c77a_e52a_3764_8606_8b02b1277be8;
/// When the example call ended: the time of the guide's example notification.
const EXAMPLE_CALL_ENDED_MS: i64 = 1_682_362_535_000;
const D_EXAMPLE: u64 = 0xE8A;

/// The example call: the same in every sandbox, answered and three minutes long.
pub(crate) fn example_call(dir: &Directory) -> CallFacts {
    let mut rng = SplitMix64::new(hash(&[D_EXAMPLE]));
    let duration = 180_000;
    let mut call = draw_call(
        &mut rng,
        dir,
        EXAMPLE_CALL_ID,
        EXAMPLE_CALL_ENDED_MS - duration,
        Some(duration),
    );
    call.id = EXAMPLE_CALL_ID;
    call
}

/// Draws a call's attributes; the order of draws is part of the history's definition.
fn draw_call(
    rng: &mut SplitMix64,
    dir: &Directory,
    id: u128,
    created_ms: i64,
    duration: Option<i64>,
) -> CallFacts {
    let flow = [Flow::Inbound, Flow::Outbound, Flow::Internal][rng.weighted(&[50, 35, 15])];
    let outcome = draw_outcome(rng, flow);
    let people = dir.people.len() as u64;
    let caller = match flow {
        Flow::Inbound => rng.below(dir.outsiders.len() as u64),
        Flow::Outbound | Flow::Internal => rng.below(people),
    } as usize;
    let did = rng.below(dir.dids.len() as u64) as usize;
    let dialled = rng.below(dir.outsiders.len() as u64) as usize;
    let answered_outcome = matches!(outcome, Outcome::Normal | Outcome::LeftDialPlan);
    let queue = (flow == Flow::Inbound
        && (outcome == Outcome::LeftQueue || (answered_outcome && rng.chance(40))))
    .then(|| rng.below(dir.queues.len() as u64) as usize);
    let targets = draw_targets(rng, flow, outcome, caller, people);
    let ring_ms = match flow {
        Flow::Inbound => rng.range(150, 600),
        Flow::Outbound | Flow::Internal => rng.range(2_000, 15_000),
    };
    let natural = natural_duration(rng, outcome);
    let duration = duration.unwrap_or(natural).clamp(0, MAX_CALL_MS);
    let ring_ms = ring_ms.min(duration / 3);
    CallFacts {
        id,
        salt: mix(id as u64 ^ (id >> 64) as u64),
        created_ms,
        answered_ms: (outcome != Outcome::Missed).then_some(created_ms + ring_ms),
        ended_ms: created_ms + duration,
        flow,
        outcome,
        caller,
        did,
        dialled,
        targets,
        connected: answered_outcome,
        queue,
        ring_ms,
        hangup_by_caller: rng.chance(60),
    }
}

fn draw_outcome(rng: &mut SplitMix64, flow: Flow) -> Outcome {
    use Outcome::*;
    match flow {
        Flow::Inbound => [LeftDialPlan, Normal, Missed, Voicemail, LeftQueue]
            [rng.weighted(&[40, 25, 12, 12, 11])],
        Flow::Outbound => [Normal, Missed][rng.weighted(&[80, 20])],
        Flow::Internal => [Normal, Missed, Voicemail][rng.weighted(&[70, 20, 10])],
    }
}

/// People the call rang: one or two for inbound calls that reached a line, one for internal calls.
fn draw_targets(
    rng: &mut SplitMix64,
    flow: Flow,
    outcome: Outcome,
    caller: usize,
    people: u64,
) -> Vec<usize> {
    let first = rng.below(people) as usize;
    let second = rng.below(people) as usize;
    let two = rng.chance(15);
    match (flow, outcome) {
        (Flow::Outbound, _) | (Flow::Inbound, Outcome::LeftQueue) => Vec::new(),
        (Flow::Internal, _) => vec![if first == caller {
            (first + 1) % people as usize
        } else {
            first
        }],
        (Flow::Inbound, _) if two && second != first => vec![first, second],
        (Flow::Inbound, _) => vec![first],
    }
}

/// Mostly 5 s to 10 min (skewed short), a few percent 30 min to 2 h.
fn natural_duration(rng: &mut SplitMix64, outcome: Outcome) -> i64 {
    let long = rng.chance(4);
    let u = rng.unit();
    match outcome {
        Outcome::Missed => 5_000 + (u * 40_000.0) as i64,
        Outcome::Voicemail => 20_000 + (u * 100_000.0) as i64,
        Outcome::LeftQueue => 10_000 + (u * 170_000.0) as i64,
        _ if long => 1_800_000 + (u * 5_400_000.0) as i64,
        _ => 5_000 + (u * u * 595_000.0) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ids_round_trip_and_reject_others() {
        let s = Schedule::new(9, 10_000, DayShape::Flat);
        for i in [0u64, 1, 176_000_000, 176_000_001] {
            assert_eq!(s.slot_from_id(s.slot_id(i)), Some(i));
        }
        assert_eq!(
            Schedule::new(10, 10_000, DayShape::Flat).slot_from_id(s.slot_id(5)),
            None
        );
        assert_eq!(
            Schedule::new(9, 20_000, DayShape::Flat).slot_from_id(s.slot_id(5)),
            None
        );
        let dir = Directory::new(9);
        let placed = placed_call(&dir, 9, 1, 1_000_000, 60_000);
        assert_eq!(s.slot_from_id(placed.id), None);
    }

    #[test]
    fn calls_stay_in_their_slot_and_under_two_hours() {
        let dir = Directory::new(3);
        let s = Schedule::new(3, 1_000, DayShape::Flat);
        let mut long = 0;
        for i in 1_700_000_000u64..1_700_010_000 {
            let c = s.call(&dir, i).unwrap();
            assert_eq!(s.slot_of(c.created_ms), i as i64);
            let d = c.ended_ms - c.created_ms;
            assert!((0..=MAX_CALL_MS).contains(&d));
            if let Some(a) = c.answered_ms {
                assert!(a >= c.created_ms && a <= c.ended_ms);
            }
            long += i64::from(d >= 1_800_000);
            assert_eq!(Some(c), s.call(&dir, i));
        }
        assert!((50..600).contains(&long), "{long} long calls");
    }

    /// Calls per local hour of a day starting at `day` (midnight in `zone`), at `every_ms`.
    fn per_hour(seed: u64, every_ms: i64, zone: &jiff::tz::TimeZone, day: &str) -> [u32; 24] {
        let dir = Directory::new(seed);
        let s = Schedule::new(seed, every_ms, DayShape::Business(zone.clone()));
        let midnight = day
            .parse::<jiff::civil::Date>()
            .unwrap()
            .to_zoned_datetime(zone.clone())
            .unwrap();
        let start = midnight.timestamp().as_millisecond();
        let mut hours = [0u32; 24];
        for i in s.slot_of(start)..s.slot_of(start + 86_400_000) {
            if let Some(call) = s.call(&dir, i as u64) {
                let at = jiff::Timestamp::from_millisecond(call.created_ms).unwrap();
                hours[usize::from(at.to_zoned_datetime(zone.clone()).hour() as u8)] += 1;
            }
        }
        hours
    }

    #[test]
    fn a_business_day_peaks_in_the_morning_and_afternoon_and_is_quiet_at_night() {
        // A zone an hour east of UTC, without relying on the system's time zone database.
        let paris = jiff::tz::TimeZone::fixed(jiff::tz::offset(1));
        for (seed, zone, day) in [
            (1, jiff::tz::TimeZone::UTC, "2026-11-25"),
            (7, paris.clone(), "2026-11-23"),
        ] {
            let hours = per_hour(seed, 2_000, &zone, day);
            let busiest = *hours.iter().max().unwrap();
            let quietest = *hours.iter().min().unwrap();
            assert!(busiest >= 5 * quietest, "{hours:?}");
            // Peaks at 10:00 and 15:00, a dip at lunch, nights quiet.
            assert!(hours[10] > hours[12] && hours[15] > hours[12], "{hours:?}");
            assert!(
                hours[3] * 4 < hours[10] && hours[22] * 4 < hours[15],
                "{hours:?}"
            );
            // Even the quietest hour has a call every 10 s or so, for `--sandbox listen`.
            assert!(quietest >= 300, "{hours:?}");
        }
        let weekday: u32 = per_hour(1, 2_000, &paris, "2026-11-25").iter().sum();
        let saturday: u32 = per_hour(1, 2_000, &paris, "2026-11-28").iter().sum();
        assert!(
            saturday * 2 < weekday,
            "{saturday} on Saturday, {weekday} on Wednesday"
        );
    }

    #[test]
    fn a_business_day_is_a_pure_function_of_seed_and_clock() {
        let zone = jiff::tz::TimeZone::UTC;
        let dir = Directory::new(5);
        let a = Schedule::new(5, 2_000, DayShape::Business(zone.clone()));
        let b = Schedule::new(5, 2_000, DayShape::Business(zone));
        let flat = Schedule::new(5, 2_000, DayShape::Flat);
        for i in 880_000_000u64..880_002_000 {
            assert_eq!(a.call(&dir, i), b.call(&dir, i));
            // A kept slot's call is the flat day's call of that slot: only density changes.
            if let Some(call) = a.call(&dir, i) {
                assert_eq!(Some(call), flat.call(&dir, i));
            }
        }
    }
}
