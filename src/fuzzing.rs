//! Hooks for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)` (which
//! `cargo fuzz` sets): they reach the plaintext decoder behind the AEAD, which no attacker
//! can reach without the key.

use time::OffsetDateTime;

use crate::error::Error;
use crate::payload::{self, SealedRecord, StoreFields, VERSION_2};

/// Decodes an (already authenticated) plaintext payload.
#[must_use]
pub fn decode_payload(plaintext: &[u8]) -> Option<SealedRecord> {
    payload::decode(plaintext)
}

/// Encodes a record as the plaintext payload.
///
/// # Errors
///
/// As [`KeyRing::seal`](crate::KeyRing::seal) for too-deep values.
pub fn encode_payload(sealed: &SealedRecord) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    payload::encode_into(sealed.view(), &mut out)?;
    Ok(out)
}

/// The fields format version 2 adds to a record: the last revocation check, and whether
/// the data is in the overflow store.
pub type V2Fields = (Option<OffsetDateTime>, bool);

/// Decodes an (already authenticated) format version 2 plaintext: the record and its
/// version 2 fields.
#[must_use]
pub fn decode_payload_v2(plaintext: &[u8]) -> Option<(SealedRecord, V2Fields)> {
    let decoded = payload::decode_version(plaintext, VERSION_2)?;
    let fields = decoded.revocation.unwrap_or_default();
    Some((decoded.sealed, (fields.checked_at, fields.stored)))
}

/// Encodes a record as a format version 2 plaintext.
///
/// # Errors
///
/// As [`encode_payload`].
pub fn encode_payload_v2(sealed: &SealedRecord, fields: V2Fields) -> Result<Vec<u8>, Error> {
    let (checked_at, stored) = fields;
    let mut view = sealed.view();
    view.revocation = Some(StoreFields { checked_at, stored });
    let mut out = Vec::new();
    payload::encode_into(view, &mut out)?;
    Ok(out)
}
