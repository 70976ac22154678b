//! The borrowed reading of a report: only the fields cer needs, each taken as GoTo's raw text
//! and read leniently (a field of an unexpected type is missing, not an error), everything
//! else skipped unread. Arrays are walked one element at a time, so a report costs what its
//! text costs however its JSON is shaped: no tree of values is ever built.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The top-level fields cer reads; the rest of the report is skipped unread.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Shape<'a> {
    #[serde(borrow, default)]
    pub conversation_space_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub account_key: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub call_created: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub call_answered: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub call_ended: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub direction: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub participants: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub interactive_voice_response_systems: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub call_states: Option<&'a RawValue>,
}

/// A participant, at the top level or inside a call state.
#[derive(Deserialize, Default)]
pub(super) struct ParticipantShape<'a> {
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub originator: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub status: Option<&'a RawValue>,
}

/// A participant's `type`: the line or number itself, and the outside party of a
/// phone-number leg (`caller` or `callee`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct KindShape<'a> {
    #[serde(borrow, default)]
    pub value: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub number: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub extension_number: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub caller: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub callee: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub voicemail_status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub left_queue_reason: Option<&'a RawValue>,
}

/// An outside party, or a `status`: a name, a number, a value.
#[derive(Deserialize, Default)]
pub(super) struct NamedShape<'a> {
    #[serde(borrow, default)]
    pub name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub number: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub value: Option<&'a RawValue>,
}

/// An interactive voice response system (dial plan, queue, voicemail) or a call state.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntryShape<'a> {
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub participants: Option<&'a RawValue>,
}

/// A JSON string's text, borrowed when GoTo wrote it without escapes.
pub(super) fn text(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let raw = raw?.get();
    if let Ok(text) = serde_json::from_str::<&str>(raw) {
        return Some(Cow::Borrowed(text));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// A JSON object read into `T`, or `None` when it is not an object or does not fit.
pub(super) fn object<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<T> {
    let raw = raw?.get();
    // serde would also fill a struct from a JSON array, field by field.
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw).ok()
}

/// Calls `each` with every element of a JSON array that reads as an object `T`, one at a
/// time: an array of millions of elements costs no more than one. Anything but an array
/// has no elements.
pub(super) fn each<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>, mut each: impl FnMut(T)) {
    let Some(raw) = raw else { return };
    if !raw.get().trim_start().starts_with('[') {
        return;
    }
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    let walk = Walk {
        each: &mut each,
        item: PhantomData,
    };
    // The text was read once already: it is one valid array.
    let _ = walk.deserialize(&mut reader);
}

struct Walk<'f, T, F> {
    each: &'f mut F,
    item: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> DeserializeSeed<'de> for Walk<'_, T, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Walk<'_, T, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while let Some(item) = items.next_element::<&'de RawValue>()? {
            if let Some(item) = object(Some(item)) {
                (self.each)(item);
            }
        }
        Ok(())
    }
}

/// The top-level fields of a JSON object, each name with its raw value, in GoTo's order; none
/// when the text is not an object.
pub fn top_level_fields(text: &str) -> Vec<(String, &RawValue)> {
    serde_json::from_str::<Fields<'_>>(text).map_or_else(|_| Vec::new(), |fields| fields.0)
}

struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: de::Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        reader.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut entries: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = entries.next_entry::<String, &'de RawValue>()? {
            fields.push(entry);
        }
        Ok(Fields(fields))
    }
}
