//! [`SealedStore`]: any tower-sessions store, with session data encrypted at rest.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use tower_sessions_core::ExpiredDeletion;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

use crate::key::KeyRing;

/// The data key a sealed record keeps its sealed data under.
pub(crate) const SEALED_KEY: &str = "tower-sessions-sealed.record";

/// Wraps any tower-sessions `SessionStore` (0.14) so that the session data it keeps is
/// sealed: a database backup, a Redis dump or read access to the sessions table reveals no
/// session data. It is itself a `SessionStore`, so tower-sessions' own `SessionManagerLayer`
/// (and everything built on it) works unchanged:
///
/// ```diff
/// -let session_store = SqliteStore::new(pool);
/// +let session_store = SealedStore::new(SqliteStore::new(pool), KeyRing::from_env("SESSION_KEYS")?);
///  let session_layer = SessionManagerLayer::new(session_store);
/// ```
///
/// Each record's data is sealed with XChaCha20-Poly1305 under the ring's first key, with a
/// key derived for this purpose only (cookies use another). The id and the expiry date stay
/// in clear, because the stores index and expire on them, and are authenticated: a record
/// copied to another id, or whose expiry date was pushed out in the database, does not open.
/// Records sealed under an older key of the ring open, and are sealed under the first key
/// on their next save (rotate as for cookies). A record that does not open (tampered,
/// truncated, moved, under a key no longer in the ring, or not sealed at all) is treated as
/// missing, so the request gets a fresh session; the reason is logged at `warn`, never the
/// content.
///
/// The stored record's data holds one entry, `"tower-sessions-sealed.record"`, whose value
/// is the sealed data as a base64url string (`src/format/record_seal.rs` has the layout).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_sessions::{MemoryStore, SessionStore as _, session::{Id, Record}};
/// use tower_sessions_sealed::{KeyRing, SealedStore};
///
/// let plain = MemoryStore::default();
/// let store = SealedStore::new(plain.clone(), KeyRing::generate());
/// let mut record = Record {
///     id: Id::default(),
///     data: [("user".to_owned(), serde_json::json!("ada"))].into(),
///     expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
/// };
/// store.create(&mut record).await?;
/// assert_eq!(store.load(&record.id).await?.unwrap().data["user"], "ada");
/// // What the inner store holds is sealed.
/// let raw = plain.load(&record.id).await?.unwrap();
/// assert!(!raw.data.contains_key("user"));
/// # Ok(())
/// # }
/// ```
///
/// See the [crate-level example](crate).
#[derive(Clone)]
pub struct SealedStore<S> {
    inner: S,
    keys: Arc<KeyRing>,
    read_plaintext: bool,
}

impl<S> SealedStore<S> {
    /// Seals the data of `inner`'s records under `keys` (a [`KeyRing`] or an
    /// `Arc<KeyRing>`, which can be the one the cookie layer uses).
    ///
    /// See the [type-level example](Self).
    pub fn new(inner: S, keys: impl Into<Arc<KeyRing>>) -> Self {
        Self {
            inner,
            keys: keys.into(),
            read_plaintext: false,
        }
    }

    /// Migration from a store that already holds plaintext records: read them as they are
    /// (default `false`: they are treated as missing, which logs their users out). Each is
    /// sealed on its next save; records that are never saved again stay in plaintext until
    /// they expire.
    ///
    /// # Security
    ///
    /// While this is on, anyone who can write to the store can plant a plaintext record
    /// (any session data, for any id) and it is accepted, as with an unsealed store. Turn it
    /// off once the longest session lifetime has passed since it was turned on.
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SealedStore};
    ///
    /// let store = SealedStore::new(MemoryStore::default(), KeyRing::generate())
    ///     .dangerous_read_plaintext(true);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn dangerous_read_plaintext(mut self, read_plaintext: bool) -> Self {
        self.read_plaintext = read_plaintext;
        self
    }

    /// The wrapped store (for its own methods, such as `migrate`).
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SealedStore};
    ///
    /// let store = SealedStore::new(MemoryStore::default(), KeyRing::generate());
    /// let _inner: &MemoryStore = store.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The sealed form of `record`: same id and expiry, data sealed.
    fn seal(&self, record: &Record) -> session_store::Result<Record> {
        self.seal_parts(record.id, record.expiry_date, &record.data)
    }

    /// The sealed record at `id`, expiring at `expiry_date`, for `data` (which is not
    /// copied: only its sealed form is kept).
    pub(crate) fn seal_parts(
        &self,
        id: Id,
        expiry_date: OffsetDateTime,
        data: &std::collections::HashMap<String, Value>,
    ) -> session_store::Result<Record> {
        let sealed = self.keys.seal_record_data(id, expiry_date, data)?;
        let mut data = std::collections::HashMap::with_capacity(1);
        data.insert(SEALED_KEY.to_owned(), Value::String(sealed));
        Ok(Record {
            id,
            data,
            expiry_date,
        })
    }

    /// The record as stored under `id`, opened; `None` if it does not open.
    fn open(&self, id: Id, stored: Record) -> Option<Record> {
        if stored.expiry_date <= OffsetDateTime::now_utc() {
            // The store's expiry column was moved but not the record's own date.
            tracing::warn!("stored session record is expired; treated as missing");
            return None;
        }
        let sealed = match stored.data.get(SEALED_KEY) {
            Some(Value::String(sealed)) if stored.data.len() == 1 => sealed,
            _ if self.read_plaintext && !stored.data.contains_key(SEALED_KEY) => {
                tracing::debug!("plaintext session record read; it is sealed on its next save");
                return (stored.id == id).then_some(stored);
            }
            _ => {
                tracing::warn!("stored session record is not sealed; treated as missing");
                return None;
            }
        };
        match self.keys.open_record_data(id, stored.expiry_date, sealed) {
            Ok(opened) => {
                if !opened.by_primary {
                    tracing::debug!("stored session record is under an older key");
                }
                Some(Record {
                    id,
                    data: opened.data,
                    expiry_date: stored.expiry_date,
                })
            }
            Err(reason) => {
                tracing::warn!(
                    reason = reason.as_str(),
                    "stored session record did not open; treated as missing"
                );
                None
            }
        }
    }
}

/// Prints neither the keys nor the inner store (a pool's `Debug` can print connection
/// options).
impl<S> fmt::Debug for SealedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedStore")
            .field("read_plaintext", &self.read_plaintext)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for SealedStore<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut sealed = self.seal(record)?;
        self.inner.create(&mut sealed).await?;
        if sealed.id != record.id {
            // The store picked another id on a collision (Memory, SQL); the id is
            // authenticated, so seal again for the id it chose.
            record.id = sealed.id;
            self.inner.save(&self.seal(record)?).await?;
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(&self.seal(record)?).await
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self
            .inner
            .load(session_id)
            .await?
            .and_then(|stored| self.open(*session_id, stored)))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.inner.delete(session_id).await
    }
}

#[async_trait]
impl<S: ExpiredDeletion> ExpiredDeletion for SealedStore<S> {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.inner.delete_expired().await
    }
}
