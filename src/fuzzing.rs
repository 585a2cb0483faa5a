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

/// Decodes an (already authenticated) format version 2 plaintext: the record and the time
/// of its last revocation check.
#[must_use]
pub fn decode_payload_v2(plaintext: &[u8]) -> Option<(SealedRecord, Option<OffsetDateTime>)> {
    let decoded = payload::decode_version(plaintext, VERSION_2)?;
    let checked_at = decoded.revocation.and_then(|fields| fields.checked_at);
    Some((decoded.sealed, checked_at))
}

/// Encodes a record as a format version 2 plaintext.
///
/// # Errors
///
/// As [`encode_payload`].
pub fn encode_payload_v2(
    sealed: &SealedRecord,
    checked_at: Option<OffsetDateTime>,
) -> Result<Vec<u8>, Error> {
    let mut view = sealed.view();
    view.revocation = Some(StoreFields {
        checked_at,
        stored: false,
    });
    let mut out = Vec::new();
    payload::encode_into(view, &mut out)?;
    Ok(out)
}
