//! The steady read + write workload of the benches that talk to stores (revocation,
//! storage): this crate's key and app shape, tower-sessions over a store, the requests that
//! prime and check a case, and the runtime with I/O and timer drivers.

use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use tokio::runtime::Runtime;
use tower_sessions_core::session_store::SessionStore;
use tower_sessions_sealed::{Key, KeyRing, SessionManagerLayer};

use super::Jar;

/// This crate's one key (the middleware bench's `app_sealed` key).
pub(crate) fn keys() -> KeyRing {
    KeyRing::new(vec![Key::try_from(&[0xA1; 32][..]).unwrap()]).unwrap()
}

/// The session routes with `GET /logout` under `layer`.
pub(crate) fn finish(layer: SessionManagerLayer) -> Router {
    super::session_routes_with_logout()
        .layer(layer)
        .with_state(())
}

/// tower-sessions 0.14 keeping the session in `store`.
pub(crate) fn ts_app<S: SessionStore + Clone>(store: S) -> Router {
    super::session_routes_with_logout()
        .layer(tower_sessions::SessionManagerLayer::new(store))
        .with_state(())
}

/// A request with `jar`'s cookies; the jar takes the response's `Set-Cookie`s, which are
/// returned with the status and the body.
pub(crate) async fn step(
    app: &Router,
    path: &str,
    jar: &mut Jar,
) -> (StatusCode, String, Vec<String>) {
    let (response, body) = super::full_request(app, path, jar.header().as_ref()).await;
    let set = super::set_cookies(&response);
    jar.update(&response);
    (
        response.status(),
        String::from_utf8(body.to_vec()).unwrap(),
        set,
    )
}

/// A request with a fixed cookie header: status, body, `Set-Cookie`s.
pub(crate) async fn with_cookie(
    app: &Router,
    path: &str,
    cookie: &HeaderValue,
) -> (StatusCode, String, Vec<String>) {
    let (response, body) = super::full_request(app, path, Some(cookie)).await;
    let set = super::set_cookies(&response);
    (
        response.status(),
        String::from_utf8(body.to_vec()).unwrap(),
        set,
    )
}

/// The counter a body holds; panics naming the case if it holds none.
pub(crate) fn counter(id: &str, body: &str) -> u64 {
    body.parse()
        .unwrap_or_else(|_| panic!("{id}: body {body:?} is not a counter"))
}

/// `GET /login/{filler}` (the typical payload plus `filler` characters), then `GET /`: the
/// steady cookie (counter 2), and the jar holding it.
pub(crate) async fn prime(id: &str, app: &Router, filler: usize) -> (Jar, HeaderValue) {
    let mut jar = Jar::default();
    for path in [format!("/login/{filler}"), "/".to_owned()] {
        let (status, body, _) = step(app, &path, &mut jar).await;
        assert_eq!(status, StatusCode::OK, "{id}: priming {path}: {body:?}");
    }
    let cookie = jar
        .header()
        .unwrap_or_else(|| panic!("{id}: priming produced no cookie"));
    (jar, cookie)
}

/// `GET /` without a cookie answers `1` (the baseline's check).
pub(crate) async fn check_baseline(id: &str, app: &Router) {
    let (response, body) = super::full_request(app, "/", None).await;
    assert_eq!(
        (response.status(), &body[..]),
        (StatusCode::OK, &b"1"[..]),
        "{id}"
    );
}

/// The runtime every measurement runs on: current-thread, as in the middleware bench, with
/// the I/O and time drivers the store clients need.
pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
