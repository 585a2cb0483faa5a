//! Hooks for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)` (which
//! `cargo fuzz` sets): they reach the plaintext decoder behind the AEAD, which no attacker
//! can reach without the key.

use crate::error::Error;
use crate::payload::{self, SealedRecord};

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
