//! Overflow on every real backend (MemoryStore, SQLite, PostgreSQL and Redis servers):
//! sessions that fit stay in the cookie and never touch the store, the byte on either side
//! of the cookie limit, moves in both directions, deletion with the session, concurrent
//! requests, expiry and the maximum lifetime, and the store going down. Real `Router`, real
//! cookies, a wrapper around the real store that records what the layer asks of it.

#[path = "support/backends.rs"]
mod backends;

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use backends::{Outage, postgres, redis, sqlite};
use common::{body_string, get_with, is_removal, pair, set_cookies};
use time::Duration;
use tower_sessions::MemoryStore;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};
use tower_sessions_sealed::{Expiry, KeyRing, Session, SessionManagerLayer};

// ---------------------------------------------------------------------------------------
// The application

fn app(layer: SessionManagerLayer) -> Router {
    Router::new()
        .route(
            "/put/{n}",
            get(|session: Session, Path(n): Path<usize>| async move {
                session.insert("user", "ada").await.unwrap();
                session.insert("blob", "x".repeat(n)).await.unwrap();
            }),
        )
        .route(
            "/get",
            get(|session: Session| async move {
                let blob: Option<String> = session.get("blob").await.unwrap();
                let n: u64 = session.get("n").await.unwrap().unwrap_or(0);
                let user: Option<String> = session.get("user").await.unwrap();
                format!(
                    "{} {n} {}",
                    blob.map_or(0, |b| b.len()),
                    user.unwrap_or_else(|| "anonymous".to_owned())
                )
            }),
        )
        .route(
            "/count",
            get(|session: Session| async move {
                let n: u64 = session.get("n").await.unwrap().unwrap_or(0);
                session.insert("n", n + 1).await.unwrap();
                (n + 1).to_string()
            }),
        )
        .route(
            "/shrink",
            get(|session: Session| async move {
                session.remove::<String>("blob").await.unwrap();
            }),
        )
        .route(
            "/logout",
            get(|session: Session| async move { session.flush().await.unwrap() }),
        )
        .route(
            "/delete",
            get(|session: Session| async move { session.delete().await.unwrap() }),
        )
        .route(
            "/cycle",
            get(|session: Session| async move { session.cycle_id().await.unwrap() }),
        )
        .layer(layer)
}

#[derive(Clone, Debug, Default)]
struct Client {
    cookie: Option<String>,
}

struct Answer {
    status: StatusCode,
    body: String,
    set: Option<String>,
    removed: bool,
}

impl Client {
    async fn get(&mut self, app: &Router, path: &str) -> Answer {
        let response = get_with(app, path, self.cookie.as_deref()).await;
        let status = response.status();
        let mut set = None;
        let mut removed = false;
        for cookie in set_cookies(&response) {
            if is_removal(&cookie) {
                removed = true;
                self.cookie = None;
            } else {
                set = Some(cookie.to_string());
                self.cookie = Some(pair(&cookie));
            }
        }
        Answer {
            status,
            body: body_string(response).await,
            set,
            removed,
        }
    }

    async fn ok(&mut self, app: &Router, path: &str) -> String {
        let answer = self.get(app, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        answer.body
    }

    fn cookie_len(&self) -> usize {
        self.cookie.as_ref().map_or(0, String::len)
    }
}

// ---------------------------------------------------------------------------------------
// A wrapper around the real store: what the layer asked, and which records exist

#[derive(Clone, Debug)]
struct Tracking<S> {
    inner: S,
    calls: Arc<Mutex<Vec<&'static str>>>,
    live: Arc<Mutex<HashSet<Id>>>,
}

impl<S> Tracking<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            calls: Arc::default(),
            live: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    fn records(&self) -> usize {
        self.live.lock().unwrap().len()
    }
}

#[async_trait]
impl<S: SessionStore + Clone> SessionStore for Tracking<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.calls.lock().unwrap().push("create");
        self.inner.create(record).await?;
        self.live.lock().unwrap().insert(record.id);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.calls.lock().unwrap().push("save");
        self.inner.save(record).await?;
        self.live.lock().unwrap().insert(record.id);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.calls.lock().unwrap().push("load");
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.calls.lock().unwrap().push("delete");
        self.inner.delete(id).await?;
        self.live.lock().unwrap().remove(id);
        Ok(())
    }
}

fn base(keys: &Arc<KeyRing>) -> SessionManagerLayer {
    SessionManagerLayer::new(Arc::clone(keys)).with_expiry(Expiry::OnInactivity(Duration::hours(1)))
}

/// The largest blob the stateless layer still carries in its cookie.
async fn largest_fitting_blob(keys: &Arc<KeyRing>) -> usize {
    let app = app(base(keys));
    let fits = |n: usize| {
        let app = app.clone();
        async move { get_with(&app, &format!("/put/{n}"), None).await.status() == StatusCode::OK }
    };
    let (mut lo, mut hi) = (0, 8192);
    assert!(fits(lo).await && !fits(hi).await);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid).await {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

// ---------------------------------------------------------------------------------------
// The cases

/// The byte on each side of the limit: at the largest size that fits, the cookie carries it
/// and the store is untouched; one byte more and it moves to the store, with a small cookie
/// and the data intact. Without overflow, one byte more is an error.
async fn boundary<S: SessionStore + Clone>(store: S) {
    let keys = Arc::new(KeyRing::generate());
    // With a store on the layer the cookie is format version 2 (three bytes more), so the
    // boundary is measured on the same configuration without the store write path: the
    // revocation store alone makes the same format.
    let max = {
        let app = app(base(&keys).with_revocation(MemoryStore::default()));
        let (mut lo, mut hi) = (0, 8192);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if get_with(&app, &format!("/put/{mid}"), None).await.status() == StatusCode::OK {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    };
    assert!(max > 2000, "about 2 KB fits the default budget: {max}");
    let stateless = largest_fitting_blob(&keys).await;
    assert!(
        stateless >= max,
        "v1 carries at least as much: {stateless} < {max}"
    );

    let tracking = Tracking::new(store);
    let app = app(base(&keys).with_overflow(tracking.clone()));

    let mut fits = Client::default();
    fits.ok(&app, &format!("/put/{max}")).await;
    assert!(fits.cookie_len() > 2900, "the data is in the cookie");
    assert_eq!(fits.ok(&app, "/get").await, format!("{max} 0 ada"));
    assert_eq!(
        tracking.calls(),
        0,
        "a session that fits never touches the store"
    );

    let mut over = Client::default();
    let answer = over.get(&app, &format!("/put/{}", max + 1)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let set = answer.set.expect("a cookie");
    assert!(set.len() < 400, "the cookie is a small reference: {set}");
    assert_eq!(tracking.records(), 1);
    assert_eq!(over.ok(&app, "/get").await, format!("{} 0 ada", max + 1));

    // Without overflow the same session is refused, naming the size and the limit.
    let plain = app_without_store(&keys);
    let answer = Client::default()
        .get(&plain, &format!("/put/{}", stateless + 1))
        .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.set.is_none());
}

fn app_without_store(keys: &Arc<KeyRing>) -> Router {
    app(base(keys))
}

/// Growing moves the session to the store, shrinking moves it back (and deletes the
/// record); reading an overflowed session is one lookup, and sessions that fit are never
/// looked up.
async fn moves_both_ways<S: SessionStore + Clone>(store: S) {
    let keys = Arc::new(KeyRing::generate());
    let tracking = Tracking::new(store);
    let app = app(base(&keys).with_overflow(tracking.clone()));
    let mut ada = Client::default();
    ada.ok(&app, "/put/100").await;
    assert_eq!(ada.ok(&app, "/count").await, "1");
    assert_eq!(tracking.calls(), 0);

    ada.ok(&app, "/put/10000").await;
    assert_eq!(tracking.records(), 1);
    let before = tracking.calls();
    assert_eq!(ada.ok(&app, "/get").await, "10000 1 ada");
    assert_eq!(tracking.calls() - before, 1, "one lookup to read it");
    assert_eq!(ada.ok(&app, "/count").await, "2");
    assert_eq!(ada.ok(&app, "/get").await, "10000 2 ada");
    assert_eq!(tracking.records(), 1, "still one record: updated in place");

    ada.ok(&app, "/shrink").await;
    assert_eq!(tracking.records(), 0, "moved back: the record is deleted");
    assert!(ada.cookie_len() < 400);
    let before = tracking.calls();
    assert_eq!(ada.ok(&app, "/get").await, "0 2 ada");
    assert_eq!(tracking.calls(), before, "back in the cookie: no lookup");
}

/// Logout, delete and cycle_id of an overflowed session delete its record; with revocation
/// its copies are refused too.
async fn ending_deletes_the_record<S: SessionStore + Clone>(store: S) {
    let keys = Arc::new(KeyRing::generate());
    let tracking = Tracking::new(store);
    let app = app(base(&keys)
        .with_revocation(tracking.clone())
        .with_overflow(tracking.clone()));
    for end in ["/logout", "/delete", "/cycle"] {
        let mut ada = Client::default();
        ada.ok(&app, "/put/9000").await;
        let copy = ada.clone();
        let records = tracking.records();
        let answer = ada.get(&app, end).await;
        assert_eq!(answer.status, StatusCode::OK, "{end}: {}", answer.body);
        // The overflow record went; a tombstone came (and, for cycle_id, the new id's
        // overflow record).
        let expected = if end == "/cycle" {
            records + 1
        } else {
            records
        };
        assert_eq!(tracking.records(), expected, "{end}");
        let mut replay = copy.clone();
        assert_eq!(
            replay.ok(&app, "/get").await,
            "0 0 anonymous",
            "{end}: copy refused"
        );
        if end == "/cycle" {
            assert_eq!(
                ada.ok(&app, "/get").await,
                "9000 0 ada",
                "the new id keeps the data"
            );
        }
    }
}

/// Concurrent requests on one overflowed session all succeed, and every cookie they
/// returned reads one consistent session afterwards.
async fn concurrent_requests<S: SessionStore + Clone>(store: S) {
    let keys = Arc::new(KeyRing::generate());
    let app = app(base(&keys).with_overflow(store));
    let mut ada = Client::default();
    ada.ok(&app, "/put/9000").await;

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, mut client) = (app.clone(), ada.clone());
        tasks.push(tokio::spawn(async move {
            let answer = client.get(&app, "/count").await;
            (answer.status, client)
        }));
    }
    let mut clients = Vec::new();
    for task in tasks {
        let (status, client) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        clients.push(client);
    }
    let mut reads = HashSet::new();
    for mut client in clients.into_iter().chain([ada]) {
        let read = client.ok(&app, "/get").await;
        let mut parts = read.split(' ');
        assert_eq!(parts.next(), Some("9000"), "{read}");
        let n: u64 = parts.next().unwrap().parse().unwrap();
        assert!((1..=8).contains(&n), "{read}");
        assert_eq!(parts.next(), Some("ada"));
        reads.insert(read);
    }
    assert_eq!(
        reads.len(),
        1,
        "every cookie reads the same record: {reads:?}"
    );
}

/// Expiry and the maximum lifetime hold as for cookie sessions: activity slides an
/// overflowed session past its first expiry (its record rewritten), inactivity ends it,
/// and the maximum lifetime ends it whatever the activity.
async fn expiry_and_lifetime<S: SessionStore + Clone>(store: S) {
    let keys = Arc::new(KeyRing::generate());
    let layer = SessionManagerLayer::new(Arc::clone(&keys))
        .with_expiry(Expiry::OnInactivity(Duration::seconds(3)))
        .with_refresh_after(0.0)
        .with_max_lifetime(Duration::seconds(7))
        .with_overflow(store);
    let app = app(layer);
    let mut active = Client::default();
    active.ok(&app, "/put/9000").await;
    let mut idle = active.clone();
    for _ in 0..5 {
        tokio::time::sleep(StdDuration::from_millis(1000)).await;
        assert_eq!(active.ok(&app, "/get").await, "9000 0 ada");
    }
    // 5 s in: past the first 3 s expiry thanks to activity; the idle copy has expired.
    assert_eq!(idle.ok(&app, "/get").await, "0 0 anonymous");
    tokio::time::sleep(StdDuration::from_millis(3000)).await;
    // 8 s in, with activity every second up to 5 s: past the 7 s maximum lifetime.
    assert_eq!(active.ok(&app, "/get").await, "0 0 anonymous");
}

// ---------------------------------------------------------------------------------------
// The store going down

/// Fail closed: an overflowed session cannot be read or written while the store is down
/// (`503`, no `Set-Cookie`, the client keeps its cookie); sessions that fit are not
/// affected; everything works again once the server is back.
async fn store_outage<S: SessionStore + Clone>(store: S, server: &mut impl Outage) {
    let keys = Arc::new(KeyRing::generate());
    let app = app(base(&keys).with_overflow(store));
    let mut big = Client::default();
    big.ok(&app, "/put/9000").await;
    let mut small = Client::default();
    small.ok(&app, "/put/10").await;

    server.stop();
    for path in ["/get", "/count", "/put/20000"] {
        let mut attempt = big.clone();
        let answer = attempt.get(&app, path).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            answer.set.is_none() && !answer.removed,
            "{path}: cookie kept"
        );
        assert!(!answer.body.contains("ada"));
    }
    assert_eq!(
        small.ok(&app, "/count").await,
        "1",
        "sessions that fit need no store"
    );
    let answer = small.clone().get(&app, "/put/9000").await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "cannot overflow now"
    );
    assert!(answer.set.is_none());

    server.restart();
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let answer = big.clone().get(&app, "/get").await;
        if answer.status == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store did not come back"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    if server.persistent() {
        assert_eq!(big.ok(&app, "/count").await, "1");
        assert_eq!(big.ok(&app, "/get").await, "9000 1 ada");
    } else {
        // The record went with the server's memory: a fresh session, and overflow works
        // again.
        assert_eq!(big.ok(&app, "/get").await, "0 0 anonymous");
        big.ok(&app, "/put/9000").await;
        assert_eq!(big.ok(&app, "/get").await, "9000 0 ada");
    }
    assert_eq!(small.ok(&app, "/get").await, "10 1 ada");
}

// ---------------------------------------------------------------------------------------
// The backends

macro_rules! suite {
    ($backend:ident, $setup:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_byte_on_each_side_of_the_limit() {
                let (store, _guard) = $setup;
                boundary(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sessions_move_to_the_store_and_back() {
                let (store, _guard) = $setup;
                moves_both_ways(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ending_an_overflowed_session_deletes_its_record() {
                let (store, _guard) = $setup;
                ending_deletes_the_record(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_requests_on_an_overflowed_session() {
                let (store, _guard) = $setup;
                concurrent_requests(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn expiry_and_maximum_lifetime_hold() {
                let (store, _guard) = $setup;
                expiry_and_lifetime(store).await;
            }
        }
    };
}

suite!(memory, (MemoryStore::default(), ()));
suite!(sqlite, sqlite().await);
suite!(postgres, {
    let (store, _pool, server) = postgres().await;
    (store, server)
});
suite!(redis, {
    let (store, _pool, server) = redis().await;
    (store, server)
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_down_fails_closed() {
    let (store, _pool, mut server) = postgres().await;
    store_outage(store, &mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_down_fails_closed() {
    let (store, _pool, mut server) = redis().await;
    store_outage(store, &mut server).await;
}

#[tokio::test]
async fn an_overflowed_cookie_without_an_overflow_store_is_a_fresh_session() {
    let keys = Arc::new(KeyRing::generate());
    let with = app(base(&keys).with_overflow(MemoryStore::default()));
    let mut ada = Client::default();
    ada.ok(&with, "/put/9000").await;
    let without = app(base(&keys).with_revocation(MemoryStore::default()));
    let answer = ada.get(&without, "/get").await;
    assert_eq!(answer.body, "0 0 anonymous");
    assert!(answer.removed);
}
