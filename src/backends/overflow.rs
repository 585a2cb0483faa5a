//! Overflow: a session too large for the cookie lives in a store, sealed at rest, and the
//! cookie carries a sealed reference to it.
//!
//! The record's id is derived from the session id and the cookie name (as tombstone ids
//! are, `tombstone.rs`), so the reference needs no key of its own: the cookie's payload
//! says only "stored" (format version 2), with the session's id, expiry and creation time
//! as usual. The record is sealed as `SealedStore` seals records (`record_seal.rs`), its
//! expiry is the cookie's sealed expiry, and it is rewritten whenever the cookie is
//! re-sealed (a write, a sliding refresh, a rotated key), so it never expires before the
//! cookie that refers to it. One record per session: concurrent requests on an overflowed
//! session overwrite it as they would a tower-sessions record (the last write wins, and
//! every cookie of the session reads the same data).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

use super::revocation::StoreHandle;
use super::sealed_store::SealedStore;
use super::tombstone::{self, Kind};
use crate::key::KeyRing;

/// The configured store, as a `SessionStore` again (for `SealedStore`).
#[derive(Clone)]
struct Dyn(Arc<dyn SessionStore>);

impl fmt::Debug for Dyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionStore { .. }")
    }
}

#[async_trait]
impl SessionStore for Dyn {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(record).await
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}

/// Overflow to a store, prepared once when the layer is built.
pub(crate) struct Overflow {
    store: SealedStore<Dyn>,
    namespace: Box<str>,
}

impl fmt::Debug for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overflow").finish_non_exhaustive()
    }
}

impl Overflow {
    pub(crate) fn new(store: &StoreHandle, keys: Arc<KeyRing>, cookie_name: &str) -> Self {
        Self {
            store: SealedStore::new(Dyn(Arc::clone(&store.0)), keys),
            namespace: cookie_name.into(),
        }
    }

    fn key(&self, session: Id) -> Id {
        tombstone::id(Kind::Overflow, &self.namespace, &session.0.to_le_bytes())
    }

    /// The data of an overflowed session; `None` if the record is missing or does not open
    /// (the session is then a fresh one).
    pub(crate) async fn load(
        &self,
        session: Id,
    ) -> session_store::Result<Option<HashMap<String, Value>>> {
        let record = self.store.load(&self.key(session)).await?;
        Ok(record.map(|record| record.data))
    }

    /// Writes the data of `session`, expiring at `expiry`, on any store: an update when the
    /// record should exist (`exists`), a create otherwise, and the other one if the store
    /// refuses (Redis `XX` on an expired record, `NX` on a record another request wrote).
    pub(crate) async fn save(
        &self,
        session: Id,
        expiry: OffsetDateTime,
        data: &HashMap<String, Value>,
        exists: bool,
    ) -> session_store::Result<()> {
        // Sealed once, for our id (the data is not copied), then written as is: a store
        // that moves the record is undone below, so the seal's id always holds.
        let record = self.store.seal_parts(self.key(session), expiry, data)?;
        let store = self.store.get_ref();
        if exists && store.save(&record).await.is_ok() {
            return Ok(());
        }
        let mut created = record.clone();
        match store.create(&mut created).await {
            Ok(()) if created.id == record.id => Ok(()),
            Ok(()) => {
                // The store moved it (Memory, SQL: the id was taken); those stores upsert.
                store.delete(&created.id).await?;
                store.save(&record).await
            }
            Err(err) if !exists => store.save(&record).await.map_err(|_| err),
            Err(err) => Err(err),
        }
    }

    /// Deletes the record of `session` (it ended, or fits in the cookie again).
    pub(crate) async fn delete(&self, session: Id) -> session_store::Result<()> {
        self.store.delete(&self.key(session)).await
    }
}
