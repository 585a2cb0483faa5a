//! One conformance suite, run against upstream `tower_sessions` 0.14 + `MemoryStore` and
//! against this crate's layer: the same routes, the same requests, the same assertions.
//!
//! The client behaves like a browser: it keeps the cookies the responses set and sends the
//! latest ones back. (Replaying an *old* cookie is where a stateless design must differ
//! from a server-side store: see README, "Differences from tower-sessions".)

mod common;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::routing::get;
use cookie::{Cookie, SameSite};
use time::Duration;
use tower_sessions_sealed::{Expiry, Session};

use common::*;

/// A browser's cookie jar for one site.
#[derive(Default)]
struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    async fn get(&mut self, app: &Router, path: &str) -> Response<Body> {
        let response = get_with(app, path, self.header().as_deref()).await;
        for cookie in set_cookies(&response) {
            if is_removal(&cookie) {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        response
    }
}

fn max_age_secs(cookie: &Cookie<'_>) -> Option<i64> {
    cookie.max_age().map(Duration::whole_seconds)
}

/// Routes beyond upstream's integration set, for behaviours upstream documents.
fn extra_routes() -> Router {
    Router::new()
        .route(
            "/insert_then_400",
            get(|session: Session| async move {
                session.insert("foo", 42).await.unwrap();
                StatusCode::BAD_REQUEST
            }),
        )
        .route(
            "/insert_then_500",
            get(|session: Session| async move {
                session.insert("foo", 7).await.unwrap();
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .route(
            "/clear",
            get(|session: Session| async move {
                session.clear().await;
            }),
        )
        .route(
            "/insert_same",
            get(|session: Session| async move {
                session.insert("foo", 42).await.unwrap();
            }),
        )
        .route(
            "/flush_then_insert",
            get(|session: Session| async move {
                session.flush().await.unwrap();
                session.insert("bar", 1).await.unwrap();
            }),
        )
        .route(
            "/is_empty",
            get(|session: Session| async move { session.is_empty().await.to_string() }),
        )
        .route(
            "/modified_after_get",
            get(|session: Session| async move {
                let _ = session.get_value("foo").await.unwrap();
                session.is_modified().to_string()
            }),
        )
}

macro_rules! conformance_suite {
    ($suite:ident, $layer:expr) => {
        mod $suite {
            use super::*;

            fn app(expiry: Option<Expiry>, domain: Option<&'static str>) -> Router {
                let mut layer = $layer.with_secure(true);
                if let Some(expiry) = expiry {
                    layer = layer.with_expiry(expiry);
                }
                if let Some(domain) = domain {
                    layer = layer.with_domain(domain);
                }
                routes().merge(extra_routes()).layer(layer)
            }

            fn hour() -> Option<Expiry> {
                Some(Expiry::OnInactivity(Duration::hours(1)))
            }

            #[tokio::test]
            async fn no_session_set() {
                let response = get_with(&app(hour(), None), "/", None).await;
                assert!(set_cookies(&response).is_empty());
            }

            #[tokio::test]
            async fn bogus_session_cookie() {
                let response = get_with(
                    &app(hour(), None),
                    "/insert",
                    Some("id=AAAAAAAAAAAAAAAAAAAAAA"),
                )
                .await;
                assert_eq!(response.status(), StatusCode::OK);
                let cookie = set_cookie(&response).unwrap();
                assert_ne!(cookie.value(), "AAAAAAAAAAAAAAAAAAAAAA");
                assert!(!cookie.value().is_empty());
            }

            #[tokio::test]
            async fn malformed_session_cookie() {
                let response = get_with(&app(hour(), None), "/", Some("id=malformed")).await;
                assert_eq!(response.status(), StatusCode::OK);
                let cookie = set_cookie(&response).unwrap();
                assert_ne!(cookie.value(), "malformed");
                assert!(is_removal(&cookie));
            }

            #[tokio::test]
            async fn insert_session() {
                let response = get_with(&app(hour(), None), "/insert", None).await;
                let cookie = set_cookie(&response).unwrap();
                assert_eq!(cookie.name(), "id");
                assert_eq!(cookie.http_only(), Some(true));
                assert_eq!(cookie.same_site(), Some(SameSite::Strict));
                assert!(max_age_secs(&cookie).is_some_and(|secs| secs <= 3600));
                assert_eq!(cookie.secure(), Some(true));
                assert_eq!(cookie.path(), Some("/"));
            }

            #[tokio::test]
            async fn session_max_age() {
                let response = get_with(&app(None, None), "/insert", None).await;
                let cookie = set_cookie(&response).unwrap();
                assert_eq!(cookie.max_age(), None);
                assert_eq!(cookie.http_only(), Some(true));
                assert_eq!(cookie.secure(), Some(true));
            }

            #[tokio::test]
            async fn get_session() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let response = browser.get(&app, "/get").await;
                assert_eq!(response.status(), StatusCode::OK);
                assert_eq!(body_string(response).await, "42");
            }

            #[tokio::test]
            async fn get_no_value() {
                let response = get_with(&app(hour(), None), "/get_value", None).await;
                assert_eq!(body_string(response).await, "None");
            }

            #[tokio::test]
            async fn remove_last_value() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                browser.get(&app, "/remove_value").await;
                let response = browser.get(&app, "/get_value").await;
                assert_eq!(body_string(response).await, "None");
            }

            #[tokio::test]
            async fn remove_typed() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let response = browser.get(&app, "/remove").await;
                assert!(
                    set_cookie(&response).is_some(),
                    "removing re-emits the cookie"
                );
                let response = browser.get(&app, "/get_value").await;
                assert_eq!(body_string(response).await, "None");
            }

            #[tokio::test]
            async fn cycle_session_id() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                let first = set_cookie(&browser.get(&app, "/insert").await).unwrap();
                let id_before = body_string(browser.get(&app, "/id").await).await;
                let second = set_cookie(&browser.get(&app, "/cycle_id").await).unwrap();
                assert_ne!(first.value(), second.value());
                let id_after = body_string(browser.get(&app, "/id").await).await;
                assert_ne!(id_before, id_after);
                assert!(id_after.starts_with("Some("));
                let response = browser.get(&app, "/get").await;
                assert_eq!(body_string(response).await, "42");
            }

            #[tokio::test]
            async fn flush_session() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let cookie = set_cookie(&browser.get(&app, "/flush").await).unwrap();
                assert_eq!(cookie.value(), "");
                assert_eq!(cookie.max_age(), Some(Duration::ZERO));
                assert_eq!(cookie.path(), Some("/"));
                let response = browser.get(&app, "/get_value").await;
                assert_eq!(body_string(response).await, "None");
            }

            #[tokio::test]
            async fn flush_with_domain() {
                let app = app(hour(), Some("localhost"));
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let cookie = set_cookie(&browser.get(&app, "/flush").await).unwrap();
                assert_eq!(cookie.value(), "");
                assert_eq!(cookie.max_age(), Some(Duration::ZERO));
                assert_eq!(cookie.domain(), Some("localhost"));
                assert_eq!(cookie.path(), Some("/"));
            }

            #[tokio::test]
            async fn set_expiry() {
                let app = app(hour(), Some("localhost"));
                let mut browser = Browser::default();
                let cookie = set_cookie(&browser.get(&app, "/insert").await).unwrap();
                let secs = max_age_secs(&cookie).unwrap();
                assert!((3599..=3601).contains(&secs), "{secs}");
                let cookie = set_cookie(&browser.get(&app, "/set_expiry").await).unwrap();
                let secs = max_age_secs(&cookie).unwrap();
                assert!((86399..=86401).contains(&secs), "{secs}");
            }

            #[tokio::test]
            async fn change_expiry_type() {
                let app_none = app(None, None);
                let mut browser = Browser::default();
                let cookie = set_cookie(&browser.get(&app_none, "/insert").await).unwrap();
                assert_eq!(cookie.max_age(), None);
                let cookie = set_cookie(&browser.get(&app_none, "/set_expiry").await).unwrap();
                let secs = max_age_secs(&cookie).unwrap();
                assert!((86399..=86401).contains(&secs), "{secs}");

                let app_hour = app(hour(), None);
                let mut browser = Browser::default();
                let cookie = set_cookie(&browser.get(&app_hour, "/insert").await).unwrap();
                let secs = max_age_secs(&cookie).unwrap();
                assert!((3599..=3601).contains(&secs), "{secs}");
                let cookie = set_cookie(&browser.get(&app_hour, "/remove_expiry").await).unwrap();
                assert_eq!(cookie.max_age(), None);
            }

            #[tokio::test]
            async fn unchanged_session_sets_no_cookie() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let response = browser.get(&app, "/insert_same").await;
                assert!(set_cookies(&response).is_empty());
                let response = browser.get(&app, "/get").await;
                assert!(set_cookies(&response).is_empty());
            }

            #[tokio::test]
            async fn client_errors_save_server_errors_do_not() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                let response = browser.get(&app, "/insert_then_400").await;
                assert_eq!(response.status(), StatusCode::BAD_REQUEST);
                assert!(set_cookie(&response).is_some());
                let response = browser.get(&app, "/insert_then_500").await;
                assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
                assert!(set_cookies(&response).is_empty());
                let response = browser.get(&app, "/get").await;
                assert_eq!(body_string(response).await, "42");
            }

            #[tokio::test]
            async fn clear_keeps_the_id_and_re_emits() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let id_before = body_string(browser.get(&app, "/id").await).await;
                let cookie = set_cookie(&browser.get(&app, "/clear").await).unwrap();
                assert!(!is_removal(&cookie));
                assert_eq!(
                    body_string(browser.get(&app, "/get_value").await).await,
                    "None"
                );
                assert_eq!(body_string(browser.get(&app, "/id").await).await, id_before);
                assert_eq!(
                    body_string(browser.get(&app, "/is_empty").await).await,
                    "false"
                );
            }

            #[tokio::test]
            async fn remove_of_a_missing_key_re_emits() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                browser.get(&app, "/remove_value").await;
                let response = browser.get(&app, "/remove_value").await;
                assert!(set_cookie(&response).is_some());
            }

            #[tokio::test]
            async fn flush_then_insert_keeps_only_the_new_data() {
                let app = app(hour(), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let cookie = set_cookie(&browser.get(&app, "/flush_then_insert").await).unwrap();
                assert!(!is_removal(&cookie));
                assert_eq!(
                    body_string(browser.get(&app, "/get_value").await).await,
                    "None"
                );
                assert_eq!(
                    body_string(browser.get(&app, "/is_empty").await).await,
                    "false"
                );
            }

            #[tokio::test]
            async fn cycle_id_of_an_empty_session_sets_nothing() {
                let response = get_with(&app(hour(), None), "/cycle_id", None).await;
                assert!(set_cookies(&response).is_empty());
            }

            #[tokio::test]
            async fn empty_without_cookie_and_reads_do_not_modify() {
                let app = app(hour(), None);
                assert_eq!(
                    body_string(get_with(&app, "/is_empty", None).await).await,
                    "true"
                );
                let response = get_with(&app, "/modified_after_get", None).await;
                assert_eq!(body_string(response).await, "false");
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                assert_eq!(
                    body_string(browser.get(&app, "/is_empty").await).await,
                    "false"
                );
            }

            #[tokio::test]
            async fn expired_session_is_gone() {
                let app = app(Some(Expiry::OnInactivity(Duration::seconds(1))), None);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
                let response = browser.get(&app, "/get_value").await;
                assert_eq!(body_string(response).await, "None");
            }

            #[tokio::test]
            async fn attributes_follow_the_builders() {
                let layer = $layer
                    .with_name("my.sid")
                    .with_http_only(false)
                    .with_same_site(SameSite::Lax)
                    .with_secure(false)
                    .with_path("/foo")
                    .with_domain("example.com");
                let app = routes().layer(layer);
                let cookie = set_cookie(&get_with(&app, "/insert", None).await).unwrap();
                assert_eq!(cookie.name(), "my.sid");
                assert_eq!(cookie.http_only(), None);
                assert_eq!(cookie.same_site(), Some(SameSite::Lax));
                assert_eq!(cookie.secure(), None);
                assert_eq!(cookie.path(), Some("/foo"));
                assert_eq!(cookie.domain(), Some("example.com"));
            }

            #[tokio::test]
            async fn always_save_keeps_the_id_and_re_emits() {
                let layer = $layer
                    .with_always_save(true)
                    .with_expiry(Expiry::OnInactivity(Duration::hours(2)));
                let app = routes().layer(layer);
                let mut browser = Browser::default();
                browser.get(&app, "/insert").await;
                let id_before = body_string(browser.get(&app, "/id").await).await;
                let response = browser.get(&app, "/get").await;
                let cookie = set_cookie(&response).expect("always_save re-emits");
                let secs = max_age_secs(&cookie).unwrap();
                assert!((7199..=7201).contains(&secs), "{secs}");
                assert_eq!(body_string(browser.get(&app, "/id").await).await, id_before);
            }
        }
    };
}

conformance_suite!(
    upstream_memory_store,
    tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
);

conformance_suite!(
    sealed_cookie,
    tower_sessions_sealed::SessionManagerLayer::new(tower_sessions_sealed::KeyRing::generate())
);

conformance_suite!(
    sealed_cookie_rotated_ring,
    tower_sessions_sealed::SessionManagerLayer::new(
        "0b8yTyWmc2NI0LlPzc3vDkQqfT64sOWn5jH1oWc0DRg,\
         4e9e4c0a4f0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2"
            .parse::<tower_sessions_sealed::KeyRing>()
            .unwrap()
    )
);
