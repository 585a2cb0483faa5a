//! What revocation costs per request, on every backend, side by side with tower-sessions 0.14
//! keeping the same session in the same store.
//!
//! The app and the workload are the middleware bench's (`common`): steady read + write with
//! the typical payload, `Router::clone().oneshot(request)` on a current-thread tokio runtime,
//! body collected. Here the runtime also has its I/O and timer drivers, since the stores
//! talk to servers, and the routes also have `GET /logout` (`Session::flush`), used once per
//! case to check that revocation is on.
//!
//! Cases (`--list` prints them with the store round trips each makes per request):
//!
//! - `baseline/rw`: the same routes without a session layer;
//! - `sealed/steady_rw`: this crate without revocation, the reference;
//! - `sealed_rev_<backend>/steady_rw`: `with_revocation(store)`, one `store.load` per request;
//! - `sealed_rev_<backend>/revalidate_60s`: also `with_revalidate_every(60 s)`: no store
//!   round trip within the interval (the whole measurement);
//! - `sealed_rev_<backend>/subject`: also `with_revocation_subject(Subject::key("user_id"))`:
//!   two concurrent `store.load`s per request;
//! - `ts_<backend>/steady_rw`: tower-sessions 0.14 `SessionManagerLayer::new(store)`, the
//!   session kept server-side: `load` + `save` per request;
//! - `store_<backend>/lookup` and `store_<backend>/load_save`: the store calls alone, outside
//!   any request (`load` of a missing id, as a revocation check; `load` + `save` of the
//!   typical record, as tower-sessions does), to tell the store's cost from the layer's.
//!
//! Backends: `MemoryStore` (tower-sessions 0.14), `SqliteStore` (tower-sessions-sqlx-store
//! 0.15, a file-backed database in WAL mode with `synchronous = NORMAL`, in a temp dir),
//! `PostgresStore` on a private PostgreSQL server (`postgres_noping`: the same server through a
//! pool with `test_before_acquire(false)`) and `RedisStore` (tower-sessions-redis-store
//! 0.16, fred, a pool of 2) on a private Redis server, both on loopback
//! (`tests/support/servers.rs`). sqlx pools otherwise keep their defaults: every acquire
//! pings the connection first (`test_before_acquire`), and every release pings it again
//! (sqlx 0.8 always does, in a spawned task), for both layers alike.
//!
//! Every case is primed and checked before it is timed: status 200, a `Set-Cookie`, a
//! counter ≥ 2 that goes up when the response's cookie is sent back; for tower-sessions the
//! counter also goes up with the *same* cookie (the session really is in the store); the
//! round trips per request are counted through a counting wrapper around the same store; and
//! revocation is really on: after a logout the old cookie opens as a fresh session (for
//! `revalidate_60s`, on a layer with the same keys and store that checks every request,
//! while the amortized layer still accepts it, as documented).
//!
//! Modes (the first matching argument wins; otherwise criterion runs):
//!
//! - `--driver <case-id> <N>`: prime and check the case, then `N` requests without
//!   criterion (for callgrind/dhat, as in the middleware bench). Callgrind and dhat see only
//!   this process: the PostgreSQL and Redis servers (other processes) and the kernel are
//!   not counted; SQLite runs inside this process (sqlx's worker thread) and is counted.
//! - `--timing <case-id> <seconds>`: requests for about that long, natively; prints (JSON)
//!   the wall time per request and the CPU time (user + system, from `/proc`) of this
//!   process and of the store's server processes, to tell computing from waiting.
//! - `--interleaved <rounds> <slice-ms>`: every case in one process, round-robin: each
//!   round runs every case for one slice (about `slice-ms`), in a new random order, and records
//!   its time per iteration; prints (JSON) the median, p10 and p90 over the rounds per case.
//!   Background load then hits every case alike, so ratios between cases hold up on a noisy
//!   machine better than criterion's one-case-after-another.
//! - `--sizes`: the `Set-Cookie` lengths of the typical payload with and without revocation.
//! - `--list`: the cases (JSON lines).
//!
//! ```sh
//! cargo bench --bench revocation                       # criterion, every case
//! cargo bench --bench revocation -- sealed_rev_redis/  # criterion filter
//! cargo bench --bench revocation -- --test             # each case once (the checks)
//! ```
//!
//! Criterion writes to `<target>/criterion/revocation/`, apart from the middleware bench,
//! whose `sealed/steady_rw` and `ts_memory/steady_rw` have the same ids.

#[path = "../tests/support/servers.rs"]
mod servers;

mod common;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::runtime::Runtime;
use tower_sessions::MemoryStore;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{Builder, ClientLike as _, Config, Pool};
use tower_sessions_sealed::{SessionManagerLayer, Subject};
use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
use tower_sessions_sqlx_store::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use tower_sessions_sqlx_store::sqlx::{PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use common::Jar;
use common::counting::{self, Counting, Counts};
use common::interleave::{self, Measure, flag_args};
use common::steady::{self, counter, finish, keys, step, ts_app, with_cookie};

/// The revalidation interval of the `revalidate_60s` cases.
const REVALIDATE: Duration = Duration::seconds(60);

/// A `revalidate_60s` measurement must end this long after priming, so that no check falls
/// due while it runs (the measured cookie stays the primed one).
const REVALIDATE_MARGIN: StdDuration = StdDuration::from_secs(50);

// ---------------------------------------------------------------------------------------
// Cases

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Memory,
    Sqlite,
    Postgres,
    Redis,
    /// The same PostgreSQL server through a second pool that does not ping on acquire
    /// (`PgPoolOptions::test_before_acquire(false)`); only `steady_rw` cases.
    PostgresNoPing,
}

impl Backend {
    const ALL: [Backend; 4] = [
        Backend::Memory,
        Backend::Sqlite,
        Backend::Postgres,
        Backend::Redis,
    ];

    fn label(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Redis => "redis",
            Backend::PostgresNoPing => "postgres_noping",
        }
    }
}

/// How the revocation layer checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// Every request: one lookup.
    EveryRequest,
    /// `with_revalidate_every(60 s)`: none within the interval.
    Revalidate,
    /// With a subject: two concurrent lookups per request.
    Subject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Baseline,
    Sealed,
    Revocation(Backend, Check),
    TowerSessions(Backend),
    Lookup(Backend),
    LoadSave(Backend),
}

#[derive(Clone, Debug)]
struct Case {
    id: String,
    kind: Kind,
}

impl Case {
    fn new(id: String, kind: Kind) -> Self {
        Self { id, kind }
    }

    fn backend(&self) -> Option<Backend> {
        match self.kind {
            Kind::Baseline | Kind::Sealed => None,
            Kind::Revocation(b, _)
            | Kind::TowerSessions(b)
            | Kind::Lookup(b)
            | Kind::LoadSave(b) => Some(b),
        }
    }

    /// Store calls per measured request: (loads, writes). Checked at every `prepare`.
    fn round_trips(&self) -> (usize, usize) {
        match self.kind {
            Kind::Baseline | Kind::Sealed => (0, 0),
            Kind::Revocation(_, Check::EveryRequest) => (1, 0),
            Kind::Revocation(_, Check::Revalidate) => (0, 0),
            Kind::Revocation(_, Check::Subject) => (2, 0),
            Kind::TowerSessions(_) | Kind::LoadSave(_) => (1, 1),
            Kind::Lookup(_) => (1, 0),
        }
    }

    /// Whether the measured thing is a request through a `Router` (else store calls).
    fn is_request(&self) -> bool {
        !matches!(self.kind, Kind::Lookup(_) | Kind::LoadSave(_))
    }
}

/// Every case, in report order: per backend, the revocation variants, tower-sessions with
/// the same store, then the store calls alone.
fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::new("baseline/rw".into(), Kind::Baseline),
        Case::new("sealed/steady_rw".into(), Kind::Sealed),
    ];
    for b in Backend::ALL {
        let l = b.label();
        if b == Backend::Redis {
            // sqlx's default pool pings every connection it hands out: the same store
            // without that, for both layers.
            let np = Backend::PostgresNoPing.label();
            cases.extend([
                Case::new(
                    format!("sealed_rev_{np}/steady_rw"),
                    Kind::Revocation(Backend::PostgresNoPing, Check::EveryRequest),
                ),
                Case::new(
                    format!("ts_{np}/steady_rw"),
                    Kind::TowerSessions(Backend::PostgresNoPing),
                ),
            ]);
        }
        cases.extend([
            Case::new(
                format!("sealed_rev_{l}/steady_rw"),
                Kind::Revocation(b, Check::EveryRequest),
            ),
            Case::new(
                format!("sealed_rev_{l}/revalidate_60s"),
                Kind::Revocation(b, Check::Revalidate),
            ),
            Case::new(
                format!("sealed_rev_{l}/subject"),
                Kind::Revocation(b, Check::Subject),
            ),
            Case::new(format!("ts_{l}/steady_rw"), Kind::TowerSessions(b)),
            Case::new(format!("store_{l}/lookup"), Kind::Lookup(b)),
            Case::new(format!("store_{l}/load_save"), Kind::LoadSave(b)),
        ]);
    }
    cases
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
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
    Redis(RedisStore<Pool>),
}

/// `$body` with `$s` bound to the concrete store (each arm is monomorphized separately, as
/// an application would use its one store).
macro_rules! with_store {
    ($store:expr, $s:ident => $body:expr) => {
        match $store {
            AnyStore::Memory($s) => $body,
            AnyStore::Sqlite($s) => $body,
            AnyStore::Postgres($s) => $body,
            AnyStore::Redis($s) => $body,
        }
    };
}

impl AnyStore {
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        with_store!(self, s => s.load(id).await)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        with_store!(self, s => s.save(record).await)
    }

    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        with_store!(self, s => s.create(record).await)
    }
}

/// The SQLite database's directory, removed on drop.
#[derive(Debug)]
struct SqliteDir(PathBuf);

impl Drop for SqliteDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every backend, started on first use and kept (servers included) until the process ends.
#[derive(Default)]
struct Backends {
    memory: OnceCell<MemoryStore>,
    sqlite: OnceCell<(SqliteStore, SqlitePool, SqliteDir)>,
    postgres: OnceCell<(PostgresStore, PgPool, servers::Postgres)>,
    postgres_noping: OnceCell<(PostgresStore, PgPool)>,
    redis: OnceCell<(RedisStore<Pool>, Pool, servers::Redis)>,
}

impl Backends {
    /// The store of `backend`; starts it (and its server) the first time. Must not be called
    /// from inside the runtime.
    fn store(&self, rt: &Runtime, backend: Backend) -> AnyStore {
        match backend {
            Backend::Memory => {
                AnyStore::Memory(self.memory.get_or_init(MemoryStore::default).clone())
            }
            Backend::Sqlite => {
                let (store, _, _) = self.sqlite.get_or_init(|| rt.block_on(sqlite()));
                AnyStore::Sqlite(store.clone())
            }
            Backend::Postgres => {
                let (store, _, _) = self.postgres.get_or_init(|| rt.block_on(postgres()));
                AnyStore::Postgres(store.clone())
            }
            Backend::Redis => {
                let (store, _, _) = self.redis.get_or_init(|| rt.block_on(redis()));
                AnyStore::Redis(store.clone())
            }
            Backend::PostgresNoPing => {
                let (_, _, server) = self.postgres.get_or_init(|| rt.block_on(postgres()));
                let url = server.url();
                let (store, _) = self
                    .postgres_noping
                    .get_or_init(|| rt.block_on(postgres_noping(&url)));
                AnyStore::Postgres(store.clone())
            }
        }
    }

    /// The pids of the server processes behind `backend` (none for in-process stores).
    fn server_pids(&self, backend: Backend) -> Vec<u32> {
        match backend {
            Backend::Memory | Backend::Sqlite => Vec::new(),
            Backend::Postgres | Backend::PostgresNoPing => self
                .postgres
                .get()
                .map(|(_, _, server)| postgres_pids(server.dir()))
                .unwrap_or_default(),
            Backend::Redis => self
                .redis
                .get()
                .and_then(|(_, _, server)| read_pid(&server.dir().join("redis.pid")))
                .into_iter()
                .collect(),
        }
    }
}

async fn sqlite() -> (SqliteStore, SqlitePool, SqliteDir) {
    let dir = SqliteDir(servers::fresh_dir("sqlite-bench"));
    let options = SqliteConnectOptions::new()
        .filename(dir.0.join("sessions.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .expect("SQLite pool");
    let store = SqliteStore::new(pool.clone());
    store.migrate().await.expect("SQLite migration");
    (store, pool, dir)
}

async fn postgres() -> (PostgresStore, PgPool, servers::Postgres) {
    let server = servers::Postgres::start();
    let pool = PgPool::connect(&server.url())
        .await
        .expect("PostgreSQL pool");
    let store = PostgresStore::new(pool.clone());
    store.migrate().await.expect("PostgreSQL migration");
    (store, pool, server)
}

/// A second pool on the server of [`postgres`], without the ping on every acquire (the
/// ping on release, which sqlx 0.8 always sends, stays).
async fn postgres_noping(url: &str) -> (PostgresStore, PgPool) {
    let pool = PgPoolOptions::new()
        .test_before_acquire(false)
        .connect(url)
        .await
        .expect("PostgreSQL pool");
    let store = PostgresStore::new(pool.clone());
    store.migrate().await.expect("PostgreSQL migration");
    (store, pool)
}

async fn redis() -> (RedisStore<Pool>, Pool, servers::Redis) {
    let server = servers::Redis::start();
    let config = Config::from_url(&server.url()).expect("Redis URL");
    let pool = Builder::from_config(config)
        .build_pool(2)
        .expect("Redis pool");
    pool.init().await.expect("Redis connection");
    (RedisStore::new(pool.clone()), pool, server)
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The postmaster (first line of `postmaster.pid`) and its children (backends, background
/// workers).
fn postgres_pids(dir: &Path) -> Vec<u32> {
    let Some(postmaster) = read_pid(&dir.join("data").join("postmaster.pid")) else {
        return Vec::new();
    };
    let mut pids = vec![postmaster];
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if proc_stat(pid).is_some_and(|s| s.ppid == postmaster) {
                pids.push(pid);
            }
        }
    }
    pids
}

struct ProcStat {
    ppid: u32,
    /// utime (user), in clock ticks.
    user: u64,
    /// stime (system), in clock ticks.
    system: u64,
}

/// Fields of `/proc/<pid>/stat` (proc(5)): after the `(comm)`, state is field 3, ppid 4,
/// utime 14, stime 15.
fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        ppid: fields.get(1)?.parse().ok()?,
        user: fields.get(11)?.parse().ok()?,
        system: fields.get(12)?.parse().ok()?,
    })
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

// ---------------------------------------------------------------------------------------
// Apps

/// This crate with revocation on `store`, checking as `check` says.
fn revocation_layer<S: SessionStore>(store: S, check: Check) -> SessionManagerLayer {
    let layer = SessionManagerLayer::new(keys()).with_revocation(store);
    match check {
        Check::EveryRequest => layer,
        Check::Revalidate => layer.with_revalidate_every(REVALIDATE),
        Check::Subject => layer.with_revocation_subject(Subject::key("user_id")),
    }
}

/// The measured app of a request case.
fn build(case: &Case, store: Option<&AnyStore>) -> Router {
    match (case.kind, store) {
        (Kind::Baseline, _) => common::app_baseline(),
        (Kind::Sealed, _) => finish(SessionManagerLayer::new(keys())),
        (Kind::Revocation(_, check), Some(store)) => {
            with_store!(store.clone(), s => finish(revocation_layer(s, check)))
        }
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
            Kind::Revocation(_, check) => finish(revocation_layer(counting, check)),
            Kind::TowerSessions(_) => ts_app(counting),
            _ => unreachable!(),
        };
        (app, Box::new(move || counts.counts()) as Counts)
    })
}

// ---------------------------------------------------------------------------------------
// Priming and checks

/// What one measured iteration does.
enum Measured {
    Request {
        app: Router,
        cookie: Option<HeaderValue>,
    },
    Lookup {
        store: AnyStore,
        id: Id,
    },
    LoadSave {
        store: AnyStore,
        id: Id,
    },
}

struct Prepared {
    case: Case,
    measured: Measured,
    /// When the measured cookie was issued (the `revalidate_60s` interval runs from there).
    primed: Instant,
}

impl Measure for Prepared {
    async fn once(&self) {
        match &self.measured {
            Measured::Request { app, cookie } => {
                black_box(common::request(app, "/", cookie.as_ref()).await);
            }
            Measured::Lookup { store, id } => {
                black_box(store.load(id).await.unwrap());
            }
            Measured::LoadSave { store, id } => {
                let record = store.load(id).await.unwrap().unwrap();
                store.save(black_box(&record)).await.unwrap();
            }
        }
    }

    /// Panics if a `revalidate_60s` measurement ran so long that a check may have fallen due.
    fn after(&self) {
        if matches!(self.case.kind, Kind::Revocation(_, Check::Revalidate)) {
            assert!(
                self.primed.elapsed() < REVALIDATE_MARGIN,
                "{}: the measurement ran {:?} after priming; a revalidation may have fallen \
                 due (use a smaller N)",
                self.case.id,
                self.primed.elapsed()
            );
        }
    }
}

/// Login with the typical payload, then `GET /`: the steady cookie (counter 2).
async fn prime(id: &str, app: &Router) -> (Jar, HeaderValue) {
    steady::prime(id, app, 0).await
}

/// Primes a request case and checks it (see the module docs).
async fn prepare_request(case: &Case, app: Router, store: Option<&AnyStore>) -> Prepared {
    let id = &*case.id;
    if case.kind == Kind::Baseline {
        steady::check_baseline(id, &app).await;
        return Prepared {
            case: case.clone(),
            measured: Measured::Request { app, cookie: None },
            primed: Instant::now(),
        };
    }
    let primed = Instant::now();
    let (mut jar, cookie) = prime(id, &app).await;

    // The measured request, and the counter going up.
    let (status, body, set) = step(&app, "/", &mut jar).await;
    assert_eq!(status, StatusCode::OK, "{id}: status, body {body:?}");
    assert!(!set.is_empty(), "{id}: no Set-Cookie on a read + write");
    let n = counter(id, &body);
    assert!(n >= 2, "{id}: counter {n} < 2: the session was not read");
    let (_, next, _) = step(&app, "/", &mut jar).await;
    assert_eq!(counter(id, &next), n + 1, "{id}: the counter did not go up");
    let (_, again, _) = with_cookie(&app, "/", &cookie).await;
    match case.kind {
        // Server-side: the same cookie finds the counter the last request saved.
        Kind::TowerSessions(_) => assert_eq!(
            counter(id, &again),
            n + 2,
            "{id}: the session is not persisted in the store"
        ),
        // Stateless: the same cookie carries the same counter.
        _ => assert_eq!(
            counter(id, &again),
            n,
            "{id}: the cookie does not carry the session"
        ),
    }

    if let Some(store) = store {
        check_round_trips(case, store).await;
    }
    if let (Kind::Revocation(_, check), Some(store)) = (case.kind, store) {
        check_revocation(case, check, &app, store).await;
    }

    // The measured cookie is still good after all of that.
    let (status, body, set) = with_cookie(&app, "/", &cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{id}: status after the checks, body {body:?}"
    );
    assert!(
        !set.is_empty() && counter(id, &body) >= 2,
        "{id}: measured cookie after the checks"
    );
    Prepared {
        case: case.clone(),
        measured: Measured::Request {
            app,
            cookie: Some(cookie),
        },
        primed,
    }
}

/// The same configuration over a counting wrapper of the same store makes exactly the
/// case's round trips per steady request.
async fn check_round_trips(case: &Case, store: &AnyStore) {
    let (app, counts) = build_counting(case, store);
    counting::check_store_calls(&case.id, &app, &counts, 0, case.round_trips()).await;
}

/// After a logout, the old cookie opens as a fresh session (`/ro` answers 0).
async fn check_revocation(case: &Case, check: Check, app: &Router, store: &AnyStore) {
    let id = &*case.id;
    let mut jar = Jar::default();
    let (status, _, _) = step(app, "/login/0", &mut jar).await;
    assert_eq!(status, StatusCode::OK, "{id}: login");
    let old = jar.header().unwrap();
    let (_, body, _) = with_cookie(app, "/ro", &old).await;
    assert_eq!(body, "1", "{id}: fresh login does not read back");
    let (status, _, set) = step(app, "/logout", &mut jar).await;
    assert!(status == StatusCode::OK && !set.is_empty(), "{id}: logout");
    assert!(
        jar.header().is_none(),
        "{id}: logout did not remove the cookie"
    );
    if check == Check::Revalidate {
        // Within the interval the amortized layer still accepts the copy (documented) ...
        let (_, body, _) = with_cookie(app, "/ro", &old).await;
        assert_eq!(body, "1", "{id}: revalidation is not amortized");
        // ... and a layer that checks every request, over the same store, refuses it: the
        // logout wrote its tombstone.
        let strict =
            with_store!(store.clone(), s => finish(revocation_layer(s, Check::EveryRequest)));
        let (status, body, _) = with_cookie(&strict, "/ro", &old).await;
        assert_eq!(
            (status, &*body),
            (StatusCode::OK, "0"),
            "{id}: no tombstone after logout"
        );
    } else {
        let (status, body, _) = with_cookie(app, "/ro", &old).await;
        assert_eq!(
            (status, &*body),
            (StatusCode::OK, "0"),
            "{id}: a logged-out cookie still opens: revocation is off"
        );
    }
}

/// The typical payload as a tower-sessions `Record`.
fn typical_record() -> Record {
    Record {
        id: Id::default(),
        data: common::session_data(0)
            .into_iter()
            .collect::<HashMap<_, _>>(),
        expiry_date: OffsetDateTime::now_utc() + Duration::weeks(2),
    }
}

/// Builds and checks a store case.
async fn prepare_store(case: &Case, store: AnyStore) -> Prepared {
    let id = &*case.id;
    let measured = match case.kind {
        Kind::Lookup(_) => {
            let missing = Id::default();
            assert!(
                store.load(&missing).await.unwrap().is_none(),
                "{id}: a random id exists"
            );
            Measured::Lookup { store, id: missing }
        }
        Kind::LoadSave(_) => {
            let mut record = typical_record();
            store.create(&mut record).await.unwrap();
            let loaded = store.load(&record.id).await.unwrap();
            assert_eq!(
                loaded.as_ref().map(|r| &r.data),
                Some(&record.data),
                "{id}: the record does not read back"
            );
            store.save(&record).await.unwrap();
            assert!(
                store.load(&record.id).await.unwrap().is_some(),
                "{id}: save"
            );
            Measured::LoadSave {
                store,
                id: record.id,
            }
        }
        _ => unreachable!(),
    };
    let prepared = Prepared {
        case: case.clone(),
        measured,
        primed: Instant::now(),
    };
    prepared.once().await;
    prepared
}

/// Starts what the case needs, builds, primes and checks it. Call outside the runtime.
fn prepare(rt: &Runtime, backends: &Backends, case: &Case) -> Prepared {
    let store = case.backend().map(|b| backends.store(rt, b));
    if case.is_request() {
        let app = build(case, store.as_ref());
        rt.block_on(prepare_request(case, app, store.as_ref()))
    } else {
        rt.block_on(prepare_store(case, store.unwrap()))
    }
}

// ---------------------------------------------------------------------------------------
// Modes

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some((id, n)) = flag_args::<String, u64>(&args, "--driver", "<case-id> <N>") {
        driver(&id, n);
        return;
    }
    if let Some((id, secs)) = flag_args::<String, f64>(&args, "--timing", "<case-id> <seconds>") {
        timing(&id, secs);
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
                    "request": case.is_request(),
                    "loads": loads,
                    "writes": writes,
                })
            );
        }
        return;
    }

    let mut criterion = interleave::criterion("revocation");
    let rt = steady::runtime();
    let backends = Backends::default();
    let cases = cases();
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    interleave::bench_families(&mut criterion, &rt, &ids, |i| {
        prepare(&rt, &backends, &cases[i])
    });
    criterion.final_summary();
}

/// `--driver`: prime, check, then `n` iterations in one `block_on`.
fn driver(id: &str, n: u64) {
    let case = case(id).unwrap_or_else(|| panic!("no case {id:?}; see --list"));
    let rt = steady::runtime();
    let backends = Backends::default();
    let prepared = prepare(&rt, &backends, &case);
    interleave::drive(&rt, &prepared, n);
    eprintln!("driver: {id} x {n} done");
}

/// `--timing`: wall time and CPU time per iteration, of this process and of the store's
/// servers, over about `secs` seconds (after 0.5 s of warm-up).
fn timing(id: &str, secs: f64) {
    let case = case(id).unwrap_or_else(|| panic!("no case {id:?}; see --list"));
    let rt = steady::runtime();
    let backends = Backends::default();
    let prepared = prepare(&rt, &backends, &case);
    let servers = case
        .backend()
        .map(|b| backends.server_pids(b))
        .unwrap_or_default();
    // (user, system) clock ticks of these processes.
    let ticks = |pids: &[u32]| -> (u64, u64) {
        pids.iter()
            .filter_map(|p| proc_stat(*p))
            .fold((0, 0), |(u, s), p| (u + p.user, s + p.system))
    };
    let me = [std::process::id()];
    let batch = |n: u64| {
        rt.block_on(async {
            for _ in 0..n {
                prepared.once().await;
            }
        })
    };
    let warm = Instant::now();
    while warm.elapsed() < StdDuration::from_millis(500) {
        batch(100);
    }
    let (self0, server0, start) = (ticks(&me), ticks(&servers), Instant::now());
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        batch(100);
        n += 100;
    }
    let wall = start.elapsed();
    let (self1, server1) = (ticks(&me), ticks(&servers));
    prepared.after();
    let hz = clock_ticks() as f64;
    let per = |t: u64| t as f64 / hz * 1e9 / n as f64;
    let server = (server1.0 + server1.1) - (server0.0 + server0.1);
    println!(
        "{}",
        json!({
            "id": id,
            "requests": n,
            "wall_ns": wall.as_nanos() as f64 / n as f64,
            "self_user_ns": per(self1.0 - self0.0),
            "self_system_ns": per(self1.1 - self0.1),
            "self_cpu_ns": per((self1.0 + self1.1) - (self0.0 + self0.1)),
            "server_cpu_ns": per(server),
            "server_pids": servers.len(),
            "clock_ticks": hz,
        })
    );
}

/// `--interleaved`: all cases round-robin in slices (`common::interleave::interleaved`). A
/// `revalidate_60s` case is primed again (outside the slices) before its cookie's last
/// check gets 40 s old.
fn interleaved(rounds: usize, slice: StdDuration) {
    let rt = steady::runtime();
    let backends = Backends::default();
    let cases = cases();
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let prepared = cases.iter().map(|c| prepare(&rt, &backends, c)).collect();
    interleave::interleaved(&rt, &ids, prepared, rounds, slice, |i, p: &Prepared| {
        (matches!(cases[i].kind, Kind::Revocation(_, Check::Revalidate))
            && p.primed.elapsed() > StdDuration::from_secs(40))
        .then(|| prepare(&rt, &backends, &cases[i]))
    });
}

/// `--sizes`: the `Set-Cookie` of a steady read + write with the typical payload, without
/// revocation (format v1) and with it (v2: adds the exact creation time, and the last check
/// with `revalidate_60s`), over `MemoryStore`.
fn sizes() {
    let rt = steady::runtime();
    rt.block_on(async {
        let store = MemoryStore::default();
        let apps = [
            ("sealed/steady_rw", finish(SessionManagerLayer::new(keys()))),
            (
                "sealed_rev_memory/steady_rw",
                finish(revocation_layer(store.clone(), Check::EveryRequest)),
            ),
            (
                "sealed_rev_memory/revalidate_60s",
                finish(revocation_layer(store.clone(), Check::Revalidate)),
            ),
            (
                "sealed_rev_memory/subject",
                finish(revocation_layer(store.clone(), Check::Subject)),
            ),
            ("ts_memory/steady_rw", ts_app(store.clone())),
        ];
        for (id, app) in apps {
            let (_, cookie) = prime(id, &app).await;
            let (response, _) = common::full_request(&app, "/", Some(&cookie)).await;
            let set = common::set_cookies(&response);
            let len = set.iter().map(String::len).max().unwrap_or(0);
            println!(
                "{}",
                json!({"id": id, "set_cookie": len, "cookie_header": cookie.len()})
            );
        }
    });
}
