//! Fixed-size summaries of an unbounded stream, so the glance's memory stays flat however many
//! calls a range holds: a histogram of seconds (quantiles), a top-k counter (busiest lines),
//! and a Bloom filter (which numbers were already seen).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Counts of durations in seconds: 1 s buckets below 10 minutes, 10 s buckets below 3 hours,
/// 1 min buckets below 24 hours, one bucket above. Quantiles are exact below 10 minutes and
/// within a bucket's width (rounded down) above.
#[derive(Debug, Clone)]
pub struct SecondsHistogram {
    buckets: Vec<u64>,
    count: u64,
    longest: Option<u64>,
}

const FINE_END: u64 = 600;
const MEDIUM_END: u64 = 3 * 3600;
const COARSE_END: u64 = 24 * 3600;
const BUCKETS: usize =
    (FINE_END + (MEDIUM_END - FINE_END) / 10 + (COARSE_END - MEDIUM_END) / 60 + 1) as usize;

impl Default for SecondsHistogram {
    fn default() -> Self {
        Self {
            buckets: vec![0; BUCKETS],
            count: 0,
            longest: None,
        }
    }
}

impl SecondsHistogram {
    pub fn add(&mut self, seconds: u64) {
        self.buckets[bucket_of(seconds)] += 1;
        self.count += 1;
        self.longest = self.longest.max(Some(seconds));
    }

    /// The exact maximum.
    pub fn longest(&self) -> Option<u64> {
        self.longest
    }

    /// The nearest-rank `q` quantile (`q` in 0..=1): the smallest value with at least
    /// `ceil(q * count)` values at or below it, rounded down to its bucket.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_start(index));
            }
        }
        self.longest
    }
}

fn bucket_of(seconds: u64) -> usize {
    let index = match seconds {
        s if s < FINE_END => s,
        s if s < MEDIUM_END => FINE_END + (s - FINE_END) / 10,
        s if s < COARSE_END => FINE_END + (MEDIUM_END - FINE_END) / 10 + (s - MEDIUM_END) / 60,
        _ => BUCKETS as u64 - 1,
    };
    index as usize
}

fn bucket_start(index: usize) -> u64 {
    let i = index as u64;
    let medium_start = FINE_END;
    let coarse_start = FINE_END + (MEDIUM_END - FINE_END) / 10;
    match i {
        i if i < medium_start => i,
        i if i < coarse_start => FINE_END + (i - medium_start) * 10,
        i if i < BUCKETS as u64 - 1 => MEDIUM_END + (i - coarse_start) * 60,
        _ => COARSE_END,
    }
}

/// The most frequent keys of a stream with at most `capacity` counters (the Space-Saving
/// algorithm): exact while there are no more distinct keys than counters; beyond that a count
/// may be over by at most `calls / capacity`, and the true top keys are still kept.
#[derive(Debug, Clone)]
pub struct TopCounter<K> {
    capacity: usize,
    counts: HashMap<K, u64>,
}

impl<K: Hash + Eq + Clone + Ord> TopCounter<K> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            counts: HashMap::with_capacity(capacity.max(1)),
        }
    }

    pub fn add(&mut self, key: K) {
        if let Some(n) = self.counts.get_mut(&key) {
            *n += 1;
            return;
        }
        if self.counts.len() < self.capacity {
            self.counts.insert(key, 1);
            return;
        }
        // Full: the newcomer takes over the smallest counter, inheriting its count.
        let smallest = self
            .counts
            .iter()
            .min_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, n)| (k.clone(), *n));
        if let Some((old, n)) = smallest {
            self.counts.remove(&old);
            self.counts.insert(key, n + 1);
        }
    }

    /// The `n` largest counts, largest first (ties by key, so the answer is deterministic).
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

/// A set of strings in a fixed 512 KiB: `contains` may wrongly say yes (about 1 in 10,000
/// with 100,000 members, 1 in 200 with a million), never wrongly no.
#[derive(Debug, Clone)]
pub struct SeenSet {
    bits: Vec<u64>,
}

const SEEN_BITS: u64 = 1 << 22;
const SEEN_PROBES: u64 = 4;

impl Default for SeenSet {
    fn default() -> Self {
        Self {
            bits: vec![0; (SEEN_BITS / 64) as usize],
        }
    }
}

impl SeenSet {
    pub fn insert(&mut self, key: &str) {
        for bit in probes(key) {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        probes(key).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }
}

/// Double hashing: probe `i` is `h1 + i * h2`, from one 64-bit hash.
fn probes(key: &str) -> impl Iterator<Item = u64> {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let hash = hasher.finish();
    let (h1, h2) = (hash & 0xFFFF_FFFF, (hash >> 32) | 1);
    (0..SEEN_PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % SEEN_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_exact_below_ten_minutes() {
        let mut h = SecondsHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for s in [5, 1, 3, 2, 4] {
            h.add(s);
        }
        assert_eq!(h.quantile(0.5), Some(3));
        assert_eq!(h.quantile(0.9), Some(5));
        assert_eq!(h.quantile(0.0), Some(1));
        h.add(4000);
        h.add(100_000);
        assert_eq!(h.longest(), Some(100_000));
        assert_eq!(h.quantile(1.0), Some(COARSE_END));
        assert_eq!(bucket_start(bucket_of(4005)), 4000);
        assert_eq!(bucket_start(bucket_of(615)), 610);
        for s in [0, 599, 600, 10_799, 10_800, 86_399, 86_400] {
            assert!(bucket_start(bucket_of(s)) <= s, "{s}");
        }
    }

    #[test]
    fn top_counter_is_exact_under_capacity_and_keeps_heavy_hitters_over_it() {
        let mut top = TopCounter::new(3);
        for k in ["a", "b", "a", "c", "a", "b"] {
            top.add(k);
        }
        assert_eq!(top.top(2), vec![("a", 3), ("b", 2)]);
        let mut top = TopCounter::new(4);
        for i in 0..1000u32 {
            top.add(if i % 2 == 0 { 0 } else { i });
        }
        assert_eq!(top.top(1)[0].0, 0);
        assert!(top.counts.len() <= 4);
    }

    #[test]
    fn seen_set_never_forgets() {
        let mut seen = SeenSet::default();
        for i in 0..10_000 {
            seen.insert(&format!("+1201555{i:04}"));
        }
        assert!((0..10_000).all(|i| seen.contains(&format!("+1201555{i:04}"))));
        let false_hits = (0..10_000)
            .filter(|i| seen.contains(&format!("+4420700{i:04}")))
            .count();
        assert!(false_hits < 5, "{false_hits}");
    }
}
