//! Key rotation: cookies sealed under an older key of the ring open and are re-sealed under
//! the newest key on that response; a key dropped from the ring ends its sessions.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tower_sessions_sealed::{KeyRing, SessionManagerLayer};

use common::*;

const OLD: &str = "0b8yTyWmc2NI0LlPzc3vDkQqfT64sOWn5jH1oWc0DRg";
const NEW: &str = "4e9e4c0a4f0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2";

fn ring(text: &str) -> Arc<KeyRing> {
    Arc::new(text.parse().unwrap())
}

fn kid(cookie_value: &str) -> [u8; 4] {
    let bytes = URL_SAFE_NO_PAD.decode(cookie_value).unwrap();
    bytes[1..5].try_into().unwrap()
}

#[tokio::test]
async fn staged_rotation_logs_nobody_out() {
    // Stage 0: only the old key.
    let before = routes().layer(SessionManagerLayer::new(ring(OLD)));
    let cookie = set_cookie(&get_with(&before, "/insert", None).await).unwrap();
    let old_kid = ring(OLD).key_ids().next().unwrap();
    let new_kid = ring(NEW).key_ids().next().unwrap();
    assert_eq!(kid(cookie.value()), old_kid);

    // Stage 1: the new key is added second everywhere: accepted, not used to seal.
    let stage1 = routes().layer(SessionManagerLayer::new(ring(&format!("{OLD},{NEW}"))));
    let response = get_with(&stage1, "/get", Some(&pair(&cookie))).await;
    assert!(
        set_cookies(&response).is_empty(),
        "no re-seal while the old key is first"
    );
    assert_eq!(body_string(response).await, "42");

    // Stage 2: the new key is promoted. A read-only request re-seals under it.
    let stage2 = routes().layer(SessionManagerLayer::new(ring(&format!("{NEW},{OLD}"))));
    let response = get_with(&stage2, "/get", Some(&pair(&cookie))).await;
    let resealed = set_cookie(&response).expect("re-sealed under the newest key");
    assert_eq!(body_string(response).await, "42");
    assert_eq!(kid(resealed.value()), new_kid);
    assert_ne!(resealed.value(), cookie.value());

    // The id survives the re-seal.
    let id_old = body_string(get_with(&stage2, "/id", Some(&pair(&cookie))).await).await;
    let id_new = body_string(get_with(&stage2, "/id", Some(&pair(&resealed))).await).await;
    assert_eq!(id_old, id_new);
    assert!(id_new.starts_with("Some("));

    // Stage 3: the old key is dropped. Re-sealed cookies work, old ones are fresh sessions.
    let stage3 = routes().layer(SessionManagerLayer::new(ring(NEW)));
    let response = get_with(&stage3, "/get", Some(&pair(&resealed))).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_string(response).await, "42");
    let response = get_with(&stage3, "/get_value", Some(&pair(&cookie))).await;
    assert!(set_cookie(&response).is_some_and(|c| is_removal(&c)));
    assert_eq!(body_string(response).await, "None");
}

#[tokio::test]
async fn a_write_under_a_rotated_key_seals_under_the_newest() {
    let before = routes().layer(SessionManagerLayer::new(ring(OLD)));
    let cookie = set_cookie(&get_with(&before, "/insert", None).await).unwrap();
    let after = routes().layer(SessionManagerLayer::new(ring(&format!("{NEW},{OLD}"))));
    let response = get_with(&after, "/counter", Some(&pair(&cookie))).await;
    let written = set_cookie(&response).unwrap();
    assert_eq!(kid(written.value()), ring(NEW).key_ids().next().unwrap());
    let response = get_with(&after, "/get", Some(&pair(&written))).await;
    assert_eq!(body_string(response).await, "42");
}
