//! Revocation on every real backend: one suite, run against `MemoryStore`, `SqliteStore`
//! (SQLite through sqlx), `PostgresStore` on a private PostgreSQL server and `RedisStore` on
//! a private Redis server (both started by `tests/support/servers.rs`), as tower-sessions
//! runs one suite over every store. Requests go through a real `axum::Router` with real
//! cookies; nothing is mocked. A backend whose server binary is missing fails its tests
//! with the install command.

#[path = "support/backends.rs"]
mod backends;
#[path = "support/counting_store.rs"]
mod counting_store;

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use backends::{Outage, postgres, redis, sqlite};
use common::{body_string, get_with, is_removal, pair, set_cookies};
use counting_store::Counting;
use time::Duration;
use tower_sessions::MemoryStore;
use tower_sessions_core::session::Id;
use tower_sessions_core::session_store::SessionStore;
use tower_sessions_redis_store::fred::prelude::ServerInterface as _;
use tower_sessions_sealed::{Expiry, KeyRing, Session, SessionManagerLayer, Subject};
use tower_sessions_sqlx_store::sqlx;

// ---------------------------------------------------------------------------------------
// The application and a client that keeps its cookie like a browser

async fn login(session: Session, Path(user): Path<String>) -> &'static str {
    session.cycle_id().await.unwrap();
    session.insert("user", user).await.unwrap();
    "ok"
}

async fn whoami(session: Session) -> String {
    session
        .get::<String>("user")
        .await
        .unwrap()
        .unwrap_or_else(|| "anonymous".to_owned())
}

async fn counter(session: Session) -> String {
    let n: u64 = session.get("n").await.unwrap().unwrap_or(0);
    session.insert("n", n + 1).await.unwrap();
    (n + 1).to_string()
}

fn app(layer: SessionManagerLayer) -> Router {
    Router::new()
        .route("/login/{user}", get(login))
        .route("/whoami", get(whoami))
        .route("/counter", get(counter))
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
        .route(
            "/empty",
            get(|session: Session| async move {
                session.remove::<String>("user").await.unwrap();
                session.remove::<u64>("n").await.unwrap();
            }),
        )
        .route(
            "/sid",
            get(|session: Session| async move {
                session.get_value("user").await.unwrap();
                session.id().map(|id| id.0.to_string()).unwrap_or_default()
            }),
        )
        .layer(layer)
}

/// The layer every case starts from: revocation on `store`, a fresh key.
fn layer<S: SessionStore>(store: S) -> SessionManagerLayer {
    SessionManagerLayer::new(KeyRing::generate())
        .with_expiry(Expiry::OnInactivity(Duration::hours(1)))
        .with_revocation(store)
}

/// A client holding one session cookie, applying `Set-Cookie`s as a browser does.
#[derive(Clone, Debug, Default)]
struct Client {
    cookie: Option<String>,
}

struct Answer {
    status: StatusCode,
    body: String,
    /// Whether the response removed the cookie.
    removed: bool,
    /// Whether the response set or removed a cookie at all.
    touched: bool,
}

impl Client {
    async fn get(&mut self, app: &Router, path: &str) -> Answer {
        let response = get_with(app, path, self.cookie.as_deref()).await;
        let status = response.status();
        let cookies = set_cookies(&response);
        let touched = !cookies.is_empty();
        let mut removed = false;
        for cookie in cookies {
            if is_removal(&cookie) {
                self.cookie = None;
                removed = true;
            } else {
                self.cookie = Some(pair(&cookie));
            }
        }
        let body = body_string(response).await;
        Answer {
            status,
            body,
            removed,
            touched,
        }
    }

    async fn whoami(&mut self, app: &Router) -> String {
        let answer = self.get(app, "/whoami").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body
    }

    async fn logged_in(app: &Router, user: &str) -> Self {
        let mut client = Self::default();
        let answer = client.get(app, &format!("/login/{user}")).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(client.cookie.is_some(), "login sets a cookie");
        client
    }
}

/// A replayed copy is refused: a fresh session, and the response removes the cookie.
async fn assert_refused(app: &Router, copy: &Client) {
    let mut replay = copy.clone();
    let answer = replay.get(app, "/whoami").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "anonymous", "a revoked cookie opened");
    assert!(answer.removed, "the revoked cookie is removed");
}

// ---------------------------------------------------------------------------------------
// The cases, generic over the store

/// Logout (`flush`) writes a tombstone; every earlier copy of the cookie is then refused,
/// including the one a concurrent request re-sealed.
async fn replay_after_flush<S: SessionStore + Clone>(store: S) {
    let app = app(layer(store));
    let mut ada = Client::logged_in(&app, "ada").await;
    let at_login = ada.clone();
    assert_eq!(ada.get(&app, "/counter").await.body, "1");
    let after_counter = ada.clone();
    assert_eq!(ada.whoami(&app).await, "ada");

    let answer = ada.get(&app, "/logout").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.removed);

    assert_refused(&app, &at_login).await;
    assert_refused(&app, &after_counter).await;
    // Logged out, not locked out: a new login works.
    let mut again = Client::logged_in(&app, "ada").await;
    assert_eq!(again.whoami(&app).await, "ada");
}

/// `Session::delete` revokes too.
async fn replay_after_delete<S: SessionStore + Clone>(store: S) {
    let app = app(layer(store));
    let mut ada = Client::logged_in(&app, "ada").await;
    let copy = ada.clone();
    assert!(ada.get(&app, "/delete").await.removed);
    assert_refused(&app, &copy).await;
}

/// `cycle_id` (as at login) revokes the old id: the pre-login cookie dies, the new one
/// lives.
async fn cycle_id_revokes_the_old_id<S: SessionStore + Clone>(store: S) {
    let app = app(layer(store));
    let mut visitor = Client::default();
    assert_eq!(visitor.get(&app, "/counter").await.body, "1");
    let before_login = visitor.clone();
    assert_eq!(visitor.get(&app, "/login/ada").await.body, "ok");
    assert_ne!(visitor.cookie, before_login.cookie);
    assert_refused(&app, &before_login).await;
    assert_eq!(visitor.whoami(&app).await, "ada");
    assert_eq!(visitor.get(&app, "/counter").await.body, "2");

    let before_cycle = visitor.clone();
    assert!(visitor.get(&app, "/cycle").await.touched);
    assert_refused(&app, &before_cycle).await;
    assert_eq!(visitor.whoami(&app).await, "ada");
}

/// A session emptied by `remove` ends, and is revoked.
async fn emptied_session_is_revoked<S: SessionStore + Clone>(store: S) {
    let app = app(layer(store));
    let mut ada = Client::logged_in(&app, "ada").await;
    ada.get(&app, "/counter").await;
    let copy = ada.clone();
    assert!(ada.get(&app, "/empty").await.removed);
    assert_refused(&app, &copy).await;
}

/// "Log out everywhere": revoking a subject ends its sessions on every device, leaves other
/// subjects alone, and does not block a new login.
async fn subject_revocation<S: SessionStore + Clone>(store: S) {
    let layer = layer(store).with_revocation_subject(Subject::key("user"));
    let revoker = layer.revoker().unwrap();
    let app = app(layer);
    let phone = Client::logged_in(&app, "ada").await;
    let mut laptop = Client::logged_in(&app, "ada").await;
    let mut grace = Client::logged_in(&app, "grace").await;
    assert_eq!(laptop.get(&app, "/counter").await.body, "1");

    revoker.revoke_subject("ada").await.unwrap();

    assert_refused(&app, &phone).await;
    assert_refused(&app, &laptop).await;
    assert_eq!(grace.whoami(&app).await, "grace");
    assert_eq!(grace.get(&app, "/counter").await.body, "1");

    // A login right after the revocation is a new session, not a revoked one.
    let mut fresh = Client::logged_in(&app, "ada").await;
    assert_eq!(fresh.whoami(&app).await, "ada");
    assert_eq!(fresh.get(&app, "/counter").await.body, "1");

    // Revoking again (a second password change) is fine, and ends the new one too.
    revoker.revoke_subject("ada").await.unwrap();
    assert_refused(&app, &fresh).await;
    assert_eq!(grace.whoami(&app).await, "grace");
}

/// The handle revokes one session id; the subject's other sessions live on.
async fn revoke_one_session<S: SessionStore + Clone>(store: S) {
    let layer = layer(store);
    let revoker = layer.revoker().unwrap();
    let app = app(layer);
    let mut phone = Client::logged_in(&app, "ada").await;
    let mut laptop = Client::logged_in(&app, "ada").await;
    let id: i128 = phone.get(&app, "/sid").await.body.parse().unwrap();

    revoker.revoke_session(Id(id)).await.unwrap();

    assert_refused(&app, &phone).await;
    assert_eq!(laptop.whoami(&app).await, "ada");
}

/// By default every request with a cookie asks the store (once, or twice with a subject);
/// with `with_revalidate_every` at most once per interval, and a revocation takes effect
/// within it.
async fn revalidate_every<S: SessionStore + Clone>(store: S) {
    // Default: one lookup per request that carries a cookie.
    let counting = Counting::new(store.clone());
    let app_every = app(layer(counting.clone()));
    let mut ada = Client::logged_in(&app_every, "ada").await;
    assert_eq!(
        counting.loads(),
        0,
        "a request without a cookie asks nothing"
    );
    for _ in 0..5 {
        ada.whoami(&app_every).await;
    }
    assert_eq!(counting.loads(), 5);

    // With a subject: two lookups per request.
    let counting = Counting::new(store.clone());
    let app_subject = app(layer(counting.clone()).with_revocation_subject(Subject::key("user")));
    let mut ada = Client::logged_in(&app_subject, "ada").await;
    for _ in 0..3 {
        ada.whoami(&app_subject).await;
    }
    assert_eq!(counting.loads(), 6);

    // Amortized: a 2 s interval.
    let counting = Counting::new(store);
    let layer = layer(counting.clone())
        .with_revocation_subject(Subject::key("user"))
        .with_revalidate_every(Duration::seconds(2));
    let revoker = layer.revoker().unwrap();
    let app = app(layer);
    let mut ada = Client::logged_in(&app, "ada").await;
    for _ in 0..10 {
        assert_eq!(ada.whoami(&app).await, "ada");
    }
    assert_eq!(
        counting.loads(),
        0,
        "a new session was checked when it was issued"
    );
    tokio::time::sleep(StdDuration::from_millis(3100)).await;
    let answer = ada.get(&app, "/whoami").await;
    assert_eq!(answer.body, "ada");
    assert!(
        answer.touched,
        "the check re-seals the cookie with its time"
    );
    assert_eq!(counting.loads(), 2, "one check: session and subject");
    for _ in 0..10 {
        assert_eq!(ada.whoami(&app).await, "ada");
    }
    assert_eq!(counting.loads(), 2, "no more checks within the interval");

    // Revocation latency is the interval: accepted until the next check, refused after.
    revoker.revoke_subject("ada").await.unwrap();
    assert_eq!(ada.clone().whoami(&app).await, "ada");
    tokio::time::sleep(StdDuration::from_millis(3100)).await;
    assert_refused(&app, &ada).await;
}

/// Double logout, a logout racing a request with the same cookie, and tombstones written
/// where the store already holds a record with that id.
async fn racing_and_existing_tombstones<S: SessionStore + Clone>(store: S) {
    let app = app(layer(store.clone()));

    // Two tabs log out with the same cookie at once.
    let ada = Client::logged_in(&app, "ada").await;
    let (mut tab1, mut tab2) = (ada.clone(), ada.clone());
    let (one, two) = tokio::join!(tab1.get(&app, "/logout"), tab2.get(&app, "/logout"));
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(two.status, StatusCode::OK);
    assert_refused(&app, &ada).await;

    // A logout racing a request that re-seals the same session.
    let grace = Client::logged_in(&app, "grace").await;
    let (mut busy, mut leaving) = (grace.clone(), grace.clone());
    let (counted, left) = tokio::join!(busy.get(&app, "/counter"), leaving.get(&app, "/logout"));
    assert_eq!(counted.status, StatusCode::OK);
    assert_eq!(left.status, StatusCode::OK);
    assert_refused(&app, &grace).await;
    // The request that raced the logout either re-sealed grace's session (then its cookie
    // is refused like the others) or was itself refused and started a fresh one; either
    // way grace is not logged in with it.
    assert_eq!(busy.clone().whoami(&app).await, "anonymous");

    // A second logout of the same session when the check is amortized (so the request is
    // not refused first): the tombstone is already there and is updated in place.
    let amortized = app_with(layer(store.clone()).with_revalidate_every(Duration::hours(1)));
    let mut first = Client::logged_in(&amortized, "ada").await;
    let mut second = first.clone();
    assert!(first.get(&amortized, "/logout").await.removed);
    let again = second.get(&amortized, "/logout").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.removed);

    // A tombstone id held by an expired tombstone (kept, hidden, by Memory and SQL until
    // pruned): a layer with the same cookie name and a 1 s window revokes the session, its
    // tombstone expires, then the session logs out through the long-lived layer.
    let keys = Arc::new(KeyRing::generate());
    let long = app_with(
        SessionManagerLayer::new(Arc::clone(&keys))
            .with_expiry(Expiry::OnInactivity(Duration::hours(1)))
            .with_revocation(store.clone()),
    );
    let short = SessionManagerLayer::new(keys)
        .with_expiry(Expiry::OnInactivity(Duration::seconds(1)))
        .with_revocation(store);
    let mut ada = Client::logged_in(&long, "ada").await;
    let id: i128 = ada.get(&long, "/sid").await.body.parse().unwrap();
    short
        .revoker()
        .unwrap()
        .revoke_session(Id(id))
        .await
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(2100)).await;
    let copy = ada.clone();
    let answer = ada.get(&long, "/logout").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.removed);
    assert_refused(&long, &copy).await;
}

fn app_with(layer: SessionManagerLayer) -> Router {
    app(layer)
}

/// Live sessions never touch the store; a logout leaves exactly one record, which expires
/// with the cookie. `count` reads the number of records straight from the backend, `prune`
/// runs its expired-record deletion.
async fn tombstones_expire<S, C, P>(store: S, count: C, prune: P)
where
    S: SessionStore + Clone,
    C: AsyncFn() -> i64,
    P: AsyncFn(),
{
    let app = app(SessionManagerLayer::new(KeyRing::generate())
        .with_expiry(Expiry::OnInactivity(Duration::seconds(2)))
        .with_revocation(store));
    let mut ada = Client::logged_in(&app, "ada").await;
    ada.get(&app, "/counter").await;
    assert_eq!(count().await, 0, "live sessions are not stored");
    let copy = ada.clone();
    ada.get(&app, "/logout").await;
    assert_eq!(count().await, 1, "one tombstone");
    assert_refused(&app, &copy).await;

    // The tombstone expires at most 3 s after the logout (2 s window, rounded up).
    tokio::time::sleep(StdDuration::from_millis(3500)).await;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    loop {
        prune().await;
        if count().await == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expired tombstone was not pruned"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    // The cookie expired with it: still a fresh session.
    assert_refused(&app, &copy).await;
}

// ---------------------------------------------------------------------------------------
// The store going down (real servers, stopped and started again)

/// Sends `path` until the answer is not `503` (the client library reconnecting).
async fn until_available(app: &Router, client: &mut Client, path: &str) -> Answer {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let mut attempt = client.clone();
        let answer = attempt.get(app, path).await;
        if answer.status != StatusCode::SERVICE_UNAVAILABLE {
            *client = attempt;
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store did not come back"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
}

/// Fail closed by default: while the store is down, requests with a cookie get `503`
/// without `Set-Cookie` (the client keeps its cookie), no revoked cookie is accepted, a
/// logout whose tombstone cannot be written is refused; the service resumes once the
/// server is back.
async fn store_outage<S: SessionStore + Clone>(store: S, server: &mut impl Outage) {
    let amortized = app_with(layer(store.clone()).with_revalidate_every(Duration::hours(1)));
    let app = app(layer(store));

    let mut ada = Client::logged_in(&app, "ada").await;
    let revoked = ada.clone();
    assert!(ada.get(&app, "/logout").await.removed);
    let mut grace = Client::logged_in(&app, "grace").await;
    let mut amortized_grace = Client::logged_in(&amortized, "grace").await;

    server.stop();

    for client in [&revoked, &grace] {
        let mut attempt = client.clone();
        let answer = attempt.get(&app, "/whoami").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!answer.touched, "the client keeps its cookie");
        assert!(!answer.body.contains("ada") && !answer.body.contains("grace"));
    }
    // Logging out needs the check first: refused, cookie kept.
    let answer = grace.clone().get(&app, "/logout").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!answer.touched);
    // Without a cookie nothing needs the store.
    assert_eq!(Client::default().whoami(&app).await, "anonymous");
    // Amortized: the read works from the cookie alone; the logout cannot write its
    // tombstone, so it is refused and the cookie kept.
    assert_eq!(amortized_grace.whoami(&amortized).await, "grace");
    let answer = amortized_grace.clone().get(&amortized, "/logout").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!answer.touched);

    server.restart();

    assert_eq!(
        until_available(&app, &mut grace, "/whoami").await.body,
        "grace"
    );
    if server.persistent() {
        assert_refused(&app, &revoked).await;
    }
    let copy = grace.clone();
    assert!(grace.get(&app, "/logout").await.removed);
    assert_refused(&app, &copy).await;
    let copy = amortized_grace.clone();
    let answer = until_available(&amortized, &mut amortized_grace, "/logout").await;
    assert!(answer.removed);
    assert_refused(&app, &copy).await;
}

/// `dangerous_revocation_fail_open`: while the store is down, sessions are accepted
/// unchecked and logouts go through without a tombstone.
async fn store_outage_fail_open<S: SessionStore + Clone>(store: S, server: &mut impl Outage) {
    let app = app(layer(store).dangerous_revocation_fail_open(true));
    let mut grace = Client::logged_in(&app, "grace").await;
    server.stop();
    assert_eq!(grace.whoami(&app).await, "grace");
    assert_eq!(grace.get(&app, "/counter").await.body, "1");
    let answer = grace.get(&app, "/logout").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.removed);
    server.restart();
}

// ---------------------------------------------------------------------------------------
// The backends

/// One test per case, for one backend. `$setup` is an async block giving the store and
/// whatever keeps its server alive.
macro_rules! suite {
    ($backend:ident, $setup:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn replay_after_logout_is_a_fresh_session() {
                let (store, _guard) = $setup;
                replay_after_flush(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn replay_after_delete_is_a_fresh_session() {
                let (store, _guard) = $setup;
                replay_after_delete(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cycle_id_kills_the_pre_login_cookie() {
                let (store, _guard) = $setup;
                cycle_id_revokes_the_old_id(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_emptied_session_is_revoked() {
                let (store, _guard) = $setup;
                emptied_session_is_revoked(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn log_out_everywhere_ends_one_subject_only() {
                let (store, _guard) = $setup;
                subject_revocation(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revoking_one_session_id() {
                let (store, _guard) = $setup;
                revoke_one_session(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revalidate_every_asks_at_most_once_per_interval() {
                let (store, _guard) = $setup;
                revalidate_every(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn racing_logouts_and_existing_tombstones() {
                let (store, _guard) = $setup;
                racing_and_existing_tombstones(store).await;
            }
        }
    };
}

suite!(memory, (MemoryStore::default(), ()));
suite!(sqlite, {
    let (store, pool) = sqlite().await;
    (store, pool)
});
suite!(postgres, {
    let (store, _pool, server) = postgres().await;
    (store, server)
});
suite!(redis, {
    let (store, _pool, server) = redis().await;
    (store, server)
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tombstones_expire_and_are_pruned_by_delete_expired() {
    use tower_sessions_core::ExpiredDeletion as _;
    let (store, pool) = sqlite().await;
    let count = async || {
        sqlx::query_scalar::<_, i64>("select count(*) from tower_sessions")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let pruner = store.clone();
    let prune = async || pruner.delete_expired().await.unwrap();
    tombstones_expire(store, count, prune).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tombstones_expire_and_are_pruned_by_delete_expired() {
    use tower_sessions_core::ExpiredDeletion as _;
    let (store, pool, _server) = postgres().await;
    let count = async || {
        sqlx::query_scalar::<_, i64>(r#"select count(*) from "tower_sessions"."session""#)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let pruner = store.clone();
    let prune = async || pruner.delete_expired().await.unwrap();
    tombstones_expire(store, count, prune).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tombstones_expire_by_themselves() {
    let (store, pool, _server) = redis().await;
    let count = async || pool.dbsize::<i64>().await.unwrap();
    // Nothing to run: Redis removes the key at its EXAT.
    let prune = async || {};
    tombstones_expire(store, count, prune).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_tombstones_are_hidden_once_expired() {
    // MemoryStore never deletes (documented): the expired tombstone is hidden from `load`,
    // and the store's `create` moves a colliding id, which `racing_and_existing_tombstones`
    // covers. Here: the revoked cookie expires with its tombstone.
    let store = MemoryStore::default();
    let app = app(SessionManagerLayer::new(KeyRing::generate())
        .with_expiry(Expiry::OnInactivity(Duration::seconds(1)))
        .with_revocation(store));
    let mut ada = Client::logged_in(&app, "ada").await;
    let copy = ada.clone();
    ada.get(&app, "/logout").await;
    assert_refused(&app, &copy).await;
    tokio::time::sleep(StdDuration::from_millis(2100)).await;
    assert_refused(&app, &copy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_down_fails_closed_and_service_resumes() {
    let (store, _pool, mut server) = postgres().await;
    store_outage(store, &mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_down_fails_closed_and_service_resumes() {
    let (store, _pool, mut server) = redis().await;
    store_outage(store, &mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_down_with_fail_open() {
    let (store, _pool, mut server) = postgres().await;
    store_outage_fail_open(store, &mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_down_with_fail_open() {
    let (store, _pool, mut server) = redis().await;
    store_outage_fail_open(store, &mut server).await;
}

#[test]
fn revocation_settings_without_a_store_are_configuration_errors() {
    let base = || SessionManagerLayer::new(KeyRing::generate());
    for (layer, needle) in [
        (
            base().with_revocation_subject(Subject::key("user")),
            "with_revocation_subject",
        ),
        (
            base().with_revalidate_every(Duration::seconds(60)),
            "with_revalidate_every",
        ),
        (base().dangerous_revocation_fail_open(true), "fail_open"),
    ] {
        let err = layer.check().unwrap_err().to_string();
        assert!(
            err.contains(needle) && err.contains("with_revocation"),
            "{err}"
        );
        assert!(layer.revoker().is_none());
    }
    let zero = base()
        .with_revocation(MemoryStore::default())
        .with_revalidate_every(Duration::ZERO);
    assert!(zero.check().unwrap_err().to_string().contains("positive"));
    let empty = base()
        .with_revocation(MemoryStore::default())
        .with_revocation_subject(Subject::key(""));
    assert!(empty.check().is_err());
}

#[tokio::test]
async fn revoking_a_subject_without_a_configured_subject_is_an_error() {
    let layer = layer(MemoryStore::default());
    let err = layer
        .revoker()
        .unwrap()
        .revoke_subject("ada")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("with_revocation_subject"), "{err}");
}
