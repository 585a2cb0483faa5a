//! The test-server harness (tests/support/servers.rs) checked through real clients: a raw
//! RESP connection to Redis, sqlx to PostgreSQL, and WebDriver over raw HTTP to
//! chromedriver driving headless Chromium. A missing server binary fails these tests.

#[path = "support/servers.rs"]
mod servers;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use servers::{ChromeDriver, Postgres, Redis};
use tower_sessions_sqlx_store::sqlx::{self, PgPool, postgres::PgPoolOptions};

/// Sends one RESP command (as an inline command) and reads one reply.
fn redis_command(stream: &mut TcpStream, command: &str) -> String {
    stream
        .write_all(format!("{command}\r\n").as_bytes())
        .unwrap();
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn redis_connect(port: u16) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

#[test]
fn redis_round_trip_stop_and_restart() {
    let mut redis = Redis::start();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/0", redis.port()));

    let mut conn = redis_connect(redis.port()).unwrap();
    assert_eq!(redis_command(&mut conn, "PING"), "+PONG\r\n");
    assert_eq!(redis_command(&mut conn, "SET greeting hello"), "+OK\r\n");
    assert_eq!(redis_command(&mut conn, "GET greeting"), "$5\r\nhello\r\n");
    drop(conn);

    redis.stop();
    let err = redis_connect(redis.port()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

    redis.restart();
    let mut conn = redis_connect(redis.port()).unwrap();
    assert_eq!(redis_command(&mut conn, "PING"), "+PONG\r\n");
    // Nothing persists across a restart.
    assert_eq!(redis_command(&mut conn, "GET greeting"), "$-1\r\n");
}

#[test]
fn redis_drop_stops_the_server_and_removes_its_dir() {
    let redis = Redis::start();
    let (port, dir) = (redis.port(), redis.dir().to_path_buf());
    assert!(dir.is_dir());
    drop(redis);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(redis_connect(port).is_err());
}

#[test]
fn parallel_redis_servers_get_their_own_ports() {
    let servers: Vec<Redis> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(Redis::start)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = servers.iter().map(Redis::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), servers.len());
    for (i, redis) in servers.iter().enumerate() {
        let mut conn = redis_connect(redis.port()).unwrap();
        assert_eq!(redis_command(&mut conn, &format!("SET n {i}")), "+OK\r\n");
    }
    for (i, redis) in servers.iter().enumerate() {
        let mut conn = redis_connect(redis.port()).unwrap();
        assert_eq!(redis_command(&mut conn, "GET n"), format!("$1\r\n{i}\r\n"));
    }
}

async fn pg_pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .unwrap()
}

async fn select_one(pool: &PgPool) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("select 1").fetch_one(pool).await
}

#[tokio::test]
async fn postgres_query_stop_and_restart_keeps_data() {
    let mut pg = Postgres::start();
    assert_eq!(
        pg.url(),
        format!("postgresql://postgres@127.0.0.1:{}/postgres", pg.port())
    );
    let pool = pg_pool(&pg.url()).await;
    assert_eq!(select_one(&pool).await.unwrap(), 1);
    sqlx::query("create table kept (v text)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into kept values ('still here')")
        .execute(&pool)
        .await
        .unwrap();

    pg.stop();
    let started = Instant::now();
    assert!(
        select_one(&pool).await.is_err(),
        "query worked while stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    pg.restart();
    assert_eq!(select_one(&pool).await.unwrap(), 1);
    let kept: String = sqlx::query_scalar("select v from kept")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, "still here");
    pool.close().await;
}

#[tokio::test]
async fn parallel_postgres_clusters_are_separate() {
    let clusters: Vec<Postgres> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(Postgres::start)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = clusters.iter().map(Postgres::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), clusters.len());
    for (i, pg) in clusters.iter().enumerate() {
        let pool = pg_pool(&pg.url()).await;
        sqlx::query(&format!("create table only_{i} ()"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    for (i, pg) in clusters.iter().enumerate() {
        let pool = pg_pool(&pg.url()).await;
        let tables: Vec<String> = sqlx::query_scalar(
            "select tablename::text from pg_tables where tablename like 'only_%' order by 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(tables, vec![format!("only_{i}")]);
        pool.close().await;
    }
    let dirs: Vec<_> = clusters.iter().map(|pg| pg.dir().to_path_buf()).collect();
    drop(clusters);
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

fn webdriver(
    driver: &ChromeDriver,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> serde_json::Value {
    let (status, body) = servers::http_request(driver.port(), method, path, body).unwrap();
    assert_eq!(status, 200, "{method} {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn chromedriver_status_and_a_headless_chromium_session() {
    let driver = ChromeDriver::start();
    assert_eq!(driver.url(), format!("http://127.0.0.1:{}", driver.port()));
    let status = webdriver(&driver, "GET", "/status", None);
    assert_eq!(status["value"]["ready"], true, "{status}");

    // The capabilities really start headless Chromium.
    let session = webdriver(
        &driver,
        "POST",
        "/session",
        Some(&driver.new_session_body()),
    );
    let id = session["value"]["sessionId"].as_str().unwrap().to_owned();
    let page = r#"{"url": "data:text/html,<title>tss-harness</title><p>hi</p>"}"#;
    webdriver(&driver, "POST", &format!("/session/{id}/url"), Some(page));
    let title = webdriver(&driver, "GET", &format!("/session/{id}/title"), None);
    assert_eq!(title["value"], "tss-harness");
    webdriver(&driver, "DELETE", &format!("/session/{id}"), None);
}

#[test]
fn chromedriver_drop_ends_the_driver_and_its_browsers() {
    let driver = ChromeDriver::start();
    let (port, dir) = (driver.port(), driver.dir().to_path_buf());
    // A session left open, as a failing test would leave it.
    webdriver(
        &driver,
        "POST",
        "/session",
        Some(&driver.new_session_body()),
    );
    drop(driver);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!servers::port_is_open(port));
    let needle = format!("{}/", dir.display());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(&needle);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes left running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pids (with command lines) of live processes whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        // Zombies are gone already, only not reaped yet.
        if status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
        {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push((pid, cmdline));
            }
        }
    }
    found
}
