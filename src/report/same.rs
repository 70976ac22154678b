//! Whether two reports say the same thing: any field added, removed or changed is a
//! difference; the order of an object's fields and the whitespace between tokens are not
//! (PostgreSQL's jsonb reorders the fields of a report stored before revisions kept GoTo's
//! text). Compared by a digest computed while reading, so it costs no tree of values however
//! the JSON is shaped.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// Whether `a` and `b` are the same JSON document up to field order and whitespace; a text
/// that is not JSON equals only itself.
pub fn same_json(a: &str, b: &str) -> bool {
    a == b || matches!((digest(a), digest(b)), (Some(x), Some(y)) if x == y)
}

/// A digest of what a JSON document says (as [`same_json`] compares: field order and whitespace
/// aside), as the signed integer SQLite returns; `None` for a text that is not JSON. The store
/// digests a stored revision where it lies instead of reading it out. Digests are compared
/// within one process and never stored: `DefaultHasher`'s algorithm may change between Rust
/// releases.
pub fn json_digest(text: &str) -> Option<i64> {
    digest(text).map(|digest| i64::from_ne_bytes(digest.to_ne_bytes()))
}

/// Each top-level field's name and the digest of its value, in the text's order: enough to say
/// which fields a newer revision added, changed or removed without holding the older one (a
/// 30 MB revision read out of the store costs several copies of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldDigests(pub Vec<(String, Option<i64>)>);

impl FieldDigests {
    /// The fields of `text`; none when it is not a JSON object.
    pub fn of(text: &str) -> Self {
        let fields = super::view::top_level_fields(text);
        Self(
            fields
                .into_iter()
                .map(|(name, value)| (name, json_digest(value.get())))
                .collect(),
        )
    }

    /// As JSON (`[["name", digest], …]`), the form SQLite hands them over in.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_string())
    }

    /// Back from [`FieldDigests::to_json`]; `None` for anything else.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok().map(Self)
    }
}

fn digest(text: &str) -> Option<u64> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let digest = Digest::deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(digest.0)
}

/// A value's digest: strings by their decoded text, numbers by their spelling (as
/// `serde_json::Value` compared them), arrays in order, objects in any order.
struct Digest(u64);

fn hashed(tag: u8, value: impl Hash) -> Digest {
    let mut hasher = DefaultHasher::new();
    tag.hash(&mut hasher);
    value.hash(&mut hasher);
    Digest(hasher.finish())
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: de::Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        reader.deserialize_any(DigestVisitor)
    }
}

struct DigestVisitor;

impl<'de> Visitor<'de> for DigestVisitor {
    type Value = Digest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E>(self) -> Result<Digest, E> {
        Ok(hashed(b'n', ()))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Digest, E> {
        Ok(hashed(b'b', value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Digest, E> {
        Ok(hashed(b'#', value.to_string()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Digest, E> {
        Ok(hashed(b'#', value.to_string()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Digest, E> {
        Ok(hashed(b'#', value.to_string()))
    }

    fn visit_str<E>(self, value: &str) -> Result<Digest, E> {
        Ok(hashed(b's', value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Digest, A::Error> {
        let mut hasher = DefaultHasher::new();
        b'['.hash(&mut hasher);
        while let Some(item) = items.next_element::<Digest>()? {
            item.0.hash(&mut hasher);
        }
        Ok(Digest(hasher.finish()))
    }

    // Each entry hashed alone and the hashes added: the same whatever the order, in
    // constant memory however many fields there are.
    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Digest, A::Error> {
        let (mut sum, mut count) = (0u64, 0u64);
        while let Some(key) = entries.next_key::<Digest>()? {
            let value = entries.next_value::<Digest>()?;
            sum = sum.wrapping_add(hashed(b':', (key.0, value.0)).0);
            count += 1;
        }
        Ok(hashed(b'{', (sum, count)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_whitespace_are_the_same_and_any_change_is_not() {
        let stored = r#"{"a": 1, "b": [1, 2, {"x": "y", "z": null}], "c": "é"}"#;
        assert!(same_json(stored, stored));
        assert!(same_json(
            stored,
            r#"{"c":"\u00e9","b":[1,2,{"z":null,"x":"y"}],"a":1}"#
        ));
        for changed in [
            r#"{"a": 1, "b": [1, 2, {"x": "y", "z": null}]}"#,
            r#"{"a": 1, "b": [1, 2, {"x": "y", "z": null}], "c": "é", "d": 0}"#,
            r#"{"a": 2, "b": [1, 2, {"x": "y", "z": null}], "c": "é"}"#,
            r#"{"a": 1, "b": [2, 1, {"x": "y", "z": null}], "c": "é"}"#,
            r#"{"a": 1, "b": [1, 2, {"x": "y", "z": false}], "c": "é"}"#,
            r#"{"a": "1", "b": [1, 2, {"x": "y", "z": null}], "c": "é"}"#,
            r#"{"a": 1.0, "b": [1, 2, {"x": "y", "z": null}], "c": "é"}"#,
            r#"{"a": 1, "b": [1, 2, {"x": "y", "z": null}], "C": "é"}"#,
        ] {
            assert!(!same_json(stored, changed), "{changed}");
        }
        assert!(!same_json("{", "{}"));
        assert!(!same_json("[[1]]", "[1]"));
    }

    // Regression (issue 26 finding 11): GoTo answering with the ID in capitals is a change.
    #[test]
    fn an_id_in_another_letter_case_is_a_change() {
        let lower = r#"{"conversationSpaceId":"b6ad7073-be3a-31d5-a956-777109126542"}"#;
        let upper = r#"{"conversationSpaceId":"B6AD7073-BE3A-31D5-A956-777109126542"}"#;
        assert!(!same_json(lower, upper));
    }
}
