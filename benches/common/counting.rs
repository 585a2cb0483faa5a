//! Counting what a layer asks of its store (checks only, never timed): a `SessionStore`
//! wrapper that counts loads and writes, and the check that a configuration makes exactly
//! the store calls its case says per steady request. Used by the revocation and storage
//! benches.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::http::StatusCode;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

use super::steady;

/// `inner`, counting `load`s and writes (`create`, `save`, `delete`).
#[derive(Debug, Clone)]
pub(crate) struct Counting<S> {
    inner: S,
    loads: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            loads: Arc::default(),
            writes: Arc::default(),
        }
    }

    /// (loads, writes) so far.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (
            self.loads.load(Ordering::SeqCst),
            self.writes.load(Ordering::SeqCst),
        )
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

/// A counting app's counters: (loads, writes) so far.
pub(crate) type Counts = Box<dyn Fn() -> (usize, usize)>;

/// `app` (built over a [`Counting`] store whose counters `counts` reads), primed with
/// `GET /login/{filler}` then `GET /`, makes exactly `expected` (loads, writes) store calls
/// per steady read + write.
///
/// # Panics
///
/// When it does not, or a request fails, naming the case `id`.
pub(crate) async fn check_store_calls(
    id: &str,
    app: &Router,
    counts: &Counts,
    filler: usize,
    expected: (usize, usize),
) {
    const REQUESTS: usize = 4;
    let (_, cookie) = steady::prime(id, app, filler).await;
    let before = counts();
    for _ in 0..REQUESTS {
        let (status, body, _) = steady::with_cookie(app, "/", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{id}: counting app: {body:?}");
    }
    let after = counts();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (expected.0 * REQUESTS, expected.1 * REQUESTS),
        "{id}: store calls (loads, writes) over {REQUESTS} requests"
    );
}
