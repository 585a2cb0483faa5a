//! Chunking through a real `Router` with a browser-like cookie jar (it applies `Set-Cookie`
//! removals and path rules, and sends more specific paths first): growth from one cookie to
//! the cap and back, stale chunks from an earlier write, a second tab writing concurrently,
//! tampering with any chunk, chunks from another path, the cap exceeded, the budgets on
//! every emitted `Set-Cookie` and on the `Cookie` header, and chunking before overflow.

mod common;
#[path = "support/counting_store.rs"]
mod counting_store;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use common::body_string;
use cookie::Cookie;
use counting_store::Counting;
use time::Duration;
use tower::ServiceExt as _;
use tower_sessions::MemoryStore;
use tower_sessions_sealed::{
    DEFAULT_COOKIE_BUDGET, DEFAULT_REQUEST_COOKIE_BUDGET, Expiry, KeyRing, Session,
    SessionManagerLayer,
};

fn app(layer: SessionManagerLayer) -> Router {
    let routes = Router::new()
        .route(
            "/put/{n}",
            get(|session: Session, Path(n): Path<usize>| async move {
                session.insert("blob", "x".repeat(n)).await.unwrap();
            }),
        )
        .route(
            "/get",
            get(|session: Session| async move {
                let blob: Option<String> = session.get("blob").await.unwrap();
                blob.map_or(0, |b| b.len()).to_string()
            }),
        )
        .route(
            "/flush",
            get(|session: Session| async move { session.flush().await.unwrap() }),
        );
    Router::new()
        .merge(routes.clone())
        .nest("/app", routes)
        .layer(layer)
}

fn layer() -> SessionManagerLayer {
    SessionManagerLayer::new(KeyRing::generate())
        .with_expiry(Expiry::OnInactivity(Duration::hours(1)))
        .with_chunks(3)
}

/// A cookie jar for one host that behaves as browsers do: cookies are keyed by name and
/// path, `Max-Age=0` removes, a request carries the cookies whose path matches, more
/// specific paths first.
#[derive(Clone, Debug, Default)]
struct Jar {
    /// (name, path) → value
    cookies: BTreeMap<(String, String), String>,
}

struct Reply {
    status: StatusCode,
    body: String,
    set_cookies: Vec<String>,
}

impl Jar {
    fn header(&self, path: &str) -> Option<String> {
        let mut matching: Vec<_> = self
            .cookies
            .iter()
            .filter(|((_, cookie_path), _)| path_matches(path, cookie_path))
            .collect();
        matching.sort_by_key(|((_, cookie_path), _)| std::cmp::Reverse(cookie_path.len()));
        let pairs: Vec<String> = matching
            .into_iter()
            .map(|((name, _), value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn apply(&mut self, set_cookies: &[String]) {
        for set in set_cookies {
            let cookie = Cookie::parse(set.clone()).unwrap();
            let key = (
                cookie.name().to_owned(),
                cookie.path().unwrap_or("/").to_owned(),
            );
            if cookie.max_age() == Some(Duration::ZERO) {
                self.cookies.remove(&key);
            } else {
                self.cookies.insert(key, cookie.value().to_owned());
            }
        }
    }

    /// Sends a request without applying the response.
    async fn send(&self, app: &Router, path: &str) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookies) = self.header(path) {
            request = request.header(header::COOKIE, cookies);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Reply {
            status,
            body: body_string(response).await,
            set_cookies,
        }
    }

    async fn get(&mut self, app: &Router, path: &str) -> Reply {
        let reply = self.send(app, path).await;
        self.apply(&reply.set_cookies);
        reply
    }

    async fn ok(&mut self, app: &Router, path: &str) -> String {
        let reply = self.get(app, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        reply.body
    }

    fn names(&self) -> Vec<String> {
        self.cookies.keys().map(|(name, _)| name.clone()).collect()
    }
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/')))
}

/// Every `Set-Cookie` within the budget, and the session's cookies within the request
/// budget.
fn assert_budgets(jar: &Jar, reply: &Reply) {
    for set in &reply.set_cookies {
        assert!(set.len() <= DEFAULT_COOKIE_BUDGET, "{} bytes", set.len());
    }
    if let Some(cookie) = jar.header("/") {
        assert!(
            cookie.len() <= DEFAULT_REQUEST_COOKIE_BUDGET,
            "{}",
            cookie.len()
        );
    }
}

#[tokio::test]
async fn growth_to_the_cap_and_back() {
    let app = app(layer());
    let mut jar = Jar::default();
    for (n, cookies) in [(100, 1), (3000, 2), (5000, 3), (3000, 2), (10, 1)] {
        let reply = jar.get(&app, &format!("/put/{n}")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_budgets(&jar, &reply);
        assert_eq!(jar.cookies.len(), cookies, "{n}: {:?}", jar.names());
        assert_eq!(jar.ok(&app, "/get").await, n.to_string());
    }
    // A write emits its cookies, then removes every other index up to the cap.
    let reply = jar.get(&app, "/put/3000").await;
    assert_eq!(reply.set_cookies.len(), 3);
    assert!(reply.set_cookies[0].starts_with("id=2."));
    assert!(reply.set_cookies[1].starts_with("id.1="));
    assert!(
        reply.set_cookies[2].starts_with("id.2=;") && reply.set_cookies[2].contains("Max-Age=0")
    );

    let reply = jar.get(&app, "/flush").await;
    assert_eq!(
        reply.set_cookies.len(),
        3,
        "flush removes the base and every chunk"
    );
    assert!(reply.set_cookies.iter().all(|c| c.contains("Max-Age=0")));
    assert!(jar.cookies.is_empty());
}

#[tokio::test]
async fn stale_chunks_from_an_earlier_write_are_ignored() {
    let app = app(layer());
    let mut jar = Jar::default();
    jar.ok(&app, "/put/5000").await;
    let three = jar.clone();
    jar.ok(&app, "/put/3000").await;
    // A browser that missed the removal of chunk 2 still has the earlier write's chunk.
    let stale = three.cookies[&("id.2".to_owned(), "/".to_owned())].clone();
    jar.cookies
        .insert(("id.2".to_owned(), "/".to_owned()), stale);
    assert_eq!(jar.ok(&app, "/get").await, "3000");
}

#[tokio::test]
async fn a_second_tab_writing_concurrently_never_mixes_records() {
    let app = app(layer());
    let mut jar = Jar::default();
    jar.ok(&app, "/put/3000").await;
    let (a, b) = tokio::join!(jar.send(&app, "/put/5000"), jar.send(&app, "/put/4000"));
    // Whichever response the browser applies last wins, whole.
    for (first, second, expected) in [(&a, &b, "4000"), (&b, &a, "5000")] {
        let mut tab = jar.clone();
        tab.apply(&first.set_cookies);
        tab.apply(&second.set_cookies);
        assert_eq!(tab.ok(&app, "/get").await, expected);
    }
    // A browser that kept the base of one write and a chunk of the other (the cookies of
    // two responses interleaved) gets a fresh session, never a mix.
    let mut mixed = jar.clone();
    mixed.apply(&a.set_cookies);
    let other_chunk = Cookie::parse(b.set_cookies[1].clone()).unwrap();
    mixed.cookies.insert(
        ("id.1".to_owned(), "/".to_owned()),
        other_chunk.value().to_owned(),
    );
    let reply = mixed.get(&app, "/get").await;
    assert_eq!(reply.body, "0");
    assert!(mixed.cookies.is_empty(), "the broken set is removed");
}

#[tokio::test]
async fn tampering_with_any_chunk_or_the_count_is_a_fresh_session() {
    let app = app(layer());
    let mut jar = Jar::default();
    jar.ok(&app, "/put/5000").await;
    let keys: Vec<_> = jar.cookies.keys().cloned().collect();
    assert_eq!(keys.len(), 3);
    for key in &keys {
        let mut tampered = jar.clone();
        let value = tampered.cookies.get_mut(key).unwrap();
        let at = value.len() / 2;
        let flipped = if &value[at..=at] == "A" { "B" } else { "A" };
        value.replace_range(at..=at, flipped);
        assert_eq!(tampered.ok(&app, "/get").await, "0", "{key:?}");
        let mut truncated = jar.clone();
        truncated.cookies.get_mut(key).unwrap().pop();
        assert_eq!(truncated.ok(&app, "/get").await, "0", "{key:?}");
        let mut missing = jar.clone();
        missing.cookies.remove(key);
        assert_eq!(missing.ok(&app, "/get").await, "0", "{key:?}");
    }
    for count in ["2", "4", "9", "x"] {
        let mut recounted = jar.clone();
        let base = recounted
            .cookies
            .get_mut(&("id".to_owned(), "/".to_owned()))
            .unwrap();
        base.replace_range(0..1, count);
        assert_eq!(recounted.ok(&app, "/get").await, "0", "count {count}");
    }
    // Reordered chunks.
    let mut swapped = jar.clone();
    let one = swapped.cookies[&("id.1".to_owned(), "/".to_owned())].clone();
    let two = swapped.cookies[&("id.2".to_owned(), "/".to_owned())].clone();
    swapped
        .cookies
        .insert(("id.1".to_owned(), "/".to_owned()), two);
    swapped
        .cookies
        .insert(("id.2".to_owned(), "/".to_owned()), one);
    assert_eq!(swapped.ok(&app, "/get").await, "0");
    assert_eq!(
        jar.ok(&app, "/get").await,
        "5000",
        "the untouched set still opens"
    );
}

#[tokio::test]
async fn chunks_set_for_another_path_do_not_combine() {
    let app = app(layer());
    let mut root = Jar::default();
    root.ok(&app, "/put/3000").await;
    let mut other = Jar::default();
    other.ok(&app, "/put/3500").await;
    // A chunk of another session, planted for /app (sent first under /app).
    let mut jar = root.clone();
    let planted = other.cookies[&("id.1".to_owned(), "/".to_owned())].clone();
    jar.cookies
        .insert(("id.1".to_owned(), "/app".to_owned()), planted);
    assert_eq!(
        jar.ok(&app, "/get").await,
        "3000",
        "outside /app it is not sent"
    );
    let reply = jar.send(&app, "/app/get").await;
    assert_eq!(reply.body, "0", "under /app the mix is a fresh session");
}

#[tokio::test]
async fn over_the_cap_is_a_clear_error_and_the_previous_session_is_kept() {
    let app = app(layer());
    let mut jar = Jar::default();
    jar.ok(&app, "/put/4000").await;
    let before = jar.clone();
    let reply = jar.get(&app, "/put/20000").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply.set_cookies.is_empty(),
        "the previous cookies are kept"
    );
    assert_eq!(jar.cookies, before.cookies);
    assert_eq!(jar.ok(&app, "/get").await, "4000");

    // An explicit save names the size and the cap.
    let app = Router::new()
        .route(
            "/save",
            get(|session: Session| async move {
                session.insert("blob", "x".repeat(20000)).await.unwrap();
                let message = session.save().await.unwrap_err().to_string();
                session.remove_value("blob").await.unwrap();
                message
            }),
        )
        .layer(layer());
    let message = Jar::default().get(&app, "/save").await.body;
    assert!(message.contains("more than 3 cookies"), "{message}");
    assert!(
        message
            .split_whitespace()
            .any(|w| w.parse::<usize>().is_ok_and(|n| n > 20000))
    );
}

#[tokio::test]
async fn the_request_budget_holds() {
    let app = app(layer().with_request_cookie_budget(DEFAULT_COOKIE_BUDGET + 500));
    let mut jar = Jar::default();
    let reply = jar.get(&app, "/put/3000").await;
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        reply.body
    );
    let app = Router::new()
        .route(
            "/save",
            get(|session: Session| async move {
                session.insert("blob", "x".repeat(3000)).await.unwrap();
                let message = session.save().await.unwrap_err().to_string();
                session.remove_value("blob").await.unwrap();
                message
            }),
        )
        .layer(layer().with_request_cookie_budget(DEFAULT_COOKIE_BUDGET + 500));
    let message = Jar::default().get(&app, "/save").await.body;
    assert!(message.contains("3572-byte limit"), "{message}");
}

#[tokio::test]
async fn prefixed_names_keep_their_prefix_on_every_chunk() {
    let app = app(layer().with_name("__Host-session"));
    let mut jar = Jar::default();
    jar.ok(&app, "/put/5000").await;
    assert_eq!(
        jar.names(),
        ["__Host-session", "__Host-session.1", "__Host-session.2"]
    );
    assert_eq!(jar.ok(&app, "/get").await, "5000");
}

/// Store calls of any kind: loads + writes.
fn total((loads, writes): (usize, usize)) -> usize {
    loads + writes
}

/// With overflow configured too, chunking applies first: a session that fits in the chunks
/// never touches the store; only one larger than the chunks can carry goes there.
#[tokio::test]
async fn chunking_applies_before_overflow() {
    let store = Counting::new(MemoryStore::default());
    let app = app(layer().with_overflow(store.clone()));
    let mut jar = Jar::default();
    jar.ok(&app, "/put/5000").await;
    assert_eq!(jar.cookies.len(), 3);
    assert_eq!(jar.ok(&app, "/get").await, "5000");
    assert_eq!(total(store.counts()), 0, "chunked: no store");

    jar.ok(&app, "/put/20000").await;
    assert_eq!(
        jar.cookies.len(),
        1,
        "a reference cookie; the chunks are removed"
    );
    assert!(total(store.counts()) > 0);
    assert_eq!(jar.ok(&app, "/get").await, "20000");

    jar.ok(&app, "/put/3000").await;
    assert_eq!(jar.cookies.len(), 2, "back in chunks");
    assert_eq!(jar.ok(&app, "/get").await, "3000");
}
