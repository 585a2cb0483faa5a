//! A small login demo: stateless, encrypted cookie sessions with axum 0.8, and revocation
//! (logout that really logs out, and "log out everywhere").
//!
//! ```text
//! cargo run --example demo                                   # throw-away key (see warning)
//! SESSION_KEYS=$(cargo run -q --example keygen) cargo run --example demo
//! DEMO_ADDR=127.0.0.1:8080 cargo run --example demo          # another address
//! DEMO_SQLITE=/var/tmp/demo.sqlite cargo run --example demo  # another SQLite file
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example demo  # tombstones in Redis
//! DATABASE_URL=postgres://user:pass@127.0.0.1/db cargo run --example demo  # in PostgreSQL
//! DEMO_REVOCATION=off cargo run --example demo               # purely stateless
//! ```
//!
//! Then open <http://127.0.0.1:3000> and log in as `ada` / `lovelace` or `grace` / `hopper`.
//! The dashboard counts your visits; the count lives in the encrypted cookie, not on the
//! server, so every instance started with the same `SESSION_KEYS` sees the same session.
//!
//! Revocation is on by default. When a session ends (logout), the layer writes a tombstone
//! for its id to a store, and a copy of the old cookie is refused from then on (it opens as
//! a fresh, empty session and the response removes it); "log out everywhere" revokes every
//! session of the user created before it, in every browser. Session data stays in the
//! cookie: the store only holds tombstones, each until the cookie it refuses would have
//! expired. The store is, by the first variable set:
//!
//! - `REDIS_URL` (`redis://…`): Redis, which expires the tombstones itself;
//! - `DATABASE_URL` (`postgres://…`): PostgreSQL (the table is created at start);
//! - otherwise SQLite through sqlx, in the file `DEMO_SQLITE` (a path, or a `sqlite:` URL),
//!   by default `tower-sessions-sealed-demo.sqlite` in the temporary directory, created if
//!   missing. A file, so that tombstones survive a restart: with `SESSION_KEYS` set, a
//!   restart does not revive a logged-out cookie.
//!
//! For SQLite and PostgreSQL the demo deletes expired tombstones every minute
//! (`ExpiredDeletion::delete_expired`). The demo prints which store it uses (never a
//! password from a URL). `DEMO_REVOCATION=off` turns revocation off: a copy of a cookie then
//! stays valid until it expires, whatever the logout.
//!
//! Routes:
//!
//! - `GET /`: the dashboard when logged in (user, visit counter, session expiry, whether
//!   revocation is on and on which store, the logout buttons), otherwise a redirect to
//!   `/login`;
//! - `GET /login`: the login form; `POST /login` (form fields `username`, `password`) logs
//!   in (a new session id, against session fixation) or shows the form again with `401`;
//! - `POST /logout`: empties the session (the response removes the cookie, and with
//!   revocation the old id is tombstoned) and redirects to `/login`;
//! - `POST /logout-everywhere`: revokes every session of the user, then logs out as above;
//!   `503` if the store is unavailable (nothing is ended then), `501` without revocation.
//!
//! A request whose revocation check cannot reach the store is answered `503` by the layer
//! (fail closed). Logging follows `RUST_LOG` (default `info,tower_sessions_sealed=debug`,
//! which shows why a cookie was rejected). Ctrl-C (or SIGTERM) stops the server gracefully.

mod app;

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::Duration as StdDuration;

use tower_sessions_core::ExpiredDeletion;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike as _, Config, Pool, ReconnectPolicy,
};
use tower_sessions_sealed::{KeyRing, KeyRingError, SessionManagerLayer};
use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tower_sessions_sqlx_store::sqlx::{PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};
use tracing_subscriber::EnvFilter;

/// The environment variable holding the key ring (`newest,older,...`).
const KEYS_VAR: &str = "SESSION_KEYS";
/// The environment variable overriding the listening address.
const ADDR_VAR: &str = "DEMO_ADDR";
/// `off` turns revocation off.
const REVOCATION_VAR: &str = "DEMO_REVOCATION";
/// The SQLite file (or `sqlite:` URL) of the default store.
const SQLITE_VAR: &str = "DEMO_SQLITE";
/// A Redis URL: tombstones in Redis.
const REDIS_VAR: &str = "REDIS_URL";
/// A PostgreSQL URL: tombstones in PostgreSQL.
const DATABASE_VAR: &str = "DATABASE_URL";
const DEFAULT_ADDR: &str = "127.0.0.1:3000";
const DEFAULT_LOG: &str = "info,tower_sessions_sealed=debug";
/// The default SQLite file's name, in `std::env::temp_dir()`.
const SQLITE_FILE: &str = "tower-sessions-sealed-demo.sqlite";
/// How often expired tombstones are deleted from SQLite and PostgreSQL.
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(60);
/// How long connecting to a store may take at start, and a store command at most.
const STORE_TIMEOUT: StdDuration = StdDuration::from_secs(5);

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let keys = load_keys()?;
    let layer = app::session_layer(keys);
    let (layer, backend) = match choose_store()? {
        None => {
            tracing::warn!(
                "revocation is off ({REVOCATION_VAR}=off): a copy of a cookie stays valid \
                 until it expires, whatever the logout"
            );
            (layer, None)
        }
        Some(choice) => {
            let backend = choice.open().await?;
            tracing::info!("revocation on: tombstones in {}", backend.label);
            (backend.attach(layer), Some(backend))
        }
    };
    layer
        .check()
        .map_err(|err| format!("session layer configuration: {err}"))?;
    let revocation = match (&backend, layer.revoker()) {
        (Some(backend), Some(revoker)) => Some(app::Revocation {
            revoker,
            store: backend.label.clone(),
        }),
        _ => None,
    };
    let pruner = backend.as_ref().and_then(Backend::spawn_pruner);

    let app = app::router(revocation).layer(layer);

    let addr = std::env::var(ADDR_VAR).unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|err| format!("cannot listen on {addr} (set {ADDR_VAR} to change it): {err}"))?;
    let local = listener
        .local_addr()
        .map_err(|err| format!("cannot read the listening address: {err}"))?;
    tracing::info!("demo listening on http://{local} (users: ada/lovelace, grace/hopper)");

    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|err| format!("server error: {err}"));
    if let Some(pruner) = pruner {
        pruner.abort();
    }
    if let Some(backend) = backend {
        backend.close().await;
    }
    served?;
    tracing::info!("demo stopped");
    Ok(())
}

/// The key ring from `SESSION_KEYS`, or a throw-away key (with a loud warning) if the
/// variable is not set. A set but invalid variable is an error: silently falling back to a
/// random key would log everybody out and split sessions between instances.
fn load_keys() -> Result<KeyRing, String> {
    match KeyRing::from_env(KEYS_VAR) {
        Ok(keys) => {
            tracing::info!(keys = keys.len(), "session keys loaded from {KEYS_VAR}");
            Ok(keys)
        }
        Err(KeyRingError::MissingVar { .. }) => {
            eprintln!(
                "\n\
                 ************************************************************************\n\
                 * WARNING: {KEYS_VAR} is not set; using a random key for this process.\n\
                 *\n\
                 *  - every session is lost when the demo restarts;\n\
                 *  - sessions are NOT shared with other instances (each has its own key).\n\
                 *\n\
                 * Generate a key and pass it to every instance:\n\
                 *\n\
                 *   export {KEYS_VAR}=$(cargo run -q --example keygen)\n\
                 *   cargo run --example demo\n\
                 ************************************************************************\n"
            );
            Ok(KeyRing::generate())
        }
        // The error names the variable and the position/length of a bad entry, never a key.
        Err(err) => Err(format!("invalid session keys: {err}")),
    }
}

/// The revocation store the environment asks for.
enum StoreChoice {
    /// A SQLite file path, or a `sqlite:` URL.
    Sqlite(String),
    /// A `postgres://` URL.
    Postgres(String),
    /// A `redis://` URL.
    Redis(String),
}

/// `name`'s value, `None` if it is unset or empty.
fn var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

/// The store from `DEMO_REVOCATION`, `REDIS_URL`, `DATABASE_URL` and `DEMO_SQLITE`, `None`
/// when revocation is off.
fn choose_store() -> Result<Option<StoreChoice>, String> {
    match var(REVOCATION_VAR)?.as_deref() {
        None | Some("on" | "1" | "true") => {}
        Some("off" | "0" | "false") => return Ok(None),
        Some(other) => {
            return Err(format!(
                "{REVOCATION_VAR} must be `on` or `off`, not `{}`",
                other.escape_debug()
            ));
        }
    }
    match (var(REDIS_VAR)?, var(DATABASE_VAR)?) {
        (Some(_), Some(_)) => Err(format!(
            "both {REDIS_VAR} and {DATABASE_VAR} are set: unset the one the demo should not use"
        )),
        (Some(url), None) => Ok(Some(StoreChoice::Redis(url))),
        (None, Some(url)) => {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(Some(StoreChoice::Postgres(url)))
            } else {
                Err(format!(
                    "{DATABASE_VAR} must be a postgres:// URL (it is {}); for SQLite set \
                     {SQLITE_VAR} instead",
                    redact_url(&url)
                ))
            }
        }
        (None, None) => {
            let sqlite = var(SQLITE_VAR)?.unwrap_or_else(|| {
                std::env::temp_dir()
                    .join(SQLITE_FILE)
                    .to_string_lossy()
                    .into_owned()
            });
            Ok(Some(StoreChoice::Sqlite(sqlite)))
        }
    }
}

/// An open revocation store.
struct Backend {
    /// What the demo prints and the dashboard shows: the kind and where, without password.
    label: String,
    store: Store,
}

enum Store {
    Sqlite(SqliteStore, SqlitePool),
    Postgres(PostgresStore, PgPool),
    Redis(RedisStore<Pool>, Pool),
}

impl StoreChoice {
    /// Connects to the store and creates its table if needed.
    async fn open(self) -> Result<Backend, String> {
        match self {
            Self::Sqlite(spec) => {
                let (options, label) = if spec.starts_with("sqlite:") {
                    let options = SqliteConnectOptions::from_str(&spec)
                        .map_err(|err| format!("invalid {SQLITE_VAR} URL {spec}: {err}"))?;
                    (options, format!("SQLite {spec}"))
                } else {
                    // The file is created if missing, as `?mode=rwc` would in a URL.
                    let path = PathBuf::from(&spec);
                    let options = SqliteConnectOptions::new()
                        .filename(&path)
                        .create_if_missing(true);
                    (options, format!("SQLite file {}", path.display()))
                };
                let pool = SqlitePoolOptions::new()
                    .acquire_timeout(STORE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|err| format!("cannot open {label}: {err}"))?;
                let store = SqliteStore::new(pool.clone());
                store
                    .migrate()
                    .await
                    .map_err(|err| format!("cannot create the table in {label}: {err}"))?;
                Ok(Backend {
                    label,
                    store: Store::Sqlite(store, pool),
                })
            }
            Self::Postgres(url) => {
                let label = format!("PostgreSQL {}", redact_url(&url));
                let pool = PgPoolOptions::new()
                    .max_connections(5)
                    .acquire_timeout(STORE_TIMEOUT)
                    .connect(&url)
                    .await
                    .map_err(|err| format!("cannot connect to {label}: {err}"))?;
                let store = PostgresStore::new(pool.clone());
                store
                    .migrate()
                    .await
                    .map_err(|err| format!("cannot create the table in {label}: {err}"))?;
                Ok(Backend {
                    label,
                    store: Store::Postgres(store, pool),
                })
            }
            Self::Redis(url) => {
                let label = format!("Redis {}", redact_url(&url));
                let config = Config::from_url(&url)
                    .map_err(|err| format!("invalid {REDIS_VAR} ({label}): {err}"))?;
                let pool = Builder::from_config(config)
                    // A request waits at most this long for Redis; then the layer answers 503.
                    .with_performance_config(|perf| perf.default_command_timeout = STORE_TIMEOUT)
                    .with_connection_config(|conn| conn.connection_timeout = STORE_TIMEOUT)
                    // Reconnects forever after an outage, every 100 ms up to every 5 s.
                    .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
                    .build_pool(4)
                    .map_err(|err| format!("invalid {REDIS_VAR} ({label}): {err}"))?;
                match tokio::time::timeout(STORE_TIMEOUT * 2, pool.init()).await {
                    Ok(Ok(_connection_task)) => {}
                    Ok(Err(err)) => return Err(format!("cannot connect to {label}: {err}")),
                    Err(_) => return Err(format!("cannot connect to {label}: timed out")),
                }
                Ok(Backend {
                    label,
                    store: Store::Redis(RedisStore::new(pool.clone()), pool),
                })
            }
        }
    }
}

impl Backend {
    /// `layer` with revocation on this store.
    fn attach(&self, layer: SessionManagerLayer) -> SessionManagerLayer {
        match &self.store {
            Store::Sqlite(store, _) => app::with_revocation(layer, store.clone()),
            Store::Postgres(store, _) => app::with_revocation(layer, store.clone()),
            Store::Redis(store, _) => app::with_revocation(layer, store.clone()),
        }
    }

    /// For the SQL stores, a task deleting expired tombstones every [`PRUNE_EVERY`]. A
    /// failure is logged and the task goes on (`continuously_delete_expired` would stop at
    /// the first error). Redis needs none: it expires the tombstones itself.
    fn spawn_pruner(&self) -> Option<tokio::task::JoinHandle<()>> {
        match &self.store {
            Store::Sqlite(store, _) => Some(tokio::spawn(prune(store.clone(), self.label.clone()))),
            Store::Postgres(store, _) => {
                Some(tokio::spawn(prune(store.clone(), self.label.clone())))
            }
            Store::Redis(..) => None,
        }
    }

    /// Closes the connections (SQLite checkpoints its journal into the file).
    async fn close(self) {
        match self.store {
            Store::Sqlite(_, pool) => pool.close().await,
            Store::Postgres(_, pool) => pool.close().await,
            Store::Redis(_, pool) => {
                if let Err(err) = pool.quit().await {
                    tracing::warn!(error = %err, "closing the Redis connections failed");
                }
            }
        }
    }
}

/// Deletes `store`'s expired records (tombstones) now and then every [`PRUNE_EVERY`].
async fn prune<S: ExpiredDeletion>(store: S, label: String) {
    let mut interval = tokio::time::interval(PRUNE_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match store.delete_expired().await {
            Ok(()) => tracing::debug!(store = %label, "expired tombstones deleted"),
            Err(err) => {
                tracing::warn!(store = %label, error = %err, "deleting expired tombstones failed");
            }
        }
    }
}

/// `url` without its password and query (which may hold one): `scheme://user:***@host/path`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_and_queries() {
        assert_eq!(
            redact_url("postgres://ada:secret@db.example:5432/demo?sslmode=require"),
            "postgres://ada:***@db.example:5432/demo"
        );
        assert_eq!(
            redact_url("postgres://db/demo?password=secret"),
            "postgres://db/demo"
        );
        assert_eq!(
            redact_url("redis://:secret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            redact_url("postgresql://ada@localhost"),
            "postgresql://ada@localhost"
        );
        assert_eq!(
            redact_url("redis://us:er:p@ss@host#frag"),
            "redis://us:***@host"
        );
        assert_eq!(redact_url("secret"), "(not a URL)");
    }
}
