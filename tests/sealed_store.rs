//! `SealedStore` on every real backend (MemoryStore, SQLite, PostgreSQL and Redis servers),
//! under tower-sessions' own `SessionManagerLayer` 0.14: round trips of every value kind,
//! no plaintext in what the backend holds, and records that were moved, extended, truncated
//! or bit-flipped in the backend do not open; rotation; the plaintext migration mode.

#[path = "support/backends.rs"]
mod backends;

mod common;

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use backends::{postgres, redis, sqlite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{body_string, get_with, set_cookies};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::SessionStore;
use tower_sessions_redis_store::fred::prelude::{KeysInterface as _, Pool};
use tower_sessions_sealed::{Key, KeyRing, SealedStore};
use tower_sessions_sqlx_store::sqlx::{self, PgPool, SqlitePool};

/// A string that must never appear in what the backend stores.
const MARKER: &str = "MARKER-7f3a-plaintext-must-not-leak";
/// The data key of a sealed record (documented on `SealedStore`).
const SEALED_KEY: &str = "tower-sessions-sealed.record";

/// Every kind of value the cookie path round-trips.
fn values() -> Value {
    json!({
        "null": null, "t": true, "f": false,
        "u": u64::MAX, "i": i64::MIN, "zero": 0, "neg0": -0.0, "big": f64::MAX,
        "tiny": f64::MIN_POSITIVE, "sub": 5e-324, "s": "héllo ✓ 🎉 \u{0}",
        "bytes": [0, 1, 255, 128],
        "nested": {"a": [1, [2, {"b": []}], {}], "ключ": "значение", "marker": MARKER}
    })
}

fn app<S: SessionStore + Clone>(store: SealedStore<S>) -> Router {
    Router::new()
        .route(
            "/put",
            get(|session: Session| async move {
                session.insert("v", values()).await.unwrap();
                session.insert("marker", MARKER).await.unwrap();
            }),
        )
        .route(
            "/get",
            get(|session: Session| async move {
                let v = session.get_value("v").await.unwrap();
                serde_json::to_string(&v).unwrap()
            }),
        )
        .layer(SessionManagerLayer::new(store).with_secure(false))
}

fn ring(keys: &[&[u8; 32]]) -> KeyRing {
    KeyRing::new(
        keys.iter()
            .map(|k| Key::try_from(&k[..]).unwrap())
            .collect(),
    )
    .unwrap()
}

const KEY_A: &[u8; 32] = &[0xa5; 32];
const KEY_B: &[u8; 32] = &[0x5b; 32];

fn record(data: Value) -> Record {
    let Value::Object(map) = data else {
        unreachable!()
    };
    Record {
        id: Id::default(),
        data: map.into_iter().collect::<HashMap<_, _>>(),
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    }
}

/// How a test reads what a backend really holds for an id (the raw row or value).
trait RawBytes {
    async fn raw(&self, id: Id) -> Vec<u8>;
}

struct NoRaw;
impl RawBytes for NoRaw {
    async fn raw(&self, _: Id) -> Vec<u8> {
        Vec::new()
    }
}

impl RawBytes for SqlitePool {
    async fn raw(&self, id: Id) -> Vec<u8> {
        sqlx::query_scalar::<_, Vec<u8>>("select data from tower_sessions where id = ?")
            .bind(id.to_string())
            .fetch_one(self)
            .await
            .unwrap()
    }
}

impl RawBytes for PgPool {
    async fn raw(&self, id: Id) -> Vec<u8> {
        sqlx::query_scalar::<_, Vec<u8>>(
            r#"select data from "tower_sessions"."session" where id = $1"#,
        )
        .bind(id.to_string())
        .fetch_one(self)
        .await
        .unwrap()
    }
}

impl RawBytes for Pool {
    async fn raw(&self, id: Id) -> Vec<u8> {
        let value: Option<Vec<u8>> = self.get(id.to_string()).await.unwrap();
        value.unwrap()
    }
}

/// Through tower-sessions' layer: every value kind round-trips, and neither the raw value
/// the backend holds nor the inner store's record contains the marker.
async fn round_trip<S: SessionStore + Clone>(inner: S, raw: impl RawBytes) {
    let app = app(SealedStore::new(inner.clone(), ring(&[KEY_A])));
    let response = get_with(&app, "/put", None).await;
    let cookie = set_cookies(&response)
        .pop()
        .expect("tower-sessions sets its id cookie");
    let pair = format!("{}={}", cookie.name(), cookie.value());
    // tower-sessions' cookie value is the session id.
    let id: Id = cookie.value().parse().unwrap();

    let response = get_with(&app, "/get", Some(&pair)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let back: Value = serde_json::from_str(&body_string(response).await).unwrap();
    assert_eq!(back, values());

    let stored = inner
        .load(&id)
        .await
        .unwrap()
        .expect("the inner store holds it");
    assert_eq!(stored.data.len(), 1);
    assert!(stored.data.contains_key(SEALED_KEY));
    let stored_text = serde_json::to_string(&stored).unwrap();
    assert!(!stored_text.contains(MARKER) && !stored_text.contains("héllo"));
    let raw = raw.raw(id).await;
    assert!(
        !raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
        "the backend holds plaintext"
    );
}

/// Records changed in the backend do not open: they are missing (a fresh session through
/// the layer: 200 with no value), never an error.
async fn tampering<S: SessionStore + Clone>(inner: S) {
    let sealed = SealedStore::new(inner.clone(), ring(&[KEY_A]));
    let mut original = record(json!({"user": MARKER}));
    sealed.create(&mut original).await.unwrap();
    let id = original.id;
    assert_eq!(
        sealed.load(&id).await.unwrap().unwrap().data["user"],
        MARKER
    );
    let raw = inner.load(&id).await.unwrap().unwrap();

    // Copied to another id.
    let mut moved = raw.clone();
    moved.id = Id::default();
    inner.create(&mut moved).await.unwrap();
    assert!(
        sealed.load(&moved.id).await.unwrap().is_none(),
        "moved record opened"
    );

    // Its expiry pushed out.
    let mut extended = raw.clone();
    extended.expiry_date += Duration::days(30);
    inner.save(&extended).await.unwrap();
    assert!(
        sealed.load(&id).await.unwrap().is_none(),
        "extended record opened"
    );

    // Truncated and bit-flipped sealed bytes, and a plaintext record.
    let Value::String(value) = &raw.data[SEALED_KEY] else {
        panic!()
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    let flipped = URL_SAFE_NO_PAD.encode(&bytes);
    let truncated = value[..value.len() - 10].to_owned();
    for bad in [
        Value::String(flipped),
        Value::String(truncated),
        Value::String(String::new()),
        json!(42),
    ] {
        let mut changed = raw.clone();
        changed.data.insert(SEALED_KEY.to_owned(), bad);
        inner.save(&changed).await.unwrap();
        assert!(sealed.load(&id).await.unwrap().is_none());
    }
    let mut plaintext = raw.clone();
    plaintext.data = record(json!({"user": "mallory"})).data;
    inner.save(&plaintext).await.unwrap();
    assert!(
        sealed.load(&id).await.unwrap().is_none(),
        "plaintext accepted"
    );

    // The original bytes open again: nothing was cached or poisoned.
    inner.save(&raw).await.unwrap();
    assert_eq!(
        sealed.load(&id).await.unwrap().unwrap().data["user"],
        MARKER
    );

    // Through tower-sessions' layer: a fresh session, not an error.
    let app = app(sealed);
    inner.save(&extended).await.unwrap();
    let response = get_with(&app, "/get", Some(&format!("id={id}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_string(response).await, "null");
}

/// A record sealed under an older key opens, and is sealed under the newest on its next
/// save; a key dropped from the ring makes it missing.
async fn rotation<S: SessionStore + Clone>(inner: S) {
    let old = SealedStore::new(inner.clone(), ring(&[KEY_A]));
    let mut rec = record(json!({"n": 1}));
    old.create(&mut rec).await.unwrap();

    let rotated = SealedStore::new(inner.clone(), ring(&[KEY_B, KEY_A]));
    let mut loaded = rotated.load(&rec.id).await.unwrap().expect("old key opens");
    assert_eq!(loaded.data["n"], 1);
    let only_b = SealedStore::new(inner.clone(), ring(&[KEY_B]));
    assert!(
        only_b.load(&rec.id).await.unwrap().is_none(),
        "not yet re-sealed"
    );

    loaded.data.insert("n".to_owned(), json!(2));
    rotated.save(&loaded).await.unwrap();
    assert_eq!(only_b.load(&rec.id).await.unwrap().unwrap().data["n"], 2);
    assert!(
        old.load(&rec.id).await.unwrap().is_none(),
        "re-sealed under the new key"
    );
}

/// Plaintext records already in the store: missing by default; read with
/// `dangerous_read_plaintext`, and sealed on their next save.
async fn plaintext_migration<S: SessionStore + Clone>(inner: S, raw: impl RawBytes) {
    let mut plain = record(json!({"user": MARKER}));
    inner.create(&mut plain).await.unwrap();

    let strict = SealedStore::new(inner.clone(), ring(&[KEY_A]));
    assert!(strict.load(&plain.id).await.unwrap().is_none());
    let migrating = SealedStore::new(inner.clone(), ring(&[KEY_A])).dangerous_read_plaintext(true);
    let loaded = migrating
        .load(&plain.id)
        .await
        .unwrap()
        .expect("read as it is");
    assert_eq!(loaded.data["user"], MARKER);

    migrating.save(&loaded).await.unwrap();
    assert_eq!(
        strict.load(&plain.id).await.unwrap().unwrap().data["user"],
        MARKER
    );
    let raw = raw.raw(plain.id).await;
    assert!(!raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
}

/// `create` on a store that picks another id on a collision (Memory, SQL) re-seals for the
/// id it chose, so the record opens under its real id.
async fn create_collision<S: SessionStore + Clone>(inner: S) {
    let sealed = SealedStore::new(inner.clone(), ring(&[KEY_A]));
    let mut first = record(json!({"who": "first"}));
    sealed.create(&mut first).await.unwrap();
    let mut second = record(json!({"who": "second"}));
    second.id = first.id;
    // Redis 0.16: `NX` refuses (an error), nothing is overwritten; Memory and SQL move it.
    if sealed.create(&mut second).await.is_ok() {
        assert_ne!(second.id, first.id, "the store moved it");
        assert_eq!(
            sealed.load(&second.id).await.unwrap().unwrap().data["who"],
            "second"
        );
    }
    assert_eq!(
        sealed.load(&first.id).await.unwrap().unwrap().data["who"],
        "first"
    );
}

// ---------------------------------------------------------------------------------------
// The backends

macro_rules! suite {
    ($backend:ident, $setup:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_value_kind_round_trips_and_nothing_is_stored_in_clear() {
                let (store, raw, _guard) = $setup;
                round_trip(store, raw).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn moved_extended_truncated_or_flipped_records_do_not_open() {
                let (store, _raw, _guard) = $setup;
                tampering(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn older_keys_open_and_are_resealed() {
                let (store, _raw, _guard) = $setup;
                rotation(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn plaintext_records_migrate_only_when_asked() {
                let (store, raw, _guard) = $setup;
                plaintext_migration(store, raw).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_collisions_keep_records_opening() {
                let (store, _raw, _guard) = $setup;
                create_collision(store).await;
            }
        }
    };
}

suite!(memory, (MemoryStore::default(), NoRaw, ()));
suite!(sqlite, {
    let (store, pool) = sqlite().await;
    (store, pool, ())
});
suite!(postgres, {
    let (store, pool, server) = postgres().await;
    (store, pool, server)
});
suite!(redis, {
    let (store, pool, server) = redis().await;
    (store, pool, server)
});

#[test]
fn debug_prints_no_keys() {
    let store = SealedStore::new(MemoryStore::default(), ring(&[KEY_A]));
    let debug = format!("{store:?}");
    assert!(debug.starts_with("SealedStore"), "{debug}");
    assert!(!debug.contains("165") && !debug.contains("a5"), "{debug}");
}
