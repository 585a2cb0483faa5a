//! Whole requests through `SessionManagerLayer` with arbitrary `Cookie` headers.
//!
//! Input format (see `parse_header_input`): an optional leading `+` picks the route that
//! inserts `foo`, else the read-only route; the rest is up to 8 header values separated by
//! `\n`, where `@<digit>` splices in a fixture cookie value (valid, rotated, expired,
//! sealed for another name, or under a foreign key). Header values `http` refuses are
//! skipped; the rest may be any bytes, including non-UTF-8 and duplicate names.
//!
//! Checked: no panic; status 200; the handler's session is exactly the one the documented
//! rules give (the first authentic cookie among the first 4 named `id`, none if those carry
//! different ids), so always either a fixture session or a fresh one; every `Set-Cookie`
//! fits in 4096 bytes, and one that sets a value carries that same session (or, on the
//! inserting route, a new one holding `foo = 42`).
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use cookie::Cookie;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use tower_sessions_sealed::MAX_SET_COOKIE_LEN;
use tower_sessions_sealed_fuzz::{
    COOKIE_NAME, expected_session, parse_header_input, ring, test_app, valid_ids,
};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(test_app)
}

fuzz_target!(|data: &[u8]| {
    let input = parse_header_input(data);
    let mut request = Request::builder().uri(if input.insert { "/insert" } else { "/read" });
    let mut sent: Vec<&[u8]> = Vec::new();
    for raw in &input.headers {
        if let Ok(value) = HeaderValue::from_bytes(raw) {
            request = request.header(COOKIE, value);
            sent.push(raw);
        }
    }
    let request = request.body(Body::empty()).expect("request");
    let now = OffsetDateTime::now_utc();
    let (expected, authentic_ids) = expected_session(&sent, now);

    let response = runtime().block_on(async {
        let response = app().clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let set_cookies: Vec<Vec<u8>> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, set_cookies, body)
    });
    let (status, set_cookies, body) = response;

    assert_eq!(status, StatusCode::OK, "body: {body:?}");
    let body = std::str::from_utf8(&body).expect("UTF-8 body");
    let (seen_id, seen_foo) = body.split_once(' ').expect("`id foo` body");

    let valid = valid_ids(now);
    if authentic_ids.len() > 1 {
        assert_eq!(
            seen_id, "-",
            "several authentic ids {authentic_ids:?}, yet a session"
        );
    }
    match &expected {
        Some(sealed) => {
            assert!(valid.contains(&sealed.record.id.0));
            assert_eq!(seen_id, sealed.record.id.0.to_string());
            let value = sealed.record.data.get("foo");
            assert_eq!(
                seen_foo,
                value.map_or_else(|| "-".to_owned(), |v| v.to_string())
            );
        }
        None => assert_eq!(body, "- -", "a session appeared from nowhere"),
    }

    for raw in &set_cookies {
        assert!(
            raw.len() <= MAX_SET_COOKIE_LEN,
            "Set-Cookie of {} bytes",
            raw.len()
        );
        let text = std::str::from_utf8(raw).expect("ASCII Set-Cookie");
        let cookie = Cookie::parse(text).expect("well-formed Set-Cookie");
        assert_eq!(cookie.name(), COOKIE_NAME);
        if cookie.value().is_empty() {
            continue; // removal
        }
        let sealed = ring()
            .open_at(COOKIE_NAME, cookie.value(), now)
            .expect("the layer's own cookie opens");
        if input.insert {
            assert_eq!(sealed.record.data.get("foo"), Some(&json!(42)));
            if let Some(expected) = &expected {
                assert_eq!(
                    sealed.record.id, expected.record.id,
                    "insert changed the id"
                );
            }
        } else {
            // A re-seal (rotated key): same session, same data; the expiry is renewed.
            let expected = expected.as_ref().expect("a cookie set for no session");
            assert_eq!(
                sealed.record.id, expected.record.id,
                "re-sealed under another id"
            );
            assert!(
                sealed.record.data == expected.record.data,
                "re-sealed data differs"
            );
        }
    }
    if input.insert {
        assert_eq!(
            set_cookies.len(),
            1,
            "inserting must set exactly one cookie"
        );
    }
});
