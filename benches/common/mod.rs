//! Shared pieces of the benches: the session data ("typical payload" plus filler), the one
//! axum app shape every middleware case uses, the cases themselves, and how each case is
//! primed and verified before anything is timed.
//!
//! Every case is the same `Router` shape:
//!
//! | route | handler |
//! |---|---|
//! | `GET /` | reads `counter` from the session, writes `counter + 1`, answers the new value |
//! | `GET /ro` | reads `counter`, answers it, writes nothing |
//! | `GET /login/{filler}` | writes the typical payload (+ a `prefs` string of `filler` chars), answers `1` |
//! | `GET /login/{shape}/{filler}` | the same for a payload shape ([`Shape`]: `bytes`, `numeric`) |
//!
//! The baseline has the same routes with handlers that answer `1` without a session.
//!
//! Every app is finished with `Router::with_state(())` (or `with_state(key)`), as
//! `axum::serve` does through `into_make_service`: without it, axum turns each handler into
//! a route, applying every layer again, on every request.
//!
//! Requests are driven in-process: `Router::clone().oneshot(request)` on a current-thread
//! tokio runtime, then the body is collected. Nothing goes through hyper or a socket.
#![allow(dead_code)] // each bench binary uses a different subset of these helpers

pub(crate) mod api_floor;
pub(crate) mod counting;
pub(crate) mod interleave;
pub(crate) mod steady;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{HeaderValue, Request, Response, StatusCode, Uri, header};
use axum::routing::get;
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_sessions_sealed::{Key, KeyRing, Session};

/// Browsers keep a cookie whose name, value and attributes together are at most this many
/// bytes (RFC 6265 §6.1 minimum, the limit this crate enforces too).
pub(crate) const BROWSER_COOKIE_LIMIT: usize = 4096;

// ---------------------------------------------------------------------------------------
// Session data

/// Session data sizes used by the payload cases, named as in the issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Size {
    /// The typical payload alone: user id, a 16-char name, 3 roles, a 32-byte CSRF token
    /// (43 chars of base64url) and a counter (~100 B of values, ~150 B as JSON).
    Typical,
    /// Typical payload plus filler, ~1 KB of session data as JSON.
    K1,
    /// Typical payload plus filler, ~2.9 KB of session data as JSON: near the largest that
    /// still fits in a 4096-byte cookie for this crate.
    K3,
}

impl Size {
    /// All sizes, smallest first.
    pub(crate) const ALL: [Size; 3] = [Size::Typical, Size::K1, Size::K3];

    /// Short label used in bench ids.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Size::Typical => "100B",
            Size::K1 => "1KB",
            Size::K3 => "3KB",
        }
    }

    /// Target length of the session data serialized as a JSON object, in bytes.
    fn json_target(self) -> usize {
        match self {
            Size::Typical => 0,
            Size::K1 => 1024,
            Size::K3 => 2900,
        }
    }

    /// How many filler characters reach [`Size::json_target`].
    pub(crate) fn filler(self) -> usize {
        let target = self.json_target();
        if target == 0 {
            return 0;
        }
        // `,"prefs":""` adds 11 bytes around the filler.
        target.saturating_sub(data_json_len(0) + 11)
    }
}

/// The 32 bytes of the CSRF token.
fn csrf_bytes() -> Vec<u8> {
    (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect()
}

/// The 32-byte CSRF token, as the 43-char unpadded base64url string apps usually store.
fn csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(csrf_bytes())
}

/// The shape of the session data (issue 12): how the same kind of session is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The typical payload, the CSRF token as a 43-char base64url string ("token as string").
    Str,
    /// The same fields, the CSRF token as its 32 bytes, which serde writes as an array of 32
    /// numbers ("token as bytes": `serde_json::to_value(Vec<u8>)`).
    Bytes,
    /// A payload dominated by numbers and nested arrays: the counter and user id, arrays of
    /// arrays of integers and of floats, a list of timestamps (about twice the typical
    /// payload's JSON).
    Numeric,
}

impl Shape {
    /// Every shape, the typical one first.
    pub(crate) const ALL: [Shape; 3] = [Shape::Str, Shape::Bytes, Shape::Numeric];

    /// The name used in routes and reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Shape::Str => "string",
            Shape::Bytes => "bytes",
            Shape::Numeric => "numeric",
        }
    }

    /// What a case id of this shape ends with (`sealed/steady_rw@bytes`); none for the
    /// typical shape, whose ids are the original ones.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Shape::Str => "",
            Shape::Bytes => "@bytes",
            Shape::Numeric => "@numeric",
        }
    }

    fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }

    /// The `GET` path that writes this shape's data with `filler` extra characters.
    pub(crate) fn login_path(self, filler: usize) -> String {
        match self {
            Shape::Str => format!("/login/{filler}"),
            _ => format!("/login/{}/{filler}", self.label()),
        }
    }
}

/// `filler` printable characters (varied, so nothing downstream can shortcut them).
fn filler_text(filler: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..filler)
        .map(|i| char::from(ALPHABET[(i * 7 + i / 64) % ALPHABET.len()]))
        .collect()
}

/// The session entries for `filler` extra characters: the typical payload with
/// `counter = 1`, plus `prefs` when `filler > 0`. Keys in ascending order.
pub(crate) fn session_data(filler: usize) -> BTreeMap<String, Value> {
    let mut data = BTreeMap::new();
    data.insert("counter".to_owned(), json!(1u64));
    data.insert("csrf".to_owned(), json!(csrf_token()));
    data.insert("name".to_owned(), json!("ada.lovelace1815"));
    data.insert("roles".to_owned(), json!(["user", "editor", "billing"]));
    data.insert("user_id".to_owned(), json!(1_234_567_890u64));
    if filler > 0 {
        data.insert("prefs".to_owned(), json!(filler_text(filler)));
    }
    data
}

/// The session entries of `shape` (see [`Shape`]), with `counter = 1` and, when
/// `filler > 0`, a `prefs` string of that many characters. Keys in ascending order.
pub(crate) fn shape_data(shape: Shape, filler: usize) -> BTreeMap<String, Value> {
    match shape {
        Shape::Str => session_data(filler),
        Shape::Bytes => {
            let mut data = session_data(filler);
            data.insert(
                "csrf".to_owned(),
                serde_json::to_value(csrf_bytes()).unwrap(),
            );
            data
        }
        Shape::Numeric => {
            let mut data = BTreeMap::new();
            data.insert("counter".to_owned(), json!(1u64));
            data.insert("user_id".to_owned(), json!(1_234_567_890u64));
            data.insert(
                "cart".to_owned(),
                json!([
                    [1001, 2, 1999],
                    [1002, 1, 4950],
                    [1017, 3, 250],
                    [1234, 1, 12000],
                    [2048, 5, 75]
                ]),
            );
            data.insert(
                "geo".to_owned(),
                json!([
                    [48.8566, 2.3522],
                    [51.5072, -0.1276],
                    [40.7128, -74.006],
                    [35.6764, 139.65]
                ]),
            );
            data.insert(
                "scores".to_owned(),
                json!([
                    [0.5, 0.25, 0.125],
                    [1.5, 2.75, 3.875],
                    [10.0625, -4.5, 99.9]
                ]),
            );
            data.insert(
                "recent".to_owned(),
                json!([
                    1_764_590_401u64,
                    1_764_590_477u64,
                    1_764_590_512u64,
                    1_764_590_630u64
                ]),
            );
            if filler > 0 {
                data.insert("prefs".to_owned(), json!(filler_text(filler)));
            }
            data
        }
    }
}

/// Length of [`shape_data`] serialized as one JSON object.
pub(crate) fn shape_json_len(shape: Shape, filler: usize) -> usize {
    serde_json::to_vec(&shape_data(shape, filler)).map_or(0, |v| v.len())
}

/// Filler characters that make the typical payload `json` bytes long as JSON (0: none).
pub(crate) fn filler_for_json(json: usize) -> usize {
    if json == 0 {
        return 0;
    }
    // `,"prefs":""` adds 11 bytes around the filler.
    json.saturating_sub(data_json_len(0) + 11)
}

/// Length of [`session_data`] serialized as one JSON object: the neutral "session data
/// size" every table uses.
pub(crate) fn data_json_len(filler: usize) -> usize {
    serde_json::to_vec(&session_data(filler)).map_or(0, |v| v.len())
}

/// A typed session for the `PrivateCookieJar` payload cases: one private cookie holding
/// the struct as JSON, as an app without a session layer would keep it.
trait JarData: Serialize + for<'de> Deserialize<'de> + Send + 'static {
    fn new(filler: usize) -> Self;
    fn counter(&mut self) -> &mut u64;
}

/// The same data as a typed struct, for the `PrivateCookieJar` payload case (one private
/// cookie holding this struct as JSON).
#[derive(Serialize, Deserialize)]
struct JarSession {
    counter: u64,
    csrf: String,
    name: String,
    roles: Vec<String>,
    user_id: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    prefs: String,
}

impl JarData for JarSession {
    fn new(filler: usize) -> Self {
        Self {
            counter: 1,
            csrf: csrf_token(),
            name: "ada.lovelace1815".to_owned(),
            roles: vec!["user".to_owned(), "editor".to_owned(), "billing".to_owned()],
            user_id: 1_234_567_890,
            prefs: filler_text(filler),
        }
    }

    fn counter(&mut self) -> &mut u64 {
        &mut self.counter
    }
}

/// [`JarSession`] with the CSRF token as bytes (`Shape::Bytes`).
#[derive(Serialize, Deserialize)]
struct JarSessionBytes {
    counter: u64,
    csrf: Vec<u8>,
    name: String,
    roles: Vec<String>,
    user_id: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    prefs: String,
}

impl JarData for JarSessionBytes {
    fn new(filler: usize) -> Self {
        let typical = JarSession::new(filler);
        Self {
            counter: typical.counter,
            csrf: csrf_bytes(),
            name: typical.name,
            roles: typical.roles,
            user_id: typical.user_id,
            prefs: typical.prefs,
        }
    }

    fn counter(&mut self) -> &mut u64 {
        &mut self.counter
    }
}

/// The numeric payload (`Shape::Numeric`) as a typed struct.
#[derive(Serialize, Deserialize)]
struct JarSessionNumeric {
    counter: u64,
    user_id: u64,
    cart: Vec<[u64; 3]>,
    geo: Vec<[f64; 2]>,
    scores: Vec<[f64; 3]>,
    recent: Vec<u64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    prefs: String,
}

impl JarData for JarSessionNumeric {
    fn new(filler: usize) -> Self {
        // The same values as `shape_data(Shape::Numeric, filler)`.
        serde_json::from_value(Value::Object(
            shape_data(Shape::Numeric, filler).into_iter().collect(),
        ))
        .unwrap()
    }

    fn counter(&mut self) -> &mut u64 {
        &mut self.counter
    }
}

// ---------------------------------------------------------------------------------------
// Handlers and apps

async fn constant() -> String {
    "1".to_owned()
}

async fn constant_login(Path(_filler): Path<usize>) -> String {
    "1".to_owned()
}

async fn session_rw(session: Session) -> String {
    let n: u64 = session.get("counter").await.unwrap().unwrap_or(0);
    session.insert("counter", n + 1).await.unwrap();
    (n + 1).to_string()
}

async fn session_ro(session: Session) -> String {
    let n: u64 = session.get("counter").await.unwrap().unwrap_or(0);
    n.to_string()
}

async fn session_login(session: Session, Path(filler): Path<usize>) -> String {
    for (key, value) in session_data(filler) {
        session.insert_value(&key, value).await.unwrap();
    }
    "1".to_owned()
}

async fn session_login_shape(
    session: Session,
    Path((shape, filler)): Path<(String, usize)>,
) -> Result<String, StatusCode> {
    let shape = Shape::parse(&shape).ok_or(StatusCode::NOT_FOUND)?;
    for (key, value) in shape_data(shape, filler) {
        session.insert_value(&key, value).await.unwrap();
    }
    Ok("1".to_owned())
}

/// The shape every session case uses, before its layer.
fn session_routes() -> Router {
    Router::new()
        .route("/", get(session_rw))
        .route("/ro", get(session_ro))
        .route("/login/{filler}", get(session_login))
        .route("/login/{shape}/{filler}", get(session_login_shape))
}

async fn session_logout(session: Session) -> &'static str {
    session.flush().await.unwrap();
    "ok"
}

/// [`session_routes`] plus `GET /logout` (`Session::flush`), for the revocation bench: the
/// same handlers, so the same workload, and a logout to check that revocation is on.
pub(crate) fn session_routes_with_logout() -> Router {
    session_routes().route("/logout", get(session_logout))
}

/// Same routes, no session layer, constant answers.
pub(crate) fn app_baseline() -> Router {
    Router::new()
        .route("/", get(constant))
        .route("/ro", get(constant))
        .route("/login/{filler}", get(constant_login))
        .with_state(())
}

/// tower-sessions 0.14 with a `MemoryStore` (server-side; the cookie holds only the id).
pub(crate) fn app_ts_memory() -> Router {
    session_routes()
        .layer(tower_sessions::SessionManagerLayer::new(
            tower_sessions::MemoryStore::default(),
        ))
        .with_state(())
}

/// The `cookie::Key` (64 bytes) for tower-sessions-cookie-store and `PrivateCookieJar`.
fn cookie_key() -> axum_extra::extract::cookie::Key {
    let bytes: Vec<u8> = (0..64u8)
        .map(|i| i.wrapping_mul(13).wrapping_add(5))
        .collect();
    axum_extra::extract::cookie::Key::from(&bytes)
}

/// tower-sessions-cookie-store 0.5 with private (encrypted) cookies.
pub(crate) fn app_tsc_private() -> Router {
    session_routes()
        .layer(tower_sessions_cookie_store::CookieSessionManagerLayer::private(cookie_key()))
        .with_state(())
}

/// The session-API floor (`api_floor`): the real `Session` per request over a store that
/// hands out a one-entry record built in advance, no cookie, no crypto ([`api_floor`]).
pub(crate) fn app_api_floor() -> Router {
    session_routes()
        .layer(api_floor::ApiFloorLayer::new())
        .with_state(())
}

fn sealed_key(byte: u8) -> Key {
    Key::try_from(&[byte; 32][..]).unwrap()
}

/// This crate, one key.
pub(crate) fn app_sealed() -> Router {
    let keys = KeyRing::new(vec![sealed_key(0xA1)]).unwrap();
    session_routes()
        .layer(tower_sessions_sealed::SessionManagerLayer::new(keys))
        .with_state(())
}

/// This crate, one key, with its cookie budget raised from the default 3072 bytes
/// (`DEFAULT_COOKIE_BUDGET`) to 4096, the browser limit: the ~3 KB case's cookie (about 4 KB)
/// exceeds the default budget, which answers `500`.
pub(crate) fn app_sealed_budget_4096() -> Router {
    let keys = KeyRing::new(vec![sealed_key(0xA1)]).unwrap();
    session_routes()
        .layer(tower_sessions_sealed::SessionManagerLayer::new(keys).with_cookie_budget(4096))
        .with_state(())
}

/// This crate under an old key only: issues the cookies for the rotation case.
pub(crate) fn app_sealed_old_key() -> Router {
    let keys = KeyRing::new(vec![sealed_key(0x0B)]).unwrap();
    session_routes()
        .layer(tower_sessions_sealed::SessionManagerLayer::new(keys))
        .with_state(())
}

/// This crate after a rotation: a new first key, the old key still opens.
pub(crate) fn app_sealed_rotated() -> Router {
    let keys = KeyRing::new(vec![sealed_key(0xA1), sealed_key(0x0B)]).unwrap();
    session_routes()
        .layer(tower_sessions_sealed::SessionManagerLayer::new(keys))
        .with_state(())
}

fn jar_cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .build()
}

async fn jar_rw(jar: PrivateCookieJar) -> (PrivateCookieJar, String) {
    let n: u64 = jar
        .get("counter")
        .and_then(|c| c.value().parse().ok())
        .unwrap_or(0);
    let jar = jar.add(jar_cookie("counter", (n + 1).to_string()));
    (jar, (n + 1).to_string())
}

async fn jar_ro(jar: PrivateCookieJar) -> String {
    let n: u64 = jar
        .get("counter")
        .and_then(|c| c.value().parse().ok())
        .unwrap_or(0);
    n.to_string()
}

async fn jar_login(
    jar: PrivateCookieJar,
    Path(_filler): Path<usize>,
) -> (PrivateCookieJar, String) {
    (
        jar.add(jar_cookie("counter", "1".to_owned())),
        "1".to_owned(),
    )
}

/// axum-extra `PrivateCookieJar` holding only the counter (AES-256-GCM, one cookie).
pub(crate) fn app_jar_private() -> Router {
    Router::new()
        .route("/", get(jar_rw))
        .route("/ro", get(jar_ro))
        .route("/login/{filler}", get(jar_login))
        .with_state(cookie_key())
}

fn jar_typed<T: JarData>(jar: &PrivateCookieJar) -> Option<T> {
    jar.get("s")
        .and_then(|c| serde_json::from_str(c.value()).ok())
}

async fn jar_typed_rw<T: JarData>(jar: PrivateCookieJar) -> (PrivateCookieJar, String) {
    let Some(mut data) = jar_typed::<T>(&jar) else {
        return (jar, "0".to_owned());
    };
    *data.counter() += 1;
    let n = *data.counter();
    let jar = jar.add(jar_cookie("s", serde_json::to_string(&data).unwrap()));
    (jar, n.to_string())
}

async fn jar_typed_ro<T: JarData>(jar: PrivateCookieJar) -> String {
    jar_typed::<T>(&jar)
        .map_or(0, |mut d| *d.counter())
        .to_string()
}

async fn jar_typed_login<T: JarData>(
    jar: PrivateCookieJar,
    Path(filler): Path<usize>,
) -> (PrivateCookieJar, String) {
    let data = T::new(filler);
    let jar = jar.add(jar_cookie("s", serde_json::to_string(&data).unwrap()));
    (jar, "1".to_owned())
}

async fn jar_typed_login_shape<T: JarData>(
    jar: PrivateCookieJar,
    Path((_shape, filler)): Path<(String, usize)>,
) -> (PrivateCookieJar, String) {
    jar_typed_login::<T>(jar, Path(filler)).await
}

fn jar_typed_app<T: JarData>() -> Router {
    Router::new()
        .route("/", get(jar_typed_rw::<T>))
        .route("/ro", get(jar_typed_ro::<T>))
        .route("/login/{filler}", get(jar_typed_login::<T>))
        .route("/login/{shape}/{filler}", get(jar_typed_login_shape::<T>))
        .with_state(cookie_key())
}

/// axum-extra `PrivateCookieJar` holding the typical payload as JSON in one private cookie.
pub(crate) fn app_jar_private_typed() -> Router {
    jar_typed_app::<JarSession>()
}

/// The same with the CSRF token as bytes (`Shape::Bytes`).
pub(crate) fn app_jar_private_typed_bytes() -> Router {
    jar_typed_app::<JarSessionBytes>()
}

/// The same with the numeric payload (`Shape::Numeric`).
pub(crate) fn app_jar_private_typed_numeric() -> Router {
    jar_typed_app::<JarSessionNumeric>()
}

// ---------------------------------------------------------------------------------------
// Cases

/// How a case's cookie is obtained before timing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Prime {
    /// No cookie at all: every measured request is a first visit.
    Fresh,
    /// `GET /` twice: the session holds only `counter = 2`.
    Counter,
    /// `GET /login/...` ([`Shape::login_path`]) then `GET /`: the session holds the data
    /// of that shape with that many filler characters, and `counter = 2`.
    Data(Shape, usize),
    /// Nothing to prime (the baseline).
    Nothing,
}

/// What the measured response must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Body `1` (baseline, or a first visit).
    One,
    /// Body is a counter ≥ 2: the session really came from the cookie or the store.
    Steady,
}

/// One middleware case.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Case {
    /// `family/variant`: criterion group and function.
    pub(crate) id: &'static str,
    /// The measured app.
    pub(crate) build: fn() -> Router,
    /// The app that issues the cookie, when it is not the measured app (key rotation).
    pub(crate) issuer: Option<fn() -> Router>,
    pub(crate) prime: Prime,
    /// Measured path: `/` (read+write) or `/ro` (read-only).
    pub(crate) path: &'static str,
    pub(crate) expect: Expect,
    /// Whether the measured response carries a `Set-Cookie`.
    pub(crate) set_cookie: bool,
}

impl Case {
    fn new(id: &'static str, build: fn() -> Router, prime: Prime) -> Self {
        Self {
            id,
            build,
            issuer: None,
            prime,
            path: "/",
            expect: Expect::Steady,
            set_cookie: true,
        }
    }

    fn ro(mut self) -> Self {
        self.path = "/ro";
        self.set_cookie = false;
        self
    }

    fn fresh(mut self) -> Self {
        self.expect = Expect::One;
        self
    }

    /// The family (`sealed`, `ts_memory`, ...), the part before the `/`.
    pub(crate) fn family(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(f, _)| f)
    }

    /// The variant, the part after the `/`.
    pub(crate) fn variant(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(_, v)| v)
    }

    /// The payload shape of the session the case primes (none for fresh and baseline).
    pub(crate) fn shape(&self) -> Option<Shape> {
        match self.prime {
            Prime::Data(shape, _) => Some(shape),
            Prime::Counter => Some(Shape::Str),
            Prime::Fresh | Prime::Nothing => None,
        }
    }

    /// Length of the primed session's data as one JSON object (`{"counter":2}` for a
    /// counter-only session; none for fresh and baseline).
    pub(crate) fn data_json(&self) -> Option<usize> {
        match self.prime {
            Prime::Data(shape, filler) => Some(shape_json_len(shape, filler)),
            Prime::Counter => Some(COUNTER_JSON.len()),
            Prime::Fresh | Prime::Nothing => None,
        }
    }
}

/// A counter-only session's data as JSON.
const COUNTER_JSON: &str = r#"{"counter":2}"#;

/// How a case's app is built.
pub(crate) type Build = fn() -> Router;

/// A case id made at run time (the shape and size-series ids), kept for the process.
fn leak(id: String) -> &'static str {
    Box::leak(id.into_boxed_str())
}

/// The session data sizes (as JSON) of the size series below the budget's limit; the
/// series also has a counter-only session (`series_0B`) and the largest that fits
/// ([`series_max_filler`]).
pub(crate) const SERIES_JSON: [usize; 5] = [256, 512, 1024, 1536, 2048];

/// Filler characters of the largest typical-payload session whose steady `Set-Cookie`
/// stays within this crate's default cookie budget (`DEFAULT_COOKIE_BUDGET`, 3072 bytes),
/// found by bisection on a real `app_sealed` (on a thread of its own, so that it can be
/// called from inside a runtime), once per process.
pub(crate) fn series_max_filler() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = runtime();
            rt.block_on(async {
                let app = app_sealed();
                let fits = |filler: usize| {
                    let app = app.clone();
                    async move {
                        let (login, _) =
                            full_request(&app, &format!("/login/{filler}"), None).await;
                        if login.status() != StatusCode::OK {
                            return false;
                        }
                        let mut jar = Jar::default();
                        jar.update(&login);
                        let (rw, _) = full_request(&app, "/", jar.header().as_ref()).await;
                        let longest = set_cookies(&rw).iter().map(String::len).max();
                        rw.status() == StatusCode::OK
                            && longest
                                .is_some_and(|l| l <= tower_sessions_sealed::DEFAULT_COOKIE_BUDGET)
                    }
                };
                let (mut lo, mut hi) = (0usize, 4096usize);
                assert!(
                    fits(lo).await && !fits(hi).await,
                    "series: no budget boundary"
                );
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if fits(mid).await {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                lo
            })
        })
        .join()
        .unwrap()
    })
}

/// The size series of one family: a counter-only session, then typical payload + filler
/// at each of [`SERIES_JSON`] and at the largest that fits the default budget.
fn series(family: &str, build: fn() -> Router) -> Vec<Case> {
    let max = series_max_filler();
    let max_json = data_json_len(max);
    let mut out = vec![Case::new(
        leak(format!("{family}/series_0B")),
        build,
        Prime::Counter,
    )];
    for json in SERIES_JSON.into_iter().filter(|&j| j < max_json) {
        let filler = filler_for_json(json);
        out.push(Case::new(
            leak(format!("{family}/series_{}B", data_json_len(filler))),
            build,
            Prime::Data(Shape::Str, filler),
        ));
    }
    out.push(Case::new(
        leak(format!("{family}/series_{max_json}B")),
        build,
        Prime::Data(Shape::Str, max),
    ));
    out
}

/// Every middleware case, in report order: the original cases (typical payload, "token as
/// string"), each steady case again for the other payload shapes (`…@bytes`,
/// `…@numeric`), then the size series (`…/series_<n>B`).
pub(crate) fn cases() -> Vec<Case> {
    use Prime::{Counter, Data, Fresh, Nothing};
    let typical = Data(Shape::Str, 0);
    let k1 = Data(Shape::Str, Size::K1.filler());
    let k3 = Data(Shape::Str, Size::K3.filler());
    let mut baseline = Case::new("baseline/rw", app_baseline, Nothing).fresh();
    baseline.set_cookie = false;
    let rotated = Case {
        issuer: Some(app_sealed_old_key),
        set_cookie: true,
        ..Case::new("sealed/rotated_ro", app_sealed_rotated, typical).ro()
    };
    let mut cases = vec![
        baseline,
        // tower-sessions + MemoryStore
        Case::new("ts_memory/fresh", app_ts_memory, Fresh).fresh(),
        Case::new("ts_memory/steady_ro", app_ts_memory, typical).ro(),
        Case::new("ts_memory/steady_rw", app_ts_memory, typical),
        Case::new("ts_memory/rw_counter", app_ts_memory, Counter),
        Case::new("ts_memory/rw_1KB", app_ts_memory, k1),
        Case::new("ts_memory/rw_3KB", app_ts_memory, k3),
        // tower-sessions-cookie-store, private
        Case::new("tsc_private/fresh", app_tsc_private, Fresh).fresh(),
        Case::new("tsc_private/steady_ro", app_tsc_private, typical).ro(),
        Case::new("tsc_private/steady_rw", app_tsc_private, typical),
        Case::new("tsc_private/rw_counter", app_tsc_private, Counter),
        Case::new("tsc_private/rw_1KB", app_tsc_private, k1),
        // axum-extra PrivateCookieJar
        Case::new("jar_private/ro_counter", app_jar_private, Counter).ro(),
        Case::new("jar_private/rw_counter", app_jar_private, Counter),
        Case::new("jar_private/rw_typed_100B", app_jar_private_typed, typical),
        Case::new("jar_private/ro_typed_100B", app_jar_private_typed, typical).ro(),
        // The session-API floor: no cookie, no crypto (its record is fixed: `Nothing` to prime).
        api_floor("api_floor/steady_ro", "/ro"),
        api_floor("api_floor/steady_rw", "/"),
        // this crate
        Case::new("sealed/fresh", app_sealed, Fresh).fresh(),
        Case::new("sealed/steady_ro", app_sealed, typical).ro(),
        Case::new("sealed/steady_rw", app_sealed, typical),
        Case::new("sealed/rw_counter", app_sealed, Counter),
        rotated,
        Case::new("sealed/rw_1KB", app_sealed, k1),
        // ~4 KB of cookie: over the default budget (3072), so this case raises it to 4096.
        Case::new("sealed/rw_3KB", app_sealed_budget_4096, k3),
    ];
    // The other payload shapes, for every steady case.
    for shape in [Shape::Bytes, Shape::Numeric] {
        let data = Data(shape, 0);
        let sfx = shape.suffix();
        let jar: Build = match shape {
            Shape::Bytes => app_jar_private_typed_bytes,
            _ => app_jar_private_typed_numeric,
        };
        let apps: [(&str, Build); 4] = [
            ("ts_memory", app_ts_memory),
            ("tsc_private", app_tsc_private),
            ("jar_private", jar),
            ("sealed", app_sealed),
        ];
        for (family, build) in apps {
            let (rw, ro) = if family == "jar_private" {
                ("rw_typed_100B", "ro_typed_100B")
            } else {
                ("steady_rw", "steady_ro")
            };
            cases.push(Case::new(leak(format!("{family}/{ro}{sfx}")), build, data).ro());
            cases.push(Case::new(leak(format!("{family}/{rw}{sfx}")), build, data));
        }
    }
    // Cost against session size, up to the default cookie budget.
    cases.extend(series("ts_memory", app_ts_memory));
    cases.extend(series("tsc_private", app_tsc_private));
    cases.extend(series("sealed", app_sealed));
    cases
}

/// An `api_floor` case: its layer reads no cookie and sets none, its store holds
/// `counter = 2` whatever is saved.
fn api_floor(id: &'static str, path: &'static str) -> Case {
    Case {
        path,
        set_cookie: false,
        ..Case::new(id, app_api_floor, Prime::Nothing)
    }
}

/// The case with this id.
pub(crate) fn case(id: &str) -> Option<Case> {
    cases().into_iter().find(|c| c.id == id)
}

// ---------------------------------------------------------------------------------------
// Requests

/// The measured request: `GET path` with an optional `Cookie` header, through
/// `Router::clone().oneshot`, body collected. This is exactly what every timing covers.
pub(crate) async fn request(
    app: &Router,
    path: &'static str,
    cookie: Option<&HeaderValue>,
) -> Bytes {
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = Uri::from_static(path);
    if let Some(cookie) = cookie {
        req.headers_mut().insert(header::COOKIE, cookie.clone());
    }
    let response = app.clone().oneshot(req).await.unwrap();
    response.into_body().collect().await.unwrap().to_bytes()
}

/// A request whose whole response is kept, for priming and checks.
pub(crate) async fn full_request(
    app: &Router,
    path: &str,
    cookie: Option<&HeaderValue>,
) -> (Response<()>, Bytes) {
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = path.parse().unwrap();
    if let Some(cookie) = cookie {
        req.headers_mut().insert(header::COOKIE, cookie.clone());
    }
    let response = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (Response::from_parts(parts, ()), bytes)
}

/// The `Set-Cookie` header values of a response.
pub(crate) fn set_cookies(response: &Response<()>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// A browser-like cookie jar: `name=value` pairs, updated from `Set-Cookie`.
#[derive(Default, Debug)]
pub(crate) struct Jar {
    pairs: BTreeMap<String, String>,
}

impl Jar {
    /// Applies every `Set-Cookie` of `response` (removals delete).
    pub(crate) fn update(&mut self, response: &Response<()>) {
        for set_cookie in set_cookies(response) {
            let parsed = Cookie::parse(set_cookie).unwrap();
            let removal =
                parsed.value().is_empty() || parsed.max_age().is_some_and(|age| age.is_zero());
            if removal {
                self.pairs.remove(parsed.name());
            } else {
                self.pairs
                    .insert(parsed.name().to_owned(), parsed.value().to_owned());
            }
        }
    }

    /// The `Cookie` request header, if the jar holds anything.
    pub(crate) fn header(&self) -> Option<HeaderValue> {
        if self.pairs.is_empty() {
            return None;
        }
        let text = self
            .pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        Some(HeaderValue::from_str(&text).unwrap())
    }
}

/// A primed and verified case, ready to be timed.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    pub(crate) case: Case,
    pub(crate) app: Router,
    pub(crate) cookie: Option<HeaderValue>,
}

impl interleave::Measure for Prepared {
    async fn once(&self) {
        std::hint::black_box(request(&self.app, self.case.path, self.cookie.as_ref()).await);
    }
}

/// Sends `path` through `app` with `jar`'s cookies and updates the jar; panics on a non-200.
async fn prime_step(app: &Router, path: &str, jar: &mut Jar) {
    let (response, body) = full_request(app, path, jar.header().as_ref()).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "priming {path} failed: {body:?}"
    );
    jar.update(&response);
}

/// Builds the case's app, obtains its cookie, and checks one measured request:
/// status 200, `Set-Cookie` present or absent as expected, body `1` or a counter ≥ 2.
///
/// # Panics
///
/// When any check fails, naming the case.
pub(crate) async fn prepare(case: &Case) -> Prepared {
    let app = (case.build)();
    let issuer = case.issuer.map(|build| build());
    let prime_app = issuer.as_ref().unwrap_or(&app);
    let mut jar = Jar::default();
    match case.prime {
        Prime::Fresh | Prime::Nothing => {}
        Prime::Counter => {
            prime_step(prime_app, "/", &mut jar).await;
            prime_step(prime_app, "/", &mut jar).await;
        }
        Prime::Data(shape, filler) => {
            prime_step(prime_app, &shape.login_path(filler), &mut jar).await;
            prime_step(prime_app, "/", &mut jar).await;
        }
    }
    let cookie = jar.header();
    if matches!(case.prime, Prime::Counter | Prime::Data(..)) {
        assert!(cookie.is_some(), "{}: priming produced no cookie", case.id);
    }

    let (response, body) = full_request(&app, case.path, cookie.as_ref()).await;
    let id = case.id;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{id}: status, body {body:?}"
    );
    let set = set_cookies(&response);
    assert_eq!(
        !set.is_empty(),
        case.set_cookie,
        "{id}: Set-Cookie expected: {}, got {set:?}",
        case.set_cookie
    );
    let text = std::str::from_utf8(&body).unwrap();
    match case.expect {
        Expect::One => assert_eq!(text, "1", "{id}: body"),
        Expect::Steady => {
            let n: u64 = text
                .parse()
                .unwrap_or_else(|_| panic!("{id}: body {text:?} is not a counter"));
            assert!(n >= 2, "{id}: counter {n} < 2: the session was not read");
        }
    }
    Prepared {
        case: *case,
        app,
        cookie,
    }
}

/// The current-thread runtime every measurement runs on.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}
