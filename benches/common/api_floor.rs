//! The session-API floor: the least any layer that hands handlers the real
//! `tower_sessions_core::Session` does per request, with no cookie, no crypto and no
//! encoding, so that it can be added to the raw floors of `benches/primitives.rs` for a
//! lower bound of what such a layer can cost.
//!
//! Per request the layer makes a `Session` for a fixed id over a shared store, puts it into
//! the request's extensions (the handler's `Session` extractor takes it from there), calls
//! the inner service and, when the handler modified the session, runs `Session::save`: the
//! only public way to get the whole `Record` out of a `Session`, which a cookie layer must
//! do to seal it. It reads no header and writes none.
//!
//! The store hands out a record holding only `counter = 2` (the handler's
//! `Session::get("counter")` then has a value to deserialize) and discards what it is given
//! to save. The records are built before anything is measured and taken from a pool (a
//! real layer moves the record it decoded into its per-request store the same way; a
//! clone would be work such a layer does not do); only when the pool runs dry, after
//! [`FloorStore::POOL`] requests (criterion's long runs), does `load` clone one. The
//! session's data is thus one entry, not the typical payload: the payload's decode, encode
//! and drop are in the raw floor this is added to, so the sum undercounts what a real layer
//! does (it builds a `HashMap<String, Value>` of every entry, the floor only a serde enum,
//! and it needs a store per request, where this one is shared) and is a lower bound. The
//! read-only path boxes nothing; the read+write path boxes the save future, as a
//! stable-Rust layer must to hold an `async fn`'s future.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use time::OffsetDateTime;
use tower::{Layer, Service};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};
use tower_sessions_sealed::Session;

/// The store of the floor: `load` takes one fixed record from a pool built in advance,
/// `save` keeps nothing.
#[derive(Debug)]
pub(crate) struct FloorStore {
    record: Record,
    pool: Mutex<Vec<Record>>,
}

impl FloorStore {
    /// The fixed session's id.
    pub(crate) const ID: Id = Id(0x5e55_10f1_0000_0000_0000_0000_0000_0001);

    /// Records built in advance: more than `scripts/bench.sh` sends to one `--driver`.
    pub(crate) const POOL: usize = 16_384;

    fn new() -> Self {
        let mut data = std::collections::HashMap::new();
        data.insert("counter".to_owned(), serde_json::json!(2u64));
        let record = Record {
            id: Self::ID,
            data,
            expiry_date: OffsetDateTime::now_utc() + time::Duration::days(1),
        };
        let pool = Mutex::new(vec![record.clone(); Self::POOL]);
        Self { record, pool }
    }
}

#[async_trait::async_trait]
impl SessionStore for FloorStore {
    async fn save(&self, _record: &Record) -> session_store::Result<()> {
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if *id != self.record.id {
            return Ok(None);
        }
        let pooled = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        Ok(Some(pooled.unwrap_or_else(|| self.record.clone())))
    }

    async fn delete(&self, _id: &Id) -> session_store::Result<()> {
        Ok(())
    }
}

/// The floor layer: a `Session` per request over one shared [`FloorStore`].
#[derive(Clone, Debug)]
pub(crate) struct ApiFloorLayer {
    store: Arc<FloorStore>,
}

impl ApiFloorLayer {
    pub(crate) fn new() -> Self {
        Self {
            store: Arc::new(FloorStore::new()),
        }
    }
}

impl<S> Layer<S> for ApiFloorLayer {
    type Service = ApiFloor<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiFloor {
            inner,
            store: Arc::clone(&self.store),
        }
    }
}

/// The floor service (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct ApiFloor<S> {
    inner: S,
    store: Arc<FloorStore>,
}

impl<S, B, RB> Service<Request<B>> for ApiFloor<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = FloorFuture<S::Future, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let session = Session::new(Some(FloorStore::ID), Arc::clone(&self.store), None);
        req.extensions_mut().insert(session.clone());
        FloorFuture {
            inner: self.inner.call(req),
            state: State::Inner(session),
        }
    }
}

type SaveFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

enum State<RB> {
    Inner(Session),
    Saving(SaveFuture, Response<RB>),
    Done,
}

pin_project_lite::pin_project! {
    /// The floor service's future: the inner one, then `Session::save` if modified.
    pub(crate) struct FloorFuture<F, RB> {
        #[pin]
        inner: F,
        state: State<RB>,
    }
}

impl<F, RB, E> Future for FloorFuture<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match std::mem::replace(this.state, State::Done) {
                State::Inner(session) => {
                    let response = match this.inner.as_mut().poll(cx) {
                        Poll::Ready(Ok(response)) => response,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {
                            *this.state = State::Inner(session);
                            return Poll::Pending;
                        }
                    };
                    if !session.is_modified() {
                        return Poll::Ready(Ok(response));
                    }
                    let save = Box::pin(async move {
                        let saved = session.save().await;
                        assert!(saved.is_ok(), "the floor store never fails");
                    });
                    *this.state = State::Saving(save, response);
                }
                State::Saving(mut save, response) => {
                    if save.as_mut().poll(cx).is_pending() {
                        *this.state = State::Saving(save, response);
                        return Poll::Pending;
                    }
                    return Poll::Ready(Ok(response));
                }
                State::Done => panic!("FloorFuture polled after completion"),
            }
        }
    }
}
