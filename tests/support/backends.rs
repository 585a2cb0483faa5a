//! The real backends the store suites run against, set up once here: SQLite through sqlx
//! (in memory), PostgreSQL and Redis on private servers (`servers.rs`), with client
//! timeouts short enough that a stopped server fails a request in about two seconds, and
//! the stop/restart control the outage tests use.
//!
//! Include it with `#[path = "support/backends.rs"] mod backends;` (it brings `servers`).
#![allow(dead_code, unreachable_pub)]

#[path = "servers.rs"]
pub mod servers;

use std::time::Duration;

use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike as _, Config, Pool, ReconnectPolicy,
};
use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
use tower_sessions_sqlx_store::sqlx::{PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// A migrated `SqliteStore` on a fresh in-memory database, and its pool.
pub async fn sqlite() -> (SqliteStore, SqlitePool) {
    let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
    let store = SqliteStore::new(pool.clone());
    store.migrate().await.unwrap();
    (store, pool)
}

/// A migrated `PostgresStore` on a private PostgreSQL server, its pool and the server.
pub async fn postgres() -> (PostgresStore, PgPool, servers::Postgres) {
    let server = servers::Postgres::start();
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect(&server.url())
        .await
        .unwrap();
    let store = PostgresStore::new(pool.clone());
    store.migrate().await.unwrap();
    (store, pool, server)
}

/// A `RedisStore` on a private Redis server (commands time out after 2 s, reconnects
/// forever every 200 ms), its pool and the server.
pub async fn redis() -> (RedisStore<Pool>, Pool, servers::Redis) {
    let server = servers::Redis::start();
    let config = Config::from_url(&server.url()).unwrap();
    let pool = Builder::from_config(config)
        .with_performance_config(|perf| perf.default_command_timeout = Duration::from_secs(2))
        .with_connection_config(|conn| {
            conn.connection_timeout = Duration::from_secs(1);
            conn.internal_command_timeout = Duration::from_secs(1);
        })
        .set_policy(ReconnectPolicy::new_constant(0, 200))
        .build_pool(2)
        .unwrap();
    pool.init().await.unwrap();
    (RedisStore::new(pool.clone()), pool, server)
}

/// A server a test can stop and start again.
pub trait Outage {
    fn stop(&mut self);
    fn restart(&mut self);
    /// Whether records survive a restart (the test Redis runs without persistence).
    fn persistent(&self) -> bool;
}

impl Outage for servers::Postgres {
    fn stop(&mut self) {
        servers::Postgres::stop(self);
    }
    fn restart(&mut self) {
        servers::Postgres::restart(self);
    }
    fn persistent(&self) -> bool {
        true
    }
}

impl Outage for servers::Redis {
    fn stop(&mut self) {
        servers::Redis::stop(self);
    }
    fn restart(&mut self) {
        servers::Redis::restart(self);
    }
    fn persistent(&self) -> bool {
        false
    }
}
