//! A `SessionStore` wrapper around a real store that counts what a layer asks of it:
//! `load`s, and writes (`create`, `save`, `delete`). The revocation and chunks suites
//! and the revocation and storage benches check the store calls per request with it.
//!
//! Include it with `#[path = "support/counting_store.rs"] mod counting_store;`.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

/// `inner`, counting `load`s and writes. Clones share the counters.
#[derive(Debug, Clone)]
pub struct Counting<S> {
    inner: S,
    loads: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            loads: Arc::default(),
            writes: Arc::default(),
        }
    }

    /// `load`s so far.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// (loads, writes) so far.
    pub fn counts(&self) -> (usize, usize) {
        (self.loads(), self.writes.load(Ordering::SeqCst))
    }
}

#[async_trait]
impl<S: SessionStore + Clone> SessionStore for Counting<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(id).await
    }
}
