//! Seeded, dependency-free randomness and id shapes: the same seed must give the same calls,
//! directory and ids in every process, on every platform, forever.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough for fake data.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A value in `0..n` (0 when `n == 0`), by multiply-shift to avoid modulo bias.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A value in `lo..hi` (`lo` when the range is empty).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi.abs_diff(lo)) as i64
    }

    /// True with the given probability in percent.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An index chosen by integer weights.
    pub(crate) fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut roll = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A fraction in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The SplitMix64 finaliser: a strong 64-bit mixer.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a tuple of words; order matters.
pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x6A09_E667_F3BC_C908, |acc, p| mix(acc ^ mix(*p)))
}

/// A 128-bit UUID value with the given version nibble and the RFC 4122 variant.
pub(crate) fn uuid_bits(hi: u64, lo: u64, version: u8) -> u128 {
    let hi = (hi & !0xF000) | (u64::from(version & 0xF) << 12);
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// A hashed UUID string, for the many ids (legs, participants, states) derived from a call.
pub(crate) fn uuid_from(parts: &[u64], version: u8) -> String {
    let h = hash(parts);
    format_uuid(uuid_bits(h, mix(h ^ 0x5555), version))
}

/// The canonical lowercase 8-4-4-4-12 form.
pub(crate) fn format_uuid(v: u128) -> String {
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Parses any-case 8-4-4-4-12 hex; `None` for anything else.
pub(crate) fn parse_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// A numeric string of exactly `digits` digits (no leading zero), like GoTo's account and user keys.
pub(crate) fn numeric_key(rng: &mut SplitMix64, digits: u32) -> String {
    let low = 10u64.pow(digits - 1);
    let span = 9 * low;
    (low + rng.below(span)).to_string()
}

const MASK48: u64 = (1 << 48) - 1;
const M1: u64 = 0x5DEE_CE66_D1B5;
const M2: u64 = 0x2545_F491_4F6D;

/// A keyed bijection on 48 bits, so slot numbers do not show through call ids.
pub(crate) fn scramble48(x: u64, key: u64) -> u64 {
    let mut v = (x ^ key) & MASK48;
    v = v.wrapping_mul(M1) & MASK48;
    v ^= v >> 24;
    v.wrapping_mul(M2) & MASK48
}

/// The inverse of [`scramble48`].
pub(crate) fn unscramble48(v: u64, key: u64) -> u64 {
    let mut x = v.wrapping_mul(inverse(M2)) & MASK48;
    x ^= x >> 24;
    x = x.wrapping_mul(inverse(M1)) & MASK48;
    (x ^ key) & MASK48
}

/// Multiplicative inverse of an odd number modulo 2^64 (Newton's iteration).
const fn inverse(a: u64) -> u64 {
    let mut x = a;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scramble_round_trips() {
        for key in [0, 1, 0xDEAD_BEEF, u64::MAX] {
            for x in [0, 1, 2, 1_700_000_000, MASK48] {
                assert_eq!(unscramble48(scramble48(x, key), key), x);
            }
        }
    }

    #[test]
    fn uuid_round_trips_and_has_version() {
        let v = uuid_bits(0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210, 3);
        let s = format_uuid(v);
        assert_eq!(s.as_bytes()[14], b'3');
        assert!(matches!(s.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(parse_uuid(&s), Some(v));
        assert_eq!(parse_uuid(&s.to_uppercase()), Some(v));
        assert_eq!(parse_uuid("not-a-uuid"), None);
    }

    #[test]
    fn numeric_keys_have_exact_length() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..100 {
            let k = numeric_key(&mut rng, 19);
            assert_eq!(k.len(), 19);
            assert!(!k.starts_with('0'));
        }
    }
}
