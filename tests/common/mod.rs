//! Shared helpers for the integration tests: the routes upstream's test suite uses, and
//! small functions to send requests and read cookies.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use axum::routing::get;
use cookie::Cookie;
use http_body_util::BodyExt as _;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;
use tower_sessions_sealed::{Expiry, Session};

/// Upstream's integration routes, plus a few more used by this crate's tests.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(|_: Session| async move { "Hello, world!" }))
        .route(
            "/insert",
            get(|session: Session| async move {
                session.insert("foo", 42).await.unwrap();
            }),
        )
        .route(
            "/get",
            get(|session: Session| async move {
                format!("{}", session.get::<usize>("foo").await.unwrap().unwrap())
            }),
        )
        .route(
            "/get_value",
            get(|session: Session| async move {
                format!("{:?}", session.get_value("foo").await.unwrap())
            }),
        )
        .route(
            "/remove",
            get(|session: Session| async move {
                session.remove::<usize>("foo").await.unwrap();
            }),
        )
        .route(
            "/remove_value",
            get(|session: Session| async move {
                session.remove_value("foo").await.unwrap();
            }),
        )
        .route(
            "/cycle_id",
            get(|session: Session| async move {
                session.cycle_id().await.unwrap();
            }),
        )
        .route(
            "/flush",
            get(|session: Session| async move {
                session.flush().await.unwrap();
            }),
        )
        .route(
            "/set_expiry",
            get(|session: Session| async move {
                let expiry = Expiry::AtDateTime(OffsetDateTime::now_utc() + Duration::days(1));
                session.set_expiry(Some(expiry));
            }),
        )
        .route(
            "/remove_expiry",
            get(|session: Session| async move {
                session.set_expiry(Some(Expiry::OnSessionEnd));
            }),
        )
        .route(
            "/id",
            get(|session: Session| async move {
                session.get_value("foo").await.unwrap();
                format!("{:?}", session.id())
            }),
        )
        .route(
            "/counter",
            get(|session: Session| async move {
                let n: u64 = session.get("n").await.unwrap().unwrap_or(0);
                session.insert("n", n + 1).await.unwrap();
                (n + 1).to_string()
            }),
        )
}

/// Sends a GET to `app` with an optional `Cookie` header.
pub async fn get_with(app: &Router, path: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::builder().uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

/// Every `Set-Cookie` of a response, parsed.
pub fn set_cookies(response: &Response<Body>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| Cookie::parse(value.to_str().unwrap().to_owned()).unwrap())
        .collect()
}

/// The single `Set-Cookie` of a response, if there is one (panics on more than one).
pub fn set_cookie(response: &Response<Body>) -> Option<Cookie<'static>> {
    let mut all = set_cookies(response);
    assert!(all.len() <= 1, "more than one Set-Cookie: {all:?}");
    all.pop()
}

/// `name=value` for a `Cookie` request header.
pub fn pair(cookie: &Cookie<'_>) -> String {
    format!("{}={}", cookie.name(), cookie.value())
}

/// Whether a `Set-Cookie` removes the cookie.
pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(Duration::ZERO)
}

pub async fn body_string(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub fn status(response: &Response<Body>) -> StatusCode {
    response.status()
}

/// Log lines written while a closure runs, at every level, by every crate.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's global subscriber in a test binary that captures logs: it records nothing
/// but never answers "never", so a callsite caches `sometimes` and asks the current thread's
/// subscriber (a capture) on every event, whichever test thread hit it first. Without it, a
/// callsite first hit by a thread with no subscriber while another test was installing its
/// capture could cache "never" after that capture's interest rebuild, and the capture
/// would miss the event.
struct AskEveryTime;

impl tracing::Subscriber for AskEveryTime {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Captured {
    pub fn install(&self) -> CaptureGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            // Fails only if something else set one, which then decides interest instead.
            let _ = tracing::subscriber::set_global_default(AskEveryTime);
        });
        // One capture at a time in a test binary: scoped dispatchers of parallel tests
        // would otherwise change each other's callsite interest.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let serial = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // Callsites first hit by a test thread without a subscriber cache "never"; ask
        // them again now that this thread has one.
        tracing::callsite::rebuild_interest_cache();
        CaptureGuard {
            _default: guard,
            _serial: serial,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Keeps a [`Captured`] subscriber installed on this thread until dropped.
pub struct CaptureGuard {
    _default: tracing::subscriber::DefaultGuard,
    _serial: std::sync::MutexGuard<'static, ()>,
}
