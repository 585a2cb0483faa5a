//! A second implementation of the wire format, in Python on libsodium (PyNaCl), written from
//! `docs/wire-format.md` alone (`tests/python/tss_sealed.py`), against the crate:
//!
//! - Python checks the frozen vectors (`tests/python/vectors.json`: the crate's vectors of
//!   `tests/vectors.rs` and more) and the crate seals, opens and refuses exactly what that
//!   file says;
//! - Python opens cookies the crate seals live, through a real `Router` and
//!   `SessionManagerLayer`: every value kind, format 0x01 and 0x02 (with a revocation
//!   store), a rotated ring; and refuses them under another cookie name or without the key;
//! - the crate opens, through the `Router`, cookies Python sealed (both formats, an older
//!   key of the ring, and refuses an expired one or one sealed for another name);
//! - records at rest (`SealedStore`), overflow references and tombstone ids agree;
//! - a token kept as bytes (`Vec<u8>`, which serde writes as numbers) travels as an unsigned
//!   array (formats 0x03 and 0x04) both ways, and the handler reads the same bytes back.
//!
//! Needs `python3` with PyNaCl; when either is missing the tests fail and say to run
//! `scripts/install-test-deps.sh`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt as _;
use serde_json::{Number, Value, json};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;
use tower_sessions::MemoryStore;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::SessionStore;
use tower_sessions_sealed::{
    KeyRing, SealedRecord, SealedStore, Session, SessionManagerLayer, Subject,
};

/// The test data of the spec's §9.
const VECTORS: &str = include_str!("python/vectors.json");

/// The deployment's keys for the live tests (not the vectors' keys).
const KEY_OLD: &str = "dGhlIG9sZCBrZXkgb2YgdGhlIGludGVyb3AgdGVzdHMsIDE";
const KEY_NEW: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

// ---------------------------------------------------------------------------------------
// Running the Python side

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/tss_sealed.py")
}

/// Fails (never skips) when python3 or PyNaCl is missing.
fn require_python() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let output = Command::new("python3")
            .args([
                "-c",
                "import nacl.bindings, sys; print(sys.version.split()[0])",
            ])
            .output();
        match output {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => Err(format!(
                "python3 cannot import PyNaCl (nacl): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(err) => Err(format!("python3 not found: {err}")),
        }
    });
    if let Err(why) = checked {
        panic!(
            "{why}\nThe Python interop tests need python3 with PyNaCl: run \
             scripts/install-test-deps.sh (it installs PyNaCl from PyPI)"
        );
    }
}

/// Runs `tss_sealed.py command` with `request` on stdin and `SESSION_KEYS=keys`.
fn py(command: &str, keys: &str, request: &Value) -> Value {
    require_python();
    let mut child = Command::new("python3")
        .arg(script())
        .arg(command)
        .env("SESSION_KEYS", keys)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "tss_sealed.py {command} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Python opens each value for the cookie `name` with the ring `keys`.
fn py_open(keys: &str, name: &str, values: &[&str]) -> Vec<Value> {
    let response = py("open", keys, &json!({"name": name, "values": values}));
    response["results"].as_array().unwrap().clone()
}

/// Python seals each session (tss_sealed's JSON form) for the cookie `name`.
fn py_seal(keys: &str, name: &str, sessions: &[Value]) -> Vec<String> {
    let response = py("seal", keys, &json!({"name": name, "sessions": sessions}));
    response["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn py_derived_id(label: &str, name: &str, key: &[u8]) -> Id {
    let response = py(
        "derived-id",
        KEY_NEW,
        &json!({"ids": [{"label": label, "name": name, "key": hex::encode(key)}]}),
    );
    Id(response["ids"][0].as_str().unwrap().parse().unwrap())
}

// ---------------------------------------------------------------------------------------
// Values as both sides print them: the wire kind kept (tss_sealed.py's `typed`)

fn typed(value: &Value) -> Value {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => value.clone(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                json!({"u64": u.to_string()})
            } else if let Some(i) = n.as_i64() {
                json!({"i64": i.to_string()})
            } else {
                json!({"f64": format!("{:016x}", n.as_f64().unwrap().to_bits())})
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(typed).collect()),
        Value::Object(map) => json!({
            "object": map.iter().map(|(k, v)| json!([k, typed(v)])).collect::<Vec<_>>()
        }),
    }
}

fn untyped(value: &Value) -> Value {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => value.clone(),
        Value::Array(items) => Value::Array(items.iter().map(untyped).collect()),
        Value::Object(map) => {
            if let Some(u) = map.get("u64") {
                json!(u.as_str().unwrap().parse::<u64>().unwrap())
            } else if let Some(i) = map.get("i64") {
                json!(i.as_str().unwrap().parse::<i64>().unwrap())
            } else if let Some(f) = map.get("f64") {
                let bits = u64::from_str_radix(f.as_str().unwrap(), 16).unwrap();
                Value::Number(Number::from_f64(f64::from_bits(bits)).unwrap())
            } else {
                let pairs = map["object"].as_array().unwrap();
                Value::Object(
                    pairs
                        .iter()
                        .map(|p| (p[0].as_str().unwrap().to_owned(), untyped(&p[1])))
                        .collect(),
                )
            }
        }
        Value::Number(_) => panic!("typed values have no bare numbers: {value}"),
    }
}

/// A session's data as `[key, typed value]` pairs in the crate's write order (bytewise).
fn typed_data(data: &HashMap<String, Value>) -> Value {
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    Value::Array(keys.iter().map(|k| json!([k, typed(&data[*k])])).collect())
}

fn untyped_data(pairs: &Value) -> HashMap<String, Value> {
    pairs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), untyped(&p[1])))
        .collect()
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap()
}

/// A vector's or Python's session JSON as the crate's record.
fn sealed_record(session: &Value) -> SealedRecord {
    let created = at(session["created"].as_i64().unwrap());
    let nanos = session["created_nanos"].as_u64().unwrap_or(0);
    SealedRecord {
        record: Record {
            id: Id(session["id"].as_str().unwrap().parse().unwrap()),
            data: untyped_data(&session["data"]),
            expiry_date: at(session["expires"].as_i64().unwrap()),
        },
        created_at: created
            .replace_nanosecond(u32::try_from(nanos).unwrap())
            .unwrap(),
    }
}

/// What Python reported about an opened cookie equals what the crate opens.
fn assert_same_session(python: &Value, crate_side: &SealedRecord, version: u64) {
    assert_eq!(python["version"], version);
    assert_eq!(python["id"], crate_side.record.id.0.to_string());
    assert_eq!(
        python["expires"],
        crate_side.record.expiry_date.unix_timestamp()
    );
    assert_eq!(python["created"], crate_side.created_at.unix_timestamp());
    if version == 2 || version == 4 {
        assert_eq!(python["created_nanos"], crate_side.created_at.nanosecond());
    } else {
        assert_eq!(crate_side.created_at.nanosecond(), 0);
    }
    assert_eq!(python["data"], typed_data(&crate_side.record.data));
}

// ---------------------------------------------------------------------------------------
// Every value kind

fn nest(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |v, _| json!([v]))
}

/// Session data with every kind of value and the encodings' edges.
fn fixture() -> Vec<(String, Value)> {
    let mut object = serde_json::Map::new();
    object.insert("z".into(), json!(1));
    object.insert("a".into(), json!({"é": [false], "e": null}));
    vec![
        ("null".into(), json!(null)),
        ("true".into(), json!(true)),
        ("false".into(), json!(false)),
        ("u0".into(), json!(0)),
        ("u127".into(), json!(127)),
        ("u128".into(), json!(128)),
        ("u_max".into(), json!(u64::MAX)),
        ("i_-1".into(), json!(-1)),
        ("i_-65".into(), json!(-65)),
        ("i_min".into(), json!(i64::MIN)),
        ("f_half".into(), json!(0.5)),
        ("f_one".into(), json!(1.0)),
        ("f_neg0".into(), json!(-0.0)),
        ("f_sub".into(), json!(5e-324)),
        ("f_max".into(), json!(f64::MAX)),
        ("f_min_positive".into(), json!(f64::MIN_POSITIVE)),
        ("f_third".into(), json!(1.0 / 3.0)),
        ("s_empty".into(), json!("")),
        ("s_unicode".into(), json!("héllo ✓ 🎉 \u{0} \u{7f}")),
        ("array".into(), json!([1, -2, 2.5, "x", null, true, [], {}])),
        ("object".into(), Value::Object(object)),
        ("deep".into(), nest(64)),
        (String::new(), json!("the empty key")),
        ("ключ".into(), json!("значение")),
        ("🎉".into(), json!(4)),
        ("Upper".into(), json!("sorts before lower case")),
    ]
}

fn fixture_map() -> HashMap<String, Value> {
    fixture().into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// The app

fn app(layer: SessionManagerLayer) -> Router {
    Router::new()
        .route(
            "/write",
            get(|session: Session| async move {
                for (key, value) in fixture() {
                    session.insert_value(&key, value).await.unwrap();
                }
                "written"
            }),
        )
        .route(
            "/read",
            get(|session: Session| async move {
                let mut data = HashMap::new();
                for (key, _) in fixture() {
                    if let Some(value) = session.get_value(&key).await.unwrap() {
                        data.insert(key, value);
                    }
                }
                json!({
                    "id": session.id().map(|id| id.0.to_string()),
                    "data": typed_data(&data),
                })
                .to_string()
            }),
        )
        .route(
            "/login",
            get(|session: Session| async move {
                session.insert("user", "ada").await.unwrap();
            }),
        )
        .route(
            "/logout",
            get(|session: Session| async move {
                session.flush().await.unwrap();
            }),
        )
        .layer(layer)
}

async fn send(app: &Router, path: &str, cookie: Option<(&str, &str)>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some((name, value)) = cookie {
        request = request.header(header::COOKIE, format!("{name}={value}"));
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

/// The value of the response's one `Set-Cookie`, if it sets one.
fn set_cookie_value(response: &Response<Body>) -> Option<String> {
    let all: Vec<_> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .collect();
    assert!(all.len() <= 1, "{all:?}");
    let cookie = cookie::Cookie::parse(all.first()?.to_str().unwrap().to_owned()).unwrap();
    Some(cookie.value().to_owned())
}

async fn body_json(response: Response<Body>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn kid(value: &str) -> String {
    hex::encode(&URL_SAFE_NO_PAD.decode(value).unwrap()[1..5])
}

fn ring(text: &str) -> KeyRing {
    text.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. The frozen vectors, on both sides

#[test]
fn python_passes_its_selftest_on_the_frozen_vectors() {
    require_python();
    let output = Command::new("python3")
        .arg(script())
        .arg("selftest")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.starts_with("selftest: ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn vectors_json_is_what_make_vectors_writes() {
    require_python();
    let output = Command::new("python3")
        .arg(script().with_file_name("make_vectors.py"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tests/python/vectors.json differs from make_vectors.py's output (it asserts the \
         frozen cookies itself): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn vector_ring(vectors: &Value, names: &Value) -> KeyRing {
    let texts: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            vectors["keys"][n.as_str().unwrap()]["master"]
                .as_str()
                .unwrap()
        })
        .collect();
    ring(&texts.join(","))
}

#[test]
fn the_crate_parses_the_vector_keys_as_the_spec_says() {
    let vectors = vectors();
    for (name, spec) in vectors["keys"].as_object().unwrap() {
        for text in spec["texts"].as_array().unwrap() {
            let parsed = ring(text.as_str().unwrap());
            let kid = hex::encode(parsed.key_ids().next().unwrap());
            assert_eq!(kid, spec["kid"].as_str().unwrap(), "{name} as {text}");
        }
    }
    for bad in vectors["bad_key_lists"].as_array().unwrap() {
        assert!(
            bad.as_str().unwrap().parse::<KeyRing>().is_err(),
            "the crate accepted the key list {bad}"
        );
    }
}

#[test]
fn the_crate_seals_and_opens_every_cookie_vector_exactly() {
    let vectors = vectors();
    for v in vectors["cookies"].as_array().unwrap() {
        let label = v["label"].as_str().unwrap();
        let name = v["name"].as_str().unwrap();
        let cookie = v["cookie"].as_str().unwrap();
        let keys = vector_ring(&vectors, &v["ring"]);
        let session = &v["session"];
        let record = sealed_record(session);
        let nonce: [u8; 24] = hex::decode(v["nonce"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let now = at(v["now"].as_i64().unwrap());
        // The crate seals the same bytes (format 2's `stored` flag has no public sealing
        // call; that vector is only opened).
        if session["version"] == 1 || session["version"] == 3 {
            let sealed = keys
                .dangerous_seal_with_nonce(name, &record, nonce)
                .unwrap();
            assert_eq!(sealed, cookie, "{label}");
        } else if session["stored"] == false {
            let checked = session["checked"].as_i64().map(at);
            let sealed = keys
                .dangerous_seal_revocation_with_nonce(name, &record, checked, nonce)
                .unwrap();
            assert_eq!(sealed, cookie, "{label}");
        }
        let opened = keys.open_at(name, cookie, now).expect(label);
        assert_eq!(opened, record, "{label}");
        assert_eq!(typed_data(&opened.record.data), session["data"], "{label}");
        for other in v["also_opens_with"].as_array().into_iter().flatten() {
            assert!(
                vector_ring(&vectors, other)
                    .open_at(name, cookie, now)
                    .is_some()
            );
        }
    }
}

#[test]
fn the_crate_refuses_every_rejection_and_bad_payload_and_accepts_the_edge_cases() {
    let vectors = vectors();
    for r in vectors["rejections"].as_array().unwrap() {
        let keys = vector_ring(&vectors, &r["ring"]);
        let now = at(r["now"].as_i64().unwrap());
        let opened = keys.open_at(
            r["name"].as_str().unwrap(),
            r["cookie"].as_str().unwrap(),
            now,
        );
        assert!(opened.is_none(), "accepted: {}", r["label"]);
    }
    // One second before the expiry, the vector still opens.
    let k1 = vector_ring(&vectors, &json!(["K1"]));
    let first = vectors["cookies"][0]["cookie"].as_str().unwrap();
    assert!(k1.open_at("id", first, at(4_102_444_799)).is_some());

    let now = at(1_764_028_800);
    for p in vectors["bad_payloads"].as_array().unwrap() {
        let opened = k1.open_at("id", p["cookie"].as_str().unwrap(), now);
        assert!(opened.is_none(), "bad payload accepted: {}", p["label"]);
    }
    for p in vectors["good_payloads"].as_array().unwrap() {
        let label = p["label"].as_str().unwrap();
        let opened = k1
            .open_at("id", p["cookie"].as_str().unwrap(), now)
            .unwrap_or_else(|| panic!("edge case refused: {label}"));
        assert_same_session(&p["session"], &opened, p["version"].as_u64().unwrap());
    }
}

// ---------------------------------------------------------------------------------------
// 2. Python opens what the crate seals live

#[tokio::test]
async fn python_opens_cookies_the_crate_seals_through_the_router() {
    let layers = [
        (1, "id", SessionManagerLayer::new(ring(KEY_NEW))),
        (
            2,
            "sess",
            SessionManagerLayer::new(ring(KEY_NEW))
                .with_name("sess")
                .with_revocation(MemoryStore::default()),
        ),
    ];
    for (version, name, layer) in layers {
        let app = app(layer);
        let response = send(&app, "/write", None).await;
        let value = set_cookie_value(&response).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&value).unwrap()[0], version);
        // The crate's own reading of its cookie, to compare with.
        let crate_side = ring(KEY_NEW).open(name, &value).unwrap();
        assert_eq!(crate_side.record.data, fixture_map());

        let results = py_open(KEY_NEW, name, &[&value]);
        assert_eq!(results[0]["ok"], true, "{}", results[0]);
        let session = &results[0]["session"];
        assert_same_session(session, &crate_side, version.into());
        assert_eq!(session["kid"], kid(&value));
        assert_eq!(session["by_primary"], true);
        // Python's values back in serde_json are the very values the handler inserted.
        assert_eq!(untyped_data(&session["data"]), fixture_map());
        if version == 2 {
            // A new session counts as checked when it is issued, and its data is here.
            let checked = session["checked"].as_i64().unwrap();
            let now = OffsetDateTime::now_utc().unix_timestamp();
            assert!((now - 60..=now + 1).contains(&checked), "{checked}");
            assert_eq!(session["stored"], false);
        }

        // Not under another cookie name, nor another key.
        for other in ["ID", "other", "sess2", ""] {
            let results = py_open(KEY_NEW, other, &[&value]);
            assert_eq!(results[0]["ok"], false, "opened under {other:?}");
            assert_eq!(results[0]["reason"], "not authentic");
        }
        let results = py_open(KEY_OLD, name, &[&value]);
        assert_eq!(results[0]["reason"], "unknown key");
    }
}

#[tokio::test]
async fn python_opens_both_sides_of_a_key_rotation() {
    let old_app = app(SessionManagerLayer::new(ring(KEY_OLD)));
    let old = set_cookie_value(&send(&old_app, "/write", None).await).unwrap();
    // The deployment adds the new key first; the old cookie is re-sealed on its next request.
    let rotated = format!("{KEY_NEW},{KEY_OLD}");
    let new_app = app(SessionManagerLayer::new(ring(&rotated)));
    let response = send(&new_app, "/read", Some(("id", &old))).await;
    let new = set_cookie_value(&response).expect("re-sealed under the new key");
    let read = body_json(response).await;
    assert_eq!(untyped_data(&read["data"]), fixture_map());

    let new_kid = hex::encode(ring(KEY_NEW).key_ids().next().unwrap());
    let old_kid = hex::encode(ring(KEY_OLD).key_ids().next().unwrap());
    let results = py_open(&rotated, "id", &[&old, &new]);
    assert_eq!(results[0]["session"]["kid"], old_kid);
    assert_eq!(results[0]["session"]["by_primary"], false);
    assert_eq!(results[1]["session"]["kid"], new_kid);
    assert_eq!(results[1]["session"]["by_primary"], true);
    assert_eq!(results[0]["session"]["id"], results[1]["session"]["id"]);
    assert_eq!(results[0]["session"]["data"], results[1]["session"]["data"]);
    // Once the old key is dropped, only the re-sealed cookie opens.
    let results = py_open(KEY_NEW, "id", &[&old, &new]);
    assert_eq!(results[0]["reason"], "unknown key");
    assert_eq!(results[1]["ok"], true);
}

// ---------------------------------------------------------------------------------------
// 3. The crate opens what Python seals

fn python_session(version: u8, id: i128, expires: i64, created: i64) -> Value {
    json!({
        "version": version,
        "id": id.to_string(),
        "expires": expires,
        "created": created,
        "created_nanos": if version == 2 { 123_456_789 } else { 0 },
        "checked": if version == 2 { Some(created) } else { None },
        "stored": false,
        "data": typed_data(&fixture_map()),
    })
}

#[tokio::test]
async fn the_crate_opens_cookies_python_sealed_through_the_router() {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let id: i128 = -0x0123_4567_89ab_cdef_0011_2233_4455_6677;
    for (version, layer) in [
        (1u8, SessionManagerLayer::new(ring(KEY_NEW))),
        (
            2,
            SessionManagerLayer::new(ring(KEY_NEW)).with_revocation(MemoryStore::default()),
        ),
    ] {
        let session = python_session(version, id, now + 3600, now - 60);
        let value = py_seal(KEY_NEW, "id", std::slice::from_ref(&session)).remove(0);
        assert_eq!(URL_SAFE_NO_PAD.decode(&value).unwrap()[0], version);

        // Exactly the record Python meant.
        let opened = ring(KEY_NEW).open("id", &value).unwrap();
        assert_eq!(opened, sealed_record(&session), "format {version}");

        // And through the layer: the handler sees the session and its data.
        let app = app(layer);
        let response = send(&app, "/read", Some(("id", &value))).await;
        assert_eq!(response.status(), 200);
        let read = body_json(response).await;
        assert_eq!(read["id"], id.to_string(), "format {version}");
        assert_eq!(read["data"], session["data"], "format {version}");
    }
}

#[tokio::test]
async fn the_crate_applies_the_spec_to_python_cookies_it_should_refuse_or_rotate() {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let app_new = app(SessionManagerLayer::new(ring(KEY_NEW)));
    let sealed = |keys: &str, name: &str, session: Value| py_seal(keys, name, &[session]).remove(0);

    // Expired: a fresh session (no id), and the cookie is removed.
    let expired = sealed(KEY_NEW, "id", python_session(1, 5, now - 1, now - 60));
    let response = send(&app_new, "/read", Some(("id", &expired))).await;
    assert!(set_cookie_value(&response).unwrap().is_empty(), "removed");
    assert_eq!(body_json(response).await["id"], Value::Null);

    // Sealed for the name `id`, presented as the cookie `other` to a layer named `other`.
    let app_other = app(SessionManagerLayer::new(ring(KEY_NEW)).with_name("other"));
    let for_id = sealed(KEY_NEW, "id", python_session(1, 6, now + 3600, now));
    let response = send(&app_other, "/read", Some(("other", &for_id))).await;
    assert_eq!(body_json(response).await["id"], Value::Null);

    // Sealed under the ring's older key: opens, and is re-sealed under the first key.
    let rotated = format!("{KEY_NEW},{KEY_OLD}");
    let app_rotated = app(SessionManagerLayer::new(ring(&rotated)));
    let under_old = sealed(KEY_OLD, "id", python_session(1, 7, now + 3600, now));
    let response = send(&app_rotated, "/read", Some(("id", &under_old))).await;
    let resealed = set_cookie_value(&response).unwrap();
    assert_eq!(body_json(response).await["id"], "7");
    assert_eq!(
        kid(&resealed),
        hex::encode(ring(KEY_NEW).key_ids().next().unwrap())
    );
    // Python reads the re-sealed cookie: the same session, now under the new key.
    let results = py_open(&rotated, "id", &[&resealed]);
    assert_eq!(results[0]["session"]["id"], "7");
    assert_eq!(results[0]["session"]["by_primary"], true);
    assert_eq!(untyped_data(&results[0]["session"]["data"]), fixture_map());

    // Dates at the spec's limits open; a second beyond them does not.
    let keys = ring(KEY_NEW);
    let min = -377_705_116_800_i64;
    let max = 253_402_300_799_i64;
    let limits = sealed(KEY_NEW, "id", python_session(1, 8, max, min));
    let opened = keys.open("id", &limits).unwrap();
    assert_eq!(opened.created_at.unix_timestamp(), min);
    assert_eq!(opened.record.expiry_date.unix_timestamp(), max);
    assert!(OffsetDateTime::from_unix_timestamp(min - 1).is_err());
    assert!(OffsetDateTime::from_unix_timestamp(max + 1).is_err());
}

// ---------------------------------------------------------------------------------------
// 4. Server-side records

#[tokio::test]
async fn records_at_rest_agree_in_both_directions() {
    let plain = MemoryStore::default();
    let store = SealedStore::new(plain.clone(), ring(KEY_NEW));
    let expiry = OffsetDateTime::now_utc() + Duration::hours(1);

    // The crate seals; Python opens the raw record for its id and expiry.
    let mut record = Record {
        id: Id(4242),
        data: fixture_map(),
        expiry_date: expiry,
    };
    store.create(&mut record).await.unwrap();
    let raw = plain.load(&record.id).await.unwrap().unwrap();
    assert_eq!(raw.data.len(), 1);
    let value = raw.data["tower-sessions-sealed.record"].as_str().unwrap();
    let request = |id: i128, expiry: i64| json!({"records": [{"id": id.to_string(), "expiry": expiry, "value": value}]});
    let opened = py(
        "open-record",
        KEY_NEW,
        &request(record.id.0, expiry.unix_timestamp()),
    );
    let result = &opened["results"][0];
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(untyped_data(&result["data"]), fixture_map());
    // Moved to another id, or extended by a second: refused.
    for (id, seconds) in [
        (record.id.0 + 1, expiry.unix_timestamp()),
        (record.id.0, expiry.unix_timestamp() + 1),
    ] {
        let opened = py("open-record", KEY_NEW, &request(id, seconds));
        assert_eq!(opened["results"][0]["reason"], "not authentic");
    }

    // Python seals; the crate's SealedStore opens it from the inner store.
    let id = Id(-77);
    let sealed = py(
        "seal-record",
        KEY_NEW,
        &json!({"records": [{
            "id": id.0.to_string(),
            "expiry": expiry.unix_timestamp(),
            "data": typed_data(&fixture_map()),
        }]}),
    );
    let value = sealed["values"][0].as_str().unwrap().to_owned();
    plain
        .save(&Record {
            id,
            data: [("tower-sessions-sealed.record".to_owned(), json!(value))].into(),
            expiry_date: expiry,
        })
        .await
        .unwrap();
    let loaded = store.load(&id).await.unwrap().expect("the crate opens it");
    assert_eq!(loaded.data, fixture_map());
}

#[tokio::test]
async fn an_overflow_reference_sealed_by_python_reads_its_data_from_the_store() {
    let plain = MemoryStore::default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (session_id, expires) = (0x5eed_i128, now + 3600);
    // The record: at the derived id, sealed for that id and the cookie's expiry.
    let record_id = py_derived_id("overflow", "id", &session_id.to_le_bytes());
    let sealed = py(
        "seal-record",
        KEY_NEW,
        &json!({"records": [{
            "id": record_id.0.to_string(),
            "expiry": expires,
            "data": typed_data(&fixture_map()),
        }]}),
    );
    plain
        .save(&Record {
            id: record_id,
            data: [(
                "tower-sessions-sealed.record".to_owned(),
                sealed["values"][0].clone(),
            )]
            .into(),
            expiry_date: at(expires),
        })
        .await
        .unwrap();
    // The cookie: format 2, stored, no data.
    let mut session = python_session(2, session_id, expires, now - 5);
    session["stored"] = json!(true);
    session["data"] = json!([]);
    let cookie = py_seal(KEY_NEW, "id", &[session]).remove(0);

    let app = app(SessionManagerLayer::new(ring(KEY_NEW)).with_overflow(plain.clone()));
    let read = body_json(send(&app, "/read", Some(("id", &cookie))).await).await;
    assert_eq!(read["id"], session_id.to_string());
    assert_eq!(untyped_data(&read["data"]), fixture_map());
}

#[tokio::test]
async fn tombstones_are_where_the_spec_derives_them() {
    let store = MemoryStore::default();
    let layer = SessionManagerLayer::new(ring(KEY_NEW))
        .with_revocation(store.clone())
        .with_revocation_subject(Subject::key("user"));
    let revoker = layer.revoker().unwrap();
    let app = app(layer);
    let cookie = set_cookie_value(&send(&app, "/login", None).await).unwrap();
    let session_id = ring(KEY_NEW).open("id", &cookie).unwrap().record.id;

    let tombstone = py_derived_id("session", "id", &session_id.0.to_le_bytes());
    assert!(store.load(&tombstone).await.unwrap().is_none());
    let response = send(&app, "/logout", Some(("id", &cookie))).await;
    assert!(set_cookie_value(&response).unwrap().is_empty());
    let record = store
        .load(&tombstone)
        .await
        .unwrap()
        .expect("the session's tombstone");
    assert!(record.data["tower-sessions-sealed.revoked"].is_i64());

    let subject = py_derived_id("subject", "id", b"ada");
    assert!(store.load(&subject).await.unwrap().is_none());
    revoker.revoke_subject("ada").await.unwrap();
    let record = store
        .load(&subject)
        .await
        .unwrap()
        .expect("the subject's tombstone");
    assert!(record.data["tower-sessions-sealed.revoked"].is_i64());
}

// ---------------------------------------------------------------------------------------
// 4. Unsigned arrays (formats 0x03 and 0x04), both ways through the router

#[tokio::test]
async fn token_bytes_travel_as_unsigned_arrays_both_ways() {
    let token: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(97).wrapping_add(200))
        .collect();
    let ids: Vec<u64> = vec![7, 300, u64::MAX];
    let expected: HashMap<String, Value> = [
        ("csrf".to_owned(), json!(token)),
        ("ids".to_owned(), json!(ids)),
        ("role".to_owned(), json!("admin")),
    ]
    .into_iter()
    .collect();
    let app_for = |layer: SessionManagerLayer| {
        let (token, ids) = (token.clone(), ids.clone());
        Router::new()
            .route(
                "/token",
                get(move |session: Session| async move {
                    // serde writes `Vec<u8>` and `Vec<u64>` as arrays of numbers.
                    session.insert("csrf", &token).await.unwrap();
                    session.insert("ids", &ids).await.unwrap();
                    session.insert("role", "admin").await.unwrap();
                }),
            )
            .route(
                "/token/read",
                get(|session: Session| async move {
                    let csrf: Vec<u8> = session.get("csrf").await.unwrap().unwrap_or_default();
                    let ids: Vec<u64> = session.get("ids").await.unwrap().unwrap_or_default();
                    json!({ "csrf": csrf, "ids": ids }).to_string()
                }),
            )
            .layer(layer)
    };
    let layers = [
        (0x03, SessionManagerLayer::new(ring(KEY_NEW))),
        (
            0x04,
            SessionManagerLayer::new(ring(KEY_NEW)).with_revocation(MemoryStore::default()),
        ),
    ];
    for (version, layer) in layers {
        let app = app_for(layer);
        // The crate seals: format 3 (4 with a store), which Python opens to the same data.
        let value = set_cookie_value(&send(&app, "/token", None).await).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&value).unwrap()[0], version);
        let crate_side = ring(KEY_NEW).open("id", &value).unwrap();
        assert_eq!(crate_side.record.data, expected);
        let results = py_open(KEY_NEW, "id", &[&value]);
        assert_eq!(results[0]["ok"], true, "{}", results[0]);
        assert_same_session(&results[0]["session"], &crate_side, version.into());
        assert_eq!(untyped_data(&results[0]["session"]["data"]), expected);

        // Python seals the same kind of session; the handler reads its bytes back exactly.
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut session = python_session(version - 2, 42, now + 3600, now - 60);
        session["data"] = typed_data(&expected);
        let sealed = py_seal(KEY_NEW, "id", std::slice::from_ref(&session)).remove(0);
        assert_eq!(URL_SAFE_NO_PAD.decode(&sealed).unwrap()[0], version);
        let response = send(&app, "/token/read", Some(("id", &sealed))).await;
        assert_eq!(response.status(), 200);
        let read = body_json(response).await;
        assert_eq!(read, json!({ "csrf": token, "ids": ids }));
    }
}
