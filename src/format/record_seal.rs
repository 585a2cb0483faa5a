//! Records at rest: a session's data sealed for a server-side store, under the same key
//! ring as cookies but with its own derived key.
//!
//! ```text
//! stored   = base64url_nopad( version | kid | nonce | ciphertext ‖ tag )
//! version  1 byte   0x01 (record-at-rest format 1)
//! kid      4 bytes  the key id, as in cookies
//! nonce   24 bytes  fresh from the CSPRNG for every seal
//! tag     16 bytes  Poly1305
//! key            = HKDF-Expand(prk, "store", 32)   (cookies use "seal")
//! AAD            = version | kid | id (16 bytes, i128 little-endian)
//!                  | expiry (8 bytes, i64 little-endian unix seconds, rounded down)
//! plaintext      = the payload's `data` field (payload.rs): varint count, then sorted
//!                  (string key, value) pairs
//! ```
//!
//! The id and the expiry stay in clear, because stores index and expire on them, and are
//! bound by the AAD: a record copied to another id, or whose expiry was pushed out, does not
//! open. The expiry is bound to the second, so that stores that keep fewer digits
//! (PostgreSQL keeps microseconds) still open what they stored.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde_json::Value;
use time::OffsetDateTime;
use tower_sessions_core::session::Id;

use crate::error::{Error, ErrorKind};
use crate::format::aead::{NONCE_LEN, TAG_LEN};
use crate::format::payload;
use crate::format::seal::{Envelope, HEADER_LEN, PREFIX_LEN};
use crate::key::KeyRing;

/// The record-at-rest format version.
pub(crate) const RECORD_VERSION: u8 = 0x01;

const AAD_LEN: usize = PREFIX_LEN + 16 + 8;

/// Why a stored value did not open (traced, never returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unopened {
    NotBase64,
    TooShort,
    Version,
    UnknownKey,
    NotAuthentic,
    Payload,
}

impl Unopened {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NotBase64 => "stored value is not unpadded base64url",
            Self::TooShort => "stored value too short for the envelope",
            Self::Version => "unknown record format version",
            Self::UnknownKey => "sealed under a key not in the ring",
            Self::NotAuthentic => {
                "authentication failed (tampered, moved to another id, or expiry changed)"
            }
            Self::Payload => "authentic data did not decode",
        }
    }
}

/// An opened record's data.
pub(crate) struct OpenedData {
    pub(crate) data: HashMap<String, Value>,
    /// Sealed under the ring's first key (if not, the next save re-seals it).
    pub(crate) by_primary: bool,
}

fn aad(prefix: &[u8], id: Id, expiry: OffsetDateTime) -> [u8; AAD_LEN] {
    let mut aad = [0u8; AAD_LEN];
    let (head, rest) = aad.split_at_mut(PREFIX_LEN);
    let (id_bytes, expiry_bytes) = rest.split_at_mut(16);
    head.copy_from_slice(prefix.get(..PREFIX_LEN).unwrap_or(&[0; PREFIX_LEN]));
    id_bytes.copy_from_slice(&id.0.to_le_bytes());
    expiry_bytes.copy_from_slice(&expiry.unix_timestamp().to_le_bytes());
    aad
}

impl KeyRing {
    /// Seals `data` of the record `id` expiring at `expiry` under the first key.
    pub(crate) fn seal_record_data(
        &self,
        id: Id,
        expiry: OffsetDateTime,
        data: &HashMap<String, Value>,
    ) -> Result<String, Error> {
        let key = self.primary().ok_or(Error::new(ErrorKind::Cipher))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut envelope = Vec::with_capacity(HEADER_LEN + 256 + TAG_LEN);
        envelope.push(RECORD_VERSION);
        envelope.extend_from_slice(&key.kid());
        envelope.extend_from_slice(&nonce);
        payload::encode_data_into(data, &mut envelope)?;
        let (header, body) = envelope
            .split_at_mut_checked(HEADER_LEN)
            .ok_or(Error::new(ErrorKind::Cipher))?;
        let aad = aad(header, id, expiry);
        let tag = key
            .store
            .seal_in_place(&nonce, &aad, body)
            .map_err(|_| Error::new(ErrorKind::Cipher))?;
        envelope.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(&envelope))
    }

    /// Opens a value sealed by [`KeyRing::seal_record_data`] for this id and expiry.
    pub(crate) fn open_record_data(
        &self,
        id: Id,
        expiry: OffsetDateTime,
        value: &str,
    ) -> Result<OpenedData, Unopened> {
        let mut envelope = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| Unopened::NotBase64)?;
        // Layout: version (1) | kid (4) | nonce (24) | ciphertext | tag (16).
        let Envelope {
            prefix,
            version,
            kid,
            nonce,
            ciphertext,
            tag,
        } = Envelope::split(&mut envelope).ok_or(Unopened::TooShort)?;
        if version != RECORD_VERSION {
            return Err(Unopened::Version);
        }
        let (key, by_primary) = self.find(kid).ok_or(Unopened::UnknownKey)?;
        let aad = aad(prefix, id, expiry);
        key.store
            .open_in_place(nonce, &aad, ciphertext, tag)
            .map_err(|_| Unopened::NotAuthentic)?;
        let data = payload::decode_data(ciphertext).ok_or(Unopened::Payload)?;
        Ok(OpenedData { data, by_primary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> HashMap<String, Value> {
        let Value::Object(map) = json!({"user": "ada", "n": [1, 2.5, null, {"x": true}]}) else {
            unreachable!()
        };
        map.into_iter().collect()
    }

    #[test]
    fn opens_only_for_its_id_and_expiry() {
        let keys = KeyRing::generate();
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let sealed = keys.seal_record_data(Id(7), at(1000), &data()).unwrap();
        let opened = keys.open_record_data(Id(7), at(1000), &sealed).unwrap();
        assert_eq!(opened.data, data());
        assert!(opened.by_primary);
        // Sub-second digits do not matter (PostgreSQL keeps microseconds).
        let later = at(1000).replace_nanosecond(999_999_000).unwrap();
        assert!(keys.open_record_data(Id(7), later, &sealed).is_ok());
        assert_eq!(
            keys.open_record_data(Id(8), at(1000), &sealed).err(),
            Some(Unopened::NotAuthentic)
        );
        assert_eq!(
            keys.open_record_data(Id(7), at(1001), &sealed).err(),
            Some(Unopened::NotAuthentic)
        );
        // Not a cookie key: the same bytes do not open as a cookie.
        assert!(keys.open("id", &sealed).is_none());
        assert_eq!(
            KeyRing::generate()
                .open_record_data(Id(7), at(1000), &sealed)
                .err(),
            Some(Unopened::UnknownKey)
        );
    }
}
