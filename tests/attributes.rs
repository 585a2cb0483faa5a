//! Cookie attributes, removal cookies, caching headers and configuration checks.

mod common;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::routing::get;
use cookie::SameSite;
use tower::Layer as _;
use tower_sessions_sealed::{KeyRing, Session, SessionManagerLayer};

use common::*;

fn app(layer: SessionManagerLayer) -> Router {
    routes()
        .route(
            "/cached",
            get(|session: Session| async move {
                session.insert("foo", 1).await.unwrap();
                ([(CACHE_CONTROL, "private, max-age=60")], "cached")
            }),
        )
        .route(
            "/vary",
            get(|| async { ([(VARY, "Accept-Encoding")], "varies") }),
        )
        .layer(layer)
}

#[tokio::test]
async fn defaults_match_tower_sessions() {
    let app = app(SessionManagerLayer::new(KeyRing::generate()));
    let response = get_with(&app, "/insert", None).await;
    let header = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(header.starts_with("id="), "{header}");
    assert!(
        header.ends_with("; HttpOnly; SameSite=Strict; Secure; Path=/"),
        "{header}"
    );
}

#[tokio::test]
async fn removal_cookies_carry_every_attribute() {
    let layer = SessionManagerLayer::new(KeyRing::generate())
        .with_name("__Secure-sid")
        .with_path("/app")
        .with_domain("example.com")
        .with_same_site(SameSite::Lax);
    let app = app(layer);
    // An invalid cookie, and a flushed session: both removals must be accepted by a browser
    // for a __Secure- cookie, so they carry Secure, and they must match Path and Domain.
    let invalid = get_with(&app, "/", Some("__Secure-sid=garbage")).await;
    let mut browser_cookie = None;
    let inserted = get_with(&app, "/insert", None).await;
    if let Some(cookie) = set_cookie(&inserted) {
        browser_cookie = Some(pair(&cookie));
    }
    let flushed = get_with(&app, "/flush", browser_cookie.as_deref()).await;
    for response in [&invalid, &flushed] {
        let cookie = set_cookie(response).expect("a removal cookie");
        assert!(is_removal(&cookie), "{cookie}");
        assert_eq!(cookie.name(), "__Secure-sid");
        assert_eq!(cookie.path(), Some("/app"));
        assert_eq!(cookie.domain(), Some("example.com"));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert!(cookie.expires_datetime().is_some_and(|t| t.year() == 1970));
    }
}

#[tokio::test]
async fn host_prefixed_cookie_round_trips() {
    let app = app(SessionManagerLayer::new(KeyRing::generate()).with_name("__Host-session"));
    let cookie = set_cookie(&get_with(&app, "/insert", None).await).unwrap();
    assert_eq!(cookie.name(), "__Host-session");
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    assert_eq!(cookie.secure(), Some(true));
    let response = get_with(&app, "/get", Some(&pair(&cookie))).await;
    assert_eq!(body_string(response).await, "42");
}

#[tokio::test]
async fn every_response_varies_on_cookie() {
    let app = app(SessionManagerLayer::new(KeyRing::generate()));
    for path in ["/", "/insert", "/get_value"] {
        let response = get_with(&app, path, None).await;
        let vary: Vec<_> = response.headers().get_all(VARY).iter().collect();
        assert_eq!(vary, [HeaderValue::from_static("Cookie")], "{path}");
    }
    // An application's own Vary is kept, and Cookie is added once.
    let response = get_with(&app, "/vary", None).await;
    let vary: Vec<_> = response.headers().get_all(VARY).iter().collect();
    assert_eq!(vary, ["Accept-Encoding", "Cookie"]);
}

#[tokio::test]
async fn responses_that_set_cookies_are_not_shared_cacheable() {
    let app = app(SessionManagerLayer::new(KeyRing::generate()));
    let response = get_with(&app, "/insert", None).await;
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let response = get_with(&app, "/", Some("id=garbage")).await;
    assert!(set_cookie(&response).is_some_and(|c| is_removal(&c)));
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    // Without a Set-Cookie, nothing is added.
    let response = get_with(&app, "/get_value", None).await;
    assert!(response.headers().get(CACHE_CONTROL).is_none());
    // The application's own directive wins.
    let response = get_with(&app, "/cached", None).await;
    assert!(set_cookie(&response).is_some());
    let directives: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
    assert_eq!(directives, ["private, max-age=60"]);
}

#[test]
fn impossible_configurations_are_errors_at_start_up() {
    let keys = std::sync::Arc::new(KeyRing::generate());
    let cases = [
        (
            SessionManagerLayer::new(keys.clone())
                .with_name("__Host-x")
                .with_domain("a.com"),
            "__Host-",
        ),
        (
            SessionManagerLayer::new(keys.clone())
                .with_name("__Secure-x")
                .with_secure(false),
            "__Secure-",
        ),
        (
            SessionManagerLayer::new(keys.clone())
                .with_same_site(SameSite::None)
                .with_secure(false),
            "SameSite=None",
        ),
        (
            SessionManagerLayer::new(keys.clone()).with_name("a;b"),
            "cookie name",
        ),
        (
            SessionManagerLayer::new(keys.clone()).with_path("app"),
            "cookie path",
        ),
        (
            SessionManagerLayer::new(keys.clone()).with_refresh_after(2.0),
            "refresh share",
        ),
        (
            SessionManagerLayer::new(keys.clone()).with_max_lifetime(time::Duration::ZERO),
            "maximum lifetime",
        ),
    ];
    for (layer, needle) in cases {
        let err = layer.check().unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = layer.layer(tower::service_fn(|_: http::Request<String>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
            }));
        }))
        .unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains(needle), "{message}");
    }
}

#[tokio::test]
async fn layer_without_extractor_route_still_works() {
    let app = Router::new()
        .route("/plain", get(|| async { "plain" }))
        .layer(SessionManagerLayer::new(KeyRing::generate()));
    let response = get_with(&app, "/plain", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_string(response).await, "plain");
}
