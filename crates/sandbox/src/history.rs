//! Queries over the call history: finding one call by id, and keyset paging through a time
//! window newest first, merging scheduled calls (walked slot by slot, downward from the cursor,
//! never regenerating the whole window) with calls placed by hand.

use std::iter::Peekable;

use base64::Engine as _;

use super::calls::{CallFacts, EXAMPLE_CALL_ID, Leg, Party, example_call};
use super::directory::Directory;
use super::rng::hash;
use super::state::Shared;

/// Sort key of summaries: callCreated, then id; pages go in descending order.
pub(crate) type Key = (i64, u128);

/// The one selector of a summaries query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    Account,
    UserKeys(Vec<String>),
    LineIds(Vec<String>),
    PhoneNumberIds(Vec<String>),
}

/// Everything a call must match to be listed.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub selector: Selector,
    /// The sandbox has no virtual participants, so asking for any matches nothing.
    pub virtual_participant: bool,
    /// `Some(true)` for INTERNAL, `Some(false)` for EXTERNAL.
    pub internal: Option<bool>,
    pub outcome: Option<String>,
}

impl Filter {
    pub(crate) fn matches(&self, dir: &Directory, call: &CallFacts) -> bool {
        if self.virtual_participant
            || self.internal.is_some_and(|i| i != call.is_internal())
            || self
                .outcome
                .as_deref()
                .is_some_and(|o| o != call.outcome.as_str())
        {
            return false;
        }
        let lines = || {
            call.legs(dir)
                .into_iter()
                .filter_map(|Leg { party, .. }| match party {
                    Party::Line(p) | Party::Agent(p) => Some(p),
                    Party::Pstn { .. } => None,
                })
        };
        match &self.selector {
            Selector::Account => true,
            Selector::UserKeys(keys) => lines().any(|p| keys.contains(&p.user_key)),
            Selector::LineIds(ids) => lines().any(|p| ids.contains(&p.line_id)),
            Selector::PhoneNumberIds(ids) => {
                !call.is_internal() && ids.contains(&dir.dids[call.did].phone_number_id)
            }
        }
    }
}

/// One page request over `[start_ms, end_ms)` by callCreated.
#[derive(Debug, Clone)]
pub(crate) struct PageQuery {
    pub start_ms: i64,
    pub end_ms: i64,
    pub filter: Filter,
    pub size: usize,
    /// Only calls sorting strictly after this key (that is, older) are listed.
    pub after: Option<Key>,
}

fn key(call: &CallFacts) -> Key {
    (call.created_ms, call.id)
}

/// The call with this id, if it exists in this sandbox (ended or not).
pub(crate) fn find(shared: &Shared, id: u128) -> Option<CallFacts> {
    if id == EXAMPLE_CALL_ID {
        return Some(example_call(&shared.dir));
    }
    {
        let inner = shared.lock();
        if let Some(k) = inner.placed_index.get(&id) {
            return inner.placed.get(k).cloned();
        }
    }
    let schedule = shared.schedule.as_ref()?;
    schedule
        .slot_from_id(id)
        .and_then(|i| schedule.call(&shared.dir, i))
}

/// One page of calls, newest first, and the key to continue after when more remain.
pub(crate) fn page(shared: &Shared, q: &PageQuery, now_ms: i64) -> (Vec<CallFacts>, Option<Key>) {
    let wanted = |c: &CallFacts| {
        c.created_ms >= q.start_ms
            && c.created_ms < q.end_ms
            && c.ended_ms <= now_ms
            && q.after.is_none_or(|a| key(c) < a)
            && q.filter.matches(&shared.dir, c)
    };
    let placed: Vec<CallFacts> = {
        let inner = shared.lock();
        inner
            .placed
            .values()
            .rev()
            .filter(|c| wanted(c))
            .cloned()
            .collect()
    };
    let slots = slot_calls(shared, q, now_ms).filter(|c| wanted(c));
    let mut merged = Merge {
        a: placed.into_iter().peekable(),
        b: slots.peekable(),
    };
    let items: Vec<CallFacts> = merged.by_ref().take(q.size).collect();
    let more = merged.next().is_some();
    let next = if more { items.last().map(key) } else { None };
    (items, next)
}

/// Scheduled calls that may fall in the window, newest slot first, starting below the cursor.
fn slot_calls<'a>(
    shared: &'a Shared,
    q: &PageQuery,
    now_ms: i64,
) -> Box<dyn Iterator<Item = CallFacts> + 'a> {
    let Some(schedule) = shared.schedule.as_ref() else {
        return Box::new(std::iter::empty());
    };
    let mut hi = schedule
        .slot_of(q.end_ms.saturating_sub(1))
        .min(schedule.slot_of(now_ms));
    if let Some((created, _)) = q.after {
        hi = hi.min(schedule.slot_of(created));
    }
    let lo = schedule.slot_of(q.start_ms).max(0);
    if hi < lo {
        return Box::new(std::iter::empty());
    }
    let dir = &shared.dir;
    Box::new(
        (lo..=hi)
            .rev()
            .filter_map(move |i| schedule.call(dir, i as u64)),
    )
}

/// Merges two descending streams into one.
struct Merge<A: Iterator<Item = CallFacts>, B: Iterator<Item = CallFacts>> {
    a: Peekable<A>,
    b: Peekable<B>,
}

impl<A: Iterator<Item = CallFacts>, B: Iterator<Item = CallFacts>> Iterator for Merge<A, B> {
    type Item = CallFacts;

    fn next(&mut self) -> Option<CallFacts> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if key(x) >= key(y) => self.a.next(),
            (Some(_), Some(_)) | (None, _) => self.b.next(),
            (Some(_), None) => self.a.next(),
        }
    }
}

fn marker_check(seed: u64, k: Key) -> u32 {
    hash(&[seed, k.0 as u64, (k.1 >> 64) as u64, k.1 as u64]) as u32
}

/// An opaque, tamper-evident keyset cursor.
pub(crate) fn encode_marker(seed: u64, k: Key) -> String {
    let check = marker_check(seed, k);
    let text = format!("{}.{:032x}.{check:08x}", k.0, k.1);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn decode_marker(seed: u64, marker: &str) -> Option<Key> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.split('.');
    let created: i64 = parts.next()?.parse().ok()?;
    let id = u128::from_str_radix(parts.next()?, 16).ok()?;
    let check = u32::from_str_radix(parts.next()?, 16).ok()?;
    let k = (created, id);
    // Re-encoding must give the same text: this checks the checksum and rejects any variant.
    (parts.next().is_none() && check == marker_check(seed, k) && encode_marker(seed, k) == marker)
        .then_some(k)
}
