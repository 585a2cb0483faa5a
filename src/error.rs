//! Errors: [`Error`] for failures while sealing a session at run time, [`KeyError`] and
//! [`KeyRingError`] for configuration mistakes found at start-up.
//!
//! No error in this module ever carries key material, a cookie value or session data:
//! they name sizes, limits, positions and variable names only.

use std::fmt;

/// A session could not be sealed into a cookie.
///
/// Returned by [`KeyRing::seal`](crate::KeyRing::seal), and (wrapped in
/// `tower_sessions_core::session_store::Error::Encode`) by `Session::save` when the session
/// cannot be carried in a cookie. Opening never returns an error: a cookie that does not
/// open is simply "no session" (see [`KeyRing::open`](crate::KeyRing::open)).
///
/// ```
/// use tower_sessions_sealed::{Error, ErrorKind};
///
/// fn describe(err: &Error) -> String {
///     match err.kind() {
///         ErrorKind::CookieTooLarge { size, limit } => format!("{size} > {limit}"),
///         _ => err.to_string(),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong while sealing; see [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The sealed cookie (the cookie value, or the whole `Set-Cookie` header when the layer
    /// builds it) would be larger than browsers accept.
    CookieTooLarge {
        /// Size in bytes the cookie would have had.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Chunked over the most cookies allowed
    /// ([`with_chunks`](crate::SessionManagerLayer::with_chunks)), each within the cookie
    /// budget, the session still does not fit.
    TooManyChunks {
        /// Size in bytes one `Set-Cookie` carrying the whole session would have had.
        size: usize,
        /// The most cookies a session may use.
        cap: usize,
    },
    /// The session's cookies would make the `Cookie` header the browser sends back longer
    /// than the request budget
    /// ([`with_request_cookie_budget`](crate::SessionManagerLayer::with_request_cookie_budget)).
    RequestCookiesTooLarge {
        /// Bytes of `name=value` pairs and separators the browser would send.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A session value nests arrays/objects deeper than the decoder accepts.
    TooDeep {
        /// The deepest nesting accepted.
        limit: usize,
    },
    /// The cipher refused to seal the message (it cannot for messages under the size
    /// limit; present so that a backend failure is an error, never a panic).
    Cipher,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// What went wrong.
    ///
    /// ```
    /// use tower_sessions_sealed::{ErrorKind, KeyRing, session::{Id, Record}, SealedRecord};
    /// use std::collections::HashMap;
    ///
    /// let keys = KeyRing::generate();
    /// let mut data = HashMap::new();
    /// data.insert("blob".to_owned(), serde_json::json!("x".repeat(5000)));
    /// let record = SealedRecord::new(Record {
    ///     id: Id(1),
    ///     data,
    ///     expiry_date: time::OffsetDateTime::now_utc(),
    /// });
    /// let err = keys.seal("id", &record).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::CookieTooLarge { limit: 4096, .. }));
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::CookieTooLarge { size, limit } => write!(
                f,
                "session cookie would be {size} bytes, over the {limit}-byte limit"
            ),
            ErrorKind::TooManyChunks { size, cap } => write!(
                f,
                "session cookie would be {size} bytes, more than {cap} cookies can carry"
            ),
            ErrorKind::RequestCookiesTooLarge { size, limit } => write!(
                f,
                "session cookies would be {size} bytes in the Cookie header, over the \
                 {limit}-byte limit"
            ),
            ErrorKind::TooDeep { limit } => write!(
                f,
                "session data nests arrays/objects deeper than {limit} levels"
            ),
            ErrorKind::Cipher => f.write_str("the cipher refused to seal the session"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for tower_sessions_core::session_store::Error {
    fn from(err: Error) -> Self {
        Self::Encode(err.to_string())
    }
}

/// Secret material given to [`Key::try_from`](crate::Key) was too short.
///
/// ```
/// use tower_sessions_sealed::{Key, KeyError};
///
/// let err = Key::try_from(&[7u8; 16][..]).unwrap_err();
/// assert_eq!(err, KeyError::TooShort { found: 16, min: 32 });
/// assert_eq!(err.to_string(), "key is 16 bytes; at least 32 are required");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Fewer bytes than [`Key::MIN_LEN`](crate::Key::MIN_LEN).
    TooShort {
        /// Length found, in bytes.
        found: usize,
        /// Minimum length, in bytes.
        min: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { found, min } => {
                write!(f, "key is {found} bytes; at least {min} are required")
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// A key list (from the environment or from text) could not be turned into a
/// [`KeyRing`](crate::KeyRing).
///
/// Every message names where the list came from (the variable, or "key list" for
/// [`str::parse`]) and, for a bad entry, its 1-based position and the length found. No
/// message ever contains key material.
///
/// ```
/// use tower_sessions_sealed::{KeyRing, KeyRingError};
///
/// let err = "c2hvcnQ".parse::<KeyRing>().unwrap_err();
/// assert!(matches!(err, KeyRingError::TooShort { position: 1, found: 5, .. }));
/// assert_eq!(
///     err.to_string(),
///     "key list: entry 1 decodes to 5 bytes; keys must be at least 32 bytes"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRingError {
    /// The environment variable is not set.
    MissingVar {
        /// The variable's name.
        var: String,
    },
    /// The environment variable is set but is not valid Unicode.
    NotUnicode {
        /// The variable's name.
        var: String,
    },
    /// The list holds no key at all.
    Empty {
        /// Where the list came from.
        source: String,
    },
    /// An entry between commas is empty (for example a trailing comma).
    EmptyEntry {
        /// Where the list came from.
        source: String,
        /// 1-based position of the entry.
        position: usize,
    },
    /// An entry is neither hex nor base64 (standard or URL-safe, padded or not).
    Undecodable {
        /// Where the list came from.
        source: String,
        /// 1-based position of the entry.
        position: usize,
        /// Length of the entry in characters.
        chars: usize,
    },
    /// An entry decodes to fewer than [`Key::MIN_LEN`](crate::Key::MIN_LEN) bytes.
    TooShort {
        /// Where the list came from.
        source: String,
        /// 1-based position of the entry.
        position: usize,
        /// Decoded length in bytes.
        found: usize,
        /// Minimum length in bytes.
        min: usize,
    },
    /// The same key appears twice.
    Duplicate {
        /// Where the list came from.
        source: String,
        /// 1-based position of the repeated entry.
        position: usize,
        /// 1-based position of its first occurrence.
        first: usize,
    },
    /// Two different keys derive the same 4-byte key id (a 1 in 2³² accident): replace one.
    KidCollision {
        /// Where the list came from.
        source: String,
        /// 1-based position of the second key.
        position: usize,
        /// 1-based position of the first key.
        first: usize,
    },
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingVar { var } => write!(
                f,
                "{var}: environment variable is not set (generate a key with \
                 `cargo run --example keygen`)"
            ),
            Self::NotUnicode { var } => write!(f, "{var}: environment variable is not valid UTF-8"),
            Self::Empty { source } => write!(f, "{source}: no key given"),
            Self::EmptyEntry { source, position } => {
                write!(f, "{source}: entry {position} is empty")
            }
            Self::Undecodable {
                source,
                position,
                chars,
            } => write!(
                f,
                "{source}: entry {position} ({chars} characters) is neither hex nor base64"
            ),
            Self::TooShort {
                source,
                position,
                found,
                min,
            } => write!(
                f,
                "{source}: entry {position} decodes to {found} bytes; keys must be at least \
                 {min} bytes"
            ),
            Self::Duplicate {
                source,
                position,
                first,
            } => write!(f, "{source}: entry {position} repeats entry {first}"),
            Self::KidCollision {
                source,
                position,
                first,
            } => write!(
                f,
                "{source}: entries {first} and {position} derive the same key id; replace one"
            ),
        }
    }
}

impl std::error::Error for KeyRingError {}

/// The layer's configuration cannot work: reported by
/// [`SessionManagerLayer::check`](crate::SessionManagerLayer::check), and as a panic when
/// the layer is applied to a service (at start-up, never per request).
///
/// ```
/// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
///
/// let layer = SessionManagerLayer::new(KeyRing::generate())
///     .with_name("__Host-session")
///     .with_path("/app");
/// let err = layer.check().unwrap_err();
/// assert!(err.to_string().contains("__Host-"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid session layer configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Revocation could not be written or checked: the store failed, or the subject given to
/// [`Revoker::revoke_subject`](crate::Revoker::revoke_subject) names no one.
///
/// The message names the failure (the store's own error text, which for the published
/// stores holds no session data), never a cookie or session contents.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tower_sessions::MemoryStore;
/// use tower_sessions_sealed::{KeyRing, SessionManagerLayer, Subject};
///
/// let layer = SessionManagerLayer::new(KeyRing::generate())
///     .with_revocation(MemoryStore::default())
///     .with_revocation_subject(Subject::key("user"));
/// let err = layer.revoker().unwrap().revoke_subject(&()).await.unwrap_err();
/// assert!(err.to_string().contains("null"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationError {
    message: String,
}

impl RevocationError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RevocationError {}
