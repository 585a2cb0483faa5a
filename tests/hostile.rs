//! Hostile input at the HTTP boundary: oversized and numerous cookies, many `Cookie`
//! headers, non-UTF-8 bytes, values the application cannot seal, and secrets in logs.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::routing::get;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_sessions_sealed::{Key, KeyRing, Session, SessionManagerLayer};

use common::*;

fn keys() -> Arc<KeyRing> {
    Arc::new(KeyRing::generate())
}

fn app(keys: &Arc<KeyRing>) -> Router {
    routes()
        .route(
            "/deep/{n}",
            get(
                |session: Session, axum::extract::Path(n): axum::extract::Path<usize>| async move {
                    let value = (0..n).fold(json!(1), |v, _| json!([v]));
                    session.insert("deep", value).await.unwrap();
                    match session.save().await {
                        Ok(()) => "saved".to_owned(),
                        Err(err) => {
                            session.remove_value("deep").await.unwrap();
                            format!("refused: {err}")
                        }
                    }
                },
            ),
        )
        .route(
            "/deep_unhandled",
            get(|session: Session| async move {
                let value = (0..200).fold(json!(1), |v, _| json!([v]));
                session.insert("deep", value).await.unwrap();
            }),
        )
        .layer(SessionManagerLayer::new(Arc::clone(keys)))
}

async fn request(app: &Router, headers: Vec<HeaderValue>) -> axum::http::Response<Body> {
    let mut request = Request::builder().uri("/id");
    for value in headers {
        request = request.header(header::COOKIE, value);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn huge_numerous_and_odd_cookies_are_a_fresh_session() {
    let keys = keys();
    let app = app(&keys);
    let megabyte = "A".repeat(1 << 20);
    let cases: Vec<(&str, Vec<HeaderValue>)> = vec![
        (
            "1 MB value",
            vec![HeaderValue::from_str(&format!("id={megabyte}")).unwrap()],
        ),
        (
            "1 MB of other cookies",
            vec![HeaderValue::from_str(&format!("junk={megabyte}; id=x")).unwrap()],
        ),
        (
            "500 cookies named id",
            vec![HeaderValue::from_str(&vec!["id=AAAA"; 500].join("; ")).unwrap()],
        ),
        (
            "1000 other cookies",
            vec![
                HeaderValue::from_str(
                    &(0..1000)
                        .map(|i| format!("c{i}=v{i}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
                .unwrap(),
            ],
        ),
        (
            "300 Cookie headers",
            (0..300)
                .map(|i| HeaderValue::from_str(&format!("id=v{i}")).unwrap())
                .collect(),
        ),
        (
            "non-UTF-8 bytes",
            vec![HeaderValue::from_bytes(b"a=\xff\xfe; id=\xc3\x28garbage; b=\x80").unwrap()],
        ),
        ("no name", vec![HeaderValue::from_static("=x; ; ;=; id")]),
    ];
    for (what, headers) in cases {
        let response = request(&app, headers).await;
        assert_eq!(response.status(), StatusCode::OK, "{what}");
        for set in set_cookies(&response) {
            assert!(is_removal(&set), "{what}: only a removal may be sent");
        }
        assert_eq!(body_string(response).await, "None", "{what}");
    }
}

#[tokio::test]
async fn a_valid_cookie_is_found_among_junk_and_in_split_headers() {
    let keys = keys();
    let app = app(&keys);
    let cookie = set_cookie(&get_with(&app, "/insert", None).await).unwrap();
    let junk = (0..200)
        .map(|i| format!("c{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers: Vec<HeaderValue> = (0..20)
        .map(|i| {
            HeaderValue::from_str(&format!("x{i}=\u{7f}"))
                .unwrap_or(HeaderValue::from_static("y=1"))
        })
        .collect();
    headers.push(HeaderValue::from_bytes(b"bin=\xff\xfe").unwrap());
    headers.push(HeaderValue::from_str(&format!("{junk}; {}", pair(&cookie))).unwrap());
    let response = request(&app, headers).await;
    assert!(set_cookies(&response).is_empty());
    assert!(body_string(response).await.starts_with("Some("));
}

/// At most four cookies with the session's name are tried, whatever the request holds:
/// the work per request is bounded. Counted through the debug events of rejected cookies.
#[tokio::test]
async fn work_per_request_is_bounded() {
    let keys = keys();
    let app = app(&keys);
    let forged = keys
        .seal(
            "id",
            &tower_sessions_sealed::SealedRecord::new(tower_sessions_sealed::Record {
                id: tower_sessions_sealed::Id(1),
                data: Default::default(),
                expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            }),
        )
        .unwrap();
    // Same length as a real one, one byte off: each costs a full AEAD open.
    let mut bytes = forged.into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).unwrap();
    let header = vec![format!("id={forged}"); 1000].join("; ");

    let captured = Captured::default();
    let response = {
        let _guard = captured.install();
        request(&app, vec![HeaderValue::from_str(&header).unwrap()]).await
    };
    assert_eq!(response.status(), StatusCode::OK);
    let log = captured.text();
    let rejected = log.matches("session cookie rejected").count();
    assert!(
        (1..=4).contains(&rejected),
        "{rejected} cookies were opened"
    );
    assert!(log.contains("too many session cookies"));
}

#[tokio::test]
async fn values_nested_too_deep_are_refused_at_save_time() {
    let keys = keys();
    let app = app(&keys);
    let response = get_with(&app, "/deep/64", None).await;
    let cookie = set_cookie(&response).unwrap();
    assert_eq!(body_string(response).await, "saved");
    // What was sealed opens again.
    assert!(keys.open("id", cookie.value()).is_some());

    let response = get_with(&app, "/deep/65", None).await;
    let body = body_string(response).await;
    assert!(
        body.starts_with("refused: ") && body.contains("deeper than 64"),
        "{body}"
    );

    let response = get_with(&app, "/deep_unhandled", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
}

/// A full request cycle (write, read, rotation, flush, a tampered cookie, an oversize
/// session) with every crate logging at TRACE: no key, cookie value or payload appears.
#[tokio::test]
async fn no_secret_reaches_the_logs_or_debug_output() {
    let old_key = Key::generate().to_base64();
    let new_key = Key::generate().to_base64();
    let old: KeyRing = old_key.parse().unwrap();
    let rotated: KeyRing = format!("{},{}", *new_key, *old_key).parse().unwrap();
    let secret_payload = "payload-Zq9XkV-must-not-be-logged";

    let route = |keys: KeyRing| {
        Router::new()
            .route(
                "/write",
                get(move |session: Session| async move {
                    session.insert("secret", secret_payload).await.unwrap();
                }),
            )
            .route(
                "/read",
                get(|session: Session| async move {
                    let value: Option<Value> = session.get("secret").await.unwrap();
                    value.is_some().to_string()
                }),
            )
            .route(
                "/big",
                get(|session: Session| async move {
                    session.insert("big", "y".repeat(6000)).await.unwrap();
                }),
            )
            .route(
                "/flush",
                get(|session: Session| async move { session.flush().await.unwrap() }),
            )
            .layer(SessionManagerLayer::new(keys))
    };
    let before = route(old);
    let after = route(rotated);

    let captured = Captured::default();
    let mut cookie_values = Vec::new();
    {
        let _guard = captured.install();
        let written = set_cookie(&get_with(&before, "/write", None).await).unwrap();
        cookie_values.push(written.value().to_owned());
        let jar = pair(&written);
        let read = get_with(&after, "/read", Some(&jar)).await;
        let resealed = set_cookie(&read).unwrap();
        cookie_values.push(resealed.value().to_owned());
        assert_eq!(body_string(read).await, "true");
        let tampered = format!("id={}x", written.value());
        get_with(&after, "/read", Some(&tampered)).await;
        let big = get_with(&after, "/big", Some(&pair(&resealed))).await;
        assert_eq!(big.status(), StatusCode::INTERNAL_SERVER_ERROR);
        get_with(&after, "/flush", Some(&pair(&resealed))).await;
        tracing::debug!(layer = ?after, "debug output of the router");
    }
    let log = captured.text();
    assert!(
        log.contains("session cookie rejected"),
        "capture works:\n{log}"
    );
    assert!(log.contains("3072"), "the oversize error is logged:\n{log}");

    let mut secrets = vec![
        secret_payload.to_owned(),
        old_key.to_string(),
        new_key.to_string(),
        "y".repeat(64),
    ];
    for key in [&old_key, &new_key] {
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            key.as_bytes(),
        )
        .unwrap();
        secrets.push(hex::encode(&bytes));
        secrets.push(
            format!("{:?}", &bytes[..8])
                .trim_end_matches(']')
                .to_owned(),
        );
    }
    for value in &cookie_values {
        secrets.push(value.clone());
        secrets.push(value[..24].to_owned());
    }
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "{secret} appears in the logs:\n{log}"
        );
    }

    // Debug output of the crate's own types.
    let ring: KeyRing = format!("{},{}", *new_key, *old_key).parse().unwrap();
    let layer = SessionManagerLayer::new(KeyRing::generate());
    let debug = format!("{ring:?} {ring:#?} {layer:?} {:?}", Key::generate());
    for secret in [old_key.as_str(), new_key.as_str()] {
        assert!(!debug.contains(secret));
    }
}
