//! The plaintext inside a sealed cookie: a tower-sessions [`Record`] plus its creation time,
//! encoded with postcard.
//!
//! tower-sessions keeps session data as `serde_json::Value`, which postcard cannot decode
//! (it has no `deserialize_any`), so values are written as an explicit tagged enum and read
//! back into `serde_json::Value` directly, without an intermediate tree.
//!
//! ```text
//! payload  = id | expires | created | data             (a postcard tuple: fields back to back)
//! id       = 16 bytes, the i128 session id, little-endian
//! expires  = i64 zigzag varint, unix seconds (the record's expiry date, rounded up)
//! created  = i64 zigzag varint, unix seconds (when this session id was issued)
//! data     = varint count, then count × (string key, value), keys in ascending byte order
//! string   = varint length, UTF-8 bytes
//! value    = varint tag, then:
//!            0 null | 1 bool (1 byte) | 2 u64 varint | 3 i64 zigzag varint (negative only)
//!            | 4 f64 (8 bytes LE) | 5 string | 6 array: varint count, values
//!            | 7 object: varint count, (string key, value) pairs
//! ```
//!
//! Format version 2 (written only when a store is configured on the layer: revocation or
//! overflow) appends three fields to the same tuple:
//!
//! ```text
//! payload v2 = id | expires | created | data | created_nanos | checked | stored
//! created_nanos = 4 bytes, u32 little-endian, < 1 000 000 000: the sub-second part of
//!            `created` (fixed width, so that a session's cookie size does not vary with it)
//! checked  = postcard option: 0x00 (never checked), or 0x01 then i64 zigzag varint, unix
//!            seconds of the last revocation check (rounded up)
//! stored   = bool (1 byte, 0x00 or 0x01): the data is in the overflow store, not here
//!            (then `data` is empty)
//! ```
//!
//! Format versions 3 and 4 are versions 1 and 2 whose values may also use tag 8, written
//! only when the data has such an array (otherwise the payload is version 1 or 2, byte for
//! byte as before):
//!
//! ```text
//!            | 8 unsigned array: varint count (at least 2), then count × u64 varint
//!              (an array whose elements are all non-negative integers, such as the bytes
//!              of a token that serde wrote as numbers; it decodes to the same array)
//! ```
//!
//! Arrays and objects nest at most [`MAX_DEPTH`] deep; the encoder refuses deeper values so
//! that nothing is ever sealed that would not open again.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{self, SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};

use crate::error::{Error, ErrorKind};

/// The deepest nesting of arrays/objects a session value may have.
pub const MAX_DEPTH: usize = 64;

/// Upper bound on capacity reserved from a length prefix before the elements are read: a
/// lying prefix cannot make the decoder allocate more than this up front.
const MAX_PREALLOC: usize = 64;

const ENUM_NAME: &str = "Value";
const VARIANTS: &[&str] = &[
    "Null", "Bool", "U64", "I64", "F64", "String", "Array", "Object", "Unsigned",
];

/// The shortest array written with tag 8 (shorter ones are tag 6, and tag 8 refuses them).
const MIN_UNSIGNED_LEN: usize = 2;

/// What one sealed cookie carries: the tower-sessions record and when the session began.
///
/// Times are stored with one-second precision: the expiry date is rounded up to the next
/// whole second (a session never expires early), the creation time down.
///
/// ```
/// use std::collections::HashMap;
/// use tower_sessions_sealed::{SealedRecord, session::{Id, Record}};
///
/// let record = Record { id: Id(7), data: HashMap::new(), expiry_date: time::OffsetDateTime::now_utc() };
/// let sealed = SealedRecord::new(record);
/// assert_eq!(sealed.record.id, Id(7));
/// ```
#[derive(Clone, PartialEq)]
pub struct SealedRecord {
    /// The session: id, data and the date after which it is no longer accepted.
    pub record: Record,
    /// When this session id was issued; the absolute lifetime is counted from here.
    pub created_at: OffsetDateTime,
}

impl SealedRecord {
    /// Wraps `record`, created now.
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # use tower_sessions_sealed::{SealedRecord, session::{Id, Record}};
    /// let now = time::OffsetDateTime::now_utc();
    /// let sealed = SealedRecord::new(Record { id: Id(1), data: HashMap::new(), expiry_date: now });
    /// assert!(sealed.created_at >= now);
    /// ```
    #[must_use]
    pub fn new(record: Record) -> Self {
        Self {
            record,
            created_at: OffsetDateTime::now_utc(),
        }
    }
}

/// Prints no session data: only the number of entries and the dates.
impl fmt::Debug for SealedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedRecord")
            .field("entries", &self.record.data.len())
            .field("expiry_date", &self.record.expiry_date)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The fields of a payload, borrowed from wherever they live.
#[derive(Clone, Copy)]
pub(crate) struct PayloadView<'a> {
    pub(crate) id: Id,
    pub(crate) expiry_date: OffsetDateTime,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) data: &'a HashMap<String, Value>,
    /// `Some` writes format version 2, with these fields.
    pub(crate) revocation: Option<StoreFields>,
}

/// What format version 2 adds: the exact creation time (so a subject revoked at `t` is
/// compared to the session's creation to the nanosecond), the last revocation check, and
/// whether the data overflowed to the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoreFields {
    /// When the revocation store last confirmed the session was not revoked.
    pub(crate) checked_at: Option<OffsetDateTime>,
    /// The session's data lives in the overflow store (the cookie is a sealed reference).
    pub(crate) stored: bool,
}

/// What a payload of one format version holds: the one mapping between version bytes and
/// layouts, for the encoder, the decoder and the envelope's version check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Format {
    /// [`StoreFields`] follow the data (versions 2 and 4).
    pub(crate) store_fields: bool,
    /// Values may use tag 8 (versions 3 and 4).
    pub(crate) unsigned_arrays: bool,
}

impl Format {
    /// The format of version byte `version`, if it is one.
    pub(crate) fn of(version: u8) -> Option<Self> {
        let (store_fields, unsigned_arrays) = match version {
            VERSION_1 => (false, false),
            VERSION_2 => (true, false),
            VERSION_3 => (false, true),
            VERSION_4 => (true, true),
            _ => return None,
        };
        Some(Self {
            store_fields,
            unsigned_arrays,
        })
    }

    /// Its version byte.
    pub(crate) fn version(self) -> u8 {
        match (self.store_fields, self.unsigned_arrays) {
            (false, false) => VERSION_1,
            (true, false) => VERSION_2,
            (false, true) => VERSION_3,
            (true, true) => VERSION_4,
        }
    }
}

impl SealedRecord {
    pub(crate) fn view(&self) -> PayloadView<'_> {
        PayloadView {
            id: self.record.id,
            expiry_date: self.record.expiry_date,
            created_at: self.created_at,
            data: &self.record.data,
            revocation: None,
        }
    }
}

/// Format version 1: the stateless payload.
pub(crate) const VERSION_1: u8 = 0x01;
/// Format version 2: version 1 plus [`StoreFields`].
pub(crate) const VERSION_2: u8 = 0x02;
/// Format version 3: version 1 with unsigned arrays (tag 8).
pub(crate) const VERSION_3: u8 = 0x03;
/// Format version 4: version 2 with unsigned arrays (tag 8).
pub(crate) const VERSION_4: u8 = 0x04;

/// A decoded payload.
pub(crate) struct Decoded {
    pub(crate) sealed: SealedRecord,
    /// Version 2 only.
    pub(crate) revocation: Option<StoreFields>,
}

/// Appends the postcard encoding of `payload` to `out`, and returns its format version.
pub(crate) fn encode_into(payload: PayloadView<'_>, out: &mut Vec<u8>) -> Result<u8, Error> {
    let taken = std::mem::take(out);
    let compact = Cell::new(false);
    let encoding = Encoding {
        payload,
        compact: Some(&compact),
    };
    match postcard::to_extend(&encoding, taken) {
        Ok(extended) => {
            *out = extended;
            Ok(Format {
                store_fields: payload.revocation.is_some(),
                unsigned_arrays: compact.get(),
            }
            .version())
        }
        // Our `Serialize` impls fail only on too-deep values (postcard itself cannot fail
        // writing to a `Vec`).
        Err(_) => Err(Error::new(ErrorKind::TooDeep { limit: MAX_DEPTH })),
    }
}

#[cfg(test)]
/// Decodes a whole version 1 plaintext; trailing bytes, bad tags, too-deep nesting,
/// duplicate keys, non-finite floats and out-of-range dates are all rejected.
pub(crate) fn decode(bytes: &[u8]) -> Option<SealedRecord> {
    decode_version(bytes, VERSION_1).map(|decoded| decoded.sealed)
}

/// Decodes a whole plaintext of format `version` (1 to 4), as [`decode`].
pub(crate) fn decode_version(bytes: &[u8], version: u8) -> Option<Decoded> {
    let format = Format::of(version)?;
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    let decoded = PayloadSeed(format).deserialize(&mut deserializer).ok()?;
    let rest = deserializer.finalize().ok()?;
    rest.is_empty().then_some(decoded)
}

/// Appends the postcard encoding of a session's data alone (the payload's `data` field) to
/// `out`: what a record at rest seals.
pub(crate) fn encode_data_into(
    data: &HashMap<String, Value>,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let taken = std::mem::take(out);
    // Records at rest keep format 1's values (no tag 8).
    match postcard::to_extend(
        &DataRef {
            data,
            compact: None,
        },
        taken,
    ) {
        Ok(extended) => {
            *out = extended;
            Ok(())
        }
        Err(_) => Err(Error::new(ErrorKind::TooDeep { limit: MAX_DEPTH })),
    }
}

/// Decodes what [`encode_data_into`] wrote, as strictly as [`decode_version`].
pub(crate) fn decode_data(bytes: &[u8]) -> Option<HashMap<String, Value>> {
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    let data = DataSeed { compact: false }
        .deserialize(&mut deserializer)
        .ok()?;
    let rest = deserializer.finalize().ok()?;
    rest.is_empty().then_some(data)
}

// ---------------------------------------------------------------------------------------
// Encoding

/// A payload being encoded; `compact` (when tag 8 may be used) records whether it was.
struct Encoding<'a> {
    payload: PayloadView<'a>,
    compact: Option<&'a Cell<bool>>,
}

impl Serialize for Encoding<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let payload = &self.payload;
        let len = if payload.revocation.is_some() { 7 } else { 4 };
        let mut tuple = serializer.serialize_tuple(len)?;
        tuple.serialize_element(&payload.id.0.to_le_bytes())?;
        tuple.serialize_element(&unix_seconds_ceil(payload.expiry_date))?;
        tuple.serialize_element(&payload.created_at.unix_timestamp())?;
        tuple.serialize_element(&DataRef {
            data: payload.data,
            compact: self.compact,
        })?;
        if let Some(fields) = payload.revocation {
            tuple.serialize_element(&payload.created_at.nanosecond().to_le_bytes())?;
            // Rounded up: the next check is due no earlier than a whole interval later.
            let checked = fields.checked_at.map(unix_seconds_ceil);
            tuple.serialize_element(&checked)?;
            tuple.serialize_element(&fields.stored)?;
        }
        tuple.end()
    }
}

/// Session data being encoded; `compact`: tag 8 may be used (and is recorded there).
struct DataRef<'a> {
    data: &'a HashMap<String, Value>,
    compact: Option<&'a Cell<bool>>,
}

impl Serialize for DataRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let data = self.data;
        let value = |value| ValueRef {
            value,
            depth: 0,
            compact: self.compact,
        };
        // Sorted, so that one record always encodes to the same bytes; sorted on the stack
        // for the usual handful of keys (no allocation on the request path).
        let mut on_stack: [Option<(&String, &Value)>; SORT_ON_STACK] = [None; SORT_ON_STACK];
        let mut on_heap = Vec::new();
        let entries = if data.len() <= SORT_ON_STACK {
            for (slot, entry) in on_stack.iter_mut().zip(data.iter()) {
                *slot = Some(entry);
            }
            on_stack.get_mut(..data.len()).unwrap_or_default()
        } else {
            on_heap.extend(data.iter().map(Some));
            on_heap.as_mut_slice()
        };
        entries.sort_unstable_by_key(|entry| entry.map(|(key, _)| key));
        let mut map = serializer.serialize_map(Some(data.len()))?;
        for (key, item) in entries.iter().flatten() {
            map.serialize_entry(key, &value(item))?;
        }
        map.end()
    }
}

/// Up to this many keys, [`DataRef`] sorts them in an array on the stack.
const SORT_ON_STACK: usize = 16;

/// A value with the number of arrays/objects around it.
struct ValueRef<'a> {
    value: &'a Value,
    depth: usize,
    compact: Option<&'a Cell<bool>>,
}

/// Whether `items` is written with tag 8.
fn is_unsigned_array(items: &[Value]) -> bool {
    items.len() >= MIN_UNSIGNED_LEN && items.iter().all(|item| item.as_u64().is_some())
}

/// The elements of a tag 8 array: a postcard sequence of `u64`.
struct UnsignedRef<'a>(&'a [Value]);

impl Serialize for UnsignedRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            let unsigned = item
                .as_u64()
                .ok_or_else(|| ser::Error::custom("not an unsigned integer"))?;
            seq.serialize_element(&unsigned)?;
        }
        seq.end()
    }
}

impl Serialize for ValueRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let inner = self.depth + 1;
        match self.value {
            Value::Null => serializer.serialize_unit_variant(ENUM_NAME, 0, "Null"),
            Value::Bool(b) => serializer.serialize_newtype_variant(ENUM_NAME, 1, "Bool", b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    serializer.serialize_newtype_variant(ENUM_NAME, 2, "U64", &u)
                } else if let Some(i) = n.as_i64() {
                    serializer.serialize_newtype_variant(ENUM_NAME, 3, "I64", &i)
                } else if let Some(f) = n.as_f64() {
                    serializer.serialize_newtype_variant(ENUM_NAME, 4, "F64", &f)
                } else {
                    Err(ser::Error::custom("unsupported number"))
                }
            }
            Value::String(s) => serializer.serialize_newtype_variant(ENUM_NAME, 5, "String", s),
            Value::Array(items) if inner <= MAX_DEPTH => match self.compact {
                Some(used) if is_unsigned_array(items) => {
                    used.set(true);
                    serializer.serialize_newtype_variant(
                        ENUM_NAME,
                        8,
                        "Unsigned",
                        &UnsignedRef(items),
                    )
                }
                _ => serializer.serialize_newtype_variant(
                    ENUM_NAME,
                    6,
                    "Array",
                    &ArrayRef {
                        items,
                        depth: inner,
                        compact: self.compact,
                    },
                ),
            },
            Value::Object(map) if inner <= MAX_DEPTH => serializer.serialize_newtype_variant(
                ENUM_NAME,
                7,
                "Object",
                &ObjectRef {
                    map,
                    depth: inner,
                    compact: self.compact,
                },
            ),
            Value::Array(_) | Value::Object(_) => Err(ser::Error::custom("nesting too deep")),
        }
    }
}

struct ArrayRef<'a> {
    items: &'a [Value],
    depth: usize,
    compact: Option<&'a Cell<bool>>,
}

impl Serialize for ArrayRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.items.len()))?;
        for value in self.items {
            seq.serialize_element(&ValueRef {
                value,
                depth: self.depth,
                compact: self.compact,
            })?;
        }
        seq.end()
    }
}

struct ObjectRef<'a> {
    map: &'a Map<String, Value>,
    depth: usize,
    compact: Option<&'a Cell<bool>>,
}

impl Serialize for ObjectRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.map.len()))?;
        for (key, value) in self.map {
            map.serialize_entry(
                key,
                &ValueRef {
                    value,
                    depth: self.depth,
                    compact: self.compact,
                },
            )?;
        }
        map.end()
    }
}

/// Whole unix seconds, rounded up (except past the last whole second `time` can represent,
/// so that the decoder always accepts what the encoder wrote).
fn unix_seconds_ceil(date: OffsetDateTime) -> i64 {
    let secs = date.unix_timestamp();
    if date.nanosecond() > 0 && secs < LAST_WHOLE_SECOND {
        secs + 1
    } else {
        secs
    }
}

/// The last whole second `time` can represent (what `from_unix_timestamp` still accepts).
const LAST_WHOLE_SECOND: i64 = time::UtcDateTime::MAX.unix_timestamp();

// ---------------------------------------------------------------------------------------
// Decoding

#[derive(Clone, Copy)]
struct PayloadSeed(Format);

impl<'de> DeserializeSeed<'de> for PayloadSeed {
    type Value = Decoded;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Decoded, D::Error> {
        let len = if self.0.store_fields { 7 } else { 4 };
        deserializer.deserialize_tuple(len, self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed {
    type Value = Decoded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sealed session payload")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Decoded, A::Error> {
        let missing = || de::Error::custom("truncated payload");
        let id: [u8; 16] = seq.next_element()?.ok_or_else(missing)?;
        let expires: i64 = seq.next_element()?.ok_or_else(missing)?;
        let created: i64 = seq.next_element()?.ok_or_else(missing)?;
        let data = seq
            .next_element_seed(DataSeed {
                compact: self.0.unsigned_arrays,
            })?
            .ok_or_else(missing)?;
        let date = |secs| {
            OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|_| de::Error::custom("date out of range"))
        };
        let mut created_at = date(created)?;
        let mut revocation = None;
        if self.0.store_fields {
            let nanos: [u8; 4] = seq.next_element()?.ok_or_else(missing)?;
            let nanos = u32::from_le_bytes(nanos);
            let checked: Option<i64> = seq.next_element()?.ok_or_else(missing)?;
            let stored: bool = seq.next_element()?.ok_or_else(missing)?;
            created_at = created_at
                .replace_nanosecond(nanos)
                .map_err(|_| de::Error::custom("nanoseconds out of range"))?;
            if stored && !data.is_empty() {
                return Err(de::Error::custom("a stored session carries no data"));
            }
            revocation = Some(StoreFields {
                checked_at: checked.map(date).transpose()?,
                stored,
            });
        }
        Ok(Decoded {
            sealed: SealedRecord {
                record: Record {
                    id: Id(i128::from_le_bytes(id)),
                    data,
                    expiry_date: date(expires)?,
                },
                created_at,
            },
            revocation,
        })
    }
}

/// Reads session data; `compact`: tag 8 is allowed.
#[derive(Clone, Copy)]
struct DataSeed {
    compact: bool,
}

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = HashMap<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = HashMap<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("session data")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut data = HashMap::with_capacity(access.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        let seed = ValueSeed {
            depth: 0,
            compact: self.compact,
        };
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(seed)?;
            if data.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(data)
    }
}

/// Reads one value that has `depth` arrays/objects around it.
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
    /// Tag 8 is allowed (versions 3 and 4).
    compact: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_enum(ENUM_NAME, VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session value")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, variant): (u32, _) = data.variant()?;
        let inner = self.depth + 1;
        let too_deep = || de::Error::custom("nesting too deep");
        match tag {
            0 => variant.unit_variant().map(|()| Value::Null),
            1 => variant.newtype_variant().map(Value::Bool),
            2 => variant
                .newtype_variant::<u64>()
                .map(|u| Value::Number(u.into())),
            3 => {
                let i = variant.newtype_variant::<i64>()?;
                if i >= 0 {
                    return Err(de::Error::custom("non-canonical integer"));
                }
                Ok(Value::Number(i.into()))
            }
            4 => {
                let f = variant.newtype_variant::<f64>()?;
                Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| de::Error::custom("non-finite float"))
            }
            5 => variant.newtype_variant().map(Value::String),
            6 if inner <= MAX_DEPTH => variant
                .newtype_variant_seed(ArraySeed {
                    depth: inner,
                    compact: self.compact,
                })
                .map(Value::Array),
            7 if inner <= MAX_DEPTH => variant
                .newtype_variant_seed(ObjectSeed {
                    depth: inner,
                    compact: self.compact,
                })
                .map(Value::Object),
            6 | 7 => Err(too_deep()),
            8 if self.compact && inner <= MAX_DEPTH => {
                variant.newtype_variant_seed(UnsignedSeed).map(Value::Array)
            }
            8 if self.compact => Err(too_deep()),
            _ => Err(de::Error::custom("unknown value tag")),
        }
    }
}

struct ArraySeed {
    depth: usize,
    compact: bool,
}

impl<'de> DeserializeSeed<'de> for ArraySeed {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        let seed = ValueSeed {
            depth: self.depth,
            compact: self.compact,
        };
        while let Some(item) = seq.next_element_seed(seed)? {
            items.push(item);
        }
        Ok(items)
    }
}

/// Reads the elements of a tag 8 array.
struct UnsignedSeed;

impl<'de> DeserializeSeed<'de> for UnsignedSeed {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for UnsignedSeed {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of unsigned integers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(unsigned) = seq.next_element::<u64>()? {
            items.push(Value::Number(unsigned.into()));
        }
        // The encoder writes shorter arrays with tag 6: one encoding per record.
        if items.len() < MIN_UNSIGNED_LEN {
            return Err(de::Error::custom("non-canonical unsigned array"));
        }
        Ok(items)
    }
}

struct ObjectSeed {
    depth: usize,
    compact: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        let seed = ValueSeed {
            depth: self.depth,
            compact: self.compact,
        };
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(seed)?;
            if map.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests may index
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed(data: Value) -> SealedRecord {
        let Value::Object(map) = data else { panic!() };
        SealedRecord {
            record: Record {
                id: Id(-1),
                data: map.into_iter().collect(),
                expiry_date: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            },
            created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        }
    }

    fn roundtrip(s: &SealedRecord) -> SealedRecord {
        let mut out = Vec::new();
        let version = encode_into(s.view(), &mut out).unwrap();
        decode_version(&out, version).unwrap().sealed
    }

    #[test]
    fn data_roundtrips_exactly() {
        let s = sealed(json!({
            "n": null, "t": true, "f": false,
            "u": u64::MAX, "i": i64::MIN, "z": 0, "neg0": -0.0, "big": f64::MAX,
            "tiny": f64::MIN_POSITIVE, "sub": 5e-324, "s": "héllo ✓ 🎉",
            "nested": {"a": [1, [2, {"b": []}], {}], "ключ": "значение"}
        }));
        let back = roundtrip(&s);
        assert_eq!(back, s);
        let neg0 = back.record.data["neg0"].as_f64().unwrap();
        assert!(neg0 == 0.0 && neg0.is_sign_negative());
    }

    #[test]
    fn depth_limit_is_shared_by_encoder_and_decoder() {
        let nest = |n: usize| (0..n).fold(json!(1), |v, _| json!([v]));
        let ok = sealed(json!({ "deep": nest(MAX_DEPTH) }));
        assert_eq!(roundtrip(&ok), ok);
        let too_deep = sealed(json!({ "deep": nest(MAX_DEPTH + 1) }));
        let err = encode_into(too_deep.view(), &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooDeep { limit: MAX_DEPTH });
    }

    #[test]
    fn version_2_roundtrips_and_checks_its_fields() {
        let mut s = sealed(json!({"a": 1}));
        s.created_at = s.created_at.replace_nanosecond(999_999_999).unwrap();
        let checked = Some(OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap());
        let mut view = s.view();
        view.revocation = Some(StoreFields {
            checked_at: checked,
            stored: false,
        });
        let mut out = Vec::new();
        assert_eq!(encode_into(view, &mut out).unwrap(), VERSION_2);
        let back = decode_version(&out, VERSION_2).unwrap();
        assert_eq!(back.sealed, s);
        assert_eq!(
            back.revocation,
            Some(StoreFields {
                checked_at: checked,
                stored: false
            })
        );
        // Not version 1, nor an unknown version.
        assert!(decode_version(&out, VERSION_1).is_none());
        assert!(decode_version(&out, 3).is_none());
        // A version 1 payload is not a version 2 one (the fields are missing).
        let mut v1 = Vec::new();
        encode_into(s.view(), &mut v1).unwrap();
        assert!(decode_version(&v1, VERSION_2).is_none());
        // Nanoseconds out of range: 1_000_000_000 = 00 ca 9a 3b (little-endian).
        let mut bad = v1.clone();
        bad.extend_from_slice(&[0x00, 0xca, 0x9a, 0x3b, 0x00, 0x00]);
        assert!(decode_version(&bad, VERSION_2).is_none());
        let mut good = v1.clone();
        good.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
        assert!(decode_version(&good, VERSION_2).is_some());
        // `stored` with data in the cookie is refused; without data it reads.
        let mut stored_with_data = v1;
        stored_with_data.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
        assert!(decode_version(&stored_with_data, VERSION_2).is_none());
        let empty = sealed(json!({}));
        let mut stored = Vec::new();
        encode_into(empty.view(), &mut stored).unwrap();
        stored.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
        let back = decode_version(&stored, VERSION_2).unwrap();
        assert!(back.revocation.unwrap().stored);
    }

    #[test]
    fn unsigned_arrays_use_tag_8_and_version_3() {
        let token: Vec<u8> = (0..32).map(|i| i * 8).collect();
        let s = sealed(json!({
            "token": token,
            "grid": [[1, 2, 3], [4, 5, 6]],
            "one": [7],
            "mixed": [1, -1],
            "floats": [1.0, 2.0],
        }));
        let mut out = Vec::new();
        let version = encode_into(s.view(), &mut out).unwrap();
        assert_eq!(version, VERSION_3);
        assert_eq!(decode_version(&out, VERSION_3).unwrap().sealed, s);
        // Versions 1 and 2 have no tag 8.
        assert!(decode(&out).is_none());
        // Every element of the token is one or two bytes, not a tag and a varint.
        let mut plain = Vec::new();
        let without = sealed(json!({ "token": (0..32).map(|i| i * 8).collect::<Vec<u8>>() }));
        encode_data_into(&without.record.data, &mut plain).unwrap();
        let mut compact = Vec::new();
        assert_eq!(
            encode_into(without.view(), &mut compact).unwrap(),
            VERSION_3
        );
        assert!(compact.len() + 25 < plain.len() + 16 + 2 + 5 + 5);
        // With store fields: version 4.
        let mut view = s.view();
        view.revocation = Some(StoreFields::default());
        let mut v4 = Vec::new();
        assert_eq!(encode_into(view, &mut v4).unwrap(), VERSION_4);
        let back = decode_version(&v4, VERSION_4).unwrap();
        assert_eq!(back.sealed, s);
        assert!(decode_version(&v4, VERSION_2).is_none());
        // No unsigned array: versions 1 and 2, as before.
        let plain = sealed(json!({"a": [1], "b": "x"}));
        assert_eq!(
            encode_into(plain.view(), &mut Vec::new()).unwrap(),
            VERSION_1
        );
        // Records at rest never use tag 8.
        let mut at_rest = Vec::new();
        encode_data_into(&s.record.data, &mut at_rest).unwrap();
        assert_eq!(decode_data(&at_rest).unwrap(), s.record.data);
    }

    #[test]
    fn every_version_byte_maps_to_one_format_and_back() {
        for version in 0..=u8::MAX {
            match Format::of(version) {
                Some(format) => assert_eq!(format.version(), version),
                None => assert!(!(VERSION_1..=VERSION_4).contains(&version), "{version}"),
            }
        }
    }

    #[test]
    fn short_unsigned_arrays_are_refused() {
        // data = 1 entry "a" → tag 8 with 1 element: not canonical (tag 6 is).
        let s = sealed(json!({}));
        let mut out = Vec::new();
        encode_into(s.view(), &mut out).unwrap();
        let data_at = out.len() - 1; // the empty map's count
        let mut bad = out[..data_at].to_vec();
        bad.extend_from_slice(&[0x01, 0x01, b'a', 0x08, 0x01, 0x05]);
        assert!(decode_version(&bad, VERSION_3).is_none());
        let mut good = out[..data_at].to_vec();
        good.extend_from_slice(&[0x01, 0x01, b'a', 0x08, 0x02, 0x05, 0x06]);
        let back = decode_version(&good, VERSION_3).unwrap().sealed;
        assert_eq!(back.record.data["a"], json!([5, 6]));
        assert!(decode_version(&good, VERSION_1).is_none());
    }

    #[test]
    fn trailing_bytes_and_garbage_are_rejected() {
        let s = sealed(json!({"a": 1}));
        let mut out = Vec::new();
        encode_into(s.view(), &mut out).unwrap();
        let mut longer = out.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        for len in 0..out.len() {
            assert!(decode(&out[..len]).is_none(), "prefix {len}");
        }
        // A huge declared length with no elements behind it.
        let mut lying = out[..32.min(out.len())].to_vec();
        lying.truncate(16 + 2); // id + two 1-byte varints is not valid, but try anyway
        lying.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(decode(&lying).is_none());
    }
}
