//! Wire format v1: key derivation (HKDF-SHA256), sealing a [`SealedRecord`] into a cookie
//! value and opening it again.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};
use crate::format::aead::{AeadKey, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::format::payload::{
    self, PayloadView, SealedRecord, StoreFields, VERSION_1, VERSION_2, VERSION_3, VERSION_4,
};
use crate::key::KeyRing;

/// The format version this crate writes (the first byte of every cookie) when no revocation
/// store is configured.
pub const VERSION: u8 = VERSION_1;
/// The format version written when a revocation store is configured: version 1's payload
/// plus the session's exact creation time and its last revocation check. Both versions are
/// always read.
pub const VERSION_REVOCATION: u8 = VERSION_2;
/// [`VERSION`] whose data holds an array of unsigned integers (such as a token's bytes, which
/// serde writes as numbers), written compactly; used only when the data has one, so that
/// other sessions keep version 1 byte for byte. Always read.
///
/// ```
/// assert_eq!(tower_sessions_sealed::VERSION_UNSIGNED_ARRAYS, 0x03);
/// ```
pub const VERSION_UNSIGNED_ARRAYS: u8 = VERSION_3;
/// [`VERSION_REVOCATION`] with compact unsigned arrays, as [`VERSION_UNSIGNED_ARRAYS`].
///
/// ```
/// assert_eq!(tower_sessions_sealed::VERSION_REVOCATION_UNSIGNED_ARRAYS, 0x04);
/// ```
pub const VERSION_REVOCATION_UNSIGNED_ARRAYS: u8 = VERSION_4;
/// The longest cookie value [`KeyRing::open`] looks at, checked before base64 decoding.
/// Sealing refuses to produce anything longer.
pub const MAX_VALUE_LEN: usize = 4096;

const VERSION_LEN: usize = 1;
/// Length of the key id.
pub(crate) const KID_LEN: usize = 4;
/// `version | kid`: the clear header that also starts the AAD.
pub(crate) const PREFIX_LEN: usize = VERSION_LEN + KID_LEN;
/// `version | kid | nonce`.
pub(crate) const HEADER_LEN: usize = PREFIX_LEN + NONCE_LEN;
/// Bytes a sealed envelope adds to the plaintext (45).
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// AADs up to this length are built on the stack.
const AAD_STACK_LEN: usize = 128;

/// HKDF-Extract salt: names the crate and the format version.
const HKDF_SALT: &[u8] = b"tower-sessions-sealed v1";
/// HKDF-Expand info for the AEAD key.
const INFO_SEAL: &[u8] = b"seal";
/// HKDF-Expand info for the key id.
const INFO_KID: &[u8] = b"kid";
/// HKDF-Expand info for the AEAD key of records at rest in a store.
const INFO_STORE: &[u8] = b"store";

/// The per-key values derived once when a ring is built.
pub(crate) struct DerivedKey {
    kid: [u8; KID_LEN],
    aead: AeadKey,
    /// The key for records at rest in a store (`record_seal.rs`): its own HKDF purpose.
    pub(crate) store: AeadKey,
}

impl DerivedKey {
    /// `prk = HKDF-Extract(HKDF_SALT, master)`; AEAD key and kid are expanded from `prk`.
    pub(crate) fn derive(master: &[u8]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), master);
        let mut aead_key = Zeroizing::new([0u8; KEY_LEN]);
        let mut store_key = Zeroizing::new([0u8; KEY_LEN]);
        let mut kid = [0u8; KID_LEN];
        // HKDF-Expand fails only for outputs longer than 255 × 32 bytes; these are 32 and 4.
        #[allow(clippy::expect_used)]
        {
            hkdf.expand(INFO_SEAL, &mut aead_key[..])
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            hkdf.expand(INFO_STORE, &mut store_key[..])
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            hkdf.expand(INFO_KID, &mut kid)
                .expect("4 bytes is a valid HKDF-SHA256 output length");
        }
        Self {
            kid,
            aead: AeadKey::new(&aead_key),
            store: AeadKey::new(&store_key),
        }
    }

    pub(crate) fn kid(&self) -> [u8; KID_LEN] {
        self.kid
    }
}

/// Why a cookie value did not open. Only ever traced (at debug level), never returned to
/// callers, so that an attacker learns nothing beyond "no session".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    TooLong,
    NotBase64,
    TooShort,
    Version,
    UnknownKey,
    NotAuthentic,
    Payload,
    Expired,
}

impl Rejected {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "cookie value longer than the cap",
            Self::NotBase64 => "cookie value is not unpadded base64url",
            Self::TooShort => "cookie value too short for the envelope",
            Self::Version => "unknown format version",
            Self::UnknownKey => "sealed under a key not in the ring",
            Self::NotAuthentic => "authentication failed (tampered, or another cookie name)",
            Self::Payload => "authentic payload did not decode",
            Self::Expired => "session expired",
        }
    }
}

/// A successfully opened cookie.
pub(crate) struct Opened {
    pub(crate) sealed: SealedRecord,
    /// Whether it was sealed under the ring's first key; if not, it should be re-sealed.
    pub(crate) by_primary: bool,
    /// Format version 2's fields (`None` for a version 1 cookie).
    pub(crate) revocation: Option<StoreFields>,
    /// The decrypted plaintext, so the record can be decoded again without a clone.
    pub(crate) plaintext: Plaintext,
}

/// An authenticated, decrypted payload.
///
/// Not zeroized: the same data lives on, decoded, in the `Record` that tower-sessions keeps
/// as plain `String`s and `serde_json::Value`s, so wiping this copy would protect nothing
/// while costing a byte-by-byte pass on every request. Key material is zeroized.
pub(crate) struct Plaintext {
    envelope: Vec<u8>,
}

impl Plaintext {
    /// Decodes the record again.
    pub(crate) fn decode(&self) -> Option<SealedRecord> {
        let end = self.envelope.len().checked_sub(TAG_LEN)?;
        let version = *self.envelope.first()?;
        payload::decode_version(self.envelope.get(HEADER_LEN..end)?, version)
            .map(|decoded| decoded.sealed)
    }
}

impl KeyRing {
    /// Seals `sealed` for the cookie `cookie_name` under the ring's first key, with a fresh
    /// random nonce, and returns the cookie value (unpadded base64url, never longer than
    /// [`MAX_VALUE_LEN`]).
    ///
    /// The cookie name is authenticated: the value opens only under the same name.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CookieTooLarge`] if the value would be longer than [`MAX_VALUE_LEN`]
    /// characters, [`ErrorKind::TooDeep`] if a value nests deeper than
    /// [`MAX_DEPTH`](crate::MAX_DEPTH).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use tower_sessions_sealed::{KeyRing, SealedRecord, session::{Id, Record}};
    ///
    /// let keys = KeyRing::generate();
    /// let expiry_date = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    /// let mut data = HashMap::new();
    /// data.insert("user".to_owned(), serde_json::json!(42));
    /// let sealed = SealedRecord::new(Record { id: Id(9), data, expiry_date });
    ///
    /// let value = keys.seal("id", &sealed).unwrap();
    /// let opened = keys.open("id", &value).unwrap();
    /// assert_eq!(opened.record.data["user"], 42);
    /// assert!(keys.open("other-name", &value).is_none());
    /// ```
    pub fn seal(&self, cookie_name: &str, sealed: &SealedRecord) -> Result<String, Error> {
        let mut value = Vec::new();
        self.seal_payload_into(
            cookie_name,
            sealed.view(),
            &mut value,
            (b"", 0),
            MAX_VALUE_LEN,
        )?;
        base64_text(value)
    }

    /// [`KeyRing::seal`] with a caller-chosen nonce, for frozen test vectors only.
    ///
    /// # Security
    ///
    /// Sealing two messages under one key with the same nonce reveals their XOR and lets an
    /// attacker forge messages. Never call this outside tests.
    ///
    /// # Errors
    ///
    /// As [`KeyRing::seal`].
    #[doc(hidden)]
    pub fn dangerous_seal_with_nonce(
        &self,
        cookie_name: &str,
        sealed: &SealedRecord,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, Error> {
        let mut value = Vec::new();
        self.seal_view(
            cookie_name,
            sealed.view(),
            &nonce,
            &mut value,
            (b"", 0, MAX_VALUE_LEN),
        )?;
        base64_text(value)
    }

    /// [`KeyRing::dangerous_seal_with_nonce`] as format version 2
    /// ([`VERSION_REVOCATION`]), with the time of the last revocation check, for frozen test
    /// vectors only.
    ///
    /// # Security
    ///
    /// As [`KeyRing::dangerous_seal_with_nonce`]: never call this outside tests.
    ///
    /// # Errors
    ///
    /// As [`KeyRing::seal`].
    #[doc(hidden)]
    pub fn dangerous_seal_revocation_with_nonce(
        &self,
        cookie_name: &str,
        sealed: &SealedRecord,
        checked_at: Option<OffsetDateTime>,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, Error> {
        let mut view = sealed.view();
        view.revocation = Some(StoreFields {
            checked_at,
            stored: false,
        });
        let mut value = Vec::new();
        self.seal_view(
            cookie_name,
            view,
            &nonce,
            &mut value,
            (b"", 0, MAX_VALUE_LEN),
        )?;
        base64_text(value)
    }

    /// Opens a cookie value sealed for `cookie_name` under any key of the ring, and checks
    /// that its expiry date is still ahead.
    ///
    /// Returns `None` for anything else (malformed, too long, unknown version or key,
    /// tampered, sealed for another name, undecodable, expired), without saying which: the
    /// reason is traced at debug level only.
    ///
    /// ```
    /// use tower_sessions_sealed::KeyRing;
    ///
    /// let keys = KeyRing::generate();
    /// assert!(keys.open("id", "not a sealed cookie").is_none());
    /// ```
    #[must_use]
    pub fn open(&self, cookie_name: &str, value: &str) -> Option<SealedRecord> {
        self.open_at(cookie_name, value, OffsetDateTime::now_utc())
    }

    /// [`KeyRing::open`] as if the time were `now`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use time::{Duration, OffsetDateTime};
    /// use tower_sessions_sealed::{KeyRing, SealedRecord, session::{Id, Record}};
    ///
    /// let keys = KeyRing::generate();
    /// let now = OffsetDateTime::now_utc();
    /// let record = Record { id: Id(1), data: HashMap::new(), expiry_date: now + Duration::hours(1) };
    /// let value = keys.seal("id", &SealedRecord::new(record)).unwrap();
    /// assert!(keys.open_at("id", &value, now).is_some());
    /// assert!(keys.open_at("id", &value, now + Duration::hours(2)).is_none());
    /// ```
    #[must_use]
    pub fn open_at(
        &self,
        cookie_name: &str,
        value: &str,
        now: OffsetDateTime,
    ) -> Option<SealedRecord> {
        match self.open_detailed(cookie_name, value.as_bytes(), now, MAX_VALUE_LEN) {
            Ok(opened) => Some(opened.sealed),
            Err(reason) => {
                tracing::debug!(reason = reason.as_str(), "session cookie rejected");
                None
            }
        }
    }

    /// Seals with a fresh random nonce and appends `lead`, then the cookie value (at most
    /// `max_len` characters: [`MAX_VALUE_LEN`] for one cookie, more for a chunked one) to
    /// `out`, reserving exactly `then` more bytes for what the caller appends next (a
    /// `Set-Cookie` whose length is its capacity becomes a `HeaderValue` without another
    /// allocation).
    pub(crate) fn seal_payload_into(
        &self,
        cookie_name: &str,
        payload: PayloadView<'_>,
        out: &mut Vec<u8>,
        (lead, then): (&[u8], usize),
        max_len: usize,
    ) -> Result<(), Error> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        self.seal_view(cookie_name, payload, &nonce, out, (lead, then, max_len))
    }

    fn seal_view(
        &self,
        cookie_name: &str,
        payload: PayloadView<'_>,
        nonce: &[u8; NONCE_LEN],
        out: &mut Vec<u8>,
        (lead, then, max_len): (&[u8], usize, usize),
    ) -> Result<(), Error> {
        let key = self.primary().ok_or(Error::new(ErrorKind::Cipher))?;
        // Room for a typical session; under 1 KiB, so that glibc serves it from its
        // per-thread cache (larger blocks take its slow path). Larger sessions grow it.
        let mut envelope = Vec::with_capacity(ENVELOPE_CAPACITY);
        // The version depends on what the data holds: known once it is encoded.
        envelope.push(0);
        envelope.extend_from_slice(&key.kid());
        envelope.extend_from_slice(nonce);
        let version = payload::encode_into(payload, &mut envelope)?;
        if let Some(first) = envelope.first_mut() {
            *first = version;
        }

        let size = encoded_len(envelope.len() + TAG_LEN);
        if size > max_len {
            return Err(Error::new(ErrorKind::CookieTooLarge {
                size,
                limit: max_len,
            }));
        }
        let (header, body) = envelope
            .split_at_mut_checked(HEADER_LEN)
            .ok_or(Error::new(ErrorKind::Cipher))?;
        let prefix = header
            .get(..PREFIX_LEN)
            .ok_or(Error::new(ErrorKind::Cipher))?;
        let tag = with_aad(prefix, cookie_name, |aad| {
            key.aead.seal_in_place(nonce, aad, body)
        })
        .map_err(|_| Error::new(ErrorKind::Cipher))?;
        envelope.extend_from_slice(&tag);
        // Encoded straight into the caller's buffer (as bytes: the base64 alphabet is ASCII).
        out.reserve_exact(lead.len() + size + then);
        out.extend_from_slice(lead);
        let start = out.len();
        out.resize(start + size, 0);
        let written = out
            .get_mut(start..)
            .and_then(|tail| URL_SAFE_NO_PAD.encode_slice(&envelope, tail).ok());
        if written != Some(size) {
            out.truncate(start);
            return Err(Error::new(ErrorKind::Cipher));
        }
        Ok(())
    }

    /// Opens `value` (the raw cookie value bytes, or a chunked cookie's reassembled value, at
    /// most `max_len` characters) and says why not when it does not.
    pub(crate) fn open_detailed(
        &self,
        cookie_name: &str,
        value: &[u8],
        now: OffsetDateTime,
        max_len: usize,
    ) -> Result<Opened, Rejected> {
        // Length cap before any decoding work.
        if value.len() > max_len {
            return Err(Rejected::TooLong);
        }
        if value.len() < encoded_len(OVERHEAD) {
            return Err(Rejected::TooShort);
        }
        // Exactly the decoded length (at most 3 KiB per cookie, see MAX_VALUE_LEN). Through
        // `malloc`, not `vec![0; n]`: glibc's `calloc` skips its per-thread cache.
        let mut buf = Vec::with_capacity(base64::decoded_len_estimate(value.len()));
        URL_SAFE_NO_PAD
            .decode_vec(value, &mut buf)
            .map_err(|_| Rejected::NotBase64)?;
        let envelope = buf.as_mut_slice();

        // Envelope layout (all lengths are the constants above):
        //
        //   0         1               5                          29            len-16     len
        //   +---------+---------------+--------------------------+-------------+----------+
        //   | version |   kid (4)     |        nonce (24)        | ciphertext  | tag (16) |
        //   +---------+---------------+--------------------------+-------------+----------+
        //   \____ prefix ____________/
        //
        //   AAD = prefix ‖ cookie name (UTF-8)
        let Envelope {
            prefix,
            version,
            kid,
            nonce,
            ciphertext,
            tag,
        } = Envelope::split(envelope).ok_or(Rejected::TooShort)?;
        if payload::Format::of(version).is_none() {
            return Err(Rejected::Version);
        }
        let (key, by_primary) = self.find(kid).ok_or(Rejected::UnknownKey)?;

        with_aad(prefix, cookie_name, |aad| {
            key.aead.open_in_place(nonce, aad, ciphertext, tag)
        })
        .map_err(|_| Rejected::NotAuthentic)?;

        let decoded = payload::decode_version(ciphertext, version).ok_or(Rejected::Payload)?;
        let sealed = decoded.sealed;
        if sealed.record.expiry_date <= now {
            return Err(Rejected::Expired);
        }
        Ok(Opened {
            sealed,
            by_primary,
            revocation: decoded.revocation,
            plaintext: Plaintext { envelope: buf },
        })
    }
}

/// The parts of a decoded envelope (cookie or record at rest; same layout):
/// `version | kid | nonce | ciphertext ‖ tag`.
pub(crate) struct Envelope<'a> {
    /// `version | kid`, which starts the AAD.
    pub(crate) prefix: &'a [u8],
    pub(crate) version: u8,
    pub(crate) kid: &'a [u8],
    pub(crate) nonce: &'a [u8; NONCE_LEN],
    pub(crate) ciphertext: &'a mut [u8],
    pub(crate) tag: &'a [u8; TAG_LEN],
}

impl<'a> Envelope<'a> {
    /// Splits `envelope`; `None` if it is too short for the header and the tag.
    pub(crate) fn split(envelope: &'a mut [u8]) -> Option<Self> {
        let (header, body) = envelope.split_at_mut_checked(HEADER_LEN)?;
        let (prefix, nonce) = header.split_at_checked(PREFIX_LEN)?;
        let (version, kid) = prefix.split_first()?;
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().ok()?;
        let tag_at = body.len().checked_sub(TAG_LEN)?;
        let (ciphertext, tag) = body.split_at_mut_checked(tag_at)?;
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().ok()?;
        Some(Self {
            prefix,
            version: *version,
            kid,
            nonce,
            ciphertext,
            tag,
        })
    }
}

/// A sealed value as text (base64url is ASCII, so this never fails in practice).
fn base64_text(value: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(value).map_err(|_| Error::new(ErrorKind::Cipher))
}

/// The initial capacity of a sealing buffer.
const ENVELOPE_CAPACITY: usize = 640;

/// Length of the unpadded base64 encoding of `bytes` bytes.
pub(crate) const fn encoded_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

/// Runs `f` with `prefix ‖ name`, built on the stack when short enough.
fn with_aad<T>(prefix: &[u8], name: &str, f: impl FnOnce(&[u8]) -> T) -> T {
    let len = prefix.len() + name.len();
    if len <= AAD_STACK_LEN {
        let mut buf = [0u8; AAD_STACK_LEN];
        if let Some(aad) = buf.get_mut(..len) {
            let (head, tail) = aad.split_at_mut(prefix.len());
            head.copy_from_slice(prefix);
            tail.copy_from_slice(name.as_bytes());
            return f(aad);
        }
    }
    let mut aad = Vec::with_capacity(len);
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(name.as_bytes());
    f(&aad)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests may index
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_the_encoder() {
        for n in 0..100 {
            assert_eq!(encoded_len(n), URL_SAFE_NO_PAD.encode(vec![0u8; n]).len());
        }
        assert_eq!(encoded_len(MAX_VALUE_LEN / 4 * 3), MAX_VALUE_LEN);
    }
}
