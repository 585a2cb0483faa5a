//! Secret keys and the key ring: [`Key`], [`KeyRing`], and parsing a ring from the
//! environment.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::{KeyError, KeyRingError};
use crate::format::seal::DerivedKey;

/// Master key material: at least [`Key::MIN_LEN`] secret bytes.
///
/// The bytes are zeroized when the key is dropped, `Debug` prints `Key { .. }`, and there is
/// no `Display`, `Clone` or accessor for the bytes: a `Key` goes into a [`KeyRing`], which
/// derives what it needs once and keeps no copy of the master bytes.
///
/// ```
/// use tower_sessions_sealed::{Key, KeyRing};
///
/// let key = Key::generate();
/// assert_eq!(format!("{key:?}"), "Key { .. }");
///
/// let from_bytes = Key::try_from(&[42u8; 32][..]).unwrap();
/// let ring = KeyRing::new(vec![from_bytes, key]).unwrap();
/// assert_eq!(ring.len(), 2);
/// ```
pub struct Key {
    bytes: Zeroizing<Vec<u8>>,
}

impl Key {
    /// The shortest key accepted, in bytes (256 bits).
    pub const MIN_LEN: usize = 32;

    /// A fresh 32-byte key from the operating system's random number generator.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails, which happens only on a
    /// broken system; there is no useful way to go on without keys.
    ///
    /// ```
    /// use tower_sessions_sealed::Key;
    ///
    /// let key = Key::generate();
    /// # let _ = key;
    /// ```
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; Self::MIN_LEN]);
        rand::thread_rng().fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// The key as text for [`KeyRing::from_env`]: unpadded URL-safe base64.
    ///
    /// This is the only way to see a key's bytes, meant for key-generation tools. Treat the
    /// returned string as the secret it is.
    ///
    /// ```
    /// use tower_sessions_sealed::{Key, KeyRing};
    ///
    /// let text = Key::generate().to_base64();
    /// assert_eq!(text.len(), 43);
    /// assert!(text.parse::<KeyRing>().is_ok());
    /// ```
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*self.bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl TryFrom<&[u8]> for Key {
    type Error = KeyError;

    /// Copies `bytes` into a new key.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] with the length found if `bytes` is shorter than
    /// [`Key::MIN_LEN`].
    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort {
                found: bytes.len(),
                min: Self::MIN_LEN,
            });
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key { .. }")
    }
}

/// The keys a service seals and opens sessions with, newest first.
///
/// The first key seals every new cookie; every key opens. A cookie sealed under an older key
/// is re-sealed under the first key on the response that reads it, so keys rotate without
/// logging anyone out (staged rotation is described in the README). Each cookie names its
/// key by a 4-byte key id, so opening never tries several keys.
///
/// For each key, the AEAD key and the key id are derived once, here, with HKDF-SHA256:
/// `prk = HKDF-Extract(salt = "tower-sessions-sealed v1", master key)`,
/// `aead key = HKDF-Expand(prk, "seal", 32)`, `kid = HKDF-Expand(prk, "kid", 4)`.
/// The ring keeps only those derived values (zeroized on drop), never the master bytes.
///
/// ```
/// use tower_sessions_sealed::KeyRing;
///
/// // Two keys: the first seals, both open.
/// let ring: KeyRing = "0b8yTyWmc2NI0LlPzc3vDkQqfT64sOWn5jH1oWc0DRg,\
///                      4e9e4c0a4f0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2"
///     .parse()
///     .unwrap();
/// assert_eq!(ring.len(), 2);
/// ```
pub struct KeyRing {
    keys: Vec<DerivedKey>,
}

impl KeyRing {
    /// A ring of the given keys, newest (sealing) key first.
    ///
    /// # Errors
    ///
    /// [`KeyRingError::Empty`] for no keys, [`KeyRingError::Duplicate`] if a key appears
    /// twice, [`KeyRingError::KidCollision`] in the 1-in-2³² case that two keys derive the
    /// same key id. The error's source reads "key ring".
    ///
    /// ```
    /// use tower_sessions_sealed::{Key, KeyRing, KeyRingError};
    ///
    /// let a = || Key::try_from(&[1u8; 32][..]).unwrap();
    /// assert!(matches!(
    ///     KeyRing::new(vec![a(), a()]),
    ///     Err(KeyRingError::Duplicate { position: 2, first: 1, .. })
    /// ));
    /// ```
    pub fn new(keys: Vec<Key>) -> Result<Self, KeyRingError> {
        Self::build(keys.iter().map(Key::bytes), "key ring")
    }

    /// A ring holding one freshly generated key: for tests, demos and development.
    ///
    /// Sessions sealed under it do not survive a restart and are not shared between
    /// instances; production services load their keys with [`KeyRing::from_env`].
    ///
    /// # Panics
    ///
    /// As [`Key::generate`].
    ///
    /// ```
    /// use tower_sessions_sealed::KeyRing;
    ///
    /// assert_eq!(KeyRing::generate().len(), 1);
    /// ```
    #[must_use]
    pub fn generate() -> Self {
        let key = Key::generate();
        Self {
            keys: vec![DerivedKey::derive(key.bytes())],
        }
    }

    /// Reads the ring from the environment variable `var`: comma-separated keys, newest
    /// first, each hex or base64 (standard or URL-safe, padded or not) of at least 32 bytes.
    /// Whitespace around entries is ignored.
    ///
    /// # Errors
    ///
    /// A [`KeyRingError`] naming `var` when the variable is missing or not UTF-8, the list is
    /// empty, or an entry is empty, undecodable, shorter than 32 bytes or repeated. Errors
    /// give the entry's position and length, never its content.
    ///
    /// ```
    /// use tower_sessions_sealed::{KeyRing, KeyRingError};
    ///
    /// let err = KeyRing::from_env("SURELY_NOT_SET_ANYWHERE").unwrap_err();
    /// assert!(matches!(err, KeyRingError::MissingVar { .. }));
    /// assert!(err.to_string().starts_with("SURELY_NOT_SET_ANYWHERE: "));
    /// ```
    pub fn from_env(var: &str) -> Result<Self, KeyRingError> {
        let text = match std::env::var(var) {
            Ok(text) => Zeroizing::new(text),
            Err(std::env::VarError::NotPresent) => {
                return Err(KeyRingError::MissingVar {
                    var: var.to_owned(),
                });
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(KeyRingError::NotUnicode {
                    var: var.to_owned(),
                });
            }
        };
        Self::parse_list(&text, var)
    }

    /// The number of keys in the ring.
    ///
    /// ```
    /// assert_eq!(tower_sessions_sealed::KeyRing::generate().len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a ring holds at least one key. Present for API completeness.
    ///
    /// ```
    /// assert!(!tower_sessions_sealed::KeyRing::generate().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids (not secret), newest first, as they appear in cookies.
    ///
    /// ```
    /// let ring = tower_sessions_sealed::KeyRing::generate();
    /// assert_eq!(ring.key_ids().count(), 1);
    /// ```
    pub fn key_ids(&self) -> impl Iterator<Item = [u8; 4]> + '_ {
        self.keys.iter().map(DerivedKey::kid)
    }

    /// The sealing key.
    pub(crate) fn primary(&self) -> Option<&DerivedKey> {
        self.keys.first()
    }

    /// The key with this id, and whether it is the sealing key.
    pub(crate) fn find(&self, kid: &[u8]) -> Option<(&DerivedKey, bool)> {
        self.keys
            .iter()
            .enumerate()
            .find(|(_, key)| key.kid()[..] == *kid)
            .map(|(index, key)| (key, index == 0))
    }

    fn parse_list(text: &str, source: &str) -> Result<Self, KeyRingError> {
        if text.trim().is_empty() {
            return Err(KeyRingError::Empty {
                source: source.to_owned(),
            });
        }
        let mut decoded = Vec::new();
        for (index, entry) in text.split(',').enumerate() {
            let position = index + 1;
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(KeyRingError::EmptyEntry {
                    source: source.to_owned(),
                    position,
                });
            }
            let bytes = decode_entry(entry).ok_or_else(|| KeyRingError::Undecodable {
                source: source.to_owned(),
                position,
                chars: entry.chars().count(),
            })?;
            if bytes.len() < Key::MIN_LEN {
                return Err(KeyRingError::TooShort {
                    source: source.to_owned(),
                    position,
                    found: bytes.len(),
                    min: Key::MIN_LEN,
                });
            }
            decoded.push(bytes);
        }
        Self::build(decoded.iter().map(|bytes| &bytes[..]), source)
    }

    fn build<'a>(keys: impl Iterator<Item = &'a [u8]>, source: &str) -> Result<Self, KeyRingError> {
        let keys: Vec<&[u8]> = keys.collect();
        if keys.is_empty() {
            return Err(KeyRingError::Empty {
                source: source.to_owned(),
            });
        }
        for (index, key) in keys.iter().enumerate() {
            if let Some(first) = keys
                .iter()
                .take(index)
                .position(|earlier| earlier.len() == key.len() && bool::from(earlier.ct_eq(key)))
            {
                return Err(KeyRingError::Duplicate {
                    source: source.to_owned(),
                    position: index + 1,
                    first: first + 1,
                });
            }
        }
        let derived: Vec<DerivedKey> = keys.iter().map(|key| DerivedKey::derive(key)).collect();
        for (index, key) in derived.iter().enumerate() {
            if let Some(first) = derived
                .iter()
                .take(index)
                .position(|earlier| earlier.kid() == key.kid())
            {
                return Err(KeyRingError::KidCollision {
                    source: source.to_owned(),
                    position: index + 1,
                    first: first + 1,
                });
            }
        }
        Ok(Self { keys: derived })
    }
}

impl FromStr for KeyRing {
    type Err = KeyRingError;

    /// Parses the same text as [`KeyRing::from_env`]; errors name the source "key list".
    fn from_str(text: &str) -> Result<Self, KeyRingError> {
        Self::parse_list(text, "key list")
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Kids<'a>(&'a [DerivedKey]);
        impl fmt::Debug for Kids<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|key| hex::encode(key.kid())))
                    .finish()
            }
        }
        f.debug_struct("KeyRing")
            .field("key_ids", &Kids(&self.keys))
            .finish_non_exhaustive()
    }
}

const fn indifferent(alphabet: &base64::alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

const STANDARD_ANY_PAD: GeneralPurpose = indifferent(&base64::alphabet::STANDARD);
const URL_SAFE_ANY_PAD: GeneralPurpose = indifferent(&base64::alphabet::URL_SAFE);

/// One entry of a key list: hex when it is an even number of hex digits, otherwise base64
/// in the alphabet its characters name.
fn decode_entry(entry: &str) -> Option<Zeroizing<Vec<u8>>> {
    if entry.len().is_multiple_of(2) && entry.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(entry).ok().map(Zeroizing::new);
    }
    let url_safe = entry.contains(['-', '_']);
    let standard = entry.contains(['+', '/']);
    let engine = match (url_safe, standard) {
        (true, true) => return None,
        (true, false) => &URL_SAFE_ANY_PAD,
        (false, _) => &STANDARD_ANY_PAD,
    };
    engine.decode(entry).ok().map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_key_bytes() {
        let bytes = [0xA5u8; 40];
        let key = Key::try_from(&bytes[..]).unwrap();
        let debug = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "Key { .. }");
        for needle in ["a5", "A5", "165", "pa"] {
            assert!(!debug.contains(needle), "{needle} in {debug}");
        }
    }

    #[test]
    fn hex_wins_only_for_even_hex_digit_strings() {
        assert_eq!(
            decode_entry("0aFF").as_deref().map(Vec::as_slice),
            Some(&[10u8, 255][..])
        );
        // Odd-length hex-looking text is read as base64.
        assert_eq!(decode_entry("abc").as_deref().map(Vec::len), Some(2),);
        assert!(decode_entry("ab-+").is_none());
    }
}
