//! The servers of the end-to-end load comparison (`scripts/load-compare.sh`): one real
//! axum/hyper server per case on a loopback socket, driven by `wrk` from another process.
//!
//! ```text
//! load_server --list                  # the cases, one per line
//! load_server --serve <case> <addr>   # serve <case> on <addr> (127.0.0.1 only) until killed
//! load_server --redis                 # a private redis-server (tests/support/servers.rs);
//!                                     # prints REDIS_URL=… REDIS_PID=… REDIS_DIR=…, runs until
//!                                     # SIGTERM/SIGINT, then stops it and removes its dir
//! ```
//!
//! Run with no arguments (as `cargo bench` does, passing `--bench`) it prints this usage and
//! exits: the measurement is the script's, not cargo's.
//!
//! Every case serves the same `Router` as the in-process benches (`benches/common`):
//! `GET /login/0` writes the typical payload into a fresh session, `GET /` reads `counter` and
//! writes `counter + 1` (answering the new value), `GET /ro` reads it only. The session layers
//! are the ones `benches/common` and `benches/revocation.rs` build:
//!
//! | case | layer |
//! |---|---|
//! | `baseline` | no session layer, constant answers (the cost of axum + hyper + sockets) |
//! | `sealed` | this crate, one key |
//! | `sealed_rev_redis` | this crate `.with_revocation(RedisStore)` (one `load` per request) |
//! | `ts_memory` | tower-sessions 0.14 + `MemoryStore` |
//! | `ts_redis` | tower-sessions 0.14 + `RedisStore` (tower-sessions-redis-store 0.16) |
//! | `tsc_private` | tower-sessions-cookie-store 0.5, private (encrypted) cookies |
//!
//! The Redis cases need `REDIS_URL` (the `--redis` mode prints one); their fred pool has 2
//! connections, as in `benches/revocation.rs`.
//!
//! One extra outer layer, the same for every case, copies the request's `x-slot` header to
//! the response: the wrk script keeps one session per slot and needs to know which session a
//! response belongs to (wrk's Lua API does not say which connection answered).
//!
//! The runtime is tokio's current-thread runtime: the script pins the server to one core, so
//! one thread does the accepting, the HTTP and the session work (and the Redis client's I/O).
//! Sockets get `TCP_NODELAY`, as `axum::serve`'s own examples set.

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::ListenerExt as _;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{Builder, ClientLike as _, Config, Pool};
use tower_sessions_sealed::{Key, KeyRing, SessionManagerLayer};

mod common;
#[path = "../tests/support/servers.rs"]
mod servers;

/// The cases, in report order, with a one-line description each.
const CASES: &[(&str, &str)] = &[
    ("sealed", "tower-sessions-sealed, one key, stateless"),
    (
        "sealed_rev_redis",
        "tower-sessions-sealed with_revocation(RedisStore), one store load per request",
    ),
    ("ts_memory", "tower-sessions 0.14 + MemoryStore"),
    (
        "ts_redis",
        "tower-sessions 0.14 + RedisStore (tower-sessions-redis-store 0.16, fred)",
    ),
    (
        "tsc_private",
        "tower-sessions-cookie-store 0.5, private cookies",
    ),
    ("baseline", "no session layer (axum + hyper + sockets only)"),
];

const USAGE: &str = "usage: load_server --list | --serve <case> <127.0.0.1:port> | --redis\n\
                     (driven by scripts/load-compare.sh; nothing to run under `cargo bench`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["--list"] => {
            for (name, what) in CASES {
                println!("{name}\t{what}");
            }
            ExitCode::SUCCESS
        }
        ["--serve", case, addr] => serve(case, addr),
        ["--redis"] => redis(),
        // `cargo bench` runs every bench target with `--bench` (and maybe a filter).
        [] | ["--bench", ..] => {
            eprintln!("load_server: {USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("load_server: {USAGE}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Copies the request's `x-slot` header (if any) to the response.
async fn echo_slot(request: Request, next: Next) -> Response {
    let slot = request.headers().get("x-slot").cloned();
    let mut response = next.run(request).await;
    if let Some(slot) = slot {
        response.headers_mut().insert("x-slot", slot);
    }
    response
}

/// The same key as `benches/common`'s `app_sealed`.
fn keys() -> KeyRing {
    KeyRing::new(vec![Key::try_from(&[0xA1; 32][..]).unwrap()]).unwrap()
}

async fn redis_store() -> RedisStore<Pool> {
    let url = std::env::var("REDIS_URL")
        .expect("REDIS_URL is not set (start one with `load_server --redis`)");
    let config = Config::from_url(&url).expect("REDIS_URL");
    let pool = Builder::from_config(config)
        .build_pool(2)
        .expect("Redis pool");
    pool.init().await.expect("Redis connection");
    RedisStore::new(pool)
}

async fn app(case: &str) -> Option<Router> {
    let app = match case {
        "baseline" => common::app_baseline(),
        "sealed" => common::app_sealed(),
        "sealed_rev_redis" => common::session_routes_with_logout()
            .layer(SessionManagerLayer::new(keys()).with_revocation(redis_store().await))
            .with_state(()),
        "ts_memory" => common::app_ts_memory(),
        "ts_redis" => common::session_routes_with_logout()
            .layer(tower_sessions::SessionManagerLayer::new(
                redis_store().await,
            ))
            .with_state(()),
        "tsc_private" => common::app_tsc_private(),
        _ => return None,
    };
    Some(app.layer(axum::middleware::from_fn(echo_slot)))
}

fn serve(case: &str, addr: &str) -> ExitCode {
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load_server: bad address {addr:?}: {e}");
            return ExitCode::from(2);
        }
    };
    if !addr.ip().is_loopback() {
        eprintln!("load_server: refusing to listen on {addr}: loopback only");
        return ExitCode::from(2);
    }
    runtime().block_on(async {
        let Some(app) = app(case).await else {
            eprintln!("load_server: unknown case {case:?} (see --list)");
            return ExitCode::from(2);
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"))
            .tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
        println!(
            "load_server: case={case} addr={addr} pid={} runtime=tokio-current-thread",
            std::process::id()
        );
        axum::serve(listener, app).await.expect("server");
        ExitCode::SUCCESS
    })
}

fn redis() -> ExitCode {
    let server = servers::Redis::start();
    let pid = std::fs::read_to_string(server.dir().join("redis.pid")).unwrap_or_default();
    println!(
        "REDIS_URL={} REDIS_PID={} REDIS_DIR={}",
        server.url(),
        pid.trim(),
        server.dir().display()
    );
    runtime().block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    drop(server); // stops redis-server and removes its directory
    ExitCode::SUCCESS
}
