//! What overflow to a store and chunking over several cookies cost per request, side by side
//! with tower-sessions 0.14 keeping the same data in the same store, and with
//! tower-sessions-cookie-store 0.5 carrying it in one (too large) cookie.
//!
//! The app and the workload are the middleware bench's (`common`): steady read + write,
//! `Router::clone().oneshot(request)` on a current-thread tokio runtime with its I/O and
//! timer drivers, body collected. Sessions are primed with `GET /login/{filler}` (the typical
//! payload plus a `prefs` string) then `GET /`.
//!
//! Cases (`--list` prints them with the store calls each makes per request):
//!
//! - `baseline/rw`: the same routes without a session layer;
//! - `sealed/steady_rw`: this crate, the typical payload (~150 B), no overflow: the reference
//!   for `sealed_overflow_redis/steady_rw`, the same with `with_overflow(redis)`, which fits
//!   in the cookie and must not touch the store (0 calls, counted);
//! - `sealed_overflow_<redis|postgres>/rw_10KB`: ~10 KB of session data (as JSON), too
//!   large for the cookie, kept sealed in the store: `load` + `save` per request;
//! - `ts_<redis|postgres>/rw_10KB`: tower-sessions 0.14 with the same store and the same
//!   data: `load` + `save` per request;
//! - `sealed_chunks/rw_6KB`: `with_chunks(2)`, a session whose two cookies total about 6 KB
//!   (default budget, 3072 bytes per `Set-Cookie`): two `Set-Cookie`s, both sent back;
//! - `tsc_private/rw_6KB`: the same data in tower-sessions-cookie-store 0.5 (private, its
//!   `max_cookie_bytes` raised from 4096, at which it answers `500`, to 16 KB): one
//!   `Set-Cookie` over 4096 bytes, which browsers drop; driven anyway with it sent back;
//! - `sealed_overflow_<memory|redis>/rw_6KB_no_chunks`: the same data with overflow and
//!   no chunking: one small cookie, `load` + `save` per request.
//!
//! Stores: `MemoryStore` (tower-sessions 0.14), `PostgresStore` (tower-sessions-sqlx-store
//! 0.15, sqlx's default pool, which pings each connection on acquire) on a private
//! PostgreSQL server and `RedisStore` (tower-sessions-redis-store 0.16, fred, a pool of 2)
//! on a private Redis server, both on loopback, set up by `tests/support/backends.rs` as the
//! store suites do.
//!
//! Every case is primed and checked before it is timed: status 200, the expected number of
//! `Set-Cookie`s (and, for chunks, that the client keeps and sends back both), a counter ≥ 2
//! that goes up when the response's cookies are sent back, and the store calls per steady
//! request, counted through a counting wrapper around the same store.
//!
//! Modes (the first matching argument wins; otherwise criterion runs):
//!
//! - `--driver <case-id> <N>`: prime and check the case, then `N` requests without
//!   criterion (for callgrind, as in the other benches; the Redis and PostgreSQL servers are
//!   other processes and are not counted).
//! - `--interleaved <rounds> <slice-ms>`: every case in one process, round-robin: each
//!   round runs every case for one slice (about `slice-ms`), in a new random order, and
//!   records its time per iteration; prints (JSON) the median, p10 and p90 over the rounds
//!   per case, as the revocation bench does (`common::interleave`).
//! - `--sizes`: per case, the data size, the `Set-Cookie`s (count, longest, total) and the
//!   `Cookie` header sent back.
//! - `--list`: the cases (JSON lines).
//!
//! ```sh
//! cargo bench --bench storage                        # criterion, every case
//! cargo bench --bench storage -- sealed_overflow_   # criterion filter
//! cargo bench --bench storage -- --test              # each case once (the checks)
//! ```
//!
//! Criterion writes to `<target>/criterion/storage/`.

#[path = "../tests/support/backends.rs"]
mod backends;

mod common;

use std::cell::OnceCell;
use std::hint::black_box;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use serde_json::json;
use tokio::runtime::Runtime;
use tower_sessions::MemoryStore;
use tower_sessions_core::session_store::SessionStore;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::Pool;
use tower_sessions_sealed::SessionManagerLayer;
use tower_sessions_sqlx_store::PostgresStore;
use tower_sessions_sqlx_store::sqlx::PgPool;

use common::BROWSER_COOKIE_LIMIT;
use common::counting::{self, Counting, Counts};
use common::interleave::{self, Measure, flag_args};
use common::steady::{self, counter, finish, keys, step, ts_app, with_cookie};

/// Session data of the overflow cases, as a JSON object (~10 KB).
const JSON_10KB: usize = 10 * 1024;

/// Session data of the chunk cases, as a JSON object: two chunks of the default budget
/// (3072 bytes per `Set-Cookie`) hold about 4.3 KB; this is about 6 KB of cookies.
const JSON_6KB: usize = 4200;

/// Chunks allowed in the chunk case.
const CHUNKS: usize = 2;

/// Filler characters that make the session data `json` bytes long (as JSON).
fn filler_for(json: usize) -> usize {
    // `,"prefs":""` adds 11 bytes around the filler.
    json - common::data_json_len(0) - 11
}

// ---------------------------------------------------------------------------------------
// Cases

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Memory,
    Postgres,
    Redis,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Postgres => "postgres",
            Backend::Redis => "redis",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Baseline,
    /// This crate, cookie only.
    Sealed,
    /// This crate with `with_overflow(store)`.
    Overflow(Backend),
    /// This crate with `with_chunks(CHUNKS)`.
    Chunks,
    /// tower-sessions 0.14 with the store.
    TowerSessions(Backend),
    /// tower-sessions-cookie-store 0.5, private.
    CookieStore,
}

#[derive(Clone, Debug)]
struct Case {
    id: String,
    kind: Kind,
    /// Session data size as JSON (0: the typical payload alone).
    json: usize,
}

impl Case {
    fn new(id: &str, kind: Kind, json: usize) -> Self {
        Self {
            id: id.to_owned(),
            kind,
            json,
        }
    }

    fn backend(&self) -> Option<Backend> {
        match self.kind {
            Kind::Overflow(b) | Kind::TowerSessions(b) => Some(b),
            _ => None,
        }
    }

    fn filler(&self) -> usize {
        if self.json == 0 {
            0
        } else {
            filler_for(self.json)
        }
    }

    fn data_json(&self) -> usize {
        common::data_json_len(self.filler())
    }

    /// Whether the session is too large for one cookie of this crate's default budget.
    fn large(&self) -> bool {
        self.json > 0
    }

    /// Store calls per measured request: (loads, writes). Checked at every `prepare`.
    fn round_trips(&self) -> (usize, usize) {
        match self.kind {
            Kind::Overflow(_) if !self.large() => (0, 0),
            Kind::Overflow(_) | Kind::TowerSessions(_) => (1, 1),
            _ => (0, 0),
        }
    }

    /// `Set-Cookie`s on a steady read + write.
    fn set_cookies(&self) -> usize {
        match self.kind {
            Kind::Baseline => 0,
            Kind::Chunks => CHUNKS,
            _ => 1,
        }
    }
}

/// Every case, in report order.
fn cases() -> Vec<Case> {
    use Backend::{Memory, Postgres, Redis};
    vec![
        Case::new("baseline/rw", Kind::Baseline, 0),
        // Fits: overflow configured must cost nothing.
        Case::new("sealed/steady_rw", Kind::Sealed, 0),
        Case::new("sealed_overflow_redis/steady_rw", Kind::Overflow(Redis), 0),
        // ~10 KB in a store.
        Case::new(
            "sealed_overflow_redis/rw_10KB",
            Kind::Overflow(Redis),
            JSON_10KB,
        ),
        Case::new("ts_redis/rw_10KB", Kind::TowerSessions(Redis), JSON_10KB),
        Case::new(
            "sealed_overflow_postgres/rw_10KB",
            Kind::Overflow(Postgres),
            JSON_10KB,
        ),
        Case::new(
            "ts_postgres/rw_10KB",
            Kind::TowerSessions(Postgres),
            JSON_10KB,
        ),
        // ~6 KB of cookies: two chunks, one oversized cookie, or the store.
        Case::new("sealed_chunks/rw_6KB", Kind::Chunks, JSON_6KB),
        Case::new("tsc_private/rw_6KB", Kind::CookieStore, JSON_6KB),
        Case::new(
            "sealed_overflow_memory/rw_6KB_no_chunks",
            Kind::Overflow(Memory),
            JSON_6KB,
        ),
        Case::new(
            "sealed_overflow_redis/rw_6KB_no_chunks",
            Kind::Overflow(Redis),
            JSON_6KB,
        ),
    ]
}

fn case(id: &str) -> Option<Case> {
    cases().into_iter().find(|c| c.id == id)
}

// ---------------------------------------------------------------------------------------
// Stores and servers

/// One of the real stores.
#[derive(Clone, Debug)]
enum AnyStore {
    Memory(MemoryStore),
    Postgres(PostgresStore),
    Redis(RedisStore<Pool>),
}

/// `$body` with `$s` bound to the concrete store (each arm is monomorphized separately, as
/// an application would use its one store).
macro_rules! with_store {
    ($store:expr, $s:ident => $body:expr) => {
        match $store {
            AnyStore::Memory($s) => $body,
            AnyStore::Postgres($s) => $body,
            AnyStore::Redis($s) => $body,
        }
    };
}

/// Every backend, started on first use and kept (servers included) until the process ends.
#[derive(Default)]
struct Backends {
    memory: OnceCell<MemoryStore>,
    postgres: OnceCell<(PostgresStore, PgPool, backends::servers::Postgres)>,
    redis: OnceCell<(RedisStore<Pool>, Pool, backends::servers::Redis)>,
}

impl Backends {
    /// The store of `backend`; starts it (and its server) the first time. Must not be called
    /// from inside the runtime.
    fn store(&self, rt: &Runtime, backend: Backend) -> AnyStore {
        match backend {
            Backend::Memory => {
                AnyStore::Memory(self.memory.get_or_init(MemoryStore::default).clone())
            }
            Backend::Postgres => {
                let (store, _, _) = self
                    .postgres
                    .get_or_init(|| rt.block_on(backends::postgres()));
                AnyStore::Postgres(store.clone())
            }
            Backend::Redis => {
                let (store, _, _) = self.redis.get_or_init(|| rt.block_on(backends::redis()));
                AnyStore::Redis(store.clone())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Apps

/// This crate with overflow to `store`.
fn overflow_app<S: SessionStore>(store: S) -> Router {
    finish(SessionManagerLayer::new(keys()).with_overflow(store))
}

/// tower-sessions-cookie-store 0.5, private, as `common::app_tsc_private` (the same key)
/// but with its cookie limit (`max_cookie_bytes`, default 4096, above which it answers `500`)
/// raised to 16 KB, so that it emits the oversized cookie.
fn tsc_app() -> Router {
    let bytes: Vec<u8> = (0..64u8)
        .map(|i| i.wrapping_mul(13).wrapping_add(5))
        .collect();
    let key = tower_sessions_cookie_store::Key::from(&bytes);
    let config = tower_sessions_cookie_store::CookieSessionConfig::default()
        .with_max_cookie_bytes(16 * 1024);
    common::session_routes_with_logout()
        .layer(
            tower_sessions_cookie_store::CookieSessionManagerLayer::private(key)
                .with_config(config),
        )
        .with_state(())
}

/// The measured app.
fn build(case: &Case, store: Option<&AnyStore>) -> Router {
    match (case.kind, store) {
        (Kind::Baseline, _) => common::app_baseline(),
        (Kind::Sealed, _) => finish(SessionManagerLayer::new(keys())),
        (Kind::Chunks, _) => finish(SessionManagerLayer::new(keys()).with_chunks(CHUNKS)),
        (Kind::CookieStore, _) => tsc_app(),
        (Kind::Overflow(_), Some(store)) => with_store!(store.clone(), s => overflow_app(s)),
        (Kind::TowerSessions(_), Some(store)) => with_store!(store.clone(), s => ts_app(s)),
        _ => unreachable!("{}: no app", case.id),
    }
}

/// The same app over a counting wrapper of the same store, and its counters.
fn build_counting(case: &Case, store: &AnyStore) -> (Router, Counts) {
    with_store!(store.clone(), s => {
        let counting = Counting::new(s);
        let counts = counting.clone();
        let app = match case.kind {
            Kind::Overflow(_) => overflow_app(counting),
            Kind::TowerSessions(_) => ts_app(counting),
            _ => unreachable!(),
        };
        (app, Box::new(move || counts.counts()) as Counts)
    })
}

// ---------------------------------------------------------------------------------------
// Priming and checks

struct Prepared {
    app: Router,
    cookie: Option<HeaderValue>,
}

impl Measure for Prepared {
    async fn once(&self) {
        black_box(common::request(&self.app, "/", self.cookie.as_ref()).await);
    }
}

/// Login with the case's data, then `GET /`: the steady cookie (counter 2).
async fn prime(case: &Case, app: &Router) -> (common::Jar, HeaderValue) {
    steady::prime(&case.id, app, case.filler()).await
}

/// The names in a `Cookie` header.
fn cookie_names(header: &HeaderValue) -> Vec<String> {
    header
        .to_str()
        .unwrap()
        .split("; ")
        .filter_map(|pair| pair.split_once('=').map(|(n, _)| n.to_owned()))
        .collect()
}

/// Primes the case and checks it (see the module docs).
async fn prepare_request(case: &Case, app: Router, store: Option<&AnyStore>) -> Prepared {
    let id = &*case.id;
    if case.kind == Kind::Baseline {
        steady::check_baseline(id, &app).await;
        return Prepared { app, cookie: None };
    }
    let (mut jar, cookie) = prime(case, &app).await;

    // The measured request: status, Set-Cookies, the counter going up.
    let (status, body, set) = step(&app, "/", &mut jar).await;
    assert_eq!(status, StatusCode::OK, "{id}: status, body {body:?}");
    assert_eq!(
        set.len(),
        case.set_cookies(),
        "{id}: Set-Cookies on a read + write: {:?}",
        set.iter().map(String::len).collect::<Vec<_>>()
    );
    let longest = set.iter().map(String::len).max().unwrap_or(0);
    match case.kind {
        Kind::CookieStore => assert!(
            longest > BROWSER_COOKIE_LIMIT,
            "{id}: the Set-Cookie ({longest} bytes) would be kept by browsers; the case \
             is about one they drop"
        ),
        _ => assert!(
            longest <= BROWSER_COOKIE_LIMIT,
            "{id}: a Set-Cookie of {longest} bytes, which browsers drop"
        ),
    }
    if case.kind == Kind::Chunks {
        // The client stores both chunks and sends both back.
        let names = cookie_names(&cookie);
        assert_eq!(names.len(), CHUNKS, "{id}: cookies sent back: {names:?}");
        let sent = cookie_names(&jar.header().unwrap());
        assert_eq!(sent, names, "{id}: the jar does not keep both chunks");
    }
    if matches!(case.kind, Kind::Overflow(_)) {
        // Overflowed: a small reference; fits: the session itself.
        let expected_small = case.large();
        assert_eq!(
            cookie.len() < 200,
            expected_small,
            "{id}: cookie of {} bytes",
            cookie.len()
        );
    }
    let n = counter(id, &body);
    assert!(n >= 2, "{id}: counter {n} < 2: the session was not read");
    let (_, next, _) = step(&app, "/", &mut jar).await;
    assert_eq!(counter(id, &next), n + 1, "{id}: the counter did not go up");
    let (_, again, _) = with_cookie(&app, "/", &cookie).await;
    let again = counter(id, &again);
    match case.kind {
        // Server-side (tower-sessions, or overflow with a small reference): the same cookie
        // finds the counter the last request saved.
        Kind::TowerSessions(_) => assert_eq!(again, n + 2, "{id}: not persisted in the store"),
        Kind::Overflow(_) if case.large() => {
            assert_eq!(again, n + 2, "{id}: not persisted in the store")
        }
        // Stateless: the same cookie carries the same counter.
        _ => assert_eq!(again, n, "{id}: the cookie does not carry the session"),
    }

    if let Some(store) = store {
        check_round_trips(case, store).await;
    }

    // The measured cookie is still good after all of that.
    let (status, body, set) = with_cookie(&app, "/", &cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{id}: status after the checks, body {body:?}"
    );
    assert!(
        set.len() == case.set_cookies() && counter(id, &body) >= 2,
        "{id}: measured cookie after the checks"
    );
    Prepared {
        app,
        cookie: Some(cookie),
    }
}

/// The same configuration over a counting wrapper of the same store makes exactly the
/// case's store calls per steady request.
async fn check_round_trips(case: &Case, store: &AnyStore) {
    let (app, counts) = build_counting(case, store);
    counting::check_store_calls(&case.id, &app, &counts, case.filler(), case.round_trips()).await;
}

/// Starts what the case needs, builds, primes and checks it. Call outside the runtime.
fn prepare(rt: &Runtime, backends: &Backends, case: &Case) -> Prepared {
    let store = case.backend().map(|b| backends.store(rt, b));
    let app = build(case, store.as_ref());
    rt.block_on(prepare_request(case, app, store.as_ref()))
}

// ---------------------------------------------------------------------------------------
// Modes

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some((id, n)) = flag_args::<String, u64>(&args, "--driver", "<case-id> <N>") {
        driver(&id, n);
        return;
    }
    if let Some((rounds, slice)) = flag_args(&args, "--interleaved", "<rounds> <slice-ms>") {
        interleaved(rounds, StdDuration::from_millis(slice));
        return;
    }
    if args.iter().any(|a| a == "--sizes") {
        sizes();
        return;
    }
    if args.iter().any(|a| a == "--list") {
        for case in cases() {
            let (loads, writes) = case.round_trips();
            let (family, variant) = interleave::split_id(&case.id);
            println!(
                "{}",
                json!({
                    "id": case.id,
                    "family": family,
                    "variant": variant,
                    "backend": case.backend().map(Backend::label),
                    "kind": format!("{:?}", case.kind),
                    "data_json": case.data_json(),
                    "set_cookies": case.set_cookies(),
                    "loads": loads,
                    "writes": writes,
                })
            );
        }
        return;
    }

    let mut criterion = interleave::criterion("storage");
    let rt = steady::runtime();
    let backends = Backends::default();
    let cases = cases();
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    interleave::bench_families(&mut criterion, &rt, &ids, |i| {
        prepare(&rt, &backends, &cases[i])
    });
    criterion.final_summary();
}

/// `--driver`: prime, check, then `n` requests in one `block_on`.
fn driver(id: &str, n: u64) {
    let case = case(id).unwrap_or_else(|| panic!("no case {id:?}; see --list"));
    let rt = steady::runtime();
    let backends = Backends::default();
    let prepared = prepare(&rt, &backends, &case);
    interleave::drive(&rt, &prepared, n);
    eprintln!("driver: {id} x {n} done");
}

/// `--interleaved`: every case round-robin in slices (`common::interleave::interleaved`).
fn interleaved(rounds: usize, slice: StdDuration) {
    let rt = steady::runtime();
    let backends = Backends::default();
    let cases = cases();
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let prepared = cases.iter().map(|c| prepare(&rt, &backends, c)).collect();
    interleave::interleaved(&rt, &ids, prepared, rounds, slice, |_, _| None);
}

/// `--sizes`: per case, the session data (JSON bytes), the `Set-Cookie`s of a steady read +
/// write and the `Cookie` header sent back. Stores: `MemoryStore` only (sizes do not depend
/// on it).
fn sizes() {
    let rt = steady::runtime();
    rt.block_on(async {
        let store = AnyStore::Memory(MemoryStore::default());
        for case in cases().into_iter().filter(|c| c.kind != Kind::Baseline) {
            let app = build(&case, Some(&store));
            let (_, cookie) = prime(&case, &app).await;
            let (response, _) = common::full_request(&app, "/", Some(&cookie)).await;
            let set = common::set_cookies(&response);
            println!(
                "{}",
                json!({
                    "id": case.id,
                    "data_json": case.data_json(),
                    "set_cookies": set.len(),
                    "set_cookie_max": set.iter().map(String::len).max().unwrap_or(0),
                    "set_cookie_total": set.iter().map(String::len).sum::<usize>(),
                    "cookie_header": cookie.len(),
                })
            );
        }
    });
}
