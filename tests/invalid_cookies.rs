//! Any cookie that does not open (garbage, tampered, unknown key, other version, expired,
//! another cookie's value, duplicates) gives a fresh empty session, never a 4xx/5xx, and is
//! removed; `Session::id()` never reports an unauthenticated id.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};
use tower_sessions_sealed::{Id, KeyRing, Record, SealedRecord, SessionManagerLayer};

use common::*;

fn record(id: i128) -> SealedRecord {
    let mut data = HashMap::new();
    data.insert("foo".to_owned(), serde_json::json!(id as i64));
    SealedRecord::new(Record {
        id: Id(id),
        data,
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    })
}

fn tweak(value: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
    f(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn every_kind_of_bad_cookie_is_a_fresh_session_and_removed() {
    let keys = Arc::new(KeyRing::generate());
    let app = routes().layer(SessionManagerLayer::new(Arc::clone(&keys)));
    let good = keys.seal("id", &record(1)).unwrap();
    let expired = keys
        .seal(
            "id",
            &SealedRecord::new(Record {
                id: Id(2),
                data: HashMap::new(),
                expiry_date: OffsetDateTime::now_utc() - Duration::seconds(5),
            }),
        )
        .unwrap();
    let bad = [
        "garbage".to_owned(),
        String::new(),
        "AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        tweak(&good, |b| b[0] = 2),                       // other version
        tweak(&good, |b| b[1] ^= 1),                      // unknown kid
        tweak(&good, |b| *b.last_mut().unwrap() ^= 0x80), // tag
        tweak(&good, |b| b[40] ^= 1),                     // ciphertext
        tweak(&good, |b| b.truncate(b.len() - 1)),        // truncated
        tweak(&good, |b| b.push(0)),                      // extended
        KeyRing::generate().seal("id", &record(3)).unwrap(), // another key
        keys.seal("other", &record(4)).unwrap(),          // another cookie's value
        format!("{good}="),
        expired,
        "A".repeat(5000),
    ];
    for value in bad {
        let header = format!("id={value}");
        let response = get_with(&app, "/id", Some(&header)).await;
        assert_eq!(response.status(), 200, "{header}");
        let removal = set_cookie(&response).unwrap_or_else(|| panic!("removal for {header}"));
        assert!(is_removal(&removal));
        assert_eq!(body_string(response).await, "None", "{header}");

        // A handler that writes gets a brand-new session instead.
        let response = get_with(&app, "/counter", Some(&header)).await;
        let cookie = set_cookie(&response).unwrap();
        assert!(!is_removal(&cookie));
        assert_eq!(body_string(response).await, "1");
    }
}

#[tokio::test]
async fn a_good_cookie_beside_garbage_with_the_same_name_wins() {
    let keys = Arc::new(KeyRing::generate());
    let app = routes().layer(SessionManagerLayer::new(Arc::clone(&keys)));
    let good = keys.seal("id", &record(1)).unwrap();
    for header in [format!("id=junk; id={good}"), format!("id={good}; id=junk")] {
        let response = get_with(&app, "/get_value", Some(&header)).await;
        assert!(set_cookies(&response).is_empty(), "{header}");
        assert_eq!(body_string(response).await, "Some(Number(1))");
    }
    // Split across Cookie headers, as HTTP/2 does.
    let request = axum::http::Request::builder()
        .uri("/get_value")
        .header("cookie", "a=1")
        .header("cookie", format!("id={good}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(body_string(response).await, "Some(Number(1))");
}

/// Cookie tossing: a sibling subdomain plants its own authentic session under our name.
/// Neither session is used, so the victim never acts in the attacker's session and the two
/// are never merged.
#[tokio::test]
async fn two_authentic_sessions_under_one_name_are_both_ignored() {
    let keys = Arc::new(KeyRing::generate());
    let app = routes().layer(SessionManagerLayer::new(Arc::clone(&keys)));
    let victim = keys.seal("id", &record(1)).unwrap();
    let attacker = keys.seal("id", &record(2)).unwrap();
    for header in [
        format!("id={attacker}; id={victim}"),
        format!("id={victim}; id={attacker}"),
    ] {
        let response = get_with(&app, "/id", Some(&header)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_string(response).await, "None");
    }
    // Two copies of the same session are not a conflict.
    let header = format!("id={victim}; id={victim}");
    let response = get_with(&app, "/get_value", Some(&header)).await;
    assert_eq!(body_string(response).await, "Some(Number(1))");
}
