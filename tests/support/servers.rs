//! Real servers for the integration tests: a private `redis-server`, a private PostgreSQL
//! cluster and a `chromedriver` driving headless Chromium, each on a free loopback port in
//! a fresh temporary directory under `${TMPDIR:-/tmp}/tss-test-*`, stopped and removed on
//! drop.
//!
//! Include it with `#[path = "support/servers.rs"] mod servers;` from `tests/`, or with
//! `#[path = "../tests/support/servers.rs"] mod servers;` from `benches/`. It is plain
//! synchronous std code and safe to use from parallel test threads: every server gets its
//! own directory and a port that no other server of this process was given.
//!
//! The binaries come from Debian packages that `scripts/install-test-deps.sh` installs; when
//! one is missing, `start` panics naming it and how to install it (a test never passes
//! silently without its server). `scripts/test.sh` kills whatever a crashed test process
//! left running under the `tss-test-` directories and removes them.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to become ready before `start`/`restart` panics.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The prefix of every directory this module creates (and `scripts/test.sh` cleans up).
pub const DIR_PREFIX: &str = "tss-test-";

/// How many times `start` tries again on a fresh port when the one it picked was taken
/// by someone else between picking and binding it.
const PORT_ATTEMPTS: usize = 5;

const INSTALL_HINT: &str = "run scripts/install-test-deps.sh";

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// `${TMPDIR:-/tmp}`, as the shell scripts spell it.
pub fn tmp_root() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("/tmp"),
    }
}

/// Creates a new, empty directory `${TMPDIR:-/tmp}/tss-test-<kind>-<pid>-<n>`.
pub fn fresh_dir(kind: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let root = tmp_root();
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("{DIR_PREFIX}{kind}-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            // Left over from an earlier process with the same pid: take the next number.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("cannot create the test directory {}: {e}", dir.display()),
        }
    }
}

/// A loopback port that was free a moment ago and that no other caller in this process
/// has been given (so parallel tests never pick the same one).
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("cannot bind a loopback port")
            .port();
        if given.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// `name` if it is an executable file, or the first `name` on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return is_executable(path).then(|| path.to_path_buf());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn require_program(candidates: &[&str], what: &str, package: &str) -> PathBuf {
    candidates
        .iter()
        .find_map(|c| find_program(c))
        .unwrap_or_else(|| {
            panic!(
                "{what} not found (looked for {}): {INSTALL_HINT}, or apt-get install {package}",
                candidates.join(", ")
            )
        })
}

/// The last `lines` lines of a log file, for panic messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            let mut out = format!("--- last lines of {} ---\n", path.display());
            for line in &all[start..] {
                let _ = writeln!(out, "{line}");
            }
            out
        }
        Err(e) => format!("--- {} unreadable: {e} ---", path.display()),
    }
}

fn append_log(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Whether something accepts TCP connections on `127.0.0.1:port`.
pub fn port_is_open(port: u16) -> bool {
    TcpStream::connect_timeout(&loopback(port), Duration::from_millis(500)).is_ok()
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

/// Kills (SIGKILL), by pid, every process whose command line mentions a path inside `dir`
/// or whose working directory is inside it (every server here is started in its dir).
fn kill_processes_mentioning(dir: &Path) {
    let mut needle = dir.as_os_str().as_encoded_bytes().to_vec();
    needle.push(b'/');
    let me = std::process::id().to_string();
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let in_dir = fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir));
        if in_dir
            || cmdline
                .windows(needle.len())
                .any(|w| w == needle.as_slice())
        {
            let _ = Command::new("kill")
                .args(["-KILL", pid])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// A minimal HTTP/1.1 request to `127.0.0.1:port`; returns the status code and the body.
/// The body is read by its `Content-Length` (chromedriver keeps the connection open even
/// after `Connection: close`), de-chunked, or read to the end of the stream.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> io::Result<(u16, String)> {
    http_request_with_timeout(port, method, path, body, Duration::from_secs(60))
}

fn http_request_with_timeout(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&loopback(port), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;

    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(invalid(
                "connection closed before the end of the HTTP header",
            ));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("no HTTP status"))?;
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut rest = raw.split_off(header_end);
    if let Some(len) = header("content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad Content-Length"))?;
        while rest.len() < len {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(invalid("connection closed before the end of the body"));
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest.truncate(len);
    } else {
        let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
        loop {
            if chunked && rest.windows(5).any(|w| w == b"0\r\n\r\n") {
                break;
            }
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        if chunked {
            rest = dechunk(&rest);
        }
    }
    Ok((status, String::from_utf8_lossy(&rest).into_owned()))
}

/// `http_request(port, "GET", path, None)`.
pub fn http_get(port: u16, path: &str) -> io::Result<(u16, String)> {
    http_request(port, "GET", path, None)
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..i]);
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16);
        let after = &rest[i + 2..];
        match size {
            Ok(n) if n > 0 && after.len() >= n => {
                out.extend_from_slice(&after[..n]);
                rest = after[n..].strip_prefix(b"\r\n").unwrap_or(&after[n..]);
            }
            _ => break,
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------

/// A private `redis-server` (no persistence) on a loopback port.
#[derive(Debug)]
pub struct Redis {
    bin: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    /// Starts a private redis-server on a free loopback port in a fresh temp dir (under
    /// `${TMPDIR:-/tmp}/tss-test-redis-*`) and waits until it answers PING.
    ///
    /// # Panics
    /// When `redis-server` is not on `PATH` (the message says how to install it), or when
    /// it does not answer within [`STARTUP_TIMEOUT`] (the message has its log's tail).
    pub fn start() -> Redis {
        let bin = require_program(&["redis-server"], "redis-server", "redis-server");
        let dir = fresh_dir("redis");
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let mut redis = Redis {
                bin: bin.clone(),
                port: free_port(),
                dir: dir.clone(),
                child: None,
            };
            match redis.spawn() {
                Ok(()) => return redis,
                Err(e) if e.port_taken => {
                    last_error = e.message;
                    // Forget the dir in this attempt so that its drop does not remove it.
                    redis.dir = PathBuf::new();
                }
                Err(e) => panic!("{}", e.message),
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("redis-server found no free port in {PORT_ATTEMPTS} attempts: {last_error}");
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (its log is `redis.log` in it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server process is running (was started and has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Stops the server (SIGKILL and wait); the port and the directory are kept, so
    /// [`Redis::restart`] brings it back at the same URL (with no data: nothing persists).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it answers PING.
    ///
    /// # Panics
    /// When it does not come up within [`STARTUP_TIMEOUT`].
    pub fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn() {
            panic!("{}", e.message);
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    fn spawn(&mut self) -> Result<(), StartError> {
        let log = append_log(&self.log_path());
        let port = self.port.to_string();
        let child = Command::new(&self.bin)
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--daemonize", "no"])
            // Keep the command line (with the dir) as it is, for scripts/test.sh's cleanup.
            .args(["--protected-mode", "yes", "--set-proc-title", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--pidfile")
            .arg(self.dir.join("redis.pid"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cannot clone a file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", self.bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if redis_ping(self.port).is_ok() {
                // The answer must come from our child, not from someone else on the port.
                if self.is_running() {
                    return Ok(());
                }
            }
            let exited = !self.is_running();
            if exited || Instant::now() >= deadline {
                self.stop();
                let tail = log_tail(&self.log_path(), 30);
                let port_taken = exited && tail.contains("Address already in use");
                let why = if exited {
                    "exited"
                } else {
                    "did not answer PING in time"
                };
                return Err(StartError {
                    port_taken,
                    message: format!("redis-server on port {} {why}\n{tail}", self.port),
                });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends `PING` over a fresh connection and expects `+PONG`.
pub fn redis_ping(port: u16) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&loopback(port), Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"PING\r\n")?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf)?;
    let _ = stream.shutdown(Shutdown::Both);
    if buf[..n].starts_with(b"+PONG") {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "unexpected PING answer {:?}",
            String::from_utf8_lossy(&buf[..n])
        )))
    }
}

#[derive(Debug)]
struct StartError {
    port_taken: bool,
    message: String,
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct PgBins {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    /// `runuser`, when running as root (initdb and postgres refuse to run as root).
    runuser: Option<PathBuf>,
}

impl PgBins {
    fn command(&self, tool: &Path, cwd: &Path) -> Command {
        let mut cmd = match &self.runuser {
            Some(runuser) => {
                let mut c = Command::new(runuser);
                c.args(["-u", "postgres", "--"]).arg(tool);
                c
            }
            None => Command::new(tool),
        };
        // The postgres user may not be allowed into the caller's working directory.
        cmd.current_dir(cwd);
        cmd
    }

    /// Gives `path` (recursively) to the postgres user, when running as root.
    fn chown(&self, path: &Path) {
        if self.runuser.is_some() {
            let out = run(Command::new("chown").args(["-R", "postgres:"]).arg(path));
            assert!(
                out.status.success(),
                "chown -R postgres: {} failed: {}",
                path.display(),
                describe(&out)
            );
        }
    }
}

fn pg_bins() -> &'static PgBins {
    static BINS: OnceLock<PgBins> = OnceLock::new();
    BINS.get_or_init(|| {
        let missing = || -> ! {
            panic!(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under \
                 /usr/lib/postgresql/*/bin or on PATH: {INSTALL_HINT}, or apt-get install \
                 postgresql"
            )
        };
        // Debian keeps them out of PATH, in /usr/lib/postgresql/<major>/bin: take the newest.
        let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse().ok()?;
                Some((major, e.path().join("bin")))
            })
            .filter(|(_, bin)| {
                ["initdb", "pg_ctl", "postgres"]
                    .iter()
                    .all(|t| is_executable(&bin.join(t)))
            })
            .collect();
        dirs.sort();
        let (initdb, pg_ctl) = match dirs.pop() {
            Some((_, bin)) => (bin.join("initdb"), bin.join("pg_ctl")),
            None => match (find_program("initdb"), find_program("pg_ctl")) {
                (Some(i), Some(p)) => (i, p),
                _ => missing(),
            },
        };
        let runuser = is_root().then(|| {
            find_program("runuser")
                .or_else(|| find_program("/usr/sbin/runuser"))
                .or_else(|| find_program("/sbin/runuser"))
                .unwrap_or_else(|| {
                    panic!(
                        "running as root, so PostgreSQL must run as user postgres, but runuser \
                         (util-linux) is not installed"
                    )
                })
        });
        PgBins {
            initdb,
            pg_ctl,
            runuser,
        }
    })
}

/// The `initdb`-ed template cluster of this process (made once, copied for each server).
fn pg_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        remove_stale_templates();
        let bins = pg_bins();
        let dir = fresh_dir("pg-template");
        bins.chown(&dir);
        let data = dir.join("data");
        let out = run(bins
            .command(&bins.initdb, &dir)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
            .args(["--no-sync", "--no-instructions"]));
        if !out.status.success() {
            let _ = fs::remove_dir_all(&dir);
            panic!("initdb -D {} failed: {}", data.display(), describe(&out));
        }
        dir
    })
}

/// Removes the template clusters of test processes that are gone (a process cannot remove
/// its own at exit, so the next one does).
fn remove_stale_templates() {
    let prefix = format!("{DIR_PREFIX}pg-template-");
    let Ok(entries) = fs::read_dir(tmp_root()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().filter(|p| p.parse::<u32>().is_ok()) else {
            continue;
        };
        if pid != std::process::id().to_string() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A private PostgreSQL cluster (trust auth, user `postgres`) on a loopback port.
#[derive(Debug)]
pub struct Postgres {
    port: u16,
    dir: PathBuf,
    running: bool,
}

impl Postgres {
    /// Starts a private cluster: a copy of this process's `initdb`-ed template (initdb runs
    /// once per process, as user postgres when root) started with `pg_ctl` on a free
    /// loopback port, in a fresh temp dir under `${TMPDIR:-/tmp}/tss-test-pg-*`. Durability
    /// is off (fsync, synchronous_commit, full_page_writes).
    ///
    /// # Panics
    /// When the PostgreSQL server binaries are missing (the message says how to install
    /// them), or when the server does not start within [`STARTUP_TIMEOUT`] (the message has
    /// its log's tail).
    pub fn start() -> Postgres {
        let bins = pg_bins();
        let template = pg_template();
        let dir = fresh_dir("pg");
        let out = run(Command::new("cp")
            .arg("-a")
            .arg(template.join("data"))
            .arg(dir.join("data")));
        assert!(
            out.status.success(),
            "copying the template cluster failed: {}",
            describe(&out)
        );
        // The directory itself holds the log and the Unix socket.
        bins.chown(&dir);
        let mut pg = Postgres {
            port: 0,
            dir,
            running: false,
        };
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            pg.port = free_port();
            match pg.spawn() {
                Ok(()) => return pg,
                Err(e) if e.port_taken => last_error = e.message,
                Err(e) => panic!("{}", e.message),
            }
        }
        panic!("postgres found no free port in {PORT_ATTEMPTS} attempts: {last_error}");
    }

    /// `postgresql://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (`data/`, the log `postgres.log` and the socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server was started and not stopped since.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Stops the server (`pg_ctl stop -m fast`: clients are disconnected, data is kept);
    /// [`Postgres::restart`] brings it back at the same URL.
    ///
    /// # Panics
    /// When `pg_ctl stop` fails.
    pub fn stop(&mut self) {
        self.pg_ctl_stop("fast", true);
    }

    /// Starts the server again on the same port, with the data it had.
    ///
    /// # Panics
    /// When it does not come up within [`STARTUP_TIMEOUT`].
    pub fn restart(&mut self) {
        if self.running {
            self.stop();
        }
        if let Err(e) = self.spawn() {
            panic!("{}", e.message);
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn spawn(&mut self) -> Result<(), StartError> {
        let bins = pg_bins();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let out = run(bins
            .command(&bins.pg_ctl, &self.dir)
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log_path())
            .args([
                "-w",
                "-t",
                &STARTUP_TIMEOUT.as_secs().to_string(),
                "-o",
                &options,
            ])
            .arg("start"));
        if out.status.success() && port_is_open(self.port) {
            self.running = true;
            return Ok(());
        }
        // It may be half up (pg_ctl gave up waiting): make sure nothing is left running.
        self.running = true;
        self.pg_ctl_stop("immediate", false);
        let tail = log_tail(&self.log_path(), 30);
        Err(StartError {
            port_taken: tail.contains("could not bind") || tail.contains("already in use"),
            message: format!(
                "postgres on port {} did not start: pg_ctl {}\n{tail}",
                self.port,
                describe(&out)
            ),
        })
    }

    fn pg_ctl_stop(&mut self, mode: &str, check: bool) {
        if !self.running {
            return;
        }
        let bins = pg_bins();
        let out = run(bins
            .command(&bins.pg_ctl, &self.dir)
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", "20", "stop"]));
        self.running = false;
        if check && !out.status.success() {
            panic!(
                "pg_ctl stop failed: {}\n{}",
                describe(&out),
                log_tail(&self.log_path(), 30)
            );
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The data is thrown away: no need for a clean shutdown.
        self.pg_ctl_stop("immediate", false);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// ChromeDriver
// ---------------------------------------------------------------------------------------

/// A `chromedriver` on a loopback port, for WebDriver sessions with headless Chromium.
#[derive(Debug)]
pub struct ChromeDriver {
    port: u16,
    dir: PathBuf,
    chromium: PathBuf,
    child: Option<Child>,
    profiles: AtomicU64,
}

impl ChromeDriver {
    /// Spawns `/usr/bin/chromedriver` (or `chromedriver` on `PATH`) on a free loopback port
    /// in a fresh temp dir under `${TMPDIR:-/tmp}/tss-test-chromedriver-*`, and waits until
    /// `GET /status` says it is ready.
    ///
    /// # Panics
    /// When chromedriver or Chromium is missing (the message says how to install them), or
    /// when chromedriver is not ready within [`STARTUP_TIMEOUT`] (with its log's tail).
    pub fn start() -> ChromeDriver {
        let driver = require_program(
            &["/usr/bin/chromedriver", "chromedriver"],
            "chromedriver",
            "chromium-driver",
        );
        let chromium = require_program(
            &["/usr/bin/chromium", "chromium", "chromium-browser"],
            "Chromium",
            "chromium",
        );
        let dir = fresh_dir("chromedriver");
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let mut cd = ChromeDriver {
                port,
                dir: dir.clone(),
                chromium: chromium.clone(),
                child: None,
                profiles: AtomicU64::new(0),
            };
            match cd.spawn(&driver) {
                Ok(()) => return cd,
                Err(e) if e.port_taken => {
                    last_error = e.message;
                    cd.dir = PathBuf::new();
                }
                Err(e) => panic!("{}", e.message),
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("chromedriver found no free port in {PORT_ATTEMPTS} attempts: {last_error}");
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// chromedriver's directory (its log, and the browser profiles).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Chromium binary the capabilities name.
    pub fn chromium(&self) -> &Path {
        &self.chromium
    }

    /// W3C capabilities for a new session with headless Chromium, with a fresh profile
    /// directory (inside [`ChromeDriver::dir`]) each call, so sessions never share one.
    /// The flags keep Chromium off the network (which is closed here) and make it work as
    /// root (`--no-sandbox`) and with a small `/dev/shm`.
    pub fn capabilities(&self) -> serde_json::Map<String, serde_json::Value> {
        let n = self.profiles.fetch_add(1, Ordering::Relaxed);
        let profile = self.dir.join(format!("profile-{n}"));
        fs::create_dir(&profile)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", profile.display()));
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--metrics-recording-only",
            "--password-store=basic",
            "--use-mock-keychain",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium.to_string_lossy(),
                "args": args,
            },
        });
        match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// `{"capabilities": {"alwaysMatch": capabilities()}}`, the body of `POST /session`.
    pub fn new_session_body(&self) -> String {
        serde_json::json!({ "capabilities": { "alwaysMatch": self.capabilities() } }).to_string()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("chromedriver.log")
    }

    fn spawn(&mut self, driver: &Path) -> Result<(), StartError> {
        let out = append_log(&self.dir.join("chromedriver.out"));
        let child = Command::new(driver)
            .arg(format!("--port={}", self.port))
            .arg(format!("--log-path={}", self.log_path().display()))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("cannot clone a file handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", driver.display()));
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let exited = !matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)));
            if !exited && chromedriver_ready(self.port) {
                return Ok(());
            }
            if exited || Instant::now() >= deadline {
                self.kill();
                let tail = format!(
                    "{}\n{}",
                    log_tail(&self.dir.join("chromedriver.out"), 20),
                    log_tail(&self.log_path(), 30)
                );
                let why = if exited {
                    "exited"
                } else {
                    "was not ready in time"
                };
                return Err(StartError {
                    port_taken: exited && tail.contains("port not available"),
                    message: format!("chromedriver on port {} {why}\n{tail}", self.port),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether chromedriver on `port` answers `GET /status` with `"ready": true`.
pub fn chromedriver_ready(port: u16) -> bool {
    let status = http_request_with_timeout(port, "GET", "/status", None, Duration::from_secs(2));
    let Ok((200, body)) = status else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["value"]["ready"].as_bool())
        .unwrap_or(false)
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A graceful shutdown quits the browsers of sessions that were not closed.
            let _ = http_request_with_timeout(
                self.port,
                "GET",
                "/shutdown",
                None,
                Duration::from_secs(5),
            );
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| wait_for_exit(c, Duration::from_secs(3)));
            if exited {
                self.child = None;
            }
            self.kill();
        }
        if !self.dir.as_os_str().is_empty() {
            // Any browser still running has its profile (and so this dir) on its command line.
            kill_processes_mentioning(&self.dir);
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
