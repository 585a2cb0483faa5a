//! Hooks for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)` (which
//! `cargo fuzz` sets): they reach the plaintext decoder behind the AEAD, which no attacker
//! can reach without the key.

use time::OffsetDateTime;

use crate::error::Error;
use crate::format::payload::{self, Format, SealedRecord, StoreFields};

/// Decodes an (already authenticated) plaintext payload of format `version` (1 or 3:
/// without the version 2 fields).
#[must_use]
pub fn decode_payload(version: u8, plaintext: &[u8]) -> Option<SealedRecord> {
    let format = Format::of(version)?;
    if format.store_fields {
        return None;
    }
    payload::decode_version(plaintext, version).map(|decoded| decoded.sealed)
}

/// Encodes a record as the plaintext payload; returns its format version (1, or 3 when the
/// data has an unsigned array) and the bytes.
///
/// # Errors
///
/// As [`KeyRing::seal`](crate::KeyRing::seal) for too-deep values.
pub fn encode_payload(sealed: &SealedRecord) -> Result<(u8, Vec<u8>), Error> {
    let mut out = Vec::new();
    let version = payload::encode_into(sealed.view(), &mut out)?;
    Ok((version, out))
}

/// The fields format version 2 adds to a record: the last revocation check, and whether
/// the data is in the overflow store.
pub type V2Fields = (Option<OffsetDateTime>, bool);

/// Decodes an (already authenticated) format version 2 (or 4) plaintext: the record and its
/// version 2 fields.
#[must_use]
pub fn decode_payload_v2(version: u8, plaintext: &[u8]) -> Option<(SealedRecord, V2Fields)> {
    if !Format::of(version)?.store_fields {
        return None;
    }
    let decoded = payload::decode_version(plaintext, version)?;
    let fields = decoded.revocation.unwrap_or_default();
    Some((decoded.sealed, (fields.checked_at, fields.stored)))
}

/// Encodes a record as a format version 2 plaintext (4 when the data has an unsigned
/// array); returns the version and the bytes.
///
/// # Errors
///
/// As [`encode_payload`].
pub fn encode_payload_v2(sealed: &SealedRecord, fields: V2Fields) -> Result<(u8, Vec<u8>), Error> {
    let (checked_at, stored) = fields;
    let mut view = sealed.view();
    view.revocation = Some(StoreFields { checked_at, stored });
    let mut out = Vec::new();
    let version = payload::encode_into(view, &mut out)?;
    Ok((version, out))
}
